// What the x86_64 and the arm64 kernel tests share: where the kernel tree and its cache are, the
// loud skip banner, building a kernel with its selftests, booting it through run.sh, and reading
// the kselftest harness's output.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';

export type Arch = 'x86_64' | 'arm64';
export type Variant = 'normal' | 'debug';

export const root = join(__dirname, '..', '..');
export const kernelDir = join(root, 'kernel');
export const cache =
  process.env.PIDSCOPE_KERNEL_CACHE ??
  join(process.env.XDG_CACHE_HOME ?? join(process.env.HOME ?? '/root', '.cache'), 'pidscope', 'kernel');
/** In CI a missing package is a failure, not a skip. */
export const strict = process.env.CI === 'true' || process.env.PIDSCOPE_CI === '1';

const archFlags = (arch: Arch): string[] => (arch === 'arm64' ? ['--arch', 'arm64'] : []);

/** One loud banner naming what is missing (only printed when the tests skip). */
export function warnSkipping(what: string, missing: string): void {
  const bar = '!'.repeat(78);
  console.warn(
    `\n${bar}\n!! SKIPPING ${what}:\n${missing
      .split('\n')
      .map((l) => `!!   ${l}`)
      .join('\n')}\n!! (with CI=true or PIDSCOPE_CI=1 this is a failure, not a skip)\n${bar}\n`,
  );
}

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** kernel/run.sh ARGS for the given architecture. */
export function runGuest(arch: Arch, args: string[], timeoutMs = 3_000_000): Run {
  const r = spawnSync(join(kernelDir, 'run.sh'), [...archFlags(arch), ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: timeoutMs,
    maxBuffer: 64 * 1024 * 1024,
  });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/**
 * Builds (or finds cached) the kernel and the selftests against its headers. arm64 selftests are
 * static: the guest's root is the x86_64 host's, which has no aarch64 libc to load.
 */
export function buildKernel(arch: Arch, variant: Variant): { image: string; test: string } {
  const flags = [...archFlags(arch), ...(variant === 'debug' ? ['--debug'] : [])];
  const opts = { encoding: 'utf8' as const, stdio: ['ignore', 'pipe', 'inherit'] as ('ignore' | 'pipe' | 'inherit')[], timeout: 3_300_000 };
  const image = execFileSync(join(kernelDir, 'build.sh'), flags, opts).trim();
  const headers = execFileSync(join(kernelDir, 'build.sh'), [...flags, '--headers'], opts).trim();
  const outDir = join(cache, 'selftests', arch === 'arm64' ? `arm64-${variant}` : variant);
  mkdirSync(outDir, { recursive: true });
  const cross = arch === 'arm64' ? ['-B', 'CC=aarch64-linux-gnu-gcc -static'] : [];
  execFileSync(
    'make',
    ['-s', ...cross, '-C', join(kernelDir, 'selftests'), `KHDR=${headers}`, `KSFT=${join(dirname(headers), '..', 'selftests')}`, `O=${outDir}`],
    { stdio: 'inherit' },
  );
  return { image, test: join(outDir, 'pidfd_mem_test') };
}

/** Skipped selftests whose name is not in `allowed` or whose reason does not match it. */
export function unexpectedSkips(out: string, allowed: Record<string, RegExp> = {}): string[] {
  const bad: string[] = [];
  for (const m of out.matchAll(/^ok \d+ \S+\.(\S+) # SKIP (.*)$/gm)) {
    const reason = allowed[m[1]];
    if (!reason || !reason.test(m[2])) bad.push(`${m[1]}: ${m[2]}`);
  }
  return bad;
}

/** The harness's `# Totals:` line (fail -1 when it never printed one). */
export function summary(out: string): { pass: number; fail: number; skip: number } {
  const m = /# Totals: pass:(\d+) fail:(\d+) xfail:\d+ xpass:\d+ skip:(\d+) error:(\d+)/.exec(out);
  if (!m) return { pass: 0, fail: -1, skip: -1 };
  return { pass: Number(m[1]), fail: Number(m[2]) + Number(m[4]), skip: Number(m[3]) };
}
