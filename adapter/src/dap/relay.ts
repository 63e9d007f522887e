/**
 * `pidscope dap --connect` / `--ssh`: a stdio adapter that carries DAP bytes to an adapter
 * elsewhere — a `pidscope dap --listen` server (sending the auth line first), or `pidscope dap`
 * run on another host by `ssh` (the adapter speaks DAP on the ssh channel's stdio). Bytes are
 * passed through untouched; the relay reads DAP only to turn a transport that fails before the
 * adapter said anything (ssh: unknown host, refused key, pidscope not installed) into an error
 * response the DAP client shows, instead of silence.
 */
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { AUTH_PREFIX, firstRequest } from './gate';

export interface Transport {
  input: Writable;
  output: Readable;
  /** Resolves when the transport is gone, with why (for the error a client sees). */
  closed: Promise<{ failure?: string }>;
  /** Ends the transport when the client went away. */
  close(): void;
}

const MAX_HELD = 64 * 1024;

/** Relays until the transport closes; returns the exit code for `pidscope dap`. */
export function relay(clientIn: Readable, clientOut: Writable, t: Transport, what: string): Promise<number> {
  let heard = false;
  let held = Buffer.alloc(0);
  clientIn.on('data', (d: Buffer) => {
    if (!heard && held.length < MAX_HELD) held = Buffer.concat([held, d]);
    t.input.write(d);
  });
  clientIn.on('end', () => t.close());
  t.input.on('error', () => undefined);
  t.output.on('data', (d: Buffer) => {
    heard = true;
    held = Buffer.alloc(0);
    clientOut.write(d);
  });
  return t.closed.then(async ({ failure }) => {
    if (heard) return 0;
    // The adapter never answered: tell the client why, in DAP, then end.
    const message = `pidscope dap: ${what} failed before the adapter answered${failure ? `: ${failure}` : ''}`;
    const req = await waitForRequest(clientIn, () => held, 5000);
    const msg = req
      ? {
          seq: 1,
          type: 'response',
          request_seq: req.seq,
          command: req.command,
          success: false,
          message,
          body: { error: { id: 2501, format: message, showUser: true } },
        }
      : { seq: 1, type: 'event', event: 'output', body: { category: 'important', output: `${message}\n` } };
    const json = JSON.stringify(msg);
    clientOut.write(`Content-Length: ${Buffer.byteLength(json)}\r\n\r\n${json}`);
    process.stderr.write(`${message}\n`);
    return 1;
  });
}

function waitForRequest(clientIn: Readable, held: () => Buffer, timeoutMs: number): Promise<{ seq: number; command: string } | undefined> {
  return new Promise((resolve) => {
    const check = () => {
      const r = firstRequest(held());
      if (r === 'incomplete') return false;
      finish(r);
      return true;
    };
    const finish = (r: { seq: number; command: string } | undefined) => {
      clearTimeout(timer);
      clientIn.off('data', onData);
      resolve(r);
    };
    const onData = () => void check();
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    clientIn.on('data', onData);
    check();
  });
}

/** `ssh [options] HOST -- REMOTE dap`: the remote pidscope speaks DAP on the channel's stdio. */
export function sshTransport(host: string, sshOptions: string[], remoteCommand: string, remoteArgs: string[] = []): Transport {
  const args = ['-T', '-o', 'BatchMode=yes', ...sshOptions, host, '--', `${remoteCommand} dap ${remoteArgs.join(' ')}`.trim()];
  const child = spawn(process.env.PIDSCOPE_SSH ?? 'ssh', args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => {
    process.stderr.write(d);
    if (err.length < 4096) err += d.toString();
  });
  const closed = new Promise<{ failure?: string }>((resolve) => {
    child.on('error', (e) => resolve({ failure: `cannot run ssh (${e.message}); install an OpenSSH client` }));
    child.on('close', (code, signal) => {
      const last = err.trim().split('\n').slice(-3).join(' ');
      resolve({
        failure: `ssh ${host} exited with ${signal ?? `code ${code}`}${last ? ` (${last})` : ''}${code === 127 ? `; is pidscope installed on ${host}? (--remote-pidscope names it)` : ''}`,
      });
    });
  });
  return { input: child.stdin, output: child.stdout, closed, close: () => child.stdin.end() };
}

/** A TCP (HOST:PORT, sending the auth line) or Unix-socket (unix:PATH) `pidscope dap --listen` server. */
export function socketTransport(target: { host: string; port: number } | { path: string }, secret: string | undefined): Transport {
  const socket = 'path' in target ? connect(target.path) : connect(target.port, target.host);
  if (!('path' in target) && secret !== undefined) socket.write(`${AUTH_PREFIX}${secret}\n`);
  const closed = new Promise<{ failure?: string }>((resolve) => {
    let failure: string | undefined;
    socket.on('error', (e) => (failure = `cannot connect to ${'path' in target ? target.path : `${target.host}:${target.port}`} (${e.message})`));
    socket.on('close', () => resolve({ failure }));
  });
  return { input: socket, output: socket, closed, close: () => socket.end() };
}
