/**
 * `pidscope dap --listen`: a client that connects over TCP gets a full session; and data
 * breakpoints flow through the session to watchpoints.ts without ever stopping the target.
 */
import { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, startFixture, type RunningFixture } from '../support/fixtures';
import { monitorNeverStopped, tracerPid } from '../support/proc';
import { attach, attachLive, CLIENT_CAPS, LIVE_FRAME_ID, LIVE_THREAD_ID, mainGlobals, retryStale, startClient, waitFor, type Client } from './harness';

const SECRET = 'server-test-secret-0123456789';
/** Connects a DebugClient to the listener and sends the auth line before any DAP. */
async function connectAuthed(dc: DebugClient, port: number): Promise<void> {
  await dc.start(port);
  (dc as unknown as { _socket: { write(s: string): void } })._socket.write(`PIDSCOPE-AUTH ${SECRET}\n`);
}

let fx: RunningFixture;
const clients: Client[] = [];
let server: ChildProcess | undefined;
let serverErr = '';
beforeAll(async () => {
  fx = await startFixture('globals');
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.stop().catch(() => undefined)));
  server?.kill('SIGTERM');
  await fx?.stop();
});

describe('pidscope dap --listen', () => {
  let port = 0;
  beforeAll(async () => {
    server = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'adapter', 'src', 'main.ts'), 'dap', '--listen', '127.0.0.1:0'], {
      cwd: REPO_ROOT,
      env: { ...process.env, PIDSCOPE_DAP_SECRET: SECRET },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    server.stderr!.on('data', (d: Buffer) => (serverErr += d.toString()));
    port = await waitFor(
      'the listening line',
      () => {
        const m = /listening on 127\.0\.0\.1:(\d+)/.exec(serverErr);
        return m ? Number(m[1]) : undefined;
      },
      60_000,
    );
  });

  it('serves a session over TCP on the port it prints', async () => {
    const dc = new DebugClient('unused', 'unused', 'pidscope');
    await connectAuthed(dc, port);
    try {
      const init = await dc.initializeRequest(CLIENT_CAPS);
      expect(init.body?.supportsReadMemoryRequest).toBe(true);
      await attachLive(dc, { pid: fx.pid, refreshIntervalMs: 0 });
      const r = await dc.evaluateRequest({ expression: 'g_other_config.port', context: 'repl' });
      expect(r.body.result).toBe('8080');
      await dc.disconnectRequest({});
    } finally {
      (dc as unknown as { _socket?: { end(): void } })._socket?.end();
    }
  });

  it('a client that vanishes without disconnecting leaves nothing attached in the server', async () => {
    const pidfds = () =>
      readdirSync(`/proc/${server!.pid}/fd`).filter((fd) => {
        try {
          return readlinkSync(`/proc/${server!.pid}/fd/${fd}`) === 'anon_inode:[pidfd]';
        } catch {
          return false;
        }
      }).length;
    const before = pidfds();
    const dc = new DebugClient('unused', 'unused', 'pidscope');
    await connectAuthed(dc, port);
    await dc.initializeRequest(CLIENT_CAPS);
    const initialized = dc.waitForEvent('initialized', 60_000);
    await dc.attachRequest({ pid: fx.pid, refreshIntervalMs: 100 } as DebugProtocol.AttachRequestArguments);
    await initialized;
    expect(pidfds()).toBeGreaterThan(before);
    (dc as unknown as { _socket: { destroy(): void } })._socket.destroy();
    await waitFor('the server to let go of the target', () => (pidfds() === before ? true : undefined), 20_000);
  });
});

describe('data breakpoints through the session', () => {
  it('dataBreakpointInfo → setDataBreakpoints → output events and a Recent writes scope, never a stop', async () => {
    const c = await startClient();
    clients.push(c);
    await attach(c, { pid: fx.pid, refreshIntervalMs: 0 });
    const monitor = monitorNeverStopped(fx.pid);
    const g = await mainGlobals(c);
    const info = await retryStale(
      async () => {
        const scopes = await c.dc.scopesRequest({ frameId: LIVE_FRAME_ID });
        const unitRef = (await c.dc.variablesRequest({ variablesReference: scopes.body.scopes[0].variablesReference })).body.variables.find(
          (v) => v.name === 'globals.c',
        )!.variablesReference;
        return c.dc.dataBreakpointInfoRequest({ name: 'g_live_counter', variablesReference: unitRef });
      },
      (r) => !!r.body.dataId,
    );
    expect(info.body.dataId).toMatch(/^pidscope:0x[0-9a-f]+:8:g_live_counter$/);
    const set = await c.dc.setDataBreakpointsRequest({ breakpoints: [{ dataId: info.body.dataId!, accessType: 'write' }] });
    expect(set.body.breakpoints).toHaveLength(1);
    const n = c.events.length;
    await waitFor(
      'a watch hit in the Debug Console',
      () => c.events.slice(n).find((e) => e.event === 'output' && /^g_live_counter: /.test(e.body.output)),
      30_000,
    );
    // Watch hits invalidate the views (and so the references) several times a second.
    const hits = await retryStale(async () => {
      const scopes = await c.dc.scopesRequest({ frameId: LIVE_FRAME_ID });
      const recent = scopes.body.scopes.find((s) => s.name === 'Recent writes');
      expect(recent).toBeDefined();
      return c.dc.variablesRequest({ variablesReference: recent!.variablesReference });
    });
    expect(hits.body.variables.length).toBeGreaterThan(0);
    const stops = c.events.filter((e) => e.event === 'stopped') as DebugProtocol.StoppedEvent[];
    expect(stops.every((s) => s.body.threadId === LIVE_THREAD_ID)).toBe(true);
    expect(stops).toHaveLength(1);
    await c.dc.setDataBreakpointsRequest({ breakpoints: [] });
    expect(tracerPid(fx.pid)).toBe(0);
    await monitor.stop();
    expect(g.size).toBeGreaterThan(0);
  });
});
