/**
 * npm run bench:watch — what watching a hot variable costs the target.
 *
 * The `threads` fixture with `0 --hot` runs one thread that writes g_hot in a tight loop and counts
 * g_hot_iterations. Peers, side by side on the same running target:
 *
 *   none            no watch at all (the baseline)
 *   pidscope poll   polling watchpoint on g_hot, one read every 10 ms
 *   pidscope hw     hardware watchpoint on g_hot through perf (every write traps into the kernel)
 *   gdb watch       `watch g_hot` + `commands / silent / continue / end`: how a gdb user logs
 *                   every write (the thread stops at each write, gdb continues it)
 *
 * The machine is shared and noisy, so none/poll/hw run in short interleaved slices (rotating
 * order) on one target, and their iterations are summed per peer: load hits all of them alike.
 * gdb (attaching takes ~0.3 s) gets one window, bracketed by baseline slices on the same target.
 * Throughput is read from g_hot_iterations with live memory reads, which do not disturb it.
 *
 * Then the cost of arming on a big process: `threads 4 --idle 1996` (2,001 threads). Hardware
 * watches are added one by one (1 to 4 debug registers in use) and timed until every thread is
 * armed, with the perf fds held; then removed one by one; writes seen in the meantime are counted.
 *
 * Environment: PIDSCOPE_BENCH_SLICE_MS (default 250), PIDSCOPE_BENCH_ROUNDS (default 8),
 * PIDSCOPE_BENCH_GDB_MS (default 2000), PIDSCOPE_BENCH_VERBOSE=1 (engine status messages),
 * PIDSCOPE_BENCH_ONLY=hot|arm (one part only), PIDSCOPE_BENCH_THREADS (default 2001).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Program } from '../adapter/src/engine/program';
import { startFixture, type RunningFixture } from '../test/support/fixtures';
import { sleep } from './common';
import { WatchEngine } from '../adapter/src/watch/engine';
import { fdUsage } from '../adapter/src/watch/hardware';
import { hardwareBreakpoints } from '../adapter/src/engine/capabilities';
import { resolveWatchTarget } from '../adapter/src/watch/program';
import type { WatchTarget } from '../adapter/src/watch/types';

const SLICE_MS = Number(process.env.PIDSCOPE_BENCH_SLICE_MS ?? 250);
const ROUNDS = Math.max(1, Number(process.env.PIDSCOPE_BENCH_ROUNDS ?? 8));
const GDB_MS = Number(process.env.PIDSCOPE_BENCH_GDB_MS ?? 2000);
const VERBOSE = !!process.env.PIDSCOPE_BENCH_VERBOSE;
const ONLY = process.env.PIDSCOPE_BENCH_ONLY;
const BIG_THREADS = Math.max(6, Number(process.env.PIDSCOPE_BENCH_THREADS ?? 2001));

/** The threads fixture (`threads N [--hot | --idle S]`), started and stopped as the tests do. */
function startHot(args = ['0', '--hot']): Promise<RunningFixture> {
  return startFixture('threads', { args });
}

function state(pid: number): string {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ')[0] ?? '?';
  } catch {
    return 'gone';
  }
}

interface Acc {
  iterations: number;
  seconds: number;
  reported: number;
  kernel: number;
  slices: number[];
}

const newAcc = (): Acc => ({ iterations: 0, seconds: 0, reported: 0, kernel: 0, slices: [] });

/** Counts loop iterations over `ms`; returns [iterations, seconds]. */
async function window(program: Program, counter: bigint, ms: number): Promise<[number, number]> {
  const read = () => program.memory.read(counter, 8).data.readBigUInt64LE(0);
  const a = read();
  const t0 = process.hrtime.bigint();
  await sleep(ms);
  const b = read();
  const t1 = process.hrtime.bigint();
  return [Number(b - a), Number(t1 - t0) / 1e9];
}

let throttled = false;

async function pidscopeSlices(program: Program, pid: number, counter: bigint, hot: WatchTarget): Promise<Record<'none' | 'poll' | 'hw', Acc>> {
  const acc = { none: newAcc(), poll: newAcc(), hw: newAcc() };
  const engine = new WatchEngine({ pid, memory: program.memory, symbols: program.symbols, pollIntervalMs: 10 });
  let hits = 0;
  engine.on('event', (e) => {
    if (e.kind === 'hit') hits++;
    else if (e.kind === 'status') {
      if (/throttled/.test(e.message)) throttled = true;
      if (VERBOSE) console.error(`  ${e.message}`);
    }
  });
  const order: ('none' | 'poll' | 'hw')[] = ['none', 'poll', 'hw'];
  try {
    for (let r = 0; r < ROUNDS; r++) {
      for (let i = 0; i < order.length; i++) {
        const peer = order[(i + r) % order.length]!;
        const id = peer === 'none' ? undefined : engine.add({ ...hot, mode: peer }).id;
        await sleep(100); // arm, and let a hot hw watch settle into batched wakeups
        const h0 = hits;
        const k0 = id !== undefined ? engine.kernelCount(id) : undefined;
        const [n, s] = await window(program, counter, SLICE_MS);
        const k1 = id !== undefined ? engine.kernelCount(id) : undefined;
        if (id !== undefined) engine.remove(id);
        const a = acc[peer];
        a.iterations += n;
        a.seconds += s;
        a.reported += hits - h0;
        if (k0 !== undefined && k1 !== undefined) a.kernel += Number(k1 - k0);
        a.slices.push(n / s);
      }
    }
  } finally {
    engine.close();
  }
  return acc;
}

async function gdbWindow(program: Program, pid: number, counter: bigint): Promise<{ gdb: Acc; around: Acc; note?: string }> {
  const around = newAcc();
  const gdbAcc = newAcc();
  const base = async () => {
    const [n, s] = await window(program, counter, SLICE_MS * 2);
    around.iterations += n;
    around.seconds += s;
    around.slices.push(n / s);
  };
  const dir = mkdtempSync(join(tmpdir(), 'pidscope-bench-gdb-'));
  let gdb: ChildProcess | undefined;
  let note: string | undefined;
  try {
    await base();
    const script = join(dir, 'watch.gdb');
    writeFileSync(
      script,
      ['set pagination off', 'set confirm off', 'watch g_hot', 'commands', 'silent', 'continue', 'end', 'echo armed\\n', 'continue', ''].join('\n'),
    );
    gdb = spawn('gdb', ['-nx', '-batch', '-p', String(pid), '-x', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    gdb.stdout!.on('data', (d: Buffer) => (out += String(d)));
    gdb.stderr!.on('data', (d: Buffer) => (out += String(d)));
    const t0 = Date.now();
    while (!/armed/.test(out)) {
      if (Date.now() - t0 > 30_000 || gdb.exitCode !== null) throw new Error(`gdb did not arm its watchpoint: ${out.slice(-400)}`);
      await sleep(20);
    }
    await sleep(200);
    const [n, s] = await window(program, counter, GDB_MS);
    gdbAcc.iterations = n;
    gdbAcc.seconds = s;
    gdbAcc.reported = n; // one stop and one continue per write
    gdbAcc.slices.push(n / s);
    // End gdb: SIGINT stops the target inside gdb, then batch mode ends and gdb detaches. A
    // watchdog kills gdb if it lingers; in every case the target must run again afterwards.
    const exited = new Promise((r) => gdb!.once('exit', r));
    gdb.kill('SIGINT');
    const watchdog = setTimeout(() => gdb?.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(watchdog);
    for (let i = 0; i < 50 && /[tT]/.test(state(pid)); i++) await sleep(20);
    if (/[tT]/.test(state(pid))) {
      process.kill(pid, 'SIGCONT');
      note = 'gdb left the target stopped; resumed with SIGCONT';
    }
    await sleep(100);
    await base();
  } finally {
    if (gdb && gdb.exitCode === null) gdb.kill('SIGKILL');
    if (/[tT]/.test(state(pid))) process.kill(pid, 'SIGCONT');
    rmSync(dir, { recursive: true, force: true });
  }
  return { gdb: gdbAcc, around, note };
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const rate = (a: Acc) => (a.seconds > 0 ? a.iterations / a.seconds : 0);

/** Arming and disarming 1..4 hardware watches on a process with BIG_THREADS threads. */
async function armBench(): Promise<void> {
  const idle = BIG_THREADS - 5; // main + 4 workers
  console.log('');
  console.log(`arming on a big process — fixtures/threads 4 --idle ${idle} (${BIG_THREADS.toLocaleString('en-US')} threads), workers write every 10 ms`);
  const probe = hardwareBreakpoints();
  if (!probe.ok) {
    console.log(`skipped: hardware breakpoints unusable here (${probe.result}: ${probe.reason ?? probe.detail})`);
    return;
  }
  const fx = await startHot(['4', '--idle', String(idle)]);
  const program = await Program.open(fx.pid);
  const engine = new WatchEngine({ pid: fx.pid, memory: program.memory, symbols: program.symbols });
  let hits = 0;
  engine.on('event', (e) => {
    if (e.kind === 'hit') hits++;
    else if (e.kind === 'status' && VERBOSE) console.error(`  ${e.message}`);
  });
  const fds0 = fdUsage().open;
  const { limit } = fdUsage();
  const rows: string[] = [];
  try {
    const ids: number[] = [];
    const names = ['g_shared', 'g_slots[0]', 'g_slots[1]', 'g_slots[2]'];
    for (const name of names) {
      const t = resolveWatchTarget(program, name);
      const t0 = process.hrtime.bigint();
      const info = engine.add({ ...t, mode: 'hw' });
      const addMs = Number(process.hrtime.bigint() - t0) / 1e6;
      let maxGap = 0;
      let last = process.hrtime.bigint();
      // The event loop keeps turning while threads are armed: the longest gap between two turns
      // is how long Ctrl-C or a --duration timer could wait.
      while (engine.isArming(info.id)) {
        await new Promise((r) => setImmediate(r));
        const now = process.hrtime.bigint();
        maxGap = Math.max(maxGap, Number(now - last) / 1e6);
        last = now;
      }
      const armMs = Number(process.hrtime.bigint() - t0) / 1e6;
      ids.push(info.id);
      rows.push(
        `  + ${name.padEnd(11)} ${String(ids.length)} register(s): add() returned in ${addMs.toFixed(0).padStart(4)} ms, every thread armed in ${armMs.toFixed(0).padStart(5)} ms ` +
          `(longest event-loop stall ${maxGap.toFixed(0)} ms); perf fds held ${engine.perfFds().toLocaleString('en-US')} (process fds ${(fdUsage().open - fds0).toLocaleString('en-US')} more than before)`,
      );
    }
    const kernel = () => ids.reduce((n, id) => n + Number(engine.kernelCount(id) ?? 0n), 0);
    const h0 = hits;
    const k0 = kernel();
    await sleep(1000);
    const k1 = kernel();
    const h1 = hits;
    rows.push(
      `  in 1 s with 4 watches armed: ${(h1 - h0).toLocaleString('en-US')} writes reported, the kernel counted ${(k1 - k0).toLocaleString('en-US')} (4 workers write g_shared and their own slot every 10 ms; 3 slots watched; samples in flight at either end make the two differ a little)`,
    );
    for (const id of [...ids].reverse()) {
      const t0 = process.hrtime.bigint();
      engine.remove(id);
      rows.push(
        `  - watch ${id}: removed in ${(Number(process.hrtime.bigint() - t0) / 1e6).toFixed(0)} ms; perf fds held ${engine.perfFds().toLocaleString('en-US')}`,
      );
    }
  } finally {
    engine.close();
    program.close();
    await fx.stop();
  }
  for (const r of rows) console.log(r);
  console.log(
    `  RLIMIT_NOFILE ${limit.toLocaleString('en-US')}: a watch needing more perf fds than it leaves (minus 256) is refused up front, and auto mode polls`,
  );
}

async function main(): Promise<void> {
  if (ONLY !== 'arm') await hotBench();
  if (ONLY !== 'hot') await armBench();
}

async function hotBench(): Promise<void> {
  console.log(`bench:watch — fixtures/threads 0 --hot: iterations/s of a loop that writes g_hot`);
  console.log(`none/poll/hw: ${ROUNDS} rounds of ${SLICE_MS} ms slices interleaved on one target; gdb: one ${GDB_MS} ms window between baseline slices`);
  const fx = await startHot();
  const program = await Program.open(fx.pid);
  try {
    const counter = resolveWatchTarget(program, 'g_hot_iterations').address;
    const hot = resolveWatchTarget(program, 'g_hot');
    const acc = await pidscopeSlices(program, fx.pid, counter, hot);
    const g = await gdbWindow(program, fx.pid, counter);
    if (state(fx.pid) === 'gone') throw new Error('the target died during the benchmark');

    const base = rate(acc.none);
    const rows: [string, Acc, string, string?][] = [
      ['none (baseline)', acc.none, '-'],
      ['pidscope poll (10 ms)', acc.poll, `${fmt(acc.poll.reported / acc.poll.seconds)}/s changes`],
      [
        'pidscope hw (perf)',
        acc.hw,
        `${fmt(acc.hw.reported / acc.hw.seconds)}/s (kernel counted ${fmt(acc.hw.kernel / acc.hw.seconds)}/s)`,
        throttled ? 'the kernel throttled the breakpoint at times (over perf_event_max_sample_rate): the loop ran free then' : undefined,
      ],
      ['none, around the gdb window', g.around, '-'],
      ['gdb watch + commands/continue', g.gdb, `${fmt(rate(g.gdb))}/s (one stop per write)`, g.note],
    ];
    const w = Math.max(...rows.map((r) => r[0].length));
    console.log('');
    console.log(`${'peer'.padEnd(w)}  ${'iterations/s'.padStart(14)}  ${'slowdown'.padStart(10)}  writes reported`);
    for (const [name, a, reported, note] of rows) {
      const ref = name.startsWith('gdb') ? rate(g.around) : base;
      const slow = rate(a) > 0 ? ref / rate(a) : Infinity;
      const slowText = name.startsWith('none') ? '1.00×' : `${slow.toFixed(slow < 10 ? 2 : 0)}×`;
      console.log(`${name.padEnd(w)}  ${fmt(rate(a)).padStart(14)}  ${slowText.padStart(10)}  ${reported}${note ? `  [${note}]` : ''}`);
    }
    const spread = (a: Acc) => `${fmt(Math.min(...a.slices))} … ${fmt(Math.max(...a.slices))}`;
    console.log('');
    console.log(`slice spread (iterations/s): none ${spread(acc.none)}; poll ${spread(acc.poll)}; hw ${spread(acc.hw)}`);
    console.log(`pidscope poll: ${((rate(acc.poll) / base) * 100).toFixed(1)}% of the baseline throughput`);
    console.log(
      `pidscope hw vs gdb watch: the target runs ${(rate(acc.hw) / Math.max(1, rate(g.gdb))).toFixed(0)}× faster under pidscope's hardware watchpoint than under gdb's`,
    );
  } finally {
    program.close();
    await fx.stop();
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
