/**
 * CPython 3.11 from Debian's source package, built with its default flags (`-g -O3`, the
 * interpreter linked statically with libpython): a program with well over 20 MB of DWARF for
 * bench:symbols and bench:dap. Built once per machine into
 * ${XDG_CACHE_HOME:-~/.cache}/pidscope/cpython/<key>/ (outside the clone), keyed by the source
 * tarball and the configure line; only `make python` (no extension modules), so it takes
 * minutes, not tens of minutes.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CACHE } from '../test/eval/realProgram';

const CONFIGURE = ['--without-ensurepip', '--with-pydebug=no'];

/** Path of the built `python` (its Lib/ beside it, so it starts from the build tree). */
export function buildCPython(): string {
  const dir = join(CACHE, 'cpython');
  mkdirSync(dir, { recursive: true });
  const find = () => readdirSync(dir).find((f) => /^python3\.\d+_.*\.orig\.tar\.(gz|xz)$/.test(f));
  let tar = find();
  if (!tar) {
    let why = '';
    try {
      execFileSync('apt-get', ['source', '--download-only', 'python3.11'], { cwd: dir, stdio: 'pipe', timeout: 600_000 });
    } catch (e) {
      // A stale apt list can miss the Debian patch files and still have fetched the orig tarball.
      why = (e as Error).message.split('\n').slice(0, 3).join(' ');
    }
    tar = find();
    if (!tar && why) throw new Error(`apt-get source python3.11 failed: ${why}`);
    if (!tar) throw new Error('apt-get source python3.11 produced no orig tarball (deb-src configured? see ../shared/ENVIRONMENT.md)');
  }
  const key = createHash('sha256')
    .update(readFileSync(join(dir, tar)))
    .update(CONFIGURE.join(' '))
    .digest('hex')
    .slice(0, 16);
  const tree = join(dir, key);
  const bin = join(tree, 'python');
  if (existsSync(bin)) return bin;
  const tmp = join(dir, `${key}.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  execFileSync('tar', ['xf', join(dir, tar), '-C', tmp, '--strip-components=1'], { stdio: 'pipe' });
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
  await new Promise<void>((res, rej) => {
    let out = '';
    const timer = setTimeout(() => rej(new Error(`python did not say ready: ${out}`)), 30_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready')) {
        clearTimeout(timer);
        res();
      }
    });
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (c) => rej(new Error(`python exited (${c}): ${out}`)));
  });
  return {
    pid: child.pid!,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise<void>((r) => child.on('exit', () => r()));
      child.kill('SIGKILL');
      await gone;
    },
  };
}
