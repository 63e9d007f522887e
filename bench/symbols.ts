/**
 * `npm run bench:symbols`: time from `pidscope eval --pid N EXPR` process start to the printed
 * value, side by side with `gdb -batch -p N -ex 'print EXPR'` and `drgn -p N script.py` (a script
 * that prints the same global), on a small fixture and on real programs built from Debian source
 * packages with -g (Lua 5.4 and redis-server 7.0, cached under ~/.cache/pidscope). Every peer
 * starts cold (a new process each time), rounds are interleaved, the median is shown, and the
 * ratios say how much faster pidscope is. Figures seen are in bench/README.md.
 *
 * Also checks that pidscope printed exactly what gdb printed (the bench is not allowed to be fast
 * by being wrong).
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildRedis, tryBuildLua, startLua } from '../test/eval/realProgram';

const ROOT = resolve(__dirname, '..', '..'); // out/bench -> repo
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const PIDSCOPE = join(ROOT, 'adapter', 'bin', 'pidscope.js');

interface Target {
  name: string;
  binary: string;
  /** C expression for pidscope and gdb. */
  expr: string;
  /** The same object as a drgn Python expression. */
  drgn: string;
  start(): Promise<{ pid: number; stop(): Promise<void> }>;
}

function mb(bytes: number): string {
  return bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${(bytes / 1e3).toFixed(0)} kB`;
}

function debugBytes(binary: string): number {
  const out = execFileSync('readelf', ['-SW', binary], { encoding: 'utf8' });
  let total = 0;
  for (const line of out.split('\n')) {
    const m = /\]\s+(\.debug_\S+)\s+\S+\s+\S+\s+\S+\s+([0-9a-f]+)/.exec(line);
    if (m) total += parseInt(m[2], 16);
  }
  return total;
}

async function waitForLine(child: ChildProcess, re: RegExp, what: string): Promise<void> {
  await new Promise<void>((res, rej) => {
    let out = '';
    const timer = setTimeout(() => rej(new Error(`${what}: no ${re} within 30 s: ${out}`)), 30_000);
    const on = (d: Buffer) => {
      out += d.toString();
      if (re.test(out)) {
        clearTimeout(timer);
        res();
      }
    };
    child.stdout?.on('data', on);
    child.stderr?.on('data', on);
    child.on('exit', (c) => rej(new Error(`${what} exited (${c}): ${out}`)));
  });
}

function stopper(child: ChildProcess): () => Promise<void> {
  return async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((r) => child.on('exit', () => r()));
    child.kill('SIGKILL');
    await gone;
  };
}

function timeRun(cmd: string, args: string[]): { ms: number; stdout: string; stderr: string; code: number } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, env: { ...process.env, LC_ALL: 'C' } });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  return { ms, stdout: r.stdout ?? '', stderr: r.stderr ?? '', code: r.status ?? -1 };
}

function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function main(): Promise<void> {
  const targets: Target[] = [];
  const fixture = join(ROOT, 'fixtures', 'build', 'O0-dwarf5-pie', 'globals');
  if (!existsSync(fixture)) throw new Error(`${fixture} missing: npm run fixtures`);
  targets.push({
    name: 'globals fixture (small, -O0)',
    binary: fixture,
    expr: 'g_nested',
    drgn: "prog['g_nested']",
    start: async () => {
      const child = spawn(fixture, [], { stdio: ['ignore', 'pipe', 'inherit'] });
      await waitForLine(child, /^ready \d+/m, 'globals');
      return { pid: child.pid!, stop: stopper(child) };
    },
  });
  const lua = tryBuildLua('-g -O2');
  if (lua.binary) {
    targets.push({
      name: 'lua 5.4 (Debian source, -g -O2)',
      binary: lua.binary,
      expr: '*globalL->l_G',
      drgn: "prog['globalL'].l_G[0]",
      start: async () => {
        const l = await startLua(lua.binary!);
        return { pid: l.pid, stop: l.stop };
      },
    });
  } else console.log(`(lua skipped: ${lua.reason})`);
  let redis: string | undefined;
  try {
    process.stdout.write('building redis-server from Debian source (cached after the first run)…\n');
    redis = buildRedis();
  } catch (e) {
    console.log(`(redis skipped: ${(e as Error).message.split('\n')[0]})`);
  }
  if (redis) {
    const bin = redis;
    targets.push({
      name: 'redis-server 7.0 (Debian source, -g -O2, big)',
      binary: bin,
      expr: 'server.hz',
      drgn: "prog['server'].hz",
      start: async () => {
        const sock = join(mkdtempSync(join(tmpdir(), 'pidscope-redis-')), 'redis.sock');
        const child = spawn(bin, ['--port', '0', '--unixsocket', sock, '--save', '', '--appendonly', 'no', '--loglevel', 'notice'], { stdio: ['ignore', 'pipe', 'pipe'] });
        await waitForLine(child, /ready to accept connections/i, 'redis-server');
        return { pid: child.pid!, stop: stopper(child) };
      },
    });
  }

  const dir = mkdtempSync(join(tmpdir(), 'pidscope-bench-'));
  const script = join(dir, 'print.py');
  writeFileSync(
    script,
    ['import sys', 'print(eval(sys.argv[1]))'].join('\n'),
  );

  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  console.log(`\nbench:symbols — cold start to printed value, median of ${ROUNDS} interleaved rounds (load average ${load})\n`);
  const rows: string[] = [];
  for (const t of targets) {
    const dbg = debugBytes(t.binary);
    const proc = await t.start();
    try {
      const times: Record<string, number[]> = { pidscope: [], gdb: [], drgn: [] };
      let pidscopeOut = '';
      let gdbOut = '';
      let drgnError = '';
      for (let r = 0; r < ROUNDS; r++) {
        const p = timeRun(process.execPath, [PIDSCOPE, 'eval', '--pid', String(proc.pid), t.expr]);
        if (p.code !== 0) throw new Error(`pidscope failed on ${t.name}: ${p.stderr}`);
        pidscopeOut = p.stdout.trim();
        times.pidscope.push(p.ms);
        const g = timeRun('gdb', ['-nx', '-batch', '-iex', 'set debuginfod enabled off', '-iex', 'set width 0', '-p', String(proc.pid), '-ex', `print ${t.expr}`]);
        const m = /^\$1 = (.*)$/m.exec(g.stdout);
        gdbOut = m ? m[1] : `(no value: ${g.stderr.trim().split('\n').pop()})`;
        times.gdb.push(g.ms);
        const d = timeRun('drgn', ['-q', '-p', String(proc.pid), script, t.drgn]);
        if (d.code !== 0) {
          times.drgn.push(NaN);
          drgnError = d.stderr.trim().split('\n').pop() ?? `exit ${d.code}`;
        } else times.drgn.push(d.ms);
      }
      const med = { pidscope: median(times.pidscope), gdb: median(times.gdb), drgn: median(times.drgn.filter((x) => !Number.isNaN(x))) };
      const same = pidscopeOut === gdbOut;
      console.log(`${t.name}: ${mb(dbg)} of DWARF, print ${t.expr}`);
      console.log(`  pidscope eval   ${med.pidscope.toFixed(0).padStart(6)} ms`);
      console.log(`  gdb -batch -p   ${med.gdb.toFixed(0).padStart(6)} ms   (${(med.gdb / med.pidscope).toFixed(2)}× pidscope)`);
      console.log(`  drgn -p         ${Number.isNaN(med.drgn) ? `  failed: ${drgnError}` : med.drgn.toFixed(0).padStart(6) + ' ms'}   ${Number.isNaN(med.drgn) ? '' : `(${(med.drgn / med.pidscope).toFixed(2)}× pidscope)`}`);
      console.log(`  output identical to gdb: ${same ? 'yes' : `NO\n    gdb:      ${gdbOut.slice(0, 200)}\n    pidscope: ${pidscopeOut.slice(0, 200)}`}\n`);
      rows.push(`| ${t.name} | ${mb(dbg)} | \`${t.expr}\` | ${med.pidscope.toFixed(0)} ms | ${med.gdb.toFixed(0)} ms (${(med.gdb / med.pidscope).toFixed(2)}×) | ${Number.isNaN(med.drgn) ? `failed (${drgnError.slice(0, 60)})` : `${med.drgn.toFixed(0)} ms (${(med.drgn / med.pidscope).toFixed(2)}×)`} | ${same ? 'yes' : 'no'} |`);
      if (!same) process.exitCode = 1;
    } finally {
      await proc.stop();
    }
  }
  rmSync(dir, { recursive: true, force: true });
  console.log('| program | DWARF | expression | pidscope | gdb (ratio) | drgn (ratio) | same as gdb |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
