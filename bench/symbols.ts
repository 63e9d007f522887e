/**
 * `npm run bench:symbols`: time from `pidscope eval --pid N EXPR` process start to the printed
 * value, side by side with `gdb -batch -p N -ex 'print EXPR'` and `drgn -p N script.py` (a script
 * that prints the same global), on a small fixture and on real programs built from Debian source
 * packages with -g (Lua 5.4, redis-server 7.0, CPython 3.11 and PostgreSQL 15, cached under
 * ~/.cache/pidscope). Every peer is a new process each time; pidscope runs twice per round:
 * cold (its persistent symbol index removed first, so it indexes the DWARF and writes the index)
 * and warm (the index written by the cold run). Rounds are interleaved, the median is shown, and
 * the ratios are peer time / pidscope time (above 1: pidscope is faster). Then the same for
 * printing every global of the programs with 1,300 or more (`pidscope globals` against gdb
 * printing each one). redis and CPython also run as copies post-processed by gdb-add-index
 * (.gdb_index, and .debug_names with -dwarf-5): there a cold lookup goes through that index.
 * Figures seen are in bench/README.md.
 *
 * Also checks that pidscope printed exactly what gdb printed (the bench is not allowed to be fast
 * by being wrong).
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { buildRedis, tryBuildLua, startLua } from '../test/eval/realProgram';
import { CACHE, stopper, waitForOutput } from '../test/support/debianBuild';
import { childrenCpuMs, loadAverage, median } from './common';
import { buildCPython, startCPython } from './cpython';
import { buildPostgres, startPostgres } from './postgres';

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
  /** Also time printing every global (programs with 1,300 or more). */
  globals?: boolean;
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

/**
 * One run: wall time, and the CPU time it used (10 ms resolution; on a loaded machine wall time
 * mostly measures waiting for a core, CPU time what the work costs).
 */
function timeRun(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): { ms: number; cpu: number; stdout: string; stderr: string; code: number } {
  const c0 = childrenCpuMs();
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 << 20, env: { ...process.env, LC_ALL: 'C', ...env } });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  return { ms, cpu: childrenCpuMs() - c0, stdout: r.stdout ?? '', stderr: r.stderr ?? '', code: r.status ?? -1 };
}

/** A big program built from Debian source when BENCH_ONLY wants it; undefined (said once) when it cannot be built here. */
function buildWanted<T>(wanted: boolean, label: string, build: () => T): T | undefined {
  if (!wanted) return undefined;
  try {
    process.stdout.write(`building ${label} from Debian source (cached after the first run)…\n`);
    return build();
  } catch (e) {
    console.log(`(${label.split(' ')[0]} skipped: ${(e as Error).message.split('\n')[0]})`);
    return undefined;
  }
}

const GDB_INDEX_FLAVOURS = ['.gdb_index', '.debug_names'] as const;

/**
 * A copy of `binary` with the index gdb-add-index writes (.gdb_index; .debug_names with
 * -dwarf-5), made once and kept in ${XDG_CACHE_HOME}/pidscope/gdb-index/<key>/ (keyed by the
 * original's path, size and mtime; the built programs' own directories are shared between
 * engineers' caches, so nothing is written beside them). `links`: entries of the original's
 * directory linked beside the copy.
 */
function withGdbIndex(binary: string, flavour: (typeof GDB_INDEX_FLAVOURS)[number], links: string[] = []): string {
  const st = statSync(binary);
  const key = createHash('sha256').update(`${binary} ${st.size} ${st.mtimeMs} ${flavour}`).digest('hex').slice(0, 16);
  const dir = join(CACHE, 'gdb-index', key);
  const out = join(dir, basename(binary));
  if (existsSync(out)) return out;
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const copy = join(tmp, basename(binary));
  copyFileSync(binary, copy);
  execFileSync('gdb-add-index', [...(flavour === '.debug_names' ? ['-dwarf-5'] : []), copy], { stdio: 'pipe', timeout: 1_800_000 });
  const sections = execFileSync('readelf', ['-SW', copy], { encoding: 'utf8' });
  if (!sections.includes(flavour)) throw new Error(`gdb-add-index wrote no ${flavour} into ${copy}`);
  for (const l of links) if (existsSync(join(dirname(binary), l))) symlinkSync(join(dirname(binary), l), join(tmp, l));
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return out;
}

/** withGdbIndex, or undefined (said once) when gdb-add-index fails here. */
function tryGdbIndex(binary: string, flavour: (typeof GDB_INDEX_FLAVOURS)[number], links: string[] = []): string | undefined {
  try {
    return withGdbIndex(binary, flavour, links);
  } catch (e) {
    const err = e as Error & { stderr?: Buffer };
    console.log(`(${basename(binary)} + ${flavour} skipped: ${(err.stderr?.toString().trim() || err.message).split('\n')[0]})`);
    return undefined;
  }
}

async function main(): Promise<void> {
  const targets: Target[] = [];
  // BENCH_ONLY=lua (a substring of the row names: fixture, lua, redis, cpython, postgres) runs one.
  const only = process.env.BENCH_ONLY?.toLowerCase();
  const want = (name: string) => !only || name.toLowerCase().includes(only);
  const fixture = join(ROOT, 'fixtures', 'build', 'O0-dwarf5-pie', 'globals');
  if (!existsSync(fixture)) throw new Error(`${fixture} missing: npm run fixtures`);
  targets.push({
    name: 'globals fixture (small, -O0)',
    binary: fixture,
    expr: 'g_nested',
    drgn: "prog['g_nested']",
    start: async () => {
      const child = spawn(fixture, [], { stdio: ['ignore', 'pipe', 'inherit'] });
      await waitForOutput(child, /^ready \d+/m, 'globals');
      return { pid: child.pid!, stop: stopper(child) };
    },
  });
  const lua = want('lua') ? tryBuildLua('-g -O2') : { reason: 'BENCH_ONLY' };
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
  const redis = buildWanted(want('redis'), 'redis-server', buildRedis);
  const startRedis = async (bin: string) => {
    const sock = join(mkdtempSync(join(tmpdir(), 'pidscope-redis-')), 'redis.sock');
    const child = spawn(bin, ['--port', '0', '--unixsocket', sock, '--save', '', '--appendonly', 'no', '--loglevel', 'notice'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    await waitForOutput(child, /ready to accept connections/i, 'redis-server');
    return { pid: child.pid!, stop: stopper(child) };
  };
  if (redis) {
    const bin = redis;
    targets.push({
      name: 'redis-server 7.0 (Debian source, -g -O2, big)',
      binary: bin,
      expr: 'server.hz',
      drgn: "prog['server'].hz",
      start: () => startRedis(bin),
    });
  }
  // The same program with the index gdb-add-index writes (.gdb_index, or .debug_names with
  // -dwarf-5) in a copy: pidscope's cold lookups go through it (symbols/dwarf/compilerIndex.ts),
  // and gdb reads the same index from the same file.
  if (redis) {
    for (const flavour of GDB_INDEX_FLAVOURS) {
      const bin = tryGdbIndex(redis, flavour);
      if (!bin) continue;
      targets.push({
        name: `redis-server 7.0 + ${flavour} (gdb-add-index)`,
        binary: bin,
        expr: 'server.hz',
        drgn: "prog['server'].hz",
        start: () => startRedis(bin),
      });
    }
  }

  const cpython = buildWanted(want('cpython'), 'CPython 3.11', buildCPython);
  if (cpython) {
    const bin = cpython;
    targets.push({
      name: 'CPython 3.11 (Debian source, -g -O3)',
      binary: bin,
      expr: '_PyRuntime.gilstate',
      drgn: "prog['_PyRuntime'].gilstate",
      globals: true,
      start: () => startCPython(bin),
    });
    for (const flavour of GDB_INDEX_FLAVOURS) {
      // The interpreter finds its library from the build tree it sits in: the copy gets links to it.
      const copy = tryGdbIndex(bin, flavour, ['Lib', 'Modules', 'build', 'pybuilddir.txt']);
      if (!copy) continue;
      targets.push({
        name: `CPython 3.11 + ${flavour} (gdb-add-index)`,
        binary: copy,
        expr: '_PyRuntime.gilstate',
        drgn: "prog['_PyRuntime'].gilstate",
        start: () => startCPython(copy),
      });
    }
  }
  const pg = buildWanted(want('postgres'), 'PostgreSQL 15', buildPostgres);
  if (pg) {
    const prefix = pg;
    targets.push({
      name: 'PostgreSQL 15 postgres (Debian source, -g -O2)',
      binary: join(prefix, 'bin', 'postgres'),
      expr: 'PostmasterContext->name',
      drgn: "prog['PostmasterContext'].name",
      globals: true,
      start: () => startPostgres(prefix),
    });
  }
  if (only) targets.splice(0, targets.length, ...targets.filter((t) => want(t.name)));

  const dir = mkdtempSync(join(tmpdir(), 'pidscope-bench-'));
  // pidscope's caches for this bench: the index (removed before each cold run) and the V8 code
  // cache of the bundle (warmed once below: it belongs to the installed pidscope, not the binary).
  const xdg = join(dir, 'xdg');
  const indexDir = join(xdg, 'pidscope', 'index');
  const penv = { XDG_CACHE_HOME: xdg };
  timeRun(process.execPath, [PIDSCOPE, '--help'], penv);
  const script = join(dir, 'print.py');
  writeFileSync(script, ['import sys', 'print(eval(sys.argv[1]))'].join('\n'));

  console.log(
    `\nbench:symbols — start to printed value, median of ${ROUNDS} interleaved rounds (${cpus().length} CPUs, ${cpus()[0]?.model ?? '?'}, Linux ${release()}, Node ${process.version}, load average ${loadAverage()})\n`,
  );
  const rows: string[] = [];
  const globalsRows: string[] = [];
  const cpuRows: string[] = [];
  const ratio = (peer: number, ours: number) => (Number.isNaN(peer) ? '—' : `${(peer / ours).toFixed(2)}×`);
  for (const t of targets) {
    const dbg = debugBytes(t.binary);
    const proc = await t.start();
    try {
      const times: Record<string, number[]> = { cold: [], warm: [], gdb: [], drgn: [] };
      const cpu: Record<string, number[]> = { cold: [], warm: [], gdb: [], drgn: [] };
      let pidscopeOut = '';
      let gdbOut = '';
      let drgnError = '';
      for (let r = 0; r < ROUNDS; r++) {
        rmSync(indexDir, { recursive: true, force: true });
        const c = timeRun(process.execPath, [PIDSCOPE, 'eval', '--pid', String(proc.pid), t.expr], penv);
        if (c.code !== 0) throw new Error(`pidscope failed on ${t.name}: ${c.stderr}`);
        times.cold.push(c.ms);
        cpu.cold.push(c.cpu);
        const w = timeRun(process.execPath, [PIDSCOPE, 'eval', '--pid', String(proc.pid), t.expr], penv);
        if (w.code !== 0) throw new Error(`pidscope failed on ${t.name}: ${w.stderr}`);
        if (w.stdout !== c.stdout) throw new Error(`pidscope printed differently cold and warm on ${t.name}:\n${c.stdout}\n${w.stdout}`);
        pidscopeOut = w.stdout.trim();
        times.warm.push(w.ms);
        cpu.warm.push(w.cpu);
        const g = timeRun('gdb', [
          '-nx',
          '-batch',
          '-iex',
          'set debuginfod enabled off',
          '-iex',
          'set width 0',
          '-p',
          String(proc.pid),
          '-ex',
          `print ${t.expr}`,
        ]);
        const m = /^\$1 = (.*)$/m.exec(g.stdout);
        gdbOut = m ? m[1] : `(no value: ${g.stderr.trim().split('\n').pop()})`;
        times.gdb.push(g.ms);
        cpu.gdb.push(g.cpu);
        const d = timeRun('drgn', ['-q', '-p', String(proc.pid), script, t.drgn]);
        if (d.code !== 0) {
          times.drgn.push(NaN);
          drgnError = d.stderr.trim().split('\n').pop() ?? `exit ${d.code}`;
        } else {
          times.drgn.push(d.ms);
          cpu.drgn.push(d.cpu);
        }
      }
      const med = { cold: median(times.cold), warm: median(times.warm), gdb: median(times.gdb), drgn: median(times.drgn.filter((x) => !Number.isNaN(x))) };
      const cmed = { cold: median(cpu.cold), warm: median(cpu.warm), gdb: median(cpu.gdb), drgn: median(cpu.drgn) };
      const same = pidscopeOut === gdbOut;
      console.log(`${t.name}: ${mb(dbg)} of DWARF, print ${t.expr}`);
      console.log(
        `  pidscope eval, cold index   ${med.cold.toFixed(0).padStart(6)} ms   (gdb takes ${ratio(med.gdb, med.cold)} as long, drgn ${ratio(med.drgn, med.cold)})`,
      );
      console.log(
        `  pidscope eval, warm index   ${med.warm.toFixed(0).padStart(6)} ms   (gdb takes ${ratio(med.gdb, med.warm)} as long, drgn ${ratio(med.drgn, med.warm)})`,
      );
      console.log(`  gdb -batch -p               ${med.gdb.toFixed(0).padStart(6)} ms`);
      console.log(`  drgn -p                     ${Number.isNaN(med.drgn) ? `  failed: ${drgnError}` : med.drgn.toFixed(0).padStart(6) + ' ms'}`);
      console.log(
        `  CPU time (user+sys): pidscope cold ${cmed.cold} ms, warm ${cmed.warm} ms, gdb ${cmed.gdb} ms, drgn ${Number.isNaN(cmed.drgn) ? '—' : cmed.drgn + ' ms'}`,
      );
      console.log(`  output identical to gdb: ${same ? 'yes' : `NO\n    gdb:      ${gdbOut.slice(0, 200)}\n    pidscope: ${pidscopeOut.slice(0, 200)}`}\n`);
      const drgnCell = Number.isNaN(med.drgn) ? `failed (${drgnError.slice(0, 60)})` : `${med.drgn.toFixed(0)} ms`;
      cpuRows.push(
        `| ${t.name} | ${cmed.cold} ms | ${cmed.warm} ms | ${cmed.gdb} ms | ${Number.isNaN(cmed.drgn) ? '—' : cmed.drgn + ' ms'} | ${(cmed.cold / cmed.gdb).toFixed(2)} | ${(cmed.warm / cmed.gdb).toFixed(2)} | ${Number.isNaN(cmed.drgn) ? '—' : (cmed.warm / cmed.drgn).toFixed(2)} |`,
      );
      rows.push(
        `| ${t.name} | ${mb(dbg)} | \`${t.expr}\` | ${med.cold.toFixed(0)} ms | ${med.warm.toFixed(0)} ms | ${med.gdb.toFixed(0)} ms | ${drgnCell} | ${(med.cold / med.gdb).toFixed(2)} | ${(med.warm / med.gdb).toFixed(2)} | ${Number.isNaN(med.drgn) ? '—' : (med.warm / med.drgn).toFixed(2)} | ${same ? 'yes' : 'no'} |`,
      );
      if (!same) process.exitCode = 1;
      if (t.globals) globalsRows.push(benchGlobals(t, proc.pid, penv, dir));
    } finally {
      await proc.stop();
    }
  }
  rmSync(dir, { recursive: true, force: true });
  console.log(`load average at the end: ${loadAverage()}\n`);
  console.log('| program | DWARF | expression | pidscope cold | pidscope warm | gdb | drgn | cold / gdb | warm / gdb | warm / drgn | same as gdb |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
  console.log('\nCPU time (user+sys, 10 ms resolution), medians:\n');
  console.log('| program | pidscope cold | pidscope warm | gdb | drgn | cold / gdb | warm / gdb | warm / drgn |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of cpuRows) console.log(r);
  if (globalsRows.length) {
    console.log('\n| program | globals | pidscope globals (warm index) | gdb, print each | pidscope / gdb (wall, CPU) |');
    console.log('|---|---|---|---|---|');
    for (const r of globalsRows) console.log(r);
  }
}

/**
 * Every global of the main program: `pidscope globals --pid N` (warm index) against one
 * `gdb -batch -p N -x FILE.py` printing each of them by the expression pidscope lists for it.
 */
function benchGlobals(t: Target, pid: number, penv: NodeJS.ProcessEnv, dir: string): string {
  const listing = timeRun(process.execPath, [PIDSCOPE, 'globals', '--json', '--pid', String(pid)], penv);
  if (listing.code !== 0) throw new Error(`pidscope globals failed on ${t.name}: ${listing.stderr}`);
  const exprs: string[] = [];
  for (const m of JSON.parse(listing.stdout) as Array<{ units: Array<{ variables: Array<{ expression: string }> }> }>)
    for (const u of m.units) for (const v of u.variables) exprs.push(v.expression);
  // gdb stops a command file at its first error: a Python loop keeps going, like a user would.
  const list = join(dir, 'globals.txt');
  writeFileSync(list, exprs.join('\n') + '\n');
  const cmds = join(dir, 'globals.py');
  writeFileSync(
    cmds,
    [
      'import gdb',
      `for e in open(${JSON.stringify(list)}).read().split('\\n'):`,
      '    if e:',
      '        try:',
      "            gdb.execute('print ' + e)",
      '        except gdb.error as x:',
      '            print(x)',
      '',
    ].join('\n'),
  );
  const rounds = Math.max(1, Math.min(ROUNDS, 3));
  const ours: number[] = [];
  const gdb: number[] = [];
  const oursCpu: number[] = [];
  const gdbCpu: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const p = timeRun(process.execPath, [PIDSCOPE, 'globals', '--pid', String(pid)], penv);
    if (p.code !== 0) throw new Error(`pidscope globals failed on ${t.name}: ${p.stderr}`);
    ours.push(p.ms);
    oursCpu.push(p.cpu);
    const g = timeRun('gdb', [
      '-nx',
      '-batch',
      '-iex',
      'set debuginfod enabled off',
      '-iex',
      'set width 0',
      '-iex',
      'set pagination off',
      '-p',
      String(pid),
      '-x',
      cmds,
    ]);
    gdb.push(g.ms);
    gdbCpu.push(g.cpu);
  }
  const a = median(ours);
  const g = median(gdb);
  const ac = median(oursCpu);
  const gc = median(gdbCpu);
  console.log(
    `${t.name}: all ${exprs.length} globals: pidscope globals ${a.toFixed(0)} ms (CPU ${ac} ms), gdb printing each ${g.toFixed(0)} ms (CPU ${gc} ms): ${(a / g).toFixed(2)} of gdb's time\n`,
  );
  return `| ${t.name} | ${exprs.length} | ${a.toFixed(0)} ms (CPU ${ac} ms) | ${g.toFixed(0)} ms (CPU ${gc} ms) | ${(a / g).toFixed(2)} (CPU ${(ac / gc).toFixed(2)}) |`;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
