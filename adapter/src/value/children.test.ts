import { describe, expect, it } from 'vitest';
import { BUILTIN, pointerTo } from '../lang/c/builtins';
import type { ReadResult } from '../memory/reader';
import type { ArrayType } from '../symbols/types';
import { childCount, children, wrapExpression } from './children';
import { FakeMemory, FakeSymbols, POINT } from '../../../test/support/fakes';
import { formatTop, printString, DEFAULT_FORMAT, defaultCharset, charLiteral } from './format';
import { toJson } from './json';
import { makeReference, makeValue, type ValueContext } from './object';

class CountingMemory extends FakeMemory {
  bytesRead = 0;
  override read(address: bigint, length: number): ReadResult {
    this.bytesRead += length;
    return super.read(address, length);
  }
}

const INT = BUILTIN.int;
const point = POINT;

describe('children (DAP expansion)', () => {
  const mem = new CountingMemory();
  const syms = new FakeSymbols();
  const ctx: ValueContext = { memory: mem, symbols: syms, pointerSize: 8 };
  const big = Buffer.alloc(1 << 20);
  for (let i = 0; i < big.length; i += 4) big.writeInt32LE(i / 4, i);
  mem.map(0x100000n, big);
  const pts = Buffer.alloc(16);
  pts.writeInt32LE(3, 0);
  pts.writeInt32LE(-4, 4);
  pts.writeBigUInt64LE(0x200000n, 8);
  mem.map(0x200000n, pts);

  it('a 1 MiB array: counts without reading, pages through only the requested window', () => {
    const arr = makeReference({ kind: 'array', element: INT, length: 1 << 18 } as ArrayType, 0x100000n);
    mem.bytesRead = 0;
    expect(childCount(ctx, arr)).toBe(1 << 18);
    const kids = children(ctx, arr, 1000, 100, 'g_big');
    expect(mem.bytesRead).toBe(0);
    expect(kids).toHaveLength(100);
    expect(kids[0].name).toBe('[1000]');
    expect(kids[0].evaluateName).toBe('g_big[1000]');
    expect(kids.map((k) => formatTop(ctx, k.object)).slice(0, 3)).toEqual(['1000', '1001', '1002']);
    // Formatting 100 children reads their 400 bytes, not the megabyte.
    mem.bytesRead = 0;
    for (const k of kids) formatTop(ctx, k.object);
    expect(mem.bytesRead).toBe(400);
  });

  it('structs, pointers to structs, other pointers', () => {
    const p = makeReference(point, 0x200000n);
    expect(children(ctx, p, 0, undefined, 'g_pt').map((c) => [c.name, c.evaluateName, formatTop(ctx, c.object)])).toEqual([
      ['x', 'g_pt.x', '3'],
      ['y', 'g_pt.y', '-4'],
    ]);
    const pp = makeReference(pointerTo(point), 0x200008n);
    expect(childCount(ctx, pp)).toBe(2);
    expect(children(ctx, pp, 0, undefined, 'g_ppt').map((c) => c.evaluateName)).toEqual(['g_ppt->x', 'g_ppt->y']);
    const pi = makeValue(pointerTo(INT), Buffer.from('0000200000000000', 'hex'));
    expect(children(ctx, pi, 0, undefined, 'a + b').map((c) => [c.name, c.evaluateName])).toEqual([['*(a + b)', '*(a + b)']]);
    const nul = makeValue(pointerTo(INT), Buffer.alloc(8));
    expect(childCount(ctx, nul)).toBe(0);
    expect(wrapExpression('a.b[3]->c')).toBe('a.b[3]->c');
    expect(wrapExpression('*p')).toBe('(*p)');
  });

  it('JSON form', () => {
    const j = toJson(ctx, makeReference(point, 0x200000n)) as Record<string, unknown>;
    expect(j).toMatchObject({ type: 'struct point', address: '0x200000', text: '{x = 3, y = -4}', fields: { x: { value: 3 }, y: { value: -4 } } });
  });
});

describe('charsets (gdb follows the locale)', () => {
  const o = (charset: 'ascii' | 'utf-8') => ({ ...DEFAULT_FORMAT, charset });
  const str = (s: Buffer, charset: 'ascii' | 'utf-8') => printString(s, s.length, 1, '', false, o(charset));
  it('picks the charset from LC_ALL/LC_CTYPE/LANG', () => {
    expect(defaultCharset({ LANG: 'C.UTF-8' })).toBe('utf-8');
    expect(defaultCharset({ LC_ALL: 'C', LANG: 'en_US.UTF-8' })).toBe('ascii');
    expect(defaultCharset({})).toBe('ascii');
  });
  it('UTF-8 sequences print as characters, invalid bytes as octal, incomplete tails like gdb', () => {
    expect(str(Buffer.from('h\u00e9llo', 'utf8'), 'utf-8')).toBe('"h\u00e9llo"');
    expect(str(Buffer.from('h\u00e9llo', 'utf8'), 'ascii')).toBe('"h\\303\\251llo"');
    expect(str(Buffer.from([0x41, 0xff, 0x42]), 'utf-8')).toBe('"A\\377B"');
    // A trailing incomplete sequence swallows the character before it (gdb's iconv loop).
    expect(str(Buffer.from([0x41, 0x42, 0xc3]), 'utf-8')).toBe('"A", <incomplete sequence \\303>');
    expect(str(Buffer.from([0xfa]), 'utf-8')).toBe('<incomplete sequence \\372>');
    expect(str(Buffer.from([0xc2, 0x80]), 'utf-8')).toBe('"\\302\\200"');
    expect(printString(Buffer.from([0xfc, 0, 0, 0, 0x41, 0, 0, 0]), 2, 4, 'L', false, o('utf-8'))).toBe('L"\u00fcA"');
    expect(printString(Buffer.from([0xfc, 0, 0, 0, 0x41, 0, 0, 0]), 2, 4, 'L', false, o('ascii'))).toBe('L"\\374A"');
    expect(charLiteral(0xfc, 4, 'L', 'utf-8')).toBe("L'\u00fc'");
    expect(charLiteral(0x1f600, 4, 'U', 'ascii')).toBe("U'\\x1f600'");
  });
});
