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
import { resolve, sizeOf, type CompoundType, type Member, type Type } from '../symbols/types';

export type StdView =
  | { kind: 'string'; type: CompoundType }
  | { kind: 'container'; type: CompoundType; which: Container }
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
  for (const m of t.members ?? [])
    if (m.name === name && !m.static && (!pointerOnly || resolve(m.type).kind === 'pointer')) return { member: m, bitOffset: m.bitOffset };
  for (const m of t.members ?? []) {
    if (m.static || m.base?.virtual) continue;
    const r = resolve(m.type);
    if (r.kind !== 'struct' && r.kind !== 'union') continue;
    const inner = deepMember(r, name, pointerOnly, depth + 1);
    if (inner) return { member: inner.member, bitOffset: m.bitOffset + inner.bitOffset };
  }
  return undefined;
}

export type Container =
  'pair' | 'string_view' | 'optional' | 'atomic' | 'list' | 'forward_list' | 'tree' | 'hashtable' | 'deque' | 'tuple' | 'variant' | 'bitvector';

const CONTAINERS: Array<[RegExp, Container]> = [
  [/^std::pair</, 'pair'],
  [/^std::basic_string_view</, 'string_view'],
  [/^std::optional</, 'optional'],
  [/^std::atomic</, 'atomic'],
  [/^std::(__cxx11::)?list</, 'list'],
  [/^std::forward_list</, 'forward_list'],
  [/^std::(multi)?(map|set)</, 'tree'],
  [/^std::unordered_(multi)?(map|set)</, 'hashtable'],
  [/^std::deque</, 'deque'],
  [/^std::tuple</, 'tuple'],
  [/^std::variant</, 'variant'],
  [/^std::vector<bool,/, 'bitvector'],
];

/** What a view needs from the printer: memory, types by name, and gdb's text of a value. */
export interface ViewHost {
  read(address: bigint, size: number): Buffer;
  findType(name: string): Type | undefined;
  value(type: Type, address: bigint): string;
  elements: number;
}

const u64 = (b: Buffer, o = 0) => b.readBigUInt64LE(o);

function typeArg(host: ViewHost, name: string, i: number): Type {
  const arg = templateArgs(name)[i];
  const t = arg === undefined ? undefined : host.findType(arg.replace(/ const$/, '').replace(/^const /, ''));
  if (!t) throw new Error(`libstdc++ view: type ${arg ?? `#${i}`} not found`);
  return t;
}

function size(t: Type): number {
  return sizeOf(t) ?? 1;
}

/** Alignment as the x86-64 ABI gives it (largest scalar inside). */
function alignOf(t: Type): number {
  const r = resolve(t);
  if (r.kind === 'struct' || r.kind === 'union') return Math.max(1, ...(r.members ?? []).filter((m) => !m.static).map((m) => alignOf(m.type)));
  if (r.kind === 'array') return alignOf(r.element);
  return Math.min(size(r), 16);
}

function plural(n: number): string {
  return `${n} element${n === 1 ? '' : 's'}`;
}

/** `{a, b}` or `{[k] = v, …}` with gdb's element limit. */
function list(items: string[], total: number): string {
  return `{${items.join(', ')}${total > items.length ? '...' : ''}}`;
}

function at(t: CompoundType, name: string, pointer = false): number {
  const m = deepMember(t, name, pointer);
  if (!m) throw new Error(`libstdc++ view: no member ${name}`);
  return m.bitOffset / 8;
}

export interface Item {
  type: Type;
  address: bigint;
  /** For maps: the key (the item is the mapped value). */
  key?: { type: Type; address: bigint };
}

/**
 * The elements of a node-based or segmented container (list, forward_list, map/set, unordered,
 * deque): how many there are, and the first `limit` of them in gdb's order.
 */
export function containerItems(
  host: ViewHost,
  view: Extract<StdView, { kind: 'container' }>,
  address: bigint,
  limit: number,
): { count: number; items: Item[] } {
  const t = view.type;
  const name = t.name!;
  const obj = host.read(address, size(t));
  const items: Item[] = [];
  switch (view.which) {
    case 'list':
    case 'forward_list': {
      const vt = typeArg(host, name, 0);
      const fwd = view.which === 'forward_list';
      const head = address + BigInt(at(t, fwd ? '_M_head' : '_M_node'));
      const dataOff = fwd ? 8n : 16n;
      let node = u64(host.read(head, 8));
      let count = 0;
      while (node !== 0n && node !== head && count < 1_000_000) {
        if (items.length < limit) items.push({ type: vt, address: node + dataOff });
        count++;
        node = u64(host.read(node, 8));
      }
      return { count, items };
    }
    case 'tree': {
      const isMap = /^std::(multi)?map</.test(name);
      const kt = typeArg(host, name, 0);
      const vt = isMap ? typeArg(host, name, 1) : undefined;
      const valueOff = vt ? BigInt(Math.ceil(size(kt) / alignOf(vt)) * alignOf(vt)) : 0n;
      const header = address + BigInt(at(t, '_M_header'));
      const count = Number(u64(obj, at(t, '_M_node_count')));
      let node = u64(host.read(header, 32), 16); // leftmost
      while (node !== header && node !== 0n && items.length < Math.min(count, limit)) {
        const data = node + 32n;
        items.push(vt ? { type: vt, address: data + valueOff, key: { type: kt, address: data } } : { type: kt, address: data });
        // In-order successor in the red-black tree.
        const n = host.read(node, 32);
        let right = u64(n, 24);
        if (right !== 0n) {
          let left = u64(host.read(right, 32), 16);
          while (left !== 0n) {
            right = left;
            left = u64(host.read(right, 32), 16);
          }
          node = right;
        } else {
          let cur = node;
          let parent = u64(n, 8);
          while (parent !== header && u64(host.read(parent, 32), 24) === cur) {
            cur = parent;
            parent = u64(host.read(parent, 32), 8);
          }
          node = parent;
        }
      }
      return { count, items };
    }
    case 'hashtable': {
      const isMap = /^std::unordered_(multi)?map</.test(name);
      const kt = typeArg(host, name, 0);
      const vt = isMap ? typeArg(host, name, 1) : undefined;
      const valueOff = vt ? BigInt(Math.ceil(size(kt) / alignOf(vt)) * alignOf(vt)) : 0n;
      const count = Number(u64(obj, at(t, '_M_element_count')));
      const dataOff = BigInt(Math.max(8, alignOf(kt)));
      let node = u64(obj, at(t, '_M_before_begin'));
      while (node !== 0n && items.length < Math.min(count, limit)) {
        const data = node + dataOff;
        items.push(vt ? { type: vt, address: data + valueOff, key: { type: kt, address: data } } : { type: kt, address: data });
        node = u64(host.read(node, 8));
      }
      return { count, items };
    }
    case 'deque': {
      const vt = typeArg(host, name, 0);
      const es = BigInt(size(vt));
      const bufElems = es < 512n ? 512n / es : 1n;
      const start = at(t, '_M_start');
      const finish = at(t, '_M_finish');
      // Iterators are {cur, first, last, node}.
      const [sCur, sLast, sNode] = [u64(obj, start), u64(obj, start + 16), u64(obj, start + 24)];
      const [fCur, fFirst, fNode] = [u64(obj, finish), u64(obj, finish + 8), u64(obj, finish + 24)];
      const count = Math.max(0, Number(bufElems * ((fNode - sNode) / 8n - 1n) + (fCur - fFirst) / es + (sLast - sCur) / es));
      let cur = sCur;
      let last = sLast;
      let nodeP = sNode;
      while (items.length < Math.min(count, limit)) {
        items.push({ type: vt, address: cur });
        cur += es;
        if (cur === last) {
          nodeP += 8n;
          cur = u64(host.read(nodeP, 8));
          last = cur + bufElems * es;
        }
      }
      return { count, items };
    }
    default:
      return { count: 0, items };
  }
}

/** The text of a container view of the object at `address`. */
export function containerText(host: ViewHost, view: Extract<StdView, { kind: 'container' }>, address: bigint): string {
  const t = view.type;
  const name = t.name!;
  const bare = name.slice(0, name.indexOf('<'));
  const obj = host.read(address, size(t));
  switch (view.which) {
    case 'string_view':
      throw new Error('handled by the formatter');
    case 'pair': {
      // Only `first` and `second` (the empty __pair_base is not shown).
      const parts = ['first', 'second'].map((f) => {
        const m = (t.members ?? []).find((x) => x.name === f);
        return m ? `${f} = ${host.value(m.type, address + BigInt(m.bitOffset / 8))}` : undefined;
      });
      return `{${parts.filter((x) => x !== undefined).join(', ')}}`;
    }
    case 'optional': {
      const engaged = obj[at(t, '_M_engaged')] !== 0;
      const arg = templateArgs(name)[0];
      if (!engaged) return `std::optional<${arg}> [no contained value]`;
      const vt = typeArg(host, name, 0);
      return `std::optional<${arg}> = {[contained value] = ${host.value(vt, address + BigInt(at(t, '_M_value')))}}`;
    }
    case 'atomic': {
      const m = deepMember(t, '_M_i') ?? deepMember(t, '_M_p');
      if (!m) throw new Error('libstdc++ view: atomic without _M_i');
      return `${name} = { ${host.value(m.member.type, address + BigInt(m.bitOffset / 8))} }`;
    }
    case 'list':
    case 'forward_list':
    case 'tree':
    case 'hashtable':
    case 'deque': {
      const { count, items } = containerItems(host, view, address, host.elements);
      const isMap = /^std::(unordered_)?(multi)?map</.test(name);
      const body = items.map((it, i) =>
        it.key
          ? `[${host.value(it.key.type, it.key.address)}] = ${host.value(it.type, it.address)}`
          : view.which === 'deque'
            ? host.value(it.type, it.address)
            : `[${i}] = ${host.value(it.type, it.address)}`,
      );
      void isMap;
      if (view.which === 'list' || view.which === 'forward_list') return count === 0 ? `${bare} is empty` : `${bare} = ${list(body, count)}`;
      const what = view.which === 'deque' ? 'std::deque' : bare;
      if (count === 0) return `${what} with 0 elements`;
      return `${what} with ${plural(count)} = ${list(body, count)}`;
    }
    case 'tuple': {
      const heads: Array<{ index: number; type: Type; off: number }> = [];
      const walk = (c: CompoundType, off: number, depth: number) => {
        if (depth > 40) return;
        for (const m of c.members ?? []) {
          const r = resolve(m.type);
          if (m.base && (r.kind === 'struct' || r.kind === 'union')) {
            const hb = /^std::_Head_base<(\d+)[uUlL]*,/.exec(r.name ?? ''); // clang writes `0UL`
            const hm = hb ? (r.members ?? []).find((x) => x.name === '_M_head_impl') : undefined;
            if (hb && hm) heads.push({ index: Number(hb[1]), type: hm.type, off: off + m.bitOffset / 8 + hm.bitOffset / 8 });
            else walk(r, off + m.bitOffset / 8, depth + 1);
          }
        }
      };
      walk(t, 0, 0);
      heads.sort((a, b) => a.index - b.index);
      if (!heads.length) return 'std::tuple containing';
      return `std::tuple containing = {${heads.map((h) => `[${h.index + 1}] = ${host.value(h.type, address + BigInt(h.off))}`).join(', ')}}`;
    }
    case 'variant': {
      const idx = obj[at(t, '_M_index')];
      const args = templateArgs(name);
      if (idx === 0xff || idx >= args.length) return `${bare}<${args.join(', ')}> [no contained value]`;
      const vt = typeArg(host, name, idx);
      return `${bare}<${args.join(', ')}> [index ${idx}] = {${host.value(vt, address + BigInt(at(t, '_M_u')))}}`;
    }
    case 'bitvector': {
      const s = at(t, '_M_start');
      const f = at(t, '_M_finish');
      const e = at(t, '_M_end_of_storage');
      const sp = u64(obj, s);
      const so = Number(obj.readUInt32LE(s + 8));
      const fp = u64(obj, f);
      const fo = Number(obj.readUInt32LE(f + 8));
      const length = Number(fp - sp) * 8 + fo - so;
      const capacity = Number(u64(obj, e) - sp) * 8;
      const head = `std::vector<bool> of length ${length}, capacity ${capacity}`;
      if (length <= 0) return head;
      const n = Math.min(length, host.elements);
      const bytes = host.read(sp, Math.ceil((so + n) / 8) + 8);
      const items: string[] = [];
      for (let i = 0; i < n; i++) {
        const bit = so + i;
        items.push((bytes[bit >> 3] >> (bit & 7)) & 1 ? 'true' : 'false');
      }
      return `${head} = ${list(items, length)}`;
    }
  }
}

/** The view for a type, if libstdc++'s printers have one that pidscope implements. */
export function stdView(type: Type): StdView | undefined {
  const t = resolve(type);
  if (t.kind !== 'struct' || !t.name || !t.name.startsWith('std::') || !t.members) return undefined;
  const name = t.name;
  if (/^std::(__cxx11::)?basic_string</.test(name)) return { kind: 'string', type: t };
  for (const [re, which] of CONTAINERS) if (re.test(name)) return { kind: 'container', type: t, which };
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
