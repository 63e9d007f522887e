/**
 * Facts about a process from /proc that need no memory access: name, state, flags, owner,
 * command line, executable. Reads by pid, so callers that care about identity re-check their
 * pidfd afterwards (see Target).
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** PF_KTHREAD from include/linux/sched.h: the task is a kernel thread (no user address space). */
const PF_KTHREAD = 0x00200000;

/** Where procfs is mounted; listProcesses takes another root so pickers can be tested on a made-up one. */
export const PROC = '/proc';

export interface ProcStat {
  pid: number;
  /** comm: at most 15 bytes of the executable name (or what prctl(PR_SET_NAME) set). */
  comm: string;
  /** One-letter state: R S D T t Z X I … */
  state: string;
  ppid: number;
  flags: number;
  /** starttime (field 22) as written: clock ticks after boot; with the pid it names one process. */
  startTime: string;
  /** startcode:endcode:startstack (fields 26–28): a new image (exec) moves them; "0:0:0" while
   *  the address space is being torn down or replaced (not conclusive). */
  image: string;
  /** exit_code (field 52, waitpid status) when the kernel shows it (a zombie, to its owner). */
  exitCode?: number;
}

/** Parses /proc/PID/stat or /proc/PID/task/TID/stat. comm may contain spaces and ')'. */
export function parseStat(text: string): ProcStat {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) throw new Error(`unexpected stat format: ${text.slice(0, 80)}`);
  const rest = text
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  // Fields after comm: state(3) ppid(4) pgrp session tty_nr tpgid flags(9)
  return {
    pid: Number(text.slice(0, open).trim()),
    comm: text.slice(open + 1, close),
    state: rest[0],
    ppid: Number(rest[1]),
    flags: Number(rest[6]),
    startTime: rest[19],
    image: `${rest[23]}:${rest[24]}:${rest[25]}`,
    ...(rest[49] !== undefined && /^\d+$/.test(rest[49].trim()) ? { exitCode: Number(rest[49].trim()) } : {}),
  };
}

/** readStat, or undefined when the process (or our view of it) is gone. */
export function tryReadStat(pid: number): ProcStat | undefined {
  try {
    return readStat(pid);
  } catch {
    return undefined;
  }
}

export function readStat(pid: number, tid?: number): ProcStat {
  const path = tid === undefined ? `${PROC}/${pid}/stat` : `${PROC}/${pid}/task/${tid}/stat`;
  return parseStat(readFileSync(path, 'latin1'));
}

export function isKernelThreadStat(s: ProcStat): boolean {
  return (s.flags & PF_KTHREAD) !== 0;
}

/** argv of the process ([] for kernel threads and zombies). */
export function readCmdline(pid: number, procRoot = PROC): string[] {
  const raw = readFileSync(`${procRoot}/${pid}/cmdline`);
  if (raw.length === 0) return [];
  const parts = raw.toString('utf8').split('\0');
  if (parts[parts.length - 1] === '') parts.pop();
  return parts;
}

/** Target of /proc/PID/exe, or undefined when we may not see it (other user) or there is none. */
export function readExe(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return undefined;
  }
}

/** readExe without the " (deleted)" the kernel appends, so rebuilding the binary on disk is not an exec. */
export function readExePath(pid: number): string | undefined {
  return readExe(pid)?.replace(/ \(deleted\)$/, '');
}

export function readUids(pid: number, procRoot = PROC): { real: number; effective: number } | undefined {
  try {
    const m = /^Uid:\s+(\d+)\s+(\d+)/m.exec(readFileSync(`${procRoot}/${pid}/status`, 'utf8'));
    return m ? { real: Number(m[1]), effective: Number(m[2]) } : undefined;
  } catch {
    return undefined;
  }
}

/** The process a thread id belongs to (Tgid of /proc/TID/status); undefined when it is gone. */
export function readTgid(tid: number): number | undefined {
  try {
    const m = /^Tgid:\s+(\d+)/m.exec(readFileSync(`/proc/${tid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** From /proc/PID/status: what a live view shows of a process we never stop. */
export interface ProcStatus {
  /** State line as written, e.g. "S (sleeping)". */
  state: string;
  /** The pid of a ptrace tracer; 0 when nothing traces it (pidscope never does). */
  tracerPid: number;
  threads: number;
}

/** State, TracerPid and thread count from /proc/PID/status; undefined once the process is gone. */
export function readStatus(pid: number): ProcStatus | undefined {
  try {
    const text = readFileSync(`${PROC}/${pid}/status`, 'utf8');
    return {
      tracerPid: Number(/^TracerPid:\s*(\d+)/m.exec(text)?.[1] ?? -1),
      state: /^State:\s*(.*)$/m.exec(text)?.[1]?.trim() ?? '?',
      threads: Number(/^Threads:\s*(\d+)/m.exec(text)?.[1] ?? 0),
    };
  } catch {
    return undefined;
  }
}

export interface ProcessSummary {
  pid: number;
  ppid: number;
  name: string;
  cmdline: string[];
  uid?: number;
  /** starttime (field 22 of stat): clock ticks after boot; bigger is newer. */
  startTicks: number;
}

/** User processes visible in /proc (kernel threads left out), by pid, for pickers such as the DAP attach list and attachable.ts. */
export function listProcesses(procRoot = PROC): ProcessSummary[] {
  let entries: string[];
  try {
    entries = readdirSync(procRoot);
  } catch {
    return [];
  }
  const out: ProcessSummary[] = [];
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    try {
      const st = parseStat(readFileSync(`${procRoot}/${pid}/stat`, 'latin1'));
      if (isKernelThreadStat(st)) continue;
      out.push({
        pid,
        ppid: st.ppid,
        name: st.comm,
        cmdline: readCmdline(pid, procRoot),
        uid: readUids(pid, procRoot)?.real,
        startTicks: Number(st.startTime),
      });
    } catch {
      /* exited while we looked */
    }
  }
  return out.sort((a, b) => a.pid - b.pid);
}
