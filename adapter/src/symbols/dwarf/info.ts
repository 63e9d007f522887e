/**
 * One module's DWARF: a name index built by a fast scan of every unit (globals, statics,
 * function statics, functions, named types → DIE offsets, no type decoding), then types,
 * variables, function ranges and line tables decoded on demand.
 *
 * Addresses here are link-time (as in the file); the module layer adds the load bias.
 * A unit that fails to parse is recorded in `errors` and skipped; the others still work.
 */
import { Cursor } from '../binary/cursor';
import type { FunctionType, Type } from '../types';
import { abbrevIndex } from './abbrevs';
import * as C from './constants';
import { withLeanJit } from './leanJit';
import { fileName, lookupLine, parseLineTable, type LineTable } from './line';
import { OPTIMIZED_OUT, staticLocation, leBytes, type StaticLocation } from './location';
import { attr, DwarfReader, toBig, type Die, type DwarfSections, type Unit } from './reader';
import { scanUnits, TypeScan } from './scan';
import { scanInParallel, scanThreads } from './scanParallel';
import { ScannedIndex } from './scanIndex';
import { canonicalBaseName, TypeBuilder } from './typeBuilder';
import { lastAtOrBefore } from '../../util/search';
// Local bindings: module-namespace getters in hot switch statements are slow under some loaders.
const { DW_AT, DW_FORM, DW_TAG, DW_UT } = C;

export interface VarEntry {
  name: string;
  die: number;
  unit: Unit;
  scope: 'global' | 'file-static' | 'function-static';
  /** For function statics: the enclosing function's name. */
  fn?: string;
  declaration: boolean;
  /**
   * A function-scope variable without storage (DW_AT_const_value or no location at all): a
   * static folded away, or an optimized local (DWARF cannot tell them apart). Found by
   * `fn::name` like gdb does (value or `<optimized out>`), left out of listings.
   */
  constOnly?: boolean;
}

export interface FnEntry {
  name: string;
  die: number;
  unit: Unit;
  external: boolean;
  declaration: boolean;
}

export interface DwarfVariable {
  name: string;
  type: Type;
  location: StaticLocation;
  scope: VarEntry['scope'];
  fn?: string;
  compileUnit?: string;
  declFile?: string;
  declLine?: number;
  declaration: boolean;
  /** Whether the DIE has DW_AT_location or DW_AT_const_value at all. */
  hasLocation: boolean;
}

export interface DwarfFunction {
  name: string;
  ranges: Array<[bigint, bigint]>;
  type: FunctionType;
  compileUnit?: string;
  external: boolean;
}

/** A name index from elsewhere (symbols/indexCache), each part decoded on demand. */
export interface IndexParts {
  variables(): Map<string, VarEntry[]>;
  functions(): Map<string, FnEntry[]>;
  /** Absent when the type names were not indexed. */
  types?: () => { defs: Map<string, number[]>; decls: Map<string, number> };
  /**
   * One name's entries without decoding the whole map (optional: the maps always work). `fn`:
   * the lookup is for a static of that function (an index may then read the function's unit).
   */
  variablesNamed?(name: string, fn?: string): VarEntry[];
  functionsNamed?(name: string): FnEntry[];
  typeNamed?(name: string): { defs?: number[]; decl?: number };
  errors: string[];
}

/** DW_LANG codes of C units (C89, C, C99, C11, C17). */
const C_LANGS = new Set([0x01, 0x02, 0x0c, 0x1d, 0x2c]);

const INDEXED_TYPE_TAGS = new Set<number>([
  DW_TAG.structure_type,
  DW_TAG.union_type,
  DW_TAG.enumeration_type,
  DW_TAG.typedef,
  DW_TAG.base_type,
  DW_TAG.class_type,
]);

export class DwarfInfo {
  readonly reader: DwarfReader;
  readonly types: TypeBuilder;
  readonly errors: string[] = [];
  private built = false;
  private typesBuilt = false;
  private varMap?: Map<string, VarEntry[]>;
  private fnMap?: Map<string, FnEntry[]>;
  private typeMaps?: { defs: Map<string, number[]>; decls: Map<string, number> };
  /** Decoders of an adopted index: each part is decoded when first used (adoptIndex). */
  private adopted?: IndexParts;

  /** The index this process scanned, as records (entries made on demand; see scanIndex.ts). */
  private scanned?: ScannedIndex;

  /** The records of the index scanned here (for the persistent cache's encoder), if it was. */
  get scannedIndex(): ScannedIndex | undefined {
    return this.scanned;
  }

  /** Variables by name (globals, file statics, function statics with storage). */
  get variables(): Map<string, VarEntry[]> {
    return (this.varMap ??= this.adopted?.variables() ?? this.scanned?.variables() ?? new Map());
  }

  /** Functions by name (top level and in namespaces). */
  get functions(): Map<string, FnEntry[]> {
    return (this.fnMap ??= this.adopted?.functions() ?? this.scanned?.functions() ?? new Map());
  }

  private readonly varsByName = new Map<string, VarEntry[]>();
  private readonly fnsByName = new Map<string, FnEntry[]>();
  private readonly typesByName = new Map<string, { defs?: number[]; decl?: number }>();

  /**
   * The variables named `name`: from the map once it exists, else (an adopted index) looked up
   * alone, so a one-shot lookup never decodes every name of a big program.
   */
  variablesNamed(name: string, fn?: string): VarEntry[] {
    const src = this.adopted ?? this.scanned;
    if (this.varMap || !src?.variablesNamed) return this.variables.get(name) ?? [];
    // `fn` matters only to an adopted index that reads units on demand (compilerIndex.ts); the
    // records of a full scan hold every entry of the name.
    const key = fn === undefined || !this.adopted ? name : `${name}\0${fn}`;
    let l = this.varsByName.get(key);
    if (!l) this.varsByName.set(key, (l = this.adopted ? this.adopted.variablesNamed!(name, fn) : src.variablesNamed(name)));
    return l;
  }

  /** The functions named `name` (see variablesNamed). */
  functionsNamed(name: string): FnEntry[] {
    const src = this.adopted ?? this.scanned;
    if (this.fnMap || !src?.functionsNamed) return this.functions.get(name) ?? [];
    let l = this.fnsByName.get(name);
    if (!l) this.fnsByName.set(name, (l = src.functionsNamed(name)));
    return l;
  }

  /** Defining DIEs and the first declaration of a named type (see variablesNamed). */
  private typeNamed(name: string): { defs?: number[]; decl?: number } {
    if (this.typeMaps || !this.adopted?.types || !this.adopted.typeNamed) return { defs: this.typeDefs.get(name), decl: this.typeDecls.get(name) };
    let t = this.typesByName.get(name);
    if (!t) this.typesByName.set(name, (t = this.adopted.typeNamed(name)));
    return t;
  }

  private get typeIndex(): { defs: Map<string, number[]>; decls: Map<string, number> } {
    return (this.typeMaps ??= this.adopted?.types?.() ?? { defs: new Map(), decls: new Map() });
  }

  /** 'struct x' / 'union x' / 'enum x' / typedef name / canonical base name → defining DIEs. */
  get typeDefs(): Map<string, number[]> {
    return this.typeIndex.defs;
  }
  /** The same names → the first declaration DIE (incomplete types), when no unit defines them. */
  get typeDecls(): Map<string, number> {
    return this.typeIndex.decls;
  }
  private readonly lineTables = new Map<number, LineTable | null>();
  private readonly lineHeaders = new Map<number, LineTable | null>();
  private unitRanges?: Array<{ lo: bigint; hi: bigint; unit: Unit }>;
  private fnRanges?: Array<{ lo: bigint; hi: bigint; name: string }>;

  constructor(sections: DwarfSections) {
    this.reader = new DwarfReader(sections);
    this.types = new TypeBuilder(this.reader);
    this.types.scopePrefix = (off) => this.scopePrefixOf(off);
  }

  /**
   * Called once the name index (`'names'`: variables, functions) or the type-name index
   * (`'types'`) has been built from the DWARF here, so a persistent cache can keep it
   * (symbols/indexCache). Not called for an index adopted from such a cache.
   */
  onIndexed?: (what: 'names' | 'types') => void;

  /** Whether the name index came from a persistent cache (adoptIndex) rather than a scan here. */
  get indexAdopted(): boolean {
    return this.adopted !== undefined;
  }

  /** Whether the type names are indexed (by indexTypes() or adopted from a cache). */
  get typesIndexed(): boolean {
    return this.typesBuilt;
  }

  /**
   * Takes an index built earlier (by a persistent cache): the scans are skipped, and each map
   * is decoded on its first use (a variable lookup never decodes the functions).
   */
  adoptIndex(parts: IndexParts): void {
    if (this.built) return;
    this.adopted = parts;
    this.built = true;
    if (parts.types) this.typesBuilt = true;
    this.errors.push(...parts.errors);
  }

  /** Builds the name index (idempotent). */
  index(): void {
    if (this.built) return;
    this.built = true;
    withLeanJit(() => {
      this.buildIndex();
      this.onIndexed?.('names');
    });
  }

  private buildIndex(): void {
    const units = this.reader.units();
    for (const e of this.reader.unitErrors) this.errors.push(e);
    const results = (scanThreads() > 1 ? scanInParallel(this.reader, units) : undefined) ?? [scanUnits(this.reader, units, 0, units.length)];
    for (const res of results) {
      for (const [i, message] of res.errors) {
        const u = units[i];
        u.error = message;
        this.errors.push(`unit at 0x${u.offset.toString(16)} (${u.name ?? '?'}): ${message}`);
      }
    }
    this.scanned = new ScannedIndex(units, results, {
      nameOf: (off) => this.nameOf(off),
      scopePrefixOf: (off) => this.scopePrefixOf(off),
      hasAttr: (off, at) => this.hasAttr(off, at),
    });
  }

  /**
   * The name index of just these units, into fresh maps (the module's own index is untouched):
   * for a compiler-emitted index that names the units to read (compilerIndex.ts). Entries named
   * through DW_AT_specification / abstract_origin are in `late` (a full scan lists them after
   * every direct entry). Broken units are reported in `errors` and skipped, as by index().
   */
  scanUnits(units: Unit[]): { variables: Map<string, VarEntry[]>; functions: Map<string, FnEntry[]>; late: Set<VarEntry | FnEntry> } {
    const variables = new Map<string, VarEntry[]>();
    const functions = new Map<string, FnEntry[]>();
    const late = new Set<VarEntry | FnEntry>();
    {
      const res = scanUnits(this.reader, units, 0, units.length);
      for (const [i, message] of res.errors) {
        const u = units[i];
        u.error = message;
        this.errors.push(`unit at 0x${u.offset.toString(16)} (${u.name ?? '?'}): ${message}`);
      }
      const idx = new ScannedIndex(units, [res], {
        nameOf: (off) => this.nameOf(off),
        scopePrefixOf: (off) => this.scopePrefixOf(off),
        hasAttr: (off, at) => this.hasAttr(off, at),
      });
      idx.eachEntry(
        (e, named) => {
          if (named) late.add(e);
          push(variables, e.name, e);
        },
        (e, named) => {
          if (named) late.add(e);
          push(functions, e.name, e);
        },
      );
    }
    return { variables, functions, late };
  }

  private readonly names = new Map<number, string | undefined>();
  /** DIE offset → `ns::Class::` for DIEs inside namespaces and classes, per unit walked. */
  private readonly prefixes = new Map<number, string>();
  private readonly prefixedUnits = new Set<number>();

  /**
   * The C++ scope a DIE sits in, as gdb writes it (`ns::inner::`, `(anonymous namespace)::`,
   * `Widget::`), or '' at unit level. The unit's tree of namespaces and classes is walked once.
   */
  scopePrefixOf(off: number): string {
    const u = this.reader.unitAt(off);
    if (!u) return '';
    // C has no namespaces and no static members: the walk (which reads every struct's members)
    // was a third of a cold index of a big C program, for an answer that is always ''.
    if (u.language !== undefined && C_LANGS.has(u.language)) return '';
    if (!this.prefixedUnits.has(u.offset)) {
      this.prefixedUnits.add(u.offset);
      const walk = (die: Die, prefix: string, depth: number): void => {
        if (depth > 32) return;
        let kids: Die[];
        try {
          kids = this.reader.children(die);
        } catch {
          return;
        }
        for (const k of kids) {
          if (prefix) this.prefixes.set(k.offset, prefix);
          if (k.tag === DW_TAG.namespace || k.tag === DW_TAG.structure_type || k.tag === DW_TAG.class_type || k.tag === DW_TAG.union_type) {
            const a = attr(k, DW_AT.name);
            const n = a ? this.reader.str(k.unit, a) : k.tag === DW_TAG.namespace ? '(anonymous namespace)' : undefined;
            if (n !== undefined) walk(k, `${prefix}${n}::`, depth + 1);
          }
        }
      };
      try {
        const top = this.reader.dieAt(u.dieOffset);
        if (top) walk(top, '', 0);
      } catch {
        /* a broken unit: names stay unqualified */
      }
    }
    return this.prefixes.get(off) ?? '';
  }

  /**
   * Whether the DIE at `off` has attribute `at` (false when it cannot be read), through the
   * compact abbreviation table: no DIE and no Abbrev objects for the units it is asked about.
   */
  private hasAttr(off: number, at: number): boolean {
    try {
      const r = this.reader;
      const u = r.unitAt(off);
      if (!u) return false;
      const c = new Cursor(r.s.info, r.s.littleEndian, u.offset, u.end, '.debug_info');
      c.seek(off);
      const t = r.compactAbbrevs(u.abbrevOffset);
      const code = c.uleb();
      if (code === 0) return false;
      const i = abbrevIndex(t, code);
      if (i < 0) return false;
      // Every attribute is read (as readDie did), so a DIE that is malformed past `at` still says no.
      let found = false;
      for (let k = t.first[i]; k < t.first[i + 1]; k++) {
        if (t.at[k] === at) found = true;
        r.skipForm(c, u, t.form[k]);
      }
      return found;
    } catch {
      return false;
    }
  }

  /** DW_AT_name of the DIE at `off`, following specification/abstract_origin (cached). */
  private nameOf(off: number, depth = 0): string | undefined {
    if (depth > 8) return undefined;
    if (this.names.has(off)) return this.names.get(off);
    let name: string | undefined;
    try {
      const r = this.reader;
      const u = r.unitAt(off);
      if (u) {
        const c = new Cursor(r.s.info, r.s.littleEndian, u.offset, u.end, '.debug_info');
        c.seek(off);
        // The compact abbreviation table: no Abbrev objects for the units the names sit in.
        const t = r.compactAbbrevs(u.abbrevOffset);
        const at0 = c.pos;
        const code = c.uleb();
        const i = code === 0 ? -1 : abbrevIndex(t, code);
        if (code !== 0 && i < 0) c.fail(`unknown abbreviation code ${code}`, at0);
        let origin = -1;
        if (i >= 0) {
          for (let k = t.first[i]; k < t.first[i + 1]; k++) {
            const at = t.at[k];
            const form = t.form[k];
            const implicit = form === DW_FORM.implicit_const ? (t.implicit?.get(k) ?? 0n) : undefined;
            if (at === DW_AT.name) {
              const v = r.readForm(c, u, form, implicit);
              name = typeof v === 'string' ? v : r.str(u, { at, form, value: v });
              break;
            } else if (at === DW_AT.specification || at === DW_AT.abstract_origin) {
              const v = r.readForm(c, u, form, implicit);
              if (typeof v === 'number') origin = v;
            } else r.skipForm(c, u, form);
          }
        }
        if (name === undefined && origin >= 0 && origin !== off) name = this.nameOf(origin, depth + 1);
      }
    } catch {
      /* a broken reference: no name */
    }
    this.names.set(off, name);
    return name;
  }

  /**
   * Indexes type names (idempotent): a pass over the top-level DIEs of every unit that jumps
   * over function bodies by DW_AT_sibling. Kept apart from index() so the first variable lookup
   * does not pay for it; casts and incomplete-type completion do.
   */
  indexTypes(): void {
    if (this.typesBuilt) return;
    this.typesBuilt = true;
    this.index();
    withLeanJit(() => {
      this.buildTypeIndex();
      this.onIndexed?.('types');
    });
  }

  /**
   * The type-name index of just these units, into fresh maps (the module's own is untouched):
   * for a compiler-emitted index that names the units to read (compilerIndex.ts).
   */
  scanTypeNames(units: Unit[]): { defs: Map<string, number[]>; decls: Map<string, number> } {
    const saved = this.typeMaps;
    const maps = { defs: new Map<string, number[]>(), decls: new Map<string, number>() };
    this.typeMaps = maps;
    try {
      this.buildTypeIndex(units);
    } finally {
      this.typeMaps = saved;
    }
    return maps;
  }

  private buildTypeIndex(units: Unit[] = this.reader.units()): void {
    const r = this.reader;
    // The compiled abbreviation tables of the name scan: no Abbrev objects for every unit.
    const scan = new TypeScan(r);
    const recs: number[] = [];
    for (const u of units) {
      if (u.error) continue;
      try {
        if (u.unitType === DW_UT.type || u.unitType === DW_UT.split_type) {
          this.scanTypeUnit(u);
          continue;
        }
        recs.length = 0;
        try {
          scan.unit(u, recs);
        } finally {
          // What was found before a malformed DIE is kept, as before.
          const names = scan.strings;
          for (let j = 0; j < recs.length; j += 4) this.indexType(recs[j], names[recs[j + 1]], recs[j + 2], recs[j + 3] === 1);
        }
      } catch (e) {
        this.errors.push(`types of unit at 0x${u.offset.toString(16)} (${u.name ?? '?'}): ${(e as Error).message}`);
      }
    }
  }

  private scanTypeUnit(u: Unit): void {
    // DWARF 5 type units: index the named top-level types (their DIEs live in .debug_info too).
    const r = this.reader;
    const topDie = r.readDie(u, u.dieOffset);
    if (!topDie) return;
    for (const k of r.children(topDie)) {
      if (!INDEXED_TYPE_TAGS.has(k.tag)) continue;
      const n = attr(k, DW_AT.name);
      if (n) this.indexType(k.tag, r.str(u, n), k.offset, !!attr(k, DW_AT.declaration));
    }
  }

  private baseNames = new Map<string, string>();

  private indexType(tag: number, raw: string, off: number, declaration: boolean): void {
    let name: string;
    switch (tag) {
      case DW_TAG.structure_type:
      case DW_TAG.class_type:
        name = `struct ${raw}`;
        break;
      case DW_TAG.union_type:
        name = `union ${raw}`;
        break;
      case DW_TAG.enumeration_type:
        name = `enum ${raw}`;
        break;
      case DW_TAG.base_type: {
        let n = this.baseNames.get(raw);
        if (n === undefined) this.baseNames.set(raw, (n = canonicalBaseName(raw)));
        name = n;
        break;
      }
      default:
        name = raw;
    }
    // Every unit repeats the common types: keep all definitions (offsets only) but one declaration.
    if (declaration) {
      if (!this.typeDecls.has(name)) this.typeDecls.set(name, off);
      return;
    }
    const list = this.typeDefs.get(name);
    if (list) list.push(off);
    else this.typeDefs.set(name, [off]);
  }

  // ---- queries -------------------------------------------------------------------------------

  /** A named type: a definition (from a unit `preferUnit` accepts, if any), else a declaration. */
  findType(name: string, preferUnit?: (u: Unit) => boolean): Type | undefined {
    this.indexTypes();
    const { defs, decl } = this.typeNamed(name);
    if (defs && defs.length) {
      let pick = defs[0];
      if (preferUnit) {
        for (const off of defs) {
          const u = this.reader.unitAt(off);
          if (u && preferUnit(u)) {
            pick = off;
            break;
          }
        }
      }
      return this.types.typeAt(pick);
    }
    return decl !== undefined ? this.types.typeAt(decl) : undefined;
  }

  /**
   * Variables named `name` without storage directly in function `fn` (gdb's `fn::name` for an
   * optimized local or a static folded to a constant): read from the function's DIE subtree
   * on demand, including the abstract instance of an inlined function.
   */
  functionLocals(fn: string, name: string): VarEntry[] {
    this.index();
    const out: VarEntry[] = [];
    const seen = new Set<number>();
    const r = this.reader;
    const visit = (d: Die, depth: number, fnDie: Die): void => {
      if (depth > 16) return;
      for (const k of r.children(d)) {
        if (k.tag === DW_TAG.lexical_block) visit(k, depth + 1, fnDie);
        if (k.tag !== DW_TAG.variable) continue;
        // Without storage: no location, or a location that is a value (stack_value / implicit_value).
        const loc = attr(k, DW_AT.location);
        if (loc) {
          const e = loc.value;
          if (!Buffer.isBuffer(e) || e.length === 0) continue;
          if (e[e.length - 1] !== 0x9f && e[0] !== 0x9e) continue;
        }
        const n = attr(k, DW_AT.name);
        const kn = n ? r.str(k.unit, n) : this.nameOf(r.refTarget(attr(k, DW_AT.abstract_origin)) ?? -1);
        if (kn !== name || seen.has(k.offset)) continue;
        seen.add(k.offset);
        out.push({ name, die: k.offset, unit: k.unit, scope: 'function-static', fn, declaration: false, constOnly: true });
      }
    };
    for (const e of this.functionsNamed(fn)) {
      try {
        const d = r.dieAt(e.die);
        if (!d) continue;
        visit(d, 0, d);
        const o = r.refTarget(attr(d, DW_AT.abstract_origin));
        if (o !== undefined) {
          const od = r.dieAt(o);
          if (od) visit(od, 0, od);
        }
      } catch (err) {
        this.errors.push(`locals of ${fn}: ${(err as Error).message}`);
      }
    }
    return out;
  }

  /** The defining DIE of a named type, if any unit defines it. */
  typeDefinition(name: string): number | undefined {
    this.indexTypes();
    return this.typeNamed(name).defs?.[0];
  }

  variable(e: VarEntry): DwarfVariable {
    const r = this.reader;
    const d = r.dieAt(e.die);
    if (!d) throw new Error(`variable DIE at 0x${e.die.toString(16)} vanished`);
    // Merge attributes along DW_AT_specification / abstract_origin (the declaration holds type/name).
    const chain: Die[] = [d];
    for (let i = 0; i < 4; i++) {
      const last = chain[chain.length - 1];
      const s = attr(last, DW_AT.specification) ?? attr(last, DW_AT.abstract_origin);
      if (!s || typeof s.value !== 'number') break;
      const sd = r.dieAt(s.value);
      if (!sd) break;
      chain.push(sd);
    }
    const find = (at: number) => {
      for (const x of chain) {
        const a = attr(x, at);
        if (a) return { a, die: x };
      }
      return undefined;
    };
    const typeA = find(DW_AT.type);
    const typeOff = typeA ? r.refTarget(typeA.a) : undefined;
    const type = typeOff !== undefined ? this.types.typeAt(typeOff) : this.types.typeOf(d);
    const loc = attr(d, DW_AT.location);
    const cv = find(DW_AT.const_value);
    let location: StaticLocation;
    const size = safeSize(type);
    if (loc) {
      if (Buffer.isBuffer(loc.value)) location = staticLocation(r, d.unit, loc.value, size ?? 8);
      else location = { kind: 'absent', reason: OPTIMIZED_OUT + ' (location list: needs a stopped frame)' };
    } else if (cv) {
      const v = cv.a.value;
      if (Buffer.isBuffer(v)) location = { kind: 'value', bytes: Buffer.from(v) };
      else if (typeof v === 'string') location = { kind: 'value', bytes: Buffer.from(v + '\0', 'utf8') };
      else location = { kind: 'value', bytes: leBytes(toBig(v), size ?? 8) };
    } else location = { kind: 'absent', reason: e.declaration ? 'declaration only' : OPTIMIZED_OUT };
    const declFileA = find(DW_AT.decl_file);
    const declLineA = find(DW_AT.decl_line);
    const out: DwarfVariable = {
      name: e.name,
      type,
      location,
      scope: e.scope,
      fn: e.fn,
      compileUnit: e.unit.name,
      declLine: declLineA ? Number(toBig(declLineA.a.value)) : undefined,
      declaration: e.declaration,
      hasLocation: !!loc || !!cv,
    };
    if (declFileA) {
      // Named on demand: the file name needs the unit's line table header (~0.7 ms on redis),
      // and evaluating an expression never asks for it.
      let declFile: string | undefined | null = null;
      Object.defineProperty(out, 'declFile', {
        enumerable: true,
        get: () => {
          if (declFile === null) {
            const t = this.lineFiles(declFileA.die.unit);
            declFile = t ? fileName(t, Number(toBig(declFileA.a.value))) : undefined;
          }
          return declFile;
        },
      });
    }
    return out;
  }

  functionInfo(e: FnEntry): DwarfFunction {
    const d = this.reader.dieAt(e.die);
    if (!d) throw new Error(`function DIE at 0x${e.die.toString(16)} vanished`);
    let ranges: Array<[bigint, bigint]> = [];
    try {
      ranges = this.reader.dieRanges(d);
    } catch (err) {
      this.errors.push(`ranges of ${e.name}: ${(err as Error).message}`);
    }
    // The prototype lives on the abstract origin for out-of-line copies of inline functions.
    let typeDie = d;
    const o = attr(d, DW_AT.abstract_origin) ?? attr(d, DW_AT.specification);
    if (o && typeof o.value === 'number' && !attr(d, DW_AT.type)) typeDie = this.reader.dieAt(o.value) ?? d;
    const type = this.types.fromDie(typeDie) as FunctionType;
    return { name: e.name, ranges, type, compileUnit: e.unit.name, external: e.external };
  }

  /** Just the file table of a unit's line program (for DW_AT_decl_file), cached. */
  lineFiles(u: Unit): LineTable | undefined {
    const full = this.lineTables.get(u.offset);
    if (full) return full;
    if (u.stmtList === undefined || !this.reader.s.line) return undefined;
    const hit = this.lineHeaders.get(u.offset);
    if (hit !== undefined) return hit ?? undefined;
    let t: LineTable | null = null;
    try {
      t = parseLineTable(this.reader, u, u.stmtList, true);
    } catch (e) {
      this.errors.push(`line table header of ${u.name ?? '?'}: ${(e as Error).message}`);
    }
    this.lineHeaders.set(u.offset, t);
    return t ?? undefined;
  }

  /** The line table of a unit (cached; null when absent or broken). */
  lineTable(u: Unit): LineTable | undefined {
    if (u.stmtList === undefined || !this.reader.s.line) return undefined;
    const hit = this.lineTables.get(u.offset);
    if (hit !== undefined) return hit ?? undefined;
    let t: LineTable | null = null;
    try {
      t = parseLineTable(this.reader, u, u.stmtList);
    } catch (e) {
      this.errors.push(`line table of ${u.name ?? '?'}: ${(e as Error).message}`);
    }
    this.lineTables.set(u.offset, t);
    return t ?? undefined;
  }

  /** Units' code ranges, sorted (from DW_AT_low_pc/high_pc/ranges of each unit DIE). */
  private unitsByAddress(): Array<{ lo: bigint; hi: bigint; unit: Unit }> {
    if (this.unitRanges) return this.unitRanges;
    const out: Array<{ lo: bigint; hi: bigint; unit: Unit }> = [];
    for (const u of this.reader.units()) {
      if (u.error || u.unitType === DW_UT.type) continue;
      try {
        const d = this.reader.readDie(u, u.dieOffset);
        if (!d) continue;
        for (const [lo, hi] of this.reader.dieRanges(d)) out.push({ lo, hi, unit: u });
      } catch (e) {
        this.errors.push(`ranges of unit ${u.name ?? '?'}: ${(e as Error).message}`);
      }
    }
    out.sort((a, b) => (a.lo < b.lo ? -1 : a.lo > b.lo ? 1 : 0));
    this.unitRanges = out;
    return out;
  }

  unitForAddress(addr: bigint): Unit | undefined {
    for (const r of this.unitsByAddress()) if (addr >= r.lo && addr < r.hi) return r.unit;
    return undefined;
  }

  /** Function (by DWARF ranges) containing a link-time address. */
  functionAt(addr: bigint): string | undefined {
    this.index();
    // Only the functions of the unit covering the address are read (a big library has
    // thousands of units); their ranges are cached per unit.
    const u = this.unitForAddress(addr);
    const units = u ? [u] : [];
    if (!u && !this.fnRanges) {
      // No unit ranges (unusual): fall back to every function once.
      this.fnRanges = this.rangesOf(() => true);
    }
    for (const unit of units) {
      let fr = this.fnRangesByUnit.get(unit.offset);
      if (!fr) this.fnRangesByUnit.set(unit.offset, (fr = this.rangesOf((e) => e.unit === unit)));
      const hit = findRange(fr, addr);
      if (hit) return hit;
    }
    return this.fnRanges ? findRange(this.fnRanges, addr) : undefined;
  }

  private readonly fnRangesByUnit = new Map<number, Array<{ lo: bigint; hi: bigint; name: string }>>();
  private fnByUnit?: Map<number, FnEntry[]>;

  private rangesOf(want: (e: FnEntry) => boolean): Array<{ lo: bigint; hi: bigint; name: string }> {
    if (!this.fnByUnit) {
      this.fnByUnit = new Map();
      for (const list of this.functions.values()) {
        for (const e of list) {
          if (e.declaration) continue;
          const l = this.fnByUnit.get(e.unit.offset);
          if (l) l.push(e);
          else this.fnByUnit.set(e.unit.offset, [e]);
        }
      }
    }
    const out: Array<{ lo: bigint; hi: bigint; name: string }> = [];
    for (const list of this.fnByUnit.values()) {
      for (const e of list) {
        if (!want(e)) continue;
        try {
          const d = this.reader.dieAt(e.die);
          if (!d) continue;
          for (const [lo, hi] of this.reader.dieRanges(d)) out.push({ lo, hi, name: e.name });
        } catch {
          /* skip a broken function */
        }
      }
    }
    out.sort((x, y) => (x.lo < y.lo ? -1 : x.lo > y.lo ? 1 : 0));
    return out;
  }

  /** file:line for a link-time code address. */
  sourceLocation(addr: bigint): { file: string; line: number; column?: number; function?: string } | undefined {
    const u = this.unitForAddress(addr);
    const units = u ? [u] : this.reader.units().filter((x) => !x.error && x.stmtList !== undefined);
    for (const unit of units) {
      const t = this.lineTable(unit);
      if (!t) continue;
      const row = lookupLine(t, addr);
      if (!row) continue;
      const file = fileName(t, row.file);
      if (!file) continue;
      return { file, line: row.line, column: row.column || undefined, function: this.functionAt(addr) };
    }
    return undefined;
  }
}

/** Innermost-first search of sorted [lo, hi) ranges for `addr`. */
function findRange(fr: Array<{ lo: bigint; hi: bigint; name: string }>, addr: bigint): string | undefined {
  const best = lastAtOrBefore(fr, addr, (r) => r.lo);
  for (let i = best; i >= 0 && i > best - 64; i--) if (addr >= fr[i].lo && addr < fr[i].hi) return fr[i].name;
  return undefined;
}

function safeSize(t: Type): number | undefined {
  try {
    let cur: Type = t;
    for (let i = 0; i < 32 && (cur.kind === 'typedef' || cur.kind === 'qualified'); i++) cur = cur.type;
    switch (cur.kind) {
      case 'int':
      case 'bool':
      case 'float':
      case 'pointer':
        return cur.size;
      case 'enum':
      case 'struct':
      case 'union':
        return cur.size;
      default:
        return undefined;
    }
  } catch {
    return undefined;
  }
}

export { DW_FORM };

function push<T>(m: Map<string, T[]>, k: string, v: T): void {
  const l = m.get(k);
  if (l) l.push(v);
  else m.set(k, [v]);
}
