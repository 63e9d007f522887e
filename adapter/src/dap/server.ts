/**
 * Serving DAP: on stdio (what VS Code's "executable" adapter descriptor uses) or on a TCP port
 * (`--listen 127.0.0.1:PORT`, one session per connection, for clients that connect).
 */
import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { PidscopeError } from '../errors';
import { admit, type Gate } from './gate';
import { PidscopeSession, type SessionOptions } from './session';

export function serveStdio(opts: SessionOptions = {}): Promise<number> {
  // stdout carries the protocol: anything else written there would corrupt it.
  const toStderr = (...a: unknown[]) => process.stderr.write(`${a.map(String).join(' ')}\n`);
  console.log = toStderr;
  console.info = toStderr;
  console.debug = toStderr;
  guardProcess(opts.log);
  const session = new PidscopeSession(opts);
  session.start(process.stdin, process.stdout);
  return new Promise((resolve) => {
    process.stdin.on('end', () => resolve(0));
    process.stdin.on('close', () => resolve(0));
  });
}

export interface ListenAddress {
  host: string;
  port: number;
}

/** Parses '127.0.0.1:4711', ':4711' or '4711'. */
export function parseListen(spec: string): ListenAddress | undefined {
  const m = /^(?:(.*):)?(\d{1,5})$/.exec(spec.trim());
  if (!m) return undefined;
  const port = Number(m[2]);
  if (port > 65535) return undefined;
  let host = m[1] === undefined || m[1] === '' ? '127.0.0.1' : m[1];
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return { host, port };
}

/** One session per connection that passes the gate (gate.ts); nothing reaches a session before. */
function onConnection(socket: Socket, opts: SessionOptions, gate: Gate): void {
  // DAP is request/response with small messages, often a response and an event back to back:
  // with Nagle's algorithm the second write waited for the client's delayed ACK (~40 ms on
  // loopback) several times per attach. (No-op on a Unix-domain socket.)
  socket.setNoDelay(true);
  socket.on('error', (e) => opts.log?.(`connection error: ${e.message}`));
  void admit(socket, gate, { log: opts.log }).then((ok) => {
    if (!ok || socket.destroyed) return;
    const session = new PidscopeSession(opts);
    session.setRunAsServer(true);
    session.start(socket, socket);
    socket.resume();
  });
}

export function serveTcp(addr: ListenAddress, opts: SessionOptions, gate: Gate, onListening?: (port: number) => void): Promise<Server> {
  guardProcess(opts.log);
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => onConnection(socket, opts, gate));
    server.once('error', reject);
    server.listen(addr.port, addr.host, () => {
      const bound = server.address();
      const port = typeof bound === 'object' && bound ? bound.port : addr.port;
      onListening?.(port);
      resolve(server);
    });
  });
}

/**
 * A Unix-domain socket at `path`, created with mode 0600; every peer's uid is checked again with
 * SO_PEERCRED (a socket in a permissive directory, or a mode changed later, still admits only
 * the server's uid and root). A stale socket file nobody listens on is replaced; anything else
 * at the path is an error.
 */
export async function serveUnix(path: string, opts: SessionOptions, gate: Gate): Promise<Server> {
  guardProcess(opts.log);
  await removeStaleSocket(path);
  const old = process.umask(0o177);
  try {
    return await new Promise<Server>((resolve, reject) => {
      const server = createServer((socket) => onConnection(socket, opts, gate));
      server.once('error', (e) =>
        reject(
          new PidscopeError(
            'BAD_ARGS',
            `cannot listen on the Unix socket ${path}: ${e.message}`,
            'Choose a path in a directory you own that does not exist yet',
            'user',
          ),
        ),
      );
      server.listen(path, () => {
        chmodSync(path, 0o600);
        resolve(server);
      });
    });
  } finally {
    process.umask(old);
  }
}

async function removeStaleSocket(path: string): Promise<void> {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  if (!st.isSocket()) {
    throw new PidscopeError('BAD_ARGS', `${path} exists and is not a socket`, 'Give a path that does not exist yet (pidscope creates the socket)', 'user');
  }
  const live = await new Promise<boolean>((resolve) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (live) throw new PidscopeError('BAD_ARGS', `another server is listening on ${path}`, 'Stop it, or choose another path', 'user');
  unlinkSync(path);
}

let guarded = false;
/** A bug in one handler must not take the user's session down: log it and keep serving. */
function guardProcess(log?: (line: string) => void): void {
  if (guarded) return;
  guarded = true;
  const report = (what: string, e: unknown) => {
    const text = `pidscope dap: ${what} (a bug; the session goes on): ${e instanceof Error ? e.stack : String(e)}`;
    if (log) log(text);
    else process.stderr.write(`${text}\n`);
  };
  process.on('uncaughtException', (e) => report('uncaught exception', e));
  process.on('unhandledRejection', (e) => report('unhandled rejection', e));
}
