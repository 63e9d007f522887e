/**
 * `pidscope demo` (what `npm start` runs): builds the C fixtures, starts the bundled `demo`
 * program (a small simulated service, fixtures/demo.c) and shows it live while it keeps running:
 * the memory backend and why, TracerPid (0: never stopped), the service's globals printed as
 * gdb's `print` prints them, and watchpoint hits naming the writing function and line.
 *
 * On a terminal the view redraws in place a few times a second until Ctrl-C; on a pipe it prints
 * a few plain snapshots (and the hits as they come) and exits, so tests and `| less` work.
 * Everything goes through the real engine (Program) and the real watch engine: the demo is a
 * tour of what the other commands do, not a separate implementation.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { isPidscopeError, PidscopeError } from '../errors';
import { Program } from '../engine/program';
import type { CliCommand } from '../main';
import { numberOption, withUsage } from './options';
import { watchExpressions, type SimpleWatch } from '../watch/program';
import type { WatchInfo } from '../watch/types';
import { readStatus, type ProcStatus } from '../proc/processes';

const usage = `Usage: pidscope demo [--duration S] [--interval MS] [--snapshots N] [--no-watch] [--tick-ms MS] [--variant V]

Builds the fixtures (make -C fixtures), starts the bundled demo program (fixtures/demo.c: a
simulated service whose counters, state machine, latencies and job queue change a few times a
second) and shows it live without ever stopping it: the memory backend, TracerPid (stays 0),
its globals printed exactly as gdb's \`print\` would, and watchpoint hits naming the writer
(function, file:line, thread). Ctrl-C stops the demo program and exits.

On a terminal the view refreshes in place until Ctrl-C (or --duration). When stdout is not a
terminal, plain snapshots are printed (--snapshots, default 3) with the watch hits in between.

  --duration S    stop after S seconds of live view (default: until Ctrl-C; on a pipe: --snapshots)
  --interval MS   time between refreshes (default 250 on a terminal, 1000 otherwise)
  --snapshots N   on a pipe, stop after N snapshots (default 3; ignored with --duration)
  --no-watch      no watchpoints, values only
  --tick-ms MS    the demo service's tick (default 100: the state machine cycles every ~5 s)
  --variant V     fixture variant (default O0-dwarf5-pie; see fixtures/README.md)

Environment: PIDSCOPE_PERF=deny (as if perf_event_open were refused) and PIDSCOPE_HWBP=nofire (as
if debug-register breakpoints never fired, as on some hypervisors) show the polling fallback.
Exit status: 0 when stopped (Ctrl-C, --duration), 1 when the demo program died or could not start.
`;

/** The globals shown, in order: what a newcomer would `print` in gdb. */
export const DEMO_EXPRESSIONS = [
  'g_requests_served',
  'g_errors',
  'g_state',
  'g_tick',
  'g_temperature',
  'g_config',
  'g_latencies_ms',
  'g_latency_head',
  'g_queue',
  '*g_queue.head',
  'g_status_line',
];

/** Watched: the state machine (rare writes) and the request counter (steady writes). */
export const DEMO_WATCHES = ['g_state', 'g_requests_served'];

const HIT_LINES_SHOWN = 6;

/** The repository root: found from the sources (adapter/src/cli) and from the build (out/…). */
function repoRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'fixtures', 'Makefile'))) return dir;
    dir = dirname(dir);
  }
  throw new PidscopeError(
    'NO_FIXTURES',
    'cannot find the fixtures/ folder of the pidscope repository',
    'Run `pidscope demo` from a pidscope checkout (npm start)',
    'user',
  );
}

function buildFixtures(root: string): void {
  try {
    execFileSync('make', ['-s', '-j2', '-C', join(root, 'fixtures')], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    // Ctrl-C in a terminal reaches make too (same process group); the caller says it was stopped.
    if ((e as { signal?: string }).signal === 'SIGINT') throw new PidscopeError('INTERRUPTED', 'stopped by Ctrl-C while building the fixtures', '', 'user');
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new PidscopeError(
        'FIXTURES_BUILD',
        '`make` is not installed, so the demo program cannot be built',
        'Install the compiler and make: sudo apt-get install -y build-essential',
        'user',
      );
    }
    const stderr = String((e as { stderr?: Buffer }).stderr ?? '')
      .trim()
      .split('\n')
      .slice(-3)
      .join(' | ');
    throw new PidscopeError(
      'FIXTURES_BUILD',
      `building the fixtures failed (${stderr || (e as Error).message.split('\n')[0]})`,
      'Install the compiler and make: sudo apt-get install -y build-essential',
      'user',
    );
  }
}

function startDemo(binary: string, tickMs: number): Promise<{ child: ChildProcess; pid: number }> {
  return new Promise((resolve, reject) => {
    // Its own process group: Ctrl-C in the terminal reaches pidscope only, which then stops the
    // demo program itself (and can say so) instead of racing with its exit.
    const child = spawn(binary, ['--tick-ms', String(tickMs)], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const killOnExit = (): void => {
      child.kill('SIGKILL');
    };
    process.on('exit', killOnExit);
    child.on('exit', () => process.off('exit', killOnExit));
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new PidscopeError(
          'DEMO_START',
          `the demo program did not report ready within 15 s`,
          'Check that it runs: make -C fixtures && fixtures/build/O0-dwarf5-pie/demo',
          'internal',
        ),
      );
    }, 15_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new PidscopeError('DEMO_START', `cannot start ${binary}: ${e.message}`, 'Build the fixtures: make -C fixtures', 'user'));
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(
        new PidscopeError(
          'DEMO_START',
          `the demo program exited before it was ready (${signal ?? `exit code ${code}`})${err ? `: ${err.trim()}` : ''}`,
          'Run it by hand to see why: fixtures/build/O0-dwarf5-pie/demo',
          'user',
        ),
      );
    });
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      if (err.length < 4096) err += chunk;
    });
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      out += chunk;
      const m = /^ready (\d+)$/m.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, pid: Number(m[1]) });
      }
    });
  });
}

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `killed by ${signal}` : `exit code ${code}`;
}

/** The backend's one-line reason, from openMemory's reasons (`vm-readv: chosen (why)`). */
function backendLine(program: Program): string {
  const kind = program.memory.kind;
  const chosen = program.backendReasons.find((r) => r.startsWith(`${kind}:`));
  const why = chosen
    ? chosen
        .slice(kind.length + 1)
        .trim()
        .replace(/^chosen\s*/, '')
        .replace(/^\((.*)\)$/, '$1')
    : '';
  const notChosen = program.backendReasons
    .filter((r) => !r.startsWith(`${kind}:`))
    .map(
      (r) =>
        r.split(':')[0] +
        ': ' +
        r
          .slice(r.indexOf(':') + 1)
          .trim()
          .split(' (')[0],
    );
  return `${kind}${why ? ` — ${why}` : ''}${notChosen.length ? ` [${notChosen.join('; ')}]` : ''}`;
}

function truncate(line: string, width: number): string {
  if (width <= 0 || line.length <= width) return line;
  return line.slice(0, Math.max(0, width - 1)) + '…';
}

const ESC = '\x1b[';
const dim = (s: string, on: boolean): string => (on ? `${ESC}2m${s}${ESC}22m` : s);
const bold = (s: string, on: boolean): string => (on ? `${ESC}1m${s}${ESC}22m` : s);

interface Snapshot {
  elapsedMs: number;
  progress?: string;
  status?: ProcStatus;
  values: { expression: string; text: string; error: boolean }[];
}

/**
 * The values panel: each DEMO_EXPRESSIONS entry as gdb's `print` shows it, or gdb's error text
 * (`Cannot access memory at address 0x0` for `*g_queue.head` when the queue is empty).
 * Exported for the test that holds it against gdb.
 */
export function demoValues(program: Program, opts: Parameters<Program['print']>[1] = {}): Snapshot['values'] {
  return DEMO_EXPRESSIONS.map((expression) => {
    try {
      return { expression, text: program.print(expression, opts), error: false };
    } catch (e) {
      if (!isPidscopeError(e) || e.blame === 'internal') throw e;
      return { expression, text: e.causeText, error: true };
    }
  });
}

function takeSnapshot(program: Program, pid: number, startedAt: number): Snapshot {
  const values = demoValues(program);
  let progress: string | undefined;
  try {
    progress = program.print('g_progress');
  } catch {
    progress = undefined;
  }
  return { elapsedMs: Date.now() - startedAt, progress, status: readStatus(pid), values };
}

function tracerText(status: Snapshot['status']): string {
  if (!status) return 'TracerPid: ? (process gone)';
  return status.tracerPid === 0 ? 'TracerPid: 0 (target never stopped)' : `TracerPid: ${status.tracerPid} (another debugger is attached)`;
}

/**
 * The demo's watchpoints: hit lines kept per watched expression (so the rare state changes are not
 * pushed out by the busy counter; '' for status lines), hit totals in `lastSeq`, and the note that
 * says how each is watched.
 */
function startDemoWatches(program: Program, startedAt: number, tty: boolean, out: (s: string) => void): DemoWatch {
  const hitLines = new Map<string, string[]>();
  const lastSeq = new Map<string, number>();
  const watch = watchExpressions(
    program,
    DEMO_WATCHES,
    (line, event) => {
      if (event?.kind === 'ended') return; // the exit is reported once, by the view
      const stamped = `${((Date.now() - startedAt) / 1000).toFixed(1).padStart(5)}s  ${line}`;
      const key = event ? '' : (DEMO_WATCHES.find((w) => line.startsWith(`${w}:`) || line.startsWith(`${w}[`) || line.startsWith(`${w}.`)) ?? '');
      let list = hitLines.get(key);
      if (!list) hitLines.set(key, (list = []));
      list.push(stamped);
      if (list.length > 50) list.splice(0, list.length - 50);
      if (!tty) out(`watch: ${line}`);
    },
    { mode: 'auto', pollIntervalMs: 50, maxLinesPerSecond: 20 },
  );
  // Hit totals from the events themselves: stop() still delivers what the perf rings hold,
  // after the engine's own counters are gone.
  watch.engine.on('event', (e) => {
    if (e.kind === 'hit') lastSeq.set(e.hit.expression, Math.max(lastSeq.get(e.hit.expression) ?? 0, e.hit.seq));
  });
  const hw = watch.watches.filter((w) => w.mode === 'hw');
  const poll = watch.watches.filter((w) => w.mode === 'poll');
  const parts: string[] = [];
  if (hw.length)
    parts.push(`hardware watchpoints on ${hw.map((w) => w.spec.expression).join(', ')} (CPU debug registers through perf: writer's function, line and thread)`);
  if (poll.length) {
    const reason = poll.find((w) => w.fallbackReason)?.fallbackReason;
    parts.push(`polling ${poll.map((w) => w.spec.expression).join(', ')} every 50 ms${reason ? ` because ${reason}` : ''} (changes only, no writer)`);
  }
  return { watch, note: parts.join('; '), hitLines, lastSeq };
}

interface DemoOptions {
  /** --duration as given (for the summary), and in ms (Infinity without it). */
  duration?: string;
  durationMs: number;
  intervalMs: number;
  maxSnapshots: number;
  tickMs: number;
  noWatch: boolean;
  variant: string;
}

/** The options, or the exit status 2 after a usage error. */
function parseDemoOptions(argv: string[], tty: boolean): DemoOptions | number {
  return withUsage({ name: 'demo', usage }, () => {
    const { values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        duration: { type: 'string' },
        interval: { type: 'string' },
        snapshots: { type: 'string' },
        'no-watch': { type: 'boolean' },
        'tick-ms': { type: 'string' },
        variant: { type: 'string' },
      },
    });
    const num = (name: string, text: string | undefined, fallback: number, min: number): number =>
      numberOption(name, text, fallback, min, 'See pidscope demo --help');
    return {
      duration: values.duration,
      durationMs: values.duration !== undefined ? num('duration', values.duration, 0, 0.1) * 1000 : Infinity,
      intervalMs: num('interval', values.interval, tty ? 250 : 1000, 10),
      maxSnapshots: values.duration !== undefined || tty ? Infinity : num('snapshots', values.snapshots, 3, 1),
      tickMs: Math.round(num('tick-ms', values['tick-ms'], 100, 1)),
      noWatch: values['no-watch'] === true,
      variant: values.variant ?? 'O0-dwarf5-pie',
    };
  });
}

/**
 * What ends the live loop: a signal, the output closing, --duration or --snapshots (stop, with a
 * reason for the summary), or the demo program's exit (wake only: the loop looks and sees it).
 */
class StopSignal {
  reason: string | undefined;
  private wakeUp: () => void = () => undefined;

  stop(reason: string): void {
    this.reason ??= reason;
    this.wakeUp();
  }

  wake(): void {
    this.wakeUp();
  }

  /** Waits ms, or less when stop() or wake() comes first. */
  async sleep(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.wakeUp = () => undefined;
  }

  /** Ctrl-C and SIGTERM stop the demo (which then stops its program); returns the remover. */
  listenForSignals(): () => void {
    const onSignal = (sig: NodeJS.Signals): void => this.stop(sig === 'SIGINT' ? 'stopped by Ctrl-C' : `stopped by ${sig}`);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    return () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    };
  }
}

/** stdout by lines; a closed pipe (`| head`) stops the demo rather than failing it. */
class Lines {
  closed = false;

  constructor(stop: StopSignal) {
    // Stays installed to the end: the summary line may be what meets the closed pipe.
    process.stdout.on('error', () => {
      this.closed = true;
      stop.stop('output closed');
    });
  }

  readonly write = (s: string): void => {
    if (this.closed) return;
    try {
      process.stdout.write(s + '\n');
    } catch {
      /* EPIPE: handled by the 'error' listener */
    }
  };
}

/** Counts across snapshots: for the header's g_progress rate and the summary. */
class Tally {
  snapshots = 0;
  private firstProgress: bigint | undefined;
  private lastProgress: bigint | undefined;
  tracerEverNonZero = false;

  add(s: Snapshot): void {
    this.snapshots++;
    if (s.progress !== undefined && /^\d+$/.test(s.progress)) {
      const progress = BigInt(s.progress);
      this.firstProgress ??= progress;
      this.lastProgress = progress;
    }
    if (s.status && s.status.tracerPid !== 0) this.tracerEverNonZero = true;
  }

  progressRate(s: Snapshot): string {
    if (this.firstProgress === undefined || this.lastProgress === undefined || this.snapshots < 2) return '';
    return ` (+${Math.round(Number(this.lastProgress - this.firstProgress) / (s.elapsedMs / 1000))}/s)`;
  }
}

/** The demo's watchpoints and what the screen shows of them. */
interface DemoWatch {
  watch: SimpleWatch;
  note: string;
  /** Hit lines per watched expression ('' for status lines). */
  hitLines: Map<string, string[]>;
  /** Hit totals from the events (they outlive the engine's counters at stop()). */
  lastSeq: Map<string, number>;
}

/** Render: the view redrawn in place on a terminal, or plain snapshots on a pipe. */
class DemoScreen {
  private drawnLines = 0;
  private readonly restoreTerminal = (): void => {
    if (this.tty) process.stdout.write(`${ESC}?25h`);
  };
  // A narrower terminal re-wraps the old frame, so moving up by its line count would miss: start over.
  private readonly onResize = (): void => {
    if (this.drawnLines > 0) process.stdout.write(`${ESC}2J${ESC}H`);
    this.drawnLines = 0;
  };

  constructor(
    private readonly tty: boolean,
    private readonly out: Lines,
    private readonly head: { pid: number; shownBinary: string; intervalMs: number },
  ) {
    process.on('exit', this.restoreTerminal);
    if (tty) process.stdout.on('resize', this.onResize);
  }

  draw(program: Program, s: Snapshot, tally: Tally, watch: DemoWatch | undefined): void {
    if (this.tty) this.drawTerminal(program, s, tally, watch);
    else this.printSnapshot(program, s, tally, watch);
  }

  /** Puts the terminal back (cursor shown, the ^C echo cleared). */
  close(): void {
    if (this.tty && !this.out.closed) process.stdout.write('\r' + ESC + 'K');
    this.restoreTerminal();
    process.off('exit', this.restoreTerminal);
    process.stdout.off('resize', this.onResize);
  }

  private header(program: Program, s: Snapshot, tally: Tally): string[] {
    return [
      `pidscope demo · pid ${this.head.pid} · ${this.head.shownBinary} (started in its own process group; only read, never stopped)`,
      `memory backend: ${backendLine(program)}`,
      `${tracerText(s.status)} · g_progress = ${s.progress ?? '?'}${tally.progressRate(s)} · ${s.status?.threads ?? '?'} threads · state ${s.status?.state ?? '?'}`,
    ];
  }

  private valueLines(s: Snapshot, width: number): string[] {
    const pad = Math.max(...DEMO_EXPRESSIONS.map((e) => e.length));
    return s.values.map((v) => {
      const text = `  ${v.expression.padEnd(pad)} = ${v.text}`;
      const cut = truncate(text, width);
      return v.error ? dim(cut, this.tty) : cut;
    });
  }

  private drawTerminal(program: Program, s: Snapshot, tally: Tally, watch: DemoWatch | undefined): void {
    const tty = this.tty;
    const width = process.stdout.columns ?? 100;
    const rows = process.stdout.rows ?? 40;
    const lines = [
      ...this.header(program, s, tally).map((l, i) =>
        i === 0 ? bold('pidscope demo', tty) + truncate(l, width).slice('pidscope demo'.length) : truncate(l, width),
      ),
      '',
      bold('globals', tty) + dim(` (as gdb's print shows them; refreshed every ${this.head.intervalMs} ms, ${(s.elapsedMs / 1000).toFixed(1)} s so far)`, tty),
      ...this.valueLines(s, width),
    ];
    if (watch) {
      lines.push('', bold('watch hits', tty) + dim(truncate(` — ${watch.note}`, width - 10), tty));
      const room = Math.max(1, Math.floor((rows - lines.length - 3 - DEMO_WATCHES.length) / DEMO_WATCHES.length));
      for (const key of [...DEMO_WATCHES, '']) {
        const list = watch.hitLines.get(key) ?? [];
        if (key === '' && list.length === 0) continue;
        const shown = list.slice(-Math.min(HIT_LINES_SHOWN, key === '' ? 2 : room));
        lines.push(dim(`  ${key || 'status'}${key ? ` (${watchCount(watch, key)})` : ''}:`, tty));
        if (shown.length === 0) lines.push(dim('    (no write yet)', tty));
        for (const l of shown) lines.push(truncate(`    ${l}`, width));
      }
    }
    lines.push('', dim('Ctrl-C stops the demo program and exits.', tty));
    const fitted = lines.slice(0, Math.max(1, rows - 1));
    let frame = `${ESC}?25l`;
    if (this.drawnLines > 0) frame += `${ESC}${this.drawnLines}F`;
    frame += fitted.map((l) => `${l}${ESC}K`).join('\n') + `\n${ESC}J`;
    process.stdout.write(frame);
    this.drawnLines = fitted.length;
  }

  private printSnapshot(program: Program, s: Snapshot, tally: Tally, watch: DemoWatch | undefined): void {
    const out = this.out.write;
    if (tally.snapshots === 1) {
      for (const l of this.header(program, s, tally)) out(l);
      if (watch) out(`watch: ${watch.note}`);
    }
    out('');
    out(`--- snapshot ${tally.snapshots} at ${(s.elapsedMs / 1000).toFixed(1)} s · ${tracerText(s.status)} · g_progress = ${s.progress ?? '?'}`);
    for (const l of this.valueLines(s, 0)) out(l);
    out('');
  }
}

function watchCount(watch: DemoWatch, expression: string): string {
  const info = watch.watch.engine.list().find((i) => i.spec.expression === expression);
  return info ? `${info.hits} ${info.mode === 'hw' ? 'writes' : 'changes'} so far` : '';
}

/** The running demo program: its exit is recorded (and wakes the loop) whenever it comes. */
interface DemoProcess {
  child: ChildProcess;
  pid: number;
  binary: string;
  /** How it exited, once it has. */
  exit?: string;
  exited: Promise<void>;
}

/** Setup: builds the fixtures and starts the demo program; the exit status 130 when Ctrl-C came first. */
async function setup(opts: DemoOptions, tty: boolean, stop: StopSignal): Promise<DemoProcess | number> {
  const root = repoRoot();
  const binary = join(root, 'fixtures', 'build', opts.variant, 'demo');
  let started: { child: ChildProcess; pid: number };
  try {
    if (!tty) process.stdout.write('building the fixtures (make -C fixtures)…\n');
    buildFixtures(root);
    if (!existsSync(binary))
      throw new PidscopeError(
        'NO_FIXTURES',
        `no demo program at ${binary}`,
        `Check --variant (default O0-dwarf5-pie; see fixtures/README.md) and run make -C fixtures`,
        'user',
      );
    started = await startDemo(binary, opts.tickMs);
  } catch (e) {
    if (stop.reason || (isPidscopeError(e) && e.code === 'INTERRUPTED')) {
      process.stderr.write('pidscope demo: stopped by Ctrl-C before the demo program started\n');
      return 130;
    }
    throw e;
  }
  const demo: DemoProcess = { ...started, binary, exited: Promise.resolve() };
  demo.exited = new Promise<void>((resolve) =>
    started.child.on('exit', (code, signal) => {
      demo.exit = describeExit(code, signal);
      stop.wake();
      resolve();
    }),
  );
  return demo;
}

/** Loop: snapshot, draw, wait; until stopped, the demo program exits, or --snapshots / --duration is reached. */
async function liveLoop(
  program: Program,
  demo: DemoProcess,
  opts: DemoOptions,
  screen: DemoScreen,
  tally: Tally,
  watch: DemoWatch | undefined,
  stop: StopSignal,
  startedAt: number,
): Promise<void> {
  while (!stop.reason && !demo.exit) {
    const s = takeSnapshot(program, demo.pid, startedAt);
    if (demo.exit) break;
    tally.add(s);
    screen.draw(program, s, tally, watch);
    if (tally.snapshots >= opts.maxSnapshots) {
      stop.stop('done');
      break;
    }
    const left = opts.durationMs - (Date.now() - startedAt);
    if (left <= 0) {
      stop.stop(`--duration ${opts.duration} s elapsed`);
      break;
    }
    await stop.sleep(Math.min(opts.intervalMs, left));
  }
}

/** Stops the demo program if it still runs (SIGTERM, then SIGKILL after 3 s). */
async function stopDemo(demo: DemoProcess): Promise<void> {
  if (demo.exit) return;
  demo.child.kill('SIGTERM');
  const kill = setTimeout(() => demo.child.kill('SIGKILL'), 3000);
  await demo.exited;
  clearTimeout(kill);
}

/** Summary: one line on how it ended; the exit status (1 when the demo program died on its own). */
function summary(demo: DemoProcess, stop: StopSignal, tally: Tally, watch: DemoWatch | undefined, infos: WatchInfo[], opened: boolean, out: Lines): number {
  const watchSummary = infos
    .map((w) => `${w.spec.expression}: ${Math.max(w.hits, watch?.lastSeq.get(w.spec.expression) ?? 0)} ${w.mode === 'hw' ? 'writes' : 'changes'}`)
    .join(', ');
  const snapshots = `${tally.snapshots} snapshot${tally.snapshots === 1 ? '' : 's'}`;
  if (demo.exit !== undefined && !stop.reason) {
    process.stderr.write(
      `pidscope demo: the demo program (pid ${demo.pid}) died on its own (${demo.exit}) after ${snapshots}${watchSummary ? `; ${watchSummary}` : ''}. Run \`npm start\` again.\n`,
    );
    return 1;
  }
  if (opened) {
    out.write(
      `pidscope demo: ${stop.reason ?? 'stopped'}; ${snapshots}${watchSummary ? `, ${watchSummary}` : ''}; ` +
        `TracerPid ${tally.tracerEverNonZero ? 'was non-zero at times (another debugger attached)' : 'stayed 0'}; demo program (pid ${demo.pid}) stopped.`,
    );
  }
  return 0;
}

async function run(argv: string[]): Promise<number> {
  const tty = process.stdout.isTTY === true;
  const opts = parseDemoOptions(argv, tty);
  if (typeof opts === 'number') return opts;

  const stop = new StopSignal();
  const offSignals = stop.listenForSignals();
  let demo: DemoProcess | number;
  try {
    demo = await setup(opts, tty, stop);
  } catch (e) {
    offSignals();
    throw e;
  }
  if (typeof demo === 'number') {
    offSignals();
    return demo;
  }

  const out = new Lines(stop);
  const screen = new DemoScreen(tty, out, { pid: demo.pid, shownBinary: relative(process.cwd(), demo.binary) || demo.binary, intervalMs: opts.intervalMs });
  const tally = new Tally();
  let program: Program | undefined;
  let watch: DemoWatch | undefined;
  let status = 0;
  try {
    try {
      program = await Program.open(demo.pid);
    } catch (e) {
      if (!demo.exit) throw e;
      return 1; // the summary below says that the demo program died, and how
    }
    const startedAt = Date.now();
    if (!opts.noWatch) watch = startDemoWatches(program, startedAt, tty, out.write);
    await liveLoop(program, demo, opts, screen, tally, watch, stop, startedAt);
  } catch (e) {
    // A vanished target surfaces as some read or symbol error; the exit itself is the news.
    if (!demo.exit && !stop.reason) {
      if (program?.target?.isAlive() !== false && readStatus(demo.pid)?.state[0] !== 'Z') throw e;
      await demo.exited;
    }
  } finally {
    offSignals();
    const infos = watch?.watch.engine.list() ?? [];
    watch?.watch.stop();
    program?.close();
    await stopDemo(demo);
    screen.close();
    status = summary(demo, stop, tally, watch, infos, program !== undefined, out);
  }
  return status;
}

export const command: CliCommand = {
  name: 'demo',
  summary: 'start the bundled demo program and show it live: values as gdb prints them, watch hits (what `npm start` runs)',
  usage,
  run,
};
