import { describe, expect, it } from 'vitest';
import type { CompoundType, PointerType, Type } from '../symbols/types';
import { C, CPP, languageForDwarf, languageNamed, languageOf } from './index';

const INT: Type = { kind: 'int', name: 'int', size: 4, signed: true, isChar: false };
const WIDGET: CompoundType = { kind: 'struct', isClass: true, name: 'ns::Widget', size: 16, members: [] };

describe('language selection', () => {
  it('maps DW_AT_language to C or C++ (C for unknown and absent codes)', () => {
    expect(languageForDwarf(0x0c).name).toBe('c'); // DW_LANG_C99
    expect(languageForDwarf(0x1d).name).toBe('c'); // DW_LANG_C11
    expect(languageForDwarf(0x04).name).toBe('c++'); // DW_LANG_C_plus_plus
    expect(languageForDwarf(0x21).name).toBe('c++'); // DW_LANG_C_plus_plus_14
    expect(languageForDwarf(undefined)).toBe(C);
    expect(languageForDwarf(0x8001)).toBe(C);
  });

  it('names the languages gdb accepts in set language, and defaults to C', () => {
    expect(languageNamed('c')).toBe(C);
    expect(languageNamed('C++')).toBe(CPP);
    expect(languageNamed('cpp')).toBe(CPP);
    expect(languageNamed('pascal')).toBeUndefined();
    expect(languageOf({})).toBe(C);
  });
});

describe('type names per language', () => {
  const ref: PointerType = { kind: 'pointer', size: 8, target: INT, reference: 'lvalue' };
  const rref: PointerType = { kind: 'pointer', size: 8, target: { kind: 'qualified', qualifiers: { const: true }, type: INT }, reference: 'rvalue' };
  const memberPtr: PointerType = { kind: 'pointer', size: 8, target: INT, memberOf: WIDGET };
  const method: PointerType = {
    kind: 'pointer',
    size: 16,
    target: {
      kind: 'function',
      returnType: INT,
      parameters: [{ kind: 'qualified', qualifiers: { const: true }, type: { kind: 'pointer', size: 8, target: WIDGET } }],
      variadic: false,
      prototyped: true,
    },
    memberOf: WIDGET,
  };

  it('C++ drops the class keyword and writes references and member pointers as gdb does', () => {
    expect(CPP.typeName({ kind: 'pointer', size: 8, target: WIDGET })).toBe('ns::Widget *');
    expect(CPP.typeName(ref)).toBe('int &');
    expect(CPP.typeName(rref)).toBe('const int &&');
    expect(CPP.typeName(memberPtr)).toBe('int ns::Widget::*');
    expect(CPP.typeName(method)).toBe('int (ns::Widget::*)(ns::Widget * const)');
    expect(CPP.typeName({ kind: 'struct', size: 1, members: [] })).toBe('struct {...}');
  });

  it('C keeps its keywords', () => {
    expect(C.typeName({ kind: 'pointer', size: 8, target: WIDGET })).toBe('class ns::Widget *');
    expect(C.typeName({ kind: 'pointer', size: 8, target: { kind: 'struct', name: 'node', size: 8, members: [] } })).toBe('struct node *');
  });

  it('C++ compares to bool, C to int', () => {
    expect(C.truthType).toMatchObject({ kind: 'int', name: 'int' });
    expect(CPP.truthType).toMatchObject({ kind: 'bool', name: 'bool' });
    expect(CPP.typeLookupNames('Widget')).toEqual(['Widget', 'struct Widget', 'union Widget', 'enum Widget']);
    expect(C.typeLookupNames('Widget')).toEqual(['Widget']);
  });
});
