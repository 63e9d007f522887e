import { describe, expect, it } from 'vitest';
import { evalExpr, type ExprFrame } from './expr';

const frame: ExprFrame = {
  reg: (n) => (n === 6 ? 0x7000n : n === 3 ? 42n : undefined),
  read: (a, s) => (a === 0x7010n && s === 8 ? 0x1234n : undefined),
  cfa: () => 0x7010n,
  frameBase: () => 0x7010n,
  bias: 0x555500000000n,
  entryValue: (sub) => (sub.length === 1 && sub[0] === 0x55 ? 7n : undefined),
};
const e = (...b: number[]) => evalExpr(Buffer.from(b), frame);

describe('DWARF expressions in a frame', () => {
  it('fbreg, breg, call_frame_cfa, deref', () => {
    expect(e(0x91, 0x68)).toEqual({ kind: 'memory', address: 0x7010n - 24n }); // fbreg -24
    expect(e(0x76, 0x10)).toEqual({ kind: 'memory', address: 0x7010n }); // breg6 +16
    expect(e(0x9c)).toEqual({ kind: 'memory', address: 0x7010n });
    expect(e(0x9c, 0x06)).toEqual({ kind: 'memory', address: 0x1234n });
  });

  it('registers, values, implicit values, pieces', () => {
    expect(e(0x53)).toEqual({ kind: 'register', reg: 3 });
    expect(e(0x73, 0x01, 0x9f)).toEqual({ kind: 'value', value: 43n });
    expect(e(0x9e, 0x02, 0x34, 0x12)).toEqual({ kind: 'implicit', bytes: Buffer.from([0x34, 0x12]) });
    const p = e(0x53, 0x93, 0x04, 0x91, 0x70, 0x93, 0x04);
    expect(p.kind).toBe('pieces');
    if (p.kind === 'pieces') expect(p.pieces.map((x) => x.loc.kind)).toEqual(['register', 'memory']);
  });

  it('DW_OP_addr gets the load bias; entry_value asks the caller', () => {
    expect(e(0x03, 0x10, 0, 0, 0, 0, 0, 0, 0)).toEqual({ kind: 'memory', address: 0x555500000010n });
    expect(e(0xa3, 0x01, 0x55, 0x9f)).toEqual({ kind: 'value', value: 7n });
    expect(e(0xa3, 0x01, 0x54, 0x9f)).toEqual({ kind: 'optimized' });
  });

  it('a register the snapshot lacks is unavailable, not a guess', () => {
    expect(e(0x71, 0x00).kind).toBe('unavailable');
    expect(e().kind).toBe('optimized');
  });

  it('malformed expressions are errors, never throws', () => {
    expect(e(0x22).kind).toBe('error'); // plus on an empty stack
    expect(e(0xff).kind).toBe('error');
    expect(e(0x2f, 0xfd, 0xff).kind).toBe('error'); // skip backwards for ever: bounded
  });
});
