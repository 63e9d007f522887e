/**
 * A source language's rules, behind one interface (drgn's `struct drgn_language`): how types are
 * named, which types are built in (literals, arithmetic results, keyword casts), how a scalar
 * converts to another type, and which words name types. value/ and eval/ ask the program's
 * language instead of each carrying a copy of C's rules; C and C++ are two implementations.
 */
import type { Type } from '../symbols/types';
import type { BuiltinTypes } from './c/builtins';

export type LanguageName = 'c' | 'c++';

export interface Language {
  readonly name: LanguageName;
  /** gdb's `whatis` spelling of a type, optionally declaring `declarator` (a variable name). */
  typeName(t: Type, declarator?: string): string;
  /** gdb's `ptype` text (without `type = `). */
  ptypeText(t: Type): string;
  /** gdb's built-in types of this language (parse_type->builtin_*). */
  readonly builtins: BuiltinTypes;
  /** The built-in type a list of type keywords names (`unsigned long int`), or undefined. */
  builtinFromWords(words: string[]): Type | undefined;
  /** A base type by canonical name, for names the program's DWARF never mentions. */
  builtinNamed(name: string): Type | undefined;
  /** The type of `!x`, `a == b`, `a && b` (C: int; C++: bool). */
  readonly truthType: Type;
  /** The names a type written as `name` may be indexed under (C++: a class needs no `struct`). */
  typeLookupNames(name: string): string[];
  /** Names of characters types printed without the `(T *)` prefix of a pointer value. */
  readonly plainCharNames: readonly string[];
}
