/**
 * `npm run bench:dap`: what the DAP live view costs, side by side with gdb and drgn, in one run.
 *
 *   1. attach → first variables: from a client's first request to the 1,000 globals of a
 *      generated program on screen (initialize, attach, configurationDone, threads, stackTrace,
 *      scopes, variables). pidscope cold (adapter process spawned through adapter/bin/pidscope.js,
 *      as the CLI and the extension start it) with its persistent symbol index removed first
 *      (cold index) and kept (warm index), the VS Code extension's own adapter (its bundle started
 *      through extension/dist/adapter/launch.js, as the extension starts it; warm index), and
 *      warm (adapter already listening), against gdb
 *      (`gdb -batch -p PID` printing the same 1,000 globals) and drgn (`drgn -p PID` doing the
 *      same).
 *   2. a full refresh of 1,000 globals: pidscope's refresh tick (one pollInto of everything
 *      shown, every value re-formatted and compared; measured inside the adapter, reported by
 *      `pidscope/info`), the client's re-fetch of the 1,000 variables after an `invalidated`,
 *      and the peers re-printing the 1,000 globals while already attached (gdb: while the target
 *      is stopped, as gdb must; drgn: live).
 *
 * The program (1,000 globals of five shapes, one `g_tick` written every ms, declared last so a
 * refresh compares all 1,000 before it finds the change) is generated and compiled with gcc into
 * a temporary directory. Figures seen are in bench/README.md.
 */
import { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { childrenCpuMs, loadAverage, median, sleep } from './common';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..'); // out/bench → repo
const BIN = join(ROOT, 'adapter', 'bin', 'pidscope.js');
/** What the VS Code extension starts (extension/scripts/build.mjs makes it; its row is left out without it). */
const EXT_LAUNCH = join(ROOT, 'extension', 'dist', 'adapter', 'launch.js');
const N = 1000;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const LIVE_THREAD_ID = 1_000_000_000;
const LIVE_FRAME_ID = 1;
const DRGN = '/usr/bin/drgn';

function name(i: number): string {
  return `g_${String(i).padStart(4, '0')}`;
}

/** 1,000 globals of five shapes: int, double, struct, int[4], char[16]. */
function generateProgram(dir: string): string {
  const decls: string[] = [];
  for (let i = 0; i < N; i++) {
    switch (i % 5) {
      case 0:
        decls.push(`int ${name(i)} = ${i};`);
        break;
      case 1:
        decls.push(`double ${name(i)} = ${i}.5;`);
        break;
      case 2:
        decls.push(`struct pair ${name(i)} = {${i}, ${i}.25};`);
        break;
      case 3:
        decls.push(`int ${name(i)}[4] = {${i}, ${i + 1}, ${i + 2}, ${i + 3}};`);
        break;
      default:
        decls.push(`char ${name(i)}[16] = "name-${i}";`);
    }
  }
  const src = `#include <stdio.h>
#include <unistd.h>
struct pair { int a; double b; };
${decls.join('\n')}
volatile unsigned long g_tick;
int main(void) {
  printf("ready %d\\n", (int)getpid());
  fflush(stdout);
  for (;;) { g_tick++; usleep(1000); }
}
`;
  const c = join(dir, 'many.c');
  writeFileSync(c, src);
  const bin = join(dir, 'many');
  execFileSync('gcc', ['-g', '-O0', '-o', bin, c]);
  return bin;
}

async function startTarget(bin: string): Promise<{ pid: number; proc: ChildProcess }> {
  const proc = spawn(bin, [], { stdio: ['ignore', 'pipe', 'inherit'] });
  const pid = await new Promise<number>((res, rej) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /ready (\d+)/.exec(out);
      if (m) res(Number(m[1]));
    });
    proc.on('exit', () => rej(new Error('target exited early')));
  });
  return { pid, proc };
}

const CAPS: DebugProtocol.InitializeRequestArguments = {
  adapterID: 'pidscope',
  pathFormat: 'path',
  linesStartAt1: true,
  columnsStartAt1: true,
  supportsVariableType: true,
  supportsVariablePaging: true,
  supportsMemoryReferences: true,
  supportsInvalidatedEvent: true,
  supportsMemoryEvent: true,
};

/** The Variables view's first paint: every request VS Code makes, in order. Returns the variables. */
async function firstVariables(dc: DebugClient, pid: number, refreshIntervalMs: number): Promise<DebugProtocol.Variable[]> {
  await dc.initializeRequest(CAPS);
  const initialized = dc.waitForEvent('initialized', 120_000);
  const stopped = dc.waitForEvent('stopped', 120_000);
  await dc.attachRequest({ pid, refreshIntervalMs } as DebugProtocol.AttachRequestArguments);
  await initialized;
  await dc.configurationDoneRequest();
  await stopped;
  return showVariables(dc);
}

async function showVariables(dc: DebugClient): Promise<DebugProtocol.Variable[]> {
  await dc.threadsRequest();
  await dc.stackTraceRequest({ threadId: LIVE_THREAD_ID, startFrame: 0, levels: 20 });
  const scopes = await dc.scopesRequest({ frameId: LIVE_FRAME_ID });
  const vars = await dc.variablesRequest({ variablesReference: scopes.body.scopes[0].variablesReference });
  return vars.body.variables;
}

function stopClient(dc: DebugClient): Promise<void> {
  return Promise.race([
    dc.disconnectRequest({}).then(
      () => undefined,
      () => undefined,
    ),
    sleep(2000),
  ]).then(() => {
    (dc as unknown as { _socket?: { end(): void } })._socket?.end();
    (dc as unknown as { stopAdapter?: () => void }).stopAdapter?.();
  });
}

const BENCH_SECRET = 'bench-dap-secret-0123456789';

/** DebugClient over TCP: the listener wants `PIDSCOPE-AUTH <secret>` before any DAP. */
async function startTcp(dc: DebugClient, port: number): Promise<void> {
  await dc.start(port);
  (dc as unknown as { _socket: { write(s: string): void } })._socket.write(`PIDSCOPE-AUTH ${BENCH_SECRET}\n`);
}

async function listen(): Promise<{ port: number; proc: ChildProcess }> {
  const proc = spawn(process.execPath, [BIN, 'dap', '--listen', '127.0.0.1:0'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, PIDSCOPE_DAP_SECRET: BENCH_SECRET },
  });
  const port = await new Promise<number>((res, rej) => {
    let err = '';
    proc.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(err);
      if (m) res(Number(m[1]));
    });
    proc.on('exit', () => rej(new Error(`adapter exited: ${err}`)));
  });
  return { port, proc };
}

function gdbScript(dir: string, rounds: number): string {
  const file = join(dir, 'gdb.py');
  writeFileSync(
    file,
    `import gdb, time
names = ['g_%04d' % i for i in range(${N})]
for r in range(${rounds}):
    t = time.perf_counter()
    for n in names:
        gdb.execute('print ' + n, to_string=True)
    print('REPRINT_MS %.3f' % ((time.perf_counter() - t) * 1000))
`,
  );
  return file;
}

function drgnScript(dir: string, rounds: number): string {
  const file = join(dir, 'drgn_bench.py');
  writeFileSync(
    file,
    `import time
names = ['g_%04d' % i for i in range(${N})]
for r in range(${rounds}):
    t = time.perf_counter()
    for n in names:
        str(prog[n])
    print('REPRINT_MS %.3f' % ((time.perf_counter() - t) * 1000))
`,
  );
  return file;
}

/** CPU time (user + system, ms) a live process has used so far. */
function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

function timed(cmd: string, args: string[]): { ms: number; cpu: number; out: string } {
  const c0 = childrenCpuMs();
  const t = performance.now();
  const out = execFileSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, env: { ...process.env, LC_ALL: 'C' }, stdio: ['ignore', 'pipe', 'ignore'] });
  return { ms: performance.now() - t, cpu: childrenCpuMs() - c0, out };
}

function reprints(out: string): number[] {
  return [...out.matchAll(/REPRINT_MS ([\d.]+)/g)].map((m) => Number(m[1]));
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pidscope-bench-dap-'));
  // The adapters started below (and their persistent index) use a cache of this run only.
  process.env.XDG_CACHE_HOME = join(dir, 'xdg');
  const indexDir = join(dir, 'xdg', 'pidscope', 'index');
  execFileSync(process.execPath, [BIN, '--help'], { stdio: 'ignore' }); // the V8 code cache of the bundle
  const target = await startTarget(generateProgram(dir));
  const server = await listen();
  const row = (label: string, ms: number, base?: number) =>
    console.log(`${label.padEnd(52)} ${ms.toFixed(1).padStart(9)} ms${base !== undefined ? `   ${(ms / base).toFixed(2).padStart(7)}×` : ''}`);
  try {
    // ---------------------------------------------------------------- 1. attach → first variables
    const cold: number[] = [];
    const coldIndex: number[] = [];
    const coldExt: number[] = [];
    const withExt = existsSync(EXT_LAUNCH);
    const warm: number[] = [];
    const gdbAttach: number[] = [];
    const drgnAttach: number[] = [];
    const entry = join(dir, 'adapter.js');
    writeFileSync(entry, `process.argv.push('dap');\nrequire(${JSON.stringify(BIN)});\n`);
    const gdbPrintAll = join(dir, 'print-all.gdb');
    writeFileSync(gdbPrintAll, Array.from({ length: N }, (_, i) => `print ${name(i)}`).join('\n') + '\n');
    const drgnOnce = drgnScript(dir, 1);
    // CPU time beside wall time: on a loaded machine wall time mostly measures waiting for a core.
    const cpu = new Map<number[], number[]>([cold, coldIndex, coldExt, warm, gdbAttach, drgnAttach].map((k) => [k, []]));
    for (let r = 0; r < ROUNDS; r++) {
      for (const into of withExt ? [coldIndex, cold, coldExt] : [coldIndex, cold]) {
        if (into === coldIndex) rmSync(indexDir, { recursive: true, force: true });
        const c0 = childrenCpuMs();
        const t = performance.now();
        const dc = new DebugClient(process.execPath, into === coldExt ? EXT_LAUNCH : entry, 'pidscope');
        dc.defaultTimeout = 120_000;
        await dc.start();
        const vars = await firstVariables(dc, target.pid, 0);
        into.push(performance.now() - t);
        if (vars.length < N) throw new Error(`pidscope showed ${vars.length} variables, expected ${N}+`);
        const adapter = (dc as unknown as { _adapterProcess?: ChildProcess })._adapterProcess;
        const exited =
          adapter && adapter.exitCode === null && adapter.signalCode === null ? new Promise((res) => adapter.once('exit', res)) : Promise.resolve();
        await stopClient(dc);
        await Promise.race([exited, sleep(10_000)]);
        cpu.get(into)!.push(childrenCpuMs() - c0); // includes the adapter's own shutdown
      }
      {
        const dc = new DebugClient('unused', 'unused', 'pidscope');
        await startTcp(dc, server.port);
        const c0 = processCpuMs(server.proc.pid!);
        const t = performance.now();
        await firstVariables(dc, target.pid, 0);
        warm.push(performance.now() - t);
        cpu.get(warm)!.push(processCpuMs(server.proc.pid!) - c0);
        await stopClient(dc);
      }
      const g = timed('gdb', ['-nx', '-batch', '-iex', 'set debuginfod enabled off', '-p', String(target.pid), '-x', gdbPrintAll]);
      gdbAttach.push(g.ms);
      cpu.get(gdbAttach)!.push(g.cpu);
      const d = timed(DRGN, ['-q', '-p', String(target.pid), drgnOnce]);
      drgnAttach.push(d.ms);
      cpu.get(drgnAttach)!.push(d.cpu);
    }
    const load = loadAverage();
    console.log(`attach → first ${N} variables on screen (median of ${ROUNDS}; ratio: time / drgn's; load average ${load})`);
    const base = median(drgnAttach);
    row('pidscope dap, warm (adapter listening)', median(warm), base);
    row('pidscope dap, cold adapter, warm index', median(cold), base);
    row('pidscope dap, cold adapter, cold index', median(coldIndex), base);
    if (withExt) row("VS Code extension's adapter, cold, warm index", median(coldExt), base);
    row(`gdb -batch -p PID, print ×${N} (target stopped)`, median(gdbAttach), base);
    row(`drgn -p PID, str(prog[name]) ×${N}`, base, base);
    const cbase = median(cpu.get(drgnAttach)!);
    console.log(`\nthe same, CPU time (user+sys, 10 ms resolution; ratio: CPU / drgn's)`);
    row('pidscope dap, warm (adapter listening)', median(cpu.get(warm)!), cbase);
    row('pidscope dap, cold adapter, warm index', median(cpu.get(cold)!), cbase);
    row('pidscope dap, cold adapter, cold index', median(cpu.get(coldIndex)!), cbase);
    if (withExt) row("VS Code extension's adapter, cold, warm index", median(cpu.get(coldExt)!), cbase);
    row(`gdb -batch -p PID, print ×${N} (target stopped)`, median(cpu.get(gdbAttach)!), cbase);
    row(`drgn -p PID, str(prog[name]) ×${N}`, cbase, cbase);

    // ---------------------------------------------------------------- 2. full refresh of 1,000 globals
    const dc = new DebugClient('unused', 'unused', 'pidscope');
    await startTcp(dc, server.port);
    const invalidations: number[] = [];
    dc.on('invalidated', () => invalidations.push(performance.now()));
    await firstVariables(dc, target.pid, 100);
    const refetch: number[] = [];
    for (let i = 0; i < 10 * ROUNDS; i++) {
      const n = invalidations.length;
      const deadline = Date.now() + 10_000;
      while (invalidations.length === n && Date.now() < deadline) await sleep(2);
      const t = performance.now();
      const vars = await showVariables(dc);
      refetch.push(performance.now() - t);
      if (vars.length < N) throw new Error(`refetch showed ${vars.length} variables`);
    }
    const info = (await dc.customRequest('pidscope/info')).body as { refresh: { ticks: number; totalMs: number; lastBlocksRead: number; lastRenders: number } };
    await stopClient(dc);
    const tick = info.refresh.totalMs / Math.max(1, info.refresh.ticks);
    const gdbRe = reprints(
      timed('gdb', ['-nx', '-batch', '-iex', 'set debuginfod enabled off', '-p', String(target.pid), '-x', gdbScript(dir, ROUNDS + 1)]).out,
    ).slice(1);
    const drgnRe = reprints(timed(DRGN, ['-q', '-p', String(target.pid), drgnScript(dir, ROUNDS + 1)]).out).slice(1);
    console.log('');
    console.log(`full refresh of ${N} globals (already attached)`);
    row(`pidscope refresh tick (${info.refresh.lastBlocksRead} blocks in 1 pollInto, ${N}+ compared)`, tick, tick);
    row('pidscope client re-fetch after invalidated (4 requests)', median(refetch), tick);
    row(`gdb re-print ×${N} (target stopped meanwhile)`, median(gdbRe), tick);
    row(`drgn re-print ×${N}`, median(drgnRe), tick);
    console.log(`(${info.refresh.ticks} ticks measured; the tick includes formatting every value as gdb would)`);
  } finally {
    server.proc.kill('SIGTERM');
    target.proc.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
