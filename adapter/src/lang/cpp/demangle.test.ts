import { describe, expect, it } from 'vitest';
import { demangle } from './demangle';

// Each expectation is c++filt's output (binutils 2.40), which gdb's demangler shares; gdb does
// not ask for libiberty's verbose std:: expansions, so neither do we (`std::string`).
const CASES: Array<[string, string]> = [
  ['_ZN2ns8g_widgetE', 'ns::g_widget'],
  ['_ZTV6Circle', 'vtable for Circle'],
  ['_ZTT7Diamond', 'VTT for Diamond'],
  ['_ZNK2ns6Widget3getEv', 'ns::Widget::get() const'],
  ['_ZTC7Diamond0_4Left', 'construction vtable for Left-in-Diamond'],
  ['_ZN12_GLOBAL__N_18g_hiddenE', '(anonymous namespace)::g_hidden'],
  ['_ZNSt8ios_base17register_callbackEPFvNS_5eventERS_iEi', 'std::ios_base::register_callback(void (*)(std::ios_base::event, std::ios_base&, int), int)'],
  [
    '_ZStlsIdcSt11char_traitsIcEERSt13basic_ostreamIT0_T1_ES6_RKSt7complexIT_E',
    'std::basic_ostream<char, std::char_traits<char> >& std::operator<< <double, char, std::char_traits<char> >(std::basic_ostream<char, std::char_traits<char> >&, std::complex<double> const&)',
  ],
  [
    '_ZNSt6locale5_Impl19_M_replace_categoryEPKS0_PKPKNS_2idE',
    'std::locale::_Impl::_M_replace_category(std::locale::_Impl const*, std::locale::id const* const*)',
  ],
  ['_ZN3BoxIiLi3EE3getEv', 'Box<int, 3>::get()'],
  ['_ZZ4mainENKUliE_clEi', 'main::{lambda(int)#1}::operator()(int) const'],
  ['_ZGVZ4mainE1x', 'guard variable for main::x'],
  ['_ZThn16_N4Left1fEv', 'non-virtual thunk to Left::f()'],
  ['_Z3fooPA3_iRKPFvvE', 'foo(int (*) [3], void (* const&)())'],
  ['_ZN1AC2Ev', 'A::A()'],
  ['_ZN1AD0Ev', 'A::~A()'],
  ['_ZNK1AcvbEv', 'A::operator bool() const'],
  ['_Z1fIiEvT_', 'void f<int>(int)'],
  ['_ZL8g_static', 'g_static'],
  ['_Z3barM1AFivE', 'bar(int (A::*)())'],
  ['_Z3bazM1Ai', 'baz(int A::*)'],
  ['_Z3foov.cold', 'foo() [clone .cold]'],
  ['_Z3foov.constprop.0', 'foo() [clone .constprop.0]'],
  ['_ZNKSs4sizeEv', 'std::string::size() const'],
  ['_Z11g_short_strB5cxx11', 'g_short_str[abi:cxx11]'],
];

describe('demangle (Itanium C++ ABI)', () => {
  it.each(CASES)('%s', (mangled, want) => {
    expect(demangle(mangled)).toBe(want);
  });

  it('leaves what it cannot parse to the caller', () => {
    expect(demangle('main')).toBeUndefined();
    expect(demangle('_Z')).toBeUndefined();
    expect(demangle('_ZN3foo')).toBeUndefined();
    expect(demangle('_Z3foov.junk!')).toBeUndefined();
  });
});
