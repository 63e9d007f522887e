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
import { leBytes } from '../../util/bytes';

export type StaticLocation =
  | { kind: 'address'; address: bigint }
  /**
   * The value itself (DW_OP_stack_value / DW_OP_implicit_value), little-endian bytes.
   * `linkAddress` is set when the value is a link-time address (from DW_OP_addr/addrx, e.g. a
   * folded `static const char *p = "…"`): the owner must add the load bias, as gdb does.
   */
  | { kind: 'value'; bytes: Buffer; linkAddress?: bigint }
  | { kind: 'absent'; reason: string; tlsOffset?: bigint };

export const TLS_REASON = 'thread-local: needs the thread pointer';
export const OPTIMIZED_OUT = 'optimized out';

/** Evaluates a location expression that needs no registers (bounded: at most 256 ops). */
export function staticLocation(reader: DwarfReader, u: Unit, expr: Buffer, valueSize = 8): StaticLocation {
  if (expr.length === 0) return { kind: 'absent', reason: OPTIMIZED_OUT };
  const c = new Cursor(expr, reader.s.littleEndian, 0, expr.length, 'location expression');
  const stack: bigint[] = [];
  // Parallel to `stack`: whether the entry is (derived from) a DW_OP_addr operand.
  const isAddr: boolean[] = [];
  const pushConst = (v: bigint) => {
    stack.push(v);
    isAddr[stack.length - 1] = false;
  };
  const mask = u.addressSize === 8 ? 0xffffffffffffffffn : 0xffffffffn;
  try {
    for (let steps = 0; !c.atEnd(); steps++) {
      if (steps > 256) return { kind: 'absent', reason: 'location expression too long' };
      const op = c.u8();
      if (op >= DW_OP.lit0 && op <= DW_OP.lit31) {
        pushConst(BigInt(op - DW_OP.lit0));
        continue;
      }
      if ((op >= DW_OP.reg0 && op <= DW_OP.reg31) || op === DW_OP.regx) return { kind: 'absent', reason: 'lives in a register: needs a stopped frame' };
      if ((op >= DW_OP.breg0 && op <= DW_OP.breg31) || op === DW_OP.bregx || op === DW_OP.fbreg || op === DW_OP.call_frame_cfa) {
        return { kind: 'absent', reason: 'lives on the stack: needs a stopped frame' };
      }
      switch (op) {
        case DW_OP.addr:
          stack.push(c.addr(u.addressSize));
          isAddr[stack.length - 1] = true;
          break;
        case DW_OP.addrx:
        case DW_OP.GNU_addr_index:
          stack.push(reader.addrIndex(u, c.uleb()));
          isAddr[stack.length - 1] = true;
          break;
        case DW_OP.constx:
        case DW_OP.GNU_const_index:
          pushConst(reader.addrIndex(u, c.uleb()));
          break;
        case DW_OP.const1u:
          pushConst(BigInt(c.u8()));
          break;
        case DW_OP.const1s:
          pushConst(BigInt(c.i8()));
          break;
        case DW_OP.const2u:
          pushConst(BigInt(c.u16()));
          break;
        case DW_OP.const2s:
          pushConst(BigInt(c.i16()));
          break;
        case DW_OP.const4u:
          pushConst(BigInt(c.u32()));
          break;
        case DW_OP.const4s:
          pushConst(BigInt(c.i32()));
          break;
        case DW_OP.const8u:
          pushConst(c.u64());
          break;
        case DW_OP.const8s:
          pushConst(c.i64());
          break;
        case DW_OP.constu:
          pushConst(c.ulebBig());
          break;
        case DW_OP.consts:
          pushConst(c.slebBig());
          break;
        case DW_OP.plus_uconst: {
          const flag = isAddr[stack.length - 1] === true;
          const top = stack.pop();
          if (top === undefined) return { kind: 'absent', reason: 'malformed location expression' };
          stack.push((top + c.ulebBig()) & mask);
          isAddr[stack.length - 1] = flag;
          break;
        }
        case DW_OP.plus:
        case DW_OP.minus: {
          const fb = isAddr[stack.length - 1] === true;
          const fa = isAddr[stack.length - 2] === true;
          const b = stack.pop();
          const a = stack.pop();
          if (a === undefined || b === undefined) return { kind: 'absent', reason: 'malformed location expression' };
          stack.push((op === DW_OP.plus ? a + b : a - b) & mask);
          // address ± constant stays an address; address - address is a plain number.
          isAddr[stack.length - 1] = op === DW_OP.plus ? fa !== fb : fa && !fb;
          break;
        }
        case DW_OP.form_tls_address:
        case DW_OP.GNU_push_tls_address: {
          // The operand is the offset in the module's TLS block (DTP-relative).
          const off = stack.pop();
          return off === undefined ? { kind: 'absent', reason: TLS_REASON } : { kind: 'absent', reason: TLS_REASON, tlsOffset: off };
        }
        case DW_OP.stack_value: {
          const wasAddr = isAddr[stack.length - 1] === true;
          const top = stack.pop();
          if (top === undefined) return { kind: 'absent', reason: 'malformed location expression' };
          return wasAddr ? { kind: 'value', bytes: leBytes(top, valueSize), linkAddress: top } : { kind: 'value', bytes: leBytes(top, valueSize) };
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

/** Little-endian two's complement bytes of `v` in `size` bytes (shared: util/bytes.ts). */
export { leBytes };

/** True if the expression starts with an operation giving a fixed address (global or static). */
export function isStaticExpr(expr: Buffer): boolean {
  if (expr.length === 0) return false;
  const op = expr[0];
  return (
    op === DW_OP.addr ||
    op === DW_OP.addrx ||
    op === DW_OP.GNU_addr_index ||
    op === DW_OP.const8u ||
    op === DW_OP.const4u ||
    op === DW_OP.constu ||
    op === DW_OP.addrx
  );
}
