/**
 * A target that exits while `pidscope watch` starts (issue 16, part 5): whenever the exit falls —
 * before the attach, while symbols load, between the attach and the first watch, or after —
 * watch ends with a clear message (exit 0 or 1), never a native abort (napi_throw FATAL ERROR,
 * exit 134: the Program was left open and its pidfd poll handle fired during Node's teardown).
 * The target is killed the moment pidscope holds its pidfd, i.e. while symbols load.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, startFixture } from '../support/fixtures';
import { MAIN } from '../cli/run';

/** True once process `pid` holds a pidfd (pidscope attached: symbols load next). */
function holdsPidfd(pid: number): boolean {
  try {
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`) === 'anon_inode:[pidfd]';
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

/** Runs watch on `pid`; `kill` is called once pidscope holds the target's pidfd (or never). */
function watch(pid: number, kill?: () => void): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', MAIN, 'watch', '--pid', String(pid), 'g_progress', '--mode', 'poll', '--duration', '3'], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    p.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const poll = kill
      ? setInterval(() => {
          if (holdsPidfd(p.pid!)) {
            clearInterval(poll);
            kill();
          }
        }, 1)
      : undefined;
    p.on('exit', (code, signal) => {
      if (poll) clearInterval(poll);
      resolve({ code, signal, stderr });
    });
  });
}

describe('pidscope watch: the target exits during start-up', () => {
  it('ends with a clear message, never a native abort', async () => {
    const results = [];
    for (let i = 0; i < 6; i++) {
      const fx = await startFixture('lifecycle', { args: ['idle'] });
      const r = await watch(fx.pid, () => fx.proc.kill('SIGKILL'));
      await fx.stop();
      results.push({ run: i, ...r });
    }
    for (const r of results) {
      const what = `run ${r.run}: code ${r.code}, signal ${r.signal}, stderr ${JSON.stringify(r.stderr)}`;
      expect(r.signal, what).toBeNull();
      expect([0, 1], what).toContain(r.code);
      expect(r.stderr, what).not.toMatch(/FATAL|internal error|napi/);
      expect(r.stderr, what).toMatch(/exited|does not exist|no process/);
    }
  });
});
