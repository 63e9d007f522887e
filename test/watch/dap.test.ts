/**
 * Data breakpoints through a real DAP client (DebugClient) against `pidscope dap` and the threads
 * fixture: dataBreakpointInfo → setDataBreakpoints → output events naming the writer, breakpoint
 * events with hit counts, a Recent writes scope, and never a `stopped` event for a real thread.
 */
import type { DebugProtocol } from '@vscode/debugprotocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { markerLine, startFixture, type RunningFixture } from '../support/fixtures';
import { monitorNeverStopped, tracerPid } from '../support/proc';
import { itHw, itPerf } from '../support/hwGate';
import { attach, LIVE_FRAME_ID, LIVE_THREAD_ID, startClient, waitFor, type Client } from '../dap/harness';

let fx: RunningFixture;
let c: Client;
beforeAll(async () => {
  fx = await startFixture('threads', { args: ['2', '--interval-ms', '20'] });
  c = await startClient();
  await attach(c, { pid: fx.pid, refreshIntervalMs: 200 });
});
afterAll(async () => {
  await c?.stop().catch(() => undefined);
  await fx?.stop();
});

const outputs = () => c.events.filter((e) => e.event === 'output').map((e) => (e as DebugProtocol.OutputEvent).body.output);

describe('pidscope dap: data breakpoints', () => {
  it('advertises data breakpoints and describes a global from the Variables view', async () => {
    const caps = (c.transcript.find((m) => m.type === 'response' && m.command === 'initialize') as unknown as DebugProtocol.InitializeResponse).body!;
    expect(caps.supportsDataBreakpoints).toBe(true);
    expect(caps.supportsDataBreakpointBytes).toBe(true);
    const scopes = await c.dc.scopesRequest({ frameId: LIVE_FRAME_ID });
    const globalsRef = scopes.body.scopes[0]!.variablesReference;
    const info = await c.request('dataBreakpointInfo', { variablesReference: globalsRef, name: 'g_shared' });
    // The globals scope may group by compile unit; then ask by expression.
    const body = (
      info.success && (info.body as DebugProtocol.DataBreakpointInfoResponse['body']).dataId
        ? info.body
        : (await c.request('dataBreakpointInfo', { name: 'g_shared' })).body
    ) as DebugProtocol.DataBreakpointInfoResponse['body'];
    expect(body.dataId).toMatch(/^pidscope:0x[0-9a-f]+:8:g_shared$/);
    expect(body.accessTypes).toEqual(['write', 'readWrite']);
    const bad = await c.request('dataBreakpointInfo', { name: 'g_shared * 2' });
    expect((bad.body as DebugProtocol.DataBreakpointInfoResponse['body']).dataId).toBeNull();
  });

  itHw('a hit is an output line with the writer, a changed breakpoint with the count, and nothing stops', async () => {
    const monitor = monitorNeverStopped(fx.pid);
    const stoppedBefore = c.events.filter((e) => e.event === 'stopped').length;
    const info = (await c.request('dataBreakpointInfo', { name: 'g_slots[1]' })).body as DebugProtocol.DataBreakpointInfoResponse['body'];
    const set = await c.request('setDataBreakpoints', { breakpoints: [{ dataId: info.dataId, accessType: 'write' }] });
    expect(set.success).toBe(true);
    const bp = (set.body as DebugProtocol.SetDataBreakpointsResponse['body']).breakpoints[0]!;
    expect(bp.verified).toBe(true);
    const line = markerLine('threads.c', 'WRITE_SLOT');
    const re = new RegExp(`^g_slots\\[1\\]: .* → .* by worker_loop \\(threads\\.c:${line}\\) \\[tid \\d+ worker-1\\]\\n$`);
    await waitFor('three output lines for g_slots[1]', () => (outputs().filter((o) => re.test(o)).length >= 3 ? true : undefined));
    const changed = await waitFor('a breakpoint event with a count', () =>
      c.events
        .filter((e) => e.event === 'breakpoint')
        .map((e) => (e as DebugProtocol.BreakpointEvent).body)
        .find((b) => b.breakpoint.id === bp.id && /^[1-9][\d,]* writes · hardware/.test(b.breakpoint.message ?? '')),
    );
    expect(changed.reason).toBe('changed');
    expect(c.events.some((e) => e.event === 'invalidated')).toBe(true);
    // The only stopped event ever is the synthetic live thread's at attach.
    const stopped = c.events.filter((e) => e.event === 'stopped').map((e) => (e as DebugProtocol.StoppedEvent).body.threadId);
    expect(stopped.length).toBe(stoppedBefore);
    expect(stopped.every((t) => t === LIVE_THREAD_ID)).toBe(true);

    // Recent writes: a scope listing the hits, newest first.
    const scopes = await c.dc.scopesRequest({ frameId: LIVE_FRAME_ID });
    const recent = scopes.body.scopes.find((s) => s.name === 'Recent writes');
    expect(recent).toBeDefined();
    const vars = await c.dc.variablesRequest({ variablesReference: recent!.variablesReference });
    expect(vars.body.variables[0]!.name).toMatch(/^#\d+ g_slots\[1\]$/);
    expect(vars.body.variables[0]!.value).toMatch(new RegExp(`→ .* by worker_loop \\(threads\\.c:${line}\\)`));

    const cleared = await c.request('setDataBreakpoints', { breakpoints: [] });
    expect(cleared.success).toBe(true);
    expect((await monitor.stop()).violations).toEqual([]);
    expect(tracerPid(fx.pid)).toBe(0);
  });

  itPerf(
    'where breakpoints never fire (adapter under PIDSCOPE_HWBP=nofire): the data breakpoint polls, is verified, and says why in the console and its message',
    async () => {
      const before = process.env.PIDSCOPE_HWBP;
      process.env.PIDSCOPE_HWBP = 'nofire';
      let c2: Client;
      try {
        c2 = await startClient(); // the adapter process inherits the switch
      } finally {
        if (before === undefined) delete process.env.PIDSCOPE_HWBP;
        else process.env.PIDSCOPE_HWBP = before;
      }
      try {
        await attach(c2, { pid: fx.pid, refreshIntervalMs: 200 });
        const info = (await c2.request('dataBreakpointInfo', { name: 'g_slots[0]' })).body as DebugProtocol.DataBreakpointInfoResponse['body'];
        expect(info.description).toMatch(/polling \(hardware breakpoints do not fire on this host/);
        const set = await c2.request('setDataBreakpoints', { breakpoints: [{ dataId: info.dataId, accessType: 'write' }] });
        const bp = (set.body as DebugProtocol.SetDataBreakpointsResponse['body']).breakpoints[0]!;
        expect(bp.verified).toBe(true);
        expect(bp.message).toMatch(/^0 changes · polling \(hardware breakpoints do not fire on this host/);
        const said = await waitFor('the fallback in the console', () =>
          c2.events.find(
            (e) =>
              e.event === 'output' &&
              /^pidscope watch: g_slots\[0\]: polling every \d+ ms because hardware breakpoints do not fire/.test((e as DebugProtocol.OutputEvent).body.output),
          ),
        );
        expect((said as DebugProtocol.OutputEvent).body.category).toBe('important');
        await waitFor('a polled change', () =>
          c2.events.find((e) => e.event === 'output' && /^g_slots\[0\]: \d+ → \d+\n$/.test((e as DebugProtocol.OutputEvent).body.output)),
        );
        const stopped = c2.events.filter((e) => e.event === 'stopped').map((e) => (e as DebugProtocol.StoppedEvent).body.threadId);
        expect(stopped.every((t) => t === LIVE_THREAD_ID)).toBe(true);
      } finally {
        await c2.stop().catch(() => undefined);
      }
    },
  );
});
