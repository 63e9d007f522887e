/**
 * Exact floating-point arithmetic for the evaluator, so `g_long_double * 2` or
 * `(float)g_double` give the bits gdb (i.e. the host FPU) gives: operands are exact binary
 * values (mantissa * 2^exp), sums and products are computed exactly with bigint, quotients with a
 * sticky bit, and the result is rounded once, to nearest even, into the target format (float,
 * double, x87 80-bit, IEEE quad). NaNs propagate like x86 SSE/x87: the first NaN operand's sign
 * and payload (quietened); an invalid operation yields the default NaN, which is negative.
 */
import { decodeFloat, type FloatFormat } from './float';

export type Exact =
  | { kind: 'finite'; neg: boolean; m: bigint; e: number }
  | { kind: 'inf'; neg: boolean }
  /** frac: fraction bits left-aligned to 128 bits (quiet bit = bit 127). */
  | { kind: 'nan'; neg: boolean; frac: bigint };

const FRAC_ALIGN = 128;

export function exactFromBytes(bytes: Uint8Array, f: FloatFormat): Exact {
  const d = decodeFloat(bytes, f);
  switch (d.kind) {
    case 'finite':
      return { kind: 'finite', neg: d.negative, m: d.mantissa, e: d.exp2 };
    case 'inf':
      return { kind: 'inf', neg: d.negative };
    case 'nan': {
      const fracBits = f.explicitInt ? 63 : f.manBits;
      const man = BigInt('0x' + d.mantissaHex) & ((1n << BigInt(fracBits)) - 1n);
      return { kind: 'nan', neg: d.negative, frac: man << BigInt(FRAC_ALIGN - fracBits) };
    }
    default:
      return { kind: 'nan', neg: true, frac: 1n << 127n };
  }
}

export function exactFromBigint(v: bigint): Exact {
  return { kind: 'finite', neg: v < 0n, m: v < 0n ? -v : v, e: 0 };
}

function bitLength(x: bigint): number {
  return x === 0n ? 0 : x.toString(2).length;
}

/** Rounds an exact value into format `f` and returns its bytes (`size` long, little-endian). */
export function encodeExact(x: Exact, f: FloatFormat, size: number): Buffer {
  const bias = (1 << (f.expBits - 1)) - 1;
  const expMax = (1n << BigInt(f.expBits)) - 1n;
  const p = f.precision;
  const signBit = 1n << BigInt(f.manBits + f.expBits);
  let raw = 0n;
  const fracBits = f.explicitInt ? 63 : f.manBits;
  if (x.kind === 'nan') {
    let frac = x.frac >> BigInt(FRAC_ALIGN - fracBits);
    frac |= 1n << BigInt(fracBits - 1); // quiet
    raw = (expMax << BigInt(f.manBits)) | frac | (f.explicitInt ? 1n << 63n : 0n);
    if (x.neg) raw |= signBit;
  } else if (x.kind === 'inf') {
    raw = (expMax << BigInt(f.manBits)) | (f.explicitInt ? 1n << 63n : 0n);
    if (x.neg) raw |= signBit;
  } else if (x.m === 0n) {
    raw = x.neg ? signBit : 0n;
  } else {
    const L = bitLength(x.m);
    const E = x.e + L - 1;
    const emin = 1 - bias;
    let lsb = Math.max(E - (p - 1), emin - (p - 1));
    const drop = lsb - x.e;
    let q: bigint;
    if (drop > 0) {
      const d = BigInt(drop);
      q = x.m >> d;
      const rem = x.m & ((1n << d) - 1n);
      const half = 1n << (d - 1n);
      if (rem > half || (rem === half && (q & 1n) === 1n)) q += 1n;
    } else q = x.m << BigInt(-drop);
    if (q >= 1n << BigInt(p)) {
      q >>= 1n;
      lsb += 1;
    }
    if (q >= 1n << BigInt(p - 1)) {
      const Ep = lsb + p - 1;
      if (Ep > bias) {
        raw = (expMax << BigInt(f.manBits)) | (f.explicitInt ? 1n << 63n : 0n);
      } else {
        const biased = BigInt(Ep + bias);
        raw = (biased << BigInt(f.manBits)) | (f.explicitInt ? q : q & ((1n << BigInt(p - 1)) - 1n));
      }
    } else {
      raw = q; // subnormal (x87: explicit integer bit clear)
    }
    if (x.neg) raw |= signBit;
  }
  const out = Buffer.alloc(size);
  for (let i = 0; i < size && i * 8 < f.bits; i++) {
    out[i] = Number(raw & 0xffn);
    raw >>= 8n;
  }
  return out;
}

const DEFAULT_NAN: Exact = { kind: 'nan', neg: true, frac: 1n << 127n };

function nanOf(a: Exact, b?: Exact): Exact | undefined {
  if (a.kind === 'nan') return a;
  if (b && b.kind === 'nan') return b;
  return undefined;
}

function neg(x: Exact): Exact {
  return { ...x, neg: !x.neg } as Exact;
}

export function addExact(a: Exact, b: Exact): Exact {
  const n = nanOf(a, b);
  if (n) return n;
  if (a.kind === 'inf' || b.kind === 'inf') {
    if (a.kind === 'inf' && b.kind === 'inf') return a.neg === b.neg ? a : DEFAULT_NAN;
    return a.kind === 'inf' ? a : b;
  }
  const A = a as Extract<Exact, { kind: 'finite' }>;
  const B = b as Extract<Exact, { kind: 'finite' }>;
  const e = Math.min(A.e, B.e);
  const ma = (A.neg ? -A.m : A.m) << BigInt(A.e - e);
  const mb = (B.neg ? -B.m : B.m) << BigInt(B.e - e);
  const s = ma + mb;
  if (s === 0n) return { kind: 'finite', neg: A.neg && B.neg && A.m === 0n && B.m === 0n, m: 0n, e: 0 };
  return { kind: 'finite', neg: s < 0n, m: s < 0n ? -s : s, e };
}

export function subExact(a: Exact, b: Exact): Exact {
  if (b.kind === 'nan') return nanOf(a, b)!;
  return addExact(a, neg(b));
}

export function mulExact(a: Exact, b: Exact): Exact {
  const n = nanOf(a, b);
  if (n) return n;
  const sign = a.neg !== b.neg;
  if (a.kind === 'inf' || b.kind === 'inf') {
    const other = a.kind === 'inf' ? b : a;
    if (other.kind === 'finite' && other.m === 0n) return DEFAULT_NAN;
    return { kind: 'inf', neg: sign };
  }
  const A = a as Extract<Exact, { kind: 'finite' }>;
  const B = b as Extract<Exact, { kind: 'finite' }>;
  return { kind: 'finite', neg: sign, m: A.m * B.m, e: A.e + B.e };
}

export function divExact(a: Exact, b: Exact): Exact {
  const n = nanOf(a, b);
  if (n) return n;
  const sign = a.neg !== b.neg;
  if (a.kind === 'inf') return b.kind === 'inf' ? DEFAULT_NAN : { kind: 'inf', neg: sign };
  if (b.kind === 'inf') return { kind: 'finite', neg: sign, m: 0n, e: 0 };
  const A = a as Extract<Exact, { kind: 'finite' }>;
  const B = b as Extract<Exact, { kind: 'finite' }>;
  if (B.m === 0n) return A.m === 0n ? DEFAULT_NAN : { kind: 'inf', neg: sign };
  if (A.m === 0n) return { kind: 'finite', neg: sign, m: 0n, e: 0 };
  const k = 120 + bitLength(B.m);
  const num = A.m << BigInt(k);
  let q = num / B.m;
  const rem = num % B.m;
  q = (q << 1n) | (rem !== 0n ? 1n : 0n);
  return { kind: 'finite', neg: sign, m: q, e: A.e - B.e - k - 1 };
}

/** -1, 0, 1, or undefined when unordered (NaN). -0 == +0. */
export function compareExact(a: Exact, b: Exact): number | undefined {
  if (a.kind === 'nan' || b.kind === 'nan') return undefined;
  const val = (x: Exact): [number, bigint, number] => {
    if (x.kind !== 'finite') return [x.neg ? -2 : 2, 0n, 0];
    if (x.m === 0n) return [0, 0n, 0];
    return [x.neg ? -1 : 1, x.m, x.e];
  };
  const [sa, ma, ea] = val(a);
  const [sb, mb, eb] = val(b);
  if (sa !== sb) return sa < sb ? -1 : 1;
  if (Math.abs(sa) !== 1) return 0;
  const e = Math.min(ea, eb);
  const x = ma << BigInt(ea - e);
  const y = mb << BigInt(eb - e);
  const c = x === y ? 0 : x < y ? -1 : 1;
  return sa < 0 ? -c : c;
}

export function isZeroExact(x: Exact): boolean {
  return x.kind === 'finite' && x.m === 0n;
}

/** gdb's host_float_ops::to_longest: truncation toward zero, saturating; NaN gives the maximum. */
export function exactToLongest(x: Exact): bigint {
  const MAX = (1n << 63n) - 1n;
  const MIN = -(1n << 63n);
  if (x.kind === 'nan') return MAX;
  if (x.kind === 'inf') return x.neg ? MIN : MAX;
  let v = x.e >= 0 ? x.m << BigInt(x.e) : x.m >> BigInt(-x.e);
  if (x.neg) v = -v;
  if (v > MAX) return MAX;
  if (v < MIN) return MIN;
  return v;
}
