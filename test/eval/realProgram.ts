/**
 * A real C program nobody here wrote, for the oracle and the symbols benchmark: Lua 5.4 built
 * from Debian's source package with -g. Built once per machine into
 * ${XDG_CACHE_HOME:-~/.cache}/pidscope/lua/<key>/ (outside the clone, so CI runs reuse it), keyed by
 * the source tarball and the flags.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { buildKey, CACHE, debianSource, stopper, waitForOutput } from '../support/debianBuild';

export const LUA_CACHE = join(CACHE, 'lua');

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
  const tar = debianSource(LUA_CACHE, 'lua5.4', /^lua5\.4_.*\.orig\.tar\.gz$/, 300_000);
  const key = buildKey(tar, cflags);
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
  await waitForOutput(proc, /ready/, 'lua', 15_000);
  return { pid: proc.pid!, proc, binary, stop: stopper(proc) };
}

/**
 * redis-server 7.0 from Debian's source package, built as upstream builds it (-O2 -g, bundled
 * deps, libc malloc): a big real program (several MB of DWARF) for bench:symbols.
 */
export function buildRedis(): string {
  const dir = join(CACHE, 'redis');
  const tar = debianSource(dir, 'redis', /^redis_.*\.orig\.tar\.gz$/, 300_000);
  const key = buildKey(tar, 'MALLOC=libc BUILD_TLS=no USE_SYSTEMD=no');
  const bin = join(dir, key, 'redis-server');
  if (existsSync(bin)) return bin;
  const tmp = join(dir, `${key}.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  execFileSync('tar', ['xzf', tar, '-C', tmp, '--strip-components=1'], { stdio: 'pipe' });
  execFileSync('make', ['-j2', 'MALLOC=libc', 'BUILD_TLS=no', 'USE_SYSTEMD=no'], { cwd: tmp, stdio: 'pipe', timeout: 1_800_000 });
  mkdirSync(join(dir, key), { recursive: true });
  renameSync(join(tmp, 'src', 'redis-server'), bin);
  rmSync(tmp, { recursive: true, force: true });
  return bin;
}
