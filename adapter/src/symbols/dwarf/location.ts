/**
 * Static-storage locations: the DWARF expressions compilers emit for globals and statics.
 * Anything needing a frame, registers or the thread pointer becomes absent with a reason
 * (drgn's model), never a guess.
 */
import { Cursor } from '../binary/cursor';
import * as C from './constants';
// Local bindings: module-namespace getters in hot switch statements are slow under some loaders.
const DW_OP = C.DW_OP;
import type { DwarfReader, Unit } from './reader';

export type StaticLocation =
  | { kind: 'address'; address: bigint }
  /** The value itself (DW_OP_stack_value / DW_OP_implicit_value), little-endian bytes. */
  | { kind: 'value'; bytes: Buffer }
  | { kind: 'absent'; reason: string; tlsOffset?: bigint };

export const TLS_REASON = 'thread-local: needs the thread pointer';
export const OPTIMIZED_OUT = 'optimized out';

/** Evaluates a location expression that needs no registers (bounded: at most 256 ops). */
export function staticLocation(reader: DwarfReader, u: Unit, expr: Buffer, valueSize = 8): StaticLocation {
  if (expr.length === 0) return { kind: 'absent', reason: OPTIMIZED_OUT };
  const c = new Cursor(expr, reader.s.littleEndian, 0, expr.length, 'location expression');
  const stack: bigint[] = [];
  const mask = u.addressSize === 8 ? 0xffffffffffffffffn : 0xffffffffn;
  try {
    for (let steps = 0; !c.atEnd(); steps++) {
      if (steps > 256) return { kind: 'absent', reason: 'location expression too long' };
      const op = c.u8();
      if (op >= DW_OP.lit0 && op <= DW_OP.lit31) {
        stack.push(BigInt(op - DW_OP.lit0));
        continue;
      }
      if ((op >= DW_OP.reg0 && op <= DW_OP.reg31) || op === DW_OP.regx) return { kind: 'absent', reason: 'lives in a register: needs a stopped frame' };
      if ((op >= DW_OP.breg0 && op <= DW_OP.breg31) || op === DW_OP.bregx || op === DW_OP.fbreg || op === DW_OP.call_frame_cfa) {
        return { kind: 'absent', reason: 'lives on the stack: needs a stopped frame' };
      }
      switch (op) {
        case DW_OP.addr:
          stack.push(c.addr(u.addressSize));
          break;
        case DW_OP.addrx:
        case DW_OP.GNU_addr_index:
        case DW_OP.constx:
        case DW_OP.GNU_const_index:
          stack.push(reader.addrIndex(u, c.uleb()));
          break;
        case DW_OP.const1u:
          stack.push(BigInt(c.u8()));
          break;
        case DW_OP.const1s:
          stack.push(BigInt(c.i8()));
          break;
        case DW_OP.const2u:
          stack.push(BigInt(c.u16()));
          break;
        case DW_OP.const2s:
          stack.push(BigInt(c.i16()));
          break;
        case DW_OP.const4u:
          stack.push(BigInt(c.u32()));
          break;
        case DW_OP.const4s:
          stack.push(BigInt(c.i32()));
          break;
        case DW_OP.const8u:
          stack.push(c.u64());
          break;
        case DW_OP.const8s:
          stack.push(c.i64());
          break;
        case DW_OP.constu:
          stack.push(c.ulebBig());
          break;
        case DW_OP.consts:
          stack.push(c.slebBig());
          break;
        case DW_OP.plus_uconst: {
          const top = stack.pop();
          if (top === undefined) return { kind: 'absent', reason: 'malformed location expression' };
          stack.push((top + c.ulebBig()) & mask);
          break;
        }
        case DW_OP.plus:
        case DW_OP.minus: {
          const b = stack.pop();
          const a = stack.pop();
          if (a === undefined || b === undefined) return { kind: 'absent', reason: 'malformed location expression' };
          stack.push((op === DW_OP.plus ? a + b : a - b) & mask);
          break;
        }
        case DW_OP.form_tls_address:
        case DW_OP.GNU_push_tls_address: {
          // The operand is the offset in the module's TLS block (DTP-relative).
          const off = stack.pop();
          return off === undefined ? { kind: 'absent', reason: TLS_REASON } : { kind: 'absent', reason: TLS_REASON, tlsOffset: off };
        }
        case DW_OP.stack_value: {
          const top = stack.pop();
          if (top === undefined) return { kind: 'absent', reason: 'malformed location expression' };
          return { kind: 'value', bytes: leBytes(top, valueSize) };
        }
        case DW_OP.implicit_value: {
          const n = c.uleb();
          return { kind: 'value', bytes: Buffer.from(c.bytes(n)) };
        }
        case DW_OP.piece:
          return { kind: 'absent', reason: 'split into pieces (optimized)' };
        case DW_OP.implicit_pointer:
        case DW_OP.GNU_implicit_pointer:
          return { kind: 'absent', reason: OPTIMIZED_OUT };
        case DW_OP.entry_value:
        case DW_OP.GNU_entry_value:
          return { kind: 'absent', reason: 'needs a stopped frame (entry value)' };
        default:
          return { kind: 'absent', reason: `unsupported DWARF operation 0x${op.toString(16)}` };
      }
    }
  } catch (e) {
    return { kind: 'absent', reason: `bad location expression: ${(e as Error).message}` };
  }
  const top = stack.pop();
  if (top === undefined) return { kind: 'absent', reason: OPTIMIZED_OUT };
  return { kind: 'address', address: top };
}

/** Little-endian two's complement bytes of `v` in `size` bytes. */
export function leBytes(v: bigint, size: number): Buffer {
  const b = Buffer.alloc(size);
  let x = BigInt.asUintN(size * 8, v);
  for (let i = 0; i < size; i++) {
    b[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return b;
}

/** True if the expression starts with an operation giving a fixed address (global or static). */
export function isStaticExpr(expr: Buffer): boolean {
  if (expr.length === 0) return false;
  const op = expr[0];
  return op === DW_OP.addr || op === DW_OP.addrx || op === DW_OP.GNU_addr_index || op === DW_OP.const8u || op === DW_OP.const4u || op === DW_OP.constu || op === DW_OP.addrx;
}
