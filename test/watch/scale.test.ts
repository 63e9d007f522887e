/**
 * Watches on a process with hundreds of threads (`threads 2 --idle 498`: 501 threads), through the
 * CLI: arming finishes and the writes are reported, --duration and Ctrl-C end it while threads are
 * still being armed, and a watch that would need more perf fds than RLIMIT_NOFILE leaves is
 * refused up front (auto polls instead) rather than failing mid-way or hanging. Behaviour only:
 * no timing is asserted (bench:watch measures it).
 */
import { pidscopeLive } from '../cli/run';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { markerLine, startFixture, type RunningFixture } from '../support/fixtures';
import { itHw } from '../support/hwGate';
import { tracerPid } from '../support/proc';

const THREADS = 501;
let fx: RunningFixture;
beforeAll(async () => {
  fx = await startFixture('threads', { args: ['2', '--idle', String(THREADS - 3), '--interval-ms', '20'] });
});
afterAll(async () => {
  await fx?.stop();
});

/** Online CPUs, as the watch engine counts them (one perf event per thread and CPU). */
function onlineCpus(): number {
  let n = 0;
  for (const part of readFileSync('/sys/devices/system/cpu/online', 'utf8').trim().split(',')) {
    const [a, b] = part.split('-').map(Number);
    n += (b ?? a!) - a! + 1;
  }
  return n;
}

/** The CLI from sources; `shell` prefixes it (e.g. `ulimit -n 600;`); `onOutput` may act on it. */
const pidscope = (args: string[], opts: Omit<Parameters<typeof pidscopeLive>[1] & object, 'timeoutMs'> = {}) =>
  pidscopeLive(args, { ...opts, timeoutMs: 90_000 });

describe(`watch on a process with ${THREADS} threads`, () => {
  itHw('arms every thread (more than one chunk), reports the writes with their writers, and --duration ends it', async () => {
    const r = await pidscope(['watch', '--pid', String(fx.pid), 'g_shared', 'g_slots[0]', 'g_slots[1]', '--duration', '2', '--max-rate', '0', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const objs = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, any>);
    expect(objs.filter((o) => o.type === 'watch').map((o) => o.mode)).toEqual(['hw', 'hw', 'hw']);
    const armed = objs.filter((o) => o.type === 'status' && /armed on/.test(o.message)).map((o) => o.message as string);
    expect(armed).toHaveLength(3);
    for (const m of armed) {
      const threads = Number(/armed on ([\d,]+) threads/.exec(m)![1]!.replace(/,/g, ''));
      expect(threads).toBeGreaterThanOrEqual(THREADS);
      // threads x CPUs x 1 register: the stated bound.
      const fds = Number(/\(([\d,]+) perf fds\)/.exec(m)![1]!.replace(/,/g, ''));
      expect(fds % threads).toBe(0);
    }
    const hits = objs.filter((o) => o.type === 'hit');
    const line = markerLine('threads.c', 'WRITE_SLOT');
    expect(hits.filter((h) => h.expression === 'g_slots[1]').length).toBeGreaterThan(0);
    for (const h of hits.filter((x) => x.expression !== 'g_shared')) expect(h.writer).toMatchObject({ function: 'worker_loop', line });
    expect(objs.at(-1)).toMatchObject({ type: 'ended', reason: '--duration 2 s elapsed' });
    expect(tracerPid(fx.pid)).toBe(0);
  });

  itHw('Ctrl-C while threads are still being armed ends it at once, cleanly', async () => {
    let sent = false;
    const r = await pidscope(['watch', '--pid', String(fx.pid), 'g_shared', 'g_slots[0]', 'g_slots[1]', 'g_slots[2]'], {
      onOutput: (text, p) => {
        // The first watch line comes while its threads are being armed (arming 5xx threads …).
        if (!sent && /watching g_shared .*: hardware, arming/.test(text)) {
          sent = true;
          p.kill('SIGINT');
        }
      },
    });
    expect(sent).toBe(true);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/stopped by SIGINT/);
    expect(r.stderr).not.toMatch(/internal error|FATAL|Unhandled/);
  });

  itHw('over RLIMIT_NOFILE: refused up front with the numbers and the fix; auto polls and still reports the changes', async () => {
    const shell = 'ulimit -n 700;';
    const hw = await pidscope(['watch', '--pid', String(fx.pid), 'g_slots[1]', '--mode', 'hw'], { shell });
    expect(hw.code).toBe(1);
    expect(hw.stderr).toMatch(
      /needs [\d,]+ perf fds \(threads x \d+ CPUs x 1 debug register\(s\)\), more than the [\d,]+ left under RLIMIT_NOFILE 700 .*raise it \(ulimit -n\) or use --mode poll/,
    );
    const auto = await pidscope(['watch', '--pid', String(fx.pid), 'g_slots[1]', '--duration', '1', '--interval', '5', '--max-rate', '0'], { shell });
    expect(auto.code, auto.stderr).toBe(0);
    expect(auto.stderr).toMatch(/polling every 5 ms \(hardware watchpoint refused: watching all \d+ threads needs/);
    expect(auto.stdout).toMatch(/^g_slots\[1\]: \d+ → \d+$/m);
  });

  itHw("two watches under a limit that holds one: the second is refused up front (the first one's fds still to come count), and polls", async () => {
    const perWatch = THREADS * onlineCpus();
    const shell = `ulimit -n ${Math.round(perWatch * 1.5) + 300};`;
    const r = await pidscope(
      ['watch', '--pid', String(fx.pid), 'g_slots[0]', 'g_slots[1]', '--duration', '1', '--interval', '5', '--max-rate', '0', '--json'],
      { shell },
    );
    expect(r.code, r.stderr).toBe(0);
    const objs = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, any>);
    const watches = objs.filter((o) => o.type === 'watch');
    expect(watches.map((w) => w.mode)).toEqual(['hw', 'poll']);
    expect(watches[1].fallbackReason).toMatch(/needs [\d,]+ perf fds .*open or promised to other watches/);
    // Neither ran out of fds half-way.
    expect(objs.filter((o) => o.type === 'status' && /gave up/.test(o.message))).toEqual([]);
    expect(objs.some((o) => o.type === 'hit' && o.expression === 'g_slots[1]')).toBe(true);
  });

  it('poll mode: any number of threads, no perf fds; reports the changes; --duration ends it', async () => {
    const r = await pidscope([
      'watch',
      '--pid',
      String(fx.pid),
      'g_slots[0]',
      'g_slots[1]',
      '--mode',
      'poll',
      '--interval',
      '5',
      '--duration',
      '1',
      '--max-rate',
      '0',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^g_slots\[0\]: \d+ → \d+$/m);
    expect(r.stdout).toMatch(/^g_slots\[1\]: \d+ → \d+$/m);
    expect(r.stderr).toMatch(/--duration 1 s elapsed/);
  });
});
