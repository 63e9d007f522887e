/**
 * C++ as gdb's cplus_language_defn sees it. Built on C's rules; what differs is spelled here.
 */
import type { Language } from '../language';
import { C } from '../c';

export const CPP: Language = {
  ...C,
  name: 'c++',
};
