import { describe, expect, it } from 'vitest';
import { applyStores, decodeStore, storeCandidates } from './x86store';

const hex = (s: string) => Uint8Array.from(s.split(' ').map((b) => parseInt(b, 16)));

describe('decoding MOV stores', () => {
  it('mov %rax, disp32(%rip)', () => {
    expect(decodeStore(hex('48 89 05 10 00 00 00'), 0)).toEqual({ length: 7, size: 8, source: { reg: 0, high8: false }, ea: { rip: true, disp: 16n } });
  });

  it('mov %rax, (%rcx,%rdx,1) and mov %ebx, (%r12)', () => {
    expect(decodeStore(hex('48 89 04 11'), 0)).toEqual({ length: 4, size: 8, source: { reg: 0, high8: false }, ea: { rip: false, base: 1, index: 2, scale: 1, disp: 0n } });
    expect(decodeStore(hex('41 89 1c 24'), 0)).toEqual({ length: 4, size: 4, source: { reg: 3, high8: false }, ea: { rip: false, base: 12, index: undefined, scale: 1, disp: 0n } });
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

  it('refuses everything else', () => {
    expect(decodeStore(hex('48 8b 05 00 00 00 00'), 0)).toBeUndefined(); // a load
    expect(decodeStore(hex('48 89 c3'), 0)).toBeUndefined(); // register to register
    expect(decodeStore(hex('48 83 05 00 00 00 00 01'), 0)).toBeUndefined(); // add (read-modify-write)
    expect(decodeStore(hex('64 48 89 04 25 00 00 00 00'), 0)).toBeUndefined(); // %fs: TLS
    expect(decodeStore(hex('48 89 05 00'), 0)).toBeUndefined(); // truncated
  });
});

describe('recovering the stored value at a trap', () => {
  // 0x1000: mov -0x18(%rbp),%rax ; 0x1004: mov %rax,0x2ff5(%rip) -> writes 0x4000 ; trap ip 0x100b
  const code = hex('48 8b 45 e8 48 89 05 f5 2f 00 00');

  it('finds the store that ends at ip, checks its address, and patches the object', () => {
    const regs = (i: number) => (i === 0 ? 1000042n : 0n);
    const c = storeCandidates(code, 0x100bn, regs, 0x4000n, 0x4008n);
    // `48 89 05` (8 bytes) and, if 0x48 ended the previous instruction, `89 05` (4 bytes).
    expect(c.map((x) => x.bytes.length).sort()).toEqual([4, 8]);
    const after = applyStores(Buffer.alloc(8), 0x4000n, 8, c);
    expect(after?.readBigInt64LE(0)).toBe(1000042n);
    expect(storeCandidates(code, 0x100bn, regs, 0x5000n, 0x5008n)).toEqual([]);
  });

  it('gives no value when the readings disagree or the old bytes are unknown', () => {
    const regs = (i: number) => (i === 0 ? -5n : 0n);
    const c = storeCandidates(code, 0x100bn, regs, 0x4000n, 0x4008n);
    expect(applyStores(Buffer.alloc(8), 0x4000n, 8, c)).toBeUndefined(); // 4-byte reading keeps 0s on top
    expect(applyStores(Buffer.alloc(8, 0xff), 0x4000n, 8, c)?.readBigInt64LE(0)).toBe(-5n); // both agree
    expect(applyStores(undefined, 0x4000n, 8, c)).toBeUndefined();
  });

  it('indexed stores use the sampled base and index registers', () => {
    // mov %rax,(%rcx,%rdx,1) with rcx = 0x4000 (g_slots), rdx = 16 (index 2 * 8)
    const c = storeCandidates(hex('90 48 89 04 11'), 0x2000n, (i) => (i === 0 ? 7n : i === 2 ? 0x4000n : i === 3 ? 16n : 0n), 0x4010n, 0x4018n);
    expect(applyStores(Buffer.alloc(8), 0x4010n, 8, c)?.readBigInt64LE(0)).toBe(7n);
  });
});
