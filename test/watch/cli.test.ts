/**
 * `pidscope watch` end to end: the CLI from sources against the threads fixture.
 */
import type { ChildProcess } from 'node:child_process';
import { pidscopeLive, type LiveRun } from '../cli/run';
import { afterAll, describe, expect, it } from 'vitest';
import { markerLine, startFixture, type RunningFixture } from '../support/fixtures';
import { monitorNeverStopped, readU64, tracerPid } from '../support/proc';
import { symbolAddress } from '../support/symbols';
import { itHw, itPerf } from '../support/hwGate';

const started: RunningFixture[] = [];
afterAll(async () => {
  for (const fx of started) await fx.stop();
});

/** Runs the CLI; `whileRunning` may act on it (send a signal) once it printed `readyWhen`. */
function pidscope(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; readyWhen?: RegExp; whileRunning?: (p: ChildProcess) => void; timeoutMs?: number } = {},
): Promise<LiveRun> {
  let acted = false;
  return pidscopeLive(args, {
    env: opts.env,
    timeoutMs: opts.timeoutMs,
    onOutput: (text, p) => {
      if (acted || !opts.readyWhen?.test(text)) return;
      acted = true;
      opts.whileRunning?.(p);
    },
  });
}

describe('pidscope watch', () => {
  itHw('streams one line per write with the writer, and exits 0 on SIGINT; the target never stops', async () => {
    const fx = await startFixture('threads', { args: ['2', '--interval-ms', '50'] });
    started.push(fx);
    const monitor = monitorNeverStopped(fx.pid);
    const r = await pidscope(['watch', '--pid', String(fx.pid), 'g_slots[1]', '--max-rate', '0'], {
      // Four hits, then Ctrl-C.
      readyWhen: /(g_slots\[1\]: .*\n){4}/,
      whileRunning: (p) => p.kill('SIGINT'),
    });
    expect(r.code).toBe(0);
    const line = markerLine('threads.c', 'WRITE_SLOT');
    const lines = r.stdout.trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(4);
    for (const l of lines) {
      expect(l).toMatch(
        new RegExp(
          `^g_slots\\[1\\]: (\\d+|\\?) → (\\d+|\\(overwritten before it could be read\\)) by worker_loop \\(threads\\.c:${line}\\) \\[tid \\d+ worker-1\\]$`,
        ),
      );
    }
    expect(r.stderr).toMatch(/watching g_slots\[1\] \(8 bytes at 0x[0-9a-f]+\): hardware/);
    expect(r.stderr).toMatch(/stopped by SIGINT; g_slots\[1\]: \d+ writes/);
    expect((await monitor.stop()).violations).toEqual([]);
    expect(tracerPid(fx.pid)).toBe(0);
  });

  itHw('--json: a watch line, hit lines with writer and values, an ended line when the target exits', async () => {
    const fx = await startFixture('threads', { args: ['1', '--interval-ms', '20'] });
    started.push(fx);
    const r = await pidscope(['watch', '--pid', String(fx.pid), 'g_shared', '--json', '--max-rate', '0'], {
      readyWhen: /"type":"hit"(.|\n)*"type":"hit"(.|\n)*"type":"hit"/,
      whileRunning: () => void fx.stop(),
    });
    expect(r.code).toBe(0);
    const objs = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, any>);
    expect(objs[0]).toMatchObject({ type: 'watch', expression: 'g_shared', size: 8, mode: 'hw', access: 'write' });
    const hits = objs.filter((o) => o.type === 'hit');
    expect(hits.length).toBeGreaterThanOrEqual(3);
    for (const h of hits) {
      expect(h).toMatchObject({
        source: 'hw',
        writer: { function: 'worker_loop', file: 'threads.c', line: markerLine('threads.c', 'WRITE_SHARED'), thread: 'worker-0' },
      });
    }
    const seen = hits.filter((h) => h.valueSeen).map((h) => Number(h.value));
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThan(seen[i - 1]!);
    expect(objs.at(-1)).toMatchObject({ type: 'ended', reason: expect.stringMatching(/exited/) });
  });

  it('poll mode and the perf-refused fallback say why; --duration ends it', async () => {
    const fx = await startFixture('threads', { args: ['1', '--interval-ms', '5'] });
    started.push(fx);
    const r = await pidscope(['watch', '--pid', String(fx.pid), 'g_shared', '--duration', '1', '--interval', '10'], { env: { PIDSCOPE_PERF: 'deny' } });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/polling every 10 ms \(hardware watchpoint refused: perf_event_open was refused/);
    expect(r.stdout).toMatch(/^g_shared: \d+ → \d+$/m);
    expect(r.stderr).toMatch(/--duration 1 s elapsed/);
    const hw = await pidscope(['watch', '--pid', String(fx.pid), 'g_shared', '--mode', 'hw'], { env: { PIDSCOPE_PERF: 'deny' } });
    expect(hw.code).toBe(1);
    expect(hw.stderr).toMatch(/hardware watchpoint refused.*Use --mode poll/);
  });

  itPerf(
    'on a host where breakpoints never fire (PIDSCOPE_HWBP=nofire), auto polls, reports the changes and says why; --mode hw is refused with the probe',
    async () => {
      const fx = await startFixture('threads', { args: ['2', '--interval-ms', '20'] });
      started.push(fx);
      const monitor = monitorNeverStopped(fx.pid);
      const env = { PIDSCOPE_HWBP: 'nofire' };
      const r = await pidscope(['watch', '--pid', String(fx.pid), 'g_slots[1]', '--max-rate', '0', '--interval', '5'], {
        env,
        readyWhen: /(g_slots\[1\]: .*\n){3}/,
        whileRunning: (p) => p.kill('SIGINT'),
      });
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(
        /watching g_slots\[1\] \(8 bytes at 0x[0-9a-f]+\): polling every 5 ms \(hardware breakpoints do not fire on this host \(simulated by PIDSCOPE_HWBP=nofire\)\)/,
      );
      const lines = r.stdout.trim().split('\n');
      expect(lines.length).toBeGreaterThanOrEqual(3);
      // Polling sees changes (no writer); worker 1 stores 1000000 + k.
      for (const l of lines) expect(l).toMatch(/^g_slots\[1\]: \d+ → 100\d{4}$/);
      expect(r.stderr).toMatch(/stopped by SIGINT; g_slots\[1\]: \d+ changes/);
      const hw = await pidscope(['watch', '--pid', String(fx.pid), 'g_shared', '--mode', 'hw'], { env });
      expect(hw.code).toBe(1);
      expect(hw.stderr).toMatch(/hardware breakpoints do not fire on this host.*Use --mode poll/);
      const json = await pidscope(['watch', '--pid', String(fx.pid), 'g_shared', '--json', '--duration', '0.5'], { env });
      expect(JSON.parse(json.stdout.split('\n')[0]!)).toMatchObject({ type: 'watch', mode: 'poll', fallbackReason: expect.stringMatching(/do not fire/) });
      expect((await monitor.stop()).violations).toEqual([]);
    },
  );

  itHw('conditions and hit conditions filter', async () => {
    const fx = await startFixture('threads', { args: ['1', '--interval-ms', '40', '--writes', '25', '--wait-go'] });
    started.push(fx);
    const done = symbolAddress(fx.pid, 'g_workers_done');
    const r = await pidscope(
      ['watch', '--pid', String(fx.pid), 'g_slots[0]', '--condition', 'value % 5 == 0 && g_go == 1', '--hit-condition', '>= 2', '--max-rate', '0', '--json'],
      {
        readyWhen: /"type":"watch"/,
        whileRunning: () => {
          process.kill(fx.pid, 'SIGUSR1');
          const t = setInterval(() => {
            if (readU64(fx.pid, done) % 2n ** 32n === 1n) {
              clearInterval(t);
              setTimeout(() => process.kill(fx.pid, 'SIGTERM'), 200);
            }
          }, 20);
        },
      },
    );
    expect(r.code).toBe(0);
    const objs = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, any>);
    const values = objs.filter((o) => o.type === 'hit').map((o) => Number(o.value));
    // Values 5, 10, …, 25 pass the condition; the hit condition drops the first of them. A
    // value overwritten before it could be read cannot pass a condition (40 ms apart: rare).
    expect(values.length).toBeGreaterThan(0);
    for (const v of values) {
      expect(v % 5).toBe(0);
      expect(v).toBeGreaterThanOrEqual(10);
    }
    const ended = objs.at(-1)!;
    expect(ended.type, `types: ${objs.map((o) => `${o.type}${o.seq ?? ''}`).join(' ')} stderr: ${r.stderr.slice(-600)}`).toBe('ended');
    expect(ended.watches[0].hits).toBe(25);
  });

  it('refuses expressions without an address, and bad options, with the fix', async () => {
    const fx = await startFixture('threads', { args: ['1'] });
    started.push(fx);
    const r = await pidscope(['watch', '--pid', String(fx.pid), 'g_shared + 1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/'g_shared \+ 1' has no address.*Watch a variable/);
    const big = await pidscope(['watch', '--pid', String(fx.pid), 'g_slots', '--mode', 'hw']);
    expect(big.code).toBe(1);
    expect(big.stderr).toMatch(/needs 16 debug registers.*--mode poll/);
    const read = await pidscope(['watch', '--pid', String(fx.pid), 'g_shared', '--access', 'read']);
    expect(read.code).toBe(1);
    expect(read.stderr).toMatch(/cannot watch reads alone/);
    const usage = await pidscope(['watch', '--pid', String(fx.pid)]);
    expect(usage.code).toBe(2);
  });

  itHw('a hot variable does not flood: at most --max-rate lines per second, then a summary with the count and last writer', async () => {
    const fx = await startFixture('threads', { args: ['0', '--hot'] });
    started.push(fx);
    const monitor = monitorNeverStopped(fx.pid);
    const r = await pidscope(['watch', '--pid', String(fx.pid), 'g_hot', '--duration', '3', '--max-rate', '5']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    const summaries = lines.filter((l) => /writes in the last/.test(l));
    expect(summaries.length).toBeGreaterThanOrEqual(1);
    // 3 s at 5 lines per second plus one summary per window: bounded whatever the write rate.
    expect(lines.length).toBeLessThanOrEqual(3 * 5 + 5 + 5);
    const hot = markerLine('threads.c', 'WRITE_HOT');
    expect(summaries[0]).toMatch(new RegExp(`^g_hot: [\\d,]+ writes in the last .*, last by hot_loop \\(threads\\.c:${hot}\\) \\[tid \\d+\\]`));
    const total = Number(/g_hot: (\d+) writes/.exec(r.stderr)![1]);
    expect(total).toBeGreaterThan(lines.length);
    expect((await monitor.stop()).violations).toEqual([]);
  });

  it('--log prints the message with {expressions} evaluated (value, old, globals)', async () => {
    const fx = await startFixture('threads', { args: ['1', '--interval-ms', '30'] });
    started.push(fx);
    const r = await pidscope(
      ['watch', '--pid', String(fx.pid), 'g_slots[0]', '--log', 'slot0 {old} -> {value}, workers={g_nworkers}, {{braces}}', '--max-rate', '0'],
      {
        readyWhen: /(slot0 .*\n){3}/,
        whileRunning: (p) => p.kill('SIGTERM'),
      },
    );
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const l of lines) expect(l).toMatch(/^slot0 (\d+|\?) -> (\d+|\?), workers=1, \{braces\}$/);
    expect(r.stderr).toMatch(/stopped by SIGTERM/);
  });

  it('conditions and log messages see value and old as the whole typed object (arrays, structs)', async () => {
    const fx = await startFixture('demo', { args: ['--tick-ms', '20'] });
    started.push(fx);
    const r = await pidscope(
      [
        'watch',
        '--pid',
        String(fx.pid),
        'g_latencies_ms',
        '--mode',
        'poll',
        '--interval',
        '5',
        '--condition',
        'value[1] != old[1]',
        '--log',
        'slot1 {old[1]} -> {value[1]} (head {g_latency_head})',
        '--max-rate',
        '0',
      ],
      { readyWhen: /(slot1 .*\n){3}/, whileRunning: (p) => p.kill('SIGINT'), timeoutMs: 90_000 },
    );
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const l of lines) {
      const m = /^slot1 (\S+) -> (\S+) \(head \d\)$/.exec(l);
      expect(m, l).not.toBeNull();
      expect(m![1]).not.toBe(m![2]);
    }
  });
});
