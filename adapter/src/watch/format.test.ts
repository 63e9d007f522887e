import { describe, expect, it } from 'vitest';
import type { Type } from '../symbols/types';
import { changedRange } from './engine';
import { formatBytes, formatWriter, narrowChange } from './format';
import { POINT } from '../../../test/support/fakes';

const int: Type = { kind: 'int', name: 'int', size: 4, signed: true, isChar: false };
const dbl: Type = { kind: 'float', name: 'double', size: 8, format: 'ieee' };
const point: Type = POINT;
const cfg: Type = {
  kind: 'struct',
  name: 'cfg',
  size: 8 + 8 * 3,
  members: [
    { name: 'scale', type: dbl, bitOffset: 0 },
    { name: 'points', type: { kind: 'array', element: point, length: 3 }, bitOffset: 64 },
  ],
};

describe('what part of a big object changed', () => {
  it('finds the differing byte range', () => {
    expect(changedRange(Buffer.from([1, 2, 3, 4]), Buffer.from([1, 9, 9, 4]))).toEqual({ offset: 1, length: 2 });
    expect(changedRange(Buffer.from([1, 2]), Buffer.from([1, 2]))).toBeUndefined();
  });

  it('narrows to the innermost element or member holding the change', () => {
    expect(narrowChange(cfg, 8 + 8 + 4, 4)).toMatchObject({ path: '.points[1].y', offset: 20, type: int });
    expect(narrowChange(cfg, 8 + 8, 8)).toMatchObject({ path: '.points[1]', offset: 16, type: point });
    expect(narrowChange(cfg, 0, 8)).toMatchObject({ path: '.scale', offset: 0 });
    expect(narrowChange(cfg, 4, 8)).toBeUndefined(); // spans scale and points[0]
    expect(narrowChange(undefined, 0, 1)).toBeUndefined();
    const text: Type = { kind: 'array', element: { kind: 'int', name: 'char', size: 1, signed: true, isChar: true }, length: 16 };
    expect(narrowChange(text, 3, 1)).toBeUndefined(); // strings are shown whole
  });
});

describe('plain formatting', () => {
  it('shows scalars by value and the rest as bytes', () => {
    const b = Buffer.alloc(4);
    b.writeInt32LE(-7);
    expect(formatBytes(b, int)).toBe('-7');
    expect(formatBytes(Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]))).toBe('1');
    expect(formatBytes(Buffer.from([1, 2, 3]))).toBe('{0x01 0x02 0x03}');
    expect(formatWriter({ ip: 0x10n, function: 'worker_loop', file: '/src/threads.c', line: 63 })).toBe('worker_loop (threads.c:63)');
    expect(formatWriter({ ip: 0x10n })).toBe('0x10');
  });
});
