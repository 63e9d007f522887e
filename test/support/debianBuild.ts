/**
 * Real programs nobody here wrote, for oracles and benches: built from Debian source packages
 * once per machine into ${XDG_CACHE_HOME:-~/.cache}/pidscope/NAME/<key>/ (outside the clone, so
 * CI runs reuse them), the key a hash of the source tarball and the build flags; and started until
 * they say they are ready.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const CACHE = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'pidscope');

/**
 * The orig tarball of Debian source package `pkg` in `dir` (`apt-get source --download-only`,
 * once), or an error with the reason. A stale apt list can miss the Debian patch files and still
 * have fetched the orig tarball: that counts as fetched.
 */
export function debianSource(dir: string, pkg: string, tarball: RegExp, timeoutMs = 600_000): string {
  mkdirSync(dir, { recursive: true });
  const find = () => readdirSync(dir).find((f) => tarball.test(f));
  let tar = find();
  if (!tar) {
    let why = '';
    try {
      execFileSync('apt-get', ['source', '--download-only', pkg], { cwd: dir, stdio: 'pipe', timeout: timeoutMs });
    } catch (e) {
      why = (e as Error).message.split('\n').slice(0, 3).join(' ');
    }
    tar = find();
    if (!tar)
      throw new Error(
        `apt-get source ${pkg} produced no orig tarball (deb-src configured? apt-get update? see ../shared/ENVIRONMENT.md)${why ? `: ${why}` : ''}`,
      );
  }
  return join(dir, tar);
}

/** The cache key of a build: the source tarball and the flags it was built with. */
export function buildKey(tar: string, flags: string): string {
  return createHash('sha256').update(readFileSync(tar)).update(flags).digest('hex').slice(0, 16);
}

/** Resolves when the child's stdout or stderr has matched `ready`; rejects when it exits first or after `timeoutMs`. */
export function waitForOutput(child: ChildProcess, ready: RegExp, what: string, timeoutMs = 30_000): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${what}: no ${ready} within ${timeoutMs / 1000} s: ${out}`)), timeoutMs);
    const on = (d: Buffer) => {
      out += d.toString();
      if (ready.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', on);
    child.stderr?.on('data', on);
    child.on('exit', (code) => reject(new Error(`${what} exited (${code}): ${out}`)));
  });
}

/** A stop function: sends `signal` (SIGKILL by default) unless the child is gone, and waits for its exit. */
export function stopper(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): () => Promise<void> {
  return async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((r) => child.on('exit', () => r()));
    child.kill(signal);
    await gone;
  };
}
