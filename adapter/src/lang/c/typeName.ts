/**
 * C type names and `ptype` bodies printed exactly as gdb prints them (gdb/c-typeprint.c):
 *
 *   typeName(t)          gdb's `whatis`: `int *`, `char [16]`, `struct node *`,
 *                        `int (*)(int, char *)`, `const volatile unsigned short`, `char * const`
 *   typeName(t, 'x')     a declaration: `int (*x)[4]`
 *   ptypeText(t)         gdb's `ptype`: typedefs resolved, struct/union/enum bodies expanded one
 *                        level (members keep their typedef and tag names; anonymous members
 *                        expand), `enum perm {PERM_READ = 1, PERM_WRITE, PERM_EXEC = 4}`
 *
 * `show` follows gdb: -1 whatis, 1 ptype; members print at show - 1; a named struct/enum is
 * expanded only when show > 0, an anonymous one unless show < 0 (then `struct {...}`).
 */
import { resolve, type CompoundType, type EnumType, type FunctionType, type Qualifiers, type Type } from '../../symbols/types';
import { SPECIAL_TYPE_NAMES } from '../special';

function quals(q: Qualifiers): string {
  const parts: string[] = [];
  if (q.const) parts.push('const');
  if (q.volatile) parts.push('volatile');
  if (q.restrict) parts.push('restrict');
  if (q.atomic) parts.push('_Atomic');
  return parts.join(' ');
}

/**
 * The dialect being printed: C++ names classes, unions and enums without their keyword
 * (`ns::Widget *`) and writes references (`int &`). Set only for the duration of one call.
 */
let cxx = false;

function withDialect<T>(isCxx: boolean, f: () => T): T {
  const saved = cxx;
  cxx = isCxx;
  try {
    return f();
  } finally {
    cxx = saved;
  }
}

function join(base: string, declarator: string): string {
  return declarator ? `${base} ${declarator}` : base;
}

/** Parameter list of a function type: `(int, char *)`, `(void)`, `()`, `(int, ...)`. */
function params(f: FunctionType): string {
  const ps = f.parameters.map((p) => print(p, '', 0, 0));
  if (f.variadic) ps.push('...');
  if (ps.length === 0) return f.prototyped ? '(void)' : '()';
  return `(${ps.join(', ')})`;
}

/** Whether the declarator must be parenthesised when a pointer meets this type. */
function needsParens(t: Type, show: number): boolean {
  let cur = t;
  while (cur.kind === 'typedef' && show > 0) cur = cur.type;
  return cur.kind === 'array' || cur.kind === 'function';
}

function print(t: Type, declarator: string, show: number, level: number): string {
  const special = SPECIAL_TYPE_NAMES.get(t);
  if (special !== undefined) return join(special, declarator);
  switch (t.kind) {
    case 'pointer': {
      const cls = t.memberOf ? resolve(t.memberOf) : undefined;
      const owner = cls && (cls.kind === 'struct' || cls.kind === 'union') ? `${cls.name ?? ''}::` : '';
      const d = owner + (t.reference === 'lvalue' ? '&' : t.reference === 'rvalue' ? '&&' : '*') + declarator;
      return print(t.target, needsParens(t.target, show) ? `(${d})` : d, show, level);
    }
    case 'qualified': {
      const inner = t.type;
      const q = quals(t.qualifiers);
      let innerResolved = inner;
      if (show > 0) while (innerResolved.kind === 'typedef') innerResolved = innerResolved.type;
      // gdb's ptype quirks (c-typeprint.c): a qualified void prints as plain `void`, and the
      // qualifiers of a typedef that names a pointer, array or function are lost when the
      // typedef is expanded below the top level (varspec printing uses the typedef's target).
      if (show > 0 && innerResolved.kind === 'void') return join('void', declarator);
      if (show > 0 && inner.kind === 'typedef' && (innerResolved.kind === 'pointer' || innerResolved.kind === 'array' || innerResolved.kind === 'function')) {
        return print(innerResolved, declarator, show, level);
      }
      if (innerResolved.kind === 'pointer') {
        // `char * const p`: qualifiers of the pointer itself follow the star.
        // gdb writes `char * const p`, `char * const *` and `char * const (*)[7]` but `char * const[7]`.
        const sep = declarator && declarator[0] !== '[' ? ' ' : '';
        const d = `* ${q}${sep}${declarator}`;
        return print(innerResolved.target, needsParens(innerResolved.target, show) ? `(${d})` : d, show, level);
      }
      if (innerResolved.kind === 'array' || innerResolved.kind === 'function') {
        const s = print(innerResolved, declarator, show, level);
        return q ? `${q} ${s}` : s;
      }
      return join(`${q} ${base(inner, show, level)}`, declarator);
    }
    case 'array': {
      const dim = t.length !== undefined ? `[${t.length}]` : t.variableLength ? '[variable length]' : '[]';
      return print(t.element, declarator + dim, show, level);
    }
    case 'function':
      return print(t.returnType, declarator + params(t), show, level);
    case 'typedef':
      if (show > 0) return print(t.type, declarator, show, level);
      return join(t.name, declarator);
    default:
      return join(base(t, show, level), declarator);
  }
}

/** The base type's text (no declarator). */
function base(t: Type, show: number, level: number): string {
  switch (t.kind) {
    case 'void':
      return 'void';
    case 'int':
    case 'bool':
    case 'float':
      return t.name;
    case 'typedef':
      return show > 0 ? print(t.type, '', show, level) : t.name;
    case 'struct':
    case 'union':
      return compound(t, show, level);
    case 'enum':
      return enumText(t, show);
    case 'qualified':
    case 'pointer':
    case 'array':
    case 'function':
      return print(t, '', show, level);
  }
}

function compound(t: CompoundType, show: number, level: number): string {
  const keyword = t.isClass ? 'class' : t.kind;
  const head = t.name !== undefined ? `${keyword} ${t.name}` : keyword;
  if (t.name !== undefined && show <= 0) return cxx ? t.name : head;
  if (t.name === undefined && show < 0) return `${keyword} {...}`;
  const pad = ' '.repeat(level + 4);
  const members = t.members;
  if (members === undefined) return `${head} {\n${pad}<incomplete type>\n${' '.repeat(level)}}`;
  if (members.length === 0) return `${head} {\n${pad}<no data fields>\n${' '.repeat(level)}}`;
  const lines = members.map((m) => {
    const decl = print(m.type, m.name ?? '', show - 1, level + 4);
    return `${pad}${decl}${m.bitSize !== undefined ? ` : ${m.bitSize}` : ''};`;
  });
  return `${head} {\n${lines.join('\n')}\n${' '.repeat(level)}}`;
}

function enumText(t: EnumType, show: number): string {
  const head = t.name !== undefined ? `enum ${t.name}` : 'enum';
  if (t.name !== undefined && show <= 0) return cxx ? t.name : head;
  if (t.name === undefined && show < 0) return 'enum {...}';
  const list = t.enumerators;
  if (list === undefined) return `${head} {<incomplete type>}`;
  let expected = 0n;
  const parts = list.map((e) => {
    const s = e.value === expected ? e.name : `${e.name} = ${e.value}`;
    expected = e.value + 1n;
    return s;
  });
  return `${head} {${parts.join(', ')}}`;
}

/** gdb's `whatis` spelling of a type, optionally declaring `declarator` (a name). */
export function typeName(t: Type, declarator = ''): string {
  return withDialect(false, () => print(t, declarator, -1, 0));
}

/** The same in C++'s spelling (gdb's c_print_type with language c++). */
export function cxxTypeName(t: Type, declarator = ''): string {
  return withDialect(true, () => print(t, declarator, -1, 0));
}

/** gdb's `ptype` text of a type (without the `type = ` prefix). */
export function ptypeText(t: Type): string {
  // ptype strips typedefs of the top-level type keeping its qualifiers (gdb's check_typedef).
  if (t.kind === 'qualified' && t.type.kind === 'typedef') {
    let inner: Type = t.type;
    while (inner.kind === 'typedef') inner = inner.type;
    t = { kind: 'qualified', qualifiers: t.qualifiers, type: inner };
  }
  return withDialect(false, () => print(t, '', 1, 0));
}
