import { describe, expect, it } from 'vitest';
import { BUILTIN, pointerTo } from '../lang/c/builtins';
import type { ArrayType, CompoundType, EnumType, FunctionType, Type } from '../symbols/types';
import { FakeMemory, FakeSymbols } from '../../../test/support/fakes';
import { formatG, formatFloat, IEEE_DOUBLE, IEEE_QUAD, IEEE_SINGLE, X87_EXTENDED, numberToFloatBytes } from './float';
import { formatTop } from './format';
import { makeReference, makeValue, type ValueContext } from './object';
import { typeName as typeToString } from '../lang/c/typeName';

const INT = BUILTIN.int;
const CHAR = BUILTIN.char;
const arr = (element: Type, length?: number): ArrayType => ({ kind: 'array', element, length });
const struct = (name: string | undefined, members: Array<[string | undefined, Type, number, number?]>, size: number): CompoundType => ({
  kind: 'struct',
  name,
  size,
  members: members.map(([n, type, bitOffset, bitSize]) => ({ name: n, type, bitOffset, bitSize })),
});

function setup(): { ctx: ValueContext; mem: FakeMemory; syms: FakeSymbols } {
  const mem = new FakeMemory();
  const syms = new FakeSymbols();
  return { ctx: { memory: mem, symbols: syms, pointerSize: 8 }, mem, syms };
}

const ints = (xs: number[]) => {
  const b = Buffer.alloc(xs.length * 4);
  xs.forEach((x, i) => b.writeInt32LE(x, i * 4));
  return b;
};

describe('float formatting (gdb %.{9,17,21,36}g)', () => {
  const dbl = (v: number) => {
    const b = Buffer.alloc(8);
    b.writeDoubleLE(v);
    return formatFloat(b, IEEE_DOUBLE);
  };
  const flt = (v: number) => {
    const b = Buffer.alloc(4);
    b.writeFloatLE(v);
    return formatFloat(b, IEEE_SINGLE);
  };
  it('doubles', () => {
    expect(dbl(3.141592653589793)).toBe('3.1415926535897931');
    expect(dbl(0.1)).toBe('0.10000000000000001');
    expect(dbl(1e300)).toBe('1.0000000000000001e+300');
    expect(dbl(1e-300)).toBe('1e-300');
    expect(dbl(1.5)).toBe('1.5');
    expect(dbl(-0)).toBe('-0');
    expect(dbl(1e10)).toBe('10000000000');
    expect(dbl(4.9406564584124654e-324)).toBe('4.9406564584124654e-324');
    expect(dbl(Infinity)).toBe('inf');
    expect(dbl(-Infinity)).toBe('-inf');
    expect(dbl(NaN)).toBe('nan(0x8000000000000)');
    expect(dbl(3.3333333333333335)).toBe('3.3333333333333335');
  });
  it('floats', () => {
    expect(flt(0.1)).toBe('0.100000001');
    expect(flt(1 / 3)).toBe('0.333333343');
    expect(flt(2e-40)).toBe('2.00000323e-40');
    expect(flt(123456789)).toBe('123456792');
    expect(flt(12.1414223)).toBe('12.1414223');
    const nan = Buffer.from([0x12, 0x00, 0xc0, 0xff]);
    expect(formatFloat(nan, IEEE_SINGLE)).toBe('-nan(0x400012)');
  });
  it('x87 long double and _Float128', () => {
    // 3.14159265358979323846L
    const pi = Buffer.from('35c26821a2da0fc90040000000000000', 'hex');
    expect(formatFloat(pi, X87_EXTENDED)).toBe('3.14159265358979323851');
    const nan = Buffer.from('00000000000000c0ff7f000000000000', 'hex');
    expect(formatFloat(nan, X87_EXTENDED)).toBe('nan(0xc000000000000000)');
    expect(formatFloat(numberToFloatBytes(1, X87_EXTENDED, 16), X87_EXTENDED)).toBe('1');
    expect(formatFloat(numberToFloatBytes(123, X87_EXTENDED, 16), X87_EXTENDED)).toBe('123');
    expect(formatFloat(numberToFloatBytes(1.5, IEEE_QUAD, 16), IEEE_QUAD)).toBe('1.5');
    // 0.1Q
    const q = Buffer.from('9a99999999999999999999999999fb3f', 'hex');
    expect(formatFloat(q, IEEE_QUAD)).toBe('0.100000000000000000000000000000000005');
  });
  it('%g corner cases', () => {
    expect(formatG(false, 1n, 0, 17)).toBe('1');
    expect(formatG(false, 99999n, 0, 3)).toBe('1e+05');
    expect(formatG(false, 1n, -20, 6)).toBe('9.53674e-07');
    expect(formatG(false, 5n, -1, 1)).toBe('2'); // 2.5 → half-even → 2
  });
});

describe('type names (gdb spelling)', () => {
  it('declarators', () => {
    expect(typeToString(pointerTo(INT))).toBe('int *');
    expect(typeToString(pointerTo(arr(INT, 8)))).toBe('int (*)[8]');
    const fn: FunctionType = { kind: 'function', returnType: INT, parameters: [INT], variadic: false, prototyped: true };
    expect(typeToString(fn)).toBe('int (int)');
    expect(typeToString(pointerTo(fn))).toBe('int (*)(int)');
    expect(typeToString(arr(pointerTo(fn), 3))).toBe('int (*[3])(int)');
    expect(typeToString(arr(pointerTo(CHAR), 4))).toBe('char *[4]');
    expect(typeToString({ kind: 'qualified', qualifiers: { const: true }, type: pointerTo(INT) })).toBe('int * const');
    expect(typeToString(pointerTo({ kind: 'qualified', qualifiers: { const: true }, type: CHAR }))).toBe('const char *');
    expect(typeToString(pointerTo({ kind: 'qualified', qualifiers: { const: true }, type: pointerTo(INT) }))).toBe('int * const *');
    expect(typeToString({ kind: 'function', returnType: { kind: 'void' }, parameters: [], variadic: false, prototyped: true })).toBe('void (void)');
    expect(typeToString(arr(arr(INT, 3), 2))).toBe('int [2][3]');
    expect(typeToString(pointerTo(arr(arr(INT, 2), 2)))).toBe('int (*)[2][2]');
  });
});

describe('gdb print notation', () => {
  it('structs, arrays, repeats, strings', () => {
    const { ctx, mem } = setup();
    const inner = struct('inner', [['x', INT, 0]], 4);
    const outer = struct(
      'outer',
      [
        ['a', INT, 0],
        ['b', inner, 32],
      ],
      8,
    );
    mem.map(0x1000n, ints([1, 2]));
    expect(formatTop(ctx, makeReference(outer, 0x1000n))).toBe('{a = 1, b = {x = 2}}');
    mem.map(0x2000n, ints([1, 2, 3, 4, 5, 6, ...Array(14).fill(7)]));
    expect(formatTop(ctx, makeReference(arr(INT, 20), 0x2000n))).toBe('{1, 2, 3, 4, 5, 6, 7 <repeats 14 times>}');
    const s = Buffer.alloc(40);
    Buffer.from('ab\0\0cd\x01\xff' + 'x'.repeat(18), 'latin1').copy(s);
    mem.map(0x3000n, s);
    expect(formatTop(ctx, makeReference(arr(CHAR, 40), 0x3000n))).toBe(`"ab\\000\\000cd\\001\\377", 'x' <repeats 18 times>, '\\000' <repeats 13 times>`);
    const long = Buffer.alloc(300);
    for (let i = 0; i < 299; i++) long[i] = 97 + (i % 26);
    mem.map(0x4000n, long);
    const text = formatTop(ctx, makeReference(arr(CHAR, 300), 0x4000n));
    expect(text.endsWith('qr"...')).toBe(true);
    expect(text.length).toBe(200 + 5);
    mem.map(0x5000n, Buffer.alloc(300));
    expect(formatTop(ctx, makeReference(arr(CHAR, 300), 0x5000n))).toBe(`'\\000' <repeats 299 times>`);
    const big = Buffer.alloc(300 * 4);
    for (let i = 250; i < 300; i++) big.writeInt32LE(i, i * 4);
    mem.map(0x6000n, big);
    const bt = formatTop(ctx, makeReference(arr(INT, 300), 0x6000n));
    expect(bt.startsWith('{0 <repeats 250 times>, 250, 251')).toBe(true);
    expect(bt.endsWith('298, 299}')).toBe(true);
    const l2 = Buffer.alloc(300 * 4);
    for (let i = 0; i < 300; i++) l2.writeInt32LE(i, i * 4);
    mem.map(0x8000n, l2);
    expect(formatTop(ctx, makeReference(arr(INT, 300), 0x8000n)).endsWith('198, 199...}')).toBe(true);
  });

  it('pointers, symbols and char strings', () => {
    const { ctx, mem, syms } = setup();
    syms.addVar('g_int', INT, 0x1000n);
    syms.addVar('g_arr', arr(INT, 4), 0x1010n);
    mem.map(0x1000n, ints([42, 0, 0, 0, 1, 2, 3, 4]));
    mem.map(0x7000n, Buffer.from('a string\0', 'latin1'));
    const p = (v: bigint, t: Type) => makeValue(t, Buffer.from(v.toString(16).padStart(16, '0'), 'hex').reverse());
    expect(formatTop(ctx, p(0x1000n, pointerTo(INT)))).toBe('(int *) 0x1000 <g_int>');
    expect(formatTop(ctx, p(0x1018n, pointerTo(INT)))).toBe('(int *) 0x1018 <g_arr+8>');
    expect(formatTop(ctx, p(0x7000n, pointerTo(CHAR)))).toBe('0x7000 "a string"');
    expect(formatTop(ctx, p(0x10n, pointerTo(CHAR)))).toBe('0x10 <error: Cannot access memory at address 0x10>');
    expect(formatTop(ctx, p(0n, pointerTo(CHAR)))).toBe('0x0');
    expect(formatTop(ctx, p(0n, pointerTo(INT)))).toBe('(int *) 0x0');
    const cc = pointerTo({ kind: 'qualified', qualifiers: { const: true }, type: CHAR });
    expect(formatTop(ctx, p(0x7002n, cc))).toBe('0x7002 "string"');
    expect(formatTop(ctx, p(0x7000n, pointerTo(BUILTIN.unsignedChar)))).toBe('(unsigned char *) 0x7000 "a string"');
    expect(() => formatTop(ctx, makeReference(INT, 0x10n))).toThrow('Cannot access memory at address 0x10');
  });

  it('chars, bools, enums, bit fields, anonymous members', () => {
    const { ctx } = setup();
    const v = (t: Type, bytes: number[]) => formatTop(ctx, makeValue(t, Buffer.from(bytes)));
    expect(v(CHAR, [65])).toBe("65 'A'");
    expect(v(CHAR, [0])).toBe("0 '\\000'");
    expect(v(CHAR, [255])).toBe("-1 '\\377'");
    expect(v(BUILTIN.unsignedChar, [200])).toBe("200 '\\310'");
    expect(v(CHAR, [39])).toBe("39 '\\''");
    expect(v(CHAR, [10])).toBe("10 '\\n'");
    expect(v(BUILTIN.bool, [1])).toBe('true');
    const color: EnumType = {
      kind: 'enum',
      name: 'color',
      size: 4,
      enumerators: [
        { name: 'RED', value: 0n },
        { name: 'GREEN', value: 1n },
        { name: 'BLUE', value: 2n },
      ],
    };
    expect(v(color, [1, 0, 0, 0])).toBe('GREEN');
    expect(v(color, [7, 0, 0, 0])).toBe('(GREEN | BLUE | unknown: 0x4)');
    const flags: EnumType = {
      kind: 'enum',
      name: 'flags',
      size: 4,
      enumerators: [
        { name: 'F_A', value: 1n },
        { name: 'F_B', value: 2n },
        { name: 'F_C', value: 4n },
      ],
    };
    expect(v(flags, [5, 0, 0, 0])).toBe('(F_A | F_C)');
    expect(v(flags, [9, 0, 0, 0])).toBe('(F_A | unknown: 0x8)');
    expect(v(flags, [0, 0, 0, 0])).toBe('0');
    const multi: EnumType = {
      kind: 'enum',
      name: 'm',
      size: 4,
      enumerators: [
        { name: 'M_A', value: 1n },
        { name: 'M_B', value: 3n },
      ],
    };
    expect(v(multi, [4, 0, 0, 0])).toBe('4');
    const bits = struct(
      'bits',
      [
        ['a', BUILTIN.unsignedInt, 0, 3],
        ['b', INT, 3, 5],
        ['c', BUILTIN.unsignedInt, 8, 1],
        ['d', BUILTIN.bool, 9, 1],
      ],
      4,
    );
    // a=5, b=-3, c=1, d=1
    const word = 5 | ((-3 & 31) << 3) | (1 << 8) | (1 << 9);
    expect(v(bits, [word & 255, word >> 8, 0, 0])).toBe('{a = 5, b = -3, c = 1, d = true}');
    const anon = struct(
      'anon',
      [
        ['a', INT, 0],
        [
          undefined,
          struct(
            undefined,
            [
              ['x', INT, 0],
              ['y', INT, 32],
            ],
            8,
          ),
          32,
        ],
        ['z', INT, 96],
      ],
      16,
    );
    expect(v(anon, [...ints([1, 2, 3, 5])])).toBe('{a = 1, {x = 2, y = 3}, z = 5}');
    expect(v(struct('empty', [], 0), [])).toBe('{<No data fields>}');
  });
});
