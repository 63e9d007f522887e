/**
 * A bounds-checked byte cursor over a Buffer, for ELF and DWARF parsing. Every read checks the
 * end of the window and throws a FormatError naming the offset, so truncated or malicious input
 * fails for that unit only, never with a RangeError deep in Node or an endless loop.
 *
 * Offsets are numbers (positions in one buffer); 64-bit values come as bigint (`u64`) or as
 * numbers when they must fit (`u64n`, throws above 2^53).
 */
import { PidscopeError } from '../../errors';

/**
 * Malformed input (a corrupt or truncated ELF or DWARF file): the file's fault, not pidscope's.
 * A PidscopeError, so front ends show it as bad input (exit 1, an error row) and never as an
 * internal error.
 */
export class FormatError extends PidscopeError {
  /** Offset in the underlying buffer (or section) where the problem was found. */
  readonly offset: number;
  constructor(message: string, offset: number, what = '') {
    super(
      'BAD_FORMAT',
      `malformed ${what ? what + ': ' : 'input: '}${message} at offset 0x${offset.toString(16)}`,
      'The file is corrupt or truncated (pidscope reads the rest of it): rebuild it, or give pidscope intact debug symbols (--debug-dir, or "debugSearchPaths" in DAP)',
      'target',
    );
    this.offset = offset;
  }
}

export class Cursor {
  readonly buf: Buffer;
  /** Window start and end (exclusive) within buf. */
  readonly start: number;
  readonly end: number;
  pos: number;
  littleEndian: boolean;
  /** Names the thing being parsed in error messages ('.debug_info', '.symtab'). */
  what: string;

  constructor(buf: Buffer, littleEndian = true, start = 0, end = buf.length, what = '') {
    if (start < 0 || end > buf.length || start > end) {
      throw new FormatError(`window [0x${start.toString(16)}, 0x${end.toString(16)}) outside buffer of ${buf.length} bytes`, start, what);
    }
    this.buf = buf;
    this.start = start;
    this.end = end;
    this.pos = start;
    this.littleEndian = littleEndian;
    this.what = what;
  }

  /** A cursor over [start, end) of the same buffer (absolute offsets), same endianness. */
  sub(start: number, end: number, what = this.what): Cursor {
    if (start < this.start || end > this.end || start > end) {
      throw new FormatError(`range [0x${start.toString(16)}, 0x${end.toString(16)}) runs past the end 0x${this.end.toString(16)}`, start, what);
    }
    return new Cursor(this.buf, this.littleEndian, start, end, what);
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  atEnd(): boolean {
    return this.pos >= this.end;
  }

  fail(message: string, offset = this.pos): never {
    throw new FormatError(message, offset, this.what);
  }

  private need(n: number): number {
    const p = this.pos;
    if (n < 0 || p + n > this.end) this.fail(`need ${n} bytes, only ${Math.max(0, this.end - p)} left`, p);
    this.pos = p + n;
    return p;
  }

  seek(pos: number): this {
    if (pos < this.start || pos > this.end) this.fail(`seek outside [0x${this.start.toString(16)}, 0x${this.end.toString(16)}]`, pos);
    this.pos = pos;
    return this;
  }

  skip(n: number): this {
    this.need(n);
    return this;
  }

  u8(): number {
    return this.buf[this.need(1)];
  }
  i8(): number {
    return this.buf.readInt8(this.need(1));
  }
  u16(): number {
    const p = this.need(2);
    return this.littleEndian ? this.buf.readUInt16LE(p) : this.buf.readUInt16BE(p);
  }
  i16(): number {
    const p = this.need(2);
    return this.littleEndian ? this.buf.readInt16LE(p) : this.buf.readInt16BE(p);
  }
  u24(): number {
    const p = this.need(3);
    const b = this.buf;
    return this.littleEndian ? b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) : (b[p] << 16) | (b[p + 1] << 8) | b[p + 2];
  }
  u32(): number {
    const p = this.need(4);
    return this.littleEndian ? this.buf.readUInt32LE(p) : this.buf.readUInt32BE(p);
  }
  i32(): number {
    const p = this.need(4);
    return this.littleEndian ? this.buf.readInt32LE(p) : this.buf.readInt32BE(p);
  }
  u64(): bigint {
    const p = this.need(8);
    return this.littleEndian ? this.buf.readBigUInt64LE(p) : this.buf.readBigUInt64BE(p);
  }
  i64(): bigint {
    const p = this.need(8);
    return this.littleEndian ? this.buf.readBigInt64LE(p) : this.buf.readBigInt64BE(p);
  }
  /** A u64 that must fit a number (sizes, offsets); throws otherwise. */
  u64n(): number {
    const at = this.pos;
    const v = this.u64();
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`64-bit value 0x${v.toString(16)} too large for an offset`, at);
    return Number(v);
  }
  /** Unsigned value of 1, 2, 4 or 8 bytes as bigint. */
  uN(size: number): bigint {
    switch (size) {
      case 1:
        return BigInt(this.u8());
      case 2:
        return BigInt(this.u16());
      case 4:
        return BigInt(this.u32());
      case 8:
        return this.u64();
      default:
        return this.fail(`unsupported integer size ${size}`);
    }
  }
  /** Unsigned value of 1, 2, 4 or 8 bytes as a number (throws above 2^53). */
  uNn(size: number): number {
    switch (size) {
      case 1:
        return this.u8();
      case 2:
        return this.u16();
      case 4:
        return this.u32();
      case 8:
        return this.u64n();
      default:
        return this.fail(`unsupported integer size ${size}`);
    }
  }
  /** Address of `size` bytes (4 or 8) as bigint. */
  addr(size: number): bigint {
    return this.uN(size);
  }

  /** ULEB128 as a number; throws if it does not fit 2^53 or runs past the end. */
  uleb(): number {
    const b = this.buf;
    const end = this.end;
    let p = this.pos;
    // Fast path: one or two bytes (the vast majority in DWARF).
    if (p < end) {
      const b0 = b[p];
      if (b0 < 0x80) {
        this.pos = p + 1;
        return b0;
      }
      if (p + 1 < end && b[p + 1] < 0x80) {
        this.pos = p + 2;
        return (b0 & 0x7f) | (b[p + 1] << 7);
      }
    }
    const start = p;
    let result = 0;
    let mul = 1;
    for (;;) {
      if (p >= end) this.fail('truncated ULEB128', start);
      const byte = b[p++];
      result += (byte & 0x7f) * mul;
      if (byte < 0x80) break;
      mul *= 128;
      if (mul > 2 ** 56) {
        // Trailing zero groups are legal padding; anything else overflows a number.
        this.pos = p;
        this.skipLebTail(start);
        if (result > Number.MAX_SAFE_INTEGER) this.fail('ULEB128 too large', start);
        return result;
      }
    }
    if (result > Number.MAX_SAFE_INTEGER) this.fail('ULEB128 too large', start);
    this.pos = p;
    return result;
  }

  private skipLebTail(start: number): void {
    // Called after 8 groups; accept only zero continuation bytes (bounded by the buffer end).
    for (;;) {
      if (this.pos >= this.end) this.fail('truncated ULEB128', start);
      const byte = this.buf[this.pos++];
      if ((byte & 0x7f) !== 0) this.fail('ULEB128 too large', start);
      if (byte < 0x80) return;
    }
  }

  /** SLEB128 as a number; throws when out of the safe integer range. */
  sleb(): number {
    const start = this.pos;
    const v = this.slebBig();
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) this.fail('SLEB128 too large', start);
    return Number(v);
  }

  ulebBig(): bigint {
    const start = this.pos;
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.end) this.fail('truncated ULEB128', start);
      const byte = this.buf[this.pos++];
      result |= BigInt(byte & 0x7f) << shift;
      shift += 7n;
      if (byte < 0x80) return result;
      if (shift > 1024n) this.fail('ULEB128 longer than 1024 bits', start);
    }
  }

  slebBig(): bigint {
    const start = this.pos;
    let result = 0n;
    let shift = 0n;
    let byte: number;
    for (;;) {
      if (this.pos >= this.end) this.fail('truncated SLEB128', start);
      byte = this.buf[this.pos++];
      result |= BigInt(byte & 0x7f) << shift;
      shift += 7n;
      if (byte < 0x80) break;
      if (shift > 1024n) this.fail('SLEB128 longer than 1024 bits', start);
    }
    if (byte & 0x40) result -= 1n << shift;
    return result;
  }

  /** Skips one LEB128 (signed or unsigned) without decoding it. */
  skipLeb(): void {
    const b = this.buf;
    let p = this.pos;
    const end = this.end;
    while (p < end && b[p] >= 0x80) p++;
    if (p >= end) this.fail('truncated LEB128', this.pos);
    this.pos = p + 1;
  }

  /** NUL-terminated string (UTF-8), cursor moves past the NUL. */
  cstr(): string {
    const p = this.pos;
    const nul = this.buf.indexOf(0, p);
    if (nul < 0 || nul >= this.end) this.fail('unterminated string', p);
    this.pos = nul + 1;
    return this.buf.toString('utf8', p, nul);
  }

  /** Skips a NUL-terminated string. */
  skipCstr(): void {
    const nul = this.buf.indexOf(0, this.pos);
    if (nul < 0 || nul >= this.end) this.fail('unterminated string', this.pos);
    this.pos = nul + 1;
  }

  bytes(n: number): Buffer {
    const p = this.need(n);
    return this.buf.subarray(p, p + n);
  }

  /** Aligns pos up to a multiple of `n` relative to the window start. */
  align(n: number): void {
    const rel = this.pos - this.start;
    const pad = (n - (rel % n)) % n;
    this.need(Math.min(pad, this.remaining));
  }
}

/** NUL-terminated string at `offset` in a string table, or throws naming the table. */
export function stringAt(table: Buffer, offset: number, what: string): string {
  if (!Number.isInteger(offset) || offset < 0 || offset >= table.length) {
    throw new FormatError(`string offset 0x${offset.toString(16)} outside table of ${table.length} bytes`, offset, what);
  }
  let nul = table.indexOf(0, offset);
  if (nul < 0) nul = table.length;
  return table.toString('utf8', offset, nul);
}
