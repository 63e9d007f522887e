import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { isKernelThreadStat, listProcesses, readStartTicks, readStat } from '../proc/processes';
import type { CliCommand } from '../main';

/** One row of `pidscope ps --json` (the fields of the extension's process picker). */
export interface PsEntry {
  pid: number;
  ppid: number;
  name: string;
  commandLine: string;
  uid: number;
  user: string;
  startTicks: number;
}

function userNames(): Map<number, string> {
  const names = new Map<number, string>();
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const f = line.split(':');
      if (f.length >= 3 && /^\d+$/.test(f[2]) && !names.has(Number(f[2]))) names.set(Number(f[2]), f[0]);
    }
  } catch {
    /* no passwd: uids as numbers */
  }
  return names;
}

/** Our pid and our ancestors (the ssh session, the shell): never what a user attaches to. */
function ownChain(): Set<number> {
  const chain = new Set<number>();
  let cur = process.pid;
  for (let i = 0; i < 64 && cur > 1 && !chain.has(cur); i++) {
    chain.add(cur);
    try {
      cur = readStat(cur).ppid;
    } catch {
      break;
    }
  }
  return chain;
}

/** The processes this user may attach to: their own (everyone's for root), newest first. */
export function attachable(): PsEntry[] {
  const me = process.getuid?.() ?? 0;
  const skip = ownChain();
  const users = userNames();
  const out: PsEntry[] = [];
  for (const p of listProcesses()) {
    if (skip.has(p.pid) || p.cmdline.length === 0 || p.uid === undefined || (me !== 0 && p.uid !== me)) continue;
    try {
      const st = readStat(p.pid);
      if (isKernelThreadStat(st)) continue;
      out.push({
        pid: p.pid,
        ppid: st.ppid,
        name: p.name,
        commandLine: p.cmdline.join(' '),
        uid: p.uid,
        user: users.get(p.uid) ?? String(p.uid),
        startTicks: readStartTicks(p.pid),
      });
    } catch {
      /* exited while we looked */
    }
  }
  return out.sort((a, b) => b.startTicks - a.startTicks || b.pid - a.pid);
}

export const command: CliCommand = {
  name: 'ps',
  summary: 'list the processes you can attach to (the remote process picker runs this)',
  usage: `Usage: pidscope ps [--json]

Lists the processes this user can attach to — their own, or every user's for root — newest
first, without kernel threads and zombies. The VS Code extension runs \`pidscope ps --json\`
through ssh / docker exec / kubectl exec to pick a process on the other side.

Options:
  --json    one JSON array of {pid, ppid, name, commandLine, uid, user, startTicks}
`,
  async run(argv: string[]): Promise<number> {
    const { values } = parseArgs({ args: argv, options: { json: { type: 'boolean' } }, strict: true, allowPositionals: false });
    const list = attachable();
    // `pidscope ps | head` closes the pipe early: that is not an error.
    process.stdout.on('error', () => undefined);
    if (values.json) {
      process.stdout.write(`${JSON.stringify(list)}\n`);
      return 0;
    }
    const rows = list.map((p) => `${String(p.pid).padStart(7)} ${p.user.slice(0, 12).padEnd(12)} ${p.commandLine.slice(0, 200)}\n`);
    process.stdout.write(`${'PID'.padStart(7)} ${'USER'.padEnd(12)} COMMAND\n${rows.join('')}`);
    return 0;
  },
};
