/**
 * `<symbol+offset>` exactly as gdb's print_address_symbolic chooses it: minimal symbols only
 * (.symtab, or .dynsym when the file has no .symtab), the nearest preceding symbol that covers
 * the address (zero-sized symbols are a fallback, and a zero-sized *data* symbol is never shown),
 * names as gdb shows them (gcc's `counter.0` for a function static prints as `counter`).
 *
 * Works over the symbols engine's modules when it exposes them (ProcessSymbols), else falls back
 * to SymbolLookup.symbolize.
 */
import { demangle } from '../lang/cpp/demangle';
import { isAddressSymbol, nearestInRawSymtab, nearestSymbol } from '../symbols/minsym';
import type { SymbolLookup } from '../symbols/provider';

interface ElfSymbolLike {
  name: string;
  value: bigint;
  size: number;
  type: string;
  binding: string;
  shndx: number;
  table: 'symtab' | 'dynsym';
}

interface ModuleLike {
  bias: bigint;
  symbols(): ElfSymbolLike[];
}

interface WithModules {
  moduleAt(address: bigint): ModuleLike | undefined;
  modules?: ModuleLike[];
  /** The modules that may hold `address`, in `modules` order (symbols/index.ts: opens no library for a heap address). */
  modulesNear?(address: bigint): ModuleLike[];
}

const sortedCache = new WeakMap<ModuleLike, ElfSymbolLike[]>();

function sorted(m: ModuleLike): ElfSymbolLike[] {
  let list = sortedCache.get(m);
  if (list) return list;
  const all = m.symbols().filter(isAddressSymbol);
  // gdb ignores .dynsym when the file itself has a .symtab; without one (split debug) it uses
  // .dynsym and the debug file's .symtab, and on a tie the main file's (.dynsym) name wins.
  const elf = (m as unknown as { elf?: { symbols?(t: string): unknown[] } }).elf;
  let mainHasSymtab = all.some((s) => s.table === 'symtab');
  try {
    if (elf?.symbols) mainHasSymtab = elf.symbols('symtab').length > 0;
  } catch {
    /* keep the guess */
  }
  list = all.filter((s) => !mainHasSymtab || s.table === 'symtab');
  const rank = (s: ElfSymbolLike) =>
    (s.binding === 'global' ? 0 : s.binding === 'weak' ? 1 : 2) + (s.type === 'notype' ? 4 : 0) + (!mainHasSymtab && s.table === 'symtab' ? 0.5 : 0);
  list.sort((a, b) => (a.value < b.value ? -1 : a.value > b.value ? 1 : rank(b) - rank(a)));
  sortedCache.set(m, list);
  return list;
}

const extentCache = new WeakMap<ModuleLike, { lo: bigint; hi: bigint } | null>();

function extent(m: ModuleLike): { lo: bigint; hi: bigint } | undefined {
  let e = extentCache.get(m);
  if (e === undefined) {
    e = null;
    try {
      const elf = (m as unknown as { elf?: { loadSegments?(): Array<{ vaddr: bigint; memsz: bigint }> } }).elf;
      const segs = elf?.loadSegments?.() ?? [];
      if (segs.length) {
        let lo = segs[0].vaddr;
        let hi = segs[0].vaddr + segs[0].memsz;
        for (const sg of segs) {
          if (sg.vaddr < lo) lo = sg.vaddr;
          if (sg.vaddr + sg.memsz > hi) hi = sg.vaddr + sg.memsz;
        }
        e = { lo: lo + m.bias, hi: hi + m.bias };
      }
    } catch {
      e = null;
    }
    extentCache.set(m, e);
  }
  return e ?? undefined;
}

const isText = (s: { type: string }) => s.type === 'func' || s.type === 'ifunc';

/**
 * gdb's natural name of a minimal symbol. gdb sniffs every ELF symbol with each language's
 * demangler; Ada's accepts all-lowercase names and drops a trailing `.N`, so gcc's function
 * static `counter.0` prints as `counter`, while `luaT_eventname.0` (uppercase) stays as it is.
 */
export function displayName(name: string): string {
  // C++ names are shown demangled (gdb's `set print demangle on`).
  if (name.startsWith('_Z')) return demangle(name) ?? name;
  const m = /^([a-z][a-z0-9_]*)\.\d+$/.exec(name);
  return m ? m[1] : name;
}

/** ` <sym+off>` text (with the leading space), or '' when gdb would show no symbol. */
export function symbolSuffix(symbols: SymbolLookup | undefined, address: bigint): string {
  if (!symbols) return '';
  const wm = symbols as unknown as Partial<WithModules>;
  if (typeof wm.moduleAt === 'function') {
    const m = wm.moduleAt(address);
    if (m && typeof m.symbols === 'function') return lookup(m, address, false);
    // .bss past the file-backed mapping is an anonymous mapping: ask the module whose loaded
    // image (PT_LOAD extent) covers the address. Heap pointers match none and cost nothing.
    for (const mod of wm.modulesNear?.(address) ?? wm.modules ?? []) {
      const ext = extent(mod);
      if (!ext || address < ext.lo || address >= ext.hi) continue;
      const t = lookup(mod, address, true);
      if (t) return t;
    }
    return '';
  }
  const r = symbols.symbolize(address);
  if (!r) return '';
  return r.offset === 0n ? ` <${displayName(r.symbol)}>` : ` <${displayName(r.symbol)}+${r.offset}>`;
}

interface RawTable {
  data: Buffer;
  strs: Buffer;
  entsize: number;
}

interface ElfLike {
  is64?: boolean;
  littleEndian?: boolean;
  sections?: Array<{ type: number; link: number; entsize: number; size: number }>;
  sectionData?(s: unknown): Buffer;
}

/** Lookups per module answered by scanning the raw table before it is sorted once for all. */
const SCANS_BEFORE_SORT = 16;
const scans = new WeakMap<ModuleLike, { table: RawTable | null; count: number }>();

/**
 * The module's own .symtab as raw bytes when the fast scan gives sorted()'s answer: a 64-bit
 * little-endian file whose .symtab has symbols (then sorted() keeps .symtab alone).
 */
function rawSymtab(m: ModuleLike): RawTable | null {
  const elf = (m as unknown as { elf?: ElfLike }).elf;
  if (!elf?.is64 || !elf.littleEndian || !elf.sections || !elf.sectionData) return null;
  const sec = elf.sections.find((s) => s.type === 2 /* SHT_SYMTAB */);
  if (!sec || (sec.entsize !== 0 && sec.entsize < 24)) return null;
  try {
    const data = elf.sectionData(sec);
    const strTab = elf.sections[sec.link];
    if (!strTab || data.length < 48) return null;
    return { data, strs: elf.sectionData(strTab), entsize: sec.entsize || 24 };
  } catch {
    return null;
  }
}

/**
 * The nearest symbol for `a` (link-time): a one-pass scan of the raw .symtab for the first
 * few lookups (a one-shot `eval` prints a pointer or two: decoding and sorting a big program's
 * 100,000 symbols cost it 30–50 ms), the sorted table after that (`globals` prints thousands).
 */
function nearest(
  m: ModuleLike,
  a: bigint,
): { covering?: { name: string; value: bigint; size: number; type: string }; zeroSized?: { name: string; value: bigint; size: number; type: string } } {
  if (!sortedCache.has(m)) {
    let st = scans.get(m);
    if (!st) scans.set(m, (st = { table: rawSymtab(m), count: 0 }));
    if (st.table && st.count++ < SCANS_BEFORE_SORT) return nearestInRawSymtab(st.table.data, st.table.strs, st.table.entsize, a);
  }
  return nearestSymbol(sorted(m), a);
}

/** The `<sym+off>` text for `address` in module `m`, by one way or the other (tests compare them). */
export function symbolSuffixIn(m: ModuleLike, address: bigint, how: 'scan' | 'scan-unaligned' | 'scan-exact' | 'sorted'): string {
  const a = address - m.bias;
  if (how === 'sorted') return suffixOf(nearestSymbol(sorted(m), a), a, false);
  const t = rawSymtab(m);
  if (!t) throw new Error('no raw .symtab to scan');
  let data = t.data;
  if (how === 'scan-unaligned') {
    const copy = Buffer.alloc(data.length + 1);
    data.copy(copy, 1);
    data = copy.subarray(1);
  }
  return suffixOf(nearestInRawSymtab(data, t.strs, t.entsize, a, how === 'scan-exact'), a, false);
}

function lookup(m: ModuleLike, address: bigint, coveringOnly: boolean): string {
  const a = address - m.bias;
  return suffixOf(nearest(m, a), a, coveringOnly);
}

function suffixOf(
  {
    covering,
    zeroSized,
  }: { covering?: { name: string; value: bigint; size: number; type: string }; zeroSized?: { name: string; value: bigint; size: number; type: string } },
  a: bigint,
  coveringOnly: boolean,
): string {
  if (coveringOnly && !covering) return '';
  const s = covering ?? zeroSized;
  if (!s) return '';
  if (s.size === 0 && !isText(s)) return '';
  const off = a - s.value;
  return off === 0n ? ` <${displayName(s.name)}>` : ` <${displayName(s.name)}+${off}>`;
}
