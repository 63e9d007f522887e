/**
 * `pidscope stack` on bad input: each a clear one-line message, never a crash or a hang.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFixture, type RunningFixture } from '../support/fixtures';
import { tracerPid } from '../support/proc';
import { expectOneLine, pidscope } from '../cli/run';

let fx: RunningFixture;
beforeAll(async () => {
  fx = await startFixture('stacks', { args: ['--deep', '10000'] });
});
afterAll(async () => {
  await fx?.stop();
});

describe('stack: bad input', () => {
  it('a tid that is not a thread of the process', async () => {
    const r = await pidscope(['stack', '--pid', String(fx.pid), '--tid', '1']);
    expect(r.code).toBe(1);
    expect(expectOneLine(r.stderr)).toMatch(/Thread 1 is not a thread of process \d+/);
  });

  it('a pid that does not exist', async () => {
    const r = await pidscope(['stack', '--pid', '4194303']); // pid_max on 64-bit: never a live process here
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBe(70);
    expectOneLine(r.stderr);
  });

  it('perf refused: running threads are named as not shown, and why; blocked ones still show', async () => {
    const r = await pidscope(['stack', '--pid', String(fx.pid)], { env: { PIDSCOPE_PERF: 'deny' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/thread \d+ is running and its registers can only be sampled through perf: perf_event_open was refused/);
    expect(r.stdout).toMatch(/"nested"\):\n#0 /);
    expect(tracerPid(fx.pid)).toBe(0);
  });

  it("10,000-deep recursion: every frame, and --depth cuts with gdb's marker", async () => {
    const deep = await pidscope(['stack', '--pid', String(fx.pid), '--depth', '50']);
    expect(deep.stdout).toMatch(/"deep"\):\n(#\d+ .*\n){50}\(More stack frames follow\.\.\.\)\n/);
    const all = await pidscope(['stack', '--pid', String(fx.pid), '--json', '--depth', '20000']);
    const t = (JSON.parse(all.stdout) as { threads: Array<{ name: string; frames: Array<{ function?: string }> }> }).threads.find((x) => x.name === 'deep')!;
    expect(t.frames.filter((f) => f.function === 'recurse_deep').length).toBe(10_001);
  }, 120_000);
});

describe('stack: a process whose threads exit while it is read', () => {
  it('every run ends with a clear message or a stack, never a crash', async () => {
    const lc = await startFixture('lifecycle', { args: ['exit-after', '1500', '0'] });
    const runs: Array<{ code: number; stderr: string }> = [];
    const { existsSync } = await import('node:fs');
    for (let i = 0; i < 20 && existsSync(`/proc/${lc.pid}/task`); i++) runs.push(await pidscope(['stack', '--pid', String(lc.pid)]));
    runs.push(await pidscope(['stack', '--pid', String(lc.pid)]));
    await lc.stop();
    for (const r of runs) {
      expect(r.code === 0 || r.code === 1, r.stderr).toBe(true);
      expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
    }
    // The last run, after the exit, says the process is gone.
    expect(runs[runs.length - 1].stderr).toMatch(/[Nn]o process with pid/);
  }, 120_000);
});
