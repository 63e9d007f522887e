/**
 * The cold name scan of DwarfInfo.index(): walks every DIE of a range of units and records the
 * globals, statics, function statics and functions it finds as compact records (numbers and
 * string ids), without materializing DIEs, attributes or index entries.
 *
 * Profiles of a cold `eval` on CPython (17.6 MB of DWARF, ~1 M DIEs) showed the walk itself,
 * not the entries, as the cost: a Cursor call per LEB, a switch per attribute form, a string
 * decode per named DIE and an object per abbreviation. Here each abbreviation table is compiled
 * once into typed arrays (tag, children, fixed size, where DW_AT_sibling sits, attribute sizes),
 * bytes are read straight from the buffer, and a name is decoded once per .debug_str offset.
 *
 * The records keep the scan's order, so DwarfInfo builds exactly the maps the object-per-entry
 * scan built. A range of units can be scanned anywhere (a worker thread: scanWorker.ts), since
 * the result holds no objects of the reader.
 *
 * Malformed input fails the unit with the Cursor's FormatError (same messages as the reader).
 */
import { Cursor, stringAt } from '../binary/cursor';
import { abbrevIndex, type AbbrevTable } from './abbrevs';
import * as C from './constants';
import type { DwarfReader, Unit } from './reader';
import { fixedFormSize } from './forms';
const { DW_AT, DW_FORM, DW_TAG, DW_UT } = C;

/**
 * Per-variable record: name id, die, unit index, fn id (-1 none), fn origin (-1 none: else the
 * function is named through that DIE when fn is none or ''), flags. Variables named through
 * DW_AT_specification / abstract_origin have the origin's offset in place of the name id.
 */
export const VAR_WORDS = 6;
/** Per-function record: name id (or the origin's offset), die, unit index, flags. */
export const FN_WORDS = 4;
/** Variable flags: scope (0 global, 1 file-static, 2 function-static) | 4 declaration | 8 constOnly | 16 check the origin's DW_AT_external. */
export const VF_DECL = 4;
export const VF_CONST = 8;
export const VF_ORIGIN_EXTERNAL = 16;
/** Function flags. */
export const FF_EXTERNAL = 1;
export const FF_DECL = 2;

/** What one scan of a range of units found (plain data: it crosses threads as it is). */
export interface ScanResult {
  /** String id → string (names, `ns::` prefixed names, function names). */
  strings: string[];
  vars: number[];
  fns: number[];
  /** Entries named through another DIE (the name id is that DIE's offset). */
  pendingVars: number[];
  pendingFns: number[];
  /** Unit index and message of each unit whose scan failed, in unit order. */
  errors: Array<[number, string]>;
  /** string → id (in the thread that scanned; not sent between threads). */
  ids?: Map<string, number>;
}

const CAT_OTHER = 0;
const CAT_VAR = 1;
const CAT_SUB = 2;
const CAT_TYPE = 3;
const CAT_NS = 4;
const CAT_LEX = 5;

function category(tag: number): number {
  switch (tag) {
    case DW_TAG.variable:
      return CAT_VAR;
    case DW_TAG.subprogram:
      return CAT_SUB;
    case DW_TAG.structure_type:
    case DW_TAG.union_type:
    case DW_TAG.enumeration_type:
    case DW_TAG.typedef:
    case DW_TAG.base_type:
    case DW_TAG.class_type:
      return CAT_TYPE;
    case DW_TAG.namespace:
      return CAT_NS;
    case DW_TAG.lexical_block:
      return CAT_LEX;
    default:
      return CAT_OTHER;
  }
}

/** One abbreviation table (abbrevs.ts) with what the scan needs for units of one address size, offset size and version. */
interface Plans {
  t: AbbrevTable;
  byCode: Int32Array;
  tag: Int32Array;
  cat: Uint8Array;
  children: Uint8Array;
  /** Bytes of all attributes when every form has a fixed size, else -1. */
  fixed: Int32Array;
  /** Offset of DW_AT_sibling (ref1/2/4) from the attributes' start when fixed before it, else -1; and its form. */
  sibAt: Int32Array;
  sibForm: Int32Array;
  first: Int32Array;
  at: Int32Array;
  form: Int32Array;
  /** Fixed size of each attribute's form, -1 when it depends on the data. */
  size: Int32Array;
  /** DW_AT_location: 1 an expression (block forms, or DW_FORM_indirect), 0 a location list or none. */
  locKind: Uint8Array;
}

function compilePlans(t: AbbrevTable, addressSize: number, offsetSize: number, version: number): Plans {
  const count = t.count;
  const nAttrs = t.at.length;
  const size = new Int32Array(nAttrs);
  for (let k = 0; k < nAttrs; k++) size[k] = fixedFormSize(t.form[k], addressSize, offsetSize, version);
  const cat = new Uint8Array(count);
  const fixed = new Int32Array(count);
  const sibAt = new Int32Array(count).fill(-1);
  const sibForm = new Int32Array(count);
  const locKind = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    cat[i] = category(t.tag[i]);
    for (let k = t.first[i]; k < t.first[i + 1]; k++) {
      if (t.at[k] !== DW_AT.location) continue;
      const f = t.form[k];
      if (f === DW_FORM.exprloc || f === DW_FORM.block || f === DW_FORM.block1 || f === DW_FORM.block2 || f === DW_FORM.block4 || f === DW_FORM.indirect)
        locKind[i] = 1;
    }
    let total = 0;
    let sibDone = false;
    for (let k = t.first[i]; k < t.first[i + 1]; k++) {
      if (!sibDone && t.at[k] === DW_AT.sibling) {
        sibDone = true;
        const f = t.form[k];
        if (total >= 0 && (f === DW_FORM.ref4 || f === DW_FORM.ref2 || f === DW_FORM.ref1 || f === DW_FORM.ref8)) {
          sibAt[i] = total;
          sibForm[i] = f;
        }
      }
      const s = size[k];
      if (s < 0) total = -1;
      else if (total >= 0) total += s;
      if (total < 0 && sibDone) break;
    }
    fixed[i] = total;
  }
  return { t, byCode: t.byCode, tag: t.tag, cat, children: t.children, fixed, sibAt, sibForm, first: t.first, at: t.at, form: t.form, size, locKind };
}

/**
 * Scans units [from, to) of `units` (all of the reader's units, unit indexes are into it).
 * Units with an error already are skipped.
 */
export function scanUnits(reader: DwarfReader, units: Unit[], from: number, to: number): ScanResult {
  return new Scanner(reader).run(units, from, to);
}

/**
 * The type-name pass (DwarfInfo.indexTypes) over the same compiled tables: for each unit, the
 * named struct/union/enum/class/typedef/base types at unit level and in namespaces, as records
 * [tag, name id, DIE offset, declaration 0/1] in DIE order, a type in a namespace once by its
 * own name and once qualified (`ns::Widget`). Type units are left to the caller.
 */
export class TypeScan {
  private readonly s: Scanner;
  constructor(reader: DwarfReader) {
    this.s = new Scanner(reader);
  }
  get strings(): string[] {
    return this.s.strings;
  }
  /** Appends the unit's records to `out` (throws a FormatError for a malformed unit). */
  unit(u: Unit, out: number[]): void {
    this.s.scanTypes(u, out);
  }
}

class Scanner {
  readonly strings: string[] = [];
  private readonly ids = new Map<string, number>();
  /** .debug_str offset → string id + 1 (a typed array when the section is not huge). */
  private strIds?: Int32Array;
  private readonly strIdMap = new Map<number, number>();
  /** .debug_str (null: absent), read once: the section getter may look it up each time. */
  private str?: Buffer | null;
  private readonly plans = new Map<string, Plans>();
  readonly vars: number[] = [];
  readonly fns: number[] = [];
  readonly pendingVars: number[] = [];
  readonly pendingFns: number[] = [];
  readonly errors: Array<[number, string]> = [];
  private readonly buf: Buffer;
  private readonly le: boolean;

  // Scratch results of scanAttrs (the scan allocates nothing per DIE).
  private nameForm = -1;
  private nameVal = 0;
  private declaration = false;
  private external = false;
  private origin = -1;
  private locOp = -1;
  private locLast = -1;

  constructor(private readonly reader: DwarfReader) {
    this.buf = reader.s.info;
    this.le = reader.s.littleEndian;
  }

  run(units: Unit[], from: number, to: number): ScanResult {
    for (let i = from; i < to; i++) {
      const u = units[i];
      if (u.error) continue;
      if (u.unitType === DW_UT.type || u.unitType === DW_UT.split_type) continue; // types only: indexTypes()
      try {
        this.scanUnit(u, i);
      } catch (e) {
        this.errors.push([i, (e as Error).message]);
      }
    }
    return {
      strings: this.strings,
      vars: this.vars,
      fns: this.fns,
      pendingVars: this.pendingVars,
      pendingFns: this.pendingFns,
      errors: this.errors,
      ids: this.ids,
    };
  }

  private plansFor(u: Unit): Plans {
    const key = `${u.abbrevOffset}:${u.addressSize}:${u.offsetSize}:${u.version}`;
    let p = this.plans.get(key);
    if (!p) {
      p = compilePlans(this.reader.compactAbbrevs(u.abbrevOffset), u.addressSize, u.offsetSize, u.version);
      this.plans.set(key, p);
    }
    return p;
  }

  /** String id of a string (deduplicated). */
  private idOf(s: string): number {
    let id = this.ids.get(s);
    if (id === undefined) {
      id = this.strings.length;
      this.strings.push(s);
      this.ids.set(s, id);
    }
    return id;
  }

  /** String id of a DW_AT_name value read by scanAttrs (form, raw value). */
  private nameId(u: Unit, form: number, val: number): number {
    const r = this.reader;
    if (form === DW_FORM.strp) {
      const str = (this.str ??= r.s.str ?? null);
      if (str && str.length <= 1 << 25) {
        const t = (this.strIds ??= new Int32Array(str.length));
        if (val >= 0 && val < t.length) {
          const hit = t[val];
          if (hit) return hit - 1;
          const id = this.idOf(cString(str, val));
          t[val] = id + 1;
          return id;
        }
      } else {
        const hit = this.strIdMap.get(val);
        if (hit !== undefined) return hit;
        const id = this.idOf(stringAt(str ?? missing('.debug_str'), val, '.debug_str'));
        this.strIdMap.set(val, id);
        return id;
      }
    }
    if (form === DW_FORM.string) {
      // `val` is the string's position in .debug_info.
      const b = this.buf;
      let e = b.indexOf(0, val);
      if (e < 0) e = b.length;
      return this.idOf(b.toString('utf8', val, e));
    }
    return this.idOf(r.str(u, { at: DW_AT.name, form, value: val }));
  }

  private u32(p: number): number {
    return this.le ? this.buf.readUInt32LE(p) : this.buf.readUInt32BE(p);
  }

  /** Position after the attributes of abbreviation `a` starting at `pos`. */
  private skipAttrs(c: Cursor, p: Plans, a: number, pos: number): number {
    const f = p.fixed[a];
    if (f >= 0) return pos + f;
    const end = p.first[a + 1];
    for (let k = p.first[a]; k < end; k++) {
      const s = p.size[k];
      pos = s >= 0 ? pos + s : this.skipForm(c, p.form[k], pos);
    }
    return pos;
  }

  /** Position after one value of a form whose size depends on the data. */
  private skipForm(c: Cursor, form: number, pos: number): number {
    const b = this.buf;
    const end = c.end;
    switch (form) {
      case DW_FORM.sdata:
      case DW_FORM.udata:
      case DW_FORM.ref_udata:
      case DW_FORM.strx:
      case DW_FORM.addrx:
      case DW_FORM.loclistx:
      case DW_FORM.rnglistx:
      case DW_FORM.GNU_addr_index:
      case DW_FORM.GNU_str_index: {
        while (pos < end && b[pos] >= 0x80) pos++;
        if (pos >= end) c.fail('truncated LEB128', pos);
        return pos + 1;
      }
      case DW_FORM.string: {
        const nul = b.indexOf(0, pos);
        if (nul < 0 || nul >= end) c.fail('unterminated string', pos);
        return nul + 1;
      }
      case DW_FORM.exprloc:
      case DW_FORM.block: {
        c.pos = pos;
        const n = c.uleb();
        return c.pos + n;
      }
      case DW_FORM.block1:
        if (pos >= end) c.fail('need 1 bytes', pos);
        return pos + 1 + b[pos];
      default: {
        // block2/4, indirect and anything unknown: the reader's own code (and its errors).
        c.pos = pos;
        this.reader.skipForm(c, this.unit!, form);
        return c.pos;
      }
    }
  }

  private unit?: Unit;

  /** Reads the attributes the index needs (see the scratch fields); returns the position after them. */
  private scanAttrs(c: Cursor, u: Unit, p: Plans, a: number, pos: number): number {
    this.nameForm = -1;
    this.declaration = false;
    this.external = false;
    this.origin = -1;
    this.locOp = -1;
    this.locLast = -1;
    const b = this.buf;
    const end = p.first[a + 1];
    for (let k = p.first[a]; k < end; k++) {
      const at = p.at[k];
      const form = p.form[k];
      switch (at) {
        case DW_AT.name:
          if (form === DW_FORM.strp && u.offsetSize === 4) {
            this.nameForm = form;
            this.nameVal = this.u32(pos);
            pos += 4;
          } else if (form === DW_FORM.string) {
            this.nameForm = form;
            this.nameVal = pos;
            pos = this.skipForm(c, form, pos);
          } else {
            const v = this.read(c, u, p, k, pos);
            pos = c.pos;
            if (typeof v === 'number') {
              this.nameForm = form;
              this.nameVal = v;
            } else if (typeof v === 'string') {
              // DW_FORM_string through DW_FORM_indirect: keep it by id.
              this.nameForm = -2;
              this.nameVal = this.idOf(v);
            }
          }
          continue;
        case DW_AT.declaration:
        case DW_AT.external: {
          let v: boolean;
          if (form === DW_FORM.flag_present) v = true;
          else if (form === DW_FORM.flag || form === DW_FORM.data1) v = b[pos++] !== 0;
          else if (form === DW_FORM.implicit_const) v = (p.t.implicit?.get(k) ?? 0n) !== 0n;
          else {
            v = !!this.read(c, u, p, k, pos);
            pos = c.pos;
          }
          if (at === DW_AT.declaration) this.declaration = v;
          else this.external = v;
          continue;
        }
        case DW_AT.abstract_origin:
        case DW_AT.specification:
          if (form === DW_FORM.ref4) {
            this.origin = u.offset + this.u32(pos);
            pos += 4;
          } else {
            const v = this.read(c, u, p, k, pos);
            pos = c.pos;
            if (typeof v === 'number') this.origin = v;
          }
          continue;
        case DW_AT.location: {
          let len = -1;
          c.pos = pos;
          if (form === DW_FORM.exprloc || form === DW_FORM.block) len = c.uleb();
          else if (form === DW_FORM.block1) len = c.u8();
          else if (form === DW_FORM.block2) len = c.u16();
          else if (form === DW_FORM.block4) len = c.u32();
          if (len < 0) {
            this.locOp = -2;
            const s = p.size[k];
            pos = s >= 0 ? pos + s : this.skipForm(c, form, pos);
          } else {
            this.locOp = len > 0 && c.pos < c.end ? b[c.pos] : -2;
            c.skip(len);
            pos = c.pos;
            if (len > 0) this.locLast = b[pos - 1];
          }
          continue;
        }
        default: {
          const s = p.size[k];
          pos = s >= 0 ? pos + s : this.skipForm(c, form, pos);
        }
      }
    }
    return pos;
  }

  /** One value through the reader (the rare forms); leaves c.pos after it. */
  private read(c: Cursor, u: Unit, p: Plans, k: number, pos: number): unknown {
    c.pos = pos;
    const form = p.form[k];
    return this.reader.readForm(c, u, form, form === DW_FORM.implicit_const ? (p.t.implicit?.get(k) ?? 0n) : undefined);
  }

  /** Abbreviation index of the code at `pos` (-1: a null entry); sets c.pos past the code. */
  private abbrevAt(c: Cursor, p: Plans, pos: number): number {
    const b = this.buf;
    let code: number;
    const b0 = b[pos];
    if (b0 < 0x80 && pos < c.end) {
      code = b0;
      c.pos = pos + 1;
    } else {
      c.pos = pos;
      code = c.uleb();
    }
    if (code === 0) return -1;
    const i = code < p.byCode.length ? p.byCode[code] - 1 : abbrevIndex(p.t, code);
    if (i < 0) c.fail(`unknown abbreviation code ${code}`, pos);
    return i;
  }

  /**
   * Skips a DIE's attributes and, when it has children, its subtree by DW_AT_sibling when the
   * abbreviation allows (as DwarfReader.skipSubtree). Returns the new position, negated minus
   * one when the children must still be walked.
   */
  private skipSubtree(c: Cursor, u: Unit, p: Plans, a: number, pos: number): number {
    const kids = p.children[a] !== 0;
    const sa = p.sibAt[a];
    if (kids && sa >= 0) {
      const q = pos + sa;
      let rel = -1;
      if (q + 4 <= c.end) {
        const b = this.buf;
        switch (p.sibForm[a]) {
          case DW_FORM.ref4:
            rel = this.u32(q);
            break;
          case DW_FORM.ref2:
            rel = this.le ? b.readUInt16LE(q) : b.readUInt16BE(q);
            break;
          case DW_FORM.ref1:
            rel = b[q];
            break;
        }
      }
      const target = u.offset + rel;
      if (rel > 0 && target > pos && target <= c.end) return target;
    }
    const next = this.skipAttrs(c, p, a, pos);
    return kids ? -next - 1 : next;
  }

  /** Position after the children of the DIE whose attributes end at `pos`. */
  private skipChildren(c: Cursor, u: Unit, p: Plans, pos: number): number {
    let depth = 1;
    let guard = 0;
    const max = u.end - u.offset + 10;
    while (depth > 0) {
      if (++guard > max || pos >= u.end) c.fail('DIE children do not terminate', pos);
      const a = this.abbrevAt(c, p, pos);
      pos = c.pos;
      if (a < 0) {
        depth--;
        continue;
      }
      const n = this.skipSubtree(c, u, p, a, pos);
      if (n < 0) {
        pos = -n - 1;
        depth++;
      } else pos = n;
    }
    return pos;
  }

  private scanUnit(u: Unit, ui: number): void {
    const r = this.reader;
    const c = new Cursor(r.s.info, r.s.littleEndian, u.offset, u.end, '.debug_info');
    this.unit = u;
    const p = this.plansFor(u);
    const end = u.end;
    let pos = u.dieOffset;
    const top = this.abbrevAt(c, p, pos);
    if (top < 0) return;
    pos = this.skipAttrs(c, p, top, c.pos);
    if (pos > end) c.fail('DIE runs past the end of its unit', pos);
    if (!p.children[top]) return;
    // Enclosing DIEs: tag; for subprograms, where their name is (form, value; -1 none) and origin.
    const tags: number[] = [];
    const fnForms: number[] = [];
    const fnVals: number[] = [];
    const fnOrigins: number[] = [];
    /** `ns::inner::` while inside namespaces only (C++ namespace-scope variables). */
    const nsPrefixes: string[] = [];
    let depth = 1;
    let fnDepth = 0;
    let steps = 0;
    const maxSteps = u.end - u.offset + 10;
    /** Enclosing DIEs that are not namespaces. */
    let notNamespace = 0;
    const buf = this.buf;
    const byCode = p.byCode;
    const cats = p.cat;
    const fixed = p.fixed;
    const children = p.children;
    while (depth > 0 && pos < end) {
      const off = pos;
      if (++steps > maxSteps) c.fail('DIE tree does not terminate', pos);
      // Most codes are one byte and known: no call for them (this loop runs mostly unoptimized
      // in a one-shot process, where every call and property load counts).
      let a: number;
      const b0 = buf[pos];
      if (b0 > 0 && b0 < 0x80 && b0 < byCode.length && byCode[b0] > 0) {
        a = byCode[b0] - 1;
        pos++;
      } else {
        a = this.abbrevAt(c, p, pos);
        pos = c.pos;
      }
      if (a >= 0 && cats[a] === CAT_OTHER) {
        // Parameters, call sites, inlined copies, types inside functions: skipped with their subtrees.
        if (children[a] === 0 && fixed[a] >= 0) pos += fixed[a];
        else {
          const n = this.skipSubtree(c, u, p, a, pos);
          pos = n >= 0 ? n : this.skipChildren(c, u, p, -n - 1);
        }
        if (pos > end) c.fail('DIE runs past the end of its unit', off);
        continue;
      }
      if (a < 0) {
        depth--;
        const popped = tags.pop();
        if (popped === DW_TAG.subprogram) fnDepth--;
        if (popped !== DW_TAG.namespace) notNamespace--;
        nsPrefixes.pop();
        fnForms.pop();
        fnVals.pop();
        fnOrigins.pop();
        continue;
      }
      const parent = tags.length ? tags[tags.length - 1] : DW_TAG.compile_unit;
      const atTop = depth === 1;
      const tag = p.tag[a];
      const cat = p.cat[a];
      let descend = p.children[a] !== 0;
      let fnForm = -1;
      let fnVal = 0;
      let fnOrigin = -1;
      let nsName: string | undefined;
      // Inside namespaces only (no class, no function): a namespace-scope variable, top level for C++.
      const inNs = fnDepth === 0 && notNamespace === 0;
      if (cat === CAT_VAR && !atTop && !inNs && fnDepth > 0 && p.locKind[a] === 0) {
        // A function-scope variable whose location is a list or absent: never indexed (below).
        pos = this.skipAttrs(c, p, a, pos);
      } else if (cat === CAT_VAR && (atTop || inNs || fnDepth > 0)) {
        pos = this.scanAttrs(c, u, p, a, pos);
        const op = this.locOp;
        // Storage-less function-scope variables are found on demand (DwarfInfo.functionLocals).
        const isValue = this.locLast === 0x9f /* stack_value */ || op === 0x9e; /* implicit_value */
        if (atTop || inNs || (!isValue && (op === 0x03 || op === 0xa1 || op === 0xfb || op === 0x0e || op === 0x0c || op === 0x10))) {
          this.indexVariable(off, u, ui, atTop || inNs, tags, fnForms, fnVals, fnOrigins, inNs ? (nsPrefixes[nsPrefixes.length - 1] ?? '') : '');
        }
      } else if (cat === CAT_SUB) {
        const attrsAt = pos;
        pos = this.scanAttrs(c, u, p, a, pos);
        if (this.declaration && descend) {
          // A prototype's children are its parameters: nothing to index in them.
          descend = false;
          const n = this.skipSubtree(c, u, p, a, attrsAt);
          pos = n >= 0 ? n : this.skipChildren(c, u, p, -n - 1);
        }
        fnForm = this.nameForm;
        fnVal = this.nameVal;
        fnOrigin = this.origin;
        if (atTop || parent === DW_TAG.namespace) {
          const flags = (this.external ? FF_EXTERNAL : 0) | (this.declaration ? FF_DECL : 0);
          if (fnForm !== -1) {
            const id = this.nameOfScratch(u, fnForm, fnVal);
            // An empty name counts as none, as before (then the origin names it).
            if (this.strings[id] !== '') this.fns.push(id, off, ui, flags);
            else if (fnOrigin >= 0) this.pendingFns.push(fnOrigin, off, ui, flags);
          } else if (fnOrigin >= 0) this.pendingFns.push(fnOrigin, off, ui, flags);
        }
      } else if (cat === CAT_TYPE && (atTop || parent === DW_TAG.namespace)) {
        // Type names are indexed by a separate pass on the first type lookup (indexTypes).
        descend = false;
        const n = this.skipSubtree(c, u, p, a, pos);
        pos = n >= 0 ? n : this.skipChildren(c, u, p, -n - 1);
      } else if (cat === CAT_NS) {
        pos = this.scanAttrs(c, u, p, a, pos);
        nsName = this.nameForm !== -1 ? this.strings[this.nameOfScratch(u, this.nameForm, this.nameVal)] : '(anonymous namespace)';
      } else if (cat === CAT_LEX) {
        pos = this.skipAttrs(c, p, a, pos);
      } else {
        const n = this.skipSubtree(c, u, p, a, pos);
        pos = n >= 0 ? n : this.skipChildren(c, u, p, -n - 1);
        descend = false;
      }
      if (pos > end) c.fail('DIE runs past the end of its unit', off);
      if (descend) {
        depth++;
        if (tag === DW_TAG.subprogram) fnDepth++;
        if (tag !== DW_TAG.namespace) notNamespace++;
        tags.push(tag);
        nsPrefixes.push(nsName !== undefined ? `${nsPrefixes[nsPrefixes.length - 1] ?? ''}${nsName}::` : '');
        const sub = tag === DW_TAG.subprogram;
        fnForms.push(sub ? fnForm : -1);
        fnVals.push(sub ? fnVal : 0);
        fnOrigins.push(sub ? fnOrigin : -1);
      }
    }
  }

  scanTypes(u: Unit, out: number[]): void {
    const r = this.reader;
    const c = new Cursor(r.s.info, r.s.littleEndian, u.offset, u.end, '.debug_info');
    this.unit = u;
    const p = this.plansFor(u);
    const end = u.end;
    let pos = u.dieOffset;
    const top = this.abbrevAt(c, p, pos);
    if (top < 0 || !p.children[top]) return;
    pos = this.skipAttrs(c, p, top, c.pos);
    let depth = 1;
    let steps = 0;
    const maxSteps = u.end - u.offset + 10;
    // C++ namespaces open here: types inside are also indexed by qualified name (`ns::Widget`).
    const nsDepths: number[] = [];
    const nsPrefixes: string[] = [];
    while (depth > 0 && pos < end) {
      const off = pos;
      if (++steps > maxSteps) c.fail('DIE tree does not terminate', pos);
      const a = this.abbrevAt(c, p, pos);
      pos = c.pos;
      if (a < 0) {
        depth--;
        while (nsDepths.length && nsDepths[nsDepths.length - 1] > depth) {
          nsDepths.pop();
          nsPrefixes.pop();
        }
        continue;
      }
      const cat = p.cat[a];
      if (cat === CAT_NS) {
        pos = this.scanAttrs(c, u, p, a, pos);
        const nn = this.nameForm !== -1 ? this.strings[this.nameOfScratch(u, this.nameForm, this.nameVal)] : '(anonymous namespace)';
        if (p.children[a]) {
          depth++;
          nsDepths.push(depth);
          nsPrefixes.push(`${nsPrefixes[nsPrefixes.length - 1] ?? ''}${nn}::`);
        }
      } else if (cat === CAT_TYPE) {
        const attrsAt = pos;
        pos = this.scanAttrs(c, u, p, a, pos);
        const decl = this.declaration ? 1 : 0;
        if (this.nameForm !== -1) {
          const id = this.nameOfScratch(u, this.nameForm, this.nameVal);
          out.push(p.tag[a], id, off, decl);
          const ns = nsPrefixes[nsPrefixes.length - 1];
          if (ns) out.push(p.tag[a], this.idOf(ns + this.strings[id]), off, decl);
        }
        if (p.children[a]) {
          // Members and enumerators: jumped over by DW_AT_sibling where it is, else walked.
          const n = this.skipSubtree(c, u, p, a, attrsAt);
          pos = n >= 0 ? n : this.skipChildren(c, u, p, -n - 1);
        }
      } else {
        const n = this.skipSubtree(c, u, p, a, pos);
        pos = n >= 0 ? n : this.skipChildren(c, u, p, -n - 1);
      }
      if (pos > end) c.fail('DIE runs past the end of its unit', off);
    }
  }

  /** String id of a name read by scanAttrs (nameForm -2: already an id). */
  private nameOfScratch(u: Unit, form: number, val: number): number {
    return form === -2 ? val : this.nameId(u, form, val);
  }

  private indexVariable(
    off: number,
    u: Unit,
    ui: number,
    atTop: boolean,
    tags: number[],
    fnForms: number[],
    fnVals: number[],
    fnOrigins: number[],
    prefix: string,
  ): void {
    const constOnly = !atTop && this.locOp === -1;
    if (constOnly && this.nameForm === -1) return;
    // The innermost enclosing subprogram with a name or an origin names a function static.
    let fnId = -1;
    let fnOrigin = -1;
    for (let i = tags.length - 1; i >= 0; i--) {
      if (tags[i] !== DW_TAG.subprogram) continue;
      const form = fnForms[i];
      if (form !== -1) {
        fnId = this.nameOfScratch(u, form, fnVals[i]);
        // An empty name: the origin names it (as `!fn` did).
        if (this.strings[fnId] === '' && fnOrigins[i] >= 0) fnOrigin = fnOrigins[i];
        break;
      }
      if (fnOrigins[i] >= 0) {
        fnOrigin = fnOrigins[i];
        break;
      }
    }
    const scope = !atTop ? 2 : this.external ? 0 : 1;
    const flags = scope | (this.declaration ? VF_DECL : 0) | (constOnly ? VF_CONST : 0);
    if (this.nameForm !== -1) {
      let id = this.nameOfScratch(u, this.nameForm, this.nameVal);
      if (prefix) id = this.idOf(prefix + this.strings[id]);
      this.vars.push(id, off, ui, fnId, fnOrigin, flags);
    } else if (this.origin >= 0) {
      // The definition refers to a declaration: its scope (external) lives there.
      this.pendingVars.push(this.origin, off, ui, fnId, fnOrigin, flags | (atTop ? VF_ORIGIN_EXTERNAL : 0));
    }
  }
}

/** Buffer's own slicers (what toString calls after its checks; not in @types/node). */
type Slicers = { latin1Slice(start: number, end: number): string; utf8Slice(start: number, end: number): string };

/**
 * The NUL-terminated string at `off` (as stringAt, `off` in bounds): the end is found by a
 * loop that also sees whether every byte is ASCII, which is then sliced as Latin-1 (the
 * same string, and cheaper to make); a short name costs less this way than Buffer#indexOf
 * and #toString's argument checks, which ran ~17,000 times on CPython.
 */
function cString(b: Buffer, off: number): string {
  const n = b.length;
  let e = off;
  let high = 0;
  while (e < n) {
    const x = b[e];
    if (x === 0) break;
    high |= x;
    e++;
  }
  const s = b as unknown as Slicers;
  return high < 0x80 ? s.latin1Slice(off, e) : s.utf8Slice(off, e);
}

function missing(name: string): never {
  throw new Error(`${name} is missing`);
}
