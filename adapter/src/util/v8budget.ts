/**
 * V8 tiering for a short-lived process. V8 hands a function to its optimizing compiler (TurboFan:
 * a background thread, then finalization on the main thread) once it has spent its interrupt
 * budget (67,584 bytes of bytecode by default). A `pidscope dap` session that attaches and shows
 * 1,000 globals ends before most of those compilations pay for themselves: on bench:dap they were
 * ~40 ms of a ~170 ms process, and a long-running adapter re-optimizing per session paid too.
 * With 8× the budget the loops that run long (the DIE scan of a big program, a live view's
 * refresh) are still optimized, a little later.
 *
 * adapter/bin/pidscope.js sets the same flag before it compiles the CLI bundle (its V8 code cache
 * is checked against the flags); the extension's adapter bundle, run by node directly, calls this
 * first thing. PIDSCOPE_V8_BUDGET=N sets another budget (0: V8's default).
 */
export const DEFAULT_INTERRUPT_BUDGET = 8 * 67584;

export function raiseInterruptBudget(env: NodeJS.ProcessEnv = process.env): void {
  const v = env.PIDSCOPE_V8_BUDGET ?? '';
  const budget = /^\d{1,9}$/.test(v) ? Number(v) : DEFAULT_INTERRUPT_BUDGET;
  if (budget > 0) (require('node:v8') as typeof import('node:v8')).setFlagsFromString(`--interrupt-budget=${budget}`);
}
