/**
 * gdb's `.gdb_index` section (versions 7, 8 and 9; written by gdb-add-index or `save
 * gdb-index`): which compile units define a name, so a lookup reads those units only.
 *
 * Layout (gdb's doc "Index Section Format"; all little-endian u32 unless said):
 *   header: version, then offsets of the CU list, the type-unit list, the address area, the
 *           symbol table, [v9: the shortcut table,] the constant pool
 *   CU list: (u64 .debug_info offset, u64 length) per compile unit
 *   TU list: (u64 .debug_types offset, u64 type offset, u64 signature) per type unit
 *   address area: (u64 low, u64 high, u32 CU index) per range (not read here)
 *   symbol table: open-addressed hash table of (u32 name offset, u32 CU-vector offset) slots
 *           into the constant pool, both 0 when empty; the size is a power of two
 *   constant pool: NUL-terminated names; CU vectors = u32 count, then per CU a u32 with the
 *           CU index in bits 0-23 (indices past the CU list are type units), the symbol kind in
 *           bits 28-30 and "static" in bit 31
 *
 * Parsing is pure and lazy: the header and lists are checked on open, each lookup checks the
 * bytes it reads. Any inconsistency throws GdbIndexError; the caller treats the section as
 * absent.
 */

export class GdbIndexError extends Error {}

export const GDB_INDEX_KIND = ['none', 'type', 'variable', 'function', 'other'] as const;
export type GdbSymbolKind = (typeof GDB_INDEX_KIND)[number] | 'reserved';

export interface GdbIndexHit {
  /** Index into `cus` (a compile unit), or undefined for a type unit. */
  cu?: number;
  /** Index into `tus` for a type unit. */
  tu?: number;
  kind: GdbSymbolKind;
  isStatic: boolean;
}

export interface GdbIndex {
  version: number;
  /** Compile units: .debug_info offset and unit length as gdb recorded them. */
  cus: Array<{ offset: number; length: number }>;
  tus: Array<{ offset: number; typeOffset: number; signature: bigint }>;
  /** Entries for exactly `name` (case-sensitive), or [] when the table has no such name. */
  lookup(name: string): GdbIndexHit[];
  /** Every name in the symbol table (for listings and tests; reads the whole table). */
  names(): string[];
}

/** gdb's mapped_index_string_hash: `r = r * 67 + c - 113` over the bytes, lowercased from v5 on. */
export function gdbIndexHash(version: number, bytes: Uint8Array): number {
  let r = 0;
  for (let i = 0; i < bytes.length; i++) {
    let c = bytes[i];
    if (version >= 5 && c >= 0x41 && c <= 0x5a) c += 0x20; // tolower in the C locale
    r = (Math.imul(r, 67) + c - 113) >>> 0;
  }
  return r;
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

function u64(buf: Buffer, at: number): number {
  const v = buf.readBigUInt64LE(at);
  if (v > BigInt(MAX_SAFE)) throw new GdbIndexError(`64-bit value at 0x${at.toString(16)} is too large`);
  return Number(v);
}

/** Parses and checks the header and unit lists; lookups check what they touch. */
export function parseGdbIndex(buf: Buffer): GdbIndex {
  if (buf.length < 24) throw new GdbIndexError(`section too short (${buf.length} bytes)`);
  const version = buf.readUInt32LE(0);
  // Versions before 7 lack the symbol kinds and had known bugs (gdb itself refuses < 7 by default).
  if (version < 7 || version > 9) throw new GdbIndexError(`unsupported version ${version} (7, 8 and 9 are read)`);
  const nOffsets = version >= 9 ? 6 : 5;
  if (buf.length < 4 + 4 * nOffsets) throw new GdbIndexError('header truncated');
  const offs: number[] = [];
  for (let i = 0; i < nOffsets; i++) offs.push(buf.readUInt32LE(4 + 4 * i));
  const [cuList, tuList, addrArea, symTab] = offs;
  const pool = offs[nOffsets - 1];
  const symEnd = version >= 9 ? offs[4] : pool;
  if (cuList < 4 + 4 * nOffsets) throw new GdbIndexError('CU list overlaps the header');
  for (let i = 1; i < nOffsets; i++) if (offs[i] < offs[i - 1]) throw new GdbIndexError('header offsets are not in order');
  if (pool > buf.length) throw new GdbIndexError(`constant pool offset ${pool} past the section end (${buf.length})`);
  if ((tuList - cuList) % 16) throw new GdbIndexError('CU list size is not a multiple of 16');
  if ((addrArea - tuList) % 24) throw new GdbIndexError('type-unit list size is not a multiple of 24');
  if ((symTab - addrArea) % 20) throw new GdbIndexError('address area size is not a multiple of 20');
  const slotBytes = symEnd - symTab;
  if (slotBytes % 8) throw new GdbIndexError('symbol table size is not a multiple of 8');
  const slots = slotBytes / 8;
  if (slots & (slots - 1)) throw new GdbIndexError(`symbol table has ${slots} slots, not a power of two`);

  const cus: GdbIndex['cus'] = [];
  for (let at = cuList; at < tuList; at += 16) cus.push({ offset: u64(buf, at), length: u64(buf, at + 8) });
  const tus: GdbIndex['tus'] = [];
  for (let at = tuList; at < addrArea; at += 24) tus.push({ offset: u64(buf, at), typeOffset: u64(buf, at + 8), signature: buf.readBigUInt64LE(at + 16) });
  const nUnits = cus.length + tus.length;

  const cstr = (off: number): Buffer => {
    const at = pool + off;
    if (off < 0 || at >= buf.length) throw new GdbIndexError(`name offset ${off} past the constant pool`);
    const end = buf.indexOf(0, at);
    if (end < 0) throw new GdbIndexError(`name at pool offset ${off} is not NUL-terminated`);
    return buf.subarray(at, end);
  };
  const vector = (off: number): GdbIndexHit[] => {
    const at = pool + off;
    if (at + 4 > buf.length) throw new GdbIndexError(`CU vector offset ${off} past the constant pool`);
    const n = buf.readUInt32LE(at);
    if (at + 4 + 4 * n > buf.length) throw new GdbIndexError(`CU vector at pool offset ${off} (${n} entries) runs past the section`);
    const out: GdbIndexHit[] = [];
    for (let i = 0; i < n; i++) {
      const w = buf.readUInt32LE(at + 4 + 4 * i);
      const idx = w & 0xffffff;
      if (idx >= nUnits) throw new GdbIndexError(`CU vector at pool offset ${off} names unit ${idx} of ${nUnits}`);
      const k = (w >>> 28) & 7;
      const hit: GdbIndexHit = { kind: k < GDB_INDEX_KIND.length ? GDB_INDEX_KIND[k] : 'reserved', isStatic: (w & 0x80000000) !== 0 };
      if (idx < cus.length) hit.cu = idx;
      else hit.tu = idx - cus.length;
      out.push(hit);
    }
    return out;
  };

  return {
    version,
    cus,
    tus,
    lookup(name: string): GdbIndexHit[] {
      if (slots === 0) return [];
      const key = Buffer.from(name, 'utf8');
      const h = gdbIndexHash(version, key);
      const mask = slots - 1;
      let slot = h & mask;
      const step = (Math.imul(h, 17) & mask) | 1;
      // Every slot at most once: a full table without the name must not loop forever.
      for (let tries = 0; tries < slots; tries++) {
        const at = symTab + slot * 8;
        const nameOff = buf.readUInt32LE(at);
        const vecOff = buf.readUInt32LE(at + 4);
        if (nameOff === 0 && vecOff === 0) return [];
        if (cstr(nameOff).equals(key)) return vector(vecOff);
        slot = (slot + step) & mask;
      }
      return [];
    },
    names(): string[] {
      const out: string[] = [];
      for (let s = 0; s < slots; s++) {
        const at = symTab + s * 8;
        const nameOff = buf.readUInt32LE(at);
        const vecOff = buf.readUInt32LE(at + 4);
        if (nameOff === 0 && vecOff === 0) continue;
        out.push(cstr(nameOff).toString('utf8'));
      }
      return out;
    },
  };
}
