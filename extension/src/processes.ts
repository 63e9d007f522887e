/**
 * The process list behind `${command:pickProcess}`. Plain reads of /proc (what `ps` reads);
 * no `vscode` import so the unit tests run it against the real /proc and a fake one.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { parseStat as parseProcStat } from '../../adapter/src/proc/processes';

export interface ProcessInfo {
  pid: number;
  ppid: number;
  /** /proc/PID/comm: the kernel's name for it (at most 15 bytes). */
  name: string;
  /** argv joined by spaces. */
  commandLine: string;
  uid: number;
  /** User name from /etc/passwd, else the uid as text. */
  user: string;
  /** Start time in clock ticks since boot (field 22 of /proc/PID/stat); bigger is newer. */
  startTicks: number;
}

export interface ListOptions {
  procRoot?: string;
  passwdPath?: string;
  /** Whose processes to list; default: our own uid. Root (uid 0) sees every user's. */
  uid?: number;
  /** Leave out these pids (e.g. the editor's own processes). Our own pid is always left out. */
  excludePids?: Iterable<number>;
}

function tryRead(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** uid → user name, from a passwd file. */
export function readUserNames(passwdPath = '/etc/passwd'): Map<number, string> {
  const names = new Map<number, string>();
  for (const line of (tryRead(passwdPath) ?? '').split('\n')) {
    const f = line.split(':');
    if (f.length >= 3 && /^\d+$/.test(f[2]) && !names.has(Number(f[2]))) names.set(Number(f[2]), f[0]);
  }
  return names;
}

/** ppid and start time from /proc/PID/stat (parsed by the adapter's /proc module, bundled here). */
export function parseStat(stat: string): { ppid: number; startTicks: number } | undefined {
  let st;
  try {
    st = parseProcStat(stat);
  } catch {
    return undefined;
  }
  const startTicks = Number(st.startTime);
  if (!Number.isFinite(st.ppid) || st.startTime === undefined || !Number.isFinite(startTicks)) return undefined;
  return { ppid: st.ppid, startTicks };
}

function realUid(status: string): number | undefined {
  const m = /^Uid:\s+(\d+)/m.exec(status);
  return m ? Number(m[1]) : undefined;
}

/**
 * The processes a user can attach to: their own (everyone's for root), without kernel threads
 * and zombies (no command line), newest first — the program just started is usually the one.
 */
export function listProcesses(opts: ListOptions = {}): ProcessInfo[] {
  const procRoot = opts.procRoot ?? '/proc';
  const me = opts.uid ?? (typeof process.getuid === 'function' ? process.getuid() : 0);
  const exclude = new Set<number>(opts.excludePids ?? []);
  exclude.add(process.pid);
  const users = readUserNames(opts.passwdPath);
  let entries: string[];
  try {
    entries = readdirSync(procRoot);
  } catch {
    return [];
  }
  const out: ProcessInfo[] = [];
  for (const ent of entries) {
    if (!/^\d+$/.test(ent)) continue;
    const pid = Number(ent);
    if (exclude.has(pid)) continue;
    const dir = `${procRoot}/${ent}`;
    const status = tryRead(`${dir}/status`);
    if (status === undefined) continue; // exited while we looked
    const uid = realUid(status);
    if (uid === undefined || (me !== 0 && uid !== me)) continue;
    const rawCmd = tryRead(`${dir}/cmdline`) ?? '';
    if (rawCmd === '') continue; // kernel thread or zombie
    const stat = parseStat(tryRead(`${dir}/stat`) ?? '');
    const name = (tryRead(`${dir}/comm`) ?? '').replace(/\n$/, '');
    out.push({
      pid,
      ppid: stat?.ppid ?? 0,
      name,
      commandLine: rawCmd.replace(/\0+$/, '').split('\0').join(' '),
      uid,
      user: users.get(uid) ?? String(uid),
      startTicks: stat?.startTicks ?? 0,
    });
  }
  return out.sort((a, b) => b.startTicks - a.startTicks || b.pid - a.pid);
}

export interface PickItem {
  label: string;
  description: string;
  detail: string;
  pid: number;
}

/** What the quick pick shows: name, then pid and user, then the command line (all searchable). */
export function toPickItem(p: ProcessInfo): PickItem {
  const cmd = p.commandLine.length > 300 ? `${p.commandLine.slice(0, 300)}…` : p.commandLine;
  return { label: p.name || `pid ${p.pid}`, description: `pid ${p.pid} · ${p.user}`, detail: cmd, pid: p.pid };
}

/**
 * The pids of a process and its ancestors: the editor's own chain (code-server, the extension
 * host) is never the thing a user wants to attach to.
 */
export function ancestry(pid: number, procRoot = '/proc'): number[] {
  const chain: number[] = [];
  let cur = pid;
  for (let i = 0; i < 64 && cur > 0 && !chain.includes(cur); i++) {
    chain.push(cur);
    const st = parseStat(tryRead(`${procRoot}/${cur}/stat`) ?? '');
    if (!st) break;
    cur = st.ppid;
  }
  return chain;
}
