/**
 * Runs a one-shot bulk scan with V8's TurboFan inlining and on-stack replacement turned off.
 *
 * Measured on a cold `pidscope eval` of CPython (17.6 MB of DWARF): the name scan's hot loop is
 * called once per unit, and TurboFan compiled it four times (OSR and regular, each time with the
 * DIE readers inlined, 50-130 ms per compile on a background thread) around deoptimizations;
 * those compiles cost ~150 ms of CPU for ~90 ms saved on the main thread. Without inlining and
 * OSR the scan still gets optimized between units, the main thread is no slower, and the
 * process uses ~100 ms less CPU. The flags are set back when the scan ends (they only steer
 * how code compiled meanwhile is optimized, never what it computes), and left alone when Node
 * was started with either of them; PIDSCOPE_LEAN_JIT=0 turns this off.
 */
import { setFlagsFromString } from 'node:v8';

let depth = 0;

function wanted(): boolean {
  if (/^(0|off|false|no)$/i.test(process.env.PIDSCOPE_LEAN_JIT?.trim() ?? '')) return false;
  // Someone chose these flags: do not override them (or restore them to the wrong value).
  const given = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].join(' ');
  return !/turbo-inlining|use-osr/.test(given);
}

export function withLeanJit<T>(f: () => T): T {
  if (depth > 0 || !wanted()) {
    depth++;
    try {
      return f();
    } finally {
      depth--;
    }
  }
  depth++;
  setFlagsFromString('--no-turbo-inlining');
  setFlagsFromString('--no-use-osr');
  try {
    return f();
  } finally {
    depth--;
    setFlagsFromString('--turbo-inlining');
    setFlagsFromString('--use-osr');
  }
}
