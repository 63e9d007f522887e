/**
 * CPython 3.11 from Debian's source package, built with its default flags (`-g -O3`, the
 * interpreter linked statically with libpython): a program with well over 20 MB of DWARF for
 * bench:symbols and bench:dap. Built once per machine into
 * ${XDG_CACHE_HOME:-~/.cache}/pidscope/cpython/<key>/ (outside the clone), keyed by the source
 * tarball and the configure line; only `make python` (no extension modules), so it takes
 * minutes, not tens of minutes.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { buildKey, CACHE, debianSource, stopper, waitForOutput } from '../test/support/debianBuild';

const CONFIGURE = ['--without-ensurepip', '--with-pydebug=no'];

/** Path of the built `python` (its Lib/ beside it, so it starts from the build tree). */
export function buildCPython(): string {
  const dir = join(CACHE, 'cpython');
  const tar = debianSource(dir, 'python3.11', /^python3\.\d+_.*\.orig\.tar\.(gz|xz)$/);
  const key = buildKey(tar, CONFIGURE.join(' '));
  const tree = join(dir, key);
  const bin = join(tree, 'python');
  if (existsSync(bin)) return bin;
  const tmp = join(dir, `${key}.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  execFileSync('tar', ['xf', tar, '-C', tmp, '--strip-components=1'], { stdio: 'pipe' });
  execFileSync('./configure', CONFIGURE, { cwd: tmp, stdio: 'pipe', timeout: 600_000 });
  execFileSync('make', ['-j2', 'python'], { cwd: tmp, stdio: 'pipe', timeout: 3_600_000 });
  // The interpreter finds its standard library from the tree it sits in (Lib/ and pybuilddir).
  rmSync(tree, { recursive: true, force: true });
  renameSync(tmp, tree);
  return bin;
}

/** Starts the interpreter idle (blocked reading stdin) after it said ready. */
export async function startCPython(bin: string): Promise<{ pid: number; stop(): Promise<void> }> {
  const child = spawn(bin, ['-S', '-c', 'import sys; print("ready", flush=True); sys.stdin.read()'], { stdio: ['pipe', 'pipe', 'pipe'] });
  await waitForOutput(child, /ready/, 'python');
  return { pid: child.pid!, stop: stopper(child) };
}
