import { fstatSync, writeSync } from 'node:fs';
import { describeError, isPidscopeError } from './errors';
import { disableIndexCache } from './cli/indexCacheFlag';

/**
 * `pidscope <command>`. Each command lives in its own module under cli/ and exports
 * `command: CliCommand`; modules load lazily so `pidscope read` never pays for DWARF or DAP.
 */
export interface CliCommand {
  name: string;
  summary: string;
  usage: string;
  /** Returns the process exit code. Throws PidscopeError for user-facing failures. */
  run(argv: string[]): Promise<number>;
}

// Literal import() per command: modules still load lazily (`pidscope read` never pays for DWARF
// or DAP), and a bundler (adapter/scripts/bundle.mjs) can follow them.
const COMMANDS: Record<string, () => Promise<{ command?: CliCommand }>> = {
  info: () => import('./cli/info'),
  read: () => import('./cli/read'),
  globals: () => import('./cli/globals'),
  eval: () => import('./cli/eval'),
  stack: () => import('./cli/stack'),
  watch: () => import('./cli/watch'),
  dap: () => import('./cli/dap'),
  ps: () => import('./cli/ps'),
  demo: () => import('./cli/demo'),
};

async function load(name: string): Promise<CliCommand | undefined> {
  const loader = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  return loader ? (await loader()).command : undefined;
}

function packageVersion(): string {
  // Works from the sources (adapter/src) and from the build (out/adapter/src).
  for (const rel of ['../../package.json', '../../../package.json']) {
    try {
      return (require(rel) as { version: string }).version;
    } catch {
      /* try the next layout */
    }
  }
  return 'unknown';
}

async function help(): Promise<string> {
  const lines = ['pidscope — a debugger for running Linux processes that never stops them', '', 'Usage: pidscope <command> [options]', '', 'Commands:'];
  for (const name of Object.keys(COMMANDS)) {
    const cmd = await load(name);
    if (cmd) lines.push(`  ${name.padEnd(9)} ${cmd.summary}`);
  }
  lines.push('', GLOBAL_OPTIONS, '', 'Run `pidscope <command> --help` for the options of one command.');
  return lines.join('\n') + '\n';
}

/** Options every command takes (before or after the command name); removed from argv here. */
const GLOBAL_OPTIONS = `Options for every command:
  --no-index-cache   do not read or write the persistent symbol index
                     (~/.cache/pidscope/index; also PIDSCOPE_INDEX_CACHE=0)`;

/** Commands that print and exit: their stdout can be a plain synchronous writer. */
const ONE_SHOT = new Set(['info', 'read', 'globals', 'eval', 'stack', 'ps']);

/**
 * For a one-shot command printing to a pipe or a file: a synchronous stdout over write(2),
 * instead of Node's stream, whose creation loads ~25 stream and net modules (~5 ms of a ~90 ms
 * `eval`). Node writes pipes and files synchronously on Linux anyway, so the output and its
 * order are the same; EPIPE is emitted as 'error' on the next tick, as a stream does. A
 * terminal (or a socket) keeps Node's stream. PIDSCOPE_SYNC_STDOUT=0 turns this off.
 */
export function useSyncStdout(): boolean {
  if (/^(0|off|false|no)$/i.test(process.env.PIDSCOPE_SYNC_STDOUT ?? '')) return false;
  try {
    const st = fstatSync(1);
    if (!st.isFIFO() && !st.isFile()) return false;
  } catch {
    return false;
  }
  // node:events is part of Node's own bootstrap: loading it here costs nothing.
  const events = require('node:events') as typeof import('node:events');
  const out = new events.EventEmitter() as import('node:events').EventEmitter & Record<string, unknown>;
  let waiter: Int32Array | undefined;
  const write = (chunk: string | Uint8Array, encoding?: BufferEncoding | ((e?: Error | null) => void), cb?: (e?: Error | null) => void): boolean => {
    const done = typeof encoding === 'function' ? encoding : cb;
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, typeof encoding === 'string' ? encoding : 'utf8') : chunk;
    let off = 0;
    while (off < buf.length) {
      try {
        off += writeSync(1, buf, off, buf.length - off);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EAGAIN') {
          // A non-blocking pipe that is full: wait a millisecond for the reader.
          Atomics.wait((waiter ??= new Int32Array(new SharedArrayBuffer(4))), 0, 0, 1);
          continue;
        }
        process.nextTick(() => {
          done?.(e as Error);
          out.emit('error', e);
        });
        return false;
      }
    }
    if (done) process.nextTick(done, null);
    return true;
  };
  Object.assign(out, { fd: 1, isTTY: false, writable: true, write, end: (chunk?: string | Uint8Array) => (chunk !== undefined && write(chunk), out) });
  Object.defineProperty(process, 'stdout', { configurable: true, enumerable: true, get: () => out });
  return true;
}

export async function main(argv: string[]): Promise<number> {
  if (argv.includes('--no-index-cache')) {
    // Sets PIDSCOPE_INDEX_CACHE=0, which processes started from here (the DAP adapter) inherit.
    disableIndexCache();
    argv = argv.filter((a) => a !== '--no-index-cache');
  }
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(await help());
    return name ? 0 : 2;
  }
  if (name === '--version') {
    process.stdout.write(`${packageVersion()}\n`);
    return 0;
  }
  if (ONE_SHOT.has(name)) useSyncStdout();
  const cmd = await load(name);
  if (!cmd) {
    process.stderr.write(`pidscope: unknown command '${name}'. Run \`pidscope --help\` for the list of commands.\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${cmd.usage.trimEnd()}\n`);
    return 0;
  }
  try {
    return await cmd.run(rest);
  } catch (e) {
    process.stderr.write(`pidscope ${name}: ${describeError(e)}\n`);
    return isPidscopeError(e) && e.blame !== 'internal' ? 1 : 70;
  }
}

// `node --import tsx adapter/src/main.ts <command>` (tests, development) runs the CLI directly.
if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`pidscope: internal error: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exitCode = 70;
    },
  );
}
