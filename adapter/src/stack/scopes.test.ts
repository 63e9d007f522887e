import { describe, expect, it } from 'vitest';
import { gdbOrder, gdbSymbolHash, type ScopeBlock } from './scopes';

const block = (names: string[], symbolCount: number, isFunction = false): ScopeBlock => ({
  vars: names.map((name) => ({ name, die: {} as never })),
  isFunction,
  symbolCount,
});

describe('gdb symbol order', () => {
  it('function blocks keep DWARF order', () => {
    expect(gdbOrder(block(['b', 'a', 'c'], 3, true)).map((v) => v.name)).toEqual(['b', 'a', 'c']);
  });

  it('lexical blocks are hash tables: the orders gdb 13 printed for glibc read() and futex wait', () => {
    // Seen in `bt full` of a thread blocked in read(): 9 symbols in a 2-bucket table (9/5+1).
    const read = block(['sc_ret', 'sc_ret', 'resultvar', '__arg3', '__arg2', '__arg1', '_a3', '_a2', '_a1'], 9);
    expect(gdbOrder(read).map((v) => v.name)).toEqual(['sc_ret', 'sc_ret', '__arg2', '_a3', '_a1', 'resultvar', '__arg3', '__arg1', '_a2']);
    const futex = block(['sc_ret', 'resultvar', '__arg6', '__arg5', '__arg4', '__arg3', '__arg2', '__arg1', '_a6', '_a5', '_a4', '_a3', '_a2', '_a1'], 14);
    // glibc's __pthread_cond_wait_common: 10 variables and a label (11 symbols, 3 buckets).
    const cond = block(['maxspin', 'err', 'result', 'wseq', 'g', 'seq', 'flags', 'private', 'signals', 'done', 'g1_start'], 11);
    expect(gdbOrder(cond).map((v) => v.name)).toEqual(['err', 'g', 'flags', 'g1_start', 'maxspin', 'signals', 'done', 'result', 'wseq', 'seq', 'private']);
    expect(gdbOrder(futex).map((v) => v.name)).toEqual([
      '__arg6',
      '__arg3',
      '_a5',
      '_a2',
      'sc_ret',
      '__arg4',
      '__arg1',
      '_a6',
      '_a3',
      'resultvar',
      '__arg5',
      '__arg2',
      '_a4',
      '_a1',
    ]);
  });

  it('hash: msymbol_hash_iw for names starting with _, Ada-aware otherwise', () => {
    expect(gdbSymbolHash('a')).toBe((97 - 113) >>> 0);
    expect(gdbSymbolHash('_x')).toBe(((95 - 113) * 67 + 120 - 113) >>> 0);
    expect(gdbSymbolHash('ab__c')).toBe(gdbSymbolHash('c'));
  });
});
