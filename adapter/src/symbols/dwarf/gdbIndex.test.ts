import { describe, expect, it } from 'vitest';
import { gdbIndexHash, parseGdbIndex, GdbIndexError } from './gdbIndex';

interface Sym {
  name: string;
  /** (unit index, kind 0-7, static) */
  units: Array<[number, number, boolean]>;
}

/** Writes a .gdb_index the way gdb lays it out (hash table with gdb's probing). */
function build(opts: { version?: number; cus: Array<[number, number]>; tus?: Array<[number, number, bigint]>; syms: Sym[]; slots?: number }): Buffer {
  const version = opts.version ?? 8;
  const slots = opts.slots ?? 8;
  const nOff = version >= 9 ? 6 : 5;
  const header = 4 + 4 * nOff;
  const cuList = Buffer.alloc(16 * opts.cus.length);
  opts.cus.forEach(([o, l], i) => {
    cuList.writeBigUInt64LE(BigInt(o), 16 * i);
    cuList.writeBigUInt64LE(BigInt(l), 16 * i + 8);
  });
  const tus = opts.tus ?? [];
  const tuList = Buffer.alloc(24 * tus.length);
  tus.forEach(([o, t, s], i) => {
    tuList.writeBigUInt64LE(BigInt(o), 24 * i);
    tuList.writeBigUInt64LE(BigInt(t), 24 * i + 8);
    tuList.writeBigUInt64LE(s, 24 * i + 16);
  });
  const addr = Buffer.alloc(20); // one range, CU 0
  addr.writeBigUInt64LE(0x1000n, 0);
  addr.writeBigUInt64LE(0x2000n, 8);
  const table = Buffer.alloc(8 * slots);
  // Constant pool: a leading byte so that no name sits at offset 0 (an empty slot is 0, 0).
  const pool: Buffer[] = [Buffer.from([0xff])];
  let poolLen = 1;
  const add = (b: Buffer) => {
    const at = poolLen;
    pool.push(b);
    poolLen += b.length;
    return at;
  };
  for (const s of opts.syms) {
    const vec = Buffer.alloc(4 + 4 * s.units.length);
    vec.writeUInt32LE(s.units.length, 0);
    s.units.forEach(([u, k, st], i) => vec.writeUInt32LE((u | (k << 28) | (st ? 0x80000000 : 0)) >>> 0, 4 + 4 * i));
    const vecAt = add(vec);
    const nameAt = add(Buffer.from(s.name + '\0'));
    const h = gdbIndexHash(version, Buffer.from(s.name));
    let slot = h & (slots - 1);
    const step = (Math.imul(h, 17) & (slots - 1)) | 1;
    while (table.readUInt32LE(8 * slot) || table.readUInt32LE(8 * slot + 4)) slot = (slot + step) & (slots - 1);
    table.writeUInt32LE(nameAt, 8 * slot);
    table.writeUInt32LE(vecAt, 8 * slot + 4);
  }
  const parts = [cuList, tuList, addr, table, ...(version >= 9 ? [Buffer.alloc(0)] : [])];
  const offs: number[] = [];
  let at = header;
  for (const p of parts) {
    offs.push(at);
    at += p.length;
  }
  offs.push(at); // constant pool
  const head = Buffer.alloc(header);
  head.writeUInt32LE(version, 0);
  offs.forEach((o, i) => head.writeUInt32LE(o, 4 + 4 * i));
  return Buffer.concat([head, ...parts, ...pool]);
}

const CUS: Array<[number, number]> = [
  [0, 100],
  [100, 50],
];

describe('gdbIndexHash', () => {
  it('is gdb mapped_index_string_hash (r = r * 67 + c - 113, lowercased from v5)', () => {
    // Computed by hand: 'a' = 97 → 97 - 113 = -16 → 2^32 - 16.
    expect(gdbIndexHash(8, Buffer.from('a'))).toBe(0xfffffff0);
    expect(gdbIndexHash(8, Buffer.from('AB'))).toBe(gdbIndexHash(8, Buffer.from('ab')));
    expect(gdbIndexHash(4, Buffer.from('AB'))).not.toBe(gdbIndexHash(4, Buffer.from('ab')));
  });
});

describe('parseGdbIndex', () => {
  it('reads the unit lists and finds names with their units, kinds and static bit', () => {
    const buf = build({
      cus: CUS,
      tus: [[0, 30, 0x1234n]],
      syms: [
        { name: 'g_int', units: [[0, 2, false]] },
        {
          name: 's_same',
          units: [
            [0, 2, true],
            [1, 2, true],
          ],
        },
        { name: 'main', units: [[1, 3, false]] },
        { name: 'widget', units: [[2, 1, true]] },
      ],
    });
    const gi = parseGdbIndex(buf);
    expect(gi.version).toBe(8);
    expect(gi.cus).toEqual([
      { offset: 0, length: 100 },
      { offset: 100, length: 50 },
    ]);
    expect(gi.tus).toEqual([{ offset: 0, typeOffset: 30, signature: 0x1234n }]);
    expect(gi.lookup('g_int')).toEqual([{ cu: 0, kind: 'variable', isStatic: false }]);
    expect(gi.lookup('s_same').map((h) => h.cu)).toEqual([0, 1]);
    expect(gi.lookup('main')).toEqual([{ cu: 1, kind: 'function', isStatic: false }]);
    expect(gi.lookup('widget')).toEqual([{ tu: 0, kind: 'type', isStatic: true }]);
    // Case matters for the answer even though the hash folds case.
    expect(gi.lookup('MAIN')).toEqual([]);
    expect(gi.lookup('nothing')).toEqual([]);
    expect(gi.names().sort()).toEqual(['g_int', 'main', 's_same', 'widget']);
  });

  it('reads version 7 and version 9 (with the shortcut table)', () => {
    for (const version of [7, 9]) {
      const gi = parseGdbIndex(build({ version, cus: CUS, syms: [{ name: 'x', units: [[1, 2, false]] }] }));
      expect(gi.lookup('x')).toEqual([{ cu: 1, kind: 'variable', isStatic: false }]);
    }
  });

  it('terminates on a full table without the name', () => {
    const syms = ['a', 'b', 'c', 'd'].map((name) => ({ name, units: [[0, 2, false]] as Array<[number, number, boolean]> }));
    const gi = parseGdbIndex(build({ cus: CUS, syms, slots: 4 }));
    expect(gi.lookup('zzz')).toEqual([]);
    expect(gi.lookup('c')).toHaveLength(1);
  });

  it('rejects malformed sections with the reason', () => {
    const good = build({ cus: CUS, syms: [{ name: 'x', units: [[0, 2, false]] }] });
    const bad = (mut: (b: Buffer) => Buffer | void, msg: RegExp) => {
      const b = Buffer.from(good);
      const r = mut(b) ?? b;
      expect(() => {
        const gi = parseGdbIndex(r);
        gi.lookup('x');
      }).toThrow(msg);
    };
    bad((b) => b.subarray(0, 10), /too short/);
    bad((b) => void b.writeUInt32LE(6, 0), /unsupported version 6/);
    bad((b) => void b.writeUInt32LE(10, 0), /unsupported version 10/);
    bad((b) => void b.writeUInt32LE(b.length + 100, 20), /past the section end/);
    bad((b) => void b.writeUInt32LE(b.readUInt32LE(8) + 8, 8), /multiple of 16|not in order/);
    bad((b) => void b.writeUInt32LE(b.readUInt32LE(20) - 24, 16), /not a power of two|multiple of|not in order/);
    // The CU vector names a unit that does not exist.
    bad((b) => {
      const pool = b.readUInt32LE(20);
      b.writeUInt32LE(7, pool + 1 + 4);
    }, /names unit 7 of 2/);
    // The vector runs past the end.
    bad((b) => {
      const pool = b.readUInt32LE(20);
      b.writeUInt32LE(1000, pool + 1);
    }, /runs past/);
    // The name is not NUL-terminated.
    bad((b) => b.subarray(0, b.length - 1), /NUL-terminated/);
    expect(() => parseGdbIndex(good)).not.toThrow(GdbIndexError);
  });
});
