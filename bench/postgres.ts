/**
 * PostgreSQL 15 from Debian's source package, configured with `CFLAGS='-g -O2'` (no readline,
 * zlib, ICU or LLVM): the server binary carries over 20 MB of DWARF, a big program for
 * bench:symbols and bench:dap. Built and installed once per machine into
 * ${XDG_CACHE_HOME:-~/.cache}/pidscope/postgres/<key>/ (outside the clone), keyed by the source
 * tarball and the configure line. The server refuses to run as root, so it runs as `nobody`.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildKey, CACHE, debianSource, stopper, waitForOutput } from '../test/support/debianBuild';

const CONFIGURE = ['--without-readline', '--without-zlib', '--without-icu', '--without-llvm', 'CFLAGS=-g -O2'];
const NOBODY = 65534;

/** The install prefix (bin/postgres, bin/initdb, …), building it if missing. */
export function buildPostgres(): string {
  const dir = join(CACHE, 'postgres');
  const tar = debianSource(dir, 'postgresql-15', /^postgresql-\d+_.*\.orig\.tar\.(bz2|gz|xz)$/);
  const key = buildKey(tar, CONFIGURE.join(' '));
  const prefix = join(dir, key);
  const done = join(prefix, '.complete');
  if (existsSync(done)) return prefix;
  const tmp = join(dir, `${key}.build-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  rmSync(prefix, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  execFileSync('tar', ['xf', tar, '-C', tmp, '--strip-components=1'], { stdio: 'pipe' });
  execFileSync('./configure', [`--prefix=${prefix}`, ...CONFIGURE], { cwd: tmp, stdio: 'pipe', timeout: 900_000 });
  execFileSync('make', ['-j2'], { cwd: tmp, stdio: 'pipe', timeout: 3_600_000 });
  execFileSync('make', ['install'], { cwd: tmp, stdio: 'pipe', timeout: 900_000 });
  writeFileSync(done, new Date().toISOString() + '\n');
  rmSync(tmp, { recursive: true, force: true });
  return prefix;
}

/** initdb in a fresh directory and a server on a Unix socket only, running as nobody. */
export async function startPostgres(prefix: string): Promise<{ pid: number; binary: string; stop(): Promise<void> }> {
  const base = mkdtempSync(join(tmpdir(), 'pidscope-pg-'));
  chmodSync(base, 0o755);
  const data = join(base, 'data');
  mkdirSync(data, { mode: 0o700 });
  chownSync(base, NOBODY, NOBODY);
  chownSync(data, NOBODY, NOBODY);
  // nobody cannot reach the cache under /root: it runs a copy of the installation.
  const inst = join(base, 'inst');
  cpSync(prefix, inst, { recursive: true });
  const asNobody = ['--reuid=65534', '--regid=65534', '--clear-groups'];
  execFileSync('setpriv', [...asNobody, join(inst, 'bin', 'initdb'), '-D', data, '-A', 'trust', '--no-sync', '-U', 'postgres'], {
    stdio: 'pipe',
    timeout: 300_000,
    cwd: base,
  });
  const binary = join(inst, 'bin', 'postgres');
  const child = spawn('setpriv', [...asNobody, binary, '-D', data, '-k', base, '-c', 'listen_addresses=', '-c', 'fsync=off'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: base,
  });
  await waitForOutput(child, /ready to accept connections/, 'postgres', 60_000);
  const stop = stopper(child, 'SIGQUIT');
  return {
    pid: child.pid!, // setpriv execs postgres: same pid, the postmaster
    binary,
    stop: async () => {
      await stop();
      rmSync(base, { recursive: true, force: true });
    },
  };
}
