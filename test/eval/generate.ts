/**
 * Expressions for the oracle: every global by its unambiguous gdb name, plus expressions derived
 * from its type (members, elements, address-of, deref, pointer arithmetic, casts, sizeof,
 * arithmetic). Deterministic, so a failing expression is reproducible by hand with gdb.
 */
import type { VariableSymbol } from '../../adapter/src/symbols/provider';
import { resolve, sizeOf, type Type } from '../../adapter/src/symbols/types';
import { typeName as typeToString } from '../../adapter/src/lang/c/typeName';

/** gdb's way to name a variable unambiguously when `ambiguous` (else the bare name). */
export function gdbName(v: VariableSymbol, ambiguous: boolean): string {
  if (v.scope === 'function-static' && v.function) return `${v.function}::${v.name}`;
  if (!ambiguous || !v.compileUnit) return v.name;
  const cu = v.compileUnit ?? '';
  return `'${cu.slice(cu.lastIndexOf('/') + 1)}'::${v.name}`;
}

function isCharLike(t: Type): boolean {
  const r = resolve(t);
  return r.kind === 'int' && r.isChar;
}

/** Expressions over one object expression `e` of type `t` (depth-limited). */
export function derive(e: string, t: Type | undefined, depth: number, out: string[]): void {
  if (!t || depth > 2) return;
  const r = resolve(t);
  const p = /^[\w:']+$/.test(e) ? e : `(${e})`;
  switch (r.kind) {
    case 'int':
      if (r.size > 8) {
        out.push(`${p} + 1`, `(long)${p}`);
        break;
      }
      out.push(
        `${p} + 1`,
        `${p} * 3`,
        `-${p}`,
        `~${p}`,
        `${p} / 7`,
        `${p} % 5`,
        `${p} >> 1`,
        `${p} == ${p}`,
        `${p} < 0`,
        `!${p}`,
        `(char)${p}`,
        `(unsigned char)${p}`,
        `(double)${p}`,
        `(long)${p}`,
        `(unsigned int)${p}`,
      );
      if (isCharLike(t)) out.push(`${p} + 'a'`);
      break;
    case 'bool':
      out.push(`${p} + 1`, `!${p}`, `(int)${p}`);
      break;
    case 'float':
      if (r.complex) break;
      out.push(`${p} * 2`, `-${p}`, `(int)${p}`, `${p} + 1`, `${p} > 0`, `(float)${p}`, `${p} / 3`);
      break;
    case 'enum':
      out.push(`${p} + 0`, `(int)${p}`, `${p} == 0`, `${p} | 1`);
      break;
    case 'pointer': {
      const tr = resolve(r.target);
      out.push(`${p} + 1`, `${p} - 1`, `(long)${p}`, `!${p}`, `${p} == 0`, `(char *)${p}`, `(void *)${p}`, `(unsigned long)${p} & 0xfff`);
      if (tr.kind !== 'void' && tr.kind !== 'function') {
        out.push(`*${p}`, `${p}[0]`, `&${p}[1]`, `${p} + 2 - ${p}`);
        if (tr.kind === 'struct' || tr.kind === 'union') {
          for (const m of tr.members ?? [])
            if (m.name) {
              out.push(`${p}->${m.name}`);
              if (depth < 2) derive(`${p}->${m.name}`, m.type, depth + 1, out);
            }
        } else if (depth < 2) derive(`*${p}`, r.target, depth + 1, out);
      }
      if (tr.kind === 'function') out.push(`*${p}`);
      break;
    }
    case 'struct':
    case 'union':
      out.push(`&${p}`, `*&${p}`);
      for (const m of r.members ?? []) {
        if (!m.name) continue;
        out.push(`${p}.${m.name}`);
        if (m.bitSize === undefined) out.push(`&${p}.${m.name}`);
        derive(`${p}.${m.name}`, m.type, depth + 1, out);
      }
      break;
    case 'array': {
      const n = r.length ?? 0;
      out.push(`&${p}`, `*${p}`, `${p} + 1`, `&${p}[0]`);
      if (n > 0) {
        out.push(`${p}[0]`, `${p}[${n - 1}]`, `&${p}[${n - 1}]`, `*${p}@${Math.min(n, 3)}`, `&${p}[${n - 1}] - &${p}[0]`);
        derive(`${p}[${Math.min(1, n - 1)}]`, r.element, depth + 1, out);
      }
      if ((sizeOf(r.element) ?? 0) > 0) out.push(`*(${p} + ${Math.min(2, Math.max(0, n - 1))})`);
      break;
    }
    case 'function':
      out.push(`&${p}`, `*${p}`);
      break;
  }
}

/** All expressions for a list of globals (names ambiguous within the list get 'file.c'::). */
export function expressionsFor(vars: VariableSymbol[], opts: { derive?: boolean } = {}): string[] {
  const counts = new Map<string, number>();
  for (const v of vars) if (v.scope !== 'function-static') counts.set(v.name, (counts.get(v.name) ?? 0) + 1);
  const out: string[] = [];
  for (const v of vars) {
    // Only names an expression can spell (not `completed.0` and other compiler locals).
    if (!/^[A-Za-z_$][\w$]*$/.test(v.name)) continue;
    const n = gdbName(v, (counts.get(v.name) ?? 0) > 1);
    out.push(n, `sizeof(${n})`, `&${n}`);
    if (opts.derive !== false) {
      derive(n, v.type, 0, out);
      // Casts spelled with gdb's own type names: `*(int (*)[8])&g_int_array`, `(struct rect *)…`.
      if (v.type) {
        const ptr = typeToString({ kind: 'pointer', size: 8, target: v.type });
        if (!/\{\.\.\.\}|<|_Atomic/.test(ptr)) {
          out.push(`*(${ptr})&${n}`, `(${ptr})(unsigned long)&${n}`, `sizeof(${typeToString(v.type)})`);
          const r = resolve(v.type);
          if (r.kind === 'int' || r.kind === 'float' || r.kind === 'pointer' || r.kind === 'enum' || r.kind === 'bool')
            out.push(`(${typeToString(v.type)})${n}`);
        }
      }
    }
  }
  return [...new Set(out)];
}
