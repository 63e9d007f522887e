/**
 * The processes a user can attach to, newest first — the program just started is usually the
 * one. One list for every picker: `pidscope ps` (which the extension's remote picker runs over
 * ssh / docker exec / kubectl exec) and the extension's local `${command:pickProcess}` (esbuild
 * bundles this file; it reads files only). Tests point it at a made-up /proc and passwd.
 */
import { readFileSync } from 'node:fs';
import { listProcesses, parseStat, PROC } from './processes';

export interface AttachableProcess {
  pid: number;
  ppid: number;
  /** comm: the kernel's name for it (at most 15 bytes). */
  name: string;
  /** argv joined by spaces. */
  commandLine: string;
  uid: number;
  /** User name from /etc/passwd, else the uid as text. */
  user: string;
  /** Start time in clock ticks since boot (field 22 of /proc/PID/stat); bigger is newer. */
  startTicks: number;
}

export interface AttachableOptions {
  procRoot?: string;
  passwdPath?: string;
  /** Whose processes to list; default: our own uid. Root (uid 0) sees every user's. */
  uid?: number;
  /** Leave out these pids (e.g. our own ancestors). Our own pid is always left out. */
  excludePids?: Iterable<number>;
}

/** uid → user name, from a passwd file (none: uids are shown as numbers). */
export function readUserNames(passwdPath = '/etc/passwd'): Map<number, string> {
  const names = new Map<number, string>();
  let text = '';
  try {
    text = readFileSync(passwdPath, 'utf8');
  } catch {
    /* no passwd */
  }
  for (const line of text.split('\n')) {
    const fields = line.split(':');
    if (fields.length >= 3 && /^\d+$/.test(fields[2]) && !names.has(Number(fields[2]))) names.set(Number(fields[2]), fields[0]);
  }
  return names;
}

/** The user's own processes (everyone's for root), without kernel threads and zombies (no command line), newest first. */
export function listAttachable(opts: AttachableOptions = {}): AttachableProcess[] {
  const me = opts.uid ?? process.getuid?.() ?? 0;
  const exclude = new Set<number>(opts.excludePids ?? []);
  exclude.add(process.pid);
  const users = readUserNames(opts.passwdPath);
  const out: AttachableProcess[] = [];
  for (const p of listProcesses(opts.procRoot)) {
    if (exclude.has(p.pid) || p.cmdline.length === 0 || p.uid === undefined || (me !== 0 && p.uid !== me)) continue;
    out.push({
      pid: p.pid,
      ppid: p.ppid,
      name: p.name,
      commandLine: p.cmdline.join(' '),
      uid: p.uid,
      user: users.get(p.uid) ?? String(p.uid),
      startTicks: Number.isFinite(p.startTicks) ? p.startTicks : 0,
    });
  }
  return out.sort((a, b) => b.startTicks - a.startTicks || b.pid - a.pid);
}

/** A process and its ancestors up to init (pid 1 included): a picker's own chain is never what a user attaches to. */
export function ancestry(pid: number, procRoot = PROC): number[] {
  const chain: number[] = [];
  let cur = pid;
  for (let i = 0; i < 64 && cur > 0 && !chain.includes(cur); i++) {
    chain.push(cur);
    try {
      cur = parseStat(readFileSync(`${procRoot}/${cur}/stat`, 'latin1')).ppid;
    } catch {
      break;
    }
    if (!Number.isFinite(cur)) break;
  }
  return chain;
}
