import { describe, expect, it } from 'vitest';
import { RefTable, decodeMemoryReference, encodeMemoryReference } from './handles';

describe('RefTable', () => {
  it('hands out references, dedups by key, and makes old ones stale after reset', () => {
    const t = new RefTable<string>();
    const a = t.add('a', 'k');
    expect(t.add('again', 'k')).toBe(a);
    const b = t.add('b');
    expect(t.get(a)).toBe('a');
    expect(t.get(b)).toBe('b');
    t.reset();
    expect(() => t.get(a)).toThrow(/earlier refresh of the live view.*Re-request 'scopes'/);
    const c = t.add('c', 'k');
    expect(c).toBeGreaterThan(b); // never reused
    expect(t.generation).toBe(1);
  });

  it('rejects malformed references', () => {
    const t = new RefTable<string>();
    expect(() => t.get('1')).toThrow(/not a positive integer/);
    expect(() => t.get(0)).toThrow(/not a positive integer/);
    expect(() => t.get(1.5)).toThrow(/not a positive integer/);
    expect(() => t.get(99)).toThrow(/unknown/);
  });
});

describe('memory references', () => {
  it('round-trips and applies offsets', () => {
    expect(encodeMemoryReference(0x55d0c0de1000n)).toBe('0x55d0c0de1000');
    expect(decodeMemoryReference('0x1000', 16)).toBe(0x1010n);
    expect(decodeMemoryReference('4096', -96)).toBe(4000n);
    expect(decodeMemoryReference('0xffffffffffffffff')).toBe((1n << 64n) - 1n);
  });

  it('rejects bad references with a clear error', () => {
    expect(() => decodeMemoryReference('g_int')).toThrow(/not an address/);
    expect(() => decodeMemoryReference(12)).toThrow(/not an address/);
    expect(() => decodeMemoryReference('0x10', -32)).toThrow(/outside the address space/);
    expect(() => decodeMemoryReference('0x10', 1.5)).toThrow(/not an integer/);
    expect(() => decodeMemoryReference('0x10000000000000000')).toThrow(/not an address/);
  });
});
