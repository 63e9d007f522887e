/**
 * `pidscope dap --listen` grants authority only to whom the server chose: a root-run server,
 * clients as root (with the secret) and as `nobody` (without it). Each refusal is one clear
 * message and a closed connection; nothing reaches a request handler first.
 */
import { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, startFixture, type RunningFixture } from '../support/fixtures';
import { pidscope } from '../cli/run';
import { adapterClient, CLIENT_CAPS, stopAdapter, waitFor } from './harness';

const MAIN = join(REPO_ROOT, 'adapter', 'src', 'main.ts');
/** Copied next to the test's temp files: user nobody may not be able to read the checkout. */
let RAW_CLIENT = join(REPO_ROOT, 'test', 'support', 'dap-raw-client.mjs');
const SECRET = 'test-secret-0123456789abcdef';
const isRoot = process.getuid?.() === 0;
if (!isRoot)
  console.warn('SKIP listen.test.ts unprivileged-client cases: the tests run as uid %d, not root (they switch to nobody with setpriv)', process.getuid?.());

interface Server {
  proc: ChildProcess;
  stderr: () => string;
  port: number;
}

const servers: ChildProcess[] = [];
let fx: RunningFixture;
let dir: string;
beforeAll(async () => {
  fx = await startFixture('globals');
  dir = mkdtempSync(join(tmpdir(), 'pidscope-listen-'));
  chmodSync(dir, 0o755);
  copyFileSync(RAW_CLIENT, join(dir, 'dap-raw-client.mjs'));
  RAW_CLIENT = join(dir, 'dap-raw-client.mjs');
  chmodSync(RAW_CLIENT, 0o644);
});
afterAll(async () => {
  for (const s of servers) s.kill('SIGTERM');
  await fx?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function startServer(args: string[], env: Record<string, string> = { PIDSCOPE_DAP_SECRET: SECRET }): Promise<Server> {
  const proc = spawn(process.execPath, ['--import', 'tsx', MAIN, 'dap', ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  servers.push(proc);
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const port = await waitFor(
    'the listening line',
    () => {
      const m = /listening on (?:127\.0\.0\.1:(\d+)|unix:)/.exec(err);
      return m ? Number(m[1] ?? 0) : undefined;
    },
    60_000,
  );
  return { proc, stderr: () => err, port };
}

interface RawResult {
  text: string;
  closed: boolean;
  error: string;
}

/** The raw spec client, as `user` (root: as ourselves). */
function rawClient(
  target: { port: number } | { path: string },
  what: { preamble?: string; frames?: unknown[]; raw?: string; waitMs?: number },
  user?: 'nobody',
): RawResult {
  const cmd = user ? ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath] : [process.execPath];
  const r = spawnSync(cmd[0], [...cmd.slice(1), RAW_CLIENT, JSON.stringify(target), JSON.stringify(what)], { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(`raw client failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as RawResult;
}

/** The DAP messages in a byte stream (Content-Length framing). */
function frames(text: string): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  let rest = text;
  for (;;) {
    const m = /^Content-Length: (\d+)\r\n\r\n/.exec(rest);
    if (!m) break;
    const len = Number(m[1]);
    const body = Buffer.from(rest.slice(m[0].length)).subarray(0, len).toString();
    out.push(JSON.parse(body) as Record<string, unknown>);
    rest = rest.slice(m[0].length + body.length);
  }
  return out;
}

const init = { seq: 1, type: 'request', command: 'initialize', arguments: { adapterID: 'pidscope' } };
const attachReq = (pid: number) => ({ seq: 2, type: 'request', command: 'attach', arguments: { pid, allowWrites: true, refreshIntervalMs: 0 } });
const setExpr = { seq: 3, type: 'request', command: 'setExpression', arguments: { expression: 'g_int_neg', value: '7' } };

/** An authenticated DebugClient over TCP (the auth line first, then DAP). */
async function authedClient(port: number): Promise<DebugClient> {
  const dc = new DebugClient('unused', 'unused', 'pidscope');
  dc.defaultTimeout = 60_000;
  await dc.start(port);
  (dc as unknown as { _socket: { write(s: string): void } })._socket.write(`PIDSCOPE-AUTH ${SECRET}\n`);
  return dc;
}

async function attachRW(dc: DebugClient, extra: Record<string, unknown> = {}): Promise<DebugProtocol.AttachResponse> {
  await dc.initializeRequest(CLIENT_CAPS);
  const initialized = dc.waitForEvent('initialized', 60_000);
  const r = await dc.attachRequest({ pid: fx.pid, allowWrites: true, refreshIntervalMs: 0, ...extra } as DebugProtocol.AttachRequestArguments);
  await initialized;
  await dc.configurationDoneRequest();
  return r;
}

/** A stdio client relayed by `pidscope dap DAP_ARGS` (--connect …) attaches read-only and reads g_int. */
async function expectRelayedValue(dapArgs: string[], env: Record<string, string> = {}): Promise<void> {
  const dc = adapterClient(dapArgs, env);
  await dc.start();
  try {
    await attachRW(dc, { allowWrites: false });
    expect((await dc.evaluateRequest({ expression: 'g_int', context: 'repl' })).body.result).toBe('123456789');
  } finally {
    stopAdapter(dc);
  }
}

function endClient(dc: DebugClient): void {
  (dc as unknown as { _socket?: { destroy(): void } })._socket?.destroy();
}

describe('TCP listener (no --allow-writes)', () => {
  let srv: Server;
  beforeAll(async () => {
    srv = await startServer(['--listen', '127.0.0.1:0']);
  });

  it.skipIf(!isRoot)('as nobody, without the secret: one refusal, no answer to any request, connection closed', async () => {
    const r = rawClient({ port: srv.port }, { frames: [init, attachReq(fx.pid), setExpr] }, 'nobody');
    expect(r.closed).toBe(true);
    const msgs = frames(r.text);
    expect(msgs).toHaveLength(1);
    expect(msgs[0]).toMatchObject({ type: 'response', request_seq: 1, command: 'initialize', success: false });
    expect(String(msgs[0].message)).toMatch(/connection refused: the client did not send the secret first.*PIDSCOPE-AUTH/);
    expect((await pidscope(['eval', '--pid', String(fx.pid), 'g_int_neg'])).stdout.trim()).toBe('-42');
  });

  it.skipIf(!isRoot)('as nobody, with a wrong secret: refused', () => {
    const r = rawClient({ port: srv.port }, { preamble: 'PIDSCOPE-AUTH not-the-secret-at-all\n', frames: [init] }, 'nobody');
    expect(r.closed).toBe(true);
    const msgs = frames(r.text);
    expect(msgs).toHaveLength(1);
    expect(String(msgs[0].message)).toMatch(/the secret is wrong/);
  });

  it('an HTTP POST carrying a DAP frame is refused as HTTP and closed, never answered as DAP', () => {
    const body = `Content-Length: ${JSON.stringify(init).length}\r\n\r\n${JSON.stringify(init)}`;
    const r = rawClient(
      { port: srv.port },
      { raw: `POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n${body}` },
    );
    expect(r.closed).toBe(true);
    expect(r.text).toMatch(/^HTTP\/1\.1 403 Forbidden\r\n/);
    expect(r.text).not.toMatch(/"type":\s*"response"/);
  });

  it('client "allowWrites": true cannot write: setExpression refused, naming --allow-writes', async () => {
    const dc = await authedClient(srv.port);
    try {
      const att = await attachRW(dc);
      expect((att.body as { allowWrites?: boolean }).allowWrites).toBe(false);
      const r = await dc.customRequest('setExpression', { expression: 'g_int_neg', value: '7' }).then(
        () => undefined,
        (e: Error) => e.message,
      );
      expect(r).toMatch(/started without --allow-writes/);
      const w = await dc.customRequest('writeMemory', { memoryReference: '0x1000', data: 'AAAA' }).then(
        () => undefined,
        (e: Error) => e.message,
      );
      expect(w).toMatch(/without --allow-writes/);
      expect((await dc.evaluateRequest({ expression: 'g_int_neg', context: 'repl' })).body.result).toBe('-42');
    } finally {
      endClient(dc);
    }
  });

  it("debugSearchPaths outside the server's --debug-dir are refused", async () => {
    const dc = await authedClient(srv.port);
    try {
      await dc.initializeRequest(CLIENT_CAPS);
      const r = await dc.attachRequest({ pid: fx.pid, debugSearchPaths: ['/etc'] } as DebugProtocol.AttachRequestArguments).then(
        () => undefined,
        (e: Error) => e.message,
      );
      expect(r).toMatch(/"\/etc", outside the directories this pidscope dap --listen server searches/);
    } finally {
      endClient(dc);
    }
  });

  it('`pidscope dap --connect` relays a stdio client to the server with the secret', async () => {
    await expectRelayedValue(['--connect', `127.0.0.1:${srv.port}`], { PIDSCOPE_DAP_SECRET: SECRET });
  });
});

describe('TCP listener with --allow-writes', () => {
  it('the client may write when both sides ask', async () => {
    const srv = await startServer(['--listen', '127.0.0.1:0', '--allow-writes']);
    expect(srv.stderr()).toMatch(/and WRITE it \(--allow-writes\)/);
    const dc = await authedClient(srv.port);
    try {
      await attachRW(dc);
      const r = await dc.customRequest('setExpression', { expression: 'g_int_neg', value: '-43' });
      expect(r.body.value).toBe('-43');
      await dc.customRequest('setExpression', { expression: 'g_int_neg', value: '-42' });
    } finally {
      endClient(dc);
      srv.proc.kill('SIGTERM');
    }
  });
});

describe('Unix socket listener', () => {
  it('creates the socket 0600 and refuses another uid by SO_PEERCRED, serves our own', async () => {
    const path = join(dir, 'dap.sock');
    await startServer(['--listen', `unix:${path}`], {});
    expect(statSync(path).mode & 0o777).toBe(0o600);
    if (isRoot) {
      // With mode 0600 nobody cannot even connect; open the mode to prove the uid check itself.
      expect(rawClient({ path }, { frames: [init], waitMs: 3000 }, 'nobody').error).toBe('EACCES');
      chmodSync(path, 0o666);
      const r = rawClient({ path }, { frames: [init, attachReq(fx.pid), setExpr] }, 'nobody');
      expect(r.closed).toBe(true);
      const msgs = frames(r.text);
      expect(msgs).toHaveLength(1);
      expect(msgs[0]).toMatchObject({ type: 'response', request_seq: 1, success: false });
      expect(String(msgs[0].message)).toMatch(/serves uid 0 \(and root\) only, and the peer is uid 65534/);
    }
    const ok = rawClient({ path }, { frames: [init], waitMs: 3000 });
    const msgs = frames(ok.text);
    expect(msgs[0]).toMatchObject({ type: 'response', command: 'initialize', success: true });

    // A stdio client reaches it through `pidscope dap --connect unix:PATH` (no secret needed).
    await expectRelayedValue(['--connect', `unix:${path}`]);
  });
});

describe('command line', () => {
  it('`--connect` to a server that is not there answers the first request with the reason', async () => {
    const dc = adapterClient(['--connect', '127.0.0.1:1'], { PIDSCOPE_DAP_SECRET: SECRET });
    await dc.start();
    try {
      const msg = await dc.initializeRequest(CLIENT_CAPS).then(
        () => undefined,
        (e: Error) => e.message,
      );
      expect(msg).toMatch(/connecting to 127\.0\.0\.1:1 failed before the adapter answered: cannot connect to 127\.0\.0\.1:1 \(connect ECONNREFUSED/);
    } finally {
      stopAdapter(dc);
    }
  });

  it('a non-loopback address needs --public, and says what it exposes', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, 'dap', '--listen', '0.0.0.0:0', '--allow-writes'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/not a loopback address: anyone who can reach it and has the secret could read and write the memory.*--public/);
  });
});
