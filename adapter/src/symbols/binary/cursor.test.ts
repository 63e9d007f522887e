import { describe, expect, it } from 'vitest';
import { Cursor, FormatError, stringAt } from './cursor';

const cur = (bytes: number[], le = true) => new Cursor(Buffer.from(bytes), le);

describe('Cursor', () => {
  it('reads fixed-size integers in both byte orders', () => {
    const c = cur([0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08]);
    expect(c.u16()).toBe(0x0201);
    expect(c.u16()).toBe(0x0403);
    expect(c.u32()).toBe(0x08070605);
    const b = cur([0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08], false);
    expect(b.u64()).toBe(0x0102030405060708n);
    expect(cur([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).i64()).toBe(-1n);
    expect(cur([0x56, 0x34, 0x12]).u24()).toBe(0x123456);
    expect(cur([0x80]).i8()).toBe(-128);
  });

  it('decodes the DWARF standard LEB128 examples', () => {
    // DWARF 5, section 7.6, tables 7.7 and 7.8.
    expect(cur([2]).uleb()).toBe(2);
    expect(cur([127]).uleb()).toBe(127);
    expect(cur([0x80, 1]).uleb()).toBe(128);
    expect(cur([0x81, 1]).uleb()).toBe(129);
    expect(cur([0x82, 1]).uleb()).toBe(130);
    expect(cur([0xb9, 100]).uleb()).toBe(12857);
    expect(cur([2]).sleb()).toBe(2);
    expect(cur([0x7e]).sleb()).toBe(-2);
    expect(cur([0xff, 0]).sleb()).toBe(127);
    expect(cur([0x81, 0x7f]).sleb()).toBe(-127);
    expect(cur([0x80, 1]).sleb()).toBe(128);
    expect(cur([0x80, 0x7f]).sleb()).toBe(-128);
    expect(cur([0x81, 0x7f]).slebBig()).toBe(-127n);
    expect(cur([0xe5, 0x8e, 0x26]).ulebBig()).toBe(624485n);
  });

  it('handles 64-bit LEB128 as bigint and rejects overflow of number', () => {
    const max = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
    expect(cur(max).ulebBig()).toBe(0xffffffffffffffffn);
    expect(() => cur(max).uleb()).toThrow(FormatError);
    expect(cur([0x7f]).slebBig()).toBe(-1n);
    // Padded encodings are legal.
    expect(cur([0x85, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00]).uleb()).toBe(5);
  });

  it('throws a FormatError naming the offset on truncation, never reads past the window', () => {
    const c = new Cursor(Buffer.from([1, 2, 3, 4, 5, 6]), true, 2, 5, '.debug_info');
    expect(c.u16()).toBe(0x0403);
    expect(() => c.u16()).toThrow(/need 2 bytes, only 1 left at offset 0x4/);
    expect(() => cur([0x80, 0x80]).uleb()).toThrow(/truncated ULEB128 at offset 0x0/);
    expect(() => cur([0x80]).slebBig()).toThrow(/truncated SLEB128/);
    expect(() => cur([0x61, 0x62]).cstr()).toThrow(/unterminated string/);
    expect(() => cur([1, 2]).bytes(3)).toThrow(FormatError);
    expect(() => cur([1]).seek(2)).toThrow(FormatError);
    expect(() => cur([1, 2, 3]).sub(0, 4)).toThrow(FormatError);
  });

  it('a very long LEB128 ends with an error instead of looping', () => {
    const long = Buffer.alloc(10_000, 0x80);
    expect(() => new Cursor(long).ulebBig()).toThrow(/longer than 1024 bits/);
    expect(() => new Cursor(long).skipLeb()).toThrow(/truncated LEB128/);
  });

  it('reads C strings and aligns', () => {
    const c = cur([0x61, 0x62, 0, 0x63, 0, 0, 0, 0, 9, 0, 0, 0]);
    expect(c.cstr()).toBe('ab');
    expect(c.cstr()).toBe('c');
    c.align(4);
    expect(c.pos).toBe(8);
    expect(c.u32()).toBe(9);
    expect(stringAt(Buffer.from('x\0yz\0'), 2, 'strtab')).toBe('yz');
    expect(() => stringAt(Buffer.from('x\0'), 5, 'strtab')).toThrow(/outside table/);
  });

  it('u64n refuses values above 2^53', () => {
    expect(() => cur([0, 0, 0, 0, 0, 0, 0x20, 0]).u64n()).toThrow(/too large/);
    expect(cur([1, 0, 0, 0, 0, 0, 0, 0]).u64n()).toBe(1);
  });
});
