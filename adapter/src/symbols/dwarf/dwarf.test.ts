import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FormatError } from '../binary/cursor';
import { ElfFile } from '../elf/elf';
import { elfDwarfSections } from './sections.testutil';
import { loadSymbolsFromFiles } from '../index';
import { ptypeText, typeName } from '../../lang/c/typeName';
import { DW_AT, DW_FORM, DW_TAG } from './constants';
import { DwarfInfo } from './info';
import { lookupLine } from './line';
import { DwarfReader } from './reader';
import { TypeBuilder } from './typeBuilder';
import { resolve } from '../types';

const SRC_A = `
#include <stddef.h>
struct node { struct node *next; int v : 3; unsigned w : 5; };
struct flex { int n; int d[]; };
union u { int a; float f; };
enum color { RED, GREEN = 5, BLUE };
typedef struct node node_t;
struct node n1 = { &n1, -1, 7 };
node_t *np = &n1;
const volatile unsigned short cvus = 3;
int (*fp)(int, char *);
char buf[16] = "hi";
int m[2][3];
enum color col = BLUE;
union u uu;
struct flex *fl;
long double ld = 1.5L;
_Float128 f128;
__int128 i128;
_Bool flag = 1;
__thread int tls_var = 9;
static int file_static = 4;
const char *const names[2] = { "a", "b" };
struct opaque *op;
extern int extern_in_b;
int fn(int a, ...) { static int fs = 3; return a + fs + file_static; }
int main(void) { return fn(1) + extern_in_b; }
`;
const SRC_B = `
struct opaque { int secret; };
struct opaque the_opaque = { 42 };
int extern_in_b = 7;
static int file_static = 8;
int use_b(void) { return file_static + the_opaque.secret; }
`;

let dir: string;
const bins: Record<string, string> = {};

const sections = elfDwarfSections;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pidscope-dwarf-'));
  writeFileSync(join(dir, 'a.c'), SRC_A);
  writeFileSync(join(dir, 'b.c'), SRC_B);
  for (const [name, flags] of [
    ['d4O0', ['-gdwarf-4', '-O0']],
    ['d5O0', ['-gdwarf-5', '-O0']],
    ['d5O2', ['-gdwarf-5', '-O2']],
    ['d4O2', ['-gdwarf-4', '-O2']],
    ['d3O0', ['-gdwarf-3', '-O0']],
    ['tu4', ['-gdwarf-4', '-fdebug-types-section', '-O0']],
    ['tu5', ['-gdwarf-5', '-fdebug-types-section', '-O0']],
  ] as const) {
    bins[name] = join(dir, name);
    execFileSync('gcc', [...flags, '-o', bins[name], join(dir, 'a.c'), join(dir, 'b.c')], { cwd: dir });
  }
}, 180_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('DWARF from gcc (3, 4 and 5, -O0 and -O2, type units)', () => {
  for (const variant of ['d4O0', 'd5O0', 'd5O2', 'd4O2', 'd3O0', 'tu4', 'tu5']) {
    it(`${variant}: variables, types and locations`, () => {
      const syms = loadSymbolsFromFiles([bins[variant]]);
      const nm = new Map(
        execFileSync('nm', [bins[variant]], { encoding: 'utf8' })
          .split('\n')
          .map((l) => l.split(' '))
          .filter((p) => p.length === 3)
          .map((p) => [p[2], BigInt('0x' + p[0])] as const),
      );
      const one = (name: string, scope = {}) => {
        const vs = syms.findVariables(name, scope);
        expect(vs.length, name).toBe(1);
        return vs[0];
      };
      expect(one('n1').address).toBe(nm.get('n1'));
      expect(ptypeText(one('n1').type!)).toBe('struct node {\n    struct node *next;\n    int v : 3;\n    unsigned int w : 5;\n}');
      expect(typeName(one('np').type!)).toBe('node_t *');
      expect(typeName(one('cvus').type!)).toBe('const volatile unsigned short');
      expect(typeName(one('fp').type!)).toBe('int (*)(int, char *)');
      expect(typeName(one('buf').type!)).toBe('char [16]');
      expect(typeName(one('m').type!)).toBe('int [2][3]');
      expect(ptypeText(one('col').type!)).toBe('enum color {RED, GREEN = 5, BLUE}');
      expect(ptypeText(one('fl').type!)).toBe('struct flex {\n    int n;\n    int d[];\n} *');
      expect(typeName(one('ld').type!)).toBe('long double');
      expect(one('ld').type).toMatchObject({ kind: 'float', size: 16, format: 'x87' });
      expect(one('f128').type).toMatchObject({ kind: 'float', size: 16, format: 'ieee', name: '_Float128' });
      expect(one('i128').type).toMatchObject({ kind: 'int', size: 16, signed: true });
      expect(one('flag').type).toMatchObject({ kind: 'bool', size: 1 });
      expect(typeName(one('names').type!)).toBe('const char * const[2]');
      expect(one('tls_var')).toMatchObject({ absentReason: 'thread-local: needs the thread pointer' });
      expect(one('tls_var').address).toBeUndefined();
      // Statics: same name in two units, picked by file.
      expect(syms.findVariables('file_static')).toHaveLength(2);
      expect(one('file_static', { file: 'b.c' }).compileUnit).toMatch(/b\.c$/);
      expect(one('fs', { function: 'fn' }).scope).toBe('function-static');
      // A declaration completed from the unit that defines it.
      expect(ptypeText(one('op').type!)).toBe('struct opaque {\n    int secret;\n} *');
      // Bit fields: bit offsets as the layout gcc chose.
      const members = (one('n1').type as { members: Array<{ name?: string; bitOffset: number; bitSize?: number }> }).members;
      expect(members.map((m) => [m.name, m.bitOffset, m.bitSize])).toEqual([
        ['next', 0, undefined],
        ['v', 64, 3],
        ['w', 67, 5],
      ]);
      const f = syms.findFunctions('fn')[0];
      expect(f.address).toBe(nm.get('fn'));
      expect(typeName(f.type!)).toBe('int (int, ...)');
      expect(syms.symbolize(nm.get('buf')! + 3n)).toMatchObject({ symbol: 'buf', offset: 3n });
      expect(syms.dwarfErrors()).toEqual([]);
    }, 120_000);

    it(`${variant}: line table equals readelf --debug-dump=decodedline`, () => {
      const out = execFileSync('readelf', ['--debug-dump=decodedline', bins[variant]], { encoding: 'utf8' });
      // Rows: "file  line  0xaddr  [view]  [x]"; the last row at an address is what a lookup returns.
      const byAddr = new Map<bigint, { file: string; line: number }>();
      for (const l of out.split('\n')) {
        const m = /^(\S+)\s+(\d+)\s+(0x[0-9a-f]+)(?:\s|$)/.exec(l);
        if (m) byAddr.set(BigInt(m[3]), { file: m[1], line: Number(m[2]) });
      }
      expect(byAddr.size).toBeGreaterThan(5);
      const elf = ElfFile.open(bins[variant]);
      const info = new DwarfInfo(sections(elf));
      let checked = 0;
      for (const [addr, want] of byAddr) {
        const loc = info.sourceLocation(addr);
        expect(loc, `0x${addr.toString(16)}`).toBeDefined();
        expect(loc!.line, `0x${addr.toString(16)}`).toBe(want.line);
        expect(loc!.file.endsWith(want.file)).toBe(true);
        checked++;
      }
      expect(checked).toBe(byAddr.size);
    }, 120_000);
  }
});

const CLANG = ['clang', 'clang-14', 'clang-15', 'clang-16'].find((c) => {
  try {
    execFileSync(c, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
});

describe.skipIf(!CLANG)(`DWARF from clang (${CLANG ?? 'not installed: apt-get install clang'})`, () => {
  const built: Record<string, string> = {};
  beforeAll(() => {
    writeFileSync(join(dir, 'ac.c'), SRC_A.replace(/^_Float128 f128;$/m, ''));
    for (const [name, flags] of [
      ['c5O0', ['-gdwarf-5', '-O0']],
      ['c5O2', ['-gdwarf-5', '-O2']],
      ['c4O0', ['-gdwarf-4', '-O0']],
    ] as const) {
      built[name] = join(dir, name);
      execFileSync(CLANG!, [...flags, '-o', built[name], join(dir, 'ac.c'), join(dir, 'b.c')], { cwd: dir });
    }
  }, 180_000);

  for (const variant of ['c5O0', 'c5O2', 'c4O0']) {
    it(`${variant}: every variable's whatis, ptype and address as gdb; lines as readelf`, () => {
      const bin = built[variant];
      const syms = loadSymbolsFromFiles([bin]);
      const vars = [...syms.allVariables()].filter((v) => v.scope !== 'function-static');
      expect(vars.length).toBeGreaterThan(15);
      const names = vars.map((v) => `'${(v.compileUnit ?? '').replace(/.*\//, '')}'::${v.name}`);
      const cmds = names.flatMap((n) => ['whatis ' + n, 'ptype ' + n, 'print &' + n]);
      const out = execFileSync('gdb', ['-nx', '-batch', '-iex', 'set width 0', ...cmds.flatMap((c) => ['-ex', 'echo @@@\\n', '-ex', c]), bin], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      })
        .split('@@@\n')
        .slice(1)
        .map((x) =>
          x
            .replace(/^type = /, '')
            .replace(/^\$\d+ = /, '')
            .replace(/\n$/, ''),
        );
      const diffs: string[] = [];
      vars.forEach((v, i) => {
        const [w, p, a] = [out[3 * i], out[3 * i + 1], out[3 * i + 2]];
        if (typeName(v.type!) !== w) diffs.push(`whatis ${names[i]}: gdb «${w}» we «${typeName(v.type!)}»`);
        if (ptypeText(v.type!) !== p) diffs.push(`ptype ${names[i]}: gdb «${p}» we «${ptypeText(v.type!)}»`);
        const m = /(0x[0-9a-f]+)/.exec(a ?? '');
        if (v.address !== undefined && (!m || BigInt(m[1]) !== v.address)) diffs.push(`&${names[i]}: gdb ${a} we 0x${v.address.toString(16)}`);
      });
      expect(diffs).toEqual([]);
      expect(syms.warnings).toEqual([]);
      const lines = execFileSync('readelf', ['--debug-dump=decodedline', bin], { encoding: 'utf8' });
      const info = syms.modules[0].dwarf!;
      let checked = 0;
      for (const l of lines.split('\n')) {
        const m = /^(\S+)\s+(\d+)\s+(0x[0-9a-f]+)\s*(?:\d+)?\s*x?$/.exec(l);
        if (!m) continue;
        const addr = BigInt(m[3]);
        // The last row at an address wins; rows at one address are consecutive in readelf's dump.
        const want = lines
          .split('\n')
          .filter((x) => x.includes(` ${m[3]} `) || x.endsWith(` ${m[3]}`))
          .pop();
        const wantLine = Number(/\s(\d+)\s+0x/.exec(want ?? '')?.[1]);
        expect(info.sourceLocation(addr)?.line, `0x${addr.toString(16)}`).toBe(wantLine);
        checked++;
      }
      expect(checked).toBeGreaterThan(5);
    }, 120_000);
  }
});

describe('forms (hand-built DWARF 5 unit)', () => {
  it('decodes every form gcc and clang use', () => {
    const uleb = (n: number) => {
      const o: number[] = [];
      do {
        let b = n & 0x7f;
        n = Math.floor(n / 128);
        if (n) b |= 0x80;
        o.push(b);
      } while (n);
      return o;
    };
    const sleb = (n: number) => {
      const o: number[] = [];
      for (;;) {
        const b = n & 0x7f;
        n >>= 7;
        if ((n === 0 && !(b & 0x40)) || (n === -1 && b & 0x40)) {
          o.push(b);
          return o;
        }
        o.push(b | 0x80);
      }
    };
    const F = DW_FORM;
    const specs: Array<[number, number, number[]]> = [
      // [attribute, form, abbrev extra (implicit const)]
      [DW_AT.name, F.strx1, []],
      [DW_AT.comp_dir, F.line_strp, []],
      [DW_AT.low_pc, F.addrx, []],
      [DW_AT.high_pc, F.data8, []],
      [DW_AT.byte_size, F.implicit_const, sleb(-3)],
      [DW_AT.const_value, F.data16, []],
      [DW_AT.external, F.flag_present, []],
      [DW_AT.decl_line, F.udata, []],
      [DW_AT.upper_bound, F.sdata, []],
      [DW_AT.location, F.exprloc, []],
      [DW_AT.ranges, F.rnglistx, []],
      [0x8c, F.loclistx, []],
      [DW_AT.type, F.ref4, []],
      [DW_AT.specification, F.ref_addr, []],
      [DW_AT.stmt_list, F.sec_offset, []],
      [DW_AT.decl_file, F.indirect, []],
      [DW_AT.linkage_name, F.string, []],
      [DW_AT.str_offsets_base, F.sec_offset, []],
      [DW_AT.addr_base, F.sec_offset, []],
      [DW_AT.bit_size, F.strx, []],
    ];
    const abbrev = [1, DW_TAG.compile_unit, 0];
    for (const [at, form, extra] of specs) abbrev.push(...uleb(at), ...uleb(form), ...extra);
    abbrev.push(0, 0, 0);
    const strOffsets = Buffer.alloc(8 + 8);
    strOffsets.writeUInt32LE(4, 0); // header (length, version, padding) then offsets
    strOffsets.writeUInt32LE(0, 8); // index 0 → "unit"
    strOffsets.writeUInt32LE(5, 12); // index 1 → "bits"
    const str = Buffer.from('unit\0bits\0');
    const lineStr = Buffer.from('xx\0/comp/dir\0');
    const addr = Buffer.alloc(8 + 16);
    addr.writeBigUInt64LE(0x401000n, 8);
    addr.writeBigUInt64LE(0x402000n, 16);
    const body: number[] = [1];
    const u32 = (v: number) => [v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >>> 24) & 0xff];
    body.push(0); // strx1 0
    body.push(...u32(3)); // line_strp → "/comp/dir"
    body.push(...uleb(1)); // addrx 1
    body.push(0x10, 0, 0, 0, 0, 0, 0, 0); // data8
    body.push(...Array.from({ length: 16 }, (_, i) => i)); // data16
    body.push(...uleb(300)); // udata
    body.push(...sleb(-1)); // sdata
    body.push(...uleb(9), 0x03, 0x00, 0x10, 0x40, 0, 0, 0, 0, 0); // exprloc: DW_OP_addr 0x401000
    body.push(...uleb(2)); // rnglistx
    body.push(...uleb(3)); // loclistx
    body.push(...u32(0x0c)); // ref4 (unit-relative)
    body.push(...u32(0x0c)); // ref_addr (absolute)
    body.push(...u32(0x20)); // sec_offset
    body.push(...uleb(F.data1), 5); // indirect → data1 5
    body.push(...Buffer.from('link\0'));
    body.push(...u32(8)); // str_offsets_base
    body.push(...u32(8)); // addr_base
    body.push(...uleb(1)); // strx → "bits"
    body.push(0); // end of children (none, but harmless)
    const hdr = [5, 0, 1, 8, ...u32(0)]; // version 5, DW_UT_compile, address size 8, abbrev offset 0
    const info = Buffer.from([...u32(hdr.length + body.length), ...hdr, ...body]);
    const r = new DwarfReader({ info, abbrev: Buffer.from(abbrev), str, lineStr, strOffsets, addr, littleEndian: true, addressSize: 8 });
    const [u] = r.units();
    expect(u.error).toBeUndefined();
    expect(u.name).toBe('unit');
    expect(u.compDir).toBe('/comp/dir');
    expect(u.lowPc).toBe(0x402000n);
    const d = r.readDie(u, u.dieOffset)!;
    const v = (at: number) => d.attrs.find((a) => a.at === at)!;
    expect(r.str(u, v(DW_AT.bit_size))).toBe('bits');
    expect(v(DW_AT.byte_size).value).toBe(-3n);
    expect((v(DW_AT.const_value).value as Buffer).length).toBe(16);
    expect(v(DW_AT.external).value).toBe(true);
    expect(v(DW_AT.decl_line).value).toBe(300n);
    expect(v(DW_AT.upper_bound).value).toBe(-1n);
    expect((v(DW_AT.location).value as Buffer)[0]).toBe(0x03);
    expect(v(DW_AT.ranges).value).toBe(2);
    expect(v(0x8c).value).toBe(3);
    expect(v(DW_AT.type).value).toBe(0x0c);
    expect(v(DW_AT.specification).value).toBe(0x0c);
    expect(v(DW_AT.stmt_list).value).toBe(0x20);
    expect(v(DW_AT.decl_file).value).toBe(5);
    expect(v(DW_AT.linkage_name).value).toBe('link');
    expect(r.dieRanges(d)).toEqual([[0x402000n, 0x402010n]]);
    // Skipping (the index scan's path) lands where full decoding does.
    expect(r.readDieSkip(u, u.dieOffset).next).toBe(d.next);
  }, 120_000);
});

describe('bad DWARF', () => {
  it('a chopped .debug_info gives an error for the broken unit only, and the others still work', () => {
    const elf = ElfFile.open(bins.d5O0);
    const s = sections(elf);
    const whole = new DwarfReader(s).units();
    expect(whole.length).toBeGreaterThanOrEqual(2);
    const last = whole[whole.length - 1];
    // Cut in the middle of the last unit (b.c), keep everything before it.
    const cut = { ...s, info: s.info.subarray(0, last.offset + Math.floor((last.end - last.offset) / 2)) };
    const info = new DwarfInfo(cut);
    info.index();
    expect(info.errors.length).toBeGreaterThan(0);
    expect(info.errors.join('\n')).toMatch(/unit at 0x[0-9a-f]+.*runs past the end/);
    expect(info.variables.get('n1')).toBeDefined();
    const n1 = info.variable(info.variables.get('n1')![0]);
    expect(typeName(n1.type)).toBe('struct node');
  }, 120_000);

  it('random corruption never crashes with a non-format error and never hangs', () => {
    const elf = ElfFile.open(bins.d5O2);
    const s = sections(elf);
    let seed = 12345;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    for (let round = 0; round < 150; round++) {
      const info = Buffer.from(s.info);
      const abbrev = Buffer.from(s.abbrev);
      const line = Buffer.from(s.line!);
      for (let k = 0; k < 1 + (round % 8); k++) {
        const target = [info, abbrev, line][rand() % 3];
        target[rand() % target.length] = rand() & 0xff;
      }
      const d = new DwarfInfo({ ...s, info, abbrev, line });
      const exercise = () => {
        d.index();
        for (const [, list] of d.variables) {
          for (const e of list) {
            const v = d.variable(e);
            ptypeText(v.type);
          }
        }
        for (const [, list] of d.functions) for (const e of list) d.functionInfo(e);
        d.sourceLocation(0x1139n);
      };
      try {
        exercise();
      } catch (e) {
        // Anything that escapes must be a clean, described error: never a TypeError/RangeError.
        expect(e instanceof FormatError || (e instanceof Error && !(e instanceof TypeError) && !(e instanceof RangeError)), String((e as Error).stack)).toBe(
          true,
        );
      }
    }
  }, 120_000);

  it('self-referencing typedefs, qualifiers and arrays end as void instead of hanging', () => {
    // Abbrevs: 1 compile_unit (children); 2 typedef (name string, type ref4); 3 array_type (type ref4);
    // 4 const_type (type ref4).
    const abbrev = Buffer.from([
      1,
      DW_TAG.compile_unit,
      1,
      0,
      0,
      2,
      DW_TAG.typedef,
      0,
      DW_AT.name,
      DW_FORM.string,
      DW_AT.type,
      DW_FORM.ref4,
      0,
      0,
      3,
      DW_TAG.array_type,
      0,
      DW_AT.type,
      DW_FORM.ref4,
      0,
      0,
      4,
      DW_TAG.const_type,
      0,
      DW_AT.type,
      DW_FORM.ref4,
      0,
      0,
      0,
    ]);
    const u32 = (v: number) => [v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >>> 24) & 0xff];
    const hdrLen = 4 + 2 + 4 + 1; // length, version 4, abbrev offset, address size
    // Offsets (unit-relative): CU at 11; typedef A at 12 (→ B); typedef B at 19 (→ A); array at 26 (→ itself);
    // const at 31 (→ itself).
    const A = hdrLen + 1;
    const B = A + 1 + 2 + 4;
    const ARR = B + 1 + 2 + 4;
    const CST = ARR + 1 + 4;
    const body = [1, 2, 0x41, 0, ...u32(B), 2, 0x42, 0, ...u32(A), 3, ...u32(ARR), 4, ...u32(CST), 0];
    const rest = [4, 0, ...u32(0), 8, ...body];
    const info = Buffer.from([...u32(rest.length), ...rest]);
    const r = new DwarfReader({ info, abbrev, littleEndian: true, addressSize: 8 });
    const tb = new TypeBuilder(r);
    for (const off of [A, B, ARR, CST]) {
      const t = tb.typeAt(off);
      expect(() => resolve(t)).not.toThrow();
      expect(typeof typeName(t)).toBe('string');
      expect(typeof ptypeText(t)).toBe('string');
    }
    expect(tb.errors.join('\n')).toMatch(/refers to itself/);
  }, 120_000);

  it('lookupLine on an empty table finds nothing', () => {
    expect(lookupLine({ version: 5, files: [], rows: [], sorted: [] }, 0x1000n)).toBeUndefined();
  }, 120_000);
});
