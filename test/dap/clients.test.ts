/**
 * What DAP clients not written for pidscope (Emacs dap-mode, nvim-dap, a client written from the
 * specification) ran into (issue 16, part 4), each as the client does it.
 */
import type { DebugProtocol } from '@vscode/debugprotocol';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PidscopeSession } from '../../adapter/src/dap/session';
import { startFixture, type RunningFixture } from '../support/fixtures';
import { attach, mainGlobals, LIVE_FRAME_ID, LIVE_THREAD_ID, startClient, waitFor, type Client } from './harness';
import { frame, startRawAdapter, type Msg, type RawAdapter } from './raw';

const clients: Client[] = [];
const raws: RawAdapter[] = [];
let fx: RunningFixture;
beforeAll(async () => {
  fx = await startFixture('globals');
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.stop().catch(() => undefined)));
  await Promise.all(raws.map((r) => r.kill()));
  await fx?.stop();
});

async function attached(args: Record<string, unknown> = {}): Promise<Client> {
  const c = await startClient();
  clients.push(c);
  await attach(c, { pid: fx.pid, ...args });
  return c;
}

describe('pidscope dap with clients other than VS Code', () => {
  it('a client polling every 50 ms still sees the live view refresh', async () => {
    const c = await attached(); // the default refresh, 500 ms
    const w = await c.dc.evaluateRequest({ expression: 'g_progress', context: 'watch', frameId: LIVE_FRAME_ID });
    expect(w.success).toBe(true);
    const from = c.events.length;
    let polls = 0;
    await waitFor(
      'an invalidated event while the client polls threads every 50 ms',
      async () => {
        polls++;
        await c.request('threads');
        return c.events.slice(from).find((e) => e.event === 'invalidated');
      },
      20_000,
      40,
    );
    expect(polls).toBeGreaterThan(1);
  });

  it('a refused step leaves the live thread stopped again (clients mark it running before the answer)', async () => {
    const c = await attached();
    for (const command of ['next', 'stepIn', 'stepOut']) {
      const from = c.events.length;
      const r = await c.request(command, { threadId: LIVE_THREAD_ID });
      expect(r.success).toBe(false);
      expect(r.message).toMatch(/never stops or steps the target/);
      const ev = (await waitFor(`stopped after ${command}`, () => c.events.slice(from).find((e) => e.event === 'stopped'))) as DebugProtocol.StoppedEvent;
      expect(ev.body.threadId).toBe(LIVE_THREAD_ID);
      expect(ev.body.reason).toBe('entry');
    }
  });

  it('pause and continue keep variablesReferences valid and send invalidated', async () => {
    const c = await attached({ refreshIntervalMs: 0 });
    const scopes = await c.dc.scopesRequest({ frameId: LIVE_FRAME_ID });
    const ref = scopes.body.scopes[0].variablesReference;
    const before = await c.dc.variablesRequest({ variablesReference: ref });
    const point = (await mainGlobals(c)).get('g_point')!;
    expect(point.variablesReference).toBeGreaterThan(0);
    for (const command of ['pause', 'continue']) {
      const from = c.events.length;
      expect((await c.request(command, { threadId: LIVE_THREAD_ID })).success).toBe(true);
      await waitFor(`invalidated after ${command}`, () => c.events.slice(from).find((e) => e.event === 'invalidated'));
      // An expansion the client had on screen still works (nvim-dap re-expands what it showed).
      const kids = await c.dc.variablesRequest({ variablesReference: point.variablesReference });
      expect(kids.body.variables.map((v) => `${v.name} = ${v.value}`)).toEqual(['x = 7', 'y = -7']);
      expect((await c.dc.variablesRequest({ variablesReference: ref })).body.variables.length).toBe(before.body.variables.length);
    }
  });

  it('a client that renders every scope (dap-mode) gets a short first view: libraries are listed, not indexed', async () => {
    const c = await attached({ refreshIntervalMs: 0 });
    const scopes = (await c.dc.scopesRequest({ frameId: LIVE_FRAME_ID })).body.scopes;
    expect(scopes.map((x) => x.name)).toEqual(['Globals: globals', 'Libraries', 'Threads', 'Memory map']);
    const libs = scopes[1];
    expect(libs.expensive).toBe(true);
    let rows = 0;
    for (const sc of scopes) rows += (await c.dc.variablesRequest({ variablesReference: sc.variablesReference })).body.variables.length;
    const list = (await c.dc.variablesRequest({ variablesReference: libs.variablesReference })).body.variables;
    expect(list.map((v) => v.name)).toEqual(expect.arrayContaining(['libc.so.6']));
    expect(list.length).toBe(libs.namedVariables);
    // Rendering every scope indexed no library: each still says it is read when expanded.
    expect(list.every((v) => /globals read when expanded/.test(v.value))).toBe(true);
    expect(rows).toBeLessThan(200);
    // Expanding one indexes it then.
    const libc = list.find((v) => v.name === 'libc.so.6')!;
    const kids = await c.dc.variablesRequest({ variablesReference: libc.variablesReference });
    expect(kids.body.variables.length).toBeGreaterThan(0);
    const again = (await c.dc.variablesRequest({ variablesReference: libs.variablesReference })).body.variables;
    expect(again.find((v) => v.name === 'libc.so.6')!.value).toMatch(/^\d+ globals?$/);
  });

  it("while the client is idle the libraries' debug info is indexed, so the first unknown name costs nothing more", async () => {
    const c = await attached({ refreshIntervalMs: 0 });
    // Completions list the globals of the modules indexed so far: a libc global appears once the
    // background indexing reached libc (only while no requests come: polls 1 s apart).
    await waitFor(
      'libc indexed in the background',
      async () => {
        const r = await c.dc.completionsRequest({ text: 'program_invocation_sh', column: 22, frameId: LIVE_FRAME_ID });
        return r.body.targets.find((t) => t.label === 'program_invocation_short_name');
      },
      60_000,
      1000,
    );
    const t = performance.now();
    const r = await c.request('evaluate', { expression: 'g_no_such_global', context: 'repl' });
    expect(r.message).toMatch(/^No symbol "g_no_such_global" in current context\./);
    console.log(`the first unknown name after idle indexing took ${(performance.now() - t).toFixed(0)} ms (not asserted)`);
  });

  it('evaluate of an unreadable expression fails like gdb (no result with error children)', async () => {
    const c = await attached();
    for (const [expression, message] of [
      ['((struct point *)0)->y', 'Cannot access memory at address 0x4'],
      ['*(struct rect *)8', 'Cannot access memory at address 0x8'],
    ]) {
      for (const context of ['watch', 'repl', 'hover']) {
        const r = await c.request('evaluate', { expression, context, frameId: LIVE_FRAME_ID });
        expect(r.success, `${expression} (${context})`).toBe(false);
        expect(r.message).toMatch(new RegExp(`^${message.replace(/[()*]/g, '\\$&')}`));
        expect((r.body as { memoryReference?: string } | undefined)?.memoryReference).toBeUndefined();
      }
    }
  });
});

describe('a client that declared supportsMemoryReferences: false', () => {
  it('gets no memoryReference anywhere', async () => {
    const a = startRawAdapter();
    raws.push(a);
    expect((await a.request('initialize', { adapterID: 'pidscope', supportsMemoryReferences: false, supportsVariableType: true })).success).toBe(true);
    expect((await a.request('attach', { pid: fx.pid }, 60_000)).success).toBe(true);
    await a.request('configurationDone');
    const seen: Msg[] = [];
    seen.push(await a.request('evaluate', { expression: 'g_rect', context: 'repl' }));
    const scopes = await a.request('scopes', { frameId: LIVE_FRAME_ID });
    const list = (scopes.body as { scopes: Array<{ name: string; variablesReference: number }> }).scopes;
    for (const s of [list[0], list.find((x) => x.name === 'Memory map')!])
      seen.push(await a.request('variables', { variablesReference: s.variablesReference }));
    expect(seen.every((m) => m.success)).toBe(true);
    expect(JSON.stringify(seen)).not.toMatch(/memoryReference/);
    // The same requests from a client that supports them do carry them (the check is not vacuous).
    const b = startRawAdapter();
    raws.push(b);
    await b.request('initialize', { adapterID: 'pidscope', supportsMemoryReferences: true });
    await b.request('attach', { pid: fx.pid }, 60_000);
    expect(JSON.stringify(await b.request('evaluate', { expression: 'g_rect', context: 'repl' }))).toMatch(/memoryReference/);
  });
});

describe('over TCP', () => {
  let server: Server;
  let port: number;
  beforeAll(async () => {
    // One PidscopeSession per connection in server mode, as `pidscope dap --listen` wires it.
    server = createServer((socket) => {
      const session = new PidscopeSession();
      session.setRunAsServer(true);
      session.start(socket, socket);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => server?.close());

  it('after disconnect the server sends terminated and closes the connection', async () => {
    const sock: Socket = connect(port, '127.0.0.1');
    const msgs: Msg[] = [];
    let buf = Buffer.alloc(0);
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const h = buf.indexOf('\r\n\r\n');
        if (h < 0) break;
        const n = Number(/Content-Length: (\d+)/.exec(buf.toString('latin1', 0, h))![1]);
        if (buf.length < h + 4 + n) break;
        msgs.push(JSON.parse(buf.toString('utf8', h + 4, h + 4 + n)) as Msg);
        buf = buf.subarray(h + 4 + n);
      }
    });
    const ended = new Promise<void>((r) => sock.on('close', () => r()));
    await new Promise<void>((r) => sock.on('connect', () => r()));
    sock.write(frame(JSON.stringify({ seq: 1, type: 'request', command: 'initialize', arguments: { adapterID: 'pidscope' } })));
    sock.write(frame(JSON.stringify({ seq: 2, type: 'request', command: 'attach', arguments: { pid: fx.pid } })));
    await waitFor('attach', () => msgs.find((m) => m.type === 'response' && m.request_seq === 2), 60_000);
    sock.write(frame(JSON.stringify({ seq: 3, type: 'request', command: 'disconnect', arguments: {} })));
    await waitFor('terminated', () => msgs.find((m) => m.type === 'event' && m.event === 'terminated'));
    const r = msgs.find((m) => m.type === 'response' && m.request_seq === 3)!;
    expect(r.success).toBe(true);
    expect(msgs.indexOf(r)).toBeLessThan(msgs.findIndex((m) => m.event === 'terminated'));
    await ended; // the server closed the connection (the test would time out otherwise)
  });
});
