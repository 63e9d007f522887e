/**
 * gdb's choice of the minimal (ELF) symbol for an address (minsyms.c,
 * lookup_minimal_symbol_by_pc_section), in one place for every caller: `<sym+off>` after printed
 * pointers (value/symbolize.ts) and symbolize() of the symbols engine (watch writers, info).
 */
import { lastAtOrBefore } from '../util/search';

export interface AddressSymbol {
  name: string;
  value: bigint;
  size: number;
  type: string;
  shndx: number;
}

/** Symbols that can name an address: defined, named, code or data (or untyped). */
export function isAddressSymbol(s: AddressSymbol): boolean {
  return s.shndx !== 0 && s.shndx < 0xff00 && s.name !== '' && (s.type === 'func' || s.type === 'object' || s.type === 'ifunc' || s.type === 'notype');
}

/**
 * Walking down from the last symbol at or below `a` in `sorted` (ascending by value): the first
 * sized symbol, if it covers `a`, and the first zero-sized one passed over on the way (gdb's
 * fallback). Only symbols of `section` count when it is given.
 */
export function nearestSymbol<S extends AddressSymbol>(sorted: readonly S[], a: bigint, section?: number): { covering?: S; zeroSized?: S } {
  const idx = lastAtOrBefore(sorted, a, (s) => s.value);
  let zeroSized: S | undefined;
  for (let i = idx, steps = 0; i >= 0 && steps < 100_000; i--, steps++) {
    const s = sorted[i];
    if (section !== undefined && s.shndx !== section) continue;
    if (s.size === 0) {
      zeroSized ??= s;
      continue;
    }
    return { covering: a < s.value + BigInt(s.size) ? s : undefined, zeroSized };
  }
  return { zeroSized };
}
