import { describe, expect, it } from 'vitest';
import type { CfiRow } from './cfi';
import { NUM_GPRS, RBP, RIP, RSP, type RegSet } from './regs';
import { followsCall, scanForFramePointer, unwind, type UnwindEnv } from './unwind';

/** A fake address space: 8-byte words and single bytes, everything else unreadable. */
function space(words: Record<string, bigint>, bytes: Record<string, number[]> = {}) {
  const mem = new Map<bigint, number>();
  for (const [a, v] of Object.entries(words)) for (let i = 0; i < 8; i++) mem.set(BigInt(a) + BigInt(i), Number((v >> BigInt(8 * i)) & 0xffn));
  for (const [a, bs] of Object.entries(bytes)) bs.forEach((b, i) => mem.set(BigInt(a) + BigInt(i), b));
  return (address: bigint, size: number): bigint | undefined => {
    let v = 0n;
    for (let i = size - 1; i >= 0; i--) {
      const b = mem.get(address + BigInt(i));
      if (b === undefined) return undefined;
      v = (v << 8n) | BigInt(b);
    }
    return v;
  };
}

function regs(o: Partial<Record<number, bigint>>): RegSet {
  const r: RegSet = new Array(NUM_GPRS).fill(undefined);
  for (const [k, v] of Object.entries(o)) r[Number(k)] = v;
  return r;
}

// rsp-based frames: CFA = rsp+16, return address at CFA-8 (a function that pushed one register).
const row = (start: bigint): CfiRow => ({
  cfa: { kind: 'reg', reg: RSP, offset: 16n },
  regs: new Map([[16, { kind: 'offset', offset: -8n }]]),
  raReg: 16,
  signalFrame: false,
  start,
  end: start + 0x100n,
  loc: start,
});

describe('unwind', () => {
  it('walks CFI frames and stops where the return address is undefined (clone3)', () => {
    const read = space({ '0x7000': 0n, '0x7008': 0x1050n, '0x7010': 0n, '0x7018': 0x2050n });
    const outer: CfiRow = { ...row(0x2000n), regs: new Map([[16, { kind: 'undefined' }]]) };
    const env: UnwindEnv = { read, isCode: () => true, cfiRow: (pc) => (pc < 0x1100n ? row(0x1000n) : pc < 0x2100n ? outer : undefined) };
    const r = unwind(regs({ [RIP]: 0x1010n, [RSP]: 0x7000n }), env);
    expect(r.frames.map((f) => f.pc)).toEqual([0x1010n, 0x1050n, 0x2050n]);
    expect(r.frames[1].regs[RSP]).toBe(0x7010n);
    expect(r.frames[0].cfa).toBe(0x7010n);
    expect(r.stopReason).toBeUndefined();
  });

  it('a stack pointer into unmapped memory stops with a reason, never throws', () => {
    const env: UnwindEnv = { read: space({}), isCode: () => true, cfiRow: () => row(0x1000n) };
    const r = unwind(regs({ [RIP]: 0x1010n, [RSP]: 0xdead0000n }), env);
    expect(r.frames).toHaveLength(1);
    expect(r.stopReason).toMatch(/return address is not readable/);
  });

  it('a depth limit cuts the walk and says so', () => {
    // Every frame returns to the same function one word higher: endless recursion.
    const words: Record<string, bigint> = {};
    for (let i = 0; i < 200; i++) words[`0x${(0x7000 + i * 16 + 8).toString(16)}`] = 0x1050n;
    const env: UnwindEnv = { read: space(words), isCode: () => true, cfiRow: () => row(0x1000n) };
    const r = unwind(regs({ [RIP]: 0x1010n, [RSP]: 0x7000n }), env, 50);
    expect(r.frames).toHaveLength(50);
    expect(r.truncated).toBe(true);
  });

  it("a caller whose stack pointer is below the callee's is refused as corrupt", () => {
    const bad: CfiRow = { ...row(0x1000n), cfa: { kind: 'reg', reg: RSP, offset: -64n } };
    const env: UnwindEnv = { read: space({ '0x6fb8': 0x1050n }), isCode: () => true, cfiRow: () => bad };
    const r = unwind(regs({ [RIP]: 0x1010n, [RSP]: 0x7000n }), env);
    expect(r.frames).toHaveLength(1);
    expect(r.stopReason).toMatch(/inner to this frame/);
  });

  it('the kernel signal frame when __restore_rt has no CFI: registers from the ucontext', () => {
    const sp = 0x8000n;
    const words: Record<string, bigint> = {};
    // gregs at sp+40: R8..R15, RDI, RSI, RBP, RBX, RDX, RAX, RCX, RSP, RIP
    const g = [8, 9, 10, 11, 12, 13, 14, 15, 0x55, 0x44, 0x9100, 0x33, 0x11, 0x22, 0x66, 0x9000, 0x3333];
    g.forEach((v, i) => (words[`0x${(Number(sp) + 40 + i * 8).toString(16)}`] = BigInt(v)));
    const read = space(words, { '0x5000': [0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05] });
    const env: UnwindEnv = { read, isCode: () => true, cfiRow: () => undefined };
    const r = unwind(regs({ [RIP]: 0x5000n, [RSP]: sp }), env, 2);
    expect(r.frames[0].signalTrampoline).toBe(true);
    expect(r.frames[1].pc).toBe(0x3333n);
    expect(r.frames[1].regs[RSP]).toBe(0x9000n);
    expect(r.frames[1].regs[RBP]).toBe(0x9100n);
    expect(r.frames[1].lookupPc).toBe(0x3333n); // the interrupted instruction itself, not pc-1
  });

  it('frame-pointer fallback without CFI', () => {
    const read = space({ '0x9000': 0x9100n, '0x9008': 0x4444n, '0x9100': 0n, '0x9108': 0n });
    const env: UnwindEnv = { read, isCode: (a) => a === 0x4444n, cfiRow: () => undefined };
    const r = unwind(regs({ [RIP]: 0x1234n, [RSP]: 0x8ff0n, [RBP]: 0x9000n }), env);
    expect(r.frames.map((f) => f.pc)).toEqual([0x1234n, 0x4444n]);
    expect(r.frames[1].how).toBe('fp');
    expect(r.frames[1].regs[RBP]).toBe(0x9100n);
  });

  it('rbp-based CFA with only sp and pc known: the saved-rbp/return pair is found on the stack', () => {
    // At 0x7020: saved rbp 0x7100, return address 0x2005 right after a call (e8 rel32 at 0x2000).
    const read = space(
      { '0x7000': 0x1234n, '0x7008': 0x99n, '0x7010': 0x3000n, '0x7018': 0n, '0x7020': 0x7100n, '0x7028': 0x2005n },
      { '0x2000': [0xe8, 0, 0, 0, 0] },
    );
    const env: UnwindEnv = { read, isCode: (a) => a >= 0x2000n && a < 0x3000n, cfiRow: () => undefined };
    expect(followsCall(env, 0x2005n)).toBe(true);
    expect(scanForFramePointer(0x7000n, env)).toBe(0x7020n);
  });
});
