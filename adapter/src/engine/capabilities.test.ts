import { afterEach, describe, expect, it } from 'vitest';
import { formatCapabilities, hardwareBreakpoints, hardwareWatchUnavailable, hostCapabilities } from './capabilities';

// Restored, not deleted: the whole run may be under one of these switches.
const saved = { PIDSCOPE_PERF: process.env.PIDSCOPE_PERF, PIDSCOPE_HWBP: process.env.PIDSCOPE_HWBP };
afterEach(() => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

describe('capability probes', () => {
  it('PIDSCOPE_PERF=deny: perf refused, breakpoints not probed, with the fix', () => {
    process.env.PIDSCOPE_PERF = 'deny';
    expect(hardwareBreakpoints()).toMatchObject({ ok: false, result: 'refused', simulated: 'PIDSCOPE_PERF=deny' });
    expect(hardwareWatchUnavailable()).toMatch(
      /^hardware watchpoint refused: perf_event_open was refused .*perf_event_paranoid.*CAP_PERFMON.*simulated by PIDSCOPE_PERF=deny/,
    );
    const caps = hostCapabilities();
    expect(caps.find((c) => c.name === 'perf')).toMatchObject({ ok: false, result: 'refused' });
    expect(caps.find((c) => c.name === 'hw-breakpoints')).toMatchObject({ ok: false, result: 'not probed' });
  });

  it('PIDSCOPE_HWBP=nofire: the breakpoint is armed for real, the probe says it never fired', () => {
    process.env.PIDSCOPE_HWBP = 'nofire';
    const p = hardwareBreakpoints();
    expect(p).toMatchObject({ ok: false, result: 'nofire', counted: 0, simulated: 'PIDSCOPE_HWBP=nofire' });
    expect(hardwareWatchUnavailable()).toMatch(/^hardware breakpoints do not fire on this host/);
    const caps = hostCapabilities();
    expect(caps.find((c) => c.name === 'perf')).toMatchObject({ ok: true, result: 'permitted' });
    expect(caps.find((c) => c.name === 'hw-breakpoints')).toMatchObject({ ok: false, result: 'nofire', fallback: expect.stringMatching(/poll/) });
  });

  it.skipIf(saved.PIDSCOPE_PERF || saved.PIDSCOPE_HWBP)(
    'without switches: the real probe, cached (the same object twice), and every capability has a line',
    () => {
      const p = hardwareBreakpoints();
      expect(hardwareBreakpoints()).toBe(p);
      // Either it fired (count > 0) or it says why not; never "ok" with nothing counted.
      if (p.ok) expect(p.counted).toBeGreaterThan(0);
      else expect(p.reason).toBeTruthy();
      const caps = hostCapabilities(process.pid);
      expect(caps.map((c) => c.name)).toEqual(['proc', 'perf', 'hw-breakpoints', 'pidfd-mem']);
      expect(caps[0]).toMatchObject({ ok: true, result: 'readable' });
      const lines = formatCapabilities(caps);
      expect(lines).toHaveLength(4);
      for (const l of lines) expect(l).toMatch(/^ {2}\S.*: +(yes|no ) \(.+\) — \S/);
    },
  );

  it('/proc of a process that does not exist is reported, not thrown', () => {
    const caps = hostCapabilities(2 ** 22 + 1);
    expect(caps[0]).toMatchObject({ name: 'proc', ok: false, result: 'unreadable', detail: expect.stringMatching(/ENOENT/) });
  });
});
