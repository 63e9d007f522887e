import { describe, expect, it } from 'vitest';
import { applyStores, decodeStore, storeCandidates, undoStores } from './x86store';

const hex = (s: string) => Uint8Array.from(s.split(' ').map((b) => parseInt(b, 16)));

describe('decoding MOV stores', () => {
  it('mov %rax, disp32(%rip)', () => {
    expect(decodeStore(hex('48 89 05 10 00 00 00'), 0)).toEqual({
      length: 7,
      op: 'mov',
      size: 8,
      source: { reg: 0, high8: false },
      ea: { rip: true, disp: 16n },
    });
  });

  it('mov %rax, (%rcx,%rdx,1) and mov %ebx, (%r12)', () => {
    expect(decodeStore(hex('48 89 04 11'), 0)).toEqual({
      length: 4,
      op: 'mov',
      size: 8,
      source: { reg: 0, high8: false },
      ea: { rip: false, base: 1, index: 2, scale: 1, disp: 0n },
    });
    expect(decodeStore(hex('41 89 1c 24'), 0)).toEqual({
      length: 4,
      op: 'mov',
      size: 4,
      source: { reg: 3, high8: false },
      ea: { rip: false, base: 12, index: undefined, scale: 1, disp: 0n },
    });
  });

  it('operand sizes, displacements, immediates, high byte registers', () => {
    expect(decodeStore(hex('66 89 45 f0'), 0)).toMatchObject({ length: 4, size: 2, ea: { rip: false, base: 5, disp: -16n } });
    expect(decodeStore(hex('c7 05 00 01 00 00 01 00 00 00'), 0)).toMatchObject({ length: 10, size: 4, source: { imm: 1n }, ea: { rip: true, disp: 256n } });
    expect(decodeStore(hex('48 c7 05 00 00 00 00 ff ff ff ff'), 0)).toMatchObject({ length: 11, size: 8, source: { imm: 2n ** 64n - 1n } });
    expect(decodeStore(hex('c6 00 2a'), 0)).toMatchObject({ length: 3, size: 1, source: { imm: 42n }, ea: { rip: false, base: 0 } });
    expect(decodeStore(hex('88 25 00 00 00 00'), 0)).toMatchObject({ size: 1, source: { reg: 0, high8: true } });
    expect(decodeStore(hex('40 88 25 00 00 00 00'), 0)).toMatchObject({ size: 1, source: { reg: 4, high8: false } }); // %spl
    expect(decodeStore(hex('48 89 84 24 80 00 00 00'), 0)).toMatchObject({ length: 8, ea: { base: 4, disp: 128n } });
  });

  it('read-modify-write arithmetic, also locked', () => {
    expect(decodeStore(hex('48 83 05 00 00 00 00 01'), 0)).toMatchObject({ length: 8, op: 'add', size: 8, source: { imm: 1n } });
    expect(decodeStore(hex('f0 48 83 05 00 00 00 00 ff'), 0)).toMatchObject({ length: 9, op: 'add', source: { imm: 2n ** 64n - 1n } });
    expect(decodeStore(hex('48 01 05 00 00 00 00'), 0)).toMatchObject({ op: 'add', source: { reg: 0 } });
    expect(decodeStore(hex('48 29 15 00 00 00 00'), 0)).toMatchObject({ op: 'sub', source: { reg: 2 } });
    expect(decodeStore(hex('81 0d 00 00 00 00 00 01 00 00'), 0)).toMatchObject({ length: 10, op: 'or', size: 4, source: { imm: 256n } });
    expect(decodeStore(hex('48 ff 05 00 00 00 00'), 0)).toMatchObject({ op: 'inc', size: 8, source: { none: true } });
    expect(decodeStore(hex('ff 0d 00 00 00 00'), 0)).toMatchObject({ op: 'dec', size: 4 });
    expect(decodeStore(hex('80 35 00 00 00 00 0f'), 0)).toMatchObject({ op: 'xor', size: 1, source: { imm: 15n } });
  });

  it('refuses everything else', () => {
    expect(decodeStore(hex('48 8b 05 00 00 00 00'), 0)).toBeUndefined(); // a load
    expect(decodeStore(hex('48 89 c3'), 0)).toBeUndefined(); // register to register
    expect(decodeStore(hex('48 83 15 00 00 00 00 01'), 0)).toBeUndefined(); // adc: needs the carry flag
    expect(decodeStore(hex('48 0f c1 05 00 00 00 00'), 0)).toBeUndefined(); // xadd
    expect(decodeStore(hex('64 48 89 04 25 00 00 00 00'), 0)).toBeUndefined(); // %fs: TLS
    expect(decodeStore(hex('48 89 05 00'), 0)).toBeUndefined(); // truncated
  });
});

describe('recovering the stored value at a trap', () => {
  // 0x1000: mov -0x18(%rbp),%rax ; 0x1004: mov %rax,0x2ff5(%rip) -> writes 0x4000 ; trap ip 0x100b
  const code = hex('48 8b 45 e8 48 89 05 f5 2f 00 00');
  const at = (regs: (i: number) => bigint) => storeCandidates(code, 0x100bn, regs, 0x4000n, 0x4008n);

  it('finds the store that ends at ip, checks its address, and patches the object', () => {
    const regs = (i: number) => (i === 0 ? 1000042n : 0n);
    const c = at(regs);
    // `48 89 05` (8 bytes) and, if 0x48 ended the previous instruction, `89 05` (4 bytes).
    expect(c.map((x) => x.form.size).sort()).toEqual([4, 8]);
    expect(applyStores(Buffer.alloc(8), 0x4000n, 8, c, regs)?.readBigInt64LE(0)).toBe(1000042n);
    expect(storeCandidates(code, 0x100bn, regs, 0x5000n, 0x5008n)).toEqual([]);
  });

  it('gives no value when the readings disagree or the old bytes are unknown', () => {
    const regs = (i: number) => (i === 0 ? -5n : 0n);
    const c = at(regs);
    expect(applyStores(Buffer.alloc(8), 0x4000n, 8, c, regs)).toBeUndefined(); // 4-byte reading keeps 0s on top
    expect(applyStores(Buffer.alloc(8, 0xff), 0x4000n, 8, c, regs)?.readBigInt64LE(0)).toBe(-5n); // both agree
    expect(applyStores(undefined, 0x4000n, 8, c, regs)).toBeUndefined();
    // Old bytes not verified: the 8-byte MOV is exact by itself; the 4-byte reading must agree
    // with the last bytes seen (the hint) for the value to count.
    expect(applyStores(undefined, 0x4000n, 8, c, regs, Buffer.alloc(8, 0xff))?.readBigInt64LE(0)).toBe(-5n);
    expect(applyStores(undefined, 0x4000n, 8, c, regs, Buffer.alloc(8))).toBeUndefined();
  });

  it('indexed stores use the sampled base and index registers', () => {
    // mov %rax,(%rcx,%rdx,1) with rcx = 0x4000 (g_slots), rdx = 16 (index 2 * 8)
    const regs = (i: number) => (i === 0 ? 7n : i === 2 ? 0x4000n : i === 3 ? 16n : 0n);
    const c = storeCandidates(hex('90 48 89 04 11'), 0x2000n, regs, 0x4010n, 0x4018n);
    expect(applyStores(Buffer.alloc(8), 0x4010n, 8, c, regs)?.readBigInt64LE(0)).toBe(7n);
  });

  it('counters: lock addq $1 needs and uses the old value', () => {
    // f0 48 83 05 <disp> 01: lock addq $0x1, disp(%rip); trap ip 0x2009, object at 0x3000
    const code2 = hex('f0 48 83 05 f7 0f 00 00 01');
    const regs = () => 0n;
    const c = storeCandidates(code2, 0x2009n, regs, 0x3000n, 0x3008n);
    const old = Buffer.alloc(8);
    old.writeBigInt64LE(41n);
    expect(applyStores(old, 0x3000n, 8, c, regs)?.readBigInt64LE(0)).toBe(42n);
    expect(applyStores(undefined, 0x3000n, 8, c, regs)).toBeUndefined();
    // And backwards: from 42 after the increment, 41 before it.
    const after = Buffer.alloc(8);
    after.writeBigInt64LE(42n);
    expect(undoStores(after, 0x3000n, 8, c, regs)?.readBigInt64LE(0)).toBe(41n);
  });

  it('a MOV cannot be undone', () => {
    const regs = (i: number) => (i === 0 ? 5n : 0n);
    expect(undoStores(Buffer.alloc(8), 0x4000n, 8, at(regs), regs)).toBeUndefined();
  });
});
