/**
 * npm run bench:stack — call stacks of every thread of a 100-thread process: pidscope (never
 * stops it) side by side with `gdb -batch -p PID -ex 'thread apply all bt'` and `eu-stack -p PID`
 * (both stop every thread through ptrace), and what a snapshot once per second costs the target.
 *
 * Target: fixtures/build/O0-dwarf5-pie/stacks --idle 93 (100 threads: 98 blocked in read(),
 * main in pthread_join, `progress` sleeping 1 ms, `spin` counting g_spin_count in a tight loop).
 * Slowdown: g_spin_count per second (read live), in 1 s windows alternating idle and
 * "pidscope snapshots every thread once", interleaved so the machine's load hits both alike.
 *
 * Environment: PIDSCOPE_BENCH_RUNS (default 5), PIDSCOPE_BENCH_WINDOWS (default 6).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Program } from '../adapter/src/engine/program';
import { formatThread } from '../adapter/src/stack/format';
import { takeStacks } from '../adapter/src/stack/stacks';
import { startFixture } from '../test/support/fixtures';
import { median, sleep } from './common';

const RUNS = Math.max(1, Number(process.env.PIDSCOPE_BENCH_RUNS ?? 5));
const WINDOWS = Math.max(2, Number(process.env.PIDSCOPE_BENCH_WINDOWS ?? 6));

function run(cmd: string, args: string[]): Promise<{ ms: number; out: string; ok: boolean }> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    execFile(cmd, args, { maxBuffer: 256 << 20, timeout: 120_000 }, (err, stdout) => resolve({ ms: performance.now() - t0, out: String(stdout), ok: !err }));
  });
}

function tracerPid(pid: number): number {
  return Number(/TracerPid:\s*(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? -1);
}

async function main(): Promise<void> {
  const fixture = await startFixture('stacks', { args: ['--idle', '93'] });
  const bin = fixture.binary;
  const pid = fixture.pid;
  try {
    const threads = readFileSync(`/proc/${pid}/status`, 'utf8').match(/Threads:\s*(\d+)/)?.[1];
    console.log(`target: ${bin} --idle 93 (pid ${pid}, ${threads} threads)\n`);
    const t0 = performance.now();
    const program = await Program.open(pid);
    const openMs = performance.now() - t0;
    const snap = () => {
      const r = takeStacks(program, { onThread: (t) => formatThread(t, false) });
      return r.threads.reduce((n, t) => n + t.frames.length, 0);
    };
    const t1 = performance.now();
    const frames = snap();
    const coldMs = performance.now() - t1;
    const warm: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const s = performance.now();
      snap();
      warm.push(performance.now() - s);
    }
    const gdb: number[] = [];
    const eu: number[] = [];
    let gdbFrames = 0;
    let euFrames = 0;
    for (let i = 0; i < RUNS; i++) {
      const g = await run('gdb', ['-nx', '-batch', '-p', String(pid), '-ex', 'set pagination off', '-ex', 'thread apply all bt']);
      gdb.push(g.ms);
      gdbFrames = (g.out.match(/^#\d+ /gm) ?? []).length;
      const e = await run('eu-stack', ['-p', String(pid)]);
      eu.push(e.ms);
      euFrames = (e.out.match(/^#\d+ /gm) ?? []).length;
    }
    const rows: Array<[string, string, string]> = [
      ['pidscope open (once: pidfd, maps, ELF)', `${openMs.toFixed(0)} ms`, ''],
      ['pidscope first snapshot (DWARF/CFI cold)', `${coldMs.toFixed(0)} ms`, `${frames} frames`],
      [`pidscope snapshot, median of ${RUNS}`, `${median(warm).toFixed(0)} ms`, `${frames} frames`],
      [`gdb thread apply all bt, median of ${RUNS}`, `${median(gdb).toFixed(0)} ms`, `${gdbFrames} frames`],
      [`eu-stack -p, median of ${RUNS}`, `${median(eu).toFixed(0)} ms`, `${euFrames} frames`],
    ];
    for (const [a, b, c] of rows) console.log(`${a.padEnd(46)} ${b.padStart(9)}  ${c}`);

    // Slowdown: g_spin_count per second, idle vs one full snapshot per window.
    const counter = () => BigInt(program.print('g_spin_count'));
    const idle: number[] = [];
    const busy: number[] = [];
    for (let w = 0; w < WINDOWS; w++) {
      const snapping = w % 2 === 1;
      const c0 = counter();
      const s = performance.now();
      if (snapping) snap();
      await sleep(Math.max(0, 1000 - (performance.now() - s)));
      const rate = Number(counter() - c0) / ((performance.now() - s) / 1000);
      (snapping ? busy : idle).push(rate);
    }
    const base = median(idle);
    const with1 = median(busy);
    console.log(`\ntarget spin loop, idle windows        ${Math.round(base).toLocaleString('en-US').padStart(15)} iterations/s`);
    console.log(
      `target spin loop, 1 snapshot/second   ${Math.round(with1).toLocaleString('en-US').padStart(15)} iterations/s (${((1 - with1 / base) * 100).toFixed(1)}% slower; noise: idle windows span ${Math.round(Math.min(...idle)).toLocaleString('en-US')}..${Math.round(Math.max(...idle)).toLocaleString('en-US')})`,
    );
    console.log(`TracerPid after pidscope: ${tracerPid(pid)}`);
    program.close();
  } finally {
    await fixture.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
