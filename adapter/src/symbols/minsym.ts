/**
 * gdb's choice of the minimal (ELF) symbol for an address (minsyms.c,
 * lookup_minimal_symbol_by_pc_section), in one place for every caller: `<sym+off>` after printed
 * pointers (value/symbolize.ts) and symbolize() of the symbols engine (watch writers, info).
 */
import { lastAtOrBefore } from '../util/search';

export interface AddressSymbol {
  name: string;
  value: bigint;
  size: number;
  type: string;
  shndx: number;
}

/** Symbols that can name an address: defined, named, code or data (or untyped). */
export function isAddressSymbol(s: AddressSymbol): boolean {
  return s.shndx !== 0 && s.shndx < 0xff00 && s.name !== '' && (s.type === 'func' || s.type === 'object' || s.type === 'ifunc' || s.type === 'notype');
}

/**
 * Walking down from the last symbol at or below `a` in `sorted` (ascending by value): the first
 * sized symbol, if it covers `a`, and the first zero-sized one passed over on the way (gdb's
 * fallback). Only symbols of `section` count when it is given.
 */
export function nearestSymbol<S extends AddressSymbol>(sorted: readonly S[], a: bigint, section?: number): { covering?: S; zeroSized?: S } {
  const idx = lastAtOrBefore(sorted, a, (s) => s.value);
  let zeroSized: S | undefined;
  for (let i = idx, steps = 0; i >= 0 && steps < 100_000; i--, steps++) {
    const s = sorted[i];
    if (section !== undefined && s.shndx !== section) continue;
    if (s.size === 0) {
      zeroSized ??= s;
      continue;
    }
    return { covering: a < s.value + BigInt(s.size) ? s : undefined, zeroSized };
  }
  return { zeroSized };
}

/** A minimal symbol read straight from the table bytes (only the one chosen is decoded). */
export interface RawSymbol {
  name: string;
  value: bigint;
  size: number;
  type: 'func' | 'object' | 'ifunc' | 'notype';
}

const RAW_TYPES: Array<RawSymbol['type'] | undefined> = ['notype', 'object', 'func'];
RAW_TYPES[10] = 'ifunc';

/**
 * nearestSymbol over a raw 64-bit little-endian .symtab, in one pass and without decoding or
 * sorting the table: the same answer as nearestSymbol(sorted, a) where `sorted` is the table's
 * address symbols stably sorted by value and, at equal values, by falling gdb rank (global,
 * weak, local; typed before notype), which is how value/symbolize.ts orders them. Walking down
 * that order, the first symbol met is the greatest by (value, lowest rank, latest in the
 * table); so the covering candidate is the greatest sized symbol at or below `a`, and the
 * zero-sized fallback the greatest zero-sized one met before it. For one address this costs
 * a scan of the table's bytes (~1 ms for 100,000 symbols) where the sort costs tens of ms.
 */
export function nearestInRawSymtab(data: Buffer, strs: Buffer, entsize: number, a: bigint, exact = false): { covering?: RawSymbol; zeroSized?: RawSymbol } {
  if (exact) return nearestInRawSymtabSlow(data, strs, entsize, a);
  const count = Math.floor(data.length / entsize);
  // The scan runs once per process, mostly before V8 optimizes it: plain typed-array indexing
  // (no Buffer method calls) keeps it at a few ns per symbol even in the interpreter.
  const words = entsize % 4 === 0 ? wordsOf(data, count * entsize) : undefined;
  if (!words) return nearestInRawSymtabSlow(data, strs, entsize, a);
  const stride = entsize >> 2;
  // Addresses below 2^53 compare exactly as doubles; a larger `a` (never a user address on
  // x86-64) takes the exact path.
  if (a >= 1n << 53n) return nearestInRawSymtabSlow(data, strs, entsize, a);
  const an = Number(a);
  const strLen = strs.length;
  let best = -1; // sized
  let bestV = -1;
  let bestR = 0;
  let zero = -1;
  let zeroV = -1;
  let zeroR = 0;
  for (let i = 1, w = stride; i < count; i++, w += stride) {
    const x = words[w + 1]; // st_info, st_other, st_shndx
    const t = x & 0xf;
    if (t > 2 && t !== 10) continue;
    const shndx = x >>> 16;
    if (shndx === 0 || shndx >= 0xff00) continue;
    const hi = words[w + 3];
    if (hi > 0x1fffff) continue;
    const v = hi * 0x100000000 + words[w + 2];
    if (v > an) continue;
    const nameOff = words[w];
    if (nameOff >= strLen || strs[nameOff] === 0) continue;
    const b = (x >>> 4) & 0xf;
    const r = (b === 1 ? 0 : b === 2 ? 1 : 2) + (t === 0 ? 4 : 0);
    // `<=` on equal (value, rank): a later entry is met first walking down a stable sort.
    if (words[w + 4] !== 0 || words[w + 5] !== 0) {
      if (v > bestV || (v === bestV && r <= bestR)) {
        best = i * entsize;
        bestV = v;
        bestR = r;
      }
    } else if (v > zeroV || (v === zeroV && r <= zeroR)) {
      zero = i * entsize;
      zeroV = v;
      zeroR = r;
    }
  }
  return answer(data, strs, a, best, bestV, bestR, zero, zeroV, zeroR);
}

/** The table as 32-bit words (a copy when the section is not 4-aligned in memory). */
function wordsOf(data: Buffer, length: number): Uint32Array | undefined {
  if (length === 0) return undefined;
  if (data.byteOffset % 4 === 0) return new Uint32Array(data.buffer, data.byteOffset, length >> 2);
  const copy = new Uint8Array(length);
  copy.set(data.subarray(0, length));
  return new Uint32Array(copy.buffer);
}

function answer(
  data: Buffer,
  strs: Buffer,
  a: bigint,
  best: number,
  bestV: number,
  bestR: number,
  zero: number,
  zeroV: number,
  zeroR: number,
): { covering?: RawSymbol; zeroSized?: RawSymbol } {
  const decode = (o: number): RawSymbol => ({
    name: stringAtOr(strs, data.readUInt32LE(o)),
    value: data.readBigUInt64LE(o + 8),
    size: data.readUInt32LE(o + 20) * 0x100000000 + data.readUInt32LE(o + 16),
    type: RAW_TYPES[data[o + 4] & 0xf] ?? 'notype',
  });
  if (best < 0) return zero < 0 ? {} : { zeroSized: decode(zero) };
  const covering = decode(best);
  // The zero-sized one counts only if the walk meets it before the sized one.
  const zeroFirst = zero >= 0 && (zeroV > bestV || (zeroV === bestV && (zeroR < bestR || (zeroR === bestR && zero > best))));
  return { covering: a < covering.value + BigInt(covering.size) ? covering : undefined, zeroSized: zeroFirst ? decode(zero) : undefined };
}

/** The same with exact 64-bit comparisons and byte reads (odd entry sizes, addresses ≥ 2^53). */
function nearestInRawSymtabSlow(data: Buffer, strs: Buffer, entsize: number, a: bigint): { covering?: RawSymbol; zeroSized?: RawSymbol } {
  const count = Math.floor(data.length / entsize);
  let best = -1;
  let bestV = -1n;
  let bestR = 0;
  let zero = -1;
  let zeroV = -1n;
  let zeroR = 0;
  for (let i = 1; i < count; i++) {
    const o = i * entsize;
    const info = data[o + 4];
    const t = info & 0xf;
    if (t > 2 && t !== 10) continue;
    const shndx = data[o + 6] | (data[o + 7] << 8);
    if (shndx === 0 || shndx >= 0xff00) continue;
    const v = data.readBigUInt64LE(o + 8);
    if (v > a) continue;
    const nameOff = data.readUInt32LE(o);
    if (nameOff >= strs.length || strs[nameOff] === 0) continue;
    const b = info >> 4;
    const r = (b === 1 ? 0 : b === 2 ? 1 : 2) + (t === 0 ? 4 : 0);
    const sized = data.readUInt32LE(o + 16) !== 0 || data.readUInt32LE(o + 20) !== 0;
    if (sized) {
      if (v > bestV || (v === bestV && r <= bestR)) {
        best = o;
        bestV = v;
        bestR = r;
      }
    } else if (v > zeroV || (v === zeroV && r <= zeroR)) {
      zero = o;
      zeroV = v;
      zeroR = r;
    }
  }
  // answer() compares values as numbers only for order: map the two bigints onto 0/1/2.
  const bv = best < 0 ? -1 : 1;
  const zv = zero < 0 ? -1 : zeroV > bestV ? 2 : zeroV === bestV ? 1 : 0;
  return answer(data, strs, a, best, bv, bestR, zero, zv, zeroR);
}

function stringAtOr(strs: Buffer, off: number): string {
  const end = strs.indexOf(0, off);
  return strs.toString('utf8', off, end < 0 ? strs.length : end);
}
