/**
 * `pidscope demo` (what `npm start` runs): builds the C fixtures, starts the bundled `demo`
 * program (a small simulated service) and shows its memory live while it keeps running.
 *
 * A first, minimal version: process, maps summary, a hexdump of one global and a line of live
 * values per interval, all read from /proc/PID/mem. The live view grows from here.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { PidscopeError } from '../errors';
import { parseMaps, type MapRegion } from '../engine/maps';
import type { CliCommand } from '../main';
import { hexdump } from '../memory/hexdump';
import { loadSymbols } from '../symbols';

const usage = `Usage: pidscope demo [--duration S] [--interval MS] [--variant V]

Builds the fixtures (make -C fixtures), starts the bundled demo program (fixtures/demo.c: a
simulated service whose counters, state and latencies change a few times a second) and shows
its live memory without stopping it. Ctrl-C stops the demo program and exits.

  --duration S    stop after S seconds (default: run until Ctrl-C)
  --interval MS   time between refreshes (default 1000)
  --variant V     fixture variant (default O0-dwarf5-pie; see fixtures/README.md)
`;

const STATES = ['STATE_IDLE', 'STATE_STARTING', 'STATE_SERVING', 'STATE_DRAINING', 'STATE_BACKOFF'];

/** The repository root: found from the sources (adapter/src/cli) and from the build (out/…). */
function repoRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'fixtures', 'Makefile'))) return dir;
    dir = dirname(dir);
  }
  throw new PidscopeError('NO_FIXTURES', 'cannot find the fixtures/ folder of the pidscope repository', 'Run `pidscope demo` from a pidscope checkout (npm start)', 'user');
}

function buildFixtures(root: string): void {
  try {
    execFileSync('make', ['-s', '-C', join(root, 'fixtures')], { stdio: ['ignore', 'inherit', 'inherit'] });
  } catch (e) {
    throw new PidscopeError(
      'FIXTURES_BUILD',
      `building the fixtures failed (${(e as Error).message.split('\n')[0]})`,
      'Install the compiler: sudo apt-get install -y build-essential',
      'user',
    );
  }
}

function startDemo(binary: string): Promise<{ child: ChildProcess; pid: number }> {
  return new Promise((resolve, reject) => {
    // Its own process group: Ctrl-C in the terminal reaches pidscope only, which then stops the
    // demo program itself (and can say so) instead of racing with its exit.
    const child = spawn(binary, [], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
    const killOnExit = (): void => {
      child.kill('SIGKILL');
    };
    process.on('exit', killOnExit);
    child.on('exit', () => process.off('exit', killOnExit));
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new PidscopeError('DEMO_START', `the demo program did not report ready within 10 s`, 'Check that fixtures build and run: make -C fixtures', 'internal'));
    }, 10_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new PidscopeError('DEMO_START', `cannot start ${binary}: ${e.message}`, 'Build the fixtures: make -C fixtures', 'user'));
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

function read(fd: number, address: bigint, length: number): Buffer {
  const buf = Buffer.alloc(length);
  const n = readSync(fd, buf, 0, length, address);
  return buf.subarray(0, n);
}

function mapsSummary(regions: MapRegion[], exe: string): string[] {
  const lines: string[] = [];
  const byKind = new Map<string, { count: number; bytes: bigint }>();
  for (const r of regions) {
    const k = byKind.get(r.kind) ?? { count: 0, bytes: 0n };
    k.count++;
    k.bytes += r.end - r.start;
    byKind.set(r.kind, k);
  }
  lines.push(`  ${regions.length} regions: ${[...byKind].map(([k, v]) => `${v.count} ${k} (${v.bytes / 1024n} KiB)`).join(', ')}`);
  for (const r of regions) {
    if (r.path === exe || r.kind === 'heap' || r.kind === 'stack') {
      lines.push(`  ${r.start.toString(16).padStart(12, '0')}-${r.end.toString(16).padStart(12, '0')} ${r.perms} ${r.path}`);
    }
  }
  return lines;
}

function demoExited(pid: number): PidscopeError {
  return new PidscopeError('DEMO_EXITED', `the demo program (pid ${pid}) exited on its own`, 'Run `npm start` again', 'internal');
}

async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { duration: { type: 'string' }, interval: { type: 'string' }, variant: { type: 'string' } },
  });
  const durationMs = values.duration !== undefined ? Number(values.duration) * 1000 : Infinity;
  const intervalMs = values.interval !== undefined ? Number(values.interval) : 1000;
  if (!(durationMs > 0) || !(intervalMs >= 10)) {
    throw new PidscopeError('USAGE', 'bad --duration or --interval', 'Use --duration S (> 0) and --interval MS (>= 10)', 'user');
  }
  let stopRequested = false;
  let wake: () => void = () => undefined;
  const onSignal = (): void => {
    stopRequested = true;
    wake();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const root = repoRoot();
  try {
    buildFixtures(root);
  } catch (e) {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (stopRequested) return 130;
    throw e;
  }
  const binary = join(root, 'fixtures', 'build', values.variant ?? 'O0-dwarf5-pie', 'demo');
  let started: { child: ChildProcess; pid: number };
  try {
    started = await startDemo(binary);
  } catch (e) {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    throw e;
  }
  const { child, pid } = started;
  let exited = false;
  const childExit = new Promise<void>((r) => child.on('exit', () => ((exited = true), r())));

  let fd: number | undefined;
  try {
    const out = (s: string): boolean => process.stdout.write(s + '\n');
    out(`demo program ${relative(process.cwd(), binary) || binary} running as pid ${pid}`);
    out(`pidscope reads it through /proc/${pid}/mem while it runs (TracerPid stays 0). Ctrl-C to stop.`);
    out('');
    out(`/proc/${pid}/maps:`);
    for (const l of mapsSummary(parseMaps(readFileSync(`/proc/${pid}/maps`, 'utf8')), binary)) out(l);

    const symbols = await loadSymbols(pid);
    const addr = (name: string): { address: bigint; size: number } => {
      const v = symbols.findVariables(name).find((s) => s.address !== undefined);
      if (!v || v.address === undefined) throw new PidscopeError('NO_SYMBOL', `the demo program has no global '${name}'`, 'Rebuild the fixtures: make -C fixtures', 'internal');
      return { address: v.address, size: v.size ?? (v.type as { size?: number } | undefined)?.size ?? 8 };
    };
    const requests = addr('g_requests_served');
    const temperature = addr('g_temperature');
    const state = addr('g_state');
    const status = addr('g_status_line');
    const config = addr('g_config');

    fd = openSync(`/proc/${pid}/mem`, 'r');
    out('');
    out(`g_config (${config.size} bytes at 0x${config.address.toString(16)}):`);
    process.stdout.write(hexdump(config.address, read(fd, config.address, config.size)));
    out('');

    const since = Date.now();
    while (!stopRequested && !exited && Date.now() - since < durationMs) {
      const req = read(fd, requests.address, 8).readBigUInt64LE(0);
      const temp = read(fd, temperature.address, 8).readDoubleLE(0);
      const st = read(fd, state.address, 4).readUInt32LE(0);
      const line = read(fd, status.address, 48);
      const text = line.subarray(0, line.indexOf(0) >= 0 ? line.indexOf(0) : line.length).toString('latin1');
      const tracer = /^TracerPid:\s*(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '?';
      out(
        `${new Date().toISOString().slice(11, 23)}  requests=${req}  state=${STATES[st] ?? st}  temperature=${temp.toFixed(2)}  status="${text}"  TracerPid=${tracer}`,
      );
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(intervalMs, Math.max(0, durationMs - (Date.now() - since))));
        wake = () => {
          clearTimeout(t);
          r();
        };
      });
    }
    if (exited && !stopRequested) throw demoExited(pid);
    return 0;
  } catch (e) {
    if (stopRequested) return 0;
    if (exited) throw demoExited(pid);
    throw e;
  } finally {
    if (fd !== undefined) closeSync(fd);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (!exited) {
      child.kill('SIGTERM');
      const kill = setTimeout(() => child.kill('SIGKILL'), 3000);
      await childExit;
      clearTimeout(kill);
    }
  }
}

export const command: CliCommand = {
  name: 'demo',
  summary: 'start the bundled demo program and show its live memory (what `npm start` runs)',
  usage,
  run,
};
