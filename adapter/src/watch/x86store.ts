/**
 * What did this write store? A data breakpoint traps *after* the writing instruction, with the
 * thread's registers (perf PERF_SAMPLE_REGS_USER). For the plain stores compilers emit for
 * `x = expr;` (MOV r/m, reg and MOV r/m, imm) the stored value is still in the source register or
 * in the instruction; for the arithmetic they emit for counters (`x += n`, `x++`, `x |= f`, also
 * with a LOCK prefix: ADD/SUB/AND/OR/XOR r/m, reg|imm and INC/DEC r/m) the new value follows from
 * the old one, when the old one is known. So we know the value exactly even when other writes
 * follow at once.
 *
 * We do not know where the instruction starts (x86 cannot be decoded backwards), so every start
 * 1..15 bytes before the trap address is tried; a candidate counts only if it decodes to a store
 * of exactly that length whose effective address, computed from the sampled registers, lies in the
 * watched object, and applyStores() accepts a value only if all candidates agree. Exchanges
 * (XCHG, XADD, CMPXCHG), string and vector stores are not decoded: those hits keep the value read
 * from memory afterwards.
 */
import { leBytes } from '../util/bytes';

/** Decoder register numbers (0 rax, 1 rcx, 2 rdx, 3 rbx, 4 rsp, 5 rbp, 6 rsi, 7 rdi, 8-15 r8-r15) → perf_regs index. */
export const PERF_REG_OF = [0, 2, 3, 1, 7, 6, 4, 5, 16, 17, 18, 19, 20, 21, 22, 23] as const;

/** perf's x86_64 user registers we sample: AX..SS (0-11) and R8..R15 (16-23); DS/ES/FS/GS are refused. */
export const SAMPLE_REGS_MASK = 0xff0fffn;

export type StoreOp = 'mov' | 'add' | 'sub' | 'and' | 'or' | 'xor' | 'inc' | 'dec';

export interface StoreForm {
  /** Instruction length in bytes. */
  length: number;
  op: StoreOp;
  /** Bytes written. */
  size: 1 | 2 | 4 | 8;
  /** Operand: a register (decoder number; high8 for AH/CH/DH/BH), an immediate, or none (inc/dec). */
  source: { reg: number; high8: boolean } | { imm: bigint } | { none: true };
  /** Effective address: RIP-relative, or base + index*scale + disp. */
  ea: { rip: true; disp: bigint } | { rip: false; base?: number; index?: number; scale: number; disp: bigint };
}

function sx(v: number, bits: number): bigint {
  return BigInt.asIntN(bits, BigInt(v));
}

const ALU_REG: Record<number, StoreOp> = {
  0x00: 'add',
  0x01: 'add',
  0x08: 'or',
  0x09: 'or',
  0x20: 'and',
  0x21: 'and',
  0x28: 'sub',
  0x29: 'sub',
  0x30: 'xor',
  0x31: 'xor',
};
const ALU_DIGIT: Record<number, StoreOp> = { 0: 'add', 1: 'or', 4: 'and', 5: 'sub', 6: 'xor' };

/** Decodes a store at `off`; undefined if it is anything else (or runs past the buffer). */
export function decodeStore(code: Uint8Array, off: number): StoreForm | undefined {
  let i = off;
  let opsize16 = false;
  let rex = 0;
  // Legacy prefixes: operand-size and LOCK are understood; segment (fs/gs: TLS) and rep
  // prefixes make it a form we do not decode.
  while (i < code.length && (code[i] === 0x66 || code[i] === 0xf0)) {
    if (code[i] === 0x66) opsize16 = true;
    i++;
  }
  if (i < code.length && (code[i]! & 0xf0) === 0x40) rex = code[i++]!;
  if (i >= code.length) return undefined;
  const opcode = code[i++]!;
  let op: StoreOp;
  let byteOp: boolean;
  let operand: 'reg' | 'imm8' | 'imm' | 'none';
  const isMovReg = opcode === 0x88 || opcode === 0x89;
  const isMovImm = opcode === 0xc6 || opcode === 0xc7;
  if (isMovReg) {
    op = 'mov';
    byteOp = opcode === 0x88;
    operand = 'reg';
  } else if (isMovImm) {
    op = 'mov';
    byteOp = opcode === 0xc6;
    operand = byteOp ? 'imm8' : 'imm';
  } else if (ALU_REG[opcode] !== undefined) {
    op = ALU_REG[opcode]!;
    byteOp = (opcode & 1) === 0;
    operand = 'reg';
  } else if (opcode === 0x80 || opcode === 0x81 || opcode === 0x83 || opcode === 0xfe || opcode === 0xff) {
    op = 'mov'; // decided by the ModRM digit below
    byteOp = opcode === 0x80 || opcode === 0xfe;
    operand = opcode === 0x81 ? 'imm' : opcode === 0xfe || opcode === 0xff ? 'none' : 'imm8';
  } else {
    return undefined;
  }
  if (i >= code.length) return undefined;
  const modrm = code[i++]!;
  const mod = modrm >> 6;
  const digit = (modrm >> 3) & 7;
  const regField = digit | (rex & 4 ? 8 : 0);
  const rmLow = modrm & 7;
  if (mod === 3) return undefined; // register destination: not a memory store
  if (isMovImm && digit !== 0) return undefined;
  if (opcode === 0x80 || opcode === 0x81 || opcode === 0x83) {
    const a = ALU_DIGIT[digit];
    if (!a) return undefined; // adc, sbb (need the carry flag), cmp (no write)
    op = a;
  } else if (opcode === 0xfe || opcode === 0xff) {
    if (digit === 0) op = 'inc';
    else if (digit === 1) op = 'dec';
    else return undefined; // call, jmp, push
  }
  let ea: StoreForm['ea'];
  if (rmLow === 4) {
    if (i >= code.length) return undefined;
    const sib = code[i++]!;
    const scale = 1 << (sib >> 6);
    const idx = ((sib >> 3) & 7) | (rex & 2 ? 8 : 0);
    const baseLow = sib & 7;
    const index = idx === 4 ? undefined : idx;
    let base: number | undefined = baseLow | (rex & 1 ? 8 : 0);
    let disp = 0n;
    if (baseLow === 5 && mod === 0) {
      base = undefined;
      if (i + 4 > code.length) return undefined;
      disp = sx(code[i]! | (code[i + 1]! << 8) | (code[i + 2]! << 16) | (code[i + 3]! << 24), 32);
      i += 4;
    }
    ea = { rip: false, base, index, scale, disp };
  } else if (rmLow === 5 && mod === 0) {
    if (i + 4 > code.length) return undefined;
    ea = { rip: true, disp: sx(code[i]! | (code[i + 1]! << 8) | (code[i + 2]! << 16) | (code[i + 3]! << 24), 32) };
    i += 4;
  } else {
    ea = { rip: false, base: rmLow | (rex & 1 ? 8 : 0), scale: 1, disp: 0n };
  }
  if (!ea.rip) {
    if (mod === 1) {
      if (i + 1 > code.length) return undefined;
      ea.disp += sx(code[i]!, 8);
      i += 1;
    } else if (mod === 2) {
      if (i + 4 > code.length) return undefined;
      ea.disp += sx(code[i]! | (code[i + 1]! << 8) | (code[i + 2]! << 16) | (code[i + 3]! << 24), 32);
      i += 4;
    }
  }
  const size: 1 | 2 | 4 | 8 = byteOp ? 1 : rex & 8 ? 8 : opsize16 ? 2 : 4;
  let source: StoreForm['source'];
  if (operand === 'reg') {
    // Without a REX prefix, byte registers 4-7 are AH, CH, DH, BH.
    const high8 = byteOp && rex === 0 && regField >= 4 && regField <= 7;
    source = { reg: high8 ? regField - 4 : regField, high8 };
  } else if (operand === 'none') {
    source = { none: true };
  } else {
    // imm8 (sign-extended to the operand size), or imm16/imm32 (imm32 sign-extended for 64 bits).
    const n = operand === 'imm8' ? 1 : size === 2 ? 2 : 4;
    if (i + n > code.length) return undefined;
    let v = 0;
    for (let k = n - 1; k >= 0; k--) v = v * 256 + code[i + k]!;
    i += n;
    source = { imm: BigInt.asUintN(size * 8, sx(v, n * 8)) };
  }
  return { length: i - off, op, size, source, ea };
}

/** Every store form that ends exactly at the end of `code` (the bytes just before the trap ip). */
export function storesEndingAt(code: Uint8Array): StoreForm[] {
  const out: StoreForm[] = [];
  for (let len = 2; len <= Math.min(15, code.length); len++) {
    const f = decodeStore(code, code.length - len);
    if (f && f.length === len) out.push(f);
  }
  return out;
}

export type RegisterFile = (perfIndex: number) => bigint | undefined;

export function effectiveAddress(f: StoreForm, ip: bigint, regs: RegisterFile): bigint | undefined {
  if (f.ea.rip) return BigInt.asUintN(64, ip + f.ea.disp);
  let a = f.ea.disp;
  if (f.ea.base !== undefined) {
    const b = regs(PERF_REG_OF[f.ea.base]!);
    if (b === undefined) return undefined;
    a += b;
  }
  if (f.ea.index !== undefined) {
    const x = regs(PERF_REG_OF[f.ea.index]!);
    if (x === undefined) return undefined;
    a += x * BigInt(f.ea.scale);
  }
  return BigInt.asUintN(64, a);
}

const toBytes = leBytes;

function fromBytes(b: Uint8Array): bigint {
  let v = 0n;
  for (let k = b.length - 1; k >= 0; k--) v = (v << 8n) | BigInt(b[k]!);
  return v;
}

/** The store's source operand: its immediate, its register (from the sample), or 0 (INC/DEC/NEG/NOT have none); undefined when the register is unknown. */
function operandOf(f: StoreForm, regs: RegisterFile): bigint | undefined {
  if ('imm' in f.source) return f.source.imm;
  if (!('reg' in f.source)) return 0n;
  const r = regs(PERF_REG_OF[f.source.reg]!);
  if (r === undefined) return undefined;
  return f.source.high8 ? (r >> 8n) & 0xffn : r;
}

/**
 * The bytes the instruction wrote, given the bytes that were at its address before (needed for
 * everything but MOV; undefined when unknown).
 */
export function storedBytes(f: StoreForm, regs: RegisterFile, old: Uint8Array | undefined): Buffer | undefined {
  const operand = operandOf(f, regs);
  if (operand === undefined) return undefined;
  if (f.op === 'mov') return toBytes(operand, f.size);
  if (!old || old.length !== f.size) return undefined;
  const before = fromBytes(old);
  switch (f.op) {
    case 'add':
      return toBytes(before + operand, f.size);
    case 'sub':
      return toBytes(before - operand, f.size);
    case 'and':
      return toBytes(before & operand, f.size);
    case 'or':
      return toBytes(before | operand, f.size);
    case 'xor':
      return toBytes(before ^ operand, f.size);
    case 'inc':
      return toBytes(before + 1n, f.size);
    case 'dec':
      return toBytes(before - 1n, f.size);
  }
}

export interface StoreCandidate {
  form: StoreForm;
  address: bigint;
}

/**
 * The stores that may have trapped at `ip` and touch the watched range [lo, hi). `code` holds
 * the bytes before ip. A prefix byte may belong to this instruction or end the previous one, so
 * more than one decoding can pass; applyStores() accepts only a result they all agree on.
 */
export function storeCandidates(code: Uint8Array, ip: bigint, regs: RegisterFile, lo: bigint, hi: bigint): StoreCandidate[] {
  const out: StoreCandidate[] = [];
  for (const form of storesEndingAt(code)) {
    const address = effectiveAddress(form, ip, regs);
    if (address === undefined) continue;
    if (address >= hi || address + BigInt(form.size) <= lo) continue;
    out.push({ form, address });
  }
  return out;
}

/**
 * The watched object's bytes after the store: `before` (undefined when unknown) with each
 * candidate applied; undefined unless every candidate gives the same result.
 */
export function applyStores(
  before: Buffer | undefined,
  base: bigint,
  size: number,
  candidates: StoreCandidate[],
  regs: RegisterFile,
  hint?: Buffer,
): Buffer | undefined {
  // With the old bytes unknown, a MOV over the whole object still gives an exact result; the
  // other readings of the same bytes are then checked against `hint` (the last bytes seen, not
  // verified) to see that they agree with it.
  if (!before && hint && candidates.some((c) => c.form.op === 'mov' && Number(c.address - base) <= 0 && Number(c.address - base) + c.form.size >= size)) {
    before = hint;
  }
  let result: Buffer | undefined;
  for (const c of candidates) {
    const start = Number(c.address - base);
    const n = c.form.size;
    const covers = start <= 0 && start + n >= size;
    if (!before && !covers) return undefined;
    // The old bytes under the store, when the whole store lies inside the known object.
    const old = before && start >= 0 && start + n <= size ? before.subarray(start, start + n) : undefined;
    const bytes = storedBytes(c.form, regs, old);
    if (!bytes) return undefined;
    const next = before ? Buffer.from(before) : Buffer.alloc(size);
    for (let k = 0; k < n; k++) {
      const at = start + k;
      if (at >= 0 && at < size) next[at] = bytes[k]!;
    }
    if (result && !result.equals(next)) return undefined;
    result = next;
  }
  return result;
}

/** The bytes at the store's address before an invertible update (ADD/SUB/XOR/INC/DEC), from after. */
function undoBytes(f: StoreForm, regs: RegisterFile, after: Uint8Array): Buffer | undefined {
  const operand = operandOf(f, regs);
  if (operand === undefined) return undefined;
  const v = fromBytes(after);
  switch (f.op) {
    case 'add':
      return toBytes(v - operand, f.size);
    case 'sub':
      return toBytes(v + operand, f.size);
    case 'xor':
      return toBytes(v ^ operand, f.size);
    case 'inc':
      return toBytes(v - 1n, f.size);
    case 'dec':
      return toBytes(v + 1n, f.size);
    default:
      return undefined; // MOV, AND, OR lose what was there
  }
}

/**
 * The watched object's bytes before the store, from the bytes after it: only for invertible
 * updates lying inside the object, and only if every candidate agrees.
 */
export function undoStores(after: Buffer, base: bigint, size: number, candidates: StoreCandidate[], regs: RegisterFile): Buffer | undefined {
  let result: Buffer | undefined;
  for (const c of candidates) {
    const start = Number(c.address - base);
    const n = c.form.size;
    if (start < 0 || start + n > size) return undefined;
    const bytes = undoBytes(c.form, regs, after.subarray(start, start + n));
    if (!bytes) return undefined;
    const prev = Buffer.from(after);
    bytes.copy(prev, start);
    if (result && !result.equals(prev)) return undefined;
    result = prev;
  }
  return result;
}
