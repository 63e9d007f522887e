import { describe, expect, it } from 'vitest';
import type { ArrayType, Type } from '../symbols/types';
import { FakeMemory, FakeSymbols, POINT } from '../../../test/support/fakes';
import { formatTop } from '../value/format';
import type { ValueContext } from '../value/object';
import { BUILTIN, pointerTo } from '../lang/c/builtins';
import { evaluateExpression, gdbMessage } from './evaluate';
import { tokenize } from './lexer';

const INT = BUILTIN.int;
const arr = (element: Type, length?: number): ArrayType => ({ kind: 'array', element, length });

function world(): { ctx: ValueContext; p: (e: string) => string; err: (e: string) => string } {
  const mem = new FakeMemory();
  const syms = new FakeSymbols();
  const point = POINT;
  syms.types.set('struct point', point);
  syms.types.set('myint_t', { kind: 'typedef', name: 'myint_t', type: INT });
  const b = Buffer.alloc(0x100);
  b.writeInt32LE(42, 0); // g_int @0x1000
  for (let i = 0; i < 4; i++) b.writeInt32LE(i + 1, 0x10 + i * 4); // g_arr @0x1010
  b.writeInt32LE(7, 0x20); // g_pt @0x1020
  b.writeInt32LE(-7, 0x24);
  b.writeBigUInt64LE(0x1020n, 0x30); // g_ppt @0x1030
  b.writeBigUInt64LE(0x1000n, 0x38); // g_pint
  b.writeDoubleLE(2.5, 0x40); // g_d
  b[0x48] = 200; // g_uc
  Buffer.from('hello\0').copy(b, 0x50); // g_str
  mem.map(0x1000n, b);
  mem.map(0x400000n, Buffer.from([0x55]));
  syms.addVar('g_int', INT, 0x1000n);
  syms.addVar('g_arr', arr(INT, 4), 0x1010n);
  syms.addVar('g_pt', point, 0x1020n);
  syms.addVar('g_ppt', pointerTo(point), 0x1030n);
  syms.addVar('g_pint', pointerTo(INT), 0x1038n);
  syms.addVar('g_d', BUILTIN.double, 0x1040n);
  syms.addVar('g_uc', BUILTIN.unsignedChar, 0x1048n);
  syms.addVar('g_str', arr(BUILTIN.char, 8), 0x1050n);
  syms.addVar('s_same', INT, 0x1000n, { compileUnit: 'a.c', scope: 'file-static' });
  syms.addVar('s_same', INT, 0x1010n, { compileUnit: 'b.c', scope: 'file-static' });
  syms.addVar('counter', INT, 0x1014n, { scope: 'function-static', function: 'f' });
  syms.addVar('g_nodebug', undefined, 0x1000n, { size: 4 });
  syms.fns.push({
    name: 'f',
    address: 0x400000n,
    module: '/bin/fake',
    type: { kind: 'function', returnType: INT, parameters: [INT], variadic: false, prototyped: true },
  });
  const ctx: ValueContext = { memory: mem, symbols: syms, pointerSize: 8 };
  return {
    ctx,
    p: (e) => formatTop(ctx, evaluateExpression(ctx, e)),
    err: (e) => {
      try {
        formatTop(ctx, evaluateExpression(ctx, e));
      } catch (x) {
        return gdbMessage(x);
      }
      return 'no error';
    },
  };
}

describe('lexer', () => {
  it('numbers, chars, quoted names', () => {
    const t = tokenize("0x1fUL 017 0b101 1.5f 'A' '\\n' '\\x41' 'file.c'::x a->b");
    expect(t.map((x) => x.k)).toEqual(['int', 'int', 'int', 'float', 'char', 'char', 'char', 'qname', 'punct', 'ident', 'ident', 'punct', 'ident', 'eof']);
  });
});

describe('evaluator (gdb semantics)', () => {
  const { p, err } = world();
  it('literals and arithmetic', () => {
    expect(p('1 + 2 * 3')).toBe('7');
    expect(p('7/2')).toBe('3');
    expect(p('-7/2')).toBe('-3');
    expect(p('-7%3')).toBe('-1');
    expect(p('2147483647+1')).toBe('-2147483648');
    expect(p('4294967295')).toBe('4294967295');
    expect(p('0xffffffff + 1')).toBe('0');
    expect(p("'A'")).toBe("65 'A'");
    expect(p("'A' + 1")).toBe('66');
    expect(p('10/3.0')).toBe('3.3333333333333335');
    expect(p('(float)1/3')).toBe('0.333333343');
    expect(p('1.0/0')).toBe('inf');
    expect(p('1 ? 2 : 3')).toBe('2');
    expect(p('(1, 2)')).toBe('2');
    expect(p('1 < 2 && 3 > 4')).toBe('0');
    expect(p('~0')).toBe('-1');
    expect(p('-g_uc')).toBe('-200');
    expect(p('(unsigned char)300')).toBe("44 ','");
    expect(p('"ab" "cd"')).toBe('"abcd"');
    expect(p('sizeof("abc")')).toBe('4');
    expect(p('0x1p3')).toBe('8');
    expect(err('1/0')).toBe('Division by zero');
    expect(err('100000000000000000000')).toBe('Numeric constant too large.');
  });
  it('variables, members, pointers', () => {
    expect(p('g_int')).toBe('42');
    expect(p('g_int + 1')).toBe('43');
    expect(p('&g_int')).toBe('(int *) 0x1000 <g_int>');
    expect(p('*&g_int')).toBe('42');
    expect(p('g_arr')).toBe('{1, 2, 3, 4}');
    expect(p('g_arr[2]')).toBe('3');
    expect(p('&g_arr[1]')).toBe('(int *) 0x1014 <g_arr+4>');
    expect(p('g_arr + 1')).toBe('(int *) 0x1014 <g_arr+4>');
    expect(p('*(g_arr + 3)')).toBe('4');
    expect(p('&g_arr[3] - &g_arr[0]')).toBe('3');
    expect(p('&g_arr')).toBe('(int (*)[4]) 0x1010 <g_arr>');
    expect(p('g_pt')).toBe('{x = 7, y = -7}');
    expect(p('g_pt.y')).toBe('-7');
    expect(p('g_ppt->x')).toBe('7');
    expect(p('g_ppt.x')).toBe('7');
    expect(p('*g_ppt')).toBe('{x = 7, y = -7}');
    expect(p('g_ppt')).toBe('(struct point *) 0x1020 <g_pt>');
    expect(p('(struct point *)0x1020')).toBe('(struct point *) 0x1020 <g_pt>');
    expect(p('((struct point *)0x1020)->y')).toBe('-7');
    expect(p('*(int (*)[2])&g_arr')).toBe('{1, 2}');
    expect(p('(myint_t)3')).toBe('3');
    expect(p('sizeof(struct point)')).toBe('8');
    expect(p('sizeof g_arr')).toBe('16');
    expect(p('g_arr[1]@3')).toBe('{2, 3, 4}');
    expect(p('*g_pint@2')).toBe('{42, 0}');
    expect(p('g_str')).toBe('"hello\\000\\000"');
    expect(p('{int} 0x1010')).toBe('1');
    expect(p('g_d * 2')).toBe('5');
    expect(p('f')).toBe('{int (int)} 0x400000');
    expect(p('&f')).toBe('(int (*)(int)) 0x400000');
    expect(p("'b.c'::s_same")).toBe('1');
    expect(p("'a.c'::s_same")).toBe('42');
    expect(p('f::counter')).toBe('2');
    expect(p('(int)g_nodebug')).toBe('42');
  });
  it('errors in gdb words', () => {
    expect(err('nosuch')).toBe('No symbol "nosuch" in current context.');
    expect(err('g_pt.z')).toBe('There is no member named z.');
    expect(err('g_int.x')).toBe('Attempt to extract a component of a value that is not a structure.');
    expect(err('g_int->x')).toBe('Attempt to extract a component of a value that is not a structure pointer.');
    expect(err('g_int[1]')).toBe("cannot subscript something of type `int'");
    expect(err('1 +')).toBe("A syntax error in expression, near `'.");
    expect(err('1 2')).toBe("A syntax error in expression, near `2'.");
    expect(err(')')).toBe("A syntax error in expression, near `)'.");
    expect(err('*(int *)0x10')).toBe('Cannot access memory at address 0x10');
    expect(err('(struct nosuch *)0')).toBe('No struct type named nosuch.');
    expect(err('g_pint + g_pint')).toBe('Argument to arithmetic operation not a number or boolean.');
    expect(err('g_d % 2')).toBe('Integer-only operation on floating point number.');
    expect(err('5@2')).toBe("Only values in memory can be extended with '@'.");
    expect(err('g_arr[1]@0')).toBe('Invalid number 0 of repetitions.');
    expect(err('g_nodebug')).toBe("'g_nodebug' has unknown type; cast it to its declared type");
    expect(err('*(void *)0x1000')).toBe('Attempt to dereference a generic pointer.');
    expect(err('&1')).toBe('Attempt to take address of value not located in memory.');
  });
});

describe('non-ASCII literals (as gdb reads them: bytes of UTF-8)', () => {
  const { ctx } = world();
  it('a narrow string holds the UTF-8 bytes; a non-ASCII character constant is refused', () => {
    expect(formatTop(ctx, evaluateExpression(ctx, '"日本"'), { charset: 'utf-8' })).toBe('"日本"');
    expect(formatTop(ctx, evaluateExpression(ctx, '"日本"'), { charset: 'ascii' })).toBe('"\\346\\227\\245\\346\\234\\254"');
    expect(formatTop(ctx, evaluateExpression(ctx, 'sizeof("日本")'))).toBe('7');
    expect(formatTop(ctx, evaluateExpression(ctx, '"é\\x41"'), { charset: 'utf-8' })).toBe('"éA"');
    expect(formatTop(ctx, evaluateExpression(ctx, "'\\351'"))).toBe("-23 '\\351'");
    for (const e of ["'é'", "L'é'", "u'日'", "'😀'"]) {
      let msg = '';
      try {
        evaluateExpression(ctx, e);
      } catch (x) {
        msg = gdbMessage(x);
      }
      expect(msg, e).toBe('Invalid character constant.');
    }
  });
});

describe('hostile input', () => {
  const { ctx } = world();
  it('never throws anything but a PidscopeError, never overflows the stack', () => {
    const pieces = [
      'g_int',
      'g_pt',
      'g_ppt',
      'g_arr',
      'g_str',
      '(',
      ')',
      '[',
      ']',
      '*',
      '&',
      '-',
      '+',
      '!',
      '~',
      '->',
      '.',
      'x',
      'y',
      '1',
      '0x10',
      "'a'",
      '"s"',
      '?',
      ':',
      ',',
      '@',
      'sizeof',
      '(int)',
      '(struct point *)',
      '{int}',
      '<<',
      '/',
      '%',
      '==',
      '&&',
      '||',
      '1.5',
      '0',
    ];
    let seed = 12345;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let k = 0; k < 3000; k++) {
      const n = 1 + rnd(8);
      let e = '';
      for (let j = 0; j < n; j++) e += pieces[rnd(pieces.length)] + (rnd(2) ? ' ' : '');
      try {
        formatTop(ctx, evaluateExpression(ctx, e));
      } catch (x) {
        expect((x as Error).name, `${e}: ${(x as Error).stack}`).toBe('PidscopeError');
      }
    }
    for (const deep of ['('.repeat(5000) + '1' + ')'.repeat(5000), '-'.repeat(5000) + '1', '*'.repeat(5000) + 'g_ppt']) {
      expect(() => evaluateExpression(ctx, deep)).toThrow(/nested|syntax|Cannot|Attempt|not supported/);
    }
  });

  it('refuses deep nesting through any operator with a clear error, not a stack overflow', () => {
    const n = 50_000;
    const deep = [
      Array.from({ length: n }, () => '1').join(' + '),
      Array.from({ length: n }, () => 'g_int').join(' * '),
      'g_pt' + '->x'.repeat(n),
      'g_arr['.repeat(n) + '0' + ']'.repeat(n),
      '1 ? '.repeat(n) + '1' + ' : 2'.repeat(n),
      '(int (' + '(*'.repeat(n) + ')'.repeat(n) + '))0',
      'g_int, '.repeat(n) + '1',
    ];
    for (const e of deep) {
      let err: Error | undefined;
      try {
        evaluateExpression(ctx, e);
      } catch (x) {
        err = x as Error;
      }
      expect(err?.name, `${e.slice(0, 40)}: ${err?.stack}`).toBe('PidscopeError');
      expect(err?.message, e.slice(0, 40)).toMatch(/nested more than 256 levels deep/);
    }
    // Ordinary long expressions still work.
    expect(formatTop(ctx, evaluateExpression(ctx, Array.from({ length: 200 }, () => '1').join(' + ')))).toBe('200');
    expect(formatTop(ctx, evaluateExpression(ctx, '('.repeat(200) + '7' + ')'.repeat(200)))).toBe('7');
  });
});
