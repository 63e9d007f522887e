import { describe, expect, it } from 'vitest';
import type { Type } from '../symbols/types';
import { bindScope, scalarLiteral } from './program';

const long: Type = { kind: 'int', name: 'long', size: 8, signed: true, isChar: false };
const ulong: Type = { kind: 'int', name: 'unsigned long', size: 8, signed: false, isChar: false };
const dbl: Type = { kind: 'float', name: 'double', size: 8, format: 'ieee' };

function le64(v: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64LE(BigInt.asIntN(64, v));
  return b;
}

describe('binding value and old into a condition', () => {
  it('replaces the identifiers, not members, strings or longer names', () => {
    expect(bindScope('value > 100 && old != value', { value: '3L', old: '2L' })).toBe('3L > 100 && 2L != 3L');
    expect(bindScope('p.value + q->old + value_x + "value" + \'v\'', { value: 'V', old: 'O' })).toBe('p.value + q->old + value_x + "value" + \'v\'');
    expect(bindScope('1.5e3 + value', { value: '7L' })).toBe('1.5e3 + 7L');
    expect(() => bindScope('old > 1', { value: '1' })).toThrow(/'old' is not available/);
  });

  it('writes C literals of the watched type', () => {
    expect(scalarLiteral(le64(42n), long)).toBe('42L');
    expect(scalarLiteral(le64(-5n), long)).toBe('(-5L)');
    expect(scalarLiteral(le64(-(2n ** 63n)), long)).toBe('(-9223372036854775807L - 1)');
    expect(scalarLiteral(le64(-1n), ulong)).toBe('18446744073709551615UL');
    const d = Buffer.alloc(8);
    d.writeDoubleLE(2);
    expect(scalarLiteral(d, dbl)).toBe('(2.0)');
    d.writeDoubleLE(NaN);
    expect(scalarLiteral(d, dbl)).toBe('(0.0 / 0.0)');
    expect(scalarLiteral(Buffer.alloc(16), { kind: 'struct', name: 's', size: 16, members: [] })).toBeUndefined();
  });
});
