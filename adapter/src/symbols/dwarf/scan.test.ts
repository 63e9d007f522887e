/**
 * The cold name scan (scan.ts, scanIndex.ts): what it indexes in C and C++ compiled here at -O0
 * and -O2 with DWARF 4 and 5; that a scan split over a worker thread gives the same index as one
 * scan; and that the persistent index encoded from the scan's records decodes to the same maps.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ElfFile } from '../elf/elf';
import { elfDwarfSections } from './sections.testutil';
import { decodeIndex, encodeIndex } from '../indexCache/codec';
import { DwarfInfo, type FnEntry, type VarEntry } from './info';
import { scanUnits } from './scan';
import { scanInParallel } from './scanParallel';
import { ScannedIndex, type ScanNaming } from './scanIndex';

const C_SRC = `
extern int declared_then_defined;
int declared_then_defined = 5;
int global_one = 1;
static int file_static = 2;
extern int only_declared;
int prototype_only(int a, int b);
int with_statics(int x) {
  static int counter = 3;
  { static int in_block = 4; counter += in_block; }
  int local = x * 2;
  return counter + local + file_static + only_declared + prototype_only(x, x);
}
static inline int inlined(int y) { static int inl_static = 6; return y + inl_static++; }
int uses_inlined(int z) { return inlined(z) + inlined(z + 1); }
int \u00e9t\u00e9 = 7;
int main(void) { return with_statics(1) + uses_inlined(2) + declared_then_defined + global_one + \u00e9t\u00e9; }
int only_declared = 8;
int prototype_only(int a, int b) { return a - b; }
`;

/** A second unit, so a scan can be split between threads. */
const C_SRC_2 = `
static int second_static = 9;
int second_global = 10;
int second_fn(void) { static int second_fn_static; return second_static + second_fn_static++; }
`;

const CXX_SRC = `
namespace outer { int in_ns = 1; namespace inner { int deeper = 2; } }
namespace { int anon_ns = 3; }
struct Widget { static int count; int f(int v) { static int calls; return v + calls++ + count; } };
int Widget::count = 4;
int main() { Widget w; return w.f(1) + outer::in_ns + outer::inner::deeper + anon_ns; }
`;

let dir: string;
const bins: Record<string, string> = {};
let workerFile: string;

const sections = elfDwarfSections;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pidscope-scan-'));
  writeFileSync(join(dir, 'a.c'), C_SRC);
  writeFileSync(join(dir, 'a2.c'), C_SRC_2);
  writeFileSync(join(dir, 'b.cc'), CXX_SRC);
  writeFileSync(join(dir, 'b2.cc'), `namespace second { int in_second = 11; }\n${C_SRC_2}`);
  for (const [name, flags] of [
    ['c4O0', ['-gdwarf-4', '-O0']],
    ['c5O2', ['-gdwarf-5', '-O2']],
  ] as const) {
    bins[name] = join(dir, name);
    execFileSync('gcc', [...flags, '-o', bins[name], join(dir, 'a.c'), join(dir, 'a2.c')]);
  }
  for (const [name, flags] of [
    ['x5O0', ['-gdwarf-5', '-O0']],
    ['x4O2', ['-gdwarf-4', '-O2']],
  ] as const) {
    bins[name] = join(dir, name);
    execFileSync('g++', [...flags, '-o', bins[name], join(dir, 'b.cc'), join(dir, 'b2.cc')]);
  }
  // The worker runs compiled JavaScript: bundle it as `npm run build` does.
  workerFile = join(dir, 'scanWorker.js');
  await build({ entryPoints: [join(__dirname, 'scanWorker.ts')], outfile: workerFile, bundle: true, platform: 'node', format: 'cjs', logLevel: 'warning' });
}, 120_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const open = (bin: string) => new DwarfInfo(sections(ElfFile.open(bin)));
const v = (e: VarEntry) =>
  `${e.name} ${e.scope}${e.fn ? ` in ${e.fn}` : ''}${e.declaration ? ' decl' : ''}${e.constOnly ? ' const' : ''} @${e.die}/${e.unit.offset}`;
const f = (e: FnEntry) => `${e.name}${e.external ? ' ext' : ''}${e.declaration ? ' decl' : ''} @${e.die}/${e.unit.offset}`;
const dump = (m: Map<string, Array<VarEntry | FnEntry>>, show: (e: never) => string) =>
  [...m].map(([k, l]) => `${k}: ${l.map((e) => show(e as never)).join(', ')}`);

describe('cold name scan', () => {
  it('indexes globals, file statics, function statics and functions of C', () => {
    for (const bin of [bins.c4O0, bins.c5O2]) {
      const d = open(bin);
      d.index();
      expect(d.errors).toEqual([]);
      const scope = (n: string) => d.variablesNamed(n).map((e) => `${e.scope}${e.fn ? ` in ${e.fn}` : ''}${e.declaration ? ' decl' : ''}`);
      expect(scope('global_one')).toEqual(['global']);
      expect(scope('file_static')).toEqual(['file-static']);
      expect(scope('counter')).toEqual(['function-static in with_statics']);
      expect(scope('second_static')).toEqual(['file-static']);
      expect(scope('second_fn_static')).toEqual(['function-static in second_fn']);
      if (bin === bins.c4O0) {
        // -O2 folds these to constants (found on demand by functionLocals, not indexed).
        expect(scope('in_block')).toEqual(['function-static in with_statics']);
        expect(scope('inl_static')).toEqual(['function-static in inlined']);
      }
      expect(scope('\u00e9t\u00e9')).toEqual(['global']);
      // A definition named through DW_AT_specification keeps the declaration's external scope.
      expect(scope('declared_then_defined').filter((s) => !s.endsWith('decl'))).toEqual(['global']);
      // Stack locals are never indexed.
      expect(d.variablesNamed('local')).toEqual([]);
      expect(d.functionsNamed('with_statics').some((e) => !e.declaration && e.external)).toBe(true);
      expect(d.functionsNamed('prototype_only').length).toBeGreaterThan(0);
      // Entries looked up one by one are those of the whole map, in the same order.
      for (const [name, list] of d.variables) expect(d.variablesNamed(name).map(v)).toEqual(list.map(v));
    }
  });

  it('names C++ namespace-scope variables and static members as gdb does', () => {
    for (const bin of [bins.x5O0, bins.x4O2]) {
      const d = open(bin);
      d.index();
      expect(d.errors).toEqual([]);
      const names = [...d.variables.keys()];
      for (const n of ['outer::in_ns', 'outer::inner::deeper', '(anonymous namespace)::anon_ns', 'Widget::count', 'second::in_second'])
        expect(names).toContain(n);
    }
  });

  it('gives the same index split over a worker thread as in one scan', () => {
    for (const bin of Object.values(bins)) {
      const serial = open(bin);
      serial.index();
      const d = open(bin);
      const units = d.reader.units();
      const parts = scanInParallel(d.reader, units, { force: true, workerFile, strict: true });
      expect(parts, bin).toHaveLength(2);
      // Names through other DIEs are resolved as DwarfInfo does (its private helpers).
      const real = serial as unknown as ScanNaming;
      const naming: ScanNaming = { nameOf: (o) => real.nameOf(o), scopePrefixOf: (o) => real.scopePrefixOf(o), hasAttr: (o, a) => real.hasAttr(o, a) };
      const parallel = new ScannedIndex(units, parts!, naming);
      const one = new ScannedIndex(units, [scanUnits(d.reader, units, 0, units.length)], naming);
      expect(dump(parallel.variables(), v)).toEqual(dump(one.variables(), v));
      expect(dump(parallel.functions(), f)).toEqual(dump(one.functions(), f));
      expect(dump(one.variables(), v)).toEqual(dump(serial.variables, v));
      expect(dump(one.functions(), f)).toEqual(dump(serial.functions, f));
    }
  });

  it('encodes the persistent index from the records to the same maps (ASCII and UTF-8 names)', () => {
    for (const bin of Object.values(bins)) {
      const d = open(bin);
      d.index();
      const content = { unitStarts: d.reader.unitStarts(), errors: d.errors };
      const fromRecords = encodeIndex('id', { ...content, records: d.scannedIndex, variables: new Map(), functions: new Map() });
      const fromMaps = encodeIndex('id', { ...content, variables: d.variables, functions: d.functions });
      for (const buf of [fromRecords, fromMaps]) {
        const back = decodeIndex(buf, 'id', d.reader, d.reader.s.info.length)!;
        expect(dump(back.variables(), v)).toEqual(dump(d.variables, v));
        expect(dump(back.functions(), f)).toEqual(dump(d.functions, f));
        expect(back.variablesNamed!('\u00e9t\u00e9').map(v)).toEqual(d.variablesNamed('\u00e9t\u00e9').map(v));
      }
    }
  });
});
