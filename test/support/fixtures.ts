/**
 * Start and stop the C fixture programs under fixtures/ (see fixtures/README.md).
 *
 *   const fx = await startFixture('globals', { variant: 'O2-dwarf5-pie' });
 *   try { ... fx.pid ... } finally { await fx.stop(); }
 *
 * Every started fixture is also killed when the test process exits, as a safety net; tests
 * should still call stop() in afterAll/finally.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/**
 * The repository, found upwards from here: right from the sources (test/support) and from the
 * build the benches run (out/test/support).
 */
function findRepoRoot(): string {
  for (let dir = __dirname, i = 0; i < 6; i++, dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'pidscope') return dir;
  }
  return resolve(__dirname, '..', '..');
}

export const REPO_ROOT = findRepoRoot();
export const FIXTURES_DIR = join(REPO_ROOT, 'fixtures');
export const FIXTURES_BUILD_DIR = join(FIXTURES_DIR, 'build');

/** Variants with debug info: gdb can print every global of `globals` in each of them. */
export const VARIANTS = [
  'O0-dwarf4-pie',
  'O0-dwarf5-pie',
  'O2-dwarf5-pie',
  'O0-dwarf5-nopie',
  'O2-dwarf4-nopie',
  'split', // O0-dwarf5-pie, debug info in <program>.debug beside it via .gnu_debuglink
] as const;
/** Variants without debug info: `stripped` has only .dynsym, `symtab-only` keeps .symtab. */
export const STRIPPED_VARIANTS = ['stripped', 'symtab-only'] as const;
export const ALL_VARIANTS = [...VARIANTS, ...STRIPPED_VARIANTS] as const;
/**
 * Variants carrying a name index written by the compiler or gdb (fixtures/Makefile): clang
 * -gdwarf-5 -gpubnames (.debug_names), gdb-add-index (.gdb_index) and gdb-add-index -dwarf-5
 * (.debug_names). The clang ones exist only where clang is installed (.ci/run installs it).
 */
export const INDEXED_VARIANTS = ['gdb-index', 'gdb-names', 'clang-O0-names', 'clang-O2-names'] as const;
export type Variant = (typeof ALL_VARIANTS)[number] | (typeof INDEXED_VARIANTS)[number];
export const DEFAULT_VARIANT: Variant = 'O0-dwarf5-pie';

export const PROGRAMS = ['globals', 'threads', 'demo', 'lifecycle', 'stacks', 'quirks'] as const;
export type FixtureProgram = (typeof PROGRAMS)[number];

/** Absolute path of a built fixture binary (does not check that it exists). */
/** C++ fixture variants (fixtures/Makefile CXX_VARIANTS); the clang ones exist only where clang++ is installed. */
export const CXX_VARIANTS = [
  'gcc-O0-dwarf5',
  'gcc-O0-dwarf4',
  'gcc-O2-dwarf5',
  'gcc-O2-dwarf4',
  'clang-O0-dwarf5',
  'clang-O0-dwarf4',
  'clang-O2-dwarf5',
] as const;
export type CxxVariant = (typeof CXX_VARIANTS)[number];

export function cxxFixturePath(program: 'cxx' | 'stl', variant: CxxVariant): string {
  return join(FIXTURES_BUILD_DIR, 'cxx', variant, program);
}

export function fixturePath(program: FixtureProgram, variant: Variant = DEFAULT_VARIANT): string {
  return join(FIXTURES_BUILD_DIR, variant, program);
}

/** The separate debug file of the `split` variant. */
export function splitDebugPath(program: FixtureProgram): string {
  return join(FIXTURES_BUILD_DIR, 'split', `${program}.debug`);
}

/** Absolute path of a fixture source file, e.g. 'globals.c'. */
export function fixtureSource(sourceFile: string): string {
  return join(FIXTURES_DIR, sourceFile);
}

/** Builds the fixtures (quiet, incremental). The e2e global setup already does this. */
export function buildFixtures(): void {
  execFileSync('make', ['-s', '-C', FIXTURES_DIR], { stdio: ['ignore', 'inherit', 'inherit'] });
}

/**
 * 1-based line number of the line carrying `/* #MARKER *\/` in a fixture source file.
 * Accepts the marker with or without the leading '#'. Throws if absent or not unique.
 */
export function markerLine(sourceFile: string, marker: string): number {
  const name = marker.startsWith('#') ? marker.slice(1) : marker;
  const lines = readFileSync(fixtureSource(sourceFile), 'utf8').split('\n');
  const re = new RegExp(`/\\*\\s*#${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\b`);
  const hits: number[] = [];
  lines.forEach((line, i) => {
    if (re.test(line)) hits.push(i + 1);
  });
  if (hits.length !== 1) {
    throw new Error(`marker #${name} found ${hits.length} times in fixtures/${sourceFile} (expected exactly once)`);
  }
  return hits[0];
}

export interface StartOptions {
  variant?: Variant;
  /** Run this binary instead of fixtures/build/<variant>/<program> (the C++ fixtures). */
  binary?: string;
  args?: string[];
  /** How long to wait for `ready <pid>` (default 15 s). */
  readyTimeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /** Run it as this uid/gid (we are root in CI): a target owned by another user. */
  uid?: number;
  gid?: number;
}

export interface RunningFixture {
  /** pid from the `ready <pid>` line (equals proc.pid). */
  pid: number;
  proc: ChildProcess;
  program: FixtureProgram | 'cxx';
  variant: Variant;
  binary: string;
  /** Every stdout line so far (including `ready ...`). */
  lines: string[];
  /** Stderr so far. */
  stderr(): string;
  /** Resolves with the first stdout line (past or future) matching `re`. */
  waitForLine(re: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** True once the process has exited. */
  hasExited(): boolean;
  /** SIGTERM, then SIGKILL after `graceMs` (default 3 s); waits for exit. Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const p of live) {
      try {
        p.kill('SIGKILL');
      } catch {
        /* already gone */
      }
    }
  });
}

/**
 * Spawns a fixture and resolves once it printed `ready <pid>`. Rejects with a clear message
 * (binary missing, exited early with its stderr, or timeout) and kills it on failure.
 */
export async function startFixture(program: FixtureProgram | 'cxx', options: StartOptions = {}): Promise<RunningFixture> {
  const variant = options.variant ?? DEFAULT_VARIANT;
  if (program === 'cxx' && !options.binary) throw new Error("the C++ fixtures need options.binary (cxxFixturePath('cxx' | 'stl', variant))");
  const binary = options.binary ?? fixturePath(program as FixtureProgram, variant);
  if (!existsSync(binary)) {
    throw new Error(`fixture ${variant}/${program} is not built (${binary}); run \`make -C fixtures\` (the e2e global setup does)`);
  }
  const args = options.args ?? [];
  const proc = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], env: options.env ?? process.env, uid: options.uid, gid: options.gid });
  installExitHook();
  live.add(proc);

  const lines: string[] = [];
  let stderr = '';
  let partial = '';
  const waiters: { re: RegExp; resolve: (l: string) => void }[] = [];
  let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => {
    proc.on('exit', (code, signal) => {
      exitInfo = { code, signal };
      live.delete(proc);
      res(exitInfo);
    });
  });
  proc.stdout!.setEncoding('utf8');
  proc.stdout!.on('data', (chunk: string) => {
    partial += chunk;
    let nl: number;
    while ((nl = partial.indexOf('\n')) >= 0) {
      const line = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      lines.push(line);
      for (let i = waiters.length - 1; i >= 0; i--) {
        if (waiters[i].re.test(line)) {
          waiters[i].resolve(line);
          waiters.splice(i, 1);
        }
      }
    }
  });
  proc.stderr!.setEncoding('utf8');
  proc.stderr!.on('data', (chunk: string) => {
    stderr += chunk;
  });
  const spawnError = new Promise<never>((_, reject) => proc.on('error', reject));
  spawnError.catch(() => undefined);

  const describe = `${variant}/${program}${args.length ? ' ' + args.join(' ') : ''}`;
  const waitForLine = (re: RegExp, timeoutMs = 15_000): Promise<string> => {
    const seen = lines.find((l) => re.test(l));
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise<string>((res, rej) => {
      const timer = setTimeout(() => {
        const idx = waiters.indexOf(waiter);
        if (idx >= 0) waiters.splice(idx, 1);
        rej(
          new Error(
            `fixture ${describe}: no stdout line matching ${re} within ${timeoutMs} ms; stdout: ${JSON.stringify(lines)}; stderr: ${JSON.stringify(stderr)}`,
          ),
        );
      }, timeoutMs);
      const waiter = {
        re,
        resolve: (l: string) => {
          clearTimeout(timer);
          res(l);
        },
      };
      waiters.push(waiter);
      void exited.then((info) => {
        clearTimeout(timer);
        const idx = waiters.indexOf(waiter);
        if (idx >= 0) {
          waiters.splice(idx, 1);
          rej(
            new Error(
              `fixture ${describe} exited (code ${info.code}, signal ${info.signal}) before printing a line matching ${re}; stdout: ${JSON.stringify(lines)}; stderr: ${JSON.stringify(stderr)}`,
            ),
          );
        }
      });
    });
  };

  const stop = async (graceMs = 3_000): Promise<void> => {
    if (exitInfo) return;
    try {
      proc.kill('SIGTERM');
    } catch {
      /* already gone */
    }
    const timer = setTimeout(() => {
      try {
        proc.kill('SIGKILL');
      } catch {
        /* already gone */
      }
    }, graceMs);
    await exited;
    clearTimeout(timer);
  };

  let readyLine: string;
  try {
    readyLine = await Promise.race([waitForLine(/^ready \d+$/, options.readyTimeoutMs ?? 15_000), spawnError]);
  } catch (e) {
    await stop(500);
    throw e;
  }
  const pid = Number(readyLine.split(' ')[1]);
  return {
    pid,
    proc,
    program,
    variant,
    binary,
    lines,
    stderr: () => stderr,
    waitForLine,
    exited,
    hasExited: () => exitInfo !== undefined,
    stop,
  };
}
