/**
 * gdb's stand-in types for symbols without debug info: a data symbol prints only once cast
 * (`'x' has unknown type; cast it to its declared type`), a function symbol prints as
 * `{<text variable, no debug info>} 0x… <name>`.
 */
import type { FunctionType, IntType } from '../symbols/types';
import { SPECIAL_TYPE_NAMES } from '../lang/special';

export const NODEBUG_DATA: IntType = { kind: 'int', name: '<data variable, no debug info>', size: 4, signed: true, isChar: false };
export const NODEBUG_TEXT: FunctionType = {
  kind: 'function',
  returnType: { kind: 'int', name: 'int', size: 4, signed: true, isChar: false },
  parameters: [],
  variadic: false,
  prototyped: false,
};

SPECIAL_TYPE_NAMES.set(NODEBUG_DATA, '<data variable, no debug info>');
SPECIAL_TYPE_NAMES.set(NODEBUG_TEXT, '<text variable, no debug info>');
