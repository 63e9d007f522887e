/**
 * A module: one ELF file mapped into the target, with its load bias, its ELF symbols and (when
 * found) its DWARF. Everything the module answers is in absolute target addresses.
 *
 * Load bias: for a region mapping file offset `off` at `start`, inside a PT_LOAD with
 * (p_offset, p_vaddr), bias = start - off - (p_vaddr - p_offset). That holds for PIE and ASLR
 * and gives 0 for non-PIE executables.
 */
import { isAddressSymbol, nearestSymbol } from './minsym';
import { DwarfInfo } from './dwarf/info';
import type { CompleteType } from './dwarf/typeBuilder';
import type { DwarfSections } from './dwarf/reader';
import { ElfFile, PT_LOAD, type ElfSymbol } from './elf/elf';
import { attachIndexCache } from './indexCache/attach';
import { attachCompilerIndex } from './dwarf/compilerIndex';
import { symbolValuesNamed } from './elf/valuesNamed';

export interface ModuleRegion {
  start: bigint;
  end: bigint;
  offset: bigint;
}

export interface ModuleInfo {
  /** Path as mapped in the target (what /proc/PID/maps says). */
  path: string;
  /** Where we read the ELF from (/proc/PID/root/..., /proc/PID/map_files/..., or a plain path). */
  readFrom: string;
  /** Separate debug file used, if any. */
  debugFile?: string;
  bias: bigint;
  start: bigint;
  end: bigint;
  buildId?: string;
  hasDebugInfo: boolean;
}

export class Module {
  readonly path: string;
  readonly readFrom: string;
  readonly elf: ElfFile;
  /** The ELF that holds DWARF (elf itself, a separate debug file, or undefined). */
  readonly debugElf?: ElfFile;
  readonly debugFile?: string;
  readonly bias: bigint;
  readonly start: bigint;
  readonly end: bigint;
  readonly isMain: boolean;
  private dwarfInfo?: DwarfInfo | null;
  private symCache?: ElfSymbol[];
  private sortedSyms?: ElfSymbol[];
  readonly warnings: string[];
  /** Completes declared-only struct/union/enum types from other modules (set by the owner). */
  completeType?: CompleteType;

  constructor(opts: {
    path: string;
    readFrom: string;
    elf: ElfFile;
    debugElf?: ElfFile;
    debugFile?: string;
    bias: bigint;
    start: bigint;
    end: bigint;
    isMain: boolean;
    warnings: string[];
  }) {
    this.path = opts.path;
    this.readFrom = opts.readFrom;
    this.elf = opts.elf;
    this.debugElf = opts.debugElf;
    this.debugFile = opts.debugFile;
    this.bias = opts.bias;
    this.start = opts.start;
    this.end = opts.end;
    this.isMain = opts.isMain;
    this.warnings = opts.warnings;
  }

  get basename(): string {
    const i = this.path.lastIndexOf('/');
    return i >= 0 ? this.path.slice(i + 1) : this.path;
  }

  info(): ModuleInfo {
    return {
      path: this.path,
      readFrom: this.readFrom,
      debugFile: this.debugFile,
      bias: this.bias,
      start: this.start,
      end: this.end,
      buildId: safe(() => this.elf.buildId()),
      hasDebugInfo: !!this.debugElf,
    };
  }

  /** The DWARF if some lookup already opened it (reporting must not open, say, libc's). */
  get dwarfIfOpen(): DwarfInfo | undefined {
    return this.dwarfInfo ?? undefined;
  }

  /** DWARF of the module, opened on first use (undefined without debug info). */
  get dwarf(): DwarfInfo | undefined {
    if (this.dwarfInfo !== undefined) return this.dwarfInfo ?? undefined;
    this.dwarfInfo = null;
    const e = this.debugElf;
    if (!e) return undefined;
    try {
      const memo = new Map<string, Buffer | undefined>();
      const sec = (n: string) => {
        if (memo.has(n)) return memo.get(n);
        const s = e.section(n);
        const data = !s || s.type === 8 /* NOBITS */ ? undefined : e.sectionData(s);
        memo.set(n, data);
        return data;
      };
      // Sections are read (and decompressed) when first touched: a lookup needs .debug_info,
      // .debug_abbrev and .debug_str; line tables and range lists only for code addresses.
      let info = sec('.debug_info') ?? Buffer.alloc(0);
      const types = sec('.debug_types');
      const typesStart = types && types.length ? info.length : undefined;
      if (types && types.length) info = Buffer.concat([info, types]);
      const sections: DwarfSections = {
        info,
        typesStart,
        abbrev: sec('.debug_abbrev') ?? Buffer.alloc(0),
        get str() {
          return sec('.debug_str');
        },
        get lineStr() {
          return sec('.debug_line_str');
        },
        get strOffsets() {
          return sec('.debug_str_offsets');
        },
        get addr() {
          return sec('.debug_addr');
        },
        get ranges() {
          return sec('.debug_ranges');
        },
        get rnglists() {
          return sec('.debug_rnglists');
        },
        get loclists() {
          return sec('.debug_loclists');
        },
        get loc() {
          return sec('.debug_loc');
        },
        get line() {
          return sec('.debug_line');
        },
        get aranges() {
          return sec('.debug_aranges');
        },
        littleEndian: e.littleEndian,
        addressSize: e.addressSize,
        file: e.path,
      };
      this.dwarfInfo = new DwarfInfo(sections);
      if (this.completeType) this.dwarfInfo.types.completeType = this.completeType;
      attachIndexCache(this.dwarfInfo, {
        path: e === this.elf ? this.readFrom : (this.debugFile ?? this.readFrom),
        size: e.buf.length,
        buildId: safe(() => e.buildId()),
      });
      // Without a cached index, the file's own (.debug_names / .gdb_index) spares the full scan.
      attachCompilerIndex(
        this.dwarfInfo,
        sec,
        (w) => this.warnings.push(w),
        (name) => symbolValuesNamed([this.elf, this.debugElf !== this.elf ? this.debugElf : undefined], name),
      );
    } catch (err) {
      this.warnings.push(`${this.path}: cannot read DWARF (${(err as Error).message}); using ELF symbols only`);
    }
    return this.dwarfInfo ?? undefined;
  }

  /**
   * ELF symbols with link-time values: .symtab of the file, else of the debug file (split
   * debug keeps it there), plus .dynsym.
   */
  symbols(): ElfSymbol[] {
    if (this.symCache) return this.symCache;
    let syms: ElfSymbol[] = [];
    try {
      syms = [...this.elf.symbols('symtab')];
      if (syms.length === 0 && this.debugElf && this.debugElf !== this.elf) syms = [...this.debugElf.symbols('symtab')];
    } catch (e) {
      this.warnings.push(`${this.path}: bad .symtab (${(e as Error).message})`);
    }
    let dyn: ElfSymbol[] = [];
    try {
      dyn = this.elf.symbols('dynsym');
    } catch (e) {
      this.warnings.push(`${this.path}: bad .dynsym (${(e as Error).message})`);
    }
    // Only names that .dynsym has can be duplicates: no key string per .symtab entry (tens of
    // thousands in a big program, each a bigint formatted to text).
    const dynNames = new Set(dyn.map((d) => d.name));
    const seen = new Map<string, bigint[]>();
    for (const s of syms) {
      if (!dynNames.has(s.name)) continue;
      const l = seen.get(s.name);
      if (l) l.push(s.value);
      else seen.set(s.name, [s.value]);
    }
    for (const d of dyn) if (!seen.get(d.name)?.includes(d.value)) syms.push(d);
    this.symCache = syms;
    return syms;
  }

  private nameTables?: Buffer[];

  /**
   * Whether some ELF symbol may be named `name` (or `name.N`, gcc's name for function statics).
   * Lets a lookup skip indexing the DWARF of modules that cannot define the name. Searches the
   * symbol string tables natively (no symbol decoding); a suffix match can only give a false
   * "maybe", never a false "no" (linkers share string tails). Undefined when the module has no
   * .symtab anywhere: then nothing can be ruled out.
   */
  mayDefine(name: string): boolean | undefined {
    if (!this.nameTables) {
      const tables: Buffer[] = [];
      let hasSymtab = false;
      for (const e of [this.elf, this.debugElf]) {
        if (!e) continue;
        for (const sec of e.sections) {
          if (sec.type !== 2 && sec.type !== 11) continue;
          if (sec.type === 2) hasSymtab = true;
          const strs = e.sections[sec.link];
          if (!strs) continue;
          try {
            tables.push(e.sectionData(strs));
          } catch {
            hasSymtab = false;
          }
        }
      }
      this.nameTables = hasSymtab ? tables : [];
      if (!hasSymtab) this.nameTables = undefined;
      if (!this.nameTables) return undefined;
    }
    const exact = Buffer.from(name + '\0');
    const dotted = Buffer.from(name + '.');
    return this.nameTables.some((t) => t.indexOf(exact) >= 0 || t.indexOf(dotted) >= 0);
  }

  /** Defined symbols by name. */
  private localFiles?: Map<ElfSymbol, string>;

  /** The source file (the STT_FILE symbol before it in .symtab) a local symbol belongs to. */
  fileOfLocal(sym: ElfSymbol): string | undefined {
    if (!this.localFiles) {
      this.localFiles = new Map();
      let file: string | undefined;
      for (const s of this.symbols()) {
        if (s.table !== 'symtab') continue;
        if (s.type === 'file') file = s.name;
        else if (s.binding === 'local' && file !== undefined) this.localFiles.set(s, file);
      }
    }
    return this.localFiles.get(sym);
  }

  symbolsNamed(name: string): ElfSymbol[] {
    return this.symbols().filter((s) => s.name === name && s.shndx !== 0);
  }

  /**
   * Defined symbols sorted like gdb's minimal symbol table: by address, then by name (bytewise),
   * so that among aliases the alphabetically last one wins (`environ` over `__environ`).
   */
  private addressSorted(): ElfSymbol[] {
    if (this.sortedSyms) return this.sortedSyms;
    const list = this.symbols().filter(isAddressSymbol);
    // Duplicates (same name and address, from .symtab and .dynsym) count once.
    const seen = new Set<string>();
    const uniq = list.filter((s) => {
      const k = `${s.name}@${s.value}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
    uniq.sort((x, y) => (x.value < y.value ? -1 : x.value > y.value ? 1 : x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
    this.sortedSyms = uniq;
    return uniq;
  }

  /** Index of the allocated, non-TLS section containing a link-time address (gdb's find_pc_section). */
  private sectionIndexAt(a: bigint): number | undefined {
    for (const sec of this.elf.sections) {
      if (!(sec.flags & 0x2n) || sec.flags & 0x400n || sec.size === 0) continue; // SHF_ALLOC, not SHF_TLS
      if (a >= sec.addr && a < sec.addr + BigInt(sec.size)) return sec.index;
    }
    return undefined;
  }

  /**
   * The symbol for an absolute address, as gdb's lookup_minimal_symbol_by_pc_section chooses
   * it: only symbols of the address's section; walking down from the last symbol at or below
   * the address, zero-sized symbols are remembered and passed over; a sized symbol that does
   * not reach the address loses to a remembered zero-sized one (or gives nothing).
   */
  symbolize(address: bigint): { symbol: ElfSymbol; offset: bigint } | undefined {
    const a = address - this.bias;
    const section = this.sectionIndexAt(a);
    if (section === undefined) return undefined;
    const { covering, zeroSized } = nearestSymbol(this.addressSorted(), a, section);
    const s = covering ?? zeroSized;
    return s ? { symbol: s, offset: a - s.value } : undefined;
  }

  contains(address: bigint): boolean {
    return address >= this.start && address < this.end;
  }
}

function safe<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}

/** Load bias from the regions mapping the file and its PT_LOAD segments. */
export function computeBias(elf: ElfFile, regions: ModuleRegion[]): bigint | undefined {
  const loads = elf.segments.filter((p) => p.type === PT_LOAD);
  const sorted = [...regions].sort((a, b) => (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0));
  for (const r of sorted) {
    for (const p of loads) {
      const pOff = BigInt(p.offset);
      const pageOff = pOff & ~0xfffn;
      if (r.offset >= pageOff && r.offset < pOff + BigInt(Math.max(p.filesz, 1))) {
        return r.start - r.offset - (p.vaddr - pOff);
      }
    }
  }
  if (!elf.isDynamic) return 0n;
  return undefined;
}
