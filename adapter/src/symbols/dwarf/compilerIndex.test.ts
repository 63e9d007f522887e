import { afterEach, describe, expect, it } from 'vitest';
import { compilerIndexEnabled, unitSpans } from './compilerIndex';

/** A unit header (DWARF32 unless `dwarf64`) followed by `body` filler bytes. */
function unit(version: number, unitType: number, body: number, dwarf64 = false): Buffer {
  const hdr: number[] = [];
  const afterLength = 2 + (version >= 5 ? 1 : 0) + body;
  if (dwarf64) {
    const b = Buffer.alloc(12);
    b.writeUInt32LE(0xffffffff, 0);
    b.writeBigUInt64LE(BigInt(afterLength), 4);
    hdr.push(...b);
  } else {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(afterLength, 0);
    hdr.push(...b);
  }
  hdr.push(version & 0xff, version >> 8);
  if (version >= 5) hdr.push(unitType);
  return Buffer.concat([Buffer.from(hdr), Buffer.alloc(body)]);
}

describe('unitSpans', () => {
  it('walks unit headers only: offsets, ends, and which are compile units', () => {
    const info = Buffer.concat([unit(5, 1, 20), unit(5, 2, 10), unit(4, 0, 8), unit(5, 3, 5, true)]);
    expect(unitSpans(info, true)).toEqual([
      { offset: 0, end: 27, compile: true },
      { offset: 27, end: 44, compile: false }, // DW_UT_type
      { offset: 44, end: 58, compile: true }, // DWARF 4 in .debug_info
      { offset: 58, end: 78, compile: true }, // DWARF64 partial unit
    ]);
  });

  it('counts units past typesStart (DWARF 4 .debug_types appended) as type units', () => {
    const info = Buffer.concat([unit(4, 0, 8), unit(4, 0, 8)]);
    expect(unitSpans(info, true, 14)?.map((u) => u.compile)).toEqual([true, false]);
  });

  it('gives up on a broken header (the full scan then reports it)', () => {
    const good = unit(5, 1, 20);
    expect(unitSpans(Buffer.concat([good, Buffer.from([0xff, 0xff])]), true)).toBeUndefined();
    const long = Buffer.from(good);
    long.writeUInt32LE(1000, 0);
    expect(unitSpans(long, true)).toBeUndefined();
    const badVersion = Buffer.from(good);
    badVersion.writeUInt16LE(9, 4);
    expect(unitSpans(badVersion, true)).toBeUndefined();
    const reserved = Buffer.from(good);
    reserved.writeUInt32LE(0xfffffff3, 0);
    expect(unitSpans(reserved, true)).toBeUndefined();
  });
});

describe('compilerIndexEnabled', () => {
  const saved = process.env.PIDSCOPE_COMPILER_INDEX;
  afterEach(() => {
    if (saved === undefined) delete process.env.PIDSCOPE_COMPILER_INDEX;
    else process.env.PIDSCOPE_COMPILER_INDEX = saved;
  });
  it('is on unless PIDSCOPE_COMPILER_INDEX is 0, off, false or no', () => {
    delete process.env.PIDSCOPE_COMPILER_INDEX;
    expect(compilerIndexEnabled()).toBe(true);
    for (const off of ['0', 'off', 'FALSE', 'no ']) {
      process.env.PIDSCOPE_COMPILER_INDEX = off;
      expect(compilerIndexEnabled()).toBe(false);
    }
    process.env.PIDSCOPE_COMPILER_INDEX = '1';
    expect(compilerIndexEnabled()).toBe(true);
  });
});
