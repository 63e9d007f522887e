/**
 * A variable DIE in a frame → a TargetObject: its location (an expression, or a location list
 * entry chosen by the frame's pc, DWARF 4 .debug_loc and DWARF 5 .debug_loclists) evaluated
 * against the frame's registers and CFA. Registers the snapshot lacks give `<unavailable>`;
 * no location at the pc gives `<optimized out>`, as gdb prints them.
 */
import type { DwarfInfo } from '../symbols/dwarf/info';
import { attr, toBig, type Attr, type Die, type Unit } from '../symbols/dwarf/reader';
import { Cursor } from '../symbols/binary/cursor';
import { sizeOf, type Type } from '../symbols/types';
import { makeAbsent, makeReference, makeValue, bigintToBytes, type TargetObject } from '../value/object';
import { evalAddress, evalExpr, type ExprFrame, type Location } from './expr';
import { inheritedAttr } from './scopes';
import { entryPc, plainRegister } from './entryValues';
import type { RegSet } from './regs';

const AT_location = 0x02;
const AT_const_value = 0x1c;
const AT_type = 0x49;
const AT_frame_base = 0x40;
const FORM_exprloc = 0x18;
const FORM_block1 = 0x0a;
const FORM_block2 = 0x03;
const FORM_block4 = 0x04;
const FORM_block = 0x09;
const FORM_loclistx = 0x22;

export const UNAVAILABLE = 'unavailable';
export const OPTIMIZED = 'optimized out';

export interface FrameContext {
  dwarf: DwarfInfo;
  bias: bigint;
  regs: RegSet;
  cfa?: bigint;
  /** Link-time pc for choosing location list entries and scopes (pc, or pc-1 in callers). */
  linkPc: bigint;
  read(address: bigint, size: number): bigint | undefined;
  /** The subprogram owning the frame base. */
  subprogram: Die;
  /** DW_OP_entry_value of a register: its value on entry, from the caller's call site. */
  entryReg?(reg: number): bigint | undefined;
}

function isBlock(a: Attr): boolean {
  return (
    Buffer.isBuffer(a.value) && (a.form === FORM_exprloc || a.form === FORM_block1 || a.form === FORM_block2 || a.form === FORM_block4 || a.form === FORM_block)
  );
}

/** The expression of `a` that applies at linkPc (undefined: not available there). */
export function expressionAt(dwarf: DwarfInfo, u: Unit, a: Attr, linkPc: bigint): Buffer | undefined {
  if (isBlock(a)) return a.value as Buffer;
  const r = dwarf.reader;
  if (u.version >= 5) {
    const sec = r.s.loclists;
    if (!sec) return undefined;
    let off: number;
    if (a.form === FORM_loclistx) {
      const c = new Cursor(sec, true, 0, sec.length, '.debug_loclists');
      c.seek(u.loclistsBase + Number(a.value) * u.offsetSize);
      off = u.loclistsBase + c.uNn(u.offsetSize);
    } else off = Number(a.value);
    const c = new Cursor(sec, true, 0, sec.length, '.debug_loclists');
    c.seek(off);
    let base = u.lowPc ?? 0n;
    let deflt: Buffer | undefined;
    for (let i = 0; i < 100_000; i++) {
      const kind = c.u8();
      let lo: bigint | undefined;
      let hi: bigint | undefined;
      switch (kind) {
        case 0:
          return deflt;
        case 1:
          base = r.addrIndex(u, c.uleb());
          continue;
        case 2:
          lo = r.addrIndex(u, c.uleb());
          hi = r.addrIndex(u, c.uleb());
          break;
        case 3:
          lo = r.addrIndex(u, c.uleb());
          hi = lo + c.ulebBig();
          break;
        case 4:
          lo = base + c.ulebBig();
          hi = base + c.ulebBig();
          break;
        case 5:
          deflt = c.bytes(c.uleb());
          continue;
        case 6:
          base = c.addr(u.addressSize);
          continue;
        case 7:
          lo = c.addr(u.addressSize);
          hi = c.addr(u.addressSize);
          break;
        case 8:
          lo = c.addr(u.addressSize);
          hi = lo + c.ulebBig();
          break;
        default:
          return undefined;
      }
      const expr = c.bytes(c.uleb());
      if (linkPc >= lo && linkPc < hi) return expr;
    }
    return undefined;
  }
  const sec = r.s.loc;
  if (!sec) return undefined;
  const c = new Cursor(sec, true, 0, sec.length, '.debug_loc');
  c.seek(Number(a.value));
  let base = u.lowPc ?? 0n;
  const max = u.addressSize === 8 ? 0xffffffffffffffffn : 0xffffffffn;
  for (let i = 0; i < 100_000; i++) {
    const s = c.addr(u.addressSize);
    const e = c.addr(u.addressSize);
    if (s === 0n && e === 0n) return undefined;
    if (s === max) {
      base = e;
      continue;
    }
    const expr = c.bytes(c.u16());
    if (linkPc >= base + s && linkPc < base + e) return expr;
  }
  return undefined;
}

function exprFrame(f: FrameContext, u: Unit): ExprFrame {
  const ef: ExprFrame = {
    reg: (n) => f.regs[n],
    read: (a, s) => f.read(a, s),
    cfa: () => f.cfa,
    bias: f.bias,
    addrIndex: (i) => f.dwarf.reader.addrIndex(u, i),
    entryValue: (sub) => {
      const reg = plainRegister(sub) ?? (sub.length === 2 && sub[0] >= 0x70 && sub[0] <= 0x8f && sub[1] === 0 ? sub[0] - 0x70 : undefined);
      return reg === undefined ? undefined : f.entryReg?.(reg);
    },
    frameBase: () => {
      const fb = attr(f.subprogram, AT_frame_base);
      if (!fb) return undefined;
      const e = expressionAt(f.dwarf, f.subprogram.unit, fb, f.linkPc);
      if (!e) return undefined;
      // The frame base is evaluated without a frame base of its own.
      return evalAddress(e, { ...ef, frameBase: undefined });
    },
  };
  return ef;
}

/** The type of a variable DIE (through its abstract origin). */
export function variableType(dwarf: DwarfInfo, die: Die): Type {
  const t = inheritedAttr(dwarf.reader, die, AT_type);
  return t ? dwarf.types.typeOf(t.die) : dwarf.types.typeOf(die);
}

export function variableObject(f: FrameContext, die: Die): TargetObject {
  const type = variableType(f.dwarf, die);
  const loc = attr(die, AT_location);
  if (!loc) {
    const cv = inheritedAttr(f.dwarf.reader, die, AT_const_value)?.value;
    if (cv) {
      const size = sizeOf(type) ?? 8;
      const v = cv.value;
      if (Buffer.isBuffer(v)) return makeValue(type, Buffer.from(v));
      if (typeof v === 'string') return makeValue(type, Buffer.from(v + '\0'));
      return makeValue(type, bigintToBytes(toBig(v), size));
    }
    return makeAbsent(OPTIMIZED, type);
  }
  let expr: Buffer | undefined;
  try {
    expr = expressionAt(f.dwarf, die.unit, loc, f.linkPc);
  } catch (e) {
    return makeAbsent(`error: ${(e as Error).message}`, type);
  }
  if (!expr) return makeAbsent(OPTIMIZED, type);
  const l = evalExpr(expr, exprFrame(f, die.unit));
  return objectAt(f, l, type);
}

function objectAt(f: FrameContext, l: Location, type: Type): TargetObject {
  const size = sizeOf(type) ?? 8;
  switch (l.kind) {
    case 'memory':
      return makeReference(type, l.address);
    case 'register': {
      const v = f.regs[l.reg];
      if (l.reg > 16) return makeAbsent(UNAVAILABLE, type); // vector registers: not in any snapshot
      if (v === undefined) return makeAbsent(UNAVAILABLE, type);
      return makeValue(type, bigintToBytes(v, size));
    }
    case 'value':
      return makeValue(type, bigintToBytes(l.value, size));
    case 'implicit': {
      const b = Buffer.alloc(size);
      l.bytes.copy(b, 0, 0, Math.min(size, l.bytes.length));
      return makeValue(type, b);
    }
    case 'pieces': {
      const out = Buffer.alloc(size);
      let off = 0;
      for (const p of l.pieces) {
        let bytes: Buffer | undefined;
        const piece = p.loc;
        if (piece.kind === 'memory') {
          bytes = Buffer.alloc(p.bytes);
          for (let i = 0; i < p.bytes; i++) {
            const b = f.read(piece.address + BigInt(i), 1);
            if (b === undefined) return makeAbsent(UNAVAILABLE, type);
            bytes[i] = Number(b);
          }
        } else if (piece.kind === 'register') {
          const v = f.regs[piece.reg];
          if (v === undefined || piece.reg > 16) return makeAbsent(piece.reg > 16 || v === undefined ? UNAVAILABLE : OPTIMIZED, type);
          bytes = bigintToBytes(v, p.bytes);
        } else if (piece.kind === 'value') bytes = bigintToBytes(piece.value, p.bytes);
        else if (piece.kind === 'implicit') bytes = piece.bytes;
        else return makeAbsent(piece.kind === 'unavailable' ? UNAVAILABLE : OPTIMIZED, type); // gdb: partly optimized out prints <optimized out>
        bytes.copy(out, off, 0, Math.min(p.bytes, size - off));
        off += p.bytes;
      }
      return makeValue(type, out);
    }
    case 'optimized':
      return makeAbsent(OPTIMIZED, type);
    case 'unavailable':
      return makeAbsent(UNAVAILABLE, type);
    case 'error':
      return makeAbsent(`error: ${l.reason}`, type);
  }
}

/**
 * gdb's read_variable_at_entry: the parameter's location at its function's entry must be a
 * plain register; its value then is that register's entry value. Undefined when unknown.
 */
export function entryObject(f: FrameContext, die: Die, levelDie: Die): TargetObject | undefined {
  if (!f.entryReg) return undefined;
  const loc = attr(die, AT_location);
  if (!loc) return undefined;
  const at = entryPc(f.dwarf, levelDie);
  if (at === undefined) return undefined;
  let expr: Buffer | undefined;
  try {
    expr = expressionAt(f.dwarf, die.unit, loc, at);
  } catch {
    return undefined;
  }
  const reg = plainRegister(expr);
  if (reg === undefined) return undefined;
  const v = f.entryReg(reg);
  if (v === undefined) return undefined;
  const type = variableType(f.dwarf, die);
  return makeValue(type, bigintToBytes(v, sizeOf(type) ?? 8));
}
