/**
 * The unwinder: from one frame's registers to its caller's, by (in order) the module's CFI, the
 * kernel's signal frame layout for the `__restore_rt` trampoline when no CFI covers it, and the
 * frame-pointer chain. A frame whose CFA needs a register the snapshot lacks (a thread seen only
 * through /proc/PID/task/TID/syscall has just sp and pc) gets its frame pointer from a scan of
 * the stack for a saved-rbp/return-address pair; such frames are marked `scan`.
 *
 * Registers are DWARF-numbered (regs.ts). Unknown registers stay undefined all the way out, so
 * values that need them show as <unavailable> instead of being guessed.
 */
import type { CfiRow } from './cfi';
import { evalAddress, evalExpr, type ExprFrame } from './expr';
import { CALLEE_SAVED, NUM_GPRS, RBP, RIP, RSP, type RegSet } from './regs';

/** `tailcall`: a frame gdb-style synthesised from DW_AT_call_tail_call sites (no stack of its own). */
export type FrameHow = 'snapshot' | 'cfi' | 'sigtramp' | 'fp' | 'scan' | 'tailcall';

export interface UnwoundFrame {
  pc: bigint;
  regs: RegSet;
  /** CFA of this frame (its caller's sp before the call), when known. */
  cfa?: bigint;
  /** How this frame's registers were found from the inner frame. */
  how: FrameHow;
  /** This frame is the signal trampoline (gdb's `<signal handler called>`). */
  signalTrampoline: boolean;
  /** pc-1 is looked up for callers (the return address may be past the call's function). */
  lookupPc: bigint;
}

export interface UnwindEnv {
  /** Little-endian read of `size` (≤ 8) bytes; undefined when unreadable. */
  read(address: bigint, size: number): bigint | undefined;
  /** CFI row for an absolute pc (the module applies its bias), undefined without CFI. */
  cfiRow(pc: bigint): CfiRow | undefined;
  /** Whether an absolute address is inside executable code of some module. */
  isCode(address: bigint): boolean;
  /**
   * Whether a direct call to `target` can have entered the function containing `pc` (the same
   * function, a PLT stub, or a function that reaches it by tail calls). Lets the stack scan
   * reject stale return addresses left by earlier calls.
   */
  callCanReach?(target: bigint, pc: bigint): boolean;
  /** Stops the walk after this frame (gdb stops after main unless `backtrace past-main`). */
  isOutermost?(frame: UnwoundFrame): boolean;
}

export interface UnwindResult {
  frames: UnwoundFrame[];
  /** Why the walk stopped early, in gdb's words when gdb has them. */
  stopReason?: string;
  /** The depth limit cut it short. */
  truncated: boolean;
}

/** x86-64 Linux rt_sigreturn trampoline: mov $0xf,%rax; syscall. */
const SIGRETURN = [0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05];
/** struct ucontext_t: uc_mcontext.gregs at +40; gregs order R8..R15, RDI, RSI, RBP, RBX, RDX, RAX, RCX, RSP, RIP. */
const UC_GREGS = 40n;
const GREG_TO_DWARF = [8, 9, 10, 11, 12, 13, 14, 15, 5, 4, 6, 3, 1, 0, 2, 7, 16];

export function unwind(initial: RegSet, env: UnwindEnv, maxDepth = 10_000): UnwindResult {
  const frames: UnwoundFrame[] = [];
  const pc0 = initial[RIP];
  if (pc0 === undefined) return { frames, truncated: false, stopReason: "the thread's pc is not known" };
  let cur: UnwoundFrame = { pc: pc0, regs: [...initial], how: 'snapshot', signalTrampoline: false, lookupPc: pc0 };
  cur.signalTrampoline = isSigreturn(env, pc0);
  for (;;) {
    frames.push(cur);
    // The caller is computed even for the last frame shown: that fills in this frame's CFA.
    const next = step(cur, env);
    if (env.isOutermost?.(cur)) return { frames, truncated: false };
    if (frames.length >= maxDepth) return { frames, truncated: !!next.frame };
    if (!next.frame) return next.stop ? { frames, truncated: false, stopReason: next.stop } : { frames, truncated: false };
    const sp = cur.regs[RSP];
    const nsp = next.frame.regs[RSP];
    // Stacks grow down: a caller's sp below the callee's means the walk went wrong.
    if (sp !== undefined && nsp !== undefined && nsp < sp && !cur.signalTrampoline) {
      return { frames, truncated: false, stopReason: 'previous frame inner to this frame (corrupt stack?)' };
    }
    if (sp !== undefined && nsp === sp && next.frame.pc === cur.pc) {
      return { frames, truncated: false, stopReason: 'previous frame identical to this frame (corrupt stack?)' };
    }
    cur = next.frame;
  }
}

function isSigreturn(env: UnwindEnv, pc: bigint): boolean {
  for (let i = 0; i < SIGRETURN.length; i++) {
    const b = env.read(pc + BigInt(i), 1);
    if (b === undefined || Number(b) !== SIGRETURN[i]) return false;
  }
  return true;
}

type Step = { frame: UnwoundFrame; stop?: undefined } | { frame?: undefined; stop?: string };

function step(f: UnwoundFrame, env: UnwindEnv): Step {
  const row = env.cfiRow(f.lookupPc);
  if (row) {
    const r = fromCfi(f, row, env);
    if (r) return r;
  } else if (f.signalTrampoline) {
    return fromSigframe(f, env);
  }
  return fromFramePointer(f, env);
}

function exprFrame(f: UnwoundFrame, env: UnwindEnv, cfa?: bigint): ExprFrame {
  return { reg: (n) => f.regs[n], read: (a, s) => env.read(a, s), cfa: () => cfa };
}

function fromCfi(f: UnwoundFrame, row: CfiRow, env: UnwindEnv): Step | undefined {
  let cfa: bigint | undefined;
  let how: FrameHow = 'cfi';
  if (row.cfa.kind === 'reg') {
    const base = f.regs[row.cfa.reg];
    if (base !== undefined) cfa = BigInt.asUintN(64, base + row.cfa.offset);
    else if (row.cfa.reg === RBP && f.regs[RSP] !== undefined) {
      // Only sp and pc known: recover the frame pointer from the stack.
      const rbp = scanForFramePointer(f.regs[RSP]!, env, 4096, f.pc);
      if (rbp === undefined) return { stop: 'the frame pointer is not in the snapshot and no saved frame was found on the stack' };
      f.regs[RBP] = rbp;
      cfa = rbp + row.cfa.offset;
      how = 'scan';
    }
  } else {
    cfa = evalAddress(row.cfa.expr, exprFrame(f, env));
  }
  if (cfa === undefined) return { stop: 'the CFA of this frame cannot be computed from the known registers' };
  f.cfa = cfa;
  const regs: RegSet = new Array(NUM_GPRS).fill(undefined);
  const ef = exprFrame(f, env, cfa);
  for (let r = 0; r < NUM_GPRS; r++) {
    const rule = row.regs.get(r === RIP ? row.raReg : r);
    if (r === RSP && (!rule || rule.kind === 'same')) {
      regs[r] = cfa; // the caller's sp is the CFA unless the CFI says otherwise
      continue;
    }
    if (!rule) {
      // Unspecified: gdb treats it as "same value" (callee-saved or not).
      regs[r] = r === RIP ? undefined : f.regs[r];
      continue;
    }
    switch (rule.kind) {
      case 'undefined':
        regs[r] = undefined;
        if (r === RIP) return { stop: undefined }; // outermost frame (clone3, _start)
        break;
      case 'same':
        regs[r] = f.regs[r];
        break;
      case 'offset':
        regs[r] = env.read(cfa + rule.offset, 8);
        break;
      case 'val_offset':
        regs[r] = BigInt.asUintN(64, cfa + rule.offset);
        break;
      case 'register':
        regs[r] = f.regs[rule.reg];
        break;
      case 'expression': {
        const a = evalAddress(rule.expr, ef, [cfa]);
        regs[r] = a === undefined ? undefined : env.read(a, 8);
        break;
      }
      case 'val_expression': {
        const l = evalExpr(rule.expr, ef, [cfa]);
        regs[r] = l.kind === 'memory' ? l.address : l.kind === 'value' ? l.value : undefined;
        break;
      }
    }
  }
  const pc = regs[RIP];
  if (pc === undefined) return { stop: 'the return address is not readable' };
  if (pc === 0n) return { stop: undefined };
  const sig = isSigreturn(env, pc);
  // A caller is looked up at pc-1 (the call may be a function's last instruction), except
  // after a signal frame, where pc is the interrupted instruction itself.
  const lookupPc = row.signalFrame || f.signalTrampoline ? pc : pc - 1n;
  return { frame: { pc, regs, how, signalTrampoline: sig, lookupPc: sig ? pc : lookupPc } };
}

/** The kernel's rt_sigframe: ucontext right above the return address the handler got. */
function fromSigframe(f: UnwoundFrame, env: UnwindEnv): Step {
  const sp = f.regs[RSP];
  if (sp === undefined) return { stop: "the signal frame's stack pointer is not known" };
  const regs: RegSet = new Array(NUM_GPRS).fill(undefined);
  for (let i = 0; i < GREG_TO_DWARF.length; i++) regs[GREG_TO_DWARF[i]] = env.read(sp + UC_GREGS + BigInt(i * 8), 8);
  f.cfa = sp;
  const pc = regs[RIP];
  if (pc === undefined) return { stop: 'the signal frame is not readable' };
  return { frame: { pc, regs, how: 'sigtramp', signalTrampoline: isSigreturn(env, pc), lookupPc: pc } };
}

/** Frame-pointer chain: [rbp] is the caller's rbp, [rbp+8] the return address. */
function fromFramePointer(f: UnwoundFrame, env: UnwindEnv): Step {
  const rbp = f.regs[RBP];
  if (rbp === undefined || rbp === 0n) return { stop: undefined };
  const sp = f.regs[RSP];
  if (sp !== undefined && rbp < sp) return { stop: undefined };
  const pc = env.read(rbp + 8n, 8);
  const callerRbp = env.read(rbp, 8);
  if (pc === undefined || pc === 0n || !env.isCode(pc)) return { stop: undefined };
  const regs: RegSet = new Array(NUM_GPRS).fill(undefined);
  for (const r of CALLEE_SAVED) regs[r] = f.regs[r];
  regs[RBP] = callerRbp;
  regs[RSP] = rbp + 16n;
  regs[RIP] = pc;
  f.cfa = rbp + 16n;
  return { frame: { pc, regs, how: 'fp', signalTrampoline: isSigreturn(env, pc), lookupPc: pc - 1n } };
}

/**
 * Finds the frame pointer of the function whose frame starts at `sp` (its CFA rule is
 * rbp-based but rbp is unknown): the lowest 8-aligned slot L at or above sp such that [L+8] is a
 * return address into code right after a call, and [L] is a plausible saved frame pointer
 * (above L, or 0 at the outermost frame).
 */
export function scanForFramePointer(sp: bigint, env: UnwindEnv, limit = 4096, calleePc?: bigint): bigint | undefined {
  for (let off = 0n; off < BigInt(limit); off += 8n) {
    const l = sp + off;
    const ra = env.read(l + 8n, 8);
    if (ra === undefined) return undefined;
    // A handler's return address is the sigreturn trampoline, not a call site.
    if (!env.isCode(ra) || !(followsCall(env, ra) || isSigreturn(env, ra))) continue;
    // A direct call that cannot have led to this function is a stale pair from an earlier call.
    const target = directCallTarget(env, ra);
    if (target !== undefined && calleePc !== undefined && env.callCanReach && !env.callCanReach(target, calleePc)) continue;
    const saved = env.read(l, 8);
    if (saved === undefined) continue;
    if (saved !== 0n && (saved <= l || saved - l > 0x1000000n)) continue;
    return l;
  }
  return undefined;
}

/** The target of a direct `call rel32` ending at `ra`, if that is what precedes it. */
export function directCallTarget(env: UnwindEnv, ra: bigint): bigint | undefined {
  if (env.read(ra - 5n, 1) !== 0xe8n) return undefined;
  const rel = env.read(ra - 4n, 4);
  return rel === undefined ? undefined : BigInt.asUintN(64, ra + BigInt.asIntN(32, rel));
}

/** Whether the instruction before `ra` is a call (e8 rel32, ff /2 forms). */
export function followsCall(env: UnwindEnv, ra: bigint): boolean {
  const b5 = env.read(ra - 5n, 1);
  if (b5 === 0xe8n) return true;
  // ff /2: call *%reg (2 bytes, 3 with REX), call *disp8(%reg) (3-4), call *disp32 / rip-relative (6-7).
  for (const back of [2n, 3n, 4n, 6n, 7n]) {
    const op = env.read(ra - back, 1);
    const modrm = env.read(ra - back + 1n, 1);
    if (op === 0xffn && modrm !== undefined && ((modrm >> 3n) & 7n) === 2n) return true;
  }
  return false;
}
