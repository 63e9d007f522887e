/**
 * gdb's built-in C types (parse_type->builtin_*): the types of literals, of arithmetic results
 * and of casts to keyword types. Names are gdb's spellings (`unsigned long`, not DWARF's
 * `long unsigned int`), since they show up in `(unsigned long *) 0x…`.
 */
import type { BoolType, FloatType, IntType, PointerType, Type } from '../../symbols/types';

function int(name: string, size: number, signed: boolean, isChar = false): IntType {
  return { kind: 'int', name, size, signed, isChar };
}

export const BUILTIN = {
  char: int('char', 1, true, true),
  signedChar: int('signed char', 1, true, true),
  unsignedChar: int('unsigned char', 1, false, true),
  short: int('short', 2, true),
  unsignedShort: int('unsigned short', 2, false),
  int: int('int', 4, true),
  unsignedInt: int('unsigned int', 4, false),
  long: int('long', 8, true),
  unsignedLong: int('unsigned long', 8, false),
  longLong: int('long long', 8, true),
  unsignedLongLong: int('unsigned long long', 8, false),
  int128: int('__int128', 16, true),
  unsignedInt128: int('unsigned __int128', 16, false),
  bool: { kind: 'bool', name: '_Bool', size: 1 } as BoolType,
  float: { kind: 'float', name: 'float', size: 4, format: 'ieee' } as FloatType,
  double: { kind: 'float', name: 'double', size: 8, format: 'ieee' } as FloatType,
  longDouble: { kind: 'float', name: 'long double', size: 16, format: 'x87' } as FloatType,
  float128: { kind: 'float', name: '_Float128', size: 16, format: 'ieee' } as FloatType,
};

export type BuiltinTypes = typeof BUILTIN;

/** The built-in types by their canonical spelling (`unsigned long`, `_Bool`), for casts to names the program's DWARF never mentions. */
const BY_NAME = new Map<string, Type>(Object.values(BUILTIN).map((t) => [t.name, t]));

/** A base type by canonical name (see symbols' normalizeTypeName), or undefined. */
export function builtinNamed(name: string): Type | undefined {
  return BY_NAME.get(name);
}

export function pointerTo(t: Type, size = 8): PointerType {
  return { kind: 'pointer', size, target: t };
}

/** Maps a list of C type keywords (`unsigned`, `long`, `int`…) to gdb's built-in type. */
export function builtinFromWords(words: string[]): Type | undefined {
  const count = (w: string) => words.filter((x) => x === w).length;
  const longs = count('long');
  const unsigned = count('unsigned') > 0;
  const signed = count('signed') > 0;
  if (words.includes('void')) return words.length === 1 ? { kind: 'void' } : undefined;
  if (words.includes('_Bool')) return BUILTIN.bool;
  if (words.includes('_Float128') || words.includes('__float128')) return BUILTIN.float128;
  if (words.includes('float')) return BUILTIN.float;
  if (words.includes('double')) return longs ? BUILTIN.longDouble : BUILTIN.double;
  if (words.includes('__int128')) return unsigned ? BUILTIN.unsignedInt128 : BUILTIN.int128;
  if (words.includes('char')) return unsigned ? BUILTIN.unsignedChar : signed ? BUILTIN.signedChar : BUILTIN.char;
  if (words.includes('short')) return unsigned ? BUILTIN.unsignedShort : BUILTIN.short;
  if (longs >= 2) return unsigned ? BUILTIN.unsignedLongLong : BUILTIN.longLong;
  if (longs === 1) return unsigned ? BUILTIN.unsignedLong : BUILTIN.long;
  return unsigned ? BUILTIN.unsignedInt : BUILTIN.int;
}
