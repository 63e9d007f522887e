/**
 * The binary form of one DWARF file's name index (dwarf/info.ts): unit start offsets,
 * variables, functions and (once built) the type names, as one string table and one array of
 * 32-bit numbers, so a warm start decodes it with a single UTF-8 decode and a typed-array walk.
 *
 *   'PSIX' u32 version, u32 total length, u32 identity length, identity (UTF-8),
 *   u32 string-blob length, a NUL then each distinct string followed by a NUL, padding to 4,
 *   u32 count, u32[count] numbers (layout in encodeIndex), then the CRC-32 of everything before
 *   it (zlib's, native: a JS hash over a big program's ~1 MB index cost 5-10 ms of a warm start).
 *
 * `identity` names the DWARF file the index was built from (build-id or path/size/mtime plus
 * section sizes and edge hashes, see attach.ts); decodeIndex refuses a file whose identity,
 * length, checksum or any index is wrong, so a stale, truncated or garbage file is never used.
 *
 * Strings are named by their byte offset in the blob, and each appears once, so one name is
 * looked up without decoding the rest: find `\0name\0` in the blob (a native search), then
 * the records that carry that offset (a typed-array scan). A one-shot `eval` on a big program
 * decodes a handful of entries instead of every name of the program (tens of ms and as much
 * again in garbage collection).
 */
import type { FnEntry, IndexParts, VarEntry } from '../dwarf/info';
import type { DwarfReader, Unit } from '../dwarf/reader';
import { crc32 } from '../elf/elf';

const MAGIC = 0x58495350; // 'PSIX' little-endian
export const FORMAT_VERSION = 2;
const NONE = 0xffffffff;
const SCOPES: VarEntry['scope'][] = ['global', 'file-static', 'function-static'];

/** What an index holds (the maps of DwarfInfo, and what it knows about units). */
export interface IndexContent {
  unitStarts: number[];
  /** Read only when `records` is absent. */
  variables: Map<string, VarEntry[]>;
  functions: Map<string, FnEntry[]>;
  /**
   * The same entries as records (a scan's, dwarf/scanIndex.ts), encoded without entry objects:
   * in scan order rather than grouped by name, which decodes to the same maps.
   */
  records?: IndexRecords;
  /** Undefined when the type names were not indexed yet. */
  types?: { defs: Map<string, number[]>; decls: Map<string, number> };
  errors: string[];
}

/** Entries as string ids and numbers; per name in map order (names need not be grouped). */
export interface IndexRecords {
  strings: string[];
  varCount: number;
  fnCount: number;
  eachVar(f: (name: number, die: number, unitStart: number, fn: number, flags: number) => void): void;
  eachFn(f: (name: number, die: number, unitStart: number, flags: number) => void): void;
}

export function encodeIndex(identity: string, c: IndexContent): Buffer {
  // Names are nearly always ASCII: offsets are first counted in characters (no UTF-8 measure
  // per string), and the index is encoded again measuring bytes only when that was wrong.
  return encodeWith(identity, c, false) ?? encodeWith(identity, c, true)!;
}

function encodeWith(identity: string, c: IndexContent, utf8: boolean): Buffer | undefined {
  const strings = new Map<string, number>();
  const list: string[] = [''];
  let blobLength = 1;
  const sid = (s: string): number => {
    let i = strings.get(s);
    if (i === undefined) {
      i = blobLength;
      strings.set(s, i);
      list.push(s);
      blobLength += (utf8 ? Buffer.byteLength(s, 'utf8') : s.length) + 1;
    }
    return i;
  };
  const nums: number[] = [];
  nums.push(c.unitStarts.length);
  for (const u of c.unitStarts) nums.push(u);
  const rec = c.records;
  if (rec) {
    // Blob offsets by string id: each string is measured and looked up once, not per entry.
    const offs: number[] = [];
    const rid = (id: number): number => {
      let o = offs[id];
      if (o === undefined) offs[id] = o = sid(rec.strings[id]);
      return o;
    };
    nums.push(rec.varCount);
    rec.eachVar((name, die, unitStart, fn, flags) => {
      nums.push(rid(name), die, unitStart, fn < 0 ? NONE : rid(fn), flags);
    });
    nums.push(rec.fnCount);
    rec.eachFn((name, die, unitStart, flags) => {
      nums.push(rid(name), die, unitStart, flags);
    });
  } else {
    let n = 0;
    for (const l of c.variables.values()) n += l.length;
    nums.push(n);
    for (const l of c.variables.values()) {
      for (const e of l) {
        const flags = SCOPES.indexOf(e.scope) | (e.declaration ? 4 : 0) | (e.constOnly ? 8 : 0);
        nums.push(sid(e.name), e.die, unitStartOf(e), e.fn === undefined ? NONE : sid(e.fn), flags);
      }
    }
    n = 0;
    for (const l of c.functions.values()) n += l.length;
    nums.push(n);
    for (const l of c.functions.values()) {
      for (const e of l) nums.push(sid(e.name), e.die, unitStartOf(e), (e.external ? 1 : 0) | (e.declaration ? 2 : 0));
    }
  }
  if (c.types) {
    nums.push(1, c.types.defs.size);
    for (const [name, offs] of c.types.defs) {
      nums.push(sid(name), offs.length);
      for (const o of offs) nums.push(o);
    }
    nums.push(c.types.decls.size);
    for (const [name, off] of c.types.decls) nums.push(sid(name), off);
  } else nums.push(0);
  nums.push(c.errors.length);
  for (const e of c.errors) nums.push(sid(e));

  const id = Buffer.from(identity, 'utf8');
  // NUL-terminated strings after a leading NUL: every string sits between two NULs.
  const blob = Buffer.from(list.join('\0') + '\0', 'utf8');
  if (blob.length !== blobLength) {
    if (!utf8) return undefined;
    throw new Error('index string blob: length mismatch');
  }
  const head = 16 + id.length + 4 + blob.length;
  const pad = (4 - (head % 4)) % 4;
  const total = head + pad + 4 + nums.length * 4 + 4;
  const out = Buffer.alloc(total);
  out.writeUInt32LE(MAGIC, 0);
  out.writeUInt32LE(FORMAT_VERSION, 4);
  out.writeUInt32LE(total, 8);
  out.writeUInt32LE(id.length, 12);
  id.copy(out, 16);
  let p = 16 + id.length;
  out.writeUInt32LE(blob.length, p);
  blob.copy(out, p + 4);
  p = head + pad;
  out.writeUInt32LE(nums.length, p);
  p += 4;
  const words = new Uint32Array(out.buffer, out.byteOffset + p, nums.length);
  words.set(nums);
  p += nums.length * 4;
  out.writeUInt32LE(crc32(out.subarray(0, p)), p);
  return out;
}

/** An entry whose unit is found when first asked for (most entries are never looked at). */
class CachedVar implements VarEntry {
  private u?: Unit;
  fn?: string;
  constOnly?: boolean;
  constructor(
    public name: string,
    public die: number,
    readonly unitStart: number,
    private readonly reader: DwarfReader,
    public scope: VarEntry['scope'],
    fn: string | undefined,
    public declaration: boolean,
    constOnly: boolean,
  ) {
    if (fn !== undefined) this.fn = fn;
    if (constOnly) this.constOnly = true;
  }
  get unit(): Unit {
    return (this.u ??= unitOf(this.reader, this.unitStart));
  }
}

class CachedFn implements FnEntry {
  private u?: Unit;
  constructor(
    public name: string,
    public die: number,
    readonly unitStart: number,
    private readonly reader: DwarfReader,
    public external: boolean,
    public declaration: boolean,
  ) {}
  get unit(): Unit {
    return (this.u ??= unitOf(this.reader, this.unitStart));
  }
}

/** The unit at a start offset the cache recorded (a unit that became unreadable: an empty stand-in with the error). */
function unitOf(reader: DwarfReader, start: number): Unit {
  const u = reader.unitAt(start);
  if (u) return u;
  return {
    offset: start,
    end: start,
    version: 0,
    unitType: 0,
    addressSize: 8,
    offsetSize: 4,
    abbrevOffset: 0,
    abbrevs: new Map(),
    abbrevList: [],
    dieOffset: start,
    strOffsetsBase: 0,
    addrBase: 0,
    rnglistsBase: 0,
    loclistsBase: 0,
    error: 'unit unreadable',
  };
}

/** Re-encoding an adopted index must not read every unit just to learn its offset. */
function unitStartOf(e: VarEntry | FnEntry): number {
  return e instanceof CachedVar || e instanceof CachedFn ? e.unitStart : e.unit.offset;
}

class Bad extends Error {}

/** A validated index: unit starts and errors now, each map decoded when first used. */
export interface OpenedIndex extends IndexParts {
  unitStarts: number[];
}

/**
 * The index in `buf` if it is intact and was built from the file `identity` names, else
 * undefined. The checksum and the section layout are checked here; the maps are decoded
 * later, with every string index and DIE offset bounds-checked (`infoLength`).
 */
export function decodeIndex(buf: Buffer, identity: string, reader: DwarfReader, infoLength: number): OpenedIndex | undefined {
  try {
    return open(buf, identity, reader, infoLength);
  } catch (e) {
    if (e instanceof Bad || e instanceof RangeError) return undefined;
    throw e;
  }
}

function need(ok: boolean): void {
  if (!ok) throw new Bad();
}

function open(buf: Buffer, identity: string, reader: DwarfReader, infoLength: number): OpenedIndex {
  need(buf.length >= 40 && buf.readUInt32LE(0) === MAGIC && buf.readUInt32LE(4) === FORMAT_VERSION && buf.readUInt32LE(8) === buf.length);
  const idLen = buf.readUInt32LE(12);
  need(16 + idLen + 4 <= buf.length && buf.toString('utf8', 16, 16 + idLen) === identity);
  let p = 16 + idLen;
  const blobLen = buf.readUInt32LE(p);
  need(p + 4 + blobLen <= buf.length && blobLen >= 1);
  const blobAt = p + 4;
  const blob = buf.subarray(blobAt, blobAt + blobLen);
  need(blob[0] === 0 && blob[blobLen - 1] === 0);
  p += 4 + blobLen;
  p += (4 - (p % 4)) % 4;
  const count = buf.readUInt32LE(p);
  p += 4;
  need(p + count * 4 + 4 === buf.length);
  // A Buffer from readFileSync may sit at any byte offset of its ArrayBuffer.
  const nums =
    (buf.byteOffset + p) % 4 === 0
      ? new Uint32Array(buf.buffer, buf.byteOffset + p, count)
      : new Uint32Array(buf.buffer.slice(buf.byteOffset + p, buf.byteOffset + p + count * 4));
  need(crc32(buf.subarray(0, buf.length - 4)) === buf.readUInt32LE(buf.length - 4));
  const strCache = new Map<number, string>();
  /** The string at blob offset `k` (it starts right after a NUL and ends at the next one). */
  const str = (k: number): string => {
    let t = strCache.get(k);
    if (t === undefined) {
      need(k > 0 && k < blobLen && blob[k - 1] === 0);
      t = blob.toString('utf8', k, blob.indexOf(0, k));
      strCache.set(k, t);
    }
    return t;
  };
  /** The blob offset of `name`, or -1 when no record can carry it. */
  const offsetOf = (name: string): number => {
    const at = blob.indexOf(`\0${name}\0`, 0, 'utf8');
    return at < 0 ? -1 : at + 1;
  };
  // Section layout: validated now by counts alone (no objects made).
  let i = 0;
  const at = (k: number): number => {
    need(k < count);
    return nums[k];
  };
  const nUnits = at(i++);
  need(nUnits <= count - i);
  const unitStarts: number[] = new Array(nUnits);
  for (let k = 0; k < nUnits; k++) {
    const o = nums[i + k];
    need(o < infoLength && (k === 0 || o > unitStarts[k - 1]));
    unitStarts[k] = o;
  }
  i += nUnits;
  const varsAt = i + 1;
  const nVars = at(i);
  i = varsAt + nVars * 5;
  const fnsAt = i + 1;
  const nFns = at(i);
  i = fnsAt + nFns * 4;
  const hasTypes = at(i++) === 1;
  const typesAt = i;
  if (hasTypes) {
    const nNames = at(i++);
    for (let k = 0; k < nNames; k++) i += 2 + at(i + 1);
    i += 1 + 2 * at(i);
  }
  const nErr = at(i++);
  need(i + nErr === count);
  const errors: string[] = [];
  for (let k = 0; k < nErr; k++) errors.push(str(nums[i + k]));

  const off = (o: number): number => {
    need(o < infoLength);
    return o;
  };
  // After the checksum passed, a bad index can only come from an encoder bug: the part then
  // comes out empty (and says so) rather than throwing from a lookup.
  const guarded = <T>(what: string, empty: T, f: () => T): T => {
    try {
      return f();
    } catch (e) {
      if (!(e instanceof Bad || e instanceof RangeError)) throw e;
      errors.push(`persistent index: ${what} unreadable; delete ${'~/.cache/pidscope/index'} if this persists`);
      return empty;
    }
  };
  const varAt = (j: number): VarEntry => {
    const fnIdx = nums[j + 3];
    const flags = nums[j + 4];
    need((flags & 3) < 3);
    return new CachedVar(
      str(nums[j]),
      off(nums[j + 1]),
      off(nums[j + 2]),
      reader,
      SCOPES[flags & 3],
      fnIdx === NONE ? undefined : str(fnIdx),
      (flags & 4) !== 0,
      (flags & 8) !== 0,
    );
  };
  const fnAt = (j: number): FnEntry => {
    const flags = nums[j + 3];
    return new CachedFn(str(nums[j]), off(nums[j + 1]), off(nums[j + 2]), reader, (flags & 1) !== 0, (flags & 2) !== 0);
  };
  /** Records of `n` words from `first` whose first word is the offset of `name`. */
  const named = <E>(what: string, name: string, first: number, n: number, words: number, make: (j: number) => E): E[] =>
    guarded(what, [], () => {
      const k = offsetOf(name);
      const out: E[] = [];
      if (k < 0) return out;
      for (let q = 0, j = first; q < n; q++, j += words) if (nums[j] === k) out.push(make(j));
      return out;
    });
  const typeWalk = (visitDef: (name: number, j: number, n: number) => void, visitDecl: (name: number, die: number) => void): void => {
    let j = typesAt;
    const nNames = nums[j++];
    for (let k = 0; k < nNames; k++) {
      const n = nums[j + 1];
      visitDef(nums[j], j + 2, n);
      j += 2 + n;
    }
    const nDecls = nums[j++];
    for (let k = 0; k < nDecls; k++, j += 2) visitDecl(nums[j], nums[j + 1]);
  };
  return {
    unitStarts,
    errors,
    variablesNamed: (name) => named('variables', name, varsAt, nVars, 5, varAt),
    functionsNamed: (name) => named('functions', name, fnsAt, nFns, 4, fnAt),
    variables: () =>
      guarded('variables', new Map(), () => {
        const out = new Map<string, VarEntry[]>();
        for (let k = 0, j = varsAt; k < nVars; k++, j += 5) {
          const e = varAt(j);
          const l = out.get(e.name);
          if (l) l.push(e);
          else out.set(e.name, [e]);
        }
        return out;
      }),
    functions: () =>
      guarded('functions', new Map(), () => {
        const out = new Map<string, FnEntry[]>();
        for (let k = 0, j = fnsAt; k < nFns; k++, j += 4) {
          const e = fnAt(j);
          const l = out.get(e.name);
          if (l) l.push(e);
          else out.set(e.name, [e]);
        }
        return out;
      }),
    typeNamed: hasTypes
      ? (name) =>
          guarded('type names', {}, () => {
            const k = offsetOf(name);
            const r: { defs?: number[]; decl?: number } = {};
            if (k < 0) return r;
            typeWalk(
              (nm, j, n) => {
                if (nm !== k) return;
                const offs: number[] = new Array(n);
                for (let q = 0; q < n; q++) offs[q] = off(nums[j + q]);
                r.defs = offs;
              },
              (nm, die) => {
                if (nm === k && r.decl === undefined) r.decl = off(die);
              },
            );
            return r;
          })
      : undefined,
    types: hasTypes
      ? () =>
          guarded('type names', { defs: new Map(), decls: new Map() }, () => {
            const defs = new Map<string, number[]>();
            const decls = new Map<string, number>();
            typeWalk(
              (nm, j, n) => {
                const offs: number[] = new Array(n);
                for (let q = 0; q < n; q++) offs[q] = off(nums[j + q]);
                defs.set(str(nm), offs);
              },
              (nm, die) => {
                decls.set(str(nm), off(die));
              },
            );
            return { defs, decls };
          })
      : undefined,
  };
}
