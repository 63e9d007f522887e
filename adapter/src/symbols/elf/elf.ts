/**
 * ELF files: headers, sections, segments, symbols, notes, build-id, debuglink, compressed
 * sections, all read from the raw header bytes with the bounds-checked cursor (every address a
 * bigint). elfy 1.0.0 used to parse the headers first; it misread 64-bit addralign/entsize,
 * osabi and .bss data, and parsing every section of every mapped file with it cost more at
 * start-up than the little it was still used for (class, byte order, section names).
 */
import { mapFile } from '../../linux/mapFile';
import { readFileSync } from 'node:fs';
import { Cursor, FormatError, stringAt } from '../binary/cursor';

export const SHT_NULL = 0;
export const SHT_PROGBITS = 1;
export const SHT_SYMTAB = 2;
export const SHT_STRTAB = 3;
export const SHT_NOTE = 7;
export const SHT_NOBITS = 8;
export const SHT_DYNSYM = 11;
export const SHF_ALLOC = 0x2n;
export const SHF_COMPRESSED = 0x800n;
export const PT_LOAD = 1;
export const PT_DYNAMIC = 2;
export const PT_NOTE = 4;
export const PT_TLS = 7;
export const ET_EXEC = 2;
export const ET_DYN = 3;
export const NT_GNU_BUILD_ID = 3;
export const ELFCOMPRESS_ZLIB = 1;
export const ELFCOMPRESS_ZSTD = 2;

export interface ElfSection {
  index: number;
  name: string;
  type: number;
  flags: bigint;
  addr: bigint;
  offset: number;
  size: number;
  link: number;
  info: number;
  addralign: bigint;
  entsize: number;
}

export interface ElfSegment {
  type: number;
  flags: number;
  offset: number;
  vaddr: bigint;
  paddr: bigint;
  filesz: number;
  memsz: bigint;
  align: bigint;
}

export type SymbolType = 'notype' | 'object' | 'func' | 'section' | 'file' | 'common' | 'tls' | 'ifunc' | 'other';
export type SymbolBinding = 'local' | 'global' | 'weak' | 'unique' | 'other';

export interface ElfSymbol {
  name: string;
  value: bigint;
  size: number;
  type: SymbolType;
  binding: SymbolBinding;
  /** Section index (SHN_UNDEF = 0, SHN_ABS = 0xfff1, SHN_COMMON = 0xfff2). */
  shndx: number;
  /** 'symtab' or 'dynsym'. */
  table: 'symtab' | 'dynsym';
}

export interface ElfNote {
  name: string;
  type: number;
  desc: Buffer;
}

export interface DebugLink {
  name: string;
  crc: number;
}

const SYM_TYPES: SymbolType[] = ['notype', 'object', 'func', 'section', 'file', 'common', 'tls'];
const SYM_BINDINGS: SymbolBinding[] = ['local', 'global', 'weak'];

export class ElfFile {
  readonly path: string;
  readonly buf: Buffer;
  readonly is64: boolean;
  readonly littleEndian: boolean;
  readonly osabi: number;
  readonly type: number;
  readonly machine: number;
  readonly entry: bigint;
  readonly sections: ElfSection[] = [];
  readonly segments: ElfSegment[] = [];
  private readonly dataCache = new Map<number, Buffer>();
  private symbolCache = new Map<string, ElfSymbol[]>();

  static open(path: string, displayPath = path): ElfFile {
    return new ElfFile(mapFile(path) ?? readFileSync(path), displayPath);
  }

  constructor(buf: Buffer, path: string) {
    this.path = path;
    this.buf = buf;
    if (buf.length < 16 || buf.readUInt32BE(0) !== 0x7f454c46) {
      throw new FormatError('not an ELF file (bad magic)', 0, path);
    }
    // Class and byte order straight from e_ident (elfy, which parsed every section of every
    // file before, cost more at start-up than everything it was still used for).
    const cls = buf[4];
    const order = buf[5];
    if ((cls !== 1 && cls !== 2) || (order !== 1 && order !== 2)) {
      throw new FormatError(`malformed ELF (class ${cls}, byte order ${order})`, 4, path);
    }
    this.is64 = cls === 2;
    this.littleEndian = order === 1;
    // elfy maps e_ident[EI_OSABI] through a wrong table; the byte itself is what readelf shows.
    this.osabi = buf[7];
    const c = new Cursor(buf, this.littleEndian, 0, buf.length, path);
    c.seek(16);
    this.type = c.u16();
    this.machine = c.u16();
    c.u32(); // version
    const w = this.is64 ? 8 : 4;
    this.entry = c.uN(w);
    const phoff = c.uNn(w);
    const shoff = c.uNn(w);
    c.u32(); // flags
    c.u16(); // ehsize
    const phentsize = c.u16();
    let phnum = c.u16();
    const shentsize = c.u16();
    let shnum = c.u16();
    let shstrndx = c.u16();
    if (shoff !== 0 && shnum === 0 && shoff + shentsize <= buf.length) {
      // Extended numbering: the real count lives in section 0's sh_size.
      const s0 = new Cursor(buf, this.littleEndian, shoff, shoff + shentsize, path);
      s0.skip(this.is64 ? 32 : 20);
      shnum = s0.uNn(w);
    }
    if (shstrndx === 0xffff && shoff !== 0) {
      const s0 = new Cursor(buf, this.littleEndian, shoff, shoff + shentsize, path);
      s0.skip(this.is64 ? 40 : 24);
      shstrndx = s0.u32();
    }
    if (phnum === 0xffff) phnum = 0;
    for (let i = 0; i < phnum; i++) {
      const p = c.sub(phoff + i * phentsize, phoff + (i + 1) * phentsize, path);
      if (this.is64) {
        const type = p.u32();
        const flags = p.u32();
        const offset = p.u64n();
        const vaddr = p.u64();
        const paddr = p.u64();
        const filesz = p.u64n();
        const memsz = p.u64();
        const align = p.u64();
        this.segments.push({ type, flags, offset, vaddr, paddr, filesz, memsz, align });
      } else {
        const type = p.u32();
        const offset = p.u32();
        const vaddr = BigInt(p.u32());
        const paddr = BigInt(p.u32());
        const filesz = p.u32();
        const memsz = BigInt(p.u32());
        const flags = p.u32();
        const align = BigInt(p.u32());
        this.segments.push({ type, flags, offset, vaddr, paddr, filesz, memsz, align });
      }
    }
    const strtab = shnum > 0 ? this.rawSectionHeaderStrings(c, shoff, shentsize, shstrndx, w) : undefined;
    // 64-bit little-endian (every x86-64 file): direct reads, no cursor per header. Every start
    // parses the section headers of each mapped file and debug file (hundreds of headers).
    if (this.is64 && this.littleEndian && shentsize >= 64 && shnum > 0 && shoff + shnum * shentsize <= buf.length) {
      for (let i = 0; i < shnum; i++) {
        const o = shoff + i * shentsize;
        const big = (at: number): number => {
          const hi = buf.readUInt32LE(at + 4);
          if (hi > 0x1fffff) c.fail(`64-bit value 0x${buf.readBigUInt64LE(at).toString(16)} too large for an offset`, at);
          return hi * 0x100000000 + buf.readUInt32LE(at);
        };
        const nameOff = buf.readUInt32LE(o);
        this.sections.push({
          index: i,
          name: strtab ? safeString(strtab, nameOff) : '',
          type: buf.readUInt32LE(o + 4),
          flags: buf.readBigUInt64LE(o + 8),
          addr: buf.readBigUInt64LE(o + 16),
          offset: big(o + 24),
          size: big(o + 32),
          link: buf.readUInt32LE(o + 40),
          info: buf.readUInt32LE(o + 44),
          addralign: buf.readBigUInt64LE(o + 48),
          entsize: big(o + 56),
        });
      }
      return;
    }
    for (let i = 0; i < shnum; i++) {
      const s = c.sub(shoff + i * shentsize, shoff + (i + 1) * shentsize, path);
      const nameOff = s.u32();
      const type = s.u32();
      const flags = s.uN(w);
      const addr = s.uN(w);
      const offset = s.uNn(w);
      const size = s.uNn(w);
      const link = s.u32();
      const info = s.u32();
      const addralign = s.uN(w);
      const entsize = s.uNn(w);
      const name = strtab ? safeString(strtab, nameOff) : '';
      this.sections.push({ index: i, name, type, flags, addr, offset, size, link, info, addralign, entsize });
    }
  }

  private rawSectionHeaderStrings(c: Cursor, shoff: number, shentsize: number, idx: number, w: number): Buffer | undefined {
    try {
      const s = c.sub(shoff + idx * shentsize, shoff + (idx + 1) * shentsize);
      s.skip(this.is64 ? 24 : 16);
      const off = s.uNn(w);
      const size = s.uNn(w);
      return c.sub(off, off + size).bytes(size);
    } catch {
      return undefined;
    }
  }

  get addressSize(): number {
    return this.is64 ? 8 : 4;
  }

  /** True for ET_DYN (PIE executables and shared libraries): loaded at a bias. */
  get isDynamic(): boolean {
    return this.type === ET_DYN;
  }

  section(name: string): ElfSection | undefined {
    return this.sections.find((s) => s.name === name);
  }

  /**
   * Section contents, decompressed when SHF_COMPRESSED (zlib; zstd when this Node has it).
   * SHT_NOBITS sections (.bss) have no bytes in the file: an empty buffer, unlike elfy.
   */
  sectionData(s: ElfSection | string): Buffer {
    const sec = typeof s === 'string' ? this.section(s) : s;
    if (!sec) return Buffer.alloc(0);
    const cached = this.dataCache.get(sec.index);
    if (cached) return cached;
    let data: Buffer;
    if (sec.type === SHT_NOBITS || sec.type === SHT_NULL) data = Buffer.alloc(0);
    else {
      if (sec.offset + sec.size > this.buf.length) {
        throw new FormatError(
          `section ${sec.name} [0x${sec.offset.toString(16)}+0x${sec.size.toString(16)}] runs past the end of the file (${this.buf.length} bytes)`,
          sec.offset,
          this.path,
        );
      }
      data = this.buf.subarray(sec.offset, sec.offset + sec.size);
      if (sec.flags & SHF_COMPRESSED) data = this.decompress(sec, data);
    }
    this.dataCache.set(sec.index, data);
    return data;
  }

  private decompress(sec: ElfSection, raw: Buffer): Buffer {
    const c = new Cursor(raw, this.littleEndian, 0, raw.length, `${this.path} ${sec.name}`);
    const chType = c.u32();
    let size: number;
    if (this.is64) {
      c.u32(); // reserved
      size = c.u64n();
      c.u64(); // addralign
    } else {
      size = c.u32();
      c.u32();
    }
    const body = raw.subarray(c.pos);
    let out: Buffer;
    if (chType === ELFCOMPRESS_ZLIB) {
      out = zlib().inflateSync(body, { maxOutputLength: Math.max(size, 1) });
    } else if (chType === ELFCOMPRESS_ZSTD) {
      const zstd = (zlib() as unknown as { zstdDecompressSync?: (b: Buffer) => Buffer }).zstdDecompressSync;
      if (!zstd) throw new FormatError(`section ${sec.name} is zstd-compressed and this Node.js has no zstd`, sec.offset, this.path);
      out = zstd(body);
    } else {
      throw new FormatError(`section ${sec.name} has unknown compression type ${chType}`, sec.offset, this.path);
    }
    if (out.length !== size) throw new FormatError(`section ${sec.name} decompressed to ${out.length} bytes, header says ${size}`, sec.offset, this.path);
    return out;
  }

  /** Symbols of .symtab or .dynsym (index 0, the null symbol, omitted). */
  symbols(table: 'symtab' | 'dynsym' = 'symtab'): ElfSymbol[] {
    const hit = this.symbolCache.get(table);
    if (hit) return hit;
    const sec = this.sections.find((s) => s.type === (table === 'symtab' ? SHT_SYMTAB : SHT_DYNSYM));
    const out: ElfSymbol[] = [];
    if (sec) {
      const data = this.sectionData(sec);
      const strs = this.sections[sec.link] ? this.sectionData(this.sections[sec.link]) : Buffer.alloc(0);
      const entsize = sec.entsize || (this.is64 ? 24 : 16);
      const count = Math.floor(data.length / entsize);
      const c = new Cursor(data, this.littleEndian, 0, data.length, `${this.path} .${table}`);
      // 64-bit little-endian (every x86-64 file): direct reads, no cursor per field. A big
      // program's .symtab has tens of thousands of entries and this ran at every start.
      const fast = this.is64 && this.littleEndian && entsize >= 24;
      for (let i = fast ? count : 1; i < count; i++) {
        c.seek(i * entsize);
        let nameOff: number, value: bigint, size: number, info: number, shndx: number;
        if (this.is64) {
          nameOff = c.u32();
          info = c.u8();
          c.u8();
          shndx = c.u16();
          value = c.u64();
          size = c.u64n();
        } else {
          nameOff = c.u32();
          value = BigInt(c.u32());
          size = c.u32();
          info = c.u8();
          c.u8();
          shndx = c.u16();
        }
        const t = info & 0xf;
        const b = info >> 4;
        out.push({
          name: safeString(strs, nameOff),
          value,
          size,
          type: t === 10 ? 'ifunc' : (SYM_TYPES[t] ?? 'other'),
          binding: b === 10 ? 'unique' : (SYM_BINDINGS[b] ?? 'other'),
          shndx,
          table,
        });
      }
      if (fast) {
        for (let i = 1; i < count; i++) {
          const o = i * entsize;
          const info = data[o + 4];
          const sizeHi = data.readUInt32LE(o + 20);
          if (sizeHi > 0x1fffff) c.fail(`symbol ${i}: size too large`, o + 16);
          const t = info & 0xf;
          const b = info >> 4;
          out.push({
            name: safeString(strs, data.readUInt32LE(o)),
            value: data.readBigUInt64LE(o + 8),
            size: sizeHi * 0x100000000 + data.readUInt32LE(o + 16),
            type: t === 10 ? 'ifunc' : (SYM_TYPES[t] ?? 'other'),
            binding: b === 10 ? 'unique' : (SYM_BINDINGS[b] ?? 'other'),
            shndx: data.readUInt16LE(o + 6),
            table,
          });
        }
      }
    }
    this.symbolCache.set(table, out);
    return out;
  }

  /** Notes from SHT_NOTE sections, or from PT_NOTE segments when there are no section headers. */
  notes(): ElfNote[] {
    const out: ElfNote[] = [];
    const noteSections = this.sections.filter((s) => s.type === SHT_NOTE);
    const blocks: Buffer[] = noteSections.length
      ? noteSections.map((s) => this.sectionData(s))
      : this.segments.filter((p) => p.type === PT_NOTE && p.offset + p.filesz <= this.buf.length).map((p) => this.buf.subarray(p.offset, p.offset + p.filesz));
    for (const block of blocks) {
      const c = new Cursor(block, this.littleEndian, 0, block.length, `${this.path} notes`);
      while (c.remaining >= 12) {
        const namesz = c.u32();
        const descsz = c.u32();
        const type = c.u32();
        if (namesz > c.remaining) break;
        const name = c.bytes(namesz).toString('latin1').replace(/\0+$/, '');
        c.align(4);
        if (descsz > c.remaining) break;
        const desc = c.bytes(descsz);
        if (c.remaining > 0) c.align(4);
        out.push({ name, type, desc });
      }
    }
    return out;
  }

  /** The GNU build-id as lowercase hex, if present. */
  buildId(): string | undefined {
    const n = this.notes().find((x) => x.name === 'GNU' && x.type === NT_GNU_BUILD_ID);
    return n && n.desc.length > 0 ? n.desc.toString('hex') : undefined;
  }

  /** .gnu_debuglink: file name and CRC32 of the separate debug file. */
  debugLink(): DebugLink | undefined {
    const s = this.section('.gnu_debuglink');
    if (!s) return undefined;
    const data = this.sectionData(s);
    const c = new Cursor(data, this.littleEndian, 0, data.length, `${this.path} .gnu_debuglink`);
    const name = c.cstr();
    c.align(4);
    return { name, crc: c.u32() };
  }

  private dynCache?: { needed: string[]; soname?: string };

  /** DT_NEEDED names (in order) and DT_SONAME from .dynamic; empty for static files. */
  dynamicInfo(): { needed: string[]; soname?: string } {
    if (this.dynCache) return this.dynCache;
    const out: { needed: string[]; soname?: string } = { needed: [] };
    this.dynCache = out;
    const dyn = this.sections.find((x) => x.type === 6 /* SHT_DYNAMIC */);
    if (!dyn) return out;
    try {
      const data = this.sectionData(dyn);
      const strs = this.sections[dyn.link] ? this.sectionData(this.sections[dyn.link]) : Buffer.alloc(0);
      const c = new Cursor(data, this.littleEndian, 0, data.length, `${this.path} .dynamic`);
      const w = this.addressSize;
      while (c.remaining >= 2 * w) {
        const tag = c.uN(w);
        const val = c.uN(w);
        if (tag === 0n) break;
        if (tag === 1n) out.needed.push(safeString(strs, Number(val)));
        else if (tag === 14n) out.soname = safeString(strs, Number(val));
      }
    } catch {
      /* a broken .dynamic: no order information */
    }
    return out;
  }

  /** True if the file has DWARF (.debug_info with bytes). */
  hasDwarf(): boolean {
    const s = this.section('.debug_info');
    return !!s && s.type !== SHT_NOBITS && s.size > 0;
  }

  loadSegments(): ElfSegment[] {
    return this.segments.filter((p) => p.type === PT_LOAD);
  }
}

function safeString(table: Buffer, off: number): string {
  if (off >= table.length) return '';
  return stringAt(table, off, 'strtab');
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

type Crc32 = (b: Uint8Array, crc: number) => number;

let zlibModule: typeof import('node:zlib') | undefined;
/** node:zlib on first use: loading it loads node:stream too (~2 ms of a warm start that decompresses nothing). */
function zlib(): typeof import('node:zlib') {
  return (zlibModule ??= require('node:zlib') as typeof import('node:zlib'));
}

let nativeCrc32: Crc32 | null | undefined;
/**
 * zlib's native CRC-32 (Node 20.15+). A warm start checks the persistent index with it and needs
 * nothing else of zlib, so it takes the function from the binding node:zlib's crc32 wraps,
 * without loading node:zlib. process.binding is deprecated in documentation only (a warning
 * only under --pending-deprecation, where node:zlib is used instead); any surprise falls back to
 * node:zlib, then to the JS loop.
 */
function native(): Crc32 | undefined {
  if (nativeCrc32 !== undefined) return nativeCrc32 ?? undefined;
  nativeCrc32 = null;
  const pending = /--pending-deprecation/.test(`${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS ?? ''}`);
  const bind = (process as unknown as { binding?: (name: string) => { crc32?: Crc32 } }).binding;
  try {
    const b = !pending && typeof bind === 'function' ? bind.call(process, 'zlib') : undefined;
    if (typeof b?.crc32 === 'function' && b.crc32(Buffer.from('123456789'), 0) >>> 0 === 0xcbf43926) nativeCrc32 = (x, c) => b.crc32!(x, c);
  } catch {
    /* no binding: node:zlib below */
  }
  if (!nativeCrc32) nativeCrc32 = (zlib() as unknown as { crc32?: Crc32 }).crc32 ?? null;
  return nativeCrc32 ?? undefined;
}

/** The CRC32 used by .gnu_debuglink (zlib's: native from Node 20.15, a JS loop before). */
export function crc32(buf: Uint8Array, crc = 0): number {
  const nativeCrc = native();
  if (nativeCrc) return nativeCrc(buf, crc) >>> 0;
  let c = ~crc >>> 0;
  for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}
