/**
 * C++ as gdb's cplus_language_defn sees it. Built on C's rules; what differs is spelled here:
 * type names without `struct` and with references, `bool` as the type of comparisons and `!`.
 */
import type { BoolType } from '../../symbols/types';
import type { Language } from '../language';
import { C } from '../c';
import { cxxTypeName } from '../c/typeName';

const BOOL: BoolType = { kind: 'bool', name: 'bool', size: 1 };

export const CPP: Language = {
  ...C,
  name: 'c++',
  typeName: cxxTypeName,
  builtins: { ...C.builtins, bool: BOOL },
  builtinFromWords(words) {
    if (words.length === 1 && words[0] === 'bool') return BOOL;
    return C.builtinFromWords(words);
  },
  builtinNamed(name) {
    return name === 'bool' ? BOOL : C.builtinNamed(name);
  },
  truthType: BOOL,
  typeLookupNames: (name) =>
    /^(struct|union|enum|class) /.test(name) ? [name.replace(/^class /, 'struct ')] : [name, `struct ${name}`, `union ${name}`, `enum ${name}`],
};
