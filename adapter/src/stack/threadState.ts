/**
 * What /proc says about one thread without stopping it: its system call with sp and pc when it
 * is blocked in one (/proc/PID/task/TID/syscall), and its context-switch counters (a thread
 * whose counters did not move between two reads did not run in between).
 */
import { readdirSync, readFileSync } from 'node:fs';

export type SyscallState =
  | { kind: 'running' }
  /** Blocked in system call `nr`; args are rdi, rsi, rdx, r10, r8, r9 at the syscall. */
  | { kind: 'syscall'; nr: number; args: bigint[]; sp: bigint; pc: bigint }
  /** Blocked outside a system call (page fault, kernel thread): sp/pc given, no args. */
  | { kind: 'blocked'; sp: bigint; pc: bigint }
  | { kind: 'gone' };

export function readSyscall(pid: number, tid: number): SyscallState {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/task/${tid}/syscall`, 'utf8');
  } catch {
    return { kind: 'gone' };
  }
  return parseSyscall(text);
}

/** The text of /proc/PID/task/TID/syscall: `running`, `-1 SP PC`, or `NR ARG1..ARG6 SP PC` (hex). */
export function parseSyscall(raw: string): SyscallState {
  const text = raw.trim();
  if (text === 'running' || text === '') return { kind: 'running' };
  const f = text.split(/\s+/);
  if (f[0] === '-1' && f.length >= 3) return { kind: 'blocked', sp: BigInt(f[1]), pc: BigInt(f[2]) };
  if (f.length >= 9) return { kind: 'syscall', nr: Number(f[0]), args: f.slice(1, 7).map((x) => BigInt(x)), sp: BigInt(f[7]), pc: BigInt(f[8]) };
  return { kind: 'running' };
}

/** voluntary + nonvoluntary context switches (undefined when the thread is gone). */
export function contextSwitches(pid: number, tid: number): number | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
    const v = /voluntary_ctxt_switches:\s*(\d+)/.exec(s);
    const n = /nonvoluntary_ctxt_switches:\s*(\d+)/.exec(s);
    return Number(v?.[1] ?? 0) + Number(n?.[1] ?? 0);
  } catch {
    return undefined;
  }
}

export function threadName(pid: number, tid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').replace(/\n$/, '');
  } catch {
    return undefined;
  }
}

export function threadIds(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`)
    .map(Number)
    .filter((t) => Number.isInteger(t))
    .sort((a, b) => a - b);
}

/**
 * How long ago (ms) the thread last ran on a CPU, from /proc/PID/task/TID/sched's se.exec_start
 * compared with our own (kernels with CONFIG_SCHED_DEBUG); undefined when not available.
 */
export function msSinceRan(pid: number, tid: number): number | undefined {
  const start = (path: string) => {
    try {
      const m = /se\.exec_start\s*:\s*([\d.]+)/.exec(readFileSync(path, 'utf8'));
      return m ? Number(m[1]) : undefined;
    } catch {
      return undefined;
    }
  };
  const now = start('/proc/thread-self/sched');
  const then = start(`/proc/${pid}/task/${tid}/sched`);
  return now === undefined || then === undefined ? undefined : Math.max(0, now - then);
}
