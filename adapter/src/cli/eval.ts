/**
 * `pidscope eval --pid N EXPR…`: evaluates C expressions in a running process and prints each
 * value exactly as gdb's `print` would (without the `$1 = `), one per line. Never stops the target.
 */
import { parseArgs } from 'node:util';
import { describeError, isPidscopeError, PidscopeError } from '../errors';
import type { CliCommand } from '../main';
import { exitOnEpipe, openProgram, TARGET_OPTIONS, targetArgs, withUsage } from './options';

const usage = `Usage: pidscope eval --pid N EXPR... [--json] [--backend B] [--debug-dir DIR]

Evaluates each C expression EXPR in process N and prints its value as gdb's \`print\` does
(without the \`$1 = \` prefix), one line per expression, without stopping the process.

Expressions: globals and statics ('file.c'::name, function::name), literals, . -> [] * & - ! ~,
casts such as (struct node *)0x1234 or *(int (*)[8])&buf, arithmetic, comparisons, && || ?:,
sizeof, gdb's arr[0]@4 and {type} addr. No assignments or function calls.

  --pid N          the process
  --json           one JSON array: [{"expression","type","address","text","value"|"fields"|"elements","error"}]
  --backend B      auto (default), pidfd-mem, vm-readv or proc-mem
  --debug-dir DIR  also look for separate debug files here (repeatable)
  --format F, -f F gdb's print/F for every value: x o t d u z c s (or write one EXPR as '/x EXPR')

Exit status: 0 when every expression printed, 1 if any failed (message on stderr), 2 for usage.
`;

const FORMATS = ['x', 'o', 't', 'd', 'u', 'z', 'c', 's'];
type FormatLetter = 'x' | 'o' | 't' | 'd' | 'u' | 'z' | 'c' | 's';

async function run(argv: string[]): Promise<number> {
  const args = withUsage({ name: 'eval', usage }, () => {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        ...TARGET_OPTIONS,
        json: { type: 'boolean' },
        'debug-dir': { type: 'string', multiple: true },
        format: { type: 'string', short: 'f' },
      },
    });
    if (positionals.length === 0) throw new PidscopeError('USAGE', 'no expression given', 'Usage: pidscope eval --pid N EXPR...', 'user');
    const target = targetArgs(values);
    if (values.format !== undefined && !FORMATS.includes(values.format)) {
      throw new PidscopeError('USAGE', `unknown format '${values.format}'`, `Use one of ${FORMATS.join(', ')} (gdb's print/FMT letters)`, 'user');
    }
    return { values, positionals, ...target };
  });
  if (typeof args === 'number') return args;
  const { values, positionals, pid, backend } = args;
  let failed = 0;
  exitOnEpipe(() => (failed ? 1 : 0));
  const program = await openProgram(pid, backend, { debugDirs: values['debug-dir'] });
  try {
    const json: unknown[] = [];
    for (const arg of positionals) {
      // gdb's `print/x EXPR` spelling: `/x EXPR`.
      const m = /^\/([a-z])\s+(.*)$/s.exec(arg);
      if (m && !FORMATS.includes(m[1])) {
        failed++;
        process.stderr.write(`Undefined output format "${m[1]}". Use one of ${FORMATS.join(', ')}\n`);
        continue;
      }
      const expr = m ? m[2] : arg;
      const letter = (m ? m[1] : values.format) as FormatLetter | undefined;
      const format = letter === 's' ? undefined : letter;
      try {
        const obj = program.evaluate(expr);
        if (values.json) {
          json.push({ expression: arg, ...(program.toJson(obj) as object) });
        } else {
          process.stdout.write(`${program.formatValue(obj, { format })}\n`);
        }
      } catch (e) {
        failed++;
        if (!isPidscopeError(e) || e.blame === 'internal') throw e;
        if (values.json) json.push({ expression: expr, error: e.cause_, code: e.code, column: (e as { column?: number }).column });
        else process.stderr.write(`${e.cause_}${e.code === 'EFAULT' ? '' : e.fix ? ` ${e.fix}` : ''}\n`);
      }
    }
    if (values.json) process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
  } finally {
    program.close();
  }
  return failed ? 1 : 0;
}

export const command: CliCommand = {
  name: 'eval',
  summary: 'evaluate C expressions in a running process, printed as gdb prints them',
  usage,
  run,
};

void describeError;
