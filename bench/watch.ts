/**
 * npm run bench:watch — what watching a hot variable costs the target.
 *
 * The `threads` fixture with `0 --hot` runs one thread that writes g_hot in a tight loop and counts
 * g_hot_iterations. For each peer we start a fresh target, let the peer arm its watchpoint, and
 * count the loop's iterations over the same window (read from /proc/PID/mem-like live reads, which
 * do not disturb it):
 *
 *   none            no watch at all (the baseline)
 *   pidscope poll   polling watchpoint, one read every 10 ms
 *   pidscope hw     hardware watchpoint through perf (every write traps into the kernel)
 *   gdb watch       `watch g_hot` + `commands / silent / continue / end`: how a gdb user logs
 *                   every write (the thread stops at each write, gdb continues it)
 *
 * Printed: iterations per second, slowdown against the baseline, and how many writes the peer
 * reported. Peers run in interleaved rounds and the median is shown, because a shared 2-core
 * machine is noisy. Environment: PIDSCOPE_BENCH_WINDOW_MS (default 2000), PIDSCOPE_BENCH_ROUNDS
 * (default 3), PIDSCOPE_BENCH_VERBOSE=1 (print the watch engine's status messages).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Program } from '../adapter/src/engine/program';
import { WatchEngine } from '../adapter/src/watch/engine';
import { resolveWatchTarget } from '../adapter/src/watch/program';

const WINDOW_MS = Number(process.env.PIDSCOPE_BENCH_WINDOW_MS ?? 2000);
const ROUNDS = Math.max(1, Number(process.env.PIDSCOPE_BENCH_ROUNDS ?? 3));

function repoRoot(): string {
  let d = __dirname;
  for (let i = 0; i < 6; i++) {
    const pkg = join(d, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'pidscope') return d;
    d = dirname(d);
  }
  throw new Error('cannot find the pidscope repository root');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Fixture {
  pid: number;
  proc: ChildProcess;
  stop(): Promise<void>;
}

async function startHot(): Promise<Fixture> {
  const bin = join(repoRoot(), 'fixtures', 'build', 'O0-dwarf5-pie', 'threads');
  if (!existsSync(bin)) throw new Error(`${bin} is not built: run npm run fixtures`);
  const proc = spawn(bin, ['0', '--hot'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const pid = await new Promise<number>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += String(d);
      const m = /ready (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    proc.once('exit', (code) => reject(new Error(`threads exited early (${code})`)));
  });
  return {
    pid,
    proc,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(t);
    },
  };
}

function state(pid: number): string {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ')[0] ?? '?';
  } catch {
    return 'gone';
  }
}

/** Iterations per second of the hot loop over the window, measured by reading the counter. */
async function measure(program: Program, counter: bigint): Promise<number> {
  const read = () => program.memory.read(counter, 8).data.readBigUInt64LE(0);
  const a = read();
  const t0 = process.hrtime.bigint();
  await sleep(WINDOW_MS);
  const b = read();
  const t1 = process.hrtime.bigint();
  return Number(b - a) / (Number(t1 - t0) / 1e9);
}

interface Row {
  peer: string;
  rate: number;
  reported: string;
  note?: string;
}

async function runPidscope(mode: 'none' | 'poll' | 'hw'): Promise<Row> {
  const fx = await startHot();
  const program = await Program.open(fx.pid);
  try {
    const counter = resolveWatchTarget(program, 'g_hot_iterations').address;
    let engine: WatchEngine | undefined;
    let hits = 0;
    let lastStatus = '';
    if (mode !== 'none') {
      engine = new WatchEngine({ pid: fx.pid, memory: program.memory, symbols: program.symbols, pollIntervalMs: 10 });
      engine.on('event', (e) => {
        if (e.kind === 'hit') hits++;
        else if (e.kind === 'status') {
          lastStatus = e.message;
          if (process.env.PIDSCOPE_BENCH_VERBOSE) console.error(`  [${mode}] ${e.message}`);
        }
      });
      engine.add({ ...resolveWatchTarget(program, 'g_hot'), mode });
    }
    await sleep(300);
    const h0 = hits;
    const k0 = engine?.list()[0] ? engine.kernelCount(engine.list()[0]!.id) : undefined;
    const rate = await measure(program, counter);
    const k1 = engine?.list()[0] ? engine.kernelCount(engine.list()[0]!.id) : undefined;
    const seen = (hits - h0) / (WINDOW_MS / 1000);
    engine?.close();
    const peer = mode === 'none' ? 'none (baseline)' : mode === 'poll' ? 'pidscope poll (10 ms)' : 'pidscope hw (perf)';
    let reported = mode === 'none' ? '-' : `${Math.round(seen).toLocaleString('en-US')}/s`;
    if (k0 !== undefined && k1 !== undefined) reported += ` (kernel counted ${Math.round(Number(k1 - k0) / (WINDOW_MS / 1000)).toLocaleString('en-US')}/s)`;
    return { peer, rate, reported, note: /throttled/.test(lastStatus) ? 'kernel throttled samples (perf_event_max_sample_rate)' : undefined };
  } finally {
    program.close();
    await fx.stop();
  }
}

async function runGdb(): Promise<Row> {
  const fx = await startHot();
  const program = await Program.open(fx.pid);
  const dir = mkdtempSync(join(tmpdir(), 'pidscope-bench-gdb-'));
  let gdb: ChildProcess | undefined;
  try {
    const counter = resolveWatchTarget(program, 'g_hot_iterations').address;
    const script = join(dir, 'watch.gdb');
    writeFileSync(script, ['set pagination off', 'set confirm off', 'watch g_hot', 'commands', 'silent', 'continue', 'end', 'echo armed\\n', 'continue', ''].join('\n'));
    gdb = spawn('gdb', ['-nx', '-batch', '-p', String(fx.pid), '-x', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    gdb.stdout!.on('data', (d: Buffer) => (out += String(d)));
    gdb.stderr!.on('data', (d: Buffer) => (out += String(d)));
    const t0 = Date.now();
    while (!/armed/.test(out)) {
      if (Date.now() - t0 > 30_000 || gdb.exitCode !== null) throw new Error(`gdb did not arm its watchpoint: ${out.slice(-400)}`);
      await sleep(20);
    }
    await sleep(300);
    const rate = await measure(program, counter);
    // End gdb: SIGINT stops the target inside gdb, then gdb's batch mode ends and detaches. A
    // watchdog kills gdb if it lingers; in every case the target must run again afterwards.
    const exited = new Promise((r) => gdb!.once('exit', r));
    gdb.kill('SIGINT');
    const watchdog = setTimeout(() => gdb?.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(watchdog);
    for (let i = 0; i < 50 && /[tT]/.test(state(fx.pid)); i++) await sleep(20);
    let note: string | undefined;
    if (/[tT]/.test(state(fx.pid))) {
      process.kill(fx.pid, 'SIGCONT');
      note = 'target left stopped by gdb; resumed with SIGCONT';
    }
    // Each write is one stop+continue round trip for gdb: writes/s == iterations/s.
    return { peer: 'gdb watch + commands/continue', rate, reported: `${Math.round(rate).toLocaleString('en-US')}/s (one stop per write)`, note };
  } finally {
    if (gdb && gdb.exitCode === null) gdb.kill('SIGKILL');
    program.close();
    if (/[tT]/.test(state(fx.pid))) process.kill(fx.pid, 'SIGCONT');
    await fx.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  console.log(`bench:watch — hot loop throughput of fixtures/threads 0 --hot, window ${WINDOW_MS} ms per peer, ${ROUNDS} interleaved round(s), median shown`);
  const peers: (() => Promise<Row>)[] = [() => runPidscope('none'), () => runPidscope('poll'), () => runPidscope('hw'), () => runGdb()];
  const runs: Row[][] = peers.map(() => []);
  for (let r = 0; r < ROUNDS; r++) {
    for (let i = 0; i < peers.length; i++) runs[i]!.push(await peers[i]!());
  }
  const rows = runs.map((list) => {
    const m = median(list.map((x) => x.rate));
    const row = list.find((x) => x.rate === m)!;
    const note = [...new Set(list.map((x) => x.note).filter(Boolean))].join('; ');
    return { ...row, note: note || undefined, all: list.map((x) => x.rate) };
  });
  const base = rows[0]!.rate;
  const w = Math.max(...rows.map((r) => r.peer.length));
  console.log('');
  console.log(`${'peer'.padEnd(w)}  ${'iterations/s'.padStart(14)}  ${'slowdown'.padStart(9)}  writes reported`);
  for (const r of rows) {
    const slow = r.rate > 0 ? base / r.rate : Infinity;
    console.log(`${r.peer.padEnd(w)}  ${fmt(r.rate).padStart(14)}  ${(slow.toFixed(slow < 10 ? 2 : 0) + '×').padStart(9)}  ${r.reported}${r.note ? `  [${r.note}]` : ''}`);
  }
  if (ROUNDS > 1) {
    console.log('');
    for (const r of rows) console.log(`  ${r.peer}: rounds ${r.all.map(fmt).join(', ')}`);
  }
  const hw = rows[2]!.rate;
  const gdb = rows[3]!.rate;
  console.log('');
  console.log(`pidscope hw vs gdb watch: the target runs ${(hw / Math.max(1, gdb)).toFixed(0)}× faster under pidscope's hardware watchpoint than under gdb's`);
  console.log(`pidscope poll vs none: ${(rows[1]!.rate / base).toFixed(2)}× the baseline throughput (1.00 = no cost; the spread between rounds is the noise)`);
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
