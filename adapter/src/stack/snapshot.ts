/**
 * Register and stack snapshots of threads that keep running (no ptrace, no signal):
 *
 *   - a thread on a CPU: a perf task-clock sampling event on that thread; each sample carries all
 *     general registers and a copy of the top of the user stack taken at the same instant;
 *   - a thread blocked in a system call: /proc/PID/task/TID/syscall gives its sp and pc (and the
 *     six argument registers), and its stack does not change while it stays blocked; a
 *     context-switch sample (root or perf_event_paranoid <= 1) taken when it blocked again gives
 *     all registers, used when its sp and pc still match.
 *
 * Every snapshot says where it came from; threads that could not be captured say why.
 */
import { closeFd, describePerfErrno, openSoftwareSampler, PerfRing, PerfSyscallError, type PerfSample } from '../linux/perf';
import { NUM_GPRS, PERF_GPR_MASK, PERF_TO_DWARF, R10, R8, R9, RDI, RDX, RIP, RSI, RSP, type RegSet } from './regs';
import { contextSwitches, msSinceRan, readSyscall, type SyscallState } from './threadState';

export type SnapshotSource = 'perf-sample' | 'switch-sample' | 'proc-syscall';

export interface ThreadSnapshot {
  tid: number;
  source: SnapshotSource;
  regs: RegSet;
  /** Copy of the user stack from regs[RSP] (perf samples only). */
  stack?: Buffer;
  /** The system call the thread is blocked in, when it is. */
  syscall?: number;
  /** Context-switch count when the snapshot was taken (proc-syscall snapshots). */
  switches?: number;
  syscallState: SyscallState;
  /** When the snapshot was taken (Date.now()). */
  takenAt: number;
}

export interface SnapshotFailure {
  tid: number;
  reason: string;
}

export interface SnapshotOptions {
  /** How long to wait for perf samples of running threads (ms). */
  waitMs?: number;
  /** Bytes of stack copied with each perf sample. */
  stackBytes?: number;
}

const STACK_BYTES = 57344;

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function regsFromSample(s: PerfSample): RegSet {
  const regs: RegSet = new Array(NUM_GPRS).fill(undefined);
  s.regs?.forEach((v, i) => {
    const d = PERF_TO_DWARF[i];
    if (d !== undefined && v !== undefined) regs[d] = v;
  });
  return regs;
}

function regsFromSyscall(st: Extract<SyscallState, { kind: 'syscall' | 'blocked' }>): RegSet {
  const regs: RegSet = new Array(NUM_GPRS).fill(undefined);
  regs[RSP] = st.sp;
  regs[RIP] = st.pc;
  if (st.kind === 'syscall') {
    // The argument registers as the thread entered the kernel (rcx and r11 are clobbered by
    // `syscall`, rax holds the number and later the result: none of them is known).
    [RDI, RSI, RDX, R10, R8, R9].forEach((r, i) => (regs[r] = st.args[i]));
  }
  return regs;
}

interface Pending {
  tid: number;
  fd: number;
  ring: PerfRing;
  kind: 'task-clock' | 'context-switches';
  sample?: PerfSample;
}

/** Snapshots of `tids`; every tid ends up in exactly one of the two lists. */
export function snapshotThreads(
  pid: number,
  tids: number[],
  opts: SnapshotOptions = {},
): { snapshots: ThreadSnapshot[]; failures: SnapshotFailure[]; perfError?: string } {
  const snapshots: ThreadSnapshot[] = [];
  const failures: SnapshotFailure[] = [];
  const stackBytes = opts.stackBytes ?? STACK_BYTES;
  const states = new Map<number, SyscallState>();
  for (const tid of tids) states.set(tid, readSyscall(pid, tid));
  const pending: Pending[] = [];
  let perfError: string | undefined;
  let switchAllowed = true;
  for (const tid of tids) {
    const st = states.get(tid)!;
    if (st.kind === 'gone') continue;
    const kinds: Array<'task-clock' | 'context-switches'> =
      st.kind === 'running' ? ['task-clock', 'context-switches'] : switchAllowed ? ['context-switches'] : [];
    for (const kind of kinds) {
      try {
        const fd = openSoftwareSampler({
          tid,
          event: kind,
          period: kind === 'task-clock' ? 100_000n : 1n,
          regsMask: PERF_GPR_MASK,
          stackBytes,
          includeKernel: kind === 'context-switches',
        });
        try {
          pending.push({ tid, fd, kind, ring: new PerfRing(fd, { dataPages: 32, sampleRegs: PERF_GPR_MASK, sampleStack: true }) });
        } catch (e) {
          closeFd(fd);
          throw e;
        }
      } catch (e) {
        const errno = e instanceof PerfSyscallError ? e.errno : undefined;
        if (kind === 'context-switches') {
          switchAllowed = false; // needs kernel counting: not permitted for us, try no more
          continue;
        }
        if (errno === 3) continue; // ESRCH: the thread exited; reported below
        perfError = errno !== undefined ? describePerfErrno(errno) : (e as Error).message;
      }
    }
  }
  try {
    // Running threads sample within ~0.1 ms of CPU time; blocked ones only if they switch again.
    const deadline = Date.now() + (opts.waitMs ?? 1000);
    // A blocked thread that ran recently (a periodic timer, a poll with a timeout) will likely
    // block again soon: its switch-out sample carries every register, worth a short wait.
    // One blocked for long gets 20 ms (it may wake by chance), then /proc's sp and pc do.
    const blockedDeadline = new Map<number, number>();
    for (const tid of tids) {
      const ago = switchAllowed ? msSinceRan(pid, tid) : undefined;
      blockedDeadline.set(tid, Date.now() + Math.min(opts.waitMs ?? 1000, ago !== undefined && ago < 2000 ? 250 : 20));
    }
    for (;;) {
      let waiting = false;
      for (const p of pending) {
        if (!p.sample) {
          p.ring.drain((r) => {
            if (r.kind === 'sample' && r.regs && !p.sample) p.sample = r;
          });
        }
      }
      for (const tid of tids) {
        const mine = pending.filter((p) => p.tid === tid);
        if (!mine.length || mine.some((p) => p.sample)) continue;
        const st = states.get(tid)!;
        if (st.kind === 'running' || Date.now() < (blockedDeadline.get(tid) ?? 0)) waiting = true;
      }
      if (!waiting || Date.now() >= deadline) break;
      sleepSync(1);
    }
  } finally {
    for (const p of pending) {
      p.ring.close();
      closeFd(p.fd);
    }
  }
  for (const tid of tids) {
    const samples = pending.filter((p) => p.tid === tid && p.sample).map((p) => ({ kind: p.kind, s: p.sample! }));
    // The newest sample wins (a thread may have run and blocked again).
    samples.sort((a, b) => (a.s.time < b.s.time ? 1 : -1));
    const st = readSyscall(pid, tid);
    const switches = contextSwitches(pid, tid);
    if (st.kind === 'gone' || switches === undefined) {
      failures.push({ tid, reason: `thread ${tid} exited while the snapshot was taken` });
      continue;
    }
    if (st.kind === 'syscall' || st.kind === 'blocked') {
      // Blocked now: a switch-out sample is exact when it was taken at this very sp and pc.
      const match = samples.find((x) => regsFromSample(x.s)[RSP] === st.sp && regsFromSample(x.s)[RIP] === st.pc);
      if (match) {
        snapshots.push({
          tid,
          source: match.kind === 'task-clock' ? 'perf-sample' : 'switch-sample',
          regs: regsFromSample(match.s),
          stack: match.s.stack,
          syscall: st.kind === 'syscall' ? st.nr : undefined,
          syscallState: st,
          switches,
          takenAt: Date.now(),
        });
      } else {
        snapshots.push({
          tid,
          source: 'proc-syscall',
          regs: regsFromSyscall(st),
          syscall: st.kind === 'syscall' ? st.nr : undefined,
          syscallState: st,
          switches,
          takenAt: Date.now(),
        });
      }
      continue;
    }
    if (samples.length) {
      const x = samples[0];
      snapshots.push({
        tid,
        source: x.kind === 'task-clock' ? 'perf-sample' : 'switch-sample',
        regs: regsFromSample(x.s),
        stack: x.s.stack,
        syscallState: st,
        takenAt: Date.now(),
      });
      continue;
    }
    failures.push({
      tid,
      reason: perfError
        ? `thread ${tid} is running and its registers can only be sampled through perf: ${perfError}`
        : `thread ${tid} is running but gave no perf sample within ${opts.waitMs ?? 1000} ms (it may be waiting for a CPU)`,
    });
  }
  return { snapshots, failures, perfError };
}
