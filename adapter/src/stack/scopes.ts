/**
 * What DWARF says about a code address: the function containing it, the chain of inlined
 * subroutines at it (each shown as its own frame, as gdb does), and the variables in scope at
 * each level (parameters, then locals block by block, innermost block first).
 *
 * Addresses are link-time (the caller removes the module's bias). Per unit, the top-level
 * subprograms and their ranges are read once and cached.
 */
import type { DwarfInfo } from '../symbols/dwarf/info';
import { attr, DwarfReader, toBig, type Die, type Unit } from '../symbols/dwarf/reader';

const TAG_formal_parameter = 0x05;
const TAG_lexical_block = 0x0b;
const TAG_inlined_subroutine = 0x1d;
const TAG_subprogram = 0x2e;
const TAG_variable = 0x34;
const TAG_label = 0x0a;
const TAG_typedef = 0x16;
const TAG_structure = 0x13;
const TAG_union = 0x17;
const TAG_enumeration = 0x04;
const TAG_enumerator = 0x28;
const AT_name = 0x03;
const AT_call_file = 0x58;
const AT_call_line = 0x59;
const AT_abstract_origin = 0x31;
const AT_specification = 0x47;
const AT_declaration = 0x3c;
const AT_external = 0x3f;

export interface ScopeVar {
  name: string;
  die: Die;
}

export interface ScopeBlock {
  vars: ScopeVar[];
  /** A function's outermost block (linear symbol order in gdb) or a lexical block (hashed). */
  isFunction: boolean;
  /** Symbols gdb would put into this block (sizes its hash table). */
  symbolCount: number;
}

export interface ScopeLevel {
  /** DW_TAG_subprogram, or DW_TAG_inlined_subroutine for inlined levels. */
  die: Die;
  name?: string;
  params: ScopeVar[];
  /** Innermost block first, ending with the function's own block. */
  blocks: ScopeBlock[];
  /** For inlined levels: where the call is (in the caller's source). */
  callFile?: number;
  callLine?: number;
  /** The subprogram DIE owning the frame base (outermost level). */
  subprogram: Die;
}

export interface PcScope {
  unit: Unit;
  /** Outermost (the real function) first, innermost inlined level last. */
  levels: ScopeLevel[];
}

const unitFns = new WeakMap<Unit, Array<{ lo: bigint; hi: bigint; die: Die }>>();

function rangesOf(r: DwarfReader, d: Die): Array<[bigint, bigint]> {
  try {
    return r.dieRanges(d);
  } catch {
    return [];
  }
}

function contains(rs: Array<[bigint, bigint]>, pc: bigint): boolean {
  return rs.some(([lo, hi]) => pc >= lo && pc < hi);
}

const AT_linkage_name = 0x6e;
const AT_MIPS_linkage_name = 0x2007;

/**
 * The name gdb prints for a function: its linkage name when the DIE (or its origin) has one
 * (glibc's asm-labelled `__GI___libc_read`), else DW_AT_name.
 */
export function functionDisplayName(r: DwarfReader, d: Die): string | undefined {
  const l = inheritedAttr(r, d, AT_linkage_name) ?? inheritedAttr(r, d, AT_MIPS_linkage_name);
  if (l?.value) return r.str(l.die.unit, l.value);
  return dieName(r, d);
}

/** DW_AT_name following abstract_origin / specification. */
export function dieName(r: DwarfReader, d: Die, depth = 0): string | undefined {
  const n = attr(d, AT_name);
  if (n) return r.str(d.unit, n);
  if (depth > 6) return undefined;
  const o = r.refTarget(attr(d, AT_abstract_origin) ?? attr(d, AT_specification));
  if (o === undefined) return undefined;
  const od = r.dieAt(o);
  return od ? dieName(r, od, depth + 1) : undefined;
}

/** An attribute of the DIE or of its abstract origin / specification. */
export function inheritedAttr(r: DwarfReader, d: Die, at: number, depth = 0): { die: Die; value: ReturnType<typeof attr> } | undefined {
  const a = attr(d, at);
  if (a) return { die: d, value: a };
  if (depth > 6) return undefined;
  const o = r.refTarget(attr(d, AT_abstract_origin) ?? attr(d, AT_specification));
  if (o === undefined) return undefined;
  const od = r.dieAt(o);
  return od ? inheritedAttr(r, od, at, depth + 1) : undefined;
}

function topFunctions(r: DwarfReader, u: Unit): Array<{ lo: bigint; hi: bigint; die: Die }> {
  let list = unitFns.get(u);
  if (list) return list;
  list = [];
  const top = r.readDie(u, u.dieOffset);
  const visit = (parent: Die, depth: number) => {
    for (const d of r.children(parent)) {
      if (d.tag === TAG_subprogram) {
        for (const [lo, hi] of rangesOf(r, d)) list!.push({ lo, hi, die: d });
      } else if (depth < 4 && (d.tag === 0x39 /* namespace */ || d.tag === 0x02 || d.tag === TAG_structure)) visit(d, depth + 1);
    }
  };
  if (top) visit(top, 0);
  list.sort((a, b) => (a.lo < b.lo ? -1 : a.lo > b.lo ? 1 : 0));
  unitFns.set(u, list);
  return list;
}

/** The scope chain at a link-time pc, or undefined when no DWARF function covers it. */
export function scopeAt(dwarf: DwarfInfo, pc: bigint): PcScope | undefined {
  const r = dwarf.reader;
  const u = dwarf.unitForAddress(pc);
  if (!u) return undefined;
  const fn = topFunctions(r, u).find((f) => pc >= f.lo && pc < f.hi);
  if (!fn) return undefined;
  const levels: ScopeLevel[] = [];
  let level: ScopeLevel = newLevel(r, fn.die, fn.die);
  levels.push(level);
  // Lexical blocks of the current level, outermost first, while we descend.
  const pending: ScopeBlock[] = [];
  let cur: Die = fn.die;
  let curBlock = blockOf(r, cur, true, level);
  for (let guard = 0; guard < 256; guard++) {
    const next = childAt(r, cur, pc, 0);
    if (!next) break;
    if (next.tag === TAG_lexical_block) {
      pending.push(curBlock);
      curBlock = blockOf(r, next, false, level);
      cur = next;
      continue;
    }
    // An inlined call: close this level's blocks and start a new level.
    pending.push(curBlock);
    level.blocks = pending.splice(0).reverse();
    level = newLevel(r, next, fn.die);
    levels.push(level);
    cur = next;
    curBlock = blockOf(r, cur, true, level);
  }
  pending.push(curBlock);
  level.blocks = pending.reverse();
  return { unit: u, levels };
}

/** The child block or inlined call containing pc; rangeless blocks count as part of their parent (gdb). */
function childAt(r: DwarfReader, d: Die, pc: bigint, depth: number): Die | undefined {
  for (const k of r.children(d)) {
    if (k.tag !== TAG_lexical_block && k.tag !== TAG_inlined_subroutine) continue;
    const rs = rangesOf(r, k);
    if (k.tag === TAG_lexical_block && rs.length === 0) {
      const inner = depth < 8 ? childAt(r, k, pc, depth + 1) : undefined;
      if (inner) return inner;
      continue;
    }
    if (contains(rs, pc)) return k;
  }
  return undefined;
}

function newLevel(r: DwarfReader, die: Die, subprogram: Die): ScopeLevel {
  const level: ScopeLevel = { die, name: functionDisplayName(r, die), params: [], blocks: [], subprogram };
  if (die.tag === TAG_inlined_subroutine) {
    const f = attr(die, AT_call_file);
    const l = attr(die, AT_call_line);
    if (f) level.callFile = Number(toBig(f.value));
    if (l) level.callLine = Number(toBig(l.value));
  }
  return level;
}

/**
 * Variables of one block (and, for a function block, its parameters into `level`), in gdb's
 * reading order: the DIE's own children, then (gdb's inherit_abstract_dies) the children of its
 * abstract origin that no concrete child refers to, e.g. locals an inlined copy dropped.
 */
function blockOf(r: DwarfReader, d: Die, isFunction: boolean, level: ScopeLevel): ScopeBlock {
  const vars: ScopeVar[] = [];
  let symbolCount = 0;
  const one = (k: Die, depth: number, fromOrigin: boolean) => {
    if (k.tag === TAG_lexical_block) {
      // A block without code (every abstract block) is read as part of its parent (gdb).
      if (depth < 8 && (fromOrigin || rangesOf(r, k).length === 0)) {
        for (const c of r.children(k)) one(c, depth + 1, fromOrigin);
        inherit(k, depth + 1);
      }
      return;
    }
    const name = dieName(r, k);
    if (k.tag === TAG_formal_parameter) {
      if (isFunction && name && depth === 0) level.params.push({ name, die: k });
      if (name) symbolCount++;
      return;
    }
    if (k.tag === TAG_variable) {
      if (!name) return;
      symbolCount++;
      // A declaration of a global inside a function (`extern int x;`) is no local.
      if (attr(k, AT_declaration) && attr(k, AT_external)) return;
      vars.push({ name, die: k });
      return;
    }
    if (k.tag === TAG_label && name) {
      // gdb lists a label whose code was optimized away (no DW_AT_low_pc) among the locals,
      // as `<optimized out>`; a label with an address is not a local to it.
      symbolCount++;
      if (!attr(k, 0x11)) vars.push({ name, die: k });
      return;
    }
    if (
      name &&
      (k.tag === TAG_label || k.tag === TAG_typedef || k.tag === TAG_structure || k.tag === TAG_union || k.tag === TAG_enumeration || k.tag === TAG_subprogram)
    )
      symbolCount++;
    if (k.tag === TAG_enumeration) for (const e of r.children(k)) if (e.tag === TAG_enumerator) symbolCount++;
  };
  const inherit = (concrete: Die, depth: number) => {
    const o = r.refTarget(attr(concrete, AT_abstract_origin));
    if (o === undefined || depth > 8) return;
    const od = r.dieAt(o);
    if (!od || (od.tag === TAG_subprogram && od === concrete)) return;
    const referenced = new Set<number>();
    for (const k of r.children(concrete)) {
      const ko = r.refTarget(attr(k, AT_abstract_origin));
      if (ko !== undefined) referenced.add(ko);
    }
    for (const k of r.children(od)) {
      if (referenced.has(k.offset)) continue;
      if (k.tag === TAG_inlined_subroutine) continue;
      one(k, k.tag === TAG_formal_parameter ? 0 : depth, true);
    }
  };
  for (const k of r.children(d)) one(k, 0, false);
  inherit(d, 0);
  return { vars, isFunction, symbolCount };
}

/** gdb's symbol hash for C names (default_search_name_hash / msymbol_hash_iw). */
export function gdbSymbolHash(name: string): number {
  const next = (h: number, c: number) => (Math.imul(h, 67) + lower(c) - 113) >>> 0;
  const iw = () => {
    let h = 0;
    for (let i = 0; i < name.length && name[i] !== '('; i++) {
      if (name[i] === ' ' || name[i] === '\t') continue;
      h = next(h, name.charCodeAt(i));
    }
    return h;
  };
  if (name.startsWith('_') && !name.startsWith('_ada_')) return iw();
  let s = name.startsWith('_ada_') ? 5 : 0;
  const start = s;
  let h = 0;
  while (s < name.length) {
    const ch = name[s];
    if (ch === '$' || ch === '.' || ch === 'X') return s === start ? iw() : h;
    if (ch === ' ' || ch === '(') return iw();
    if (ch === '_' && name[s + 1] === '_' && s !== start) {
      const c = name.charCodeAt(s + 2);
      if (name[s + 2] === 'B' && name[s + 3] === '_') {
        for (s += 4; s < name.length && name[s] >= '0' && name[s] <= '9'; s++);
        continue;
      }
      if ((Number.isNaN(c) || c < 97 || c > 122) && name[s + 2] !== 'O') return h;
      h = 0;
      s += 2;
      continue;
    }
    if (ch === 'T' && name.slice(s) === 'TKB') return h;
    h = next(h, name.charCodeAt(s));
    s++;
  }
  return h;
}

function lower(c: number): number {
  return c >= 65 && c <= 90 ? c + 32 : c;
}

/**
 * A block's variables in the order gdb prints them: a function block keeps DWARF order; a
 * lexical block is a hash table of (symbols / 5 + 1) buckets (gdb's DICT_HASHTABLE_SIZE, every
 * symbol of the block counted, inherited ones included), printed bucket by bucket, each bucket
 * in reading order.
 */
export function gdbOrder(b: ScopeBlock): ScopeVar[] {
  if (b.isFunction) return b.vars;
  const n = Math.floor(Math.max(b.symbolCount, b.vars.length) / 5) + 1;
  const buckets: ScopeVar[][] = Array.from({ length: n }, () => []);
  for (const v of b.vars) buckets[gdbSymbolHash(v.name) % n].push(v);
  return buckets.flat();
}
