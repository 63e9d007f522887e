/**
 * Lookups through a compiler-emitted name index (.debug_names from clang -gpubnames or
 * gdb-add-index -dwarf-5, .gdb_index from gdb-add-index) give the same DIEs as the full scan,
 * for every name the scan knows, in every fixture variant that carries an index.
 * The intended differences (adapter/src/symbols/dwarf/compilerIndex.ts), when a name has an
 * external definition: declarations of it in units that do not define it are not returned (the
 * test allows that), nor a same-named static without storage in an unlisted unit (no fixture
 * has one: the test would fail on it). Also: type names, `fn::name`, malformed sections (dropped
 * with a warning, answers still right), and the persistent index after a listing.
 */
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compilerIndexOf } from '../../adapter/src/symbols/dwarf/compilerIndex';
import type { DwarfInfo, FnEntry, VarEntry } from '../../adapter/src/symbols/dwarf/info';
import { ElfFile } from '../../adapter/src/symbols/elf/elf';
import { symbolValuesNamed } from '../../adapter/src/symbols/elf/valuesNamed';
import { loadSymbolsFromFiles } from '../../adapter/src/symbols/index';
import { fixturePath, FIXTURES_BUILD_DIR, INDEXED_VARIANTS, PROGRAMS } from '../support/fixtures';

const saved = { cache: process.env.PIDSCOPE_INDEX_CACHE, ci: process.env.PIDSCOPE_COMPILER_INDEX };
beforeAll(() => {
  process.env.PIDSCOPE_INDEX_CACHE = '0';
});
const work = mkdtempSync(join(tmpdir(), 'pidscope-compiler-index-'));
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
  for (const [k, v] of [
    ['PIDSCOPE_INDEX_CACHE', saved.cache],
    ['PIDSCOPE_COMPILER_INDEX', saved.ci],
  ] as const) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

function open(path: string, compilerIndex: boolean): DwarfInfo {
  process.env.PIDSCOPE_COMPILER_INDEX = compilerIndex ? '1' : '0';
  const d = loadSymbolsFromFiles([path]).modules[0].dwarf;
  if (!d) throw new Error(`${path} has no DWARF`);
  return d;
}

const shape = (e: VarEntry | FnEntry) => ({
  name: e.name,
  die: e.die,
  unit: e.unit.offset,
  ...('scope' in e ? { scope: e.scope, fn: e.fn, constOnly: e.constOnly } : { external: e.external }),
  declaration: e.declaration,
});

/** The scan's entries less the declarations the index may leave out when a definition exists. */
function expected(scan: Array<VarEntry | FnEntry>, got: Array<VarEntry | FnEntry>) {
  if (!got.some((e) => !e.declaration)) return scan.map(shape);
  const units = new Set(got.map((e) => e.unit.offset));
  return scan.filter((e) => !e.declaration || units.has(e.unit.offset)).map(shape);
}

// The C fixtures in every indexed variant, and the C++ ones (namespaces, classes, templates:
// gdb writes qualified names, clang DW_AT_name) built with an index (fixtures/Makefile CXX_INDEXED).
const CASES: Array<{ variant: string; programs: Array<[string, string]> }> = [
  ...INDEXED_VARIANTS.map((variant) => ({ variant, programs: PROGRAMS.map((p): [string, string] => [p, fixturePath(p, variant)]) })),
  ...['gcc-O2-gdb-index', 'gcc-O0-gdb-names', 'clang-O0-names'].map((v) => ({
    variant: `C++ ${v}`,
    programs: ['cxx', 'stl'].map((p): [string, string] => [p, join(FIXTURES_BUILD_DIR, 'cxx-indexed', v, p)]),
  })),
];

for (const { variant, programs } of CASES) {
  describe(`compiler index, variant ${variant}`, () => {
    for (const [program, path] of programs) {
      it.skipIf(!existsSync(path))(`${program}: every name resolves to the scan's DIEs`, () => {
        const scan = open(path, false);
        scan.index();
        expect(compilerIndexOf(scan)).toBeUndefined();
        let d = open(path, true);
        const kind = compilerIndexOf(d)?.kind;
        expect(kind).toBe(variant.includes('gdb-index') ? '.gdb_index' : '.debug_names');
        let fallbacks = 0;
        /** Past the bound: the full maps answer the rest (compared all the same). */
        let stale = false;
        /** One lookup on an instance that has not built the full maps (a fallback builds them: a fresh instance then). */
        const ask = <T>(q: (x: DwarfInfo) => T): { r: T; viaIndex: boolean } => {
          const st = compilerIndexOf(d)!.stats;
          const before = { indexed: st.indexed, fallbacks: st.fullFallbacks };
          const r = q(d);
          // Answered by the index only when it counted one (an instance that built the full
          // maps answers from them, counting nothing).
          const viaIndex = st.indexed > before.indexed && st.fullFallbacks === before.fallbacks;
          if (st.fullFallbacks > before.fallbacks) {
            fallbacks++;
            // A fresh instance keeps the next lookups on the index path (bounded: the C++ STL
            // fixture falls back hundreds of times, for inline functions without an external definition).
            if (fallbacks <= 150) d = open(path, true);
            else stale = true;
          }
          return { r, viaIndex };
        };
        let indexed = 0;
        for (const [name, list] of scan.variables) {
          const got = ask((x) => x.variablesNamed(name));
          expect({ name, entries: got.r.map(shape) }).toEqual({ name, entries: expected(list, got.r) });
          // A name with an external definition is answered from .debug_names, not by the full
          // scan. (.gdb_index names only the first unit that mentions a name, often one that
          // just declares it: that lookup falls back.)
          if (!stale && kind === '.debug_names' && list.some((e) => e.scope === 'global' && !e.declaration))
            expect({ name, viaIndex: got.viaIndex }).toEqual({ name, viaIndex: true });
          if (got.viaIndex) indexed++;
          // `fn::name`: the function's statics, as the scan has them.
          for (const fn of new Set(list.filter((e) => e.fn !== undefined).map((e) => e.fn!))) {
            const mine = ask((x) => x.variablesNamed(name, fn)).r.filter((e) => e.fn === fn);
            expect({ name, fn, entries: mine.map(shape) }).toEqual({ name, fn, entries: list.filter((e) => e.fn === fn).map(shape) });
          }
        }
        for (const [name, list] of scan.functions) {
          const got = ask((x) => x.functionsNamed(name));
          expect({ name, entries: got.r.map(shape) }).toEqual({ name, entries: expected(list, got.r) });
          if (!stale && kind === '.debug_names' && list.some((e) => e.external && !e.declaration))
            expect({ name, viaIndex: got.viaIndex }).toEqual({ name, viaIndex: true });
          if (got.viaIndex) indexed++;
        }
        // Type names (.debug_names answers them; .gdb_index leaves them to the type pass).
        scan.indexTypes();
        const typeNamed = (x: DwarfInfo, key: string) => (x as unknown as { typeNamed(k: string): { defs?: number[]; decl?: number } }).typeNamed(key);
        for (const key of new Set([...scan.typeDefs.keys(), ...scan.typeDecls.keys()])) {
          const want = { defs: scan.typeDefs.get(key), decl: scan.typeDecls.get(key) };
          const got = ask((x) => {
            x.indexTypes(); // as findType does: the type pass for .gdb_index, nothing for .debug_names
            return typeNamed(x, key);
          }).r;
          // The first declaration is read only when no unit defines the type.
          if (want.defs?.length) expect({ key, defs: got.defs }).toEqual({ key, defs: want.defs });
          else expect({ key, ...got, defs: got.defs ?? [] }).toEqual({ key, ...want, defs: [] });
        }
        if (kind === '.debug_names' && program === 'globals') {
          d = open(path, true); // its own answers are cached per instance
          const t = ask((x) => typeNamed(x, 'struct rect'));
          expect({ viaIndex: t.viaIndex, defs: t.r.defs }).toEqual({ viaIndex: true, defs: scan.typeDefs.get('struct rect') });
        }
        expect(ask((x) => x.variablesNamed('no_such_name_anywhere')).r).toEqual([]);
        expect(indexed).toBeGreaterThan(0);
        console.log(`${variant}/${program} (${kind}): ${indexed} names answered through the index, ${fallbacks} lookups fell back to the full scan`);
      });
    }
  });
}

/** A copy of a fixture with bytes of one section changed by `patch` (given the section's bytes). */
function corrupt(variant: (typeof INDEXED_VARIANTS)[number], section: string, patch: (b: Buffer) => void): string {
  const src = fixturePath('globals', variant);
  const out = join(work, `${variant}-${section.slice(1)}-${Math.random().toString(16).slice(2)}`);
  copyFileSync(src, out);
  const bytes = readFileSync(out);
  const sec = new ElfFile(bytes, out).section(section);
  if (!sec) throw new Error(`${src} has no ${section}`);
  patch(bytes.subarray(sec.offset, sec.offset + sec.size));
  writeFileSync(out, bytes);
  return out;
}

describe('a malformed compiler index is treated as absent', () => {
  const cases: Array<[string, (typeof INDEXED_VARIANTS)[number], string, (b: Buffer) => void, RegExp]> = [
    ['an unsupported .gdb_index version', 'gdb-index', '.gdb_index', (b) => b.writeUInt32LE(6, 0), /\.gdb_index not used \(unsupported version 6/],
    [
      'a .gdb_index unit that is not in .debug_info',
      'gdb-index',
      '.gdb_index',
      (b) => b.writeUInt32LE(b.readUInt32LE(b.readUInt32LE(4) + 16) + 1, b.readUInt32LE(4) + 16),
      /\.gdb_index not used \(CU list names 0x/,
    ],
    [
      'a .gdb_index with a wrong unit length',
      'gdb-index',
      '.gdb_index',
      (b) => b.writeUInt32LE(b.readUInt32LE(b.readUInt32LE(4) + 8) + 4, b.readUInt32LE(4) + 8),
      /\.gdb_index not used \(CU at 0x0 has length/,
    ],
    ['a .debug_names version 4', 'clang-O0-names', '.debug_names', (b) => b.writeUInt16LE(4, 4), /\.debug_names not used \(name index at 0x0 has version 4/],
    [
      'a .debug_names unit offset off by one',
      'gdb-names',
      '.debug_names',
      (b) => b.writeUInt32LE(b.readUInt32LE(36 + b.readUInt32LE(32) + 4) + 1, 36 + b.readUInt32LE(32) + 4),
      /\.debug_names not used \(.*where \.debug_info has no unit/,
    ],
    // Found only when a lookup reads the bucket: the index is dropped then, the answer still right.
    [
      '.debug_names buckets past the name table',
      'gdb-names',
      '.debug_names',
      (b) => {
        const at = 36 + b.readUInt32LE(32) + 4 * b.readUInt32LE(8);
        for (let i = 0; i < b.readUInt32LE(20); i++) b.writeUInt32LE(0xffff, at + 4 * i);
      },
      /\.debug_names not used \(bucket \d+ starts at name 65535/,
    ],
  ];
  for (const [what, variant, section, patch, warning] of cases) {
    it.skipIf(!existsSync(fixturePath('globals', variant)))(what, () => {
      const path = corrupt(variant, section, patch);
      process.env.PIDSCOPE_COMPILER_INDEX = '1';
      const syms = loadSymbolsFromFiles([path]);
      const v = syms.findVariables('g_int');
      expect(v.map((x) => x.compileUnit)).toEqual([expect.stringMatching(/globals\.c$/)]);
      expect(syms.findFunctions('main')).toHaveLength(1);
      expect(syms.modules[0].warnings).toEqual([expect.stringMatching(warning)]);
      expect(syms.modules[0].warnings[0]).toContain(path);
    });
  }
});

describe('symbolValuesNamed', () => {
  it('gives the values of the defined symbols of a name, as the decoded symbol tables do', () => {
    const m = loadSymbolsFromFiles([fixturePath('globals', 'O0-dwarf5-pie')]).modules[0];
    const names = new Set(m.symbols().map((x) => x.name));
    expect(names.size).toBeGreaterThan(50);
    for (const name of [...names, 'no_such_symbol']) {
      const want = [...new Set(m.symbolsNamed(name).map((x) => x.value))].sort();
      expect({ name, values: [...new Set(symbolValuesNamed([m.elf], name))].sort() }).toEqual({ name, values: want });
    }
  });
});

describe('listings and the persistent index', () => {
  it('a lookup leaves no persistent index; a listing builds the full one once and it is kept for the next run', () => {
    const path = fixturePath('globals', 'gdb-index');
    const xdg = mkdtempSync(join(work, 'xdg-'));
    const savedXdg = process.env.XDG_CACHE_HOME;
    process.env.XDG_CACHE_HOME = xdg;
    delete process.env.PIDSCOPE_INDEX_CACHE;
    process.env.PIDSCOPE_COMPILER_INDEX = '1';
    const indexFiles = () => (existsSync(join(xdg, 'pidscope', 'index')) ? readdirSync(join(xdg, 'pidscope', 'index')).filter((f) => f.endsWith('.idx')) : []);
    try {
      const one = loadSymbolsFromFiles([path]);
      expect(one.findVariables('g_int')).toHaveLength(1);
      expect(compilerIndexOf(one.modules[0].dwarf!)?.stats.fullFallbacks).toBe(0);
      expect(indexFiles()).toEqual([]);
      // A listing (pidscope globals, DAP scopes) needs every global: the full scan, then the cache.
      const listed = [...one.allVariables()].map((v) => v.name);
      expect(listed).toContain('g_int');
      expect(indexFiles()).toHaveLength(1);
      // The next run adopts the persistent index (the compiler index is not needed then).
      const two = loadSymbolsFromFiles([path]);
      expect(two.findVariables('g_int')).toHaveLength(1);
      expect(compilerIndexOf(two.modules[0].dwarf!)).toBeUndefined();
      expect(two.modules[0].dwarf!.indexAdopted).toBe(true);
      expect([...two.allVariables()].map((v) => v.name)).toEqual(listed);
    } finally {
      if (savedXdg === undefined) delete process.env.XDG_CACHE_HOME;
      else process.env.XDG_CACHE_HOME = savedXdg;
      process.env.PIDSCOPE_INDEX_CACHE = '0';
    }
  });
});
