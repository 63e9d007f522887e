/**
 * The object model (drgn's): every result of evaluating an expression is
 *   - a `value`: bytes we already hold (literals, arithmetic results, values read once),
 *   - a `reference`: an lvalue in the target (address + bit offset), read lazily, or
 *   - `absent`: no value and a reason (optimized out, thread-local without a thread pointer, VLA).
 *
 * References are what make big objects cheap: a 1 MiB array is a reference, its children are
 * references to elements, and the formatter reads only the bytes it prints (through a block
 * cache, see ByteSource), never the whole array.
 */
import type { Language } from '../lang/language';
import { PidscopeError } from '../errors';
import type { MemoryReader } from '../memory/reader';
import type { SymbolLookup } from '../symbols/provider';
import { resolve, sizeOf, type Type } from '../symbols/types';
import { leBytes } from '../util/bytes';

export interface ValueObject {
  kind: 'value';
  type: Type;
  /** Exactly sizeOf(type) bytes, little-endian target layout. */
  bytes: Buffer;
  /** Set when the value was read from (or computed for) an address; gdb still knows it. */
  address?: bigint;
  /** Byte ranges (offsets into `bytes`, half-open) that could not be read: printed as <error: …>. */
  unreadable?: Array<{ start: number; end: number; address: bigint }>;
}

export interface ReferenceObject {
  kind: 'reference';
  type: Type;
  address: bigint;
  /** Bit offset from `address` (bit fields); 0 for ordinary objects. */
  bitOffset: number;
  /** Set for bit fields only. */
  bitSize?: number;
}

export interface AbsentObject {
  kind: 'absent';
  type?: Type;
  /** Human text, e.g. 'optimized out' (printed by gdb as <optimized out>). */
  reason: string;
}

export type TargetObject = ValueObject | ReferenceObject | AbsentObject;

export function makeValue(type: Type, bytes: Buffer, address?: bigint): ValueObject {
  return address === undefined ? { kind: 'value', type, bytes } : { kind: 'value', type, bytes, address };
}

export function makeReference(type: Type, address: bigint, bitOffset = 0, bitSize?: number): ReferenceObject {
  // Normalise so bitOffset < 8: keeps address arithmetic and caching simple.
  const whole = Math.floor(bitOffset / 8);
  const o: ReferenceObject = { kind: 'reference', type, address: address + BigInt(whole), bitOffset: bitOffset - whole * 8 };
  if (bitSize !== undefined) o.bitSize = bitSize;
  return o;
}

export function makeAbsent(reason: string, type?: Type): AbsentObject {
  return type === undefined ? { kind: 'absent', reason } : { kind: 'absent', type, reason };
}

/** The address of an lvalue (for DAP memoryReference and `&`), undefined otherwise. */
export function addressOf(obj: TargetObject): bigint | undefined {
  if (obj.kind === 'reference') return obj.bitSize === undefined && obj.bitOffset === 0 ? obj.address : undefined;
  if (obj.kind === 'value') return obj.address;
  return undefined;
}

/** What the value layer needs from the rest of the engine. */
export interface ValueContext {
  memory: MemoryReader;
  symbols?: SymbolLookup;
  /** 8 on x86-64. */
  pointerSize: number;
  /** The language of expressions and printed values (C when absent). */
  language?: Language;
}

/** gdb's wording, also used for the code, so tests and DAP can recognise it. */
export function memoryError(address: bigint): PidscopeError {
  return new PidscopeError('EFAULT', `Cannot access memory at address 0x${address.toString(16)}`, '', 'target');
}

export function isMemoryError(e: unknown): e is PidscopeError {
  return e instanceof PidscopeError && e.code === 'EFAULT';
}

/**
 * Lazy, cached reads for one formatting pass or one evaluation: blocks of BLOCK bytes, so walking
 * the first 200 elements of a huge array costs a handful of syscalls and reads nothing beyond.
 */
export class ByteSource {
  private static readonly BLOCK = 4096;
  private readonly blocks = new Map<bigint, { data: Buffer; bad: Array<{ start: bigint; end: bigint }> }>();

  constructor(readonly memory: MemoryReader) {}

  private block(base: bigint): { data: Buffer; bad: Array<{ start: bigint; end: bigint }> } {
    let b = this.blocks.get(base);
    if (!b) {
      const r = this.memory.read(base, ByteSource.BLOCK);
      b = { data: r.data, bad: r.unreadable };
      this.blocks.set(base, b);
    }
    return b;
  }

  /**
   * Reads `length` bytes; returns the data (unreadable bytes zero) and the first bad address, if
   * any. `exact` reads just the range unless a cached block already covers it (one object of a
   * DAP page: no 4 KiB per child); byte-by-byte scans (strings) use the block cache.
   */
  readPartial(address: bigint, length: number, exact = false): { data: Buffer; firstBad?: bigint; bad: Array<{ start: bigint; end: bigint }> } {
    const B0 = BigInt(ByteSource.BLOCK);
    if (exact && !(this.blocks.has(address - (address % B0)) && this.blocks.has(address + BigInt(length) - 1n - ((address + BigInt(length) - 1n) % B0)))) {
      const r = this.memory.read(address, length);
      return { data: r.data, firstBad: r.unreadable[0]?.start, bad: r.unreadable };
    }
    if (length > 4 * ByteSource.BLOCK) {
      const r = this.memory.read(address, length);
      return { data: r.data, firstBad: r.unreadable[0]?.start, bad: r.unreadable };
    }
    const out = Buffer.alloc(length);
    const bad: Array<{ start: bigint; end: bigint }> = [];
    const B = BigInt(ByteSource.BLOCK);
    let addr = address;
    let done = 0;
    while (done < length) {
      const base = addr - (addr % B);
      const blk = this.block(base);
      const off = Number(addr - base);
      const n = Math.min(ByteSource.BLOCK - off, length - done);
      blk.data.copy(out, done, off, off + n);
      for (const u of blk.bad) {
        const s = u.start > addr ? u.start : addr;
        const e = u.end < addr + BigInt(n) ? u.end : addr + BigInt(n);
        if (s < e) bad.push({ start: s, end: e });
      }
      done += n;
      addr += BigInt(n);
    }
    return { data: out, firstBad: bad[0]?.start, bad };
  }

  /** Reads all bytes or throws gdb's `Cannot access memory at address 0x…`. */
  read(address: bigint, length: number, exact = false): Buffer {
    const r = this.readPartial(address, length, exact);
    if (r.firstBad !== undefined) throw memoryError(r.firstBad);
    return r.data;
  }
}

/** gdb's max-value-size default: values bigger than this are refused when fetched whole. */
export const MAX_VALUE_SIZE = 65536;

/**
 * The bytes of an object. References are read (bit fields are extracted and returned right-
 * aligned in sizeOf(type) bytes, sign-extended when the type is signed). Throws for absent
 * objects and unreadable memory.
 */
export function fetchBytes(src: ByteSource, obj: TargetObject): Buffer {
  if (obj.kind === 'value') {
    if (obj.unreadable && obj.unreadable.length) throw memoryError(obj.unreadable[0].address);
    return obj.bytes;
  }
  if (obj.kind === 'absent') throw new PidscopeError('ABSENT', `value is ${obj.reason}`, '', 'user');
  const size = sizeOf(obj.type);
  if (obj.bitSize === undefined && obj.bitOffset === 0) {
    if (size === undefined) throw new PidscopeError('INCOMPLETE', 'object has incomplete type', 'cast it to a complete type');
    return src.read(obj.address, size);
  }
  const bitSize = obj.bitSize ?? (size ?? 0) * 8;
  const nbytes = Math.ceil((obj.bitOffset + bitSize) / 8);
  const raw = src.read(obj.address, nbytes);
  return extractBits(raw, obj.bitOffset, bitSize, size ?? Math.ceil(bitSize / 8), isSignedType(obj.type));
}

function isSignedType(t: Type): boolean {
  const r = resolve(t);
  if (r.kind === 'int') return r.signed;
  if (r.kind === 'enum') return r.compatible?.signed ?? (r.enumerators ?? []).some((e) => e.value < 0n);
  return false;
}

/** Little-endian bit extraction; result is `outSize` bytes, sign-extended if asked. */
export function extractBits(raw: Buffer, bitOffset: number, bitSize: number, outSize: number, signed: boolean): Buffer {
  let v = 0n;
  for (let i = raw.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(raw[i]);
  v = (v >> BigInt(bitOffset)) & ((1n << BigInt(bitSize)) - 1n);
  if (signed && bitSize > 0 && (v >> BigInt(bitSize - 1)) & 1n) v -= 1n << BigInt(bitSize);
  return bigintToBytes(v, outSize);
}

/** Little-endian two's complement bytes of `v` (util/bytes.ts leBytes). */
export const bigintToBytes = leBytes;

export function bytesToBigint(b: Buffer, signed: boolean): bigint {
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
  return signed ? BigInt.asIntN(b.length * 8, v) : v;
}
