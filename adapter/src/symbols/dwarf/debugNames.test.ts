import { describe, expect, it } from 'vitest';
import { debugNamesHash, DW_IDX, parseDebugNames } from './debugNames';

const TAG = { variable: 0x34, subprogram: 0x2e, structure: 0x13 };
const FORM = { udata: 0x0f, data1: 0x0b, ref4: 0x13, flag_present: 0x19, strp: 0x0e };

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n = Math.floor(n / 128);
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}

interface Entry {
  abbrev: number;
  values: number[][];
}

/**
 * One name index as LLVM and gdb lay it out: names sorted into buckets by hash, entries per
 * name ending with a 0 code. `abbrevs`: code → [tag, [idx, form]...].
 */
function buildIndex(opts: {
  cus: number[];
  names: Array<{ name: string; entries: Entry[] }>;
  abbrevs: Record<number, [number, Array<[number, number]>]>;
  buckets?: number;
  augmentation?: string;
  str: { buf: number[] };
}): Buffer {
  const nb = opts.buckets ?? 3;
  const names = opts.names.map((n) => ({ ...n, hash: debugNamesHash(Buffer.from(n.name)) }));
  if (nb) names.sort((a, b) => (a.hash % nb) - (b.hash % nb));
  const u32 = (v: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v >>> 0);
    return [...b];
  };
  const aug = Buffer.from(opts.augmentation ?? 'TEST');
  const body: number[] = [];
  body.push(5, 0, 0, 0); // version, padding
  body.push(...u32(opts.cus.length), ...u32(0), ...u32(0), ...u32(nb), ...u32(names.length));
  const abbrevBytes: number[] = [];
  for (const [code, [tag, attrs]] of Object.entries(opts.abbrevs)) {
    abbrevBytes.push(...uleb(Number(code)), ...uleb(tag));
    for (const [i, f] of attrs) abbrevBytes.push(...uleb(i), ...uleb(f));
    abbrevBytes.push(0, 0);
  }
  abbrevBytes.push(0);
  body.push(...u32(abbrevBytes.length), ...u32(aug.length), ...aug);
  for (const c of opts.cus) body.push(...u32(c));
  if (nb) {
    const buckets = new Array(nb).fill(0);
    names.forEach((n, i) => {
      if (!buckets[n.hash % nb]) buckets[n.hash % nb] = i + 1;
    });
    for (const b of buckets) body.push(...u32(b));
    for (const n of names) body.push(...u32(n.hash));
  }
  const pool: number[] = [];
  const entryOffs: number[] = [];
  for (const n of names) {
    entryOffs.push(pool.length);
    for (const e of n.entries) {
      pool.push(...uleb(e.abbrev));
      for (const v of e.values) pool.push(...v);
    }
    pool.push(0);
  }
  for (const n of names) {
    body.push(...u32(opts.str.buf.length));
    opts.str.buf.push(...Buffer.from(n.name), 0);
  }
  for (const o of entryOffs) body.push(...u32(o));
  body.push(...abbrevBytes, ...pool);
  return Buffer.from([...u32(body.length), ...body]);
}

const ABBREVS: Record<number, [number, Array<[number, number]>]> = {
  1: [
    TAG.variable,
    [
      [DW_IDX.compile_unit, FORM.udata],
      [DW_IDX.die_offset, FORM.ref4],
      [DW_IDX.parent, FORM.flag_present],
    ],
  ],
  2: [
    TAG.subprogram,
    [
      [DW_IDX.compile_unit, FORM.data1],
      [DW_IDX.die_offset, FORM.ref4],
    ],
  ],
};
const die = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return [...b];
};

function sample(str: { buf: number[] }, buckets = 3) {
  return buildIndex({
    cus: [0, 0x200],
    abbrevs: ABBREVS,
    buckets,
    str,
    names: [
      { name: 'g_int', entries: [{ abbrev: 1, values: [[0], die(0x40)] }] },
      {
        name: 's_same',
        entries: [
          { abbrev: 1, values: [[0], die(0x50)] },
          { abbrev: 1, values: [[1], die(0x30)] },
        ],
      },
      { name: 'main', entries: [{ abbrev: 2, values: [[1], die(0x60)] }] },
      { name: 'Main', entries: [{ abbrev: 2, values: [[0], die(0x70)] }] },
    ],
  });
}

describe('debugNamesHash', () => {
  it('is the DJB hash over the case-folded name', () => {
    expect(debugNamesHash(Buffer.from(''))).toBe(5381);
    expect(debugNamesHash(Buffer.from('a'))).toBe((5381 * 33 + 97) >>> 0);
    expect(debugNamesHash(Buffer.from('MAIN'))).toBe(debugNamesHash(Buffer.from('main')));
  });
});

describe('parseDebugNames', () => {
  it('finds names through the hash table, with unit, DIE offset, tag and parent', () => {
    const str = { buf: [0] };
    const sec = sample(str);
    const dn = parseDebugNames(sec, Buffer.from(str.buf));
    expect(dn.indexes).toHaveLength(1);
    expect(dn.indexes[0]).toMatchObject({ version: 5, augmentation: 'TEST', cus: [0, 0x200], nameCount: 4, bucketCount: 3 });
    expect(dn.lookup('g_int')).toEqual([{ tag: TAG.variable, cu: 0, dieOffset: 0x40, parent: null }]);
    expect(dn.lookup('s_same').map((e) => [e.cu, e.dieOffset])).toEqual([
      [0, 0x50],
      [0x200, 0x30],
    ]);
    // Same hash (case folded), different names: each answers for itself only.
    expect(dn.lookup('main')).toEqual([{ tag: TAG.subprogram, cu: 0x200, dieOffset: 0x60 }]);
    expect(dn.lookup('Main')).toEqual([{ tag: TAG.subprogram, cu: 0, dieOffset: 0x70 }]);
    expect(dn.lookup('nope')).toEqual([]);
    expect(dn.names().sort()).toEqual(['Main', 'g_int', 'main', 's_same']);
  });

  it('reads an index without a hash table, and concatenated indexes (one per unit, as clang + ld give)', () => {
    const str = { buf: [0] };
    const a = sample(str, 0);
    const b = buildIndex({
      cus: [0x400],
      abbrevs: { 3: [TAG.variable, [[DW_IDX.die_offset, FORM.ref4]]] },
      str,
      names: [{ name: 'g_int', entries: [{ abbrev: 3, values: [die(0x20)] }] }],
    });
    const dn = parseDebugNames(Buffer.concat([a, b]), Buffer.from(str.buf));
    expect(dn.indexes.map((i) => i.cus)).toEqual([[0, 0x200], [0x400]]);
    // The single-unit index leaves DW_IDX_compile_unit out: the entry belongs to its one unit.
    expect(dn.lookup('g_int').map((e) => [e.cu, e.dieOffset])).toEqual([
      [0, 0x40],
      [0x400, 0x20],
    ]);
  });

  it('rejects malformed sections with the reason', () => {
    const str = { buf: [0] };
    const good = sample(str);
    const strBuf = Buffer.from(str.buf);
    const bad = (mut: (b: Buffer) => Buffer | void, msg: RegExp, s: Buffer | null = strBuf) => {
      const b = Buffer.from(good);
      const r = mut(b) ?? b;
      expect(() => {
        const dn = parseDebugNames(r, s ?? undefined);
        for (const n of ['g_int', 's_same', 'main', 'Main']) dn.lookup(n);
      }).toThrow(msg);
    };
    bad((b) => b.subarray(0, 20), /past the section end|truncated/);
    bad((b) => void b.writeUInt16LE(4, 4), /version 4/);
    bad((b) => void b.writeUInt32LE(0xfffffff5, 0), /reserved unit length/);
    // comp_unit_count far beyond the bytes there.
    bad((b) => void b.writeUInt32LE(0x10000000, 8), /run past/);
    // name_count larger than the tables.
    bad((b) => void b.writeUInt32LE(5000, 24), /run past/);
    // A DW_IDX_compile_unit value past the CU list (first entry's udata CU byte).
    bad((b) => {
      const i = b.indexOf(Buffer.from([1, 0, 0x40, 0, 0, 0]));
      b[i + 1] = 9;
    }, /compile unit 9 of 2/);
    // An unknown abbreviation code in the pool.
    bad((b) => {
      const i = b.indexOf(Buffer.from([1, 0, 0x40, 0, 0, 0]));
      b[i] = 7;
    }, /unknown abbreviation code 7/);
    // Strings missing.
    bad(() => undefined, /\.debug_str is missing/, null);
    bad(() => undefined, /past \.debug_str/, Buffer.from([0]));
    expect(() => parseDebugNames(Buffer.alloc(0), strBuf)).toThrow(/no name index/);
  });
});
