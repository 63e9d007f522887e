/**
 * A real C program nobody here wrote, for the oracle and the symbols benchmark: Lua 5.4 built
 * from Debian's source package with -g. Built once per machine into
 * ${XDG_CACHE_HOME:-~/.cache}/pidscope/lua/<key>/ (outside the clone, so CI runs reuse it), keyed by
 * the source tarball and the flags.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const CACHE = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'pidscope');
export const LUA_CACHE = join(CACHE, 'lua');

/** Downloads the Debian source (once), returns the orig tarball path, or throws with the reason. */
function luaSource(): string {
  mkdirSync(LUA_CACHE, { recursive: true });
  const find = () => readdirSync(LUA_CACHE).find((f) => /^lua5\.4_.*\.orig\.tar\.gz$/.test(f));
  let tar = find();
  if (!tar) {
    execFileSync('apt-get', ['source', '--download-only', 'lua5.4'], { cwd: LUA_CACHE, stdio: 'pipe', timeout: 300_000 });
    tar = find();
    if (!tar) throw new Error('apt-get source lua5.4 produced no orig tarball (deb-src configured? see ../shared/ENVIRONMENT.md)');
  }
  return join(LUA_CACHE, tar);
}

/** Like buildLua, but undefined (with the reason) when the source cannot be fetched here. */
export function tryBuildLua(cflags = '-g -O0'): { binary?: string; reason?: string } {
  try {
    return { binary: buildLua(cflags) };
  } catch (e) {
    return { reason: (e as Error).message.split('\n')[0] };
  }
}

/** Path of a `lua` binary built with `cflags` (e.g. '-g -O0'); builds it if missing. */
export function buildLua(cflags = '-g -O0'): string {
  const tar = luaSource();
  const key = createHash('sha256').update(readFileSync(tar)).update(cflags).digest('hex').slice(0, 16);
  const dir = join(LUA_CACHE, key);
  const bin = join(dir, 'lua');
  if (existsSync(bin)) return bin;
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  execFileSync('tar', ['xzf', tar, '-C', tmp, '--strip-components=1'], { stdio: 'pipe' });
  execFileSync('make', ['-C', join(tmp, 'src'), '-j2', 'linux', `MYCFLAGS=${cflags}`, 'CC=gcc'], { stdio: 'pipe', timeout: 600_000 });
  mkdirSync(dir, { recursive: true });
  renameSync(join(tmp, 'src', 'lua'), bin);
  rmSync(tmp, { recursive: true, force: true });
  return bin;
}

/** A script that builds some state, says ready, then blocks on stdin (holds still, no CPU). */
export const LUA_SCRIPT = `
local t = {}
for i = 1, 200 do t[i] = "item" .. i end
config = { name = "pidscope", workers = { 1, 2, 3 }, ratio = 0.75 }
local co = coroutine.create(function() coroutine.yield(1) end)
coroutine.resume(co)
io.write("ready\\n"); io.flush()
io.read("l")
`;

export interface RunningLua {
  pid: number;
  proc: ChildProcess;
  binary: string;
  stop(): Promise<void>;
}

export async function startLua(binary: string): Promise<RunningLua> {
  const proc = spawn(binary, ['-e', LUA_SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`lua did not say ready: ${out}`)), 15_000);
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    proc.on('exit', (c) => reject(new Error(`lua exited (${c}): ${out}`)));
  });
  return {
    pid: proc.pid!,
    proc,
    binary,
    stop: async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const gone = new Promise<void>((r) => proc.on('exit', () => r()));
      proc.kill('SIGKILL');
      await gone;
    },
  };
}

/**
 * redis-server 7.0 from Debian's source package, built as upstream builds it (-O2 -g, bundled
 * deps, libc malloc): a big real program (several MB of DWARF) for bench:symbols.
 */
export function buildRedis(): string {
  const dir = join(CACHE, 'redis');
  mkdirSync(dir, { recursive: true });
  const find = () => readdirSync(dir).find((f) => /^redis_.*\.orig\.tar\.gz$/.test(f));
  let tar = find();
  if (!tar) {
    execFileSync('apt-get', ['source', '--download-only', 'redis'], { cwd: dir, stdio: 'pipe', timeout: 300_000 });
    tar = find();
    if (!tar) throw new Error('apt-get source redis produced no orig tarball (deb-src configured?)');
  }
  const key = createHash('sha256')
    .update(readFileSync(join(dir, tar)))
    .update('MALLOC=libc BUILD_TLS=no USE_SYSTEMD=no')
    .digest('hex')
    .slice(0, 16);
  const bin = join(dir, key, 'redis-server');
  if (existsSync(bin)) return bin;
  const tmp = join(dir, `${key}.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  execFileSync('tar', ['xzf', join(dir, tar), '-C', tmp, '--strip-components=1'], { stdio: 'pipe' });
  execFileSync('make', ['-j2', 'MALLOC=libc', 'BUILD_TLS=no', 'USE_SYSTEMD=no'], { cwd: tmp, stdio: 'pipe', timeout: 1_800_000 });
  mkdirSync(join(dir, key), { recursive: true });
  renameSync(join(tmp, 'src', 'redis-server'), bin);
  rmSync(tmp, { recursive: true, force: true });
  return bin;
}
