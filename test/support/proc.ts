/**
 * Observing a target from /proc without touching it: tracer, run state, memory via
 * /proc/PID/mem, and the proof that it never stopped (principle 1).
 *
 *   const guard = monitorNeverStopped(fx.pid);   // starts sampling
 *   await runPidscopeThings();                   // must be async (spawn, not execFileSync)
 *   const report = await guard.stop();           // throws if the target was ever stopped
 *
 * or simply `await assertNeverStopped(pid, 2000)` while something else runs concurrently.
 * Never run gdb on the same pid while monitoring: gdb stops it (that is what this detects).
 */
import { closeSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import { symbolAddress } from './symbols';

function readStatus(pid: number | string): string {
  return readFileSync(`/proc/${pid}/status`, 'utf8');
}

/** `TracerPid` from /proc/PID/status (0 = nobody ptrace-attached). */
export function tracerPid(pid: number): number {
  const m = /^TracerPid:\s*(\d+)/m.exec(readStatus(pid));
  if (!m) throw new Error(`no TracerPid in /proc/${pid}/status`);
  return Number(m[1]);
}

/** State letter from /proc/PID/status: R, S, D, T (stopped), t (tracing stop), Z, X, I. */
export function procState(pid: number): string {
  const m = /^State:\s*(\S)/m.exec(readStatus(pid));
  if (!m) throw new Error(`no State in /proc/${pid}/status`);
  return m[1];
}

/** Thread ids of a process. */
export function threadIds(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).map(Number);
}

/** State letter of every thread, from /proc/PID/task/TID/stat (the field after `(comm)`). */
export function threadStates(pid: number): Map<number, string> {
  const states = new Map<number, string>();
  for (const tid of threadIds(pid)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      states.set(tid, stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3));
    } catch {
      /* thread exited between readdir and read */
    }
  }
  return states;
}

/** Thread names (comm) by tid. */
export function threadNames(pid: number): Map<number, string> {
  const names = new Map<number, string>();
  for (const tid of threadIds(pid)) {
    try {
      names.set(tid, readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim());
    } catch {
      /* thread exited */
    }
  }
  return names;
}

/**
 * Reads target memory through /proc/PID/mem with plain fs calls (no pidscope code involved).
 * Returns fewer bytes than asked when the range runs into unreadable memory; throws if not even
 * the first byte is readable.
 */
export function readProcMem(pid: number, address: bigint, length: number): Buffer {
  const fd = openSync(`/proc/${pid}/mem`, 'r');
  try {
    const buf = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      let n: number;
      try {
        n = readSync(fd, buf, done, length - done, address + BigInt(done));
      } catch (e) {
        if (done === 0) throw new Error(`cannot read /proc/${pid}/mem at 0x${address.toString(16)}: ${(e as Error).message}`);
        break;
      }
      if (n === 0) break;
      done += n;
    }
    return buf.subarray(0, done);
  } finally {
    closeSync(fd);
  }
}

/** Reads a little-endian unsigned 64-bit value from /proc/PID/mem. */
export function readU64(pid: number, address: bigint): bigint {
  const b = readProcMem(pid, address, 8);
  if (b.length !== 8) throw new Error(`short read of 8 bytes at 0x${address.toString(16)}`);
  return b.readBigUInt64LE(0);
}

export interface NeverStoppedOptions {
  /** Sampling period (default 5 ms). */
  intervalMs?: number;
  /** Longest allowed time without g_progress advancing (default 1000 ms). */
  maxStallMs?: number;
  /** Symbol of the progress counter (default 'g_progress'); null to skip the progress check. */
  progressSymbol?: string | null;
  /** Where to find that symbol (default: /proc/PID/exe, or its .debug file). */
  binary?: string;
}

export interface NeverStoppedReport {
  samples: number;
  durationMs: number;
  progressStart?: bigint;
  progressEnd?: bigint;
  /** Longest observed time without progress, in ms. */
  longestStallMs: number;
  /** Empty when the target was never stopped. */
  violations: string[];
}

export interface NeverStoppedMonitor {
  /** Stops sampling; resolves with the report, or rejects listing every violation seen. */
  stop(): Promise<NeverStoppedReport>;
  /** Stops sampling and returns the report without throwing. */
  stopAndReport(): Promise<NeverStoppedReport>;
}

/**
 * Samples, until stop(): TracerPid (must stay 0), the state of the process and every thread
 * (never T or t), and g_progress read from /proc/PID/mem (must advance, never stall longer than
 * maxStallMs). A target that exits while monitored ends the sampling without a violation.
 */
export function monitorNeverStopped(pid: number, options: NeverStoppedOptions = {}): NeverStoppedMonitor {
  const intervalMs = options.intervalMs ?? 5;
  const maxStallMs = options.maxStallMs ?? 1000;
  const progressSymbol = options.progressSymbol === undefined ? 'g_progress' : options.progressSymbol;
  const progressAddr = progressSymbol ? symbolAddress(pid, progressSymbol, options.binary) : undefined;
  // Violations grouped by kind, so a target stopped for 500 ms gives one line, not hundreds.
  const seen = new Map<string, { first: number; last: number; count: number }>();
  const extra: string[] = [];
  const started = Date.now();
  const violation = (kind: string, at: number): void => {
    const v = seen.get(kind);
    if (v) {
      v.last = at - started;
      v.count++;
    } else seen.set(kind, { first: at - started, last: at - started, count: 1 });
  };
  let samples = 0;
  let progressStart: bigint | undefined;
  let progressEnd: bigint | undefined;
  let lastAdvance = started;
  let longestStallMs = 0;
  let gone = false;

  const sample = (): void => {
    if (gone) return;
    const now = Date.now();
    try {
      const tracer = tracerPid(pid);
      if (tracer !== 0) violation(`TracerPid ${tracer}`, now);
      const state = procState(pid);
      if (state === 'Z' || state === 'X') {
        gone = true;
        return;
      }
      if (state === 'T' || state === 't') violation(`process state ${state}`, now);
      for (const [tid, s] of threadStates(pid)) {
        if (s === 'T' || s === 't') violation(`thread ${tid} state ${s}`, now);
      }
      if (progressAddr !== undefined) {
        const value = readU64(pid, progressAddr);
        if (progressStart === undefined) progressStart = value;
        if (progressEnd === undefined || value !== progressEnd) lastAdvance = now;
        progressEnd = value;
      }
      samples++;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' || /ENOENT|ESRCH/.test(String(e))) {
        gone = true;
        return;
      }
      violation(`sampling failed: ${(e as Error).message}`, now);
    }
    longestStallMs = Math.max(longestStallMs, now - lastAdvance);
  };

  sample();
  const timer = setInterval(sample, intervalMs);
  let report: NeverStoppedReport | undefined;
  const finish = async (): Promise<NeverStoppedReport> => {
    if (report) return report;
    clearInterval(timer);
    // One last sample after a short wait, so a stop right at the end is not missed and slow
    // starts (the very first ms) get at least one progress interval.
    await new Promise((r) => setTimeout(r, Math.min(50, maxStallMs)));
    sample();
    const durationMs = Date.now() - started;
    if (!gone && progressAddr !== undefined && progressStart !== undefined && progressEnd === progressStart && durationMs >= maxStallMs) {
      extra.push(`g_progress never advanced in ${durationMs} ms (stayed ${progressStart})`);
    }
    if (!gone && progressAddr !== undefined && longestStallMs > maxStallMs) {
      extra.push(`g_progress stalled for ${longestStallMs} ms (limit ${maxStallMs} ms)`);
    }
    const violations = [...seen].map(([kind, v]) => `${kind} (${v.count}× between +${v.first} and +${v.last} ms)`);
    violations.push(...extra);
    report = { samples, durationMs, progressStart, progressEnd, longestStallMs, violations };
    return report;
  };
  return {
    stopAndReport: finish,
    async stop() {
      const r = await finish();
      if (r.violations.length > 0) {
        throw new Error(`target ${pid} was stopped or stalled while monitored:\n  ${r.violations.join('\n  ')}`);
      }
      return r;
    },
  };
}

/** Samples for `durationMs` (see monitorNeverStopped) and throws if the target was ever stopped. */
export async function assertNeverStopped(pid: number, durationMs: number, options: NeverStoppedOptions = {}): Promise<NeverStoppedReport> {
  const monitor = monitorNeverStopped(pid, options);
  await new Promise((r) => setTimeout(r, durationMs));
  return monitor.stop();
}
