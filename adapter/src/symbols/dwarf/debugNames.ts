/**
 * DWARF 5 `.debug_names` (§6.1.1 "Lookup by Name"): which units hold a DIE of a given name, so a
 * lookup reads those units only. Written by clang with -gpubnames (one name index per unit,
 * concatenated by the linker) and by gdb-add-index -dwarf-5 (one index for the program).
 *
 * Each name index in the section:
 *   header: unit_length (DWARF32/64), version 5, padding, comp_unit_count, local_type_unit_count,
 *           foreign_type_unit_count, bucket_count, name_count, abbrev_table_size,
 *           augmentation_string_size, augmentation string
 *   CU list, local TU list (section offsets), foreign TU list (u64 signatures)
 *   hash table: buckets (u32 name index, 1-based, 0 empty) and one u32 hash per name; names of a
 *           bucket are consecutive; the hash is DJB (h = h * 33 + c) over the case-folded name
 *   name table: .debug_str offsets of the names, then offsets of each name's entry list in the pool
 *   abbreviation table: code, tag, (DW_IDX_*, DW_FORM_*) pairs up to (0, 0); ends with code 0
 *   entry pool: per name, entries (abbreviation code + attribute values) up to a 0 code
 *
 * Pure and lazy: headers, unit lists and abbreviations are checked on open, each lookup checks
 * the bytes it reads. Anything inconsistent throws DebugNamesError; the caller then treats the
 * section as absent.
 */

export class DebugNamesError extends Error {}

export const DW_IDX = {
  compile_unit: 1,
  type_unit: 2,
  die_offset: 3,
  parent: 4,
  type_hash: 5,
  GNU_internal: 0x2000,
  GNU_external: 0x2001,
} as const;

export interface DebugNamesEntry {
  tag: number;
  /** .debug_info offset of the compile unit (absent for type-unit entries). */
  cu?: number;
  /** Index of the type unit in its name index's local + foreign TU lists. */
  tu?: number;
  /** DW_IDX_die_offset: the DIE's offset from the start of its unit. */
  dieOffset?: number;
  /** DW_IDX_parent: null for "no parent in the index" (flag_present), else the parent entry's pool offset. */
  parent?: number | null;
  /** gdb's DW_IDX_GNU_external / DW_IDX_GNU_internal. */
  external?: boolean;
}

export interface NameIndexHeader {
  /** Offset of this name index in the section. */
  offset: number;
  version: number;
  augmentation: string;
  /** .debug_info offsets of the compile units this index covers. */
  cus: number[];
  localTus: number[];
  foreignTus: bigint[];
  nameCount: number;
  bucketCount: number;
}

export interface DebugNames {
  indexes: NameIndexHeader[];
  /** Entries named exactly `name` across every name index (case-sensitive). */
  lookup(name: string): DebugNamesEntry[];
  /** Every name of every index (for tests and listings; reads all strings). */
  names(): string[];
}

interface Abbrev {
  tag: number;
  attrs: Array<{ idx: number; form: number }>;
}

/** DJB hash over the name with ASCII letters folded to lower case (LLVM's caseFoldingDjbHash, gdb's dwarf5_djb_hash). */
export function debugNamesHash(bytes: Uint8Array): number {
  let h = 5381;
  for (let i = 0; i < bytes.length; i++) {
    let c = bytes[i];
    if (c >= 0x41 && c <= 0x5a) c += 0x20;
    h = (Math.imul(h, 33) + c) >>> 0;
  }
  return h;
}

class Reader {
  pos: number;
  constructor(
    readonly buf: Buffer,
    readonly le: boolean,
    start: number,
    public end: number,
  ) {
    this.pos = start;
  }
  need(n: number): void {
    if (this.pos + n > this.end) throw new DebugNamesError(`truncated at 0x${this.pos.toString(16)} (needs ${n} bytes, ends at 0x${this.end.toString(16)})`);
  }
  u8(): number {
    this.need(1);
    return this.buf[this.pos++];
  }
  u16(): number {
    this.need(2);
    const v = this.le ? this.buf.readUInt16LE(this.pos) : this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.le ? this.buf.readUInt32LE(this.pos) : this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  u64(): bigint {
    this.need(8);
    const v = this.le ? this.buf.readBigUInt64LE(this.pos) : this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    return v;
  }
  /** An offset-sized value (4 or 8 bytes) as a number. */
  off(size: 4 | 8): number {
    if (size === 4) return this.u32();
    const v = this.u64();
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new DebugNamesError(`offset 0x${v.toString(16)} is too large`);
    return Number(v);
  }
  uleb(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      const b = this.u8();
      result += (b & 0x7f) * mul;
      if (!(b & 0x80)) {
        if (result > Number.MAX_SAFE_INTEGER) throw new DebugNamesError('LEB128 value too large');
        return result;
      }
      mul *= 128;
    }
    throw new DebugNamesError('LEB128 value too long');
  }
  sleb(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      const b = this.u8();
      result += (b & 0x7f) * mul;
      mul *= 128;
      if (!(b & 0x80)) return b & 0x40 ? result - mul : result;
    }
    throw new DebugNamesError('LEB128 value too long');
  }
}

// DW_FORM values the index attributes may use (constant, flag, reference classes).
const F = {
  data2: 0x05,
  data4: 0x06,
  data8: 0x07,
  data1: 0x0b,
  flag: 0x0c,
  sdata: 0x0d,
  udata: 0x0f,
  ref1: 0x11,
  ref2: 0x12,
  ref4: 0x13,
  ref8: 0x14,
  ref_udata: 0x15,
  flag_present: 0x19,
  data16: 0x1e,
} as const;
const KNOWN_FORMS = new Set<number>(Object.values(F));

function readValue(r: Reader, form: number): number | bigint | boolean {
  switch (form) {
    case F.data1:
    case F.ref1:
      return r.u8();
    case F.data2:
    case F.ref2:
      return r.u16();
    case F.data4:
    case F.ref4:
      return r.u32();
    case F.data8:
    case F.ref8:
      return r.u64();
    case F.udata:
    case F.ref_udata:
      return r.uleb();
    case F.sdata:
      return r.sleb();
    case F.flag:
      return r.u8() !== 0;
    case F.flag_present:
      return true;
    case F.data16:
      r.need(16);
      r.pos += 16;
      return 0;
    default:
      throw new DebugNamesError(`unsupported attribute form 0x${form.toString(16)}`);
  }
}

function asIndex(v: number | bigint | boolean, what: string): number {
  if (typeof v === 'boolean') throw new DebugNamesError(`${what} is a flag, not a number`);
  if (typeof v === 'bigint') {
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new DebugNamesError(`${what} 0x${v.toString(16)} is too large`);
    return Number(v);
  }
  return v;
}

interface ParsedIndex {
  header: NameIndexHeader;
  lookup(name: string, key: Buffer): DebugNamesEntry[];
  names(): string[];
}

function parseOne(buf: Buffer, start: number, le: boolean, str: Buffer | undefined): { index: ParsedIndex; next: number } {
  const r = new Reader(buf, le, start, buf.length);
  let length = r.u32();
  let offSize: 4 | 8 = 4;
  if (length === 0xffffffff) {
    offSize = 8;
    length = r.off(8);
  } else if (length >= 0xfffffff0) throw new DebugNamesError(`reserved unit length 0x${length.toString(16)} at 0x${start.toString(16)}`);
  const end = r.pos + length;
  if (end > buf.length) throw new DebugNamesError(`name index at 0x${start.toString(16)} claims ${length} bytes, past the section end`);
  r.end = end;
  const version = r.u16();
  if (version !== 5) throw new DebugNamesError(`name index at 0x${start.toString(16)} has version ${version} (only 5 exists)`);
  r.u16(); // padding
  const cuCount = r.u32();
  const localTuCount = r.u32();
  const foreignTuCount = r.u32();
  const bucketCount = r.u32();
  const nameCount = r.u32();
  const abbrevSize = r.u32();
  const augSize = r.u32();
  r.need(augSize);
  const augmentation = buf
    .subarray(r.pos, r.pos + augSize)
    .toString('latin1')
    .replace(/\0+$/, '');
  r.pos += augSize;
  // Every count is checked against the bytes left before anything is allocated for it.
  const left = () => end - r.pos;
  if (cuCount * offSize > left() || localTuCount * offSize > left() || foreignTuCount * 8 > left())
    throw new DebugNamesError('unit lists run past the name index');
  const cus: number[] = [];
  for (let i = 0; i < cuCount; i++) cus.push(r.off(offSize));
  const localTus: number[] = [];
  for (let i = 0; i < localTuCount; i++) localTus.push(r.off(offSize));
  const foreignTus: bigint[] = [];
  for (let i = 0; i < foreignTuCount; i++) foreignTus.push(r.u64());
  const bucketsAt = r.pos;
  const hashesAt = bucketsAt + 4 * bucketCount;
  const strOffsAt = hashesAt + (bucketCount > 0 ? 4 * nameCount : 0);
  const entryOffsAt = strOffsAt + offSize * nameCount;
  const abbrevAt = entryOffsAt + offSize * nameCount;
  const poolAt = abbrevAt + abbrevSize;
  if (poolAt > end) throw new DebugNamesError(`hash, name and abbreviation tables (${poolAt - bucketsAt} bytes) run past the name index`);

  // Abbreviations.
  const abbrevs = new Map<number, Abbrev>();
  const ar = new Reader(buf, le, abbrevAt, poolAt);
  for (;;) {
    const code = ar.uleb();
    if (code === 0) break;
    const tag = ar.uleb();
    const attrs: Abbrev['attrs'] = [];
    for (;;) {
      const idx = ar.uleb();
      const form = ar.uleb();
      if (idx === 0 && form === 0) break;
      if (idx === 0 || form === 0) throw new DebugNamesError(`abbreviation ${code}: attribute (${idx}, ${form}) is half zero`);
      if (!KNOWN_FORMS.has(form)) throw new DebugNamesError(`abbreviation ${code}: unsupported form 0x${form.toString(16)}`);
      attrs.push({ idx, form });
    }
    if (abbrevs.has(code)) throw new DebugNamesError(`abbreviation code ${code} defined twice`);
    abbrevs.set(code, { tag, attrs });
  }

  const word = (at: number) => (le ? buf.readUInt32LE(at) : buf.readUInt32BE(at));
  const offAt = (at: number) => {
    const rr = new Reader(buf, le, at, end);
    return rr.off(offSize);
  };
  const strAt = (i: number): Buffer => {
    if (!str) throw new DebugNamesError('.debug_str is missing');
    const so = offAt(strOffsAt + offSize * i);
    if (so >= str.length) throw new DebugNamesError(`name ${i + 1}: string offset 0x${so.toString(16)} past .debug_str`);
    const e = str.indexOf(0, so);
    if (e < 0) throw new DebugNamesError(`name ${i + 1}: string is not NUL-terminated`);
    return str.subarray(so, e);
  };
  const nTus = localTuCount + foreignTuCount;
  const entries = (i: number): DebugNamesEntry[] => {
    const eo = offAt(entryOffsAt + offSize * i);
    if (poolAt + eo >= end) throw new DebugNamesError(`name ${i + 1}: entry offset 0x${eo.toString(16)} past the entry pool`);
    const er = new Reader(buf, le, poolAt + eo, end);
    const out: DebugNamesEntry[] = [];
    for (let n = 0; ; n++) {
      if (n > end - poolAt) throw new DebugNamesError(`name ${i + 1}: entry list does not end`);
      const code = er.uleb();
      if (code === 0) break;
      const ab = abbrevs.get(code);
      if (!ab) throw new DebugNamesError(`name ${i + 1}: unknown abbreviation code ${code}`);
      const e: DebugNamesEntry = { tag: ab.tag };
      let cuIndex: number | undefined;
      for (const a of ab.attrs) {
        const v = readValue(er, a.form);
        switch (a.idx) {
          case DW_IDX.compile_unit:
            cuIndex = asIndex(v, 'DW_IDX_compile_unit');
            if (cuIndex >= cuCount) throw new DebugNamesError(`name ${i + 1}: compile unit ${cuIndex} of ${cuCount}`);
            break;
          case DW_IDX.type_unit: {
            const t = asIndex(v, 'DW_IDX_type_unit');
            if (t >= nTus) throw new DebugNamesError(`name ${i + 1}: type unit ${t} of ${nTus}`);
            e.tu = t;
            break;
          }
          case DW_IDX.die_offset:
            e.dieOffset = asIndex(v, 'DW_IDX_die_offset');
            break;
          case DW_IDX.parent:
            if (a.form === F.flag_present) e.parent = null;
            else {
              const p = asIndex(v, 'DW_IDX_parent');
              if (poolAt + p >= end) throw new DebugNamesError(`name ${i + 1}: parent entry 0x${p.toString(16)} past the entry pool`);
              e.parent = p;
            }
            break;
          case DW_IDX.GNU_external:
            e.external = v !== false;
            break;
          case DW_IDX.GNU_internal:
            if (v !== false) e.external = false;
            break;
          default:
          // Other DW_IDX values (type_hash, vendor ones) are read past.
        }
      }
      // A single-CU index may leave DW_IDX_compile_unit out (§6.1.1.4.7).
      if (cuIndex === undefined && e.tu === undefined && cuCount === 1) cuIndex = 0;
      if (cuIndex !== undefined) e.cu = cus[cuIndex];
      out.push(e);
    }
    return out;
  };

  // The hash table is used only when it agrees with our hash on the names it holds (a producer
  // with another case folding then falls back to reading the names once).
  let useHash = bucketCount > 0 && nameCount > 0;
  if (useHash) {
    for (let i = 0; i < Math.min(nameCount, 8); i++) {
      const s = strAt(i);
      if (s.some((b) => b >= 0x80)) continue;
      if (debugNamesHash(s) !== word(hashesAt + 4 * i)) {
        useHash = false;
        break;
      }
    }
  }
  let byName: Map<string, number[]> | undefined;
  const names = (): string[] => {
    const out: string[] = [];
    for (let i = 0; i < nameCount; i++) out.push(strAt(i).toString('utf8'));
    return out;
  };

  const index: ParsedIndex = {
    header: { offset: start, version, augmentation, cus, localTus, foreignTus, nameCount, bucketCount },
    lookup(name: string, key: Buffer): DebugNamesEntry[] {
      if (nameCount === 0) return [];
      if (useHash && !key.some((b) => b >= 0x80)) {
        const h = debugNamesHash(key);
        const b = h % bucketCount;
        const first = word(bucketsAt + 4 * b);
        if (first === 0) return [];
        if (first > nameCount) throw new DebugNamesError(`bucket ${b} starts at name ${first} of ${nameCount}`);
        const out: DebugNamesEntry[] = [];
        for (let i = first - 1; i < nameCount; i++) {
          const hi = word(hashesAt + 4 * i);
          if (hi % bucketCount !== b) break;
          if (hi === h && strAt(i).equals(key)) out.push(...entries(i));
        }
        return out;
      }
      if (!byName) {
        byName = new Map();
        names().forEach((n, i) => {
          const l = byName!.get(n);
          if (l) l.push(i);
          else byName!.set(n, [i]);
        });
      }
      return (byName.get(name) ?? []).flatMap((i) => entries(i));
    },
    names,
  };
  return { index, next: end };
}

/**
 * Parses every name index of a `.debug_names` section. `str` is .debug_str (the names live
 * there); `littleEndian` follows the ELF file.
 */
export function parseDebugNames(section: Buffer, str: Buffer | undefined, littleEndian = true): DebugNames {
  const parsed: ParsedIndex[] = [];
  let at = 0;
  while (at < section.length) {
    // Padding between contributions is not allowed by the format, but a zero tail is harmless.
    if (section.subarray(at).every((b) => b === 0)) break;
    const { index, next } = parseOne(section, at, littleEndian, str);
    parsed.push(index);
    at = next;
  }
  if (parsed.length === 0) throw new DebugNamesError('no name index in the section');
  return {
    indexes: parsed.map((p) => p.header),
    lookup(name: string): DebugNamesEntry[] {
      const key = Buffer.from(name, 'utf8');
      if (parsed.length === 1) return parsed[0].lookup(name, key);
      return parsed.flatMap((p) => p.lookup(name, key));
    },
    names: () => parsed.flatMap((p) => p.names()),
  };
}
