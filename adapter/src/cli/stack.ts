/**
 * `pidscope stack --pid N [--tid T…] [--full] [--json]`: every thread's call stack as gdb's
 * `thread apply all bt` (`bt full` with --full) prints it, without stopping the process.
 */
import { parseArgs } from 'node:util';
import { PidscopeError } from '../errors';
import type { CliCommand } from '../main';
import { openProgram, parsePid, withUsage } from './options';
import { formatThread } from '../stack/format';
import { takeStacks, type ThreadStack } from '../stack/stacks';
import { formatTop } from '../value/format';
import type { TargetObject } from '../value/object';

const usage = `Usage: pidscope stack --pid N [--tid T]... [--full] [--json] [--depth D]

Prints the call stack of every thread of process N (or only of the threads given with --tid) as
gdb's \`thread apply all bt\` does, and with --full the locals of every frame (\`bt full\`),
without stopping the process: threads on a CPU are sampled through perf (registers and a copy
of the stack taken at one instant), threads blocked in a system call are read from
/proc/N/task/T/syscall and their (unchanging) stack. A thread that ran while it was read is read
again, and marked when it keeps moving.

  --pid N          the process
  --tid T          only this thread (repeatable)
  --full           locals of every frame (gdb's bt full)
  --json           structured output
  --depth D        at most D frames per thread (default 10000)
  --debug-dir DIR  also look for separate debug files here (repeatable)

Exit status: 0 when every thread was shown, 1 if some could not be (reason on stderr), 2 for usage.
`;

export function threadJson(t: ThreadStack, full: boolean): unknown {
  return {
    tid: t.tid,
    number: t.number,
    name: t.name,
    pthread: t.pthread !== undefined ? `0x${t.pthread.toString(16)}` : undefined,
    source: t.source,
    moved: t.moved ?? false,
    truncated: t.truncated,
    stopReason: t.stopReason,
    frames: t.frames.map((f) => ({
      level: f.level,
      pc: `0x${f.pc.toString(16)}`,
      function: f.function,
      file: f.file,
      line: f.line,
      module: f.module,
      inline: f.inline,
      signalTrampoline: f.signalTrampoline,
      how: f.how,
      args: f.args?.map((a) => ({ name: a.name, text: safeText(f, a.obj) })),
      locals: full ? f.locals?.map((a) => ({ name: a.name, text: safeText(f, a.obj) })) : undefined,
    })),
  };
}

function safeText(f: ThreadStack['frames'][number], obj: TargetObject): string {
  try {
    return formatTop(f.ctx, obj, { noPointerPrefix: true });
  } catch (e) {
    return `<error: ${(e as { causeText?: string }).causeText ?? (e as Error).message}>`;
  }
}

/** The checked arguments, or the exit status 2 after a usage error. */
function parseStackArgs(argv: string[]) {
  return withUsage({ name: 'stack', usage }, () => {
    const { values } = parseArgs({
      args: argv,
      allowPositionals: false,
      strict: true,
      options: {
        pid: { type: 'string', short: 'p' },
        tid: { type: 'string', multiple: true },
        full: { type: 'boolean' },
        json: { type: 'boolean' },
        depth: { type: 'string' },
        'debug-dir': { type: 'string', multiple: true },
      },
    });
    const pid = parsePid(values.pid);
    const tids = values.tid?.map((t) => {
      const n = Number(t);
      if (!Number.isInteger(n) || n <= 0) throw new PidscopeError('USAGE', `bad thread id '${t}'`, 'Give a positive integer (ls /proc/PID/task)', 'user');
      return n;
    });
    let depth: number | undefined;
    if (values.depth !== undefined) {
      depth = Number(values.depth);
      if (!Number.isInteger(depth) || depth <= 0) throw new PidscopeError('USAGE', `bad depth '${values.depth}'`, 'Give a positive integer', 'user');
    }
    return { values, pid, tids, depth };
  });
}

async function run(argv: string[]): Promise<number> {
  const args = parseStackArgs(argv);
  if (typeof args === 'number') return args;
  const { values, pid, tids, depth } = args;
  const full = values.full === true;
  const program = await openProgram(pid, 'auto', { debugDirs: values['debug-dir'] });
  try {
    const texts = new Map<number, string[]>();
    const res = takeStacks(program, {
      tids,
      maxDepth: depth,
      // Text is made while the thread's snapshot is verified: values are read in that window.
      onThread: (t) => texts.set(t.tid, formatThread(t, full)),
    });
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ threads: res.threads.map((t) => threadJson(t, full)), failures: res.failures }, null, 2)}\n`);
    } else {
      for (const t of res.threads) {
        process.stdout.write(`\n${(texts.get(t.tid) ?? formatThread(t, full)).join('\n')}\n`);
        if (t.moved) process.stderr.write(`pidscope stack: thread ${t.tid} kept running while its stack was read (3 tries); frames may mix two moments\n`);
      }
    }
    for (const f of res.failures) process.stderr.write(`pidscope stack: ${f.reason}\n`);
    return res.failures.length ? 1 : 0;
  } finally {
    program.close();
  }
}

export const command: CliCommand = {
  name: 'stack',
  summary: "call stacks (and locals with --full) of every thread, as gdb's thread apply all bt",
  usage,
  run,
};
