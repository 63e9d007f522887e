import { describeError, isPidscopeError } from './errors';
import { disableIndexCache } from './cli/options';

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
