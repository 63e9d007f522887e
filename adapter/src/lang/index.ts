/**
 * Picking a language: a compile unit's from DW_AT_language, an expression's from the program's
 * main unit unless the user names one (`--language c|c++`, gdb's `set language`).
 */
import { C } from './c';
import { CPP } from './cpp';
import type { Language, LanguageName } from './language';

export type { Language, LanguageName } from './language';
export { C } from './c';
export { CPP } from './cpp';

/** DW_LANG_* codes of the C++ dialects (DWARF 5 §7.12, plus DW_LANG_C_plus_plus_17/20 of DWARF 6). */
const CPP_CODES = new Set([0x0004, 0x001a, 0x0021, 0x0022, 0x002a, 0x002b]);

/** The language of a unit with this DW_AT_language (C for C dialects, unknown and absent codes). */
export function languageForDwarf(code: number | undefined): Language {
  return code !== undefined && CPP_CODES.has(code) ? CPP : C;
}

export const LANGUAGE_NAMES: readonly LanguageName[] = ['c', 'c++'];

/** The language named by the user (`c`, `c++`, `cpp`), or undefined for an unknown name. */
export function languageNamed(name: string): Language | undefined {
  const n = name.trim().toLowerCase();
  if (n === 'c') return C;
  if (n === 'c++' || n === 'cpp' || n === 'cxx') return CPP;
  return undefined;
}

/** The language a value context speaks (C when none was chosen). */
export function languageOf(ctx: { language?: Language }): Language {
  return ctx.language ?? C;
}
