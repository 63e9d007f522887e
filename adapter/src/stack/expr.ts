/**
 * DWARF expressions against a frame: CFI rules (DW_CFA_def_cfa_expression, DW_CFA_expression)
 * and variable locations (DW_OP_fbreg, DW_OP_breg*, DW_OP_reg*, DW_OP_piece, DW_OP_stack_value,
 * DW_OP_implicit_value, DW_OP_entry_value, DW_OP_call_frame_cfa, ...). A register the frame does
 * not know makes the result `unavailable` (gdb's <unavailable>), never a guess.
 */
import { Cursor } from '../symbols/binary/cursor';

export type Location =
  | { kind: 'memory'; address: bigint }
  | { kind: 'register'; reg: number }
  | { kind: 'value'; value: bigint }
  | { kind: 'implicit'; bytes: Buffer }
  | { kind: 'pieces'; pieces: Array<{ bytes: number; loc: Location }> }
  | { kind: 'optimized' }
  /** A register or memory the snapshot does not have. */
  | { kind: 'unavailable'; reason: string }
  | { kind: 'error'; reason: string };

export interface ExprFrame {
  /** A register of this frame (DWARF number), undefined when unknown. */
  reg(n: number): bigint | undefined;
  /** `size` bytes little-endian at `address`, undefined when unreadable. */
  read(address: bigint, size: number): bigint | undefined;
  cfa?(): bigint | undefined;
  /** DW_AT_frame_base of the function, already evaluated to an address. */
  frameBase?(): bigint | undefined;
  /** Module load bias (DW_OP_addr operands are link-time). */
  bias?: bigint;
  /** .debug_addr entries (DW_OP_addrx / constx). */
  addrIndex?(i: number): bigint;
  /** DW_OP_entry_value: the value the sub-expression had on entry (from the caller's call site). */
  entryValue?(expr: Buffer): bigint | undefined;
  /** Thread-local: the module's TLS block address for this thread. */
  tlsBase?(): bigint | undefined;
}

class Unavailable extends Error {}
class Optimized extends Error {}

const MASK = 0xffffffffffffffffn;
const MAX_OPS = 10_000;

/** Evaluates `expr`; `initial` is pushed first (the CFA for CFI register rules). */
export function evalExpr(expr: Buffer, f: ExprFrame, initial?: bigint[], addressSize = 8): Location {
  try {
    return run(expr, f, initial ?? [], addressSize);
  } catch (e) {
    if (e instanceof Unavailable) return { kind: 'unavailable', reason: e.message };
    if (e instanceof Optimized) return { kind: 'optimized' };
    return { kind: 'error', reason: (e as Error).message };
  }
}

/** Evaluates to a plain value (CFA expressions, frame bases): memory locations give their address. */
export function evalAddress(expr: Buffer, f: ExprFrame, initial?: bigint[]): bigint | undefined {
  const l = evalExpr(expr, f, initial);
  if (l.kind === 'memory') return l.address;
  if (l.kind === 'value') return l.value;
  if (l.kind === 'register') return f.reg(l.reg);
  return undefined;
}

function run(expr: Buffer, f: ExprFrame, initial: bigint[], addressSize: number): Location {
  if (expr.length === 0) return { kind: 'optimized' };
  const c = new Cursor(expr, true, 0, expr.length, 'DWARF expression');
  const st: bigint[] = [...initial];
  const pieces: Array<{ bytes: number; loc: Location }> = [];
  let cur: Location | undefined; // location of the current piece, when set by reg/stack_value/implicit
  const pop = (): bigint => {
    const v = st.pop();
    if (v === undefined) throw new Error('DWARF expression stack underflow');
    return v;
  };
  const reg = (n: number): bigint => {
    const v = f.reg(n);
    if (v === undefined) throw new Unavailable(`register ${n} is not known in this frame`);
    return v;
  };
  const mem = (a: bigint, size: number): bigint => {
    const v = f.read(a, size);
    if (v === undefined) throw new Unavailable(`cannot read memory at 0x${a.toString(16)}`);
    return v;
  };
  const push = (v: bigint) => st.push(v & MASK);
  const signed = (v: bigint) => BigInt.asIntN(64, v);
  const bias = f.bias ?? 0n;
  for (let steps = 0; !c.atEnd(); steps++) {
    if (steps > MAX_OPS) throw new Error('DWARF expression too long');
    const op = c.u8();
    if (op >= 0x30 && op <= 0x4f) {
      push(BigInt(op - 0x30));
      continue;
    }
    if (op >= 0x50 && op <= 0x6f) {
      cur = { kind: 'register', reg: op - 0x50 };
      continue;
    }
    if (op >= 0x70 && op <= 0x8f) {
      push(reg(op - 0x70) + c.slebBig());
      continue;
    }
    switch (op) {
      case 0x03: // addr
        push(c.addr(addressSize) + bias);
        break;
      case 0xa1: // addrx
      case 0xfb: // GNU_addr_index
        if (!f.addrIndex) throw new Error('DW_OP_addrx without .debug_addr');
        push(f.addrIndex(c.uleb()) + bias);
        break;
      case 0xa2: // constx
      case 0xfc:
        if (!f.addrIndex) throw new Error('DW_OP_constx without .debug_addr');
        push(f.addrIndex(c.uleb()));
        break;
      case 0x06: // deref
        push(mem(pop(), 8));
        break;
      case 0x94: {
        // deref_size
        const n = c.u8();
        push(mem(pop(), n));
        break;
      }
      case 0x08:
        push(BigInt(c.u8()));
        break;
      case 0x09:
        push(BigInt(c.i8()));
        break;
      case 0x0a:
        push(BigInt(c.u16()));
        break;
      case 0x0b:
        push(BigInt(c.i16()));
        break;
      case 0x0c:
        push(BigInt(c.u32()));
        break;
      case 0x0d:
        push(BigInt(c.i32()));
        break;
      case 0x0e:
        push(c.u64());
        break;
      case 0x0f:
        push(c.i64());
        break;
      case 0x10:
        push(c.ulebBig());
        break;
      case 0x11:
        push(c.slebBig());
        break;
      case 0x12: // dup
        push(st[st.length - 1] ?? pop());
        break;
      case 0x13: // drop
        pop();
        break;
      case 0x14: // over
        if (st.length < 2) throw new Error('DW_OP_over: stack underflow');
        push(st[st.length - 2]);
        break;
      case 0x15: {
        // pick
        const i = c.u8();
        if (i >= st.length) throw new Error('DW_OP_pick: stack underflow');
        push(st[st.length - 1 - i]);
        break;
      }
      case 0x16: {
        // swap
        const a = pop();
        const b = pop();
        push(a);
        push(b);
        break;
      }
      case 0x17: {
        // rot
        const a = pop();
        const b = pop();
        const d = pop();
        push(a);
        push(d);
        push(b);
        break;
      }
      case 0x19: {
        const v = signed(pop());
        push(v < 0n ? -v : v);
        break;
      }
      case 0x1a: {
        const b = pop();
        push(pop() & b);
        break;
      }
      case 0x1b: {
        const b = signed(pop());
        const a = signed(pop());
        if (b === 0n) throw new Error('DW_OP_div by zero');
        push(a / b);
        break;
      }
      case 0x1c: {
        const b = pop();
        push(pop() - b);
        break;
      }
      case 0x1d: {
        const b = pop();
        if (b === 0n) throw new Error('DW_OP_mod by zero');
        push(pop() % b);
        break;
      }
      case 0x1e: {
        const b = pop();
        push(pop() * b);
        break;
      }
      case 0x1f:
        push(-pop());
        break;
      case 0x20:
        push(~pop());
        break;
      case 0x21: {
        const b = pop();
        push(pop() | b);
        break;
      }
      case 0x22: {
        const b = pop();
        push(pop() + b);
        break;
      }
      case 0x23:
        push(pop() + c.ulebBig());
        break;
      case 0x24: {
        const b = pop();
        push(pop() << (b & 63n));
        break;
      }
      case 0x25: {
        const b = pop();
        push(pop() >> (b & 63n));
        break;
      }
      case 0x26: {
        const b = pop();
        push(signed(pop()) >> (b & 63n));
        break;
      }
      case 0x27: {
        const b = pop();
        push(pop() ^ b);
        break;
      }
      case 0x29:
      case 0x2a:
      case 0x2b:
      case 0x2c:
      case 0x2d:
      case 0x2e: {
        const b = signed(pop());
        const a = signed(pop());
        const r = op === 0x29 ? a === b : op === 0x2a ? a >= b : op === 0x2b ? a > b : op === 0x2c ? a <= b : op === 0x2d ? a < b : a !== b;
        push(r ? 1n : 0n);
        break;
      }
      case 0x2f: {
        // skip
        const d = c.i16();
        c.seek(c.pos + d);
        break;
      }
      case 0x28: {
        // bra
        const d = c.i16();
        if (pop() !== 0n) c.seek(c.pos + d);
        break;
      }
      case 0x90: // regx
        cur = { kind: 'register', reg: c.uleb() };
        break;
      case 0x91: {
        // fbreg
        const off = c.slebBig();
        const fb = f.frameBase?.();
        if (fb === undefined) throw new Unavailable('the frame base is not known');
        push(fb + off);
        break;
      }
      case 0x92: {
        // bregx
        const r = c.uleb();
        push(reg(r) + c.slebBig());
        break;
      }
      case 0x9c: {
        // call_frame_cfa
        const v = f.cfa?.();
        if (v === undefined) throw new Unavailable('the CFA is not known');
        push(v);
        break;
      }
      case 0x96: // nop
        break;
      case 0x9f: // stack_value
        cur = { kind: 'value', value: pop() };
        break;
      case 0x9e: {
        // implicit_value
        const n = c.uleb();
        cur = { kind: 'implicit', bytes: Buffer.from(c.bytes(n)) };
        break;
      }
      case 0x93: {
        // piece
        const n = c.uleb();
        pieces.push({ bytes: n, loc: cur ?? (st.length ? { kind: 'memory', address: pop() } : { kind: 'optimized' }) });
        cur = undefined;
        st.length = 0;
        break;
      }
      case 0x9d: // bit_piece: treated as whole bytes (gcc emits it rarely on x86-64)
        throw new Optimized();
      case 0xa3: // entry_value
      case 0xf3: {
        const n = c.uleb();
        const sub = Buffer.from(c.bytes(n));
        const v = f.entryValue?.(sub);
        if (v === undefined) throw new Optimized();
        push(v);
        break;
      }
      case 0xa0: // implicit_pointer
      case 0xf2:
        throw new Optimized();
      case 0x9b: // form_tls_address
      case 0xe0: {
        const off = pop();
        const base = f.tlsBase?.();
        if (base === undefined) throw new Unavailable('thread-local storage address is not known');
        push(base + off);
        break;
      }
      default:
        throw new Error(`unsupported DWARF operation 0x${op.toString(16)}`);
    }
  }
  if (pieces.length) return { kind: 'pieces', pieces };
  if (cur) return cur;
  if (!st.length) return { kind: 'optimized' };
  return { kind: 'memory', address: st[st.length - 1] };
}
