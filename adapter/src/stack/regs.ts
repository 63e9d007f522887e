/** x86-64 registers: DWARF numbers (what CFI and locations use) and names (gdb's). */
export const RAX = 0;
export const RDX = 1;
export const RCX = 2;
export const RBX = 3;
export const RSI = 4;
export const RDI = 5;
export const RBP = 6;
export const RSP = 7;
export const R8 = 8;
export const R9 = 9;
export const R10 = 10;
export const R11 = 11;
export const R12 = 12;
export const R13 = 13;
export const R14 = 14;
export const R15 = 15;
/** The return address column; also the pc of a frame. */
export const RIP = 16;
export const NUM_GPRS = 17;

export const REG_NAMES = ['rax', 'rdx', 'rcx', 'rbx', 'rsi', 'rdi', 'rbp', 'rsp', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15', 'rip'];

/** Callee-saved under the SysV ABI: the only registers a caller can expect back. */
export const CALLEE_SAVED = [RBX, RBP, R12, R13, R14, R15];

/** A frame's registers by DWARF number; undefined = not known in this snapshot. */
export type RegSet = Array<bigint | undefined>;

/**
 * perf_regs numbering (arch/x86/include/uapi/asm/perf_regs.h): AX BX CX DX SI DI BP SP IP FLAGS
 * CS SS DS ES FS GS R8..R15 → DWARF numbers.
 */
export const PERF_TO_DWARF: Array<number | undefined> = [
  RAX,
  RBX,
  RCX,
  RDX,
  RSI,
  RDI,
  RBP,
  RSP,
  RIP,
  undefined,
  undefined,
  undefined,
  undefined,
  undefined,
  undefined,
  undefined,
  R8,
  R9,
  R10,
  R11,
  R12,
  R13,
  R14,
  R15,
];
/** The perf sample_regs_user mask for every general register (no segment registers, no flags). */
export const PERF_GPR_MASK = 0x1ffn | (0xffn << 16n);
