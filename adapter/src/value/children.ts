/**
 * Children for lazy expansion (DAP variables): members of structs and unions, elements of arrays
 * (only the requested window is created; nothing is read until a child is formatted), and for a
 * pointer to a struct/union the members of what it points to. Other non-char, non-void,
 * non-function pointers have one child, the pointee (`*p`).
 */
import { resolve, sizeOf, type Type } from '../symbols/types';
import { fetchWhole, Formatter, textualKind, virtualBaseAddress } from './format';
import { bytesToBigint, ByteSource, extractBits, makeAbsent, makeReference, makeValue, type TargetObject, type ValueContext } from './object';
import type { Member } from '../symbols/types';
import { containerItems, deepMember, stdView, type StdView } from './libstdcxx';

const NODE_CONTAINERS = new Set(['list', 'forward_list', 'tree', 'hashtable', 'deque']);

/** The elements of a list, map, set, unordered container or deque, as gdb's printers list them. */
function containerChildren(
  ctx: ValueContext,
  view: Extract<StdView, { kind: 'container' }>,
  address: bigint,
  limit: number,
): { count: number; children: Child[] } {
  const f = new Formatter(ctx);
  const host = f.viewHost();
  const { count, items } = containerItems(host, view, address, limit);
  return {
    count,
    children: items.map((it, i) => ({
      // A map's element is named by its key, as in gdb's `{[1] = 10}`.
      name: it.key ? `[${host.value(it.key.type, it.key.address)}]` : `[${i}]`,
      object: makeReference(it.type, it.address),
    })),
  };
}

/** Where a std::vector's elements are and how many there are. */
function vectorRange(ctx: ValueContext, view: Extract<StdView, { kind: 'vector' }>, address: bigint): { first: bigint; length: number; esize: number } {
  const src = new ByteSource(ctx.memory);
  const at = (name: string) => bytesToBigint(src.read(address + BigInt(deepMember(view.type, name)!.bitOffset / 8), 8, true), false);
  const first = at('_M_start');
  const esize = sizeOf(view.element) || 1;
  return { first, length: Math.max(0, Number((at('_M_finish') - first) / BigInt(esize))), esize };
}

/** A C++ reference stands for its referent: its children are the referent's. */
function referent(ctx: ValueContext, obj: TargetObject): TargetObject {
  if (obj.kind === 'absent' || !obj.type) return obj;
  const r = resolve(obj.type);
  if (r.kind !== 'pointer' || !r.reference) return obj;
  try {
    return makeReference(r.target, bytesToBigint(fetchWhole(new ByteSource(ctx.memory), obj).bytes, false));
  } catch {
    return makeAbsent('unreadable reference', r.target);
  }
}

/** The object of a C++ static member (its own variable) or base class subobject. */
function cxxMemberObject(ctx: ValueContext, parent: TargetObject, m: Member): TargetObject {
  if (m.static) {
    const v = ctx.symbols?.findVariables(m.static.qualifiedName).find((x) => x.address !== undefined);
    return v ? makeReference(v.type ?? m.type, v.address!) : makeAbsent('optimized out', m.type);
  }
  if (m.base?.virtual) {
    if (parent.kind !== 'reference' || !m.base.offsetExpr) return makeAbsent('optimized out', m.type);
    const src = new ByteSource(ctx.memory);
    try {
      return makeReference(
        m.type,
        virtualBaseAddress(m.base.offsetExpr, parent.address, (a) => bytesToBigint(src.read(a, 8, true), false)),
      );
    } catch {
      return makeAbsent('unreadable virtual base', m.type);
    }
  }
  return memberObject(parent, m.type, m.bitOffset, m.bitSize);
}

export interface Child {
  /** Member name, `[i]` for elements, `*p` for a pointee; `<anonymous struct>` for unnamed members. */
  name: string;
  /** An expression that evaluates to this child, when the parent's expression is known. */
  evaluateName?: string;
  object: TargetObject;
}

/** Wraps an expression in parentheses unless it is already a simple postfix chain. */
export function wrapExpression(e: string): string {
  return /^[A-Za-z_$][\w$]*((\.|->)[A-Za-z_$][\w$]*|\[\d+\])*$/.test(e) ? e : `(${e})`;
}

function memberObject(parent: TargetObject, type: Type, bitOffset: number, bitSize: number | undefined): TargetObject {
  if (parent.kind === 'reference') return makeReference(type, parent.address, parent.bitOffset + bitOffset, bitSize);
  if (parent.kind === 'value') {
    const byte = Math.floor(bitOffset / 8);
    if (bitSize !== undefined) {
      const bitIn = bitOffset - byte * 8;
      const nb = Math.ceil((bitIn + bitSize) / 8);
      const r = resolve(type);
      const signed = r.kind === 'int' ? r.signed : false;
      return makeValue(type, extractBits(parent.bytes.subarray(byte, byte + nb), bitIn, bitSize, sizeOf(type) ?? 4, signed));
    }
    const size = sizeOf(type) ?? 0;
    return makeValue(type, Buffer.from(parent.bytes.subarray(byte, byte + size)), parent.address === undefined ? undefined : parent.address + BigInt(byte));
  }
  return parent;
}

/** The object a pointer-valued object points to, or undefined (NULL, unreadable, void, char). */
function pointee(ctx: ValueContext, obj: TargetObject): TargetObject | undefined {
  const r = resolve(obj.type!);
  if (r.kind !== 'pointer') return undefined;
  const tr = resolve(r.target);
  if (tr.kind === 'void' || tr.kind === 'function' || textualKind(r.target) !== undefined) return undefined;
  if ((tr.kind === 'struct' || tr.kind === 'union') && !tr.members) return undefined;
  let addr: bigint;
  try {
    addr = bytesToBigint(fetchWhole(new ByteSource(ctx.memory), obj).bytes, false);
  } catch {
    return undefined;
  }
  if (addr === 0n) return undefined;
  return makeReference(r.target, addr);
}

export function childCount(ctx: ValueContext, obj: TargetObject): number {
  obj = referent(ctx, obj);
  if (obj.kind === 'absent' || !obj.type) return 0;
  const r = resolve(obj.type);
  const view = stdView(r);
  try {
    if (view?.kind === 'vector' && obj.kind === 'reference') return vectorRange(ctx, view, obj.address).length;
    if (view?.kind === 'container' && NODE_CONTAINERS.has(view.which) && obj.kind === 'reference') return containerChildren(ctx, view, obj.address, 0).count;
  } catch {
    return 0;
  }
  switch (r.kind) {
    case 'struct':
    case 'union':
      return r.members?.length ?? 0;
    case 'array':
      return r.length ?? 0;
    case 'pointer': {
      const p = pointee(ctx, obj);
      if (!p) return 0;
      const tr = resolve(p.type!);
      if (tr.kind === 'struct' || tr.kind === 'union') return tr.members?.length ?? 0;
      return 1;
    }
    default:
      return 0;
  }
}

export function children(ctx: ValueContext, obj: TargetObject, start = 0, count?: number, parentExpr?: string): Child[] {
  obj = referent(ctx, obj);
  if (obj.kind === 'absent' || !obj.type) return [];
  const r = resolve(obj.type);
  const pe = parentExpr === undefined ? undefined : wrapExpression(parentExpr);
  // A std::vector expands to its elements, as gdb's printer lists them.
  const view = stdView(r);
  if (view?.kind === 'vector' && obj.kind === 'reference') {
    const v = vectorRange(ctx, view, obj.address);
    const end = Math.min(v.length, count === undefined ? v.length : start + count);
    const out: Child[] = [];
    for (let i = start; i < end; i++) {
      out.push({
        name: `[${i}]`,
        evaluateName: pe === undefined ? undefined : `${pe}._M_impl._M_start[${i}]`,
        object: makeReference(view.element, v.first + BigInt(i * v.esize)),
      });
    }
    return out;
  }
  if (view?.kind === 'container' && NODE_CONTAINERS.has(view.which) && obj.kind === 'reference') {
    const end = count === undefined ? 1_000_000 : start + count;
    return containerChildren(ctx, view, obj.address, end).children.slice(start);
  }
  if (r.kind === 'struct' || r.kind === 'union') {
    const ms = (r.members ?? []).slice(start, count === undefined ? undefined : start + count);
    return ms.map((m) => {
      if (m.base || m.static) {
        const rt = resolve(m.type);
        const typeName = (rt.kind === 'struct' || rt.kind === 'union' ? rt.name : undefined) ?? '';
        return {
          // gdb's `<Base>` and `static name`; they evaluate as a cast and as the class's variable.
          name: m.base ? `<${typeName}>` : `static ${m.name}`,
          // A base whose definition is missing cannot be named in a cast (gdb: No symbol).
          evaluateName: m.static ? m.static.qualifiedName : pe === undefined || !(rt.kind === 'struct' && rt.members) ? undefined : `*(${typeName} *)&${pe}`,
          object: cxxMemberObject(ctx, obj, m),
        };
      }
      const anon = m.name === undefined;
      const rt = resolve(m.type);
      return {
        name: anon ? `<anonymous ${rt.kind === 'union' ? 'union' : 'struct'}>` : m.name!,
        // g++'s `_vptr.Shape` is no identifier: no expression names it.
        evaluateName: anon ? pe : pe === undefined || !/^[A-Za-z_$][\w$]*$/.test(m.name!) ? undefined : `${pe}.${m.name}`,
        object: memberObject(obj, m.type, m.bitOffset, m.bitSize),
      };
    });
  }
  if (r.kind === 'array') {
    const len = r.length ?? 0;
    const esize = sizeOf(r.element) ?? 0;
    const end = Math.min(len, count === undefined ? len : start + count);
    const out: Child[] = [];
    for (let i = start; i < end; i++) {
      out.push({
        name: `[${i}]`,
        evaluateName: pe === undefined ? undefined : `${pe}[${i}]`,
        object: memberObject(obj, r.element, i * esize * 8, undefined),
      });
    }
    return out;
  }
  if (r.kind === 'pointer') {
    const p = pointee(ctx, obj);
    if (!p) return [];
    const tr = resolve(p.type!);
    if (tr.kind === 'struct' || tr.kind === 'union') {
      return children(ctx, p, start, count, undefined).map((c) => ({
        ...c,
        evaluateName: pe === undefined ? undefined : c.name.startsWith('<') ? `*${pe}` : `${pe}->${c.name}`,
      }));
    }
    if (start > 0) return [];
    return [{ name: parentExpr === undefined ? '*' : `*${pe}`, evaluateName: pe === undefined ? undefined : `*${pe}`, object: p }];
  }
  return [];
}
