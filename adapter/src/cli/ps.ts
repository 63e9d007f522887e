import { parseArgs } from 'node:util';
import { ancestry, listAttachable, type AttachableProcess } from '../proc/attachable';
import type { CliCommand } from '../main';

/**
 * What `pidscope ps` lists: attachable processes without our own chain (the ssh session, the
 * shell). pid 1 stays: in a container it is the program itself.
 */
export function attachable(): AttachableProcess[] {
  return listAttachable({ excludePids: ancestry(process.pid).filter((pid) => pid > 1) });
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
