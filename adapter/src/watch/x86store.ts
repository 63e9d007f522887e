/**
 * What did this write store? A data breakpoint traps *after* the writing instruction, with the
 * thread's registers (perf PERF_SAMPLE_REGS_USER). For the plain stores compilers emit for
 * `x = expr;` — MOV r/m, reg and MOV r/m, imm — the stored value is still in the source register
 * (or in the instruction), so we can know it exactly even when other writes follow at once.
 *
 * We do not know where the instruction starts (x86 cannot be decoded backwards), so every start
 * 1..15 bytes before the trap address is tried; a candidate counts only if it decodes to a store
 * of exactly that length whose effective address, computed from the sampled registers, lies in the
 * watched object. A wrong decode passing both checks would be a remarkable coincidence.
 * Read-modify-write instructions (add, inc, xadd, cmpxchg), string and vector stores are not
 * decoded: those hits keep the value read from memory afterwards.
 */

/** Decoder register numbers (0 rax, 1 rcx, 2 rdx, 3 rbx, 4 rsp, 5 rbp, 6 rsi, 7 rdi, 8-15 r8-r15) → perf_regs index. */
export const PERF_REG_OF = [0, 2, 3, 1, 7, 6, 4, 5, 16, 17, 18, 19, 20, 21, 22, 23] as const;

/** perf's x86_64 user registers we sample: AX..SS (0-11) and R8..R15 (16-23); DS/ES/FS/GS are refused. */
export const SAMPLE_REGS_MASK = 0xff0fffn;

export interface StoreForm {
  /** Instruction length in bytes. */
  length: number;
  /** Bytes stored. */
  size: 1 | 2 | 4 | 8;
  /** Source: a register (decoder number; high8 for AH/CH/DH/BH), or an immediate. */
  source: { reg: number; high8: boolean } | { imm: bigint };
  /** Effective address: RIP-relative, or base + index*scale + disp. */
  ea: { rip: true; disp: bigint } | { rip: false; base?: number; index?: number; scale: number; disp: bigint };
}

function sx(v: number, bits: number): bigint {
  return BigInt.asIntN(bits, BigInt(v));
}

/** Decodes a MOV store at `off`; undefined if it is anything else (or runs past the buffer). */
export function decodeStore(code: Uint8Array, off: number): StoreForm | undefined {
  let i = off;
  let opsize16 = false;
  let rex = 0;
  // Legacy prefixes: only the operand-size override is understood; segment (fs/gs: TLS),
  // lock and rep prefixes make it a form we do not decode.
  while (i < code.length && code[i] === 0x66) {
    opsize16 = true;
    i++;
  }
  if (i < code.length && (code[i]! & 0xf0) === 0x40) rex = code[i++]!;
  if (i >= code.length) return undefined;
  const op = code[i++]!;
  if (op !== 0x88 && op !== 0x89 && op !== 0xc6 && op !== 0xc7) return undefined;
  if (i >= code.length) return undefined;
  const modrm = code[i++]!;
  const mod = modrm >> 6;
  const regField = ((modrm >> 3) & 7) | (rex & 4 ? 8 : 0);
  const rmLow = modrm & 7;
  if (mod === 3) return undefined; // register destination: not a memory store
  if ((op === 0xc6 || op === 0xc7) && ((modrm >> 3) & 7) !== 0) return undefined; // /0 only
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
  const byteOp = op === 0x88 || op === 0xc6;
  const size: 1 | 2 | 4 | 8 = byteOp ? 1 : rex & 8 ? 8 : opsize16 ? 2 : 4;
  let source: StoreForm['source'];
  if (op === 0x88 || op === 0x89) {
    // Without a REX prefix, byte registers 4-7 are AH, CH, DH, BH.
    const high8 = byteOp && rex === 0 && regField >= 4 && regField <= 7;
    source = { reg: high8 ? regField - 4 : regField, high8 };
  } else {
    const n = op === 0xc6 ? 1 : size === 2 ? 2 : 4;
    if (i + n > code.length) return undefined;
    let v = 0;
    for (let k = n - 1; k >= 0; k--) v = v * 256 + code[i + k]!;
    i += n;
    source = { imm: BigInt.asUintN(size * 8, sx(v, n * 8)) };
  }
  return { length: i - off, size, source, ea };
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

/** The bytes the store wrote (little-endian). */
export function storedBytes(f: StoreForm, regs: RegisterFile): Buffer | undefined {
  let v: bigint;
  if ('imm' in f.source) v = f.source.imm;
  else {
    const r = regs(PERF_REG_OF[f.source.reg]!);
    if (r === undefined) return undefined;
    v = f.source.high8 ? (r >> 8n) & 0xffn : r;
  }
  const out = Buffer.alloc(f.size);
  let x = BigInt.asUintN(f.size * 8, v);
  for (let k = 0; k < f.size; k++) {
    out[k] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}

/**
 * The stores that may have trapped at `ip` and touch the watched range [lo, hi): their address
 * and bytes. `code` holds the bytes before ip. A prefix byte may belong to this instruction or end
 * the previous one, so more than one decoding can pass; applyStores() accepts only a result they
 * all agree on.
 */
export function storeCandidates(code: Uint8Array, ip: bigint, regs: RegisterFile, lo: bigint, hi: bigint): { address: bigint; bytes: Buffer }[] {
  const out: { address: bigint; bytes: Buffer }[] = [];
  for (const f of storesEndingAt(code)) {
    const ea = effectiveAddress(f, ip, regs);
    if (ea === undefined) continue;
    if (ea >= hi || ea + BigInt(f.size) <= lo) continue;
    const bytes = storedBytes(f, regs);
    if (bytes) out.push({ address: ea, bytes });
  }
  return out;
}

/**
 * The watched object's bytes after the store: `before` (undefined when unknown) patched with
 * each candidate; undefined unless every candidate gives the same result.
 */
export function applyStores(before: Buffer | undefined, base: bigint, size: number, candidates: { address: bigint; bytes: Buffer }[]): Buffer | undefined {
  let result: Buffer | undefined;
  for (const c of candidates) {
    const start = Number(c.address - base);
    const covers = start <= 0 && start + c.bytes.length >= size;
    if (!before && !covers) return undefined;
    const next = before ? Buffer.from(before) : Buffer.alloc(size);
    for (let k = 0; k < c.bytes.length; k++) {
      const at = start + k;
      if (at >= 0 && at < size) next[at] = c.bytes[k]!;
    }
    if (result && !result.equals(next)) return undefined;
    result = next;
  }
  return result;
}
