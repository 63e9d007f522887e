/**
 * dap/watchpoints.ts (the module the DAP session delegates data breakpoints to), driven with a
 * real Program on the threads fixture; events are collected as the session would send them.
 */
import type { DebugProtocol } from '@vscode/debugprotocol';
import { describe, expect, it } from 'vitest';
import { Program } from '../../adapter/src/engine/program';
import { DataBreakpoints, decodeDataId } from '../../adapter/src/dap/watchpoints';
import { markerLine, startFixture } from '../support/fixtures';
import { monitorNeverStopped, tracerPid } from '../support/proc';
import { hasHardwareWatchpoints, itHw, itPerf } from '../support/hwGate';
import { testFileLifecycle } from '../support/lifecycle';
import { until } from '../support/wait';

const { started, cleanups } = testFileLifecycle();

async function setup(args: string[]) {
  const fx = await startFixture('threads', { args });
  started.push(fx);
  const program = await Program.open(fx.pid);
  const events: DebugProtocol.Event[] = [];
  const wp = new DataBreakpoints({
    program,
    sendEvent: (e) => events.push(e),
    // A tiny stand-in for the session's variables table: ref 1 is the globals scope.
    resolveVariable: (ref, name) => (ref === 1 ? name : undefined),
    supportsInvalidatedEvent: true,
    supportsMemoryEvent: true,
    maxLinesPerSecond: 1000,
  });
  cleanups.push(() => {
    wp.dispose();
    program.close();
  });
  return { fx, program, wp, events };
}

const outputs = (events: DebugProtocol.Event[]) => events.filter((e) => e.event === 'output').map((e) => (e as DebugProtocol.OutputEvent).body.output);

describe('DataBreakpoints', () => {
  it('advertises data breakpoints with bytes', () => {
    expect(DataBreakpoints.capabilities).toEqual({ supportsDataBreakpoints: true, supportsDataBreakpointBytes: true });
  });

  it('dataBreakpointInfo for a variable, an expression, an address; clear refusals', async () => {
    const { program, wp } = await setup(['1']);
    const v = wp.dataBreakpointInfo({ variablesReference: 1, name: 'g_shared' });
    expect(v.dataId).toMatch(/^pidscope:0x[0-9a-f]+:8:g_shared$/);
    expect(v.accessTypes).toEqual(['write', 'readWrite']);
    expect(v.description).toMatch(
      hasHardwareWatchpoints
        ? /g_shared \(8 bytes at 0x[0-9a-f]+\): a hardware watchpoint/
        : /g_shared \(8 bytes at 0x[0-9a-f]+\): polling \((hardware breakpoints do not fire|hardware watchpoint refused)/,
    );
    const e = wp.dataBreakpointInfo({ name: 'g_slots[3]' });
    expect(decodeDataId(e.dataId!)).toMatchObject({ address: program.address(program.evaluate('g_slots[3]')), size: 8, expression: 'g_slots[3]' });
    const slots = decodeDataId(wp.dataBreakpointInfo({ name: 'g_slots' }).dataId!)!;
    expect(slots.size).toBe(128);
    const raw = wp.dataBreakpointInfo({ name: `0x${slots.address.toString(16)}`, asAddress: true, bytes: 4 });
    expect(decodeDataId(raw.dataId!)).toMatchObject({ address: slots.address, size: 4 });
    const bad = wp.dataBreakpointInfo({ name: 'g_shared + 1' });
    expect(bad.dataId).toBeNull();
    expect(bad.description).toMatch(/has no address/);
    expect(wp.dataBreakpointInfo({ variablesReference: 99, name: 'x' }).dataId).toBeNull();
  });

  itPerf('where breakpoints never fire (PIDSCOPE_HWBP=nofire): the data breakpoint polls, is verified, and says why (console + message)', async () => {
    const { fx, wp, events } = await setup(['2', '--interval-ms', '10']);
    const before = process.env.PIDSCOPE_HWBP;
    process.env.PIDSCOPE_HWBP = 'nofire';
    let r;
    try {
      const info = wp.dataBreakpointInfo({ name: 'g_slots[0]' });
      expect(info.description).toMatch(/polling \(hardware breakpoints do not fire on this host/);
      r = wp.setDataBreakpoints({ breakpoints: [{ dataId: info.dataId!, accessType: 'write' }] });
    } finally {
      // Restored, not deleted: the whole run may be under PIDSCOPE_HWBP=nofire.
      if (before === undefined) delete process.env.PIDSCOPE_HWBP;
      else process.env.PIDSCOPE_HWBP = before;
    }
    const bp = r.breakpoints[0]!;
    expect(bp.verified).toBe(true);
    expect(bp.message).toMatch(/^0 changes · polling \(hardware breakpoints do not fire on this host/);
    const notice = outputs(events).find((o) => o.startsWith('pidscope watch: g_slots[0]: polling'));
    expect(notice).toMatch(/because hardware breakpoints do not fire on this host .*\(changes only, no writer\)\n$/);
    expect(
      (events.find((e) => e.event === 'output' && (e as DebugProtocol.OutputEvent).body.output === notice) as DebugProtocol.OutputEvent).body.category,
    ).toBe('important');
    await until('polled changes', () => outputs(events).filter((o) => /^g_slots\[0\]: \d+ → \d+\n$/.test(o)).length >= 3);
    await until('a changed event with the count', () =>
      events.some(
        (e) => e.event === 'breakpoint' && /^[1-9][\d,]* changes · polling \(/.test((e as DebugProtocol.BreakpointEvent).body.breakpoint.message ?? ''),
      ),
    );
    expect(events.some((e) => e.event === 'stopped')).toBe(false);
    expect(tracerPid(fx.pid)).toBe(0);
  });

  itHw('setDataBreakpoints: hits become output + invalidated + breakpoint changed events with counts, never stopped', async () => {
    const { fx, wp, events } = await setup(['2', '--interval-ms', '10']);
    const monitor = monitorNeverStopped(fx.pid);
    const shared = wp.dataBreakpointInfo({ name: 'g_shared' }).dataId!;
    const slot0 = wp.dataBreakpointInfo({ name: 'g_slots[0]' }).dataId!;
    const r = wp.setDataBreakpoints({
      breakpoints: [
        { dataId: shared, accessType: 'write' },
        { dataId: slot0, condition: 'value % 2 == 0' },
      ],
    });
    expect(r.breakpoints).toHaveLength(2);
    expect(r.breakpoints.every((b) => b.verified)).toBe(true);
    expect(r.breakpoints[0]!.message).toMatch(/0 writes · hardware/);
    await until('slot hits', () => outputs(events).filter((o) => o.startsWith('g_slots[0]')).length >= 3);
    await until('a changed event', () => events.some((e) => e.event === 'breakpoint'));
    const line = markerLine('threads.c', 'WRITE_SHARED');
    expect(outputs(events).find((o) => o.startsWith('g_shared'))).toMatch(
      new RegExp(`^g_shared: .* → .* by worker_loop \\(threads\\.c:${line}\\) \\[tid \\d+ worker-\\d\\]\\n$`),
    );
    for (const o of outputs(events).filter((x) => x.startsWith('g_slots[0]'))) expect(Number(/→ (\d+)/.exec(o)![1]) % 2).toBe(0);
    expect(events.some((e) => e.event === 'invalidated')).toBe(true);
    const mem = events.find((e) => e.event === 'memory') as DebugProtocol.MemoryEvent | undefined;
    expect(mem?.body).toMatchObject({ offset: 0, count: 8 });
    const changed = events.filter((e) => e.event === 'breakpoint').map((e) => (e as DebugProtocol.BreakpointEvent).body);
    expect(changed[0]!.reason).toBe('changed');
    expect(changed.some((b) => /^\d[\d,]* writes · hardware · last: /.test(b.breakpoint.message ?? ''))).toBe(true);
    expect(events.some((e) => e.event === 'stopped')).toBe(false);

    // Re-sending the same list keeps ids (and counts); an empty list removes everything.
    const again = wp.setDataBreakpoints({ breakpoints: [{ dataId: shared, accessType: 'write' }] });
    expect(again.breakpoints[0]!.id).toBe(r.breakpoints[0]!.id);
    expect(again.breakpoints[0]!.message).not.toMatch(/^0 writes/);
    // The recent-writes scope lists hits newest first.
    const recent = wp.recentVariables();
    expect(recent.length).toBeGreaterThan(0);
    expect(recent[0]!.name).toMatch(/^#\d+ g_(shared|slots\[0\])$/);
    expect(wp.scope(77)).toMatchObject({ name: 'Recent writes', variablesReference: 77 });
    wp.setDataBreakpoints({ breakpoints: [] });
    expect((await monitor.stop()).violations).toEqual([]);
    expect(tracerPid(fx.pid)).toBe(0);
  });

  it('refusals are unverified breakpoints with the reason; read-only access is explained', async () => {
    const { wp } = await setup(['1']);
    const slots = wp.dataBreakpointInfo({ name: 'g_slots' }).dataId!;
    const shared = wp.dataBreakpointInfo({ name: 'g_shared' }).dataId!;
    const r = wp.setDataBreakpoints({
      breakpoints: [{ dataId: 'nonsense' }, { dataId: shared, accessType: 'read' }, { dataId: slots }, { dataId: shared, hitCondition: 'sometimes' }],
    });
    expect(r.breakpoints.map((b) => b.verified)).toEqual([false, false, true, false]);
    expect(r.breakpoints[0]!.message).toMatch(/unknown dataId/);
    expect(r.breakpoints[1]!.message).toMatch(/cannot watch reads alone/);
    expect(r.breakpoints[2]!.message).toMatch(/polling \(.*needs 16 debug registers/);
    expect(r.breakpoints[3]!.message).toMatch(/invalid hit condition/);
  });
});
