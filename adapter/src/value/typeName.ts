/**
 * C type names spelled the way gdb's C type printer spells them (`whatis`, and the `(T *)` prefix
 * of pointer values): `struct node *`, `int (*)(int)`, `char *[4]`, `int (*)[8]`, `char * const`.
 * The classic inside-out declarator walk: the base type is the prefix, pointers grow the
 * declarator on the left, arrays and parameter lists on the right, with parentheses when a
 * pointer meets an array or function.
 */
import type { Qualifiers, Type } from '../symbols/types';

function qualPrefix(q: Qualifiers): string {
  const parts: string[] = [];
  if (q.const) parts.push('const');
  if (q.volatile) parts.push('volatile');
  if (q.restrict) parts.push('restrict');
  if (q.atomic) parts.push('_Atomic');
  return parts.join(' ');
}

/** The name of a type without a declarator (struct tags, typedef names, base names). */
function baseName(t: Type): string {
  switch (t.kind) {
    case 'void':
      return 'void';
    case 'int':
    case 'bool':
    case 'float':
    case 'typedef':
      return t.name;
    case 'struct':
    case 'union':
      return t.name !== undefined ? `${t.kind} ${t.name}` : `${t.kind} {...}`;
    case 'enum':
      return t.name !== undefined ? `enum ${t.name}` : 'enum {...}';
    default:
      return '?';
  }
}

function params(f: Extract<Type, { kind: 'function' }>): string {
  if (!f.prototyped && f.parameters.length === 0) return '()';
  const ps = f.parameters.map((p) => typeToString(p));
  if (f.variadic) ps.push('...');
  if (ps.length === 0) ps.push('void');
  return `(${ps.join(', ')})`;
}

/** Types with a fixed spelling of their own (gdb's `<text variable, no debug info>`). */
export const SPECIAL_TYPE_NAMES = new WeakMap<Type, string>();

/** gdb's spelling of `t`, with an optional declarator (a variable name) inside. */
export function typeToString(t: Type, declarator = ''): string {
  const special = SPECIAL_TYPE_NAMES.get(t);
  if (special !== undefined) return withDecl(special, declarator);
  switch (t.kind) {
    case 'pointer': {
      return ptrTo(t.target, '*' + declarator);
    }
    case 'qualified': {
      const inner = t.type;
      const q = qualPrefix(t.qualifiers);
      if (inner.kind === 'pointer') return ptrTo(inner.target, '* ' + q + (declarator ? ' ' + declarator : ''));
      if (inner.kind === 'array' || inner.kind === 'function' || inner.kind === 'qualified') {
        // Qualifiers on arrays belong to the elements in C; show them in front like gdb.
        const s = typeToString(inner, declarator);
        return q ? `${q} ${s}` : s;
      }
      const base = baseName(inner);
      return withDecl(q ? `${q} ${base}` : base, declarator);
    }
    case 'array': {
      const dim = t.length === undefined ? '[]' : `[${t.length}]`;
      return typeToString(t.element, declarator + dim);
    }
    case 'function': {
      return typeToString(t.returnType, declarator + params(t));
    }
    default:
      return withDecl(baseName(t), declarator);
  }
}

function ptrTo(target: Type, decl: string): string {
  let k = target;
  // Parenthesise `*` when it binds to an array or function declarator.
  if (k.kind === 'array' || k.kind === 'function') return typeToString(k, `(${decl})`);
  return typeToString(k, decl);
}

function withDecl(base: string, decl: string): string {
  if (!decl) return base;
  // gdb writes `int *`, `int [8]`, `int (*)(int)`, `char (int)`: always one space after the base.
  return `${base} ${decl}`;
}
