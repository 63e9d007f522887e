/**
 * `pidscope dap` end to end: a real DAP client against real fixture processes. Everything here
 * needs only the target, memory and symbol tables; values of variables are in values.test.ts.
 */
import type { DebugProtocol } from '@vscode/debugprotocol';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixturePath, startFixture, type RunningFixture } from '../support/fixtures';
import { monitorNeverStopped, readProcMem, threadNames, tracerPid } from '../support/proc';
import { symbolAddress } from '../support/symbols';
import { attach, CLIENT_CAPS, LIVE_FRAME_ID, LIVE_THREAD_ID, startClient, waitFor, type Client } from './harness';

const clients: Client[] = [];
async function client(): Promise<Client> {
  const c = await startClient();
  clients.push(c);
  return c;
}

let fx: RunningFixture;
beforeAll(async () => {
  fx = await startFixture('globals');
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.stop().catch(() => undefined)));
  await fx?.stop();
});

describe('pidscope dap: protocol basics', () => {
  it('declares only what it supports, refuses launch and terminate, and keeps serving', async () => {
    const c = await client();
    const init = await c.dc.initializeRequest(CLIENT_CAPS);
    expect(init.body).toMatchObject({
      supportsConfigurationDoneRequest: true,
      supportsEvaluateForHovers: true,
      supportsReadMemoryRequest: true,
      supportsWriteMemoryRequest: true,
      supportsSetVariable: true,
      supportsSetExpression: true,
      supportsTerminateRequest: false,
      supportTerminateDebuggee: false,
    });
    const launch = await c.request('launch', { program: '/bin/true' });
    expect(launch.success).toBe(false);
    expect(launch.message).toMatch(/attaches to processes that are already running.*"request": "attach"/);

    const before = await c.request('threads');
    expect(before.success).toBe(false);
    expect(before.message).toMatch(/has not attached yet.*Send 'attach'/);

    const unknown = await c.request('flyToTheMoon', {});
    expect(unknown.message).toMatch(/does not implement the 'flyToTheMoon' request/);

    const again = await c.request('initialize', CLIENT_CAPS);
    expect(again.message).toMatch(/already sent/);

    const badPid = await c.request('attach', { pid: 'twelve' });
    expect(badPid.message).toMatch(/"pid" is "twelve", not a process id/);
    const noPid = await c.request('attach', { pid: 999_999_999 });
    expect(noPid.success).toBe(false);
    expect(noPid.message).toMatch(/no process with pid 999999999/i);
    if (readFileSync('/proc/2/comm', 'utf8').trim() === 'kthreadd') {
      const kthread = await c.request('attach', { pid: 2 }); // kthreadd (not in a pid namespace)
      expect(kthread.message).toMatch(/kernel thread/);
    }
    const nothing = await c.request('attach', {});
    expect(nothing.message).toMatch(/name no process/);

    const term = await c.request('terminate', {});
    expect(term.message).toMatch(/does not terminate the processes it inspects/);
  });
});

describe('pidscope dap: attached to a running process', () => {
  let c: Client;
  let attachBody: Record<string, unknown>;
  beforeAll(async () => {
    c = await client();
    const monitor = monitorNeverStopped(fx.pid);
    const r = await attach(c, { pid: fx.pid, refreshIntervalMs: 100 });
    attachBody = r.body as Record<string, unknown>;
    await monitor.stop();
  });

  it('reports pid, name and backend (attach body, pidscope/info, process event)', async () => {
    expect(attachBody).toMatchObject({ pid: fx.pid, name: 'globals', backend: expect.stringMatching(/^(pidfd-mem|vm-readv|proc-mem)$/) });
    expect(Array.isArray(attachBody.reasons)).toBe(true);
    const info = await c.request('pidscope/info');
    expect(info.body).toMatchObject({ pid: fx.pid, name: 'globals', backend: attachBody.backend, allowWrites: false, view: 'live' });
    const proc = c.events.find((e) => e.event === 'process');
    expect(proc?.body).toMatchObject({ systemProcessId: fx.pid, startMethod: 'attach' });
    expect(c.events.some((e) => e.event === 'output' && /never stops it/.test(e.body.output))).toBe(true);
  });

  it('lists the live thread and the real threads by name, and stops only the live thread', async () => {
    const t = await c.dc.threadsRequest();
    const names = threadNames(fx.pid);
    expect(t.body.threads[0]).toEqual({ id: LIVE_THREAD_ID, name: `Live view: globals (pid ${fx.pid})` });
    for (const [tid, name] of names) expect(t.body.threads).toContainEqual({ id: tid, name: `${name} [${tid}]` });
    expect([...names.values()]).toContain('globals-aux');
    const stops = c.events.filter((e) => e.event === 'stopped') as DebugProtocol.StoppedEvent[];
    expect(stops.length).toBeGreaterThan(0);
    for (const s of stops) {
      expect(s.body.threadId).toBe(LIVE_THREAD_ID);
      expect(s.body.allThreadsStopped).toBe(false);
    }
    expect(stops[0].body.description).toBe('live view — the process keeps running');
    expect(tracerPid(fx.pid)).toBe(0);
  });

  it('has one live frame; a real thread has no frames (it is running)', async () => {
    const st = await c.dc.stackTraceRequest({ threadId: LIVE_THREAD_ID });
    expect(st.body.stackFrames).toHaveLength(1);
    expect(st.body.stackFrames[0]).toMatchObject({ id: LIVE_FRAME_ID, name: `live: globals (pid ${fx.pid})` });
    const real = await c.dc.stackTraceRequest({ threadId: fx.pid });
    expect(real.body.stackFrames).toEqual([]);
    const bad = await c.request('stackTrace', { threadId: 424242 });
    expect(bad.message).toMatch(/thread 424242 is not a thread of the target/);
  });

  it('gives the live frame a virtual source, so editors select it (and fill Variables) by themselves', async () => {
    const st = await c.dc.stackTraceRequest({ threadId: LIVE_THREAD_ID });
    const source = st.body.stackFrames[0].source!;
    expect(source.sourceReference).toBeGreaterThan(0);
    const doc = await c.request('source', { source, sourceReference: source.sourceReference });
    expect(doc.success, doc.message).toBe(true);
    expect((doc.body as { content: string }).content).toContain(`pidscope live view of globals (pid ${fx.pid})`);
    expect((doc.body as { content: string }).content).toMatch(/keeps running/);
    const unknown = await c.request('source', { sourceReference: 99 });
    expect(unknown.success).toBe(false);
    expect(unknown.message).toMatch(/source reference 99 is not known/);
  });

  it('offers globals per module, threads and the memory map as scopes', async () => {
    const s = await c.dc.scopesRequest({ frameId: LIVE_FRAME_ID });
    const names = s.body.scopes.map((x) => x.name);
    expect(names[0]).toBe('Globals: globals');
    expect(names[1]).toBe('Libraries');
    expect(s.body.scopes[1].expensive).toBe(true);
    expect(names).toContain('Threads');
    expect(names).toContain('Memory map');
    expect(s.body.scopes[0].expensive).toBe(false);
    const threads = await c.dc.variablesRequest({ variablesReference: s.body.scopes.find((x) => x.name === 'Threads')!.variablesReference });
    expect(threads.body.variables.map((v) => v.value).join('\n')).toMatch(/globals-aux/);
    const maps = await c.dc.variablesRequest({ variablesReference: s.body.scopes.find((x) => x.name === 'Memory map')!.variablesReference });
    const exe = maps.body.variables.find((v) => v.value.includes(fx.binary));
    expect(exe?.memoryReference).toMatch(/^0x[0-9a-f]+$/);
  });

  it('readMemory returns the bytes /proc/PID/mem holds', async () => {
    const addr = symbolAddress(fx.pid, 'g_big_buffer');
    const r = await c.dc.customRequest('readMemory', { memoryReference: `0x${addr.toString(16)}`, offset: 4096, count: 8192 });
    const body = r.body as DebugProtocol.ReadMemoryResponse['body'];
    expect(body!.address).toBe(`0x${(addr + 4096n).toString(16)}`);
    expect(Buffer.from(body!.data!, 'base64').equals(readProcMem(fx.pid, addr + 4096n, 8192))).toBe(true);
    expect(body!.unreadableBytes ?? 0).toBe(0);
  });

  it('readMemory across a guard page reports unreadable bytes', async () => {
    const ptr = symbolAddress(fx.pid, 'g_guarded');
    const guarded = readProcMem(fx.pid, ptr, 8).readBigUInt64LE(0);
    const size = Number(readProcMem(fx.pid, symbolAddress(fx.pid, 'g_guarded_size'), 8).readBigUInt64LE(0));
    const r = await c.dc.customRequest('readMemory', { memoryReference: `0x${guarded.toString(16)}`, offset: size - 16, count: 64 });
    const body = r.body as DebugProtocol.ReadMemoryResponse['body'];
    const data = Buffer.from(body!.data!, 'base64');
    expect(data.length).toBe(16);
    expect(data.equals(readProcMem(fx.pid, guarded + BigInt(size - 16), 16))).toBe(true);
    expect(body!.unreadableBytes).toBe(48);
  });

  it('writeMemory, setVariable and setExpression are refused without allowWrites', async () => {
    const addr = symbolAddress(fx.pid, 'g_volatile_int');
    const before = readProcMem(fx.pid, addr, 4);
    const w = await c.request('writeMemory', { memoryReference: `0x${addr.toString(16)}`, data: Buffer.from([1, 2, 3, 4]).toString('base64') });
    expect(w.success).toBe(false);
    expect(w.message).toMatch(/writing is off for this session.*"allowWrites": true/);
    expect(readProcMem(fx.pid, addr, 4).equals(before)).toBe(true);
    const se = await c.request('setExpression', { expression: 'g_volatile_int', value: '5', frameId: LIVE_FRAME_ID });
    expect(se.message).toMatch(/"allowWrites": true/);
  });

  it('answers malformed requests with errors and keeps serving', async () => {
    const cases: Array<[string, unknown, RegExp]> = [
      ['variables', { variablesReference: 'abc' }, /not a positive integer/],
      ['variables', { variablesReference: 987654 }, /unknown or from an earlier refresh/],
      ['variables', { variablesReference: 1, count: 1e9 }, /too large/],
      ['variables', { variablesReference: 1, start: -1 }, /below 0/],
      ['scopes', { frameId: 77 }, /frameId 77 is not a frame/],
      ['scopes', {}, /"frameId" is missing/],
      ['readMemory', { memoryReference: 'g_int', count: 4 }, /not an address/],
      ['readMemory', { memoryReference: '0x1000', count: 1 << 30 }, /too large/],
      ['readMemory', { memoryReference: '0x1000', count: 'four' }, /not an integer/],
      ['evaluate', { context: 'repl' }, /expression is undefined/],
      ['evaluate', { expression: '   ' }, /empty/],
      ['stackTrace', {}, /"threadId" is missing/],
      ['pause', { threadId: 3 }, /not a thread of the target/],
      ['next', { threadId: LIVE_THREAD_ID }, /never stops or steps the target/],
      ['pidscope/sample', { expressions: 'g_int' }, /not a list of strings/],
      ['attach', { pid: fx.pid }, /already attached to pid/],
      ['source', { sourceReference: 7 }, /source reference 7 is not known/],
    ];
    for (const [command, args, re] of cases) {
      const r = await c.request(command, args);
      expect(r.success, `${command} ${JSON.stringify(args)}`).toBe(false);
      expect(r.message, `${command} ${JSON.stringify(args)}`).toMatch(re);
    }
    const bp = await c.dc.setBreakpointsRequest({ source: { path: '/x.c' }, breakpoints: [{ line: 3 }] });
    expect(bp.body.breakpoints[0]).toMatchObject({ verified: false, message: expect.stringMatching(/never stops the target/) });
    const t = await c.dc.threadsRequest();
    expect(t.body.threads.length).toBeGreaterThan(1);
    expect(tracerPid(fx.pid)).toBe(0);
  });

  it('survives every request with arguments of the wrong shape', async () => {
    const commands = [
      'threads',
      'stackTrace',
      'scopes',
      'variables',
      'evaluate',
      'setVariable',
      'setExpression',
      'readMemory',
      'writeMemory',
      'pause',
      'continue',
      'dataBreakpointInfo',
      'setDataBreakpoints',
      'setBreakpoints',
      'setExceptionBreakpoints',
      'setFunctionBreakpoints',
      'pidscope/info',
      'pidscope/sample',
      'pidscope/view',
      'configurationDone',
      'source',
      'modules',
      'completions',
    ];
    const shapes: unknown[] = [
      null,
      [],
      'text',
      42,
      {
        threadId: 'x',
        frameId: {},
        variablesReference: [],
        expression: 7,
        memoryReference: null,
        count: -5,
        offset: 'o',
        breakpoints: 'all',
        expressions: [1, 2],
        name: {},
        value: [],
        data: '***',
        frozen: 1,
      },
    ];
    for (const command of commands) {
      for (const args of shapes) {
        const r = await c.request(command, args);
        expect(typeof r.success, `${command} ${JSON.stringify(args)}`).toBe('boolean');
        // A wrong shape is the client's mistake, never an internal error (a bug) of the adapter.
        expect((r.body as { blame?: string } | undefined)?.blame, `${command} ${JSON.stringify(args)}: ${r.message}`).not.toBe('internal');
      }
    }
    const t = await c.dc.threadsRequest();
    expect(t.body.threads[0].id).toBe(LIVE_THREAD_ID);
    expect(tracerPid(fx.pid)).toBe(0);
  });

  it('readMemory of a range the memory view shows sends a memory event when its bytes change', async () => {
    // g_progress changes every ms; a memory view of it must be told.
    const addr = symbolAddress(fx.pid, 'g_progress');
    const n = c.events.length;
    await c.dc.customRequest('readMemory', { memoryReference: `0x${addr.toString(16)}`, count: 8 });
    const ev = await waitFor('a memory event', () => c.events.slice(n).find((e) => e.event === 'memory'));
    expect(ev.body).toEqual({ memoryReference: `0x${addr.toString(16)}`, offset: 0, count: 8 });
  });

  it('pause freezes the view (not the target); continue makes it live again; references stay valid', async () => {
    const s = await c.dc.scopesRequest({ frameId: LIVE_FRAME_ID });
    const oldRef = s.body.scopes[0].variablesReference;
    const monitor = monitorNeverStopped(fx.pid);
    const stopped = c.dc.waitForEvent('stopped');
    // Pause on the live-view thread freezes the view (pause on a real thread snapshots its stack: test/dap/stacks.test.ts).
    await c.dc.pauseRequest({ threadId: LIVE_THREAD_ID });
    const ev = (await stopped) as DebugProtocol.StoppedEvent;
    expect(ev.body).toMatchObject({ reason: 'pause', threadId: LIVE_THREAD_ID, allThreadsStopped: false });
    expect(ev.body.description).toMatch(/^snapshot of \d\d:\d\d:\d\d\.\d\d\d — the process keeps running$/);
    expect((await c.request('pidscope/info')).body).toMatchObject({ view: 'frozen' });
    // A reference from before the pause still answers (nvim-dap re-expands what it showed).
    const kept = await c.request('variables', { variablesReference: oldRef });
    expect(kept.success).toBe(true);
    await new Promise((r) => setTimeout(r, 300));
    const again = c.dc.waitForEvent('stopped');
    const cont = await c.dc.continueRequest({ threadId: LIVE_THREAD_ID });
    expect(cont.body.allThreadsContinued).toBe(false);
    expect(((await again) as DebugProtocol.StoppedEvent).body.description).toBe('live view — the process keeps running');
    expect((await c.request('pidscope/info')).body).toMatchObject({ view: 'live' });
    // The same without a continue (the client never sees the live thread run).
    const frozen = c.dc.waitForEvent('stopped');
    expect((await c.dc.customRequest('pidscope/view', { frozen: true })).body).toMatchObject({ view: 'frozen' });
    expect(((await frozen) as DebugProtocol.StoppedEvent).body.reason).toBe('pause');
    const live = c.dc.waitForEvent('stopped');
    expect((await c.dc.customRequest('pidscope/view', { frozen: false })).body).toMatchObject({ view: 'live' });
    expect(((await live) as DebugProtocol.StoppedEvent).body.reason).toBe('entry');
    expect((await c.request('pidscope/view', { frozen: 'yes' })).success).toBe(false);
    await monitor.stop();
  });
});

/** A copy of the globals fixture under a name no other test uses, for processName lookups. */
function spawnCopy(dir: string, name: string): Promise<{ proc: ChildProcess; pid: number }> {
  const sub = mkdtempSync(join(dir, 'copy-'));
  const bin = join(sub, name);
  copyFileSync(fixturePath('globals'), bin);
  const proc = spawn(bin, [], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /ready (\d+)/.exec(out);
      if (m) resolve({ proc, pid: Number(m[1]) });
    });
    proc.on('exit', () => reject(new Error(`${name} exited early`)));
  });
}

describe('pidscope dap: attach by processName', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pidscope-dap-'));
  const name = `pdap${process.pid % 100000}`;
  const procs: ChildProcess[] = [];
  afterAll(() => {
    for (const p of procs) p.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('resolves a unique name, and lists the candidates when the name is ambiguous', async () => {
    const one = await spawnCopy(dir, name);
    procs.push(one.proc);
    const c = await client();
    const r = await attach(c, { processName: name });
    expect(r.body).toMatchObject({ pid: one.pid, name });
    await c.stop();

    const two = await spawnCopy(dir, name); // same name, second process
    procs.push(two.proc);
    const c2 = await client();
    await c2.dc.initializeRequest(CLIENT_CAPS);
    const amb = await c2.request('attach', { processName: name });
    expect(amb.success).toBe(false);
    expect(amb.message).toContain(`2 processes are named "${name}"`);
    expect(amb.message).toContain(`pid ${one.pid}`);
    expect(amb.message).toContain(`pid ${two.pid}`);
    const none = await c2.request('attach', { processName: `${name}-none` });
    expect(none.message).toMatch(/no running process is named/);
  });
});

describe('pidscope dap: the target goes away', () => {
  it('exit with a knowable status: exited(code) + terminated', async () => {
    // python is the parent and does not reap before the adapter looked: the status is knowable.
    const lc = fixturePath('lifecycle');
    const py = spawn('python3', ['-c', `import subprocess,time\np=subprocess.Popen([${JSON.stringify(lc)},'idle'])\ntime.sleep(60)\np.wait()`], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      let out = '';
      const pid = await new Promise<number>((res) =>
        py.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /ready (\d+)/.exec(out);
          if (m) res(Number(m[1]));
        }),
      );
      const c = await client();
      await attach(c, { pid });
      const terminated = c.dc.waitForEvent('terminated', 30_000);
      process.kill(pid, 'SIGKILL');
      await terminated;
      const exited = c.events.find((e) => e.event === 'exited');
      expect(exited?.body).toEqual({ exitCode: 137 });
      expect(c.events.some((e) => e.event === 'output' && /was killed by signal 9/.test(e.body.output))).toBe(true);
      const after = await c.request('threads');
      expect(after.success).toBe(false);
    } finally {
      py.kill('SIGKILL');
    }
  });

  it('exit once reaped by its parent: terminated, exit code unknown', async () => {
    const lf = await startFixture('lifecycle', { args: ['idle'] });
    const c = await client();
    await attach(c, { pid: lf.pid });
    const terminated = c.dc.waitForEvent('terminated', 30_000);
    await lf.stop(); // node reaps it at once
    await terminated;
    const out = c.events
      .filter((e) => e.event === 'output')
      .map((e) => e.body.output)
      .join('');
    expect(out).toMatch(/exited|killed/);
  });

  it('exec: the session ends with a message (the process keeps running)', async () => {
    const lf = await startFixture('lifecycle', { args: ['exec-after', '8000'] });
    try {
      const c = await client();
      await attach(c, { pid: lf.pid });
      // The exec must come after the attach for this test to mean anything.
      expect(lf.lines.filter((l) => l.startsWith('ready')).length).toBe(1);
      await c.dc.waitForEvent('terminated', 30_000);
      const out = c.events
        .filter((e) => e.event === 'output')
        .map((e) => e.body.output)
        .join('');
      expect(out).toMatch(/executed a new program/);
      expect(c.events.some((e) => e.event === 'exited')).toBe(false);
      expect(lf.hasExited()).toBe(false);
    } finally {
      await lf.stop();
    }
  });

  it('deleting the executable on disk (a rebuild) is not an exec: the session goes on', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pidscope-dap-del-'));
    const copy = await spawnCopy(dir, 'rebuilt');
    try {
      const c = await client();
      await attach(c, { pid: copy.pid, refreshIntervalMs: 100 });
      rmSync(dir, { recursive: true, force: true });
      await new Promise((r) => setTimeout(r, 1000));
      expect(c.events.some((e) => e.event === 'terminated')).toBe(false);
      const r = await c.dc.evaluateRequest({ expression: 'g_int', context: 'repl' });
      expect(r.body.result).toBe('123456789');
    } finally {
      copy.proc.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('disconnect in the middle of an attach: both answered, the target untouched', async () => {
    const c = await client();
    await c.dc.initializeRequest(CLIENT_CAPS);
    const attaching = c.request('attach', { pid: fx.pid });
    const disc = c.request('disconnect', {});
    const [a, d] = await Promise.all([attaching, disc]);
    expect(d.success).toBe(true);
    expect(a.success).toBe(false);
    expect(a.message).toMatch(/disconnected while attaching|session has ended/);
    expect(fx.hasExited()).toBe(false);
    expect(tracerPid(fx.pid)).toBe(0);
  });

  it('disconnect leaves the target running, even with terminateDebuggee', async () => {
    const c = await client();
    await attach(c, { pid: fx.pid });
    const r = await c.dc.disconnectRequest({ terminateDebuggee: true });
    expect(r.success).toBe(true);
    expect(c.events.some((e) => e.event === 'output' && /never terminates.*keeps running/.test(e.body.output))).toBe(true);
    await new Promise((res) => setTimeout(res, 200));
    expect(fx.hasExited()).toBe(false);
    expect(tracerPid(fx.pid)).toBe(0);
  });
});
