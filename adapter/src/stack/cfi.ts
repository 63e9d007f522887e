/**
 * Call frame information: `.eh_frame` and `.debug_frame` (CIE/FDE, every DW_CFA_* operation gcc
 * and clang emit, augmentations z, R, P, L, S). Given a link-time pc, `rowAt` runs the CIE's
 * initial instructions and the FDE's program up to that pc and returns the rule row: how to
 * compute the CFA and where the caller's registers were saved.
 *
 * Parsing is lazy: the first lookup indexes FDE start/range pairs (a few fields per entry), and
 * CIEs are decoded when an FDE needs them. Malformed entries are skipped and counted in
 * `errors`; a lookup never throws for bad data, it returns undefined (no CFI).
 */
import { Cursor } from '../symbols/binary/cursor';
import { lastAtOrBefore } from '../util/search';

export type RegRule =
  | { kind: 'undefined' }
  | { kind: 'same' }
  /** Saved at CFA + offset. */
  | { kind: 'offset'; offset: bigint }
  /** The value is CFA + offset. */
  | { kind: 'val_offset'; offset: bigint }
  /** The value is in another register of this frame. */
  | { kind: 'register'; reg: number }
  /** Saved at the address the expression computes (the CFA is pushed first). */
  | { kind: 'expression'; expr: Buffer }
  /** The value is what the expression computes (the CFA is pushed first). */
  | { kind: 'val_expression'; expr: Buffer };

export type CfaRule = { kind: 'reg'; reg: number; offset: bigint } | { kind: 'expr'; expr: Buffer };

export interface CfiRow {
  cfa: CfaRule;
  /** Rules for registers the program mentioned; a register not here keeps its value (same). */
  regs: Map<number, RegRule>;
  /** DWARF register number holding the return address (16 on x86-64). */
  raReg: number;
  /** CIE augmentation 'S': the FDE describes a signal trampoline (no pc-1 for the caller). */
  signalFrame: boolean;
  /** FDE range (link-time). */
  start: bigint;
  end: bigint;
  /** First address this row applies to. */
  loc: bigint;
}

interface Cie {
  codeAlign: bigint;
  dataAlign: bigint;
  raReg: number;
  fdeEncoding: number;
  lsdaEncoding: number;
  hasAugData: boolean;
  signalFrame: boolean;
  addressSize: number;
  initial: Buffer;
}

interface FdeEntry {
  start: bigint;
  end: bigint;
  /** Offset of the FDE in the section. */
  offset: number;
  cieOffset: number;
}

export interface CfiSectionOptions {
  kind: 'eh_frame' | 'debug_frame';
  /** Link-time address of the section (for pc-relative pointers in .eh_frame). */
  address: bigint;
  addressSize?: number;
  /** Base for DW_EH_PE_datarel (.got on x86-64; rarely used in .eh_frame). */
  dataBase?: bigint;
  /** Base for DW_EH_PE_textrel (.text). */
  textBase?: bigint;
}

const DW_EH_PE_omit = 0xff;
/** Caps so that corrupt CFI cannot make a lookup spin. */
const MAX_ENTRIES = 4_000_000;
const MAX_STEPS = 100_000;
const MAX_STATE_STACK = 64;

export class CfiSection {
  readonly errors: string[] = [];
  private fdes?: FdeEntry[];
  private readonly cies = new Map<number, Cie | null>();
  private readonly addressSize: number;

  constructor(
    readonly data: Buffer,
    readonly opts: CfiSectionOptions,
  ) {
    this.addressSize = opts.addressSize ?? 8;
  }

  get isEh(): boolean {
    return this.opts.kind === 'eh_frame';
  }

  /** Number of FDEs (indexes the section). */
  get fdeCount(): number {
    return this.index().length;
  }

  /** The FDE ranges, sorted (tests, tools). */
  ranges(): Array<{ start: bigint; end: bigint; offset: number }> {
    return this.index().map((f) => ({ start: f.start, end: f.end, offset: f.offset }));
  }

  private index(): FdeEntry[] {
    if (this.fdes) return this.fdes;
    const out: FdeEntry[] = [];
    const buf = this.data;
    let off = 0;
    for (let n = 0; off + 4 <= buf.length && n < MAX_ENTRIES; n++) {
      const entryStart = off;
      let c: Cursor;
      let end: number;
      let idPos: number;
      let id: bigint;
      let is64 = false;
      try {
        c = new Cursor(buf, true, 0, buf.length, this.opts.kind);
        c.seek(off);
        let len = BigInt(c.u32());
        if (len === 0n) {
          // .eh_frame terminator (or padding in .debug_frame): stop at the eh one.
          if (this.isEh) break;
          off += 4;
          continue;
        }
        if (len === 0xffffffffn) {
          len = c.u64();
          is64 = true;
        }
        if (BigInt(c.pos) + len > BigInt(buf.length)) {
          this.errors.push(`entry at 0x${entryStart.toString(16)}: length runs past the section end`);
          break;
        }
        end = c.pos + Number(len);
        idPos = c.pos;
        id = is64 ? c.u64() : BigInt(c.u32());
        const isCie = this.isEh ? id === 0n : id === (is64 ? 0xffffffffffffffffn : 0xffffffffn);
        if (!isCie) {
          const cieOffset = this.isEh ? idPos - Number(id) : Number(id);
          const cie = this.cie(cieOffset);
          if (cie) {
            const sub = c.sub(c.pos, end);
            const start = this.readPointer(sub, cie.fdeEncoding, cie.addressSize);
            const range = this.readPointer(sub, cie.fdeEncoding & 0x0f, cie.addressSize);
            if (start !== undefined && range !== undefined && range > 0n) out.push({ start, end: start + range, offset: entryStart, cieOffset });
          }
        }
      } catch (e) {
        this.errors.push(`entry at 0x${entryStart.toString(16)}: ${(e as Error).message}`);
        break;
      }
      off = end;
    }
    out.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
    this.fdes = out;
    return out;
  }

  private cie(offset: number): Cie | undefined {
    const hit = this.cies.get(offset);
    if (hit !== undefined) return hit ?? undefined;
    let cie: Cie | null = null;
    try {
      cie = this.parseCie(offset);
    } catch (e) {
      this.errors.push(`CIE at 0x${offset.toString(16)}: ${(e as Error).message}`);
    }
    this.cies.set(offset, cie);
    return cie ?? undefined;
  }

  private parseCie(offset: number): Cie {
    const c0 = new Cursor(this.data, true, 0, this.data.length, this.opts.kind);
    c0.seek(offset);
    let len = BigInt(c0.u32());
    let is64 = false;
    if (len === 0xffffffffn) {
      len = c0.u64();
      is64 = true;
    }
    if (len === 0n || BigInt(c0.pos) + len > BigInt(this.data.length)) c0.fail('bad CIE length');
    const c = c0.sub(c0.pos, c0.pos + Number(len));
    const id = is64 ? c.u64() : BigInt(c.u32());
    const want = this.isEh ? 0n : is64 ? 0xffffffffffffffffn : 0xffffffffn;
    if (id !== want) c.fail('not a CIE');
    const version = c.u8();
    if (version !== 1 && version !== 3 && version !== 4) c.fail(`unsupported CIE version ${version}`);
    const aug = c.cstr();
    let addressSize = this.addressSize;
    if (aug.includes('eh')) c.skip(addressSize); // ancient gcc: eh_ptr
    if (version === 4) {
      addressSize = c.u8();
      c.u8(); // segment selector size
    }
    const codeAlign = c.ulebBig();
    const dataAlign = c.slebBig();
    const raReg = version === 1 ? c.u8() : c.uleb();
    let fdeEncoding = 0;
    let lsdaEncoding = DW_EH_PE_omit;
    let signalFrame = false;
    const hasAugData = aug.startsWith('z');
    if (hasAugData) {
      const augLen = c.uleb();
      const augEnd = c.pos + augLen;
      for (const ch of aug.slice(1)) {
        if (ch === 'R') fdeEncoding = c.u8();
        else if (ch === 'L') lsdaEncoding = c.u8();
        else if (ch === 'P') {
          const enc = c.u8();
          this.readPointer(c, enc, addressSize);
        } else if (ch === 'S') signalFrame = true;
        else if (ch === 'B' || ch === 'G') {
          /* aarch64 b-key / MTE: no data */
        } else break; // unknown: the length lets us skip the rest
      }
      c.seek(augEnd);
    } else if (aug !== '' && !aug.includes('eh')) {
      c.fail(`unknown CIE augmentation "${aug}" without 'z'`);
    }
    return { codeAlign, dataAlign, raReg, fdeEncoding, lsdaEncoding, hasAugData, signalFrame, addressSize, initial: c.bytes(c.end - c.pos) };
  }

  /** Reads a DW_EH_PE-encoded pointer (undefined for DW_EH_PE_omit). */
  private readPointer(c: Cursor, enc: number, addressSize: number): bigint | undefined {
    if (enc === DW_EH_PE_omit) return undefined;
    const fieldAddr = this.opts.address + BigInt(c.pos);
    let v: bigint;
    switch (enc & 0x0f) {
      case 0x00:
        v = c.addr(addressSize);
        break;
      case 0x01:
        v = c.ulebBig();
        break;
      case 0x02:
        v = BigInt(c.u16());
        break;
      case 0x03:
        v = BigInt(c.u32());
        break;
      case 0x04:
        v = c.u64();
        break;
      case 0x09:
        v = c.slebBig();
        break;
      case 0x0a:
        v = BigInt(c.i16());
        break;
      case 0x0b:
        v = BigInt(c.i32());
        break;
      case 0x0c:
        v = c.i64();
        break;
      default:
        return c.fail(`unknown pointer encoding 0x${enc.toString(16)}`);
    }
    switch (enc & 0x70) {
      case 0x00:
        break;
      case 0x10:
        v += fieldAddr;
        break;
      case 0x20:
        v += this.opts.textBase ?? 0n;
        break;
      case 0x30:
        v += this.opts.dataBase ?? 0n;
        break;
      default:
        return c.fail(`unsupported pointer application 0x${(enc & 0x70).toString(16)}`);
    }
    // DW_EH_PE_indirect would need target memory: not used for FDE ranges.
    return BigInt.asUintN(addressSize * 8, v);
  }

  /** The FDE covering a link-time pc. */
  private fdeFor(pc: bigint): FdeEntry | undefined {
    const list = this.index();
    const best = lastAtOrBefore(list, pc, (f) => f.start);
    // Overlapping FDEs are rare; look back a little for one that covers pc.
    for (let i = best; i >= 0 && i > best - 8; i--) if (pc >= list[i].start && pc < list[i].end) return list[i];
    return undefined;
  }

  /** The rule row for a link-time pc, or undefined when no FDE covers it (or it is corrupt). */
  rowAt(pc: bigint): CfiRow | undefined {
    const f = this.fdeFor(pc);
    if (!f) return undefined;
    try {
      return this.run(f, pc).row;
    } catch (e) {
      this.errors.push(`FDE at 0x${f.offset.toString(16)}: ${(e as Error).message}`);
      return undefined;
    }
  }

  /** Every row of the FDE containing `pc` (tests compare them with readelf's frames-interp). */
  rowsOf(pc: bigint): CfiRow[] {
    const f = this.fdeFor(pc);
    if (!f) return [];
    return this.run(f, f.end).rows;
  }

  private run(f: FdeEntry, pc: bigint): { row: CfiRow; rows: CfiRow[] } {
    const cie = this.cie(f.cieOffset);
    if (!cie) throw new Error('its CIE is unreadable');
    const c0 = new Cursor(this.data, true, 0, this.data.length, this.opts.kind);
    c0.seek(f.offset);
    let len = BigInt(c0.u32());
    let is64 = false;
    if (len === 0xffffffffn) {
      len = c0.u64();
      is64 = true;
    }
    const c = c0.sub(c0.pos, c0.pos + Number(len));
    c.skip(is64 ? 8 : 4);
    this.readPointer(c, cie.fdeEncoding, cie.addressSize);
    this.readPointer(c, cie.fdeEncoding & 0x0f, cie.addressSize);
    if (cie.hasAugData) c.skip(c.uleb());
    const program = c.bytes(c.end - c.pos);

    const state: Row = { cfa: { kind: 'reg', reg: 7, offset: 0n }, regs: new Map() };
    const ctx = new Runner(this, cie, f, pc);
    ctx.exec(cie.initial, state, undefined);
    const initial: Row = { cfa: state.cfa, regs: new Map(state.regs) };
    ctx.exec(program, state, initial);
    return { row: ctx.toRow(state, ctx.loc), rows: ctx.rows };
  }

  /** For Runner: DW_CFA_set_loc operands. */
  pointer(c: Cursor, enc: number, size: number): bigint | undefined {
    return this.readPointer(c, enc, size);
  }
}

interface Row {
  cfa: CfaRule;
  regs: Map<number, RegRule>;
}

/** Executes CFA programs, stopping once the location passes the target pc. */
class Runner {
  loc: bigint;
  readonly rows: CfiRow[] = [];
  private done = false;
  private steps = 0;

  constructor(
    private readonly sec: CfiSection,
    private readonly cie: Cie,
    private readonly fde: FdeEntry,
    private readonly pc: bigint,
  ) {
    this.loc = fde.start;
  }

  toRow(s: Row, loc: bigint): CfiRow {
    return { cfa: s.cfa, regs: new Map(s.regs), raReg: this.cie.raReg, signalFrame: this.cie.signalFrame, start: this.fde.start, end: this.fde.end, loc };
  }

  private advance(s: Row, to: bigint): void {
    if (this.done) return;
    if (to > this.pc) {
      this.done = true;
      return;
    }
    if (to !== this.loc) this.rows.push(this.toRow(s, this.loc));
    this.loc = to;
  }

  exec(prog: Buffer, s: Row, initial: Row | undefined): void {
    const c = new Cursor(prog, true, 0, prog.length, 'CFA program');
    const stack: Row[] = [];
    const cie = this.cie;
    const da = cie.dataAlign;
    const set = (reg: number, r: RegRule) => s.regs.set(reg, r);
    const restore = (reg: number) => {
      const r = initial?.regs.get(reg);
      if (r) s.regs.set(reg, r);
      else s.regs.delete(reg);
    };
    while (!c.atEnd() && !this.done) {
      if (++this.steps > MAX_STEPS) c.fail('CFA program too long');
      const op = c.u8();
      const hi = op & 0xc0;
      const low = op & 0x3f;
      if (hi === 0x40) {
        this.advance(s, this.loc + BigInt(low) * cie.codeAlign);
        continue;
      }
      if (hi === 0x80) {
        set(low, { kind: 'offset', offset: c.ulebBig() * da });
        continue;
      }
      if (hi === 0xc0) {
        restore(low);
        continue;
      }
      switch (op) {
        case 0x00: // nop
          break;
        case 0x01: {
          // set_loc
          const a = this.sec.pointer(c, cie.fdeEncoding, cie.addressSize);
          if (a !== undefined) this.advance(s, a);
          break;
        }
        case 0x02:
          this.advance(s, this.loc + BigInt(c.u8()) * cie.codeAlign);
          break;
        case 0x03:
          this.advance(s, this.loc + BigInt(c.u16()) * cie.codeAlign);
          break;
        case 0x04:
          this.advance(s, this.loc + BigInt(c.u32()) * cie.codeAlign);
          break;
        case 0x1d: // MIPS_advance_loc8
          this.advance(s, this.loc + c.u64() * cie.codeAlign);
          break;
        case 0x05: {
          const r = c.uleb();
          set(r, { kind: 'offset', offset: c.ulebBig() * da });
          break;
        }
        case 0x06:
          restore(c.uleb());
          break;
        case 0x07:
          set(c.uleb(), { kind: 'undefined' });
          break;
        case 0x08:
          set(c.uleb(), { kind: 'same' });
          break;
        case 0x09: {
          const r = c.uleb();
          set(r, { kind: 'register', reg: c.uleb() });
          break;
        }
        case 0x0a:
          if (stack.length >= MAX_STATE_STACK) c.fail('remember_state nested too deeply');
          stack.push({ cfa: s.cfa, regs: new Map(s.regs) });
          break;
        case 0x0b: {
          const top = stack.pop();
          if (!top) throw new Error('restore_state without remember_state');
          // The CFA rule is part of the remembered state too (DWARF 5 6.4.2.4).
          s.cfa = top.cfa;
          s.regs = top.regs;
          break;
        }
        case 0x0c: {
          const reg = c.uleb();
          s.cfa = { kind: 'reg', reg, offset: c.ulebBig() };
          break;
        }
        case 0x0d: {
          const reg = c.uleb();
          s.cfa = s.cfa.kind === 'reg' ? { kind: 'reg', reg, offset: s.cfa.offset } : { kind: 'reg', reg, offset: 0n };
          break;
        }
        case 0x0e: {
          const off = c.ulebBig();
          if (s.cfa.kind === 'reg') s.cfa = { ...s.cfa, offset: off };
          break;
        }
        case 0x0f:
          s.cfa = { kind: 'expr', expr: Buffer.from(c.bytes(c.uleb())) };
          break;
        case 0x10: {
          const r = c.uleb();
          set(r, { kind: 'expression', expr: Buffer.from(c.bytes(c.uleb())) });
          break;
        }
        case 0x11: {
          const r = c.uleb();
          set(r, { kind: 'offset', offset: c.slebBig() * da });
          break;
        }
        case 0x12: {
          const reg = c.uleb();
          s.cfa = { kind: 'reg', reg, offset: c.slebBig() * da };
          break;
        }
        case 0x13: {
          const off = c.slebBig() * da;
          if (s.cfa.kind === 'reg') s.cfa = { ...s.cfa, offset: off };
          break;
        }
        case 0x14: {
          const r = c.uleb();
          set(r, { kind: 'val_offset', offset: c.ulebBig() * da });
          break;
        }
        case 0x15: {
          const r = c.uleb();
          set(r, { kind: 'val_offset', offset: c.slebBig() * da });
          break;
        }
        case 0x16: {
          const r = c.uleb();
          set(r, { kind: 'val_expression', expr: Buffer.from(c.bytes(c.uleb())) });
          break;
        }
        case 0x2e: // GNU_args_size: only matters for unwinding through landing pads
          c.uleb();
          break;
        case 0x2f: {
          // GNU_negative_offset_extended
          const r = c.uleb();
          set(r, { kind: 'offset', offset: -c.ulebBig() * da });
          break;
        }
        default:
          c.fail(`unknown DW_CFA operation 0x${op.toString(16)}`);
      }
    }
  }
}
