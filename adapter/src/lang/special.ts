/**
 * Types whose spelling is fixed whatever the language: gdb's stand-ins for symbols without debug
 * info (`<data variable, no debug info>`, `<text variable, no debug info>`). Every language's
 * type printer consults this map first.
 */
import type { Type } from '../symbols/types';

export const SPECIAL_TYPE_NAMES = new WeakMap<Type, string>();
