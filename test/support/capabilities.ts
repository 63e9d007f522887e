/**
 * The probe behind the gating of tests that need hardware watchpoints (debug-register traps
 * through perf): the same probe pidscope itself uses (adapter/src/engine/capabilities.ts), so a
 * test never disagrees with the program about what this host can do.
 *
 *   import { itHw, describeHw } from '../support/hwGate';
 *   itHw('hw: names the writer', async () => { ... });
 *
 * On a host whose hypervisor delivers no debug-register traps (perf accepts the breakpoint, it
 * never counts), these tests skip and the global setup prints ONE loud line with the probe's
 * result; their poll-mode equivalents run everywhere. `PIDSCOPE_HWBP=nofire npx vitest …` shows
 * that path on a host that has the traps.
 */
import { hardwareBreakpoints } from '../../adapter/src/engine/capabilities';

export const hwProbe = hardwareBreakpoints();

/** True when hardware watchpoints work here (perf permitted and a breakpoint fired). */
export const hasHardwareWatchpoints = hwProbe.ok;

/** The one loud line: what the probe found and what is skipped because of it. */
export function hwSkipLine(): string | undefined {
  if (hwProbe.ok) return undefined;
  return `SKIPPING every hardware-watchpoint test: breakpoint probe result '${hwProbe.result}': ${hwProbe.reason ?? hwProbe.detail}; their poll-mode equivalents run`;
}

/** Prints the loud line once per test run (global setups of the unit and e2e projects). */
export function announceHwSkip(): void {
  const line = hwSkipLine();
  if (line && !process.env.PIDSCOPE_HW_SKIP_SHOWN) {
    process.env.PIDSCOPE_HW_SKIP_SHOWN = '1';
    process.stderr.write(`\n*** ${line} ***\n\n`);
  }
}
