/** C as gdb's c_language_defn sees it: the rules the C oracle tests pin down. */
import type { Language } from '../language';
import { BUILTIN, builtinFromWords, builtinNamed } from './builtins';
import { ptypeText, typeName } from './typeName';

export const C: Language = {
  name: 'c',
  typeName,
  ptypeText,
  builtins: BUILTIN,
  builtinFromWords,
  builtinNamed,
  truthType: BUILTIN.int,
  typeLookupNames: (name) => [name],
  plainCharNames: ['char', 'wchar_t', 'char16_t', 'char32_t'],
};
