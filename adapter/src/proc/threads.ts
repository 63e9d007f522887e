/** Threads of a process from /proc/PID/task: tid, name (comm) and scheduler state. */
import { readdirSync, readFileSync } from 'node:fs';
import { readStat } from './processes';

export interface ThreadInfo {
  tid: number;
  name: string;
  /** One-letter state from stat: R running, S sleeping, D disk sleep, T stopped, t tracing stop, Z zombie, I idle… */
  state: string;
}

const STATE_NAMES: Record<string, string> = {
  R: 'running',
  S: 'sleeping',
  D: 'disk sleep',
  T: 'stopped',
  t: 'tracing stop',
  X: 'dead',
  Z: 'zombie',
  P: 'parked',
  I: 'idle',
  W: 'waking',
  K: 'wakekill',
};

export function stateName(state: string): string {
  return STATE_NAMES[state] ?? state;
}

/** Threads in tid order; threads that exit while we list are skipped. Throws ENOENT if the process is gone. */
export function readThreads(pid: number): ThreadInfo[] {
  const out: ThreadInfo[] = [];
  for (const name of readdirSync(`/proc/${pid}/task`)) {
    const tid = Number(name);
    if (!Number.isInteger(tid)) continue;
    try {
      const st = readStat(pid, tid);
      out.push({ tid, name: st.comm, state: st.state });
    } catch {
      /* the thread exited between readdir and read */
    }
  }
  return out.sort((a, b) => a.tid - b.tid);
}

/** /proc/PID/task/TID/comm (the thread's name), or undefined once the thread is gone. */
export function threadName(pid: number, tid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}
