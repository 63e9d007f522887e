/**
 * Views of libstdc++ objects as gdb shows them with the pretty-printers Debian's gdb loads
 * (libstdcxx/v6/printers.py): `"hello"` for std::string, `std::vector of length 3, capacity 4 =
 * {1, 2, 3}`, `std::unique_ptr<int> = {get() = 0x…}`, `std::shared_ptr<int> (use count 2, weak
 * count 1) = {get() = 0x…}`. Written from the layout of the objects in DWARF (member names of
 * libstdc++ 12), not from the printers' code. `/r` (raw) bypasses them.
 *
 * Covered: std::string (and the other basic_string character types), std::vector (not
 * vector<bool>), std::unique_ptr, std::shared_ptr, std::weak_ptr. Other containers print raw.
 */
import { resolve, type CompoundType, type Member, type Type } from '../symbols/types';

export type StdView =
  | { kind: 'string'; type: CompoundType }
  | { kind: 'vector'; type: CompoundType; element: Type }
  | { kind: 'unique_ptr'; type: CompoundType; arg: string }
  | { kind: 'shared_ptr'; type: CompoundType; arg: string; weak: boolean };

/** The top-level template arguments of a class name (`A<int, B<c, d> >` → ['int', 'B<c, d>']). */
export function templateArgs(name: string): string[] {
  const lt = name.indexOf('<');
  if (lt < 0 || !name.endsWith('>')) return [];
  const body = name.slice(lt + 1, -1);
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === '<' || c === '(') depth++;
    else if (c === '>' || c === ')') depth--;
    else if (c === ',' && depth === 0) {
      out.push(body.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(body.slice(start).trim());
  return out;
}

/** A member anywhere in the object (its own, its bases', its members' — depth first), with its offset. */
export function deepMember(t: CompoundType, name: string, pointerOnly = false, depth = 0): { member: Member; bitOffset: number } | undefined {
  if (depth > 10) return undefined;
  // (std::tuple names both the pointer and an empty deleter `_M_head_impl`: pointerOnly picks.)
  for (const m of t.members ?? []) if (m.name === name && !m.static && (!pointerOnly || resolve(m.type).kind === 'pointer')) return { member: m, bitOffset: m.bitOffset };
  for (const m of t.members ?? []) {
    if (m.static || m.base?.virtual) continue;
    const r = resolve(m.type);
    if (r.kind !== 'struct' && r.kind !== 'union') continue;
    const inner = deepMember(r, name, pointerOnly, depth + 1);
    if (inner) return { member: inner.member, bitOffset: m.bitOffset + inner.bitOffset };
  }
  return undefined;
}

/** The view for a type, if libstdc++'s printers have one that pidscope implements. */
export function stdView(type: Type): StdView | undefined {
  const t = resolve(type);
  if (t.kind !== 'struct' || !t.name || !t.name.startsWith('std::') || !t.members) return undefined;
  const name = t.name;
  if (/^std::(__cxx11::)?basic_string</.test(name)) return { kind: 'string', type: t };
  if (/^std::(__debug::)?vector</.test(name)) {
    const start = deepMember(t, '_M_start');
    if (!start) return undefined; // vector<bool> keeps bits, not elements
    const pt = resolve(start.member.type);
    if (pt.kind !== 'pointer' || templateArgs(name)[0] === 'bool') return undefined;
    return { kind: 'vector', type: t, element: pt.target };
  }
  if (/^std::unique_ptr</.test(name)) return { kind: 'unique_ptr', type: t, arg: templateArgs(name)[0] ?? '' };
  const sp = /^std::(shared|weak)_ptr</.exec(name);
  if (sp) return { kind: 'shared_ptr', type: t, arg: templateArgs(name)[0] ?? '', weak: sp[1] === 'weak' };
  return undefined;
}
