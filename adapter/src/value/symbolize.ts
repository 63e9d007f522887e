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
import { isAddressSymbol, nearestSymbol } from '../symbols/minsym';
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

const isText = (s: ElfSymbolLike) => s.type === 'func' || s.type === 'ifunc';

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
    for (const mod of wm.modules ?? []) {
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

function lookup(m: ModuleLike, address: bigint, coveringOnly: boolean): string {
  const a = address - m.bias;
  const { covering, zeroSized } = nearestSymbol(sorted(m), a);
  if (coveringOnly && !covering) return '';
  const s = covering ?? zeroSized;
  if (!s) return '';
  if (s.size === 0 && !isText(s)) return '';
  const off = a - s.value;
  return off === 0n ? ` <${displayName(s.name)}>` : ` <${displayName(s.name)}+${off}>`;
}
