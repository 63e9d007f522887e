/**
 * DWARF 2-5 core: sections, abbreviation tables, unit headers and DIEs with every form gcc and
 * clang emit. A DIE is read on demand at an offset; nothing is decoded ahead of need.
 *
 * All offsets are offsets into .debug_info. Reads go through the bounds-checked Cursor: a
 * truncated or malicious unit throws a FormatError for that unit, which callers catch per unit.
 */
import { Cursor, FormatError, stringAt } from '../binary/cursor';
import { abbrevIndex, parseAbbrevTable, type AbbrevTable } from './abbrevs';
import * as C from './constants';
import { findContaining, lastAtOrBefore } from '../../util/search';
import { fixedFormSize } from './forms';
// Local bindings: module-namespace getters in hot switch statements are slow under some loaders.
const { DW_AT, DW_FORM, DW_TAG, DW_UT } = C;

const DW_AT_producer = 0x25;
/** Unit DIE attributes that are plain numbers, by the Unit field they set: the section bases… */
const UNIT_BASES = new Map<number, 'strOffsetsBase' | 'addrBase' | 'rnglistsBase' | 'loclistsBase'>([
  [DW_AT.str_offsets_base, 'strOffsetsBase'],
  [DW_AT.addr_base, 'addrBase'],
  [DW_AT.GNU_addr_base, 'addrBase'],
  [DW_AT.rnglists_base, 'rnglistsBase'],
  [DW_AT.loclists_base, 'loclistsBase'],
]);
/** …and the rest. */
const UNIT_NUMBERS = new Map<number, 'language' | 'stmtList' | 'rangesOffset'>([
  [DW_AT.language, 'language'],
  [DW_AT.stmt_list, 'stmtList'],
  [DW_AT.ranges, 'rangesOffset'],
]);

export interface DwarfSections {
  info: Buffer;
  abbrev: Buffer;
  str?: Buffer;
  lineStr?: Buffer;
  strOffsets?: Buffer;
  addr?: Buffer;
  ranges?: Buffer;
  rnglists?: Buffer;
  loclists?: Buffer;
  loc?: Buffer;
  line?: Buffer;
  aranges?: Buffer;
  littleEndian: boolean;
  /** The file the sections come from, named in errors about malformed data. */
  file?: string;
  /** ELF class address size, used when a unit header does not say (never for v2+, but safe). */
  addressSize: number;
  /**
   * DWARF 4 .debug_types, appended to `info` by the owner: units at or past this offset are type
   * units with the v4 type-unit header. Their unit-relative references stay right, and
   * DW_FORM_ref_addr (always into .debug_info proper) is below it.
   */
  typesStart?: number;
}

export interface AbbrevAttr {
  at: number;
  form: number;
  /** For DW_FORM_implicit_const. */
  implicit?: bigint;
}

export interface Abbrev {
  code: number;
  tag: number;
  hasChildren: boolean;
  attrs: AbbrevAttr[];
  /** Byte size of all attributes when every form has a fixed size for this unit, else -1. */
  fixedSize: number;
  /**
   * Byte offset of the DW_AT_sibling value from the start of the attributes when every attribute
   * before it has a fixed size, and its form; -1 when unknown (-2: not computed yet). Lets the
   * index jump over a subtree without reading it.
   */
  siblingAt: number;
  siblingForm: number;
}

export interface Unit {
  offset: number;
  /** Offset just past the unit. */
  end: number;
  version: number;
  unitType: number;
  addressSize: number;
  offsetSize: 4 | 8;
  abbrevOffset: number;
  abbrevs: Map<number, Abbrev>;
  /** The same abbreviations indexed by code (codes are dense in practice): the scan's fast path. */
  abbrevList: Array<Abbrev | undefined>;
  /** Offset of the first DIE. */
  dieOffset: number;
  typeSignature?: bigint;
  typeOffset?: number;
  // Filled from the unit DIE:
  name?: string;
  compDir?: string;
  producer?: string;
  language?: number;
  lowPc?: bigint;
  stmtList?: number;
  strOffsetsBase: number;
  addrBase: number;
  rnglistsBase: number;
  loclistsBase: number;
  rangesOffset?: number;
  /** Error that stopped parsing this unit, if any. */
  error?: string;
}

export type AttrValue = number | bigint | string | Buffer | boolean;

export interface Attr {
  at: number;
  form: number;
  /** ref forms: absolute .debug_info offset; strp/line_strp: string offset; strx: index; etc. */
  value: AttrValue;
}

export interface Die {
  offset: number;
  tag: number;
  hasChildren: boolean;
  attrs: Attr[];
  /** Offset just past this DIE's attributes (its first child when hasChildren). */
  next: number;
  unit: Unit;
}

export class DwarfReader {
  readonly s: DwarfSections;
  private readonly abbrevCache = new Map<number, Map<number, Abbrev>>();
  private readonly abbrevLists = new Map<number, Array<Abbrev | undefined>>();
  private readonly compactCache = new Map<number, AbbrevTable>();
  private unitsCache?: Unit[];
  readonly unitErrors: string[] = [];
  /** Type unit signature → offset of its type DIE (DW_FORM_ref_sig8 targets). */
  readonly signatures = new Map<bigint, number>();

  constructor(sections: DwarfSections) {
    this.s = sections;
  }

  cursor(buf: Buffer, start = 0, what = ''): Cursor {
    const c = new Cursor(buf, this.s.littleEndian, 0, buf.length, this.s.file && what ? `${what} of ${this.s.file}` : what);
    c.seek(start);
    return c;
  }

  /** The abbreviation table at `offset` in typed arrays (parsed once; what the index scan and unit headers use). */
  compactAbbrevs(offset: number): AbbrevTable {
    let t = this.compactCache.get(offset);
    if (!t) {
      t = parseAbbrevTable(this.cursor(this.s.abbrev, offset, '.debug_abbrev'));
      this.compactCache.set(offset, t);
    }
    return t;
  }

  /** The abbreviation table at `offset` as objects (built on first use, from compactAbbrevs). */
  abbrevTable(offset: number): Map<number, Abbrev> {
    const hit = this.abbrevCache.get(offset);
    if (hit) return hit;
    const t = this.compactAbbrevs(offset);
    const table = new Map<number, Abbrev>();
    for (let i = 0; i < t.count; i++) {
      const attrs: AbbrevAttr[] = [];
      for (let k = t.first[i]; k < t.first[i + 1]; k++) {
        const a: AbbrevAttr = { at: t.at[k], form: t.form[k] };
        if (a.form === DW_FORM.implicit_const) a.implicit = t.implicit?.get(k) ?? 0n;
        attrs.push(a);
      }
      table.set(t.code[i], { code: t.code[i], tag: t.tag[i], hasChildren: t.children[i] !== 0, attrs, fixedSize: -2, siblingAt: -2, siblingForm: 0 });
    }
    this.abbrevCache.set(offset, table);
    return table;
  }

  /** The same abbreviations indexed by code (codes are dense in practice). */
  abbrevListAt(offset: number): Array<Abbrev | undefined> {
    let list = this.abbrevLists.get(offset);
    if (!list) {
      list = [];
      for (const [code, ab] of this.abbrevTable(offset)) if (code < 100_000) list[code] = ab;
      this.abbrevLists.set(offset, list);
    }
    return list;
  }

  /**
   * Sorted start offsets of the units, when a persistent name index already knows them: then
   * unitAt() reads just the unit asked for instead of every unit header (and its abbreviation
   * table and unit DIE), which is most of a warm start on a program with thousands of units.
   */
  private knownStarts?: number[];
  /** Units read one at a time through knownStarts; units() reuses them (one object per unit). */
  private readonly lazyUnits = new Map<number, Unit>();

  /** Tells the reader where units start (from a validated index cache); see knownStarts. */
  knowUnitStarts(starts: number[]): void {
    if (!this.unitsCache) this.knownStarts = starts;
  }

  /** Sorted start offsets of all units (reads every header unless a cache supplied them). */
  unitStarts(): number[] {
    return this.knownStarts ?? this.units().map((u) => u.offset);
  }

  private unitStartingAt(off: number): Unit | undefined {
    const hit = this.lazyUnits.get(off);
    if (hit) return hit;
    let u: Unit;
    try {
      u = this.readUnitHeader(off);
    } catch {
      return undefined;
    }
    try {
      this.readUnitDie(u);
    } catch (e) {
      u.error = (e as Error).message;
    }
    this.lazyUnits.set(off, u);
    return u;
  }

  /** All units in .debug_info; a unit whose header is unreadable ends the walk with an error. */
  units(): Unit[] {
    if (this.unitsCache) return this.unitsCache;
    const out: Unit[] = [];
    const info = this.s.info;
    let off = 0;
    while (off < info.length) {
      let u: Unit;
      const known = this.lazyUnits.get(off);
      try {
        u = known ?? this.readUnitHeader(off);
      } catch (e) {
        this.unitErrors.push(`unit at 0x${off.toString(16)}: ${(e as Error).message}`);
        break;
      }
      if (known) {
        if (u.error) this.unitErrors.push(`unit at 0x${off.toString(16)}: ${u.error}`);
      } else {
        try {
          this.readUnitDie(u);
        } catch (e) {
          u.error = (e as Error).message;
          this.unitErrors.push(`unit at 0x${off.toString(16)}: ${u.error}`);
        }
      }
      out.push(u);
      if (u.typeSignature !== undefined && u.typeOffset !== undefined) this.signatures.set(u.typeSignature, u.typeOffset);
      off = u.end;
    }
    this.unitsCache = out;
    return out;
  }

  readUnitHeader(off: number): Unit {
    const c = this.cursor(this.s.info, off, '.debug_info');
    let length = c.u32();
    let offsetSize: 4 | 8 = 4;
    if (length === 0xffffffff) {
      length = c.u64n();
      offsetSize = 8;
    } else if (length >= 0xfffffff0) c.fail(`reserved unit length 0x${length.toString(16)}`, off);
    const end = c.pos + length;
    if (end > this.s.info.length) c.fail(`unit length 0x${length.toString(16)} runs past the end of .debug_info (${this.s.info.length} bytes)`, off);
    const uc = c.sub(c.pos, end, '.debug_info');
    const version = uc.u16();
    if (version < 2 || version > 5) uc.fail(`unsupported DWARF version ${version}`, off);
    let unitType: number = DW_UT.compile;
    let abbrevOffset: number;
    let addressSize: number;
    let typeSignature: bigint | undefined;
    let typeOffset: number | undefined;
    if (version >= 5) {
      unitType = uc.u8();
      addressSize = uc.u8();
      abbrevOffset = uc.uNn(offsetSize);
      if (unitType === DW_UT.type || unitType === DW_UT.split_type) {
        typeSignature = uc.u64();
        typeOffset = off + uc.uNn(offsetSize);
      } else if (unitType === DW_UT.skeleton || unitType === DW_UT.split_compile) {
        uc.u64(); // dwo id
      }
    } else {
      abbrevOffset = uc.uNn(offsetSize);
      addressSize = uc.u8();
      if (this.s.typesStart !== undefined && off >= this.s.typesStart) {
        unitType = DW_UT.type;
        typeSignature = uc.u64();
        typeOffset = off + uc.uNn(offsetSize);
      }
    }
    if (addressSize !== 4 && addressSize !== 8 && addressSize !== 2) uc.fail(`unsupported address size ${addressSize}`, off);
    // Parsed now (a broken table fails the unit header, as before); the objects only when used.
    this.compactAbbrevs(abbrevOffset);
    const reader = this;
    return {
      get abbrevList() {
        return reader.abbrevListAt(abbrevOffset);
      },
      get abbrevs() {
        return reader.abbrevTable(abbrevOffset);
      },
      offset: off,
      end,
      version,
      unitType,
      addressSize,
      offsetSize,
      abbrevOffset,
      dieOffset: uc.pos,
      typeSignature,
      typeOffset,
      // Every field present from the start: units share one shape (monomorphic lookups).
      name: undefined,
      compDir: undefined,
      producer: undefined,
      language: undefined,
      lowPc: undefined,
      stmtList: undefined,
      rangesOffset: undefined,
      error: undefined,
      strOffsetsBase: 8,
      addrBase: 8,
      rnglistsBase: 0,
      loclistsBase: 0,
    };
  }

  private readUnitDie(u: Unit): void {
    // Through the compact table: reading every unit's DIE must not build every unit's Abbrev objects.
    const t = this.compactAbbrevs(u.abbrevOffset);
    const c = this.cursor(this.s.info, 0, '.debug_info').sub(u.offset, u.end);
    c.seek(u.dieOffset);
    const code = c.uleb();
    if (code === 0) return;
    const i = abbrevIndex(t, code);
    if (i < 0) c.fail(`unknown abbreviation code ${code}`, u.dieOffset);
    const die = { attrs: [] as Attr[] };
    for (let k = t.first[i]; k < t.first[i + 1]; k++) {
      const form = t.form[k];
      die.attrs.push({ at: t.at[k], form, value: this.readForm(c, u, form, form === DW_FORM.implicit_const ? (t.implicit?.get(k) ?? 0n) : undefined) });
    }
    // Bases first: other attributes of the unit DIE (strx names) depend on them.
    for (const a of die.attrs) {
      const base = UNIT_BASES.get(a.at);
      if (base) u[base] = Number(a.value);
    }
    for (const a of die.attrs) {
      const number = UNIT_NUMBERS.get(a.at);
      if (number) u[number] = Number(a.value);
      else if (a.at === DW_AT.name) u.name = this.str(u, a);
      else if (a.at === DW_AT.comp_dir) u.compDir = this.str(u, a);
      else if (a.at === DW_AT_producer) u.producer = this.str(u, a);
      else if (a.at === DW_AT.low_pc) u.lowPc = this.address(u, a);
    }
  }

  /** Reads the DIE at `off` (absolute). Returns undefined for a null entry (end of siblings). */
  readDie(u: Unit, off: number): Die | undefined {
    const c = this.cursor(this.s.info, 0, '.debug_info');
    const sc = c.sub(u.offset, u.end);
    sc.seek(off);
    const code = sc.uleb();
    if (code === 0) return undefined;
    const ab = u.abbrevs.get(code) ?? sc.fail(`unknown abbreviation code ${code}`, off);
    const attrs: Attr[] = new Array(ab.attrs.length);
    for (let i = 0; i < ab.attrs.length; i++) {
      const spec = ab.attrs[i];
      attrs[i] = { at: spec.at, form: spec.form, value: this.readForm(sc, u, spec.form, spec.implicit) };
    }
    return { offset: off, tag: ab.tag, hasChildren: ab.hasChildren, attrs, next: sc.pos, unit: u };
  }

  /** Reads one attribute value of `form` at the cursor. */
  readForm(c: Cursor, u: Unit, form: number, implicit?: bigint, depth = 0): AttrValue {
    switch (form) {
      case DW_FORM.addr:
        return c.addr(u.addressSize);
      case DW_FORM.data1:
      case DW_FORM.ref1:
      case DW_FORM.flag:
      case DW_FORM.strx1:
      case DW_FORM.addrx1:
        return this.refFix(form, u, c.u8());
      case DW_FORM.data2:
      case DW_FORM.ref2:
      case DW_FORM.strx2:
      case DW_FORM.addrx2:
        return this.refFix(form, u, c.u16());
      case DW_FORM.strx3:
      case DW_FORM.addrx3:
        return c.u24();
      case DW_FORM.data4:
      case DW_FORM.ref4:
      case DW_FORM.strx4:
      case DW_FORM.addrx4:
      case DW_FORM.ref_sup4:
        return this.refFix(form, u, c.u32());
      case DW_FORM.data8:
        return c.u64();
      case DW_FORM.ref8:
        return this.refFix(form, u, c.u64n());
      case DW_FORM.ref_sig8:
      case DW_FORM.ref_sup8:
        return c.u64();
      case DW_FORM.data16:
        return c.bytes(16);
      case DW_FORM.sdata:
        return c.slebBig();
      case DW_FORM.udata:
        return c.ulebBig();
      case DW_FORM.ref_udata:
        return this.refFix(form, u, c.uleb());
      case DW_FORM.strx:
      case DW_FORM.addrx:
      case DW_FORM.loclistx:
      case DW_FORM.rnglistx:
      case DW_FORM.GNU_addr_index:
      case DW_FORM.GNU_str_index:
        return c.uleb();
      case DW_FORM.string:
        return c.cstr();
      case DW_FORM.strp:
      case DW_FORM.line_strp:
      case DW_FORM.sec_offset:
      case DW_FORM.strp_sup:
      case DW_FORM.GNU_ref_alt:
      case DW_FORM.GNU_strp_alt:
        return c.uNn(u.offsetSize);
      case DW_FORM.ref_addr:
        return c.uNn(u.version <= 2 ? u.addressSize : u.offsetSize);
      case DW_FORM.block1:
        return c.bytes(c.u8());
      case DW_FORM.block2:
        return c.bytes(c.u16());
      case DW_FORM.block4:
        return c.bytes(c.u32());
      case DW_FORM.block:
      case DW_FORM.exprloc:
        return c.bytes(c.uleb());
      case DW_FORM.flag_present:
        return true;
      case DW_FORM.implicit_const:
        return implicit ?? 0n;
      case DW_FORM.indirect: {
        if (depth > 4) c.fail('DW_FORM_indirect nested too deeply');
        const f = c.uleb();
        return this.readForm(c, u, f, implicit, depth + 1);
      }
      default:
        return c.fail(`unknown DW_FORM 0x${form.toString(16)}`);
    }
  }

  private refFix(form: number, u: Unit, v: number): number {
    switch (form) {
      case DW_FORM.ref1:
      case DW_FORM.ref2:
      case DW_FORM.ref4:
      case DW_FORM.ref8:
      case DW_FORM.ref_udata:
        return u.offset + v;
      default:
        return v;
    }
  }

  /** Byte size of a form when it does not depend on the data (-1 otherwise). */
  formSize(u: Unit, form: number): number {
    return fixedFormSize(form, u.addressSize, u.offsetSize, u.version);
  }

  // ---- attribute value helpers -------------------------------------------------------------

  /** String value of a string-class attribute (string, strp, line_strp, strx*). */
  str(u: Unit, a: Attr): string {
    const v = a.value;
    switch (a.form) {
      case DW_FORM.string:
        return v as string;
      case DW_FORM.strp:
        return stringAt(this.need(this.s.str, '.debug_str'), v as number, '.debug_str');
      case DW_FORM.line_strp:
        return stringAt(this.need(this.s.lineStr, '.debug_line_str'), v as number, '.debug_line_str');
      case DW_FORM.strx:
      case DW_FORM.strx1:
      case DW_FORM.strx2:
      case DW_FORM.strx3:
      case DW_FORM.strx4:
      case DW_FORM.GNU_str_index: {
        const so = this.need(this.s.strOffsets, '.debug_str_offsets');
        const c = this.cursor(so, 0, '.debug_str_offsets');
        c.seek(u.strOffsetsBase + (v as number) * u.offsetSize);
        const off = c.uNn(u.offsetSize);
        return stringAt(this.need(this.s.str, '.debug_str'), off, '.debug_str');
      }
      case DW_FORM.GNU_strp_alt:
      case DW_FORM.strp_sup:
        return '<string in supplementary file>';
      default:
        throw new FormatError(`attribute 0x${a.at.toString(16)} has form 0x${a.form.toString(16)}, not a string`, 0, '.debug_info');
    }
  }

  /** Address value of an address-class attribute (addr, addrx*). */
  address(u: Unit, a: Attr): bigint {
    switch (a.form) {
      case DW_FORM.addr:
        return a.value as bigint;
      case DW_FORM.addrx:
      case DW_FORM.addrx1:
      case DW_FORM.addrx2:
      case DW_FORM.addrx3:
      case DW_FORM.addrx4:
      case DW_FORM.GNU_addr_index:
        return this.addrIndex(u, a.value as number);
      default:
        return toBig(a.value);
    }
  }

  addrIndex(u: Unit, index: number): bigint {
    const sec = this.need(this.s.addr, '.debug_addr');
    const c = this.cursor(sec, 0, '.debug_addr');
    c.seek(u.addrBase + index * u.addressSize);
    return c.addr(u.addressSize);
  }

  private need(b: Buffer | undefined, name: string): Buffer {
    if (!b) throw new FormatError(`${name} is missing`, 0, name);
    return b;
  }

  /** Unsigned constant (data*, udata, sdata) as number; undefined for non-constant forms. */
  static constant(a: Attr | undefined): number | undefined {
    if (!a) return undefined;
    const v = a.value;
    if (typeof v === 'number') return v;
    if (typeof v === 'bigint') return Number(v);
    if (typeof v === 'boolean') return v ? 1 : 0;
    return undefined;
  }

  /**
   * Address ranges of a DIE: low_pc/high_pc or DW_AT_ranges (.debug_ranges for v2-4,
   * .debug_rnglists for v5). Returns [] when the DIE has no code.
   */
  dieRanges(die: Die): Array<[bigint, bigint]> {
    const u = die.unit;
    let low: bigint | undefined;
    let high: Attr | undefined;
    let ranges: Attr | undefined;
    for (const a of die.attrs) {
      if (a.at === DW_AT.low_pc) low = this.address(u, a);
      else if (a.at === DW_AT.high_pc) high = a;
      else if (a.at === DW_AT.ranges) ranges = a;
    }
    if (low !== undefined && high) {
      const isAddr = high.form === DW_FORM.addr || (high.form >= DW_FORM.addrx1 && high.form <= DW_FORM.addrx4) || high.form === DW_FORM.addrx;
      const hi = isAddr ? this.address(u, high) : low + toBig(high.value);
      return hi > low ? [[low, hi]] : [];
    }
    if (ranges) return this.rangeList(u, ranges, die.tag === DW_TAG.compile_unit ? 0n : (u.lowPc ?? 0n));
    return [];
  }

  /** Reads a range list; `base` is the unit's base address. */
  rangeList(u: Unit, a: Attr, base: bigint): Array<[bigint, bigint]> {
    const out: Array<[bigint, bigint]> = [];
    if (u.lowPc !== undefined) base = u.lowPc;
    if (u.version < 5) {
      const sec = this.s.ranges;
      if (!sec) return out;
      const c = this.cursor(sec, Number(a.value), '.debug_ranges');
      const max = u.addressSize === 8 ? 0xffffffffffffffffn : 0xffffffffn;
      for (let i = 0; i < 1_000_000; i++) {
        const s = c.addr(u.addressSize);
        const e = c.addr(u.addressSize);
        if (s === 0n && e === 0n) break;
        if (s === max) {
          base = e;
          continue;
        }
        if (e > s) out.push([base + s, base + e]);
      }
      return out;
    }
    const sec = this.s.rnglists;
    if (!sec) return out;
    let off: number;
    if (a.form === DW_FORM.rnglistx) {
      const c = this.cursor(sec, u.rnglistsBase + (a.value as number) * u.offsetSize, '.debug_rnglists');
      off = u.rnglistsBase + c.uNn(u.offsetSize);
    } else off = Number(a.value);
    const c = this.cursor(sec, off, '.debug_rnglists');
    for (let i = 0; i < 1_000_000; i++) {
      const kind = c.u8();
      if (kind === 0) break; // end_of_list
      switch (kind) {
        case 1: // base_addressx
          base = this.addrIndex(u, c.uleb());
          break;
        case 2: {
          // startx_endx
          const s = this.addrIndex(u, c.uleb());
          const e = this.addrIndex(u, c.uleb());
          if (e > s) out.push([s, e]);
          break;
        }
        case 3: {
          // startx_length
          const s = this.addrIndex(u, c.uleb());
          const len = c.ulebBig();
          if (len > 0n) out.push([s, s + len]);
          break;
        }
        case 4: {
          // offset_pair
          const s = c.ulebBig();
          const e = c.ulebBig();
          if (e > s) out.push([base + s, base + e]);
          break;
        }
        case 5: // base_address
          base = c.addr(u.addressSize);
          break;
        case 6: {
          // start_end
          const s = c.addr(u.addressSize);
          const e = c.addr(u.addressSize);
          if (e > s) out.push([s, e]);
          break;
        }
        case 7: {
          // start_length
          const s = c.addr(u.addressSize);
          const len = c.ulebBig();
          if (len > 0n) out.push([s, s + len]);
          break;
        }
        default:
          c.fail(`unknown range list entry kind ${kind}`);
      }
    }
    return out;
  }

  /** The .debug_info offset a reference attribute points to (ref forms and ref_sig8). */
  refTarget(a: Attr | undefined): number | undefined {
    if (!a) return undefined;
    if (typeof a.value === 'number') return a.value;
    if (a.form === DW_FORM.ref_sig8 && typeof a.value === 'bigint') {
      this.units();
      return this.signatures.get(a.value);
    }
    return undefined;
  }

  /** The unit containing a .debug_info offset (binary search). */
  unitAt(off: number): Unit | undefined {
    // Lookups come in runs within one unit (an index resolving names, a type being built).
    const last = this.lastUnit;
    if (last && off >= last.offset && off < last.end) return last;
    const u = this.findUnit(off);
    if (u) this.lastUnit = u;
    return u;
  }

  private lastUnit?: Unit;

  private findUnit(off: number): Unit | undefined {
    const starts = this.unitsCache ? undefined : this.knownStarts;
    if (starts) {
      const best = lastAtOrBefore(starts, off, (s) => s);
      const u = best >= 0 ? this.unitStartingAt(starts[best]) : undefined;
      return u && off < u.end ? u : undefined;
    }
    const us = this.units();
    return findContaining(us, off, 'offset', 'end');
  }

  /** Reads the DIE at an absolute offset (finding its unit). */
  dieAt(off: number): Die | undefined {
    const u = this.unitAt(off);
    return u ? this.readDie(u, off) : undefined;
  }

  /**
   * Offset of the next sibling of `die`: DW_AT_sibling when present, else by walking the
   * children (bounded by the unit end).
   */
  siblingOf(die: Die): number {
    if (!die.hasChildren) return die.next;
    for (const a of die.attrs) if (a.at === DW_AT.sibling && typeof a.value === 'number' && a.value > die.offset && a.value <= die.unit.end) return a.value;
    let depth = 1;
    let off = die.next;
    const u = die.unit;
    while (depth > 0) {
      if (off >= u.end) return u.end;
      const d = this.readDieSkip(u, off);
      if (d.code === 0) {
        depth--;
        off = d.next;
        continue;
      }
      if (d.hasChildren) depth++;
      off = d.next;
    }
    return off;
  }

  /** Children of a DIE (direct only). */
  children(die: Die): Die[] {
    const out: Die[] = [];
    if (!die.hasChildren) return out;
    let off = die.next;
    const u = die.unit;
    while (off < u.end) {
      const d = this.readDie(u, off);
      if (!d) break;
      out.push(d);
      off = this.siblingOf(d);
    }
    return out;
  }

  /**
   * Skips one DIE without materializing attribute values (fast path for the index scan).
   * Returns its abbreviation code (0 for a null entry), children flag and the offset past it.
   */
  readDieSkip(u: Unit, off: number): { code: number; tag: number; hasChildren: boolean; next: number; abbrev?: Abbrev } {
    const c = this.cursor(this.s.info, 0, '.debug_info').sub(u.offset, u.end);
    c.seek(off);
    const code = c.uleb();
    if (code === 0) return { code, tag: 0, hasChildren: false, next: c.pos };
    const ab = u.abbrevs.get(code) ?? c.fail(`unknown abbreviation code ${code}`, off);
    this.skipAttrs(c, u, ab);
    return { code, tag: ab.tag, hasChildren: ab.hasChildren, next: c.pos, abbrev: ab };
  }

  /**
   * Skips a DIE's attributes and, when it has children, its whole subtree, by DW_AT_sibling
   * read at a fixed position when the abbreviation allows it (no attribute decoding at all).
   * Returns false when the subtree must be walked (the cursor is then past the attributes).
   */
  skipSubtree(c: Cursor, u: Unit, ab: Abbrev): boolean {
    if (ab.siblingAt === -2) {
      ab.siblingAt = -1;
      let at = 0;
      for (const a of ab.attrs) {
        if (a.at === DW_AT.sibling) {
          if (a.form === DW_FORM.ref4 || a.form === DW_FORM.ref2 || a.form === DW_FORM.ref1 || a.form === DW_FORM.ref8) {
            ab.siblingAt = at;
            ab.siblingForm = a.form;
          }
          break;
        }
        const sz = this.formSize(u, a.form);
        if (sz < 0) break;
        at += sz;
      }
    }
    if (ab.hasChildren && ab.siblingAt >= 0) {
      const p = c.pos + ab.siblingAt;
      let rel = -1;
      if (p + 4 <= c.end) {
        const b = c.buf;
        switch (ab.siblingForm) {
          case DW_FORM.ref4:
            rel = this.s.littleEndian ? b.readUInt32LE(p) : b.readUInt32BE(p);
            break;
          case DW_FORM.ref2:
            rel = this.s.littleEndian ? b.readUInt16LE(p) : b.readUInt16BE(p);
            break;
          case DW_FORM.ref1:
            rel = b[p];
            break;
        }
      }
      const target = u.offset + rel;
      if (rel > 0 && target > c.pos && target <= u.end) {
        c.seek(target);
        return true;
      }
    }
    this.skipAttrs(c, u, ab);
    return !ab.hasChildren;
  }

  skipAttrs(c: Cursor, u: Unit, ab: Abbrev): void {
    if (ab.fixedSize === -2) {
      let total = 0;
      for (const a of ab.attrs) {
        const s = this.formSize(u, a.form);
        if (s < 0) {
          total = -1;
          break;
        }
        total += s;
      }
      ab.fixedSize = total;
    }
    if (ab.fixedSize >= 0) {
      c.skip(ab.fixedSize);
      return;
    }
    for (const a of ab.attrs) this.skipForm(c, u, a.form);
  }

  skipForm(c: Cursor, u: Unit, form: number, depth = 0): void {
    const s = this.formSize(u, form);
    if (s >= 0) {
      c.skip(s);
      return;
    }
    switch (form) {
      case DW_FORM.sdata:
      case DW_FORM.udata:
      case DW_FORM.ref_udata:
      case DW_FORM.strx:
      case DW_FORM.addrx:
      case DW_FORM.loclistx:
      case DW_FORM.rnglistx:
      case DW_FORM.GNU_addr_index:
      case DW_FORM.GNU_str_index:
        c.skipLeb();
        return;
      case DW_FORM.string:
        c.skipCstr();
        return;
      case DW_FORM.block1:
        c.skip(c.u8());
        return;
      case DW_FORM.block2:
        c.skip(c.u16());
        return;
      case DW_FORM.block4:
        c.skip(c.u32());
        return;
      case DW_FORM.block:
      case DW_FORM.exprloc:
        c.skip(c.uleb());
        return;
      case DW_FORM.indirect:
        if (depth > 4) c.fail('DW_FORM_indirect nested too deeply');
        this.skipForm(c, u, c.uleb(), depth + 1);
        return;
      default:
        c.fail(`unknown DW_FORM 0x${form.toString(16)}`);
    }
  }
}

export function attr(die: Die, at: number): Attr | undefined {
  for (const a of die.attrs) if (a.at === at) return a;
  return undefined;
}

export function toBig(v: AttrValue): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return BigInt(v);
  if (typeof v === 'boolean') return v ? 1n : 0n;
  if (Buffer.isBuffer(v)) {
    let r = 0n;
    for (let i = Math.min(v.length, 16) - 1; i >= 0; i--) r = (r << 8n) | BigInt(v[i]);
    return r;
  }
  return 0n;
}
