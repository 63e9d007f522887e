/**
 * `itHw` / `describeHw`: tests that need hardware watchpoints, skipped where the probe
 * (test/support/capabilities.ts, the program's own) says debug-register breakpoints do not fire.
 * The skip is announced once per run by the global setup, not once per test.
 */
import { describe, it } from 'vitest';
import { hasHardwareWatchpoints, hwProbe } from './capabilities';

export { hasHardwareWatchpoints, hwProbe } from './capabilities';

/** `it`, skipped when hardware watchpoints do not work on this host. */
export const itHw = it.skipIf(!hasHardwareWatchpoints);

/** `describe`, skipped when hardware watchpoints do not work on this host. */
export const describeHw = describe.skipIf(!hasHardwareWatchpoints);

/**
 * `it`, skipped where perf_event_open is refused: tests that fake a host whose breakpoints never
 * fire (PIDSCOPE_HWBP=nofire) need perf to accept the breakpoint first. Where perf is refused,
 * the PIDSCOPE_PERF=deny tests are the poll-mode equivalents that run.
 */
export const itPerf = it.skipIf(hwProbe.result === 'refused' || hwProbe.result === 'unsupported');
