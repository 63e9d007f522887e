/**
 * The persistent symbol index (adapter/src/symbols/indexCache): a second open of the same DWARF
 * adopts the index the first one wrote; a rebuilt binary is never answered from the old index;
 * a truncated or garbage cache file is ignored and rewritten; two CLI runs writing at once both
 * succeed; PIDSCOPE_INDEX_CACHE=0 and --no-index-cache turn it off. Every test has its own
 * XDG_CACHE_HOME.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadSymbols, loadSymbolsFromFiles } from '../../adapter/src/symbols/index';
import { pidscope } from '../cli/run';
import { startFixture, type RunningFixture } from '../support/fixtures';

const work = mkdtempSync(join(tmpdir(), 'pidscope-index-cache-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

let cacheHome: string;
const savedXdg = process.env.XDG_CACHE_HOME;
const savedSwitch = process.env.PIDSCOPE_INDEX_CACHE;
beforeEach(() => {
  cacheHome = mkdtempSync(join(work, 'xdg-'));
  process.env.XDG_CACHE_HOME = cacheHome;
  delete process.env.PIDSCOPE_INDEX_CACHE;
});
afterEach(() => {
  if (savedXdg === undefined) delete process.env.XDG_CACHE_HOME;
  else process.env.XDG_CACHE_HOME = savedXdg;
  if (savedSwitch === undefined) delete process.env.PIDSCOPE_INDEX_CACHE;
  else process.env.PIDSCOPE_INDEX_CACHE = savedSwitch;
});

const indexFiles = () => {
  try {
    return readdirSync(join(cacheHome, 'pidscope', 'index')).filter((f) => f.endsWith('.idx'));
  } catch {
    return [];
  }
};

/** Compiles a program with the given globals into `out` (same path each time: a rebuild). */
function compile(out: string, globals: string[], buildId = true): void {
  const src = `${out}.c`;
  writeFileSync(src, `${globals.map((g, i) => `int ${g} = ${i + 1};`).join('\n')}\nint main(void) { return ${globals[0]}; }\n`);
  execFileSync('gcc', ['-g', '-O0', ...(buildId ? [] : ['-Wl,--build-id=none']), '-o', out, src]);
}

/** Opens the file's symbols, looks `name` up; says whether the index came from the cache. */
function lookup(binary: string, name: string): { found: boolean; adopted: boolean } {
  const syms = loadSymbolsFromFiles([binary]);
  const found = syms.findVariables(name).length > 0;
  return { found, adopted: syms.modules[0].dwarf?.indexAdopted ?? false };
}

describe('persistent symbol index', () => {
  it('writes the index on the first run and adopts it on the next', () => {
    const bin = join(work, 'first');
    compile(bin, ['g_one']);
    expect(lookup(bin, 'g_one')).toEqual({ found: true, adopted: false });
    expect(indexFiles()).toHaveLength(1);
    expect(lookup(bin, 'g_one')).toEqual({ found: true, adopted: true });
  });

  // A warm run looks one name up without decoding the maps: it must see exactly what they hold.
  it('looks single names up in an adopted index exactly as the decoded maps hold them', () => {
    const fixture = join(__dirname, '..', '..', 'fixtures', 'build');
    for (const bin of [join(fixture, 'O2-dwarf5-pie', 'globals'), join(fixture, 'cxx', 'gcc-O0-dwarf5', 'cxx')]) {
      const first = loadSymbolsFromFiles([bin]).modules[0].dwarf!;
      first.index();
      first.indexTypes(); // written with the type names too
      const d = loadSymbolsFromFiles([bin]).modules[0].dwarf!;
      expect(d.indexAdopted).toBe(true);
      const shape = (e: { name: string; die: number; unit: { offset: number }; declaration: boolean }) => {
        const x = e as unknown as Record<string, unknown>;
        return {
          name: e.name,
          die: e.die,
          unit: e.unit.offset,
          declaration: e.declaration,
          scope: x.scope,
          fn: x.fn,
          external: x.external,
          constOnly: x.constOnly,
        };
      };
      // One-name answers first (nothing decoded yet), then the maps, decoded by another open.
      const names = [...first.variables.keys()];
      const fnNames = [...first.functions.keys()];
      const typeNames = [...first.typeDefs.keys(), ...first.typeDecls.keys()];
      expect(names.length).toBeGreaterThan(10);
      const one = names.map((n) => d.variablesNamed(n).map(shape));
      const oneFn = fnNames.map((n) => d.functionsNamed(n).map(shape));
      const typeShape = (t: { kind: string } | undefined) => (t ? `${t.kind} ${(t as { name?: string }).name ?? ''}` : undefined);
      const oneType = typeNames.map((n) => typeShape(d.findType(n)));
      expect(d.variablesNamed('no_such_name_here')).toEqual([]);
      expect(d.functionsNamed('g_int')).toEqual([]); // a string of the index, but not a function
      const full = loadSymbolsFromFiles([bin]).modules[0].dwarf!;
      expect(one).toEqual(names.map((n) => (full.variables.get(n) ?? []).map(shape)));
      expect(oneFn).toEqual(fnNames.map((n) => (full.functions.get(n) ?? []).map(shape)));
      expect(full.typeDefs.size + full.typeDecls.size).toBeGreaterThan(5);
      expect(oneType).toEqual(typeNames.map((n) => typeShape(full.findType(n))));
    }
  });

  for (const buildId of [true, false]) {
    it(`sees a rebuilt binary with another global (${buildId ? 'build-id' : 'no build-id: path, size, mtime'})`, () => {
      const bin = join(work, `rebuilt-${buildId}`);
      compile(bin, ['g_alpha'], buildId);
      expect(lookup(bin, 'g_alpha').found).toBe(true);
      expect(lookup(bin, 'g_alpha').adopted).toBe(true);
      compile(bin, ['g_alpha', 'g_beta'], buildId);
      const after = lookup(bin, 'g_beta');
      expect(after).toEqual({ found: true, adopted: false });
      expect(lookup(bin, 'g_beta')).toEqual({ found: true, adopted: true });
    });
  }

  for (const damage of ['truncated', 'garbage', 'empty', 'one bit flipped'] as const) {
    it(`ignores a ${damage} cache file and rewrites it`, () => {
      const bin = join(work, `damaged-${damage}`);
      compile(bin, ['g_kept']);
      lookup(bin, 'g_kept');
      const [file] = indexFiles();
      const path = join(cacheHome, 'pidscope', 'index', file);
      const good = readFileSync(path);
      if (damage === 'truncated') writeFileSync(path, good.subarray(0, good.length >> 1));
      else if (damage === 'empty') writeFileSync(path, '');
      else if (damage === 'one bit flipped') {
        // In the numbers (a DIE offset, a string offset): only the checksum can tell.
        const flipped = Buffer.from(good);
        flipped[good.length - 12] ^= 0x01;
        writeFileSync(path, flipped);
      } else {
        const junk = Buffer.from(good);
        for (let i = 64; i < junk.length; i += 7) junk[i] ^= 0x5a;
        writeFileSync(path, junk);
      }
      expect(lookup(bin, 'g_kept')).toEqual({ found: true, adopted: false });
      expect(readFileSync(path).equals(good)).toBe(true);
      expect(lookup(bin, 'g_kept')).toEqual({ found: true, adopted: true });
    });
  }

  it('a binary without build-id is recognised from another process running it (no pid in the key)', async () => {
    const bin = join(work, 'nobuildid-live');
    writeFileSync(
      `${bin}.c`,
      '#include <stdio.h>\n#include <unistd.h>\nint g_live = 7;\nint main(void) { printf("ready\\n"); fflush(stdout); pause(); return g_live; }\n',
    );
    execFileSync('gcc', ['-g', '-O0', '-Wl,--build-id=none', '-o', bin, `${bin}.c`]);
    const procs = [spawn(bin, [], { stdio: ['ignore', 'pipe', 'ignore'] }), spawn(bin, [], { stdio: ['ignore', 'pipe', 'ignore'] })];
    try {
      await Promise.all(procs.map((p) => new Promise<void>((res) => p.stdout!.once('data', () => res()))));
      const adopted: boolean[] = [];
      for (const p of procs) {
        const syms = await loadSymbols(p.pid!);
        expect(syms.findVariables('g_live')).toHaveLength(1);
        adopted.push(syms.modules[0].dwarf?.indexAdopted ?? false);
      }
      expect(adopted).toEqual([false, true]);
    } finally {
      for (const p of procs) p.kill('SIGKILL');
    }
  });

  it('PIDSCOPE_INDEX_CACHE=0 turns it off', () => {
    const bin = join(work, 'off');
    compile(bin, ['g_off']);
    process.env.PIDSCOPE_INDEX_CACHE = '0';
    expect(lookup(bin, 'g_off')).toEqual({ found: true, adopted: false });
    expect(lookup(bin, 'g_off')).toEqual({ found: true, adopted: false });
    expect(indexFiles()).toHaveLength(0);
  });

  it('keeps the directory under its size bound, dropping the least recently used', () => {
    process.env.PIDSCOPE_INDEX_CACHE_MAX_MB = '0.000001';
    try {
      const a = join(work, 'lru-a');
      const b = join(work, 'lru-b');
      compile(a, ['g_a']);
      compile(b, ['g_b']);
      lookup(a, 'g_a');
      lookup(b, 'g_b');
      // Only the newest index survives a bound smaller than one file.
      expect(indexFiles()).toHaveLength(1);
      expect(lookup(b, 'g_b').adopted).toBe(true);
    } finally {
      delete process.env.PIDSCOPE_INDEX_CACHE_MAX_MB;
    }
  });

  describe('CLI', () => {
    let fx: RunningFixture;
    afterEach(async () => {
      await fx?.stop();
    });

    it('two concurrent runs both succeed and leave one index per file, no temporary files', async () => {
      fx = await startFixture('globals');
      const env = { XDG_CACHE_HOME: cacheHome };
      const [a, b] = await Promise.all([
        pidscope(['eval', '--pid', String(fx.pid), 'g_int'], { env }),
        pidscope(['eval', '--pid', String(fx.pid), 'g_int'], { env }),
      ]);
      expect(a.stderr).toBe('');
      expect(b.stderr).toBe('');
      expect(a.code).toBe(0);
      expect(b.code).toBe(0);
      expect(a.stdout).toBe(b.stdout);
      const files = readdirSync(join(cacheHome, 'pidscope', 'index'));
      expect(files.filter((f) => f.endsWith('.tmp'))).toEqual([]);
      expect(new Set(files).size).toBe(files.length);
      const warm = await pidscope(['eval', '--pid', String(fx.pid), 'g_int'], { env });
      expect(warm.stdout).toBe(a.stdout);
      for (const f of files) expect(statSync(join(cacheHome, 'pidscope', 'index', f)).size).toBeGreaterThan(40);
    });

    it('--no-index-cache neither reads nor writes it', async () => {
      fx = await startFixture('globals');
      const r = await pidscope(['eval', '--no-index-cache', '--pid', String(fx.pid), 'g_int'], { env: { XDG_CACHE_HOME: cacheHome } });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(indexFiles()).toEqual([]);
    });
  });
});
