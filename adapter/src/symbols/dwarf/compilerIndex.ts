/**
 * Looks names up through the index a compiler or gdb already wrote into the file
 * (`.debug_names`, else `.gdb_index`) instead of scanning every unit: a lookup of `name` scans
 * only the units the index lists for it (with the same scanner as the full index, so the
 * entries are the same DIEs), plus any unit the index does not cover.
 *
 * What the indexes leave out, and how the answer stays the scan's:
 * - declarations (`extern int x;` in a unit that does not define x), variables without storage
 *   (clang), function statics (gdb), and a static name in all but the first unit that has it
 *   (.gdb_index): so an answer counts as complete only when it holds an external definition
 *   (of a function, any definition through .debug_names, which lists static functions in every
 *   unit). Anything else — a file-static, a name only declared here, a typo — falls back
 *   to the full scan, once; later lookups use its maps.
 * - gdb's indexes name the first unit that mentions a name, often one that only declares it
 *   (and gdb's .debug_names every such unit): the units holding the definition are then found
 *   by a native search of `.debug_info` for the ELF symbol's link-time address (DW_OP_addr,
 *   DW_AT_low_pc), and scanned instead.
 * - `fn::name` (a function's static) scans the units that define `fn`, and returns the entries
 *   of those units (the caller keeps `fn`'s own).
 * The intended differences, where a definition answers: declarations of the name in other units
 * are not returned (pidscope reads a declaration only when no definition answers: this shows
 * only for `'file.c'::x` where file.c merely declares x), nor is a same-named static without
 * storage in a unit the index does not list for it. test/symbols/compiler-index.test.ts checks
 * every name of every fixture variant that carries an index against the full scan.
 * Listings (every global: `pidscope globals`, DAP scopes, symbolizing code addresses) build the
 * full maps, by one scan of every unit, and hand them to the persistent cache as a scan would.
 * Type names are looked up the same way through `.debug_names` (the units defining the type;
 * the full type pass when none does); `.gdb_index` lists a type in one unit only, so there the
 * type pass answers.
 *
 * The index is checked against the file first (versions, bounds, every unit offset a real
 * compile unit in .debug_info, gdb's unit lengths); a section that fails — on open or on any
 * later lookup — is treated as absent with a warning naming the file and the problem.
 * PIDSCOPE_COMPILER_INDEX=0 turns this off (benchmarks, equivalence tests).
 */
import { DW_TAG, DW_UT } from './constants';
import { parseDebugNames, DebugNamesError, type DebugNames } from './debugNames';
import { parseGdbIndex, GdbIndexError, type GdbIndex } from './gdbIndex';
import type { DwarfInfo, FnEntry, IndexParts, VarEntry } from './info';
import type { Unit } from './reader';

export type CompilerIndexKind = '.debug_names' | '.gdb_index';

/** Whether compiler-emitted indexes are used (PIDSCOPE_COMPILER_INDEX=0/off/false/no turns them off). */
export function compilerIndexEnabled(): boolean {
  const v = process.env.PIDSCOPE_COMPILER_INDEX;
  return v === undefined || !/^(0|off|false|no)$/i.test(v.trim());
}

interface UnitSpan {
  offset: number;
  end: number;
  /** Holds code and data DIEs (compile, partial, skeleton units), not only types. */
  compile: boolean;
}

/**
 * Unit boundaries from the headers alone (no DIE read): where units start, and which are
 * compile units. Undefined when a header is unreadable (the full scan then reports it).
 */
export function unitSpans(info: Buffer, littleEndian: boolean, typesStart?: number): UnitSpan[] | undefined {
  const out: UnitSpan[] = [];
  const u16 = (at: number) => (littleEndian ? info.readUInt16LE(at) : info.readUInt16BE(at));
  const u32 = (at: number) => (littleEndian ? info.readUInt32LE(at) : info.readUInt32BE(at));
  let off = 0;
  while (off < info.length) {
    if (off + 4 > info.length) return undefined;
    let len = u32(off);
    let hdr = 4;
    if (len === 0xffffffff) {
      if (off + 12 > info.length) return undefined;
      const big = littleEndian ? info.readBigUInt64LE(off + 4) : info.readBigUInt64BE(off + 4);
      if (big > BigInt(info.length)) return undefined;
      len = Number(big);
      hdr = 12;
    } else if (len >= 0xfffffff0) return undefined;
    const end = off + hdr + len;
    if (end > info.length || off + hdr + 3 > end) return undefined;
    const version = u16(off + hdr);
    if (version < 2 || version > 5) return undefined;
    let compile = typesStart === undefined || off < typesStart;
    if (compile && version >= 5) {
      const ut = info[off + hdr + 2];
      compile = ut === DW_UT.compile || ut === DW_UT.partial || ut === DW_UT.skeleton || ut === DW_UT.split_compile;
    }
    out.push({ offset: off, end, compile });
    off = end;
  }
  return out;
}

/** A name → the compile units (.debug_info offsets) holding DIEs of that name, per kind. */
interface UnitFinder {
  kind: CompilerIndexKind;
  /** Units the index covers (names of other compile units are not in it). */
  covered: Set<number>;
  units(name: string, want: 'variable' | 'function'): number[];
  /**
   * Compile units defining a named type (a type-index key: `struct x`, `union x`, `enum x`, a
   * typedef or base type name); absent when the index cannot answer for types (.gdb_index lists
   * a type name in one unit only).
   */
  typeUnits?(key: string): number[];
}

const TYPE_TAGS = new Set<number>([DW_TAG.structure_type, DW_TAG.union_type, DW_TAG.enumeration_type, DW_TAG.typedef, DW_TAG.base_type, DW_TAG.class_type]);
const FUNCTION_TAGS = new Set<number>([DW_TAG.subprogram, DW_TAG.inlined_subroutine]);

function lastComponent(name: string): string {
  const i = name.lastIndexOf('::');
  return i >= 0 ? name.slice(i + 2) : name;
}

/**
 * gdb writes C++ names qualified (`ns::f`), where the scan keys functions by DW_AT_name: those
 * are also found by their last component. Built once, and only when a qualified name exists.
 */
function qualifiedByLast(names: () => string[]): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const n of names()) {
    if (!n.includes('::')) continue;
    const k = lastComponent(n);
    const l = m.get(k);
    if (l) l.push(n);
    else m.set(k, [n]);
  }
  return m;
}

/** The DWARF name and tags a type-index key stands for. */
function typeQuery(key: string): { name: string; tags: Set<number> } {
  const m = /^(struct|union|enum) (.+)$/.exec(key);
  if (!m) return { name: key, tags: new Set([DW_TAG.typedef, DW_TAG.base_type]) };
  const tags = m[1] === 'struct' ? [DW_TAG.structure_type, DW_TAG.class_type] : m[1] === 'union' ? [DW_TAG.union_type] : [DW_TAG.enumeration_type];
  return { name: m[2], tags: new Set(tags) };
}

function debugNamesFinder(dn: DebugNames, spans: Map<number, UnitSpan>, str: Buffer | undefined): UnitFinder {
  const covered = new Set<number>();
  for (const ix of dn.indexes) {
    for (const cu of ix.cus) {
      const s = spans.get(cu);
      if (!s)
        throw new DebugNamesError(`name index at 0x${ix.offset.toString(16)} lists a compile unit at 0x${cu.toString(16)}, where .debug_info has no unit`);
      if (!s.compile)
        throw new DebugNamesError(`name index at 0x${ix.offset.toString(16)} lists the unit at 0x${cu.toString(16)} as a compile unit; it is a type unit`);
      covered.add(cu);
    }
  }
  const gdbWritten = dn.indexes.some((ix) => ix.augmentation.startsWith('GDB'));
  let byLast: Map<string, string[]> | undefined;
  let qualifiedNames: boolean | undefined;
  /** Whether gdb wrote qualified names into this index (any `::` in .debug_str; read once). */
  const qualified = () => gdbWritten && (qualifiedNames ??= !!str?.includes('::'));
  return {
    kind: '.debug_names',
    covered,
    units(name, want) {
      const keys = new Set([name, lastComponent(name)]);
      if (want === 'function' && qualified()) for (const q of (byLast ??= qualifiedByLast(() => dn.names())).get(name) ?? []) keys.add(q);
      const out = new Set<number>();
      for (const k of keys) {
        for (const e of dn.lookup(k)) {
          if (e.cu === undefined) continue; // a type unit: types only
          if (TYPE_TAGS.has(e.tag) || (want === 'variable' ? FUNCTION_TAGS.has(e.tag) : e.tag === DW_TAG.variable)) continue;
          const s = spans.get(e.cu)!;
          if (e.dieOffset !== undefined && (e.dieOffset < 1 || e.cu + e.dieOffset >= s.end))
            throw new DebugNamesError(`entry for ${k} points at DIE offset 0x${e.dieOffset.toString(16)}, outside its unit at 0x${e.cu.toString(16)}`);
          out.add(e.cu);
        }
      }
      return [...out];
    },
    typeUnits(key) {
      const q = typeQuery(key);
      const keys = new Set([q.name, lastComponent(q.name)]);
      if (qualified()) for (const n of (byLast ??= qualifiedByLast(() => dn.names())).get(q.name) ?? []) keys.add(n);
      const out = new Set<number>();
      for (const k of keys) for (const e of dn.lookup(k)) if (e.cu !== undefined && q.tags.has(e.tag)) out.add(e.cu);
      return [...out];
    },
  };
}

function gdbIndexFinder(gi: GdbIndex, spans: Map<number, UnitSpan>, buf: Buffer): UnitFinder {
  const covered = new Set<number>();
  for (const cu of gi.cus) {
    const s = spans.get(cu.offset);
    if (!s || !s.compile) throw new GdbIndexError(`CU list names 0x${cu.offset.toString(16)}, where .debug_info has no compile unit`);
    if (s.end - s.offset !== cu.length)
      throw new GdbIndexError(`CU at 0x${cu.offset.toString(16)} has length ${cu.length} in the index, ${s.end - s.offset} in .debug_info`);
    covered.add(cu.offset);
  }
  let byLast: Map<string, string[]> | undefined;
  let qualified: boolean | undefined; // any `::` in the section (read once, on the first function lookup)
  return {
    kind: '.gdb_index',
    covered,
    units(name, want) {
      const keys = new Set([name, lastComponent(name)]);
      if (want === 'function' && (qualified ??= buf.includes('::')))
        for (const q of (byLast ??= qualifiedByLast(() => gi.names())).get(name) ?? []) keys.add(q);
      const out = new Set<number>();
      for (const k of keys) {
        for (const h of gi.lookup(k)) {
          if (h.cu === undefined || h.kind === 'type') continue;
          if (want === 'variable' ? h.kind === 'function' : h.kind === 'variable') continue;
          out.add(gi.cus[h.cu].offset);
        }
      }
      return [...out];
    },
  };
}

export interface AttachedCompilerIndex {
  kind: CompilerIndexKind;
  /** How lookups were answered so far (tests and benchmarks). */
  stats: { indexed: number; fullFallbacks: number; unitsScanned: number };
}

/**
 * Lets `d` answer name lookups through the file's own index when it has a valid one (see the
 * file comment). `section` reads an ELF section of the DWARF file; `warn` receives the reason a
 * present index is not used. Call after the persistent cache had its chance (a warm cache wins).
 */
export function attachCompilerIndex(
  d: DwarfInfo,
  section: (name: string) => Buffer | undefined,
  warn: (message: string) => void,
  symbolAddresses?: (name: string) => bigint[],
): AttachedCompilerIndex | undefined {
  if (!compilerIndexEnabled() || d.indexAdopted) return undefined;
  const s = d.reader.s;
  const file = s.file ?? 'the DWARF file';
  const dn = section('.debug_names');
  const gi = section('.gdb_index');
  if (!dn?.length && !gi?.length) return undefined;
  const list = unitSpans(s.info, s.littleEndian, s.typesStart);
  if (!list) return undefined; // a broken unit header: the scan reports it
  const spans = new Map(list.map((u) => [u.offset, u]));
  let finder: UnitFinder | undefined;
  if (dn?.length) {
    try {
      finder = debugNamesFinder(parseDebugNames(dn, s.str, s.littleEndian), spans, s.str);
    } catch (e) {
      warn(`${file}: .debug_names not used (${(e as Error).message}); scanning the DWARF instead`);
    }
  }
  if (!finder && gi?.length) {
    try {
      finder = gdbIndexFinder(parseGdbIndex(gi), spans, gi);
    } catch (e) {
      warn(`${file}: .gdb_index not used (${(e as Error).message}); scanning the DWARF instead`);
    }
  }
  if (!finder) return undefined;
  const f = finder;
  d.reader.knowUnitStarts(list.map((u) => u.offset));
  const uncovered = list.filter((u) => u.compile && !f.covered.has(u.offset)).map((u) => u.offset);
  const attached: AttachedCompilerIndex = { kind: f.kind, stats: { indexed: 0, fullFallbacks: 0, unitsScanned: 0 } };

  type Scan = ReturnType<DwarfInfo['scanUnits']>;
  const perUnit = new Map<number, Scan>();
  let broken = false;
  let full: { variables: Map<string, VarEntry[]>; functions: Map<string, FnEntry[]> } | undefined;
  // The persistent cache saves an index only once the full maps exist (a listing built them):
  // an index of just the names looked up would be wrong for the next run.
  const save = d.onIndexed;
  d.onIndexed = (what) => {
    if (full) save?.(what);
  };

  const scanOf = (off: number): Scan | undefined => {
    let r = perUnit.get(off);
    if (!r) {
      const u = d.reader.unitAt(off);
      if (!u || u.offset !== off) return undefined;
      perUnit.set(off, (r = d.scanUnits([u])));
      attached.stats.unitsScanned++;
    }
    return r;
  };
  /** Entries of `name` in these units, in the full scan's order (direct ones, then those named through another DIE). */
  function gather<T extends VarEntry | FnEntry>(offsets: Iterable<number>, name: string, pick: (x: Scan) => Map<string, T[]>): T[] {
    const sorted = [...new Set(offsets)].sort((a, b) => a - b);
    const direct: T[] = [];
    const late: T[] = [];
    for (const off of sorted) {
      const r = scanOf(off);
      for (const e of (r && pick(r).get(name)) ?? []) (r!.late.has(e) ? late : direct).push(e);
    }
    return direct.concat(late);
  }
  const fullMaps = () => {
    if (full) return full;
    // One scan of every unit, as index() would do (units scanned for earlier lookups are read
    // again: merging per-unit maps cost more than it saved).
    const units: Unit[] = d.reader.units();
    for (const e of d.reader.unitErrors) if (!d.errors.includes(e)) d.errors.push(e);
    const r = d.scanUnits(units);
    full = { variables: r.variables, functions: r.functions };
    perUnit.clear();
    save?.('names');
    return full;
  };
  /** Runs a lookup through the index; a malformed index found on the way is dropped for good. */
  const viaIndex = <T>(what: () => T | undefined): T | undefined => {
    if (broken) return undefined;
    try {
      return what();
    } catch (e) {
      if (!(e instanceof DebugNamesError || e instanceof GdbIndexError)) throw e;
      broken = true;
      warn(`${file}: ${f.kind} not used (${e.message}); scanning the DWARF instead`);
      return undefined;
    }
  };
  /**
   * Compile units whose bytes hold one of the ELF symbol's link-time addresses (the definition's
   * DW_OP_addr or DW_AT_low_pc): gdb's indexes name the first unit that mentions a name, often
   * one that only declares it, and this finds the defining one with a native byte search. A
   * false match only costs a unit scan; a miss only a fallback to the full scan.
   */
  const unitsHolding = (name: string): number[] => {
    if (!symbolAddresses) return [];
    const info = s.info;
    const size = s.addressSize === 4 ? 4 : 8;
    const out = new Set<number>();
    for (const a of new Set(symbolAddresses(name))) {
      if (a < 0x1000n || a >= 1n << BigInt(8 * size)) continue; // small values (TLS offsets) match anywhere
      const pat = Buffer.alloc(size);
      if (size === 8) {
        if (s.littleEndian) pat.writeBigUInt64LE(a);
        else pat.writeBigUInt64BE(a);
      } else if (s.littleEndian) pat.writeUInt32LE(Number(a));
      else pat.writeUInt32BE(Number(a));
      // Search for the nonzero bytes only, then check the whole value: a needle ending in zero
      // bytes (common in DWARF) made the native search ten times slower.
      let first = 0;
      while (pat[first] === 0) first++;
      let last = size - 1;
      while (pat[last] === 0) last--;
      const core = pat.subarray(first, last + 1);
      for (let hit = info.indexOf(core); hit >= 0; hit = info.indexOf(core, hit + 1)) {
        const at = hit - first;
        if (at < 0 || at + size > info.length || !info.subarray(at, at + size).equals(pat)) continue;
        const i = lastStartAtOrBefore(list, at);
        if (i >= 0 && list[i].compile && at < list[i].end) out.add(list[i].offset);
        if (out.size > 64) return []; // not a distinctive address: scanning would not save anything
      }
    }
    return [...out];
  };

  // What an answer must contain to be complete (see the file comment): indexes leave out
  // variables without storage (clang) and list a static name in one unit only (.gdb_index), so
  // only an external definition proves the name's units are all listed; .gdb_index does the
  // same to static functions.
  const completeVariables = (l: VarEntry[]) => l.some((e) => !e.declaration && e.scope === 'global');
  const completeFunctions = (l: FnEntry[]) => l.some((e) => !e.declaration && (f.kind === '.debug_names' || e.external));

  /**
   * The entries of `name` from the fewest units that give a complete answer: the listed units
   * when they are few (clang lists the defining units only), else first the units holding the
   * ELF symbol's address (gdb lists every unit that declares the name), then both.
   */
  function answer<T extends VarEntry | FnEntry>(
    name: string,
    listed: number[],
    pick: (x: Scan) => Map<string, T[]>,
    complete: (l: T[]) => boolean,
  ): T[] | undefined {
    const attempt = (units: number[]) => {
      const l = gather(units.concat(uncovered), name, pick);
      return complete(l) ? l : undefined;
    };
    const few = listed.length <= 8;
    if (few && listed.length) {
      const l = attempt(listed);
      if (l) return l;
    }
    const more = unitsHolding(name);
    if (more.length) {
      const l = attempt(more) ?? attempt(listed.concat(more));
      if (l) return l;
    }
    return !few ? attempt(listed) : undefined;
  }

  // Type names (.debug_names only): the units the index lists for the name, plus type units and
  // units it does not cover; complete when they define the type (an index lists a definition in
  // every unit that has one; declarations, which it leaves out, are read only when no unit
  // defines the type, and then the full type pass answers).
  type TypeScan = ReturnType<DwarfInfo['scanTypeNames']>;
  const typeScans = new Map<number, TypeScan>();
  const typeUnitSpans = list.filter((u) => !u.compile).map((u) => u.offset);
  let fullTypes: TypeScan | undefined;
  const allTypes = (): TypeScan => {
    if (fullTypes) return fullTypes;
    fullTypes = d.scanTypeNames(d.reader.units());
    typeScans.clear();
    return fullTypes;
  };
  const typeParts = (typeUnits: (key: string) => number[]): Pick<IndexParts, 'types' | 'typeNamed'> => ({
    types: allTypes,
    typeNamed(key: string) {
      if (!fullTypes) {
        const hit = viaIndex(() => {
          const listed = typeUnits(key);
          if (listed.length === 0) return undefined;
          const sorted = [...new Set(listed.concat(uncovered, typeUnitSpans))].sort((a, b) => a - b);
          const defs: number[] = [];
          let decl: number | undefined;
          for (const off of sorted) {
            let r = typeScans.get(off);
            if (!r) {
              const u = d.reader.unitAt(off);
              if (!u || u.offset !== off) continue;
              typeScans.set(off, (r = d.scanTypeNames([u])));
              attached.stats.unitsScanned++;
            }
            defs.push(...(r.defs.get(key) ?? []));
            decl ??= r.decls.get(key);
          }
          return defs.length ? { defs, decl } : undefined;
        });
        if (hit) {
          attached.stats.indexed++;
          return hit;
        }
        attached.stats.fullFallbacks++;
      }
      const t = allTypes();
      return { defs: t.defs.get(key), decl: t.decls.get(key) };
    },
  });

  const parts: IndexParts = {
    variables: () => fullMaps().variables,
    functions: () => fullMaps().functions,
    variablesNamed(name: string, fn?: string): VarEntry[] {
      if (full) return full.variables.get(name) ?? [];
      const hit = viaIndex(() => {
        if (fn !== undefined) {
          // The statics of `fn` sit in its units: complete for this function when it is found.
          // (Entries of other functions are left out: the caller asks for `fn`'s only.)
          const fnUnits = f.units(fn, 'function');
          const fns = answer(fn, fnUnits, (x) => x.functions, completeFunctions);
          if (!fns) return undefined;
          return gather(fns.map((e) => e.unit.offset).concat(uncovered), name, (x) => x.variables);
        }
        return answer(name, f.units(name, 'variable'), (x) => x.variables, completeVariables);
      });
      if (hit) {
        attached.stats.indexed++;
        return hit;
      }
      attached.stats.fullFallbacks++;
      return fullMaps().variables.get(name) ?? [];
    },
    functionsNamed(name: string): FnEntry[] {
      if (full) return full.functions.get(name) ?? [];
      const hit = viaIndex(() => answer(name, f.units(name, 'function'), (x) => x.functions, completeFunctions));
      if (hit) {
        attached.stats.indexed++;
        return hit;
      }
      attached.stats.fullFallbacks++;
      return fullMaps().functions.get(name) ?? [];
    },
    ...(f.typeUnits ? typeParts(f.typeUnits.bind(f)) : {}),
    errors: [],
  };
  d.adoptIndex(parts);
  attachments.set(d, attached);
  return attached;
}

const attachments = new WeakMap<DwarfInfo, AttachedCompilerIndex>();

/** The compiler index answering `d`'s lookups, if one was attached. */
export function compilerIndexOf(d: DwarfInfo): AttachedCompilerIndex | undefined {
  return attachments.get(d);
}

/** Index of the last span starting at or before `at` (spans sorted by offset), or -1. */
function lastStartAtOrBefore(spans: UnitSpan[], at: number): number {
  let lo = 0;
  let hi = spans.length - 1;
  let best = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (spans[mid].offset <= at) {
      best = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return best;
}
