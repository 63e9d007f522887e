/**
 * `pidscope eval --pid N EXPR…`: evaluates C expressions in a running process and prints each
 * value exactly as gdb's `print` would (without the `$1 = `), one per line. Never stops the target.
 */
import { parseArgs } from 'node:util';
import { isPidscopeError, PidscopeError } from '../errors';
import type { CliCommand } from '../main';
import type { Program } from '../engine/program';
import { LANGUAGE_NAMES, languageNamed, type Language } from '../lang';
import { exitOnEpipe, openProgram, TARGET_OPTIONS, targetArgs, withUsage } from './options';

const usage = `Usage: pidscope eval --pid N [--tid T --frame K] EXPR... [--json] [--language L] [--backend B] [--debug-dir DIR]

Evaluates each C expression EXPR in process N and prints its value as gdb's \`print\` does
(without the \`$1 = \` prefix), one line per expression, without stopping the process.

An EXPR may start with a dash (\`-g_int\`, as gdb's \`print -g_int\`); \`--\` ends the options.

Expressions: globals and statics ('file.c'::name, function::name), literals, . -> [] * & - ! ~,
casts such as (struct node *)0x1234 or *(int (*)[8])&buf, arithmetic, comparisons, && || ?:,
sizeof, gdb's arr[0]@4 and {type} addr. No assignments or function calls.

  --pid N          the process
  --tid T          with --frame: the thread (default: the main thread)
  --frame K        evaluate in frame K of that thread's call stack (as \`pidscope stack\` numbers
                   them): its locals and arguments first, then globals. The thread keeps running;
                   its registers and stack are a snapshot (see \`pidscope stack --help\`)
  --json           one JSON array: [{"expression","type","address","text","value"|"fields"|"elements","error"}]
  --backend B      auto (default), pidfd-mem, vm-readv or proc-mem
  --debug-dir DIR  also look for separate debug files here (repeatable)
  --language L     c or c++ (gdb's set language); default: the language of the program's main unit
  --format F, -f F gdb's print/F for every value: x o t d u z c s, or r for the raw structure
                   of standard-library objects (or write one EXPR as '/x EXPR', '/r EXPR')

Exit status: 0 when every expression printed, 1 if any failed (message on stderr), 2 for usage.
`;

const FORMATS = ['x', 'o', 't', 'd', 'u', 'z', 'c', 's', 'r'];
type FormatLetter = 'x' | 'o' | 't' | 'd' | 'u' | 'z' | 'c' | 's' | 'r';

/** Options that take a value, by every spelling parseArgs accepts. */
const VALUE_OPTIONS = new Set(['--pid', '-p', '--backend', '--debug-dir', '--format', '-f', '--language', '--tid', '--frame']);

/**
 * gdb's `print -v` is the expression `-v`: an argument that starts with one dash and is not one
 * of our options is an expression, so it goes after `--` where parseArgs takes it as positional.
 * Unknown `--long` words stay options, so a typo is still a usage error.
 */
export function expressionsAfterDashes(argv: string[]): string[] {
  const opts: string[] = [];
  const exprs: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      exprs.push(...argv.slice(i + 1));
      break;
    }
    if (VALUE_OPTIONS.has(a)) {
      opts.push(a, ...argv.slice(i + 1, i + 2));
      i++;
    } else if (a.startsWith('--') || /^-p\d+$/.test(a) || /^-f[a-z]$/.test(a) || a === '-h') opts.push(a);
    else exprs.push(a);
  }
  return [...opts, '--', ...exprs];
}

interface EvalArgs {
  pid: number;
  backend: ReturnType<typeof targetArgs>['backend'];
  expressions: string[];
  json: boolean;
  format?: string;
  debugDirs?: string[];
  language?: Language;
  /** --frame (and --tid): evaluate in that frame of that thread's stack snapshot. */
  frame?: { tid: number; frameNo: number };
}

/** The checked arguments, or the exit status 2 after a usage error. */
function parseEvalArgs(argv: string[]): EvalArgs | number {
  return withUsage({ name: 'eval', usage }, () => {
    const { values, positionals } = parseArgs({
      args: expressionsAfterDashes(argv),
      allowPositionals: true,
      strict: true,
      options: {
        ...TARGET_OPTIONS,
        json: { type: 'boolean' },
        'debug-dir': { type: 'string', multiple: true },
        format: { type: 'string', short: 'f' },
        tid: { type: 'string' },
        frame: { type: 'string' },
        language: { type: 'string' },
      },
    });
    if (positionals.length === 0) throw new PidscopeError('USAGE', 'no expression given', 'Usage: pidscope eval --pid N EXPR...', 'user');
    const target = targetArgs(values);
    if (values.format !== undefined && !FORMATS.includes(values.format)) {
      throw new PidscopeError('USAGE', `unknown format '${values.format}'`, `Use one of ${FORMATS.join(', ')} (gdb's print/FMT letters)`, 'user');
    }
    const language = values.language === undefined ? undefined : languageNamed(values.language);
    if (values.language !== undefined && !language) {
      throw new PidscopeError('USAGE', `unknown language '${values.language}'`, `Use one of ${LANGUAGE_NAMES.join(', ')}`, 'user');
    }
    let frame: EvalArgs['frame'];
    if (values.frame !== undefined || values.tid !== undefined) {
      const frameNo = Number(values.frame ?? '0');
      const tid = values.tid !== undefined ? Number(values.tid) : target.pid;
      if (!Number.isInteger(frameNo) || frameNo < 0)
        throw new PidscopeError('USAGE', `bad frame number '${values.frame}'`, 'Give --frame a frame number from `pidscope stack`', 'user');
      if (!Number.isInteger(tid) || tid <= 0)
        throw new PidscopeError('USAGE', `bad thread id '${values.tid}'`, 'Give --tid a thread id from `pidscope stack`', 'user');
      frame = { tid, frameNo };
    }
    return {
      ...target,
      expressions: positionals,
      json: values.json === true,
      format: values.format,
      debugDirs: values['debug-dir'],
      language,
      frame,
    };
  });
}

/** gdb's print/FMT letter as the formatter takes it (`s` and `r` are not value formats), and `r`'s raw switch. */
interface PrintOptions {
  format?: Exclude<FormatLetter, 's' | 'r'>;
  raw: boolean;
}

/** One expression's value, as text (gdb's print) or as the JSON object of --json. */
interface Evaluator {
  text(expr: string, opts: PrintOptions): string;
  json(expr: string, opts: PrintOptions): object;
}

function globalEvaluator(program: Program): Evaluator {
  return {
    text: (expr, opts) => program.formatValue(program.evaluate(expr), opts),
    json: (expr, opts) => program.toJson(program.evaluate(expr), opts) as object,
  };
}

/** Evaluates in frame `frameNo` of a snapshot of thread `tid` (locals and arguments first, then globals). */
async function frameEvaluator(program: Program, pid: number, tid: number, frameNo: number): Promise<Evaluator> {
  const { takeStacks } = await import('../stack/stacks');
  const { evaluateInFrame } = await import('../stack/frameScope');
  const { formatTop } = await import('../value/format');
  const { toJson } = await import('../value/json');
  const res = takeStacks(program, { tids: [tid] });
  const thread = res.threads[0];
  if (!thread)
    throw new PidscopeError('NO_STACK', res.failures[0]?.reason ?? `no stack for thread ${tid}`, 'See `pidscope stack --help` for what can be shown', 'target');
  const frame = thread.frames[frameNo];
  if (!frame)
    throw new PidscopeError(
      'NO_FRAME',
      `Thread ${tid} has no frame ${frameNo} (it has ${thread.frames.length})`,
      `Pick one of 0..${thread.frames.length - 1} (pidscope stack --pid ${pid} --tid ${tid})`,
      'user',
    );
  if (frame.signalTrampoline || !frame.frame) process.stderr.write(`pidscope eval: frame ${frameNo} has no debug info; only globals are visible\n`);
  return {
    text: (expr, opts) => {
      const { obj, ctx } = evaluateInFrame(frame, expr);
      return formatTop(ctx, obj, opts.format ? { format: opts.format } : {});
    },
    json: (expr) => {
      const { obj, ctx } = evaluateInFrame(frame, expr);
      return toJson(ctx, obj) as object;
    },
  };
}

async function run(argv: string[]): Promise<number> {
  const args = parseEvalArgs(argv);
  if (typeof args === 'number') return args;
  let failed = 0;
  exitOnEpipe(() => (failed ? 1 : 0));
  const program = await openProgram(args.pid, args.backend, { debugDirs: args.debugDirs, language: args.language });
  try {
    const evaluator = args.frame ? await frameEvaluator(program, args.pid, args.frame.tid, args.frame.frameNo) : globalEvaluator(program);
    const json: unknown[] = [];
    for (const arg of args.expressions) {
      // gdb's `print/x EXPR` spelling: `/x EXPR`.
      const m = /^\/([a-z])\s+(.*)$/s.exec(arg);
      if (m && !FORMATS.includes(m[1])) {
        failed++;
        process.stderr.write(`Undefined output format "${m[1]}". Use one of ${FORMATS.join(', ')}\n`);
        continue;
      }
      const expr = m ? m[2] : arg;
      const letter = (m ? m[1] : args.format) as FormatLetter | undefined;
      // `r` is gdb's raw switch: the structure without the standard library's views.
      const opts: PrintOptions = { format: letter === 's' || letter === 'r' ? undefined : letter, raw: letter === 'r' };
      try {
        if (args.json) json.push({ expression: arg, ...evaluator.json(expr, opts) });
        else process.stdout.write(`${evaluator.text(expr, opts)}\n`);
      } catch (e) {
        failed++;
        if (!isPidscopeError(e) || e.blame === 'internal') throw e;
        if (args.json) json.push({ expression: expr, error: e.causeText, code: e.code, column: (e as { column?: number }).column });
        else process.stderr.write(`${e.causeText}${e.code === 'EFAULT' ? '' : e.fix ? ` ${e.fix}` : ''}\n`);
      }
    }
    if (args.json) process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
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
