import { describe, expect, it } from 'vitest';
import { leBytes } from './bytes';
import { hex } from './hex';
import { findContaining, lastAtOrBefore } from './search';

describe('util', () => {
  it("leBytes: little-endian two's complement, truncated to size", () => {
    expect([...leBytes(0x0102n, 4)]).toEqual([2, 1, 0, 0]);
    expect([...leBytes(-1n, 2)]).toEqual([0xff, 0xff]);
    expect([...leBytes(0x1_0000_0001n, 4)]).toEqual([1, 0, 0, 0]);
  });
  it('lastAtOrBefore: the last key <= the key, -1 before the first', () => {
    const keys = [10n, 20n, 20n, 30n];
    const at = (k: bigint) => lastAtOrBefore(keys, k, (x) => x);
    expect([at(5n), at(10n), at(15n), at(20n), at(29n), at(30n), at(99n)]).toEqual([-1, 0, 0, 2, 2, 3, 3]);
    expect(lastAtOrBefore([], 1n, (x: bigint) => x)).toBe(-1);
    expect(lastAtOrBefore([1, 4, 9], 5, (x) => x)).toBe(1); // number keys (DWARF unit offsets)
  });
  it('findContaining: the range holding the key, none in gaps or past the ends', () => {
    const ranges = [
      { start: 10n, end: 20n },
      { start: 20n, end: 25n },
      { start: 30n, end: 40n },
    ];
    const at = (k: bigint) => ranges.indexOf(findContaining(ranges, k, 'start', 'end')!);
    expect([at(9n), at(10n), at(19n), at(20n), at(25n), at(29n), at(39n), at(40n)]).toEqual([-1, 0, 0, 1, -1, -1, 2, -1]);
    const units: { offset: number; end: number }[] = [{ offset: 0, end: 4 }];
    expect([findContaining(units, 0, 'offset', 'end'), findContaining(units, 4, 'offset', 'end')]).toEqual([units[0], undefined]);
  });
  it('hex: 0x and lowercase digits, padded only when asked', () => {
    expect([hex(0n), hex(0xabcn), hex(0x10n, 4), hex(0x55d0c0de1000n, 16)]).toEqual(['0x0', '0xabc', '0x0010', '0x000055d0c0de1000']);
  });
});
