/**
 * Floating-point values printed exactly as gdb prints them: `%.{DECIMAL_DIG}g` of the exact
 * binary value (9 digits for float, 17 for double, 21 for x87 long double, 36 for _Float128),
 * `inf`/`-inf`, and `nan(0x<mantissa>)` / `-nan(0x…)` with gdb's mantissa spelling.
 *
 * Everything is done with bigint on the exact value, so long double and _Float128 (which have
 * no host type) print digit for digit like glibc's printf does (round-half-even on the exact
 * decimal expansion).
 */

export interface FloatFormat {
  /** Total bits. */
  bits: number;
  expBits: number;
  /** Stored mantissa bits (x87: 64, with the explicit integer bit). */
  manBits: number;
  /** True for x87's explicit integer bit. */
  explicitInt: boolean;
  /** Precision in bits (for DECIMAL_DIG). */
  precision: number;
}

export const IEEE_SINGLE: FloatFormat = { bits: 32, expBits: 8, manBits: 23, explicitInt: false, precision: 24 };
export const IEEE_DOUBLE: FloatFormat = { bits: 64, expBits: 11, manBits: 52, explicitInt: false, precision: 53 };
export const X87_EXTENDED: FloatFormat = { bits: 80, expBits: 15, manBits: 64, explicitInt: true, precision: 64 };
export const IEEE_QUAD: FloatFormat = { bits: 128, expBits: 15, manBits: 112, explicitInt: false, precision: 113 };

export function floatFormatFor(size: number, format: 'ieee' | 'x87'): FloatFormat | undefined {
  if (format === 'x87') return X87_EXTENDED;
  if (size === 4) return IEEE_SINGLE;
  if (size === 8) return IEEE_DOUBLE;
  if (size === 16) return IEEE_QUAD;
  return undefined;
}

export type Decoded =
  | { kind: 'finite'; negative: boolean; mantissa: bigint; exp2: number }
  | { kind: 'inf'; negative: boolean }
  | { kind: 'nan'; negative: boolean; mantissaHex: string }
  | { kind: 'invalid' };

function leBits(bytes: Uint8Array, nbits: number): bigint {
  let v = 0n;
  const n = Math.ceil(nbits / 8);
  for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i] ?? 0);
  return v & ((1n << BigInt(nbits)) - 1n);
}

/** gdb's floatformat_mantissa: top (len % 32) bits as %lx, then 32-bit groups as %08lx. */
function mantissaHex(man: bigint, len: number): string {
  let first = len % 32 || 32;
  let left = len - first;
  let s = (man >> BigInt(left)).toString(16);
  while (left > 0) {
    left -= 32;
    s += ((man >> BigInt(left)) & 0xffffffffn).toString(16).padStart(8, '0');
  }
  return s;
}

export function decodeFloat(bytes: Uint8Array, f: FloatFormat): Decoded {
  const raw = leBits(bytes, f.bits);
  const man = raw & ((1n << BigInt(f.manBits)) - 1n);
  const exp = Number((raw >> BigInt(f.manBits)) & ((1n << BigInt(f.expBits)) - 1n));
  const negative = ((raw >> BigInt(f.manBits + f.expBits)) & 1n) === 1n;
  const expMax = (1 << f.expBits) - 1;
  const bias = (1 << (f.expBits - 1)) - 1;
  if (exp === expMax) {
    // x87: the integer bit is ignored for the classification gdb does (fraction bits only).
    const frac = f.explicitInt ? man & ((1n << 63n) - 1n) : man;
    if (frac === 0n) return { kind: 'inf', negative };
    return { kind: 'nan', negative, mantissaHex: mantissaHex(man, f.manBits) };
  }
  if (f.explicitInt) {
    // value = man * 2^(exp - bias - 63); denormals use exp 1.
    const e = exp === 0 ? 1 : exp;
    return { kind: 'finite', negative, mantissa: man, exp2: e - bias - 63 };
  }
  if (exp === 0) return { kind: 'finite', negative, mantissa: man, exp2: 1 - bias - f.manBits };
  return { kind: 'finite', negative, mantissa: man | (1n << BigInt(f.manBits)), exp2: exp - bias - f.manBits };
}

export function decimalDigits(f: FloatFormat): number {
  const d = 1 + f.precision * 0.30102999566398119521;
  return Math.ceil(d);
}

/** C's `%.{precision}g` of mantissa * 2^exp2 (exact, round-half-even). */
export function formatG(negative: boolean, mantissa: bigint, exp2: number, precision: number): string {
  const sign = negative ? '-' : '';
  if (mantissa === 0n) return sign + '0';
  // Exact decimal: digits * 10^dexp.
  let digits: string;
  let dexp: number;
  if (exp2 >= 0) {
    digits = (mantissa << BigInt(exp2)).toString();
    dexp = 0;
  } else {
    digits = (mantissa * 5n ** BigInt(-exp2)).toString();
    dexp = exp2;
  }
  // Scientific exponent of the exact value.
  let x = digits.length - 1 + dexp;
  // Round to `precision` significant digits.
  let sig: string;
  if (digits.length <= precision) {
    sig = digits.padEnd(precision, '0');
  } else {
    const head = BigInt(digits.slice(0, precision));
    const rest = digits.slice(precision);
    const firstDropped = rest.charCodeAt(0) - 48;
    let up = false;
    if (firstDropped > 5) up = true;
    else if (firstDropped === 5) {
      const tailNonZero = /[1-9]/.test(rest.slice(1));
      up = tailNonZero || (head & 1n) === 1n;
    }
    let h = up ? head + 1n : head;
    let hs = h.toString();
    if (hs.length > precision) {
      // 999… rounded up to 1000…
      hs = hs.slice(0, precision);
      x += 1;
    }
    sig = hs;
  }
  const P = precision;
  let out: string;
  if (x < -4 || x >= P) {
    let mant = sig[0] + (P > 1 ? '.' + sig.slice(1) : '');
    mant = stripZeros(mant);
    const ax = Math.abs(x);
    out = `${mant}e${x < 0 ? '-' : '+'}${ax < 10 ? '0' + ax : ax}`;
  } else if (x >= 0) {
    const intPart = sig.slice(0, x + 1);
    const frac = sig.slice(x + 1);
    out = stripZeros(frac ? `${intPart}.${frac}` : intPart);
  } else {
    out = stripZeros('0.' + '0'.repeat(-x - 1) + sig);
  }
  return sign + out;
}

function stripZeros(s: string): string {
  if (!s.includes('.')) return s;
  s = s.replace(/0+$/, '');
  return s.endsWith('.') ? s.slice(0, -1) : s;
}

/** The text gdb prints for a float of format `f` stored in `bytes`. */
export function formatFloat(bytes: Uint8Array, f: FloatFormat): string {
  const d = decodeFloat(bytes, f);
  switch (d.kind) {
    case 'inf':
      return d.negative ? '-inf' : 'inf';
    case 'nan':
      return `${d.negative ? '-' : ''}nan(0x${d.mantissaHex})`;
    case 'invalid':
      return '<invalid float value>';
    case 'finite':
      return formatG(d.negative, d.mantissa, d.exp2, decimalDigits(f));
  }
}

/** Exact value as a JS number (for arithmetic in the evaluator; long double loses precision). */
export function floatToNumber(bytes: Uint8Array, f: FloatFormat): number {
  const d = decodeFloat(bytes, f);
  switch (d.kind) {
    case 'inf':
      return d.negative ? -Infinity : Infinity;
    case 'nan':
      return NaN;
    case 'invalid':
      return NaN;
    case 'finite': {
      // Number(bigint) rounds to nearest; scaling by powers of two is exact (bar denormals).
      let v = Number(d.mantissa);
      let e = d.exp2;
      while (e > 0) {
        const s = Math.min(e, 1000);
        v *= 2 ** s;
        e -= s;
      }
      while (e < 0) {
        const s = Math.max(e, -1000);
        v *= 2 ** s;
        e -= s;
      }
      return d.negative ? -v : v;
    }
  }
}

/** Encodes a JS number into `f` (round to nearest even on the way down to float/x87/quad). */
export function numberToFloatBytes(v: number, f: FloatFormat, size: number): Buffer {
  const out = Buffer.alloc(size);
  if (f === IEEE_DOUBLE) {
    out.writeDoubleLE(v, 0);
    return out;
  }
  if (f === IEEE_SINGLE) {
    out.writeFloatLE(v, 0);
    return out;
  }
  // x87 / quad from a double: exact (every double fits), so no rounding needed.
  const dbl = Buffer.alloc(8);
  dbl.writeDoubleLE(v, 0);
  const d = decodeFloat(dbl, IEEE_DOUBLE);
  const bias = (1 << (f.expBits - 1)) - 1;
  let raw = 0n;
  const signBit = 1n << BigInt(f.manBits + f.expBits);
  const expMax = BigInt((1 << f.expBits) - 1);
  if (d.kind === 'inf' || d.kind === 'nan') {
    raw = expMax << BigInt(f.manBits);
    if (f.explicitInt) raw |= 1n << 63n;
    if (d.kind === 'nan') raw |= 1n << BigInt(f.manBits - (f.explicitInt ? 2 : 1));
    if (d.negative) raw |= signBit;
  } else if (d.kind === 'finite') {
    if (d.mantissa !== 0n) {
      // Normalise mantissa to have its top bit at position manBits (or 63 for x87).
      const top = d.mantissa.toString(2).length - 1;
      const target = f.explicitInt ? 63 : f.manBits;
      const m = d.mantissa << BigInt(target - top);
      const e = d.exp2 + top; // value = 1.xxx * 2^e
      const be = BigInt(e + bias);
      raw = (be << BigInt(f.manBits)) | (f.explicitInt ? m : m & ((1n << BigInt(f.manBits)) - 1n));
    }
    if (d.negative) raw |= signBit;
  }
  for (let i = 0; i < size && i < 16; i++) {
    out[i] = Number(raw & 0xffn);
    raw >>= 8n;
  }
  return out;
}
