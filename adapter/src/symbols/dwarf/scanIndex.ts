/**
 * The name index a cold scan built (scan.ts), kept as records: entries become VarEntry/FnEntry
 * objects only when asked for (one name for a lookup, all of them for a listing), and the
 * persistent index is encoded from the records (indexCache/codec.ts) without them. A cold
 * `eval` on a big program then makes a handful of entry objects instead of ~30,000.
 *
 * Order is that of one scan of all units in turn (what the maps were filled in before): per
 * name, the entries named directly in DIE order, then those named through DW_AT_specification /
 * abstract_origin; names in the order they first appear.
 */
import type { FnEntry, VarEntry } from './info';
import type { Unit } from './reader';
import { FF_DECL, FF_EXTERNAL, FN_WORDS, VAR_WORDS, VF_CONST, VF_DECL, VF_ORIGIN_EXTERNAL, type ScanResult } from './scan';

const SCOPES: Array<VarEntry['scope']> = ['global', 'file-static', 'function-static'];
/** Words per resolved record of a variable named through another DIE: name id, die, unit index, fn id, flags. */
const PV = 5;
const PF = 4;

/** What the records need from DwarfInfo to name entries through another DIE. */
export interface ScanNaming {
  /** DW_AT_name of the DIE at `off`, following specification/abstract_origin. */
  nameOf(off: number): string | undefined;
  /** `ns::Class::` of the DIE at `off` ('' at unit level, always in C). */
  scopePrefixOf(off: number): string;
  /** Whether the DIE at `off` has the attribute. */
  hasAttr(off: number, at: number): boolean;
}

export class ScannedIndex {
  readonly strings: string[];
  private readonly ids: Map<string, number>;
  /** Each scan's direct records, with their name and fn ids made global. */
  private readonly chunks: Array<{ vars: number[]; fns: number[] }> = [];
  /** Entries named through another DIE, resolved (name ids), after all direct ones. */
  private readonly pv: number[] = [];
  private readonly pf: number[] = [];
  readonly varCount: number;
  readonly fnCount: number;

  constructor(
    private readonly units: Unit[],
    results: ScanResult[],
    private readonly naming: ScanNaming,
  ) {
    // One string table for all results (a single result keeps its own).
    if (results.length === 1 && results[0].ids) {
      this.strings = results[0].strings;
      this.ids = results[0].ids;
    } else {
      this.strings = [];
      this.ids = new Map();
    }
    let nv = 0;
    let nf = 0;
    const DW_AT_external = 0x3f;
    for (const res of results) {
      let { vars, fns } = res;
      let pendingVars = res.pendingVars;
      if (res.strings !== this.strings) {
        // Another thread's ids: rewrite them to this table's.
        const map = res.strings.map((x) => this.idOf(x));
        const g = (id: number) => (id < 0 ? id : map[id]);
        vars = vars.slice();
        for (let j = 0; j < vars.length; j += VAR_WORDS) {
          vars[j] = map[vars[j]];
          vars[j + 3] = g(vars[j + 3]);
        }
        fns = fns.slice();
        for (let j = 0; j < fns.length; j += FN_WORDS) fns[j] = map[fns[j]];
        pendingVars = pendingVars.slice();
        for (let j = 0; j < pendingVars.length; j += VAR_WORDS) pendingVars[j + 3] = g(pendingVars[j + 3]);
      }
      this.chunks.push({ vars, fns });
      nv += vars.length / VAR_WORDS;
      nf += fns.length / FN_WORDS;
      for (let j = 0; j < pendingVars.length; j += VAR_WORDS) {
        const origin = pendingVars[j];
        const name = naming.nameOf(origin);
        if (!name) continue;
        let flags = pendingVars[j + 5];
        // The definition refers to a declaration: its scope (external) lives there.
        if (flags & VF_ORIGIN_EXTERNAL) {
          flags &= ~VF_ORIGIN_EXTERNAL;
          if (naming.hasAttr(origin, DW_AT_external)) flags &= ~3; // 'global'
        }
        // C++: a definition outside its class or namespace (`int Widget::count = 3;`) is named
        // by where its declaration sits.
        const id = this.idOf(naming.scopePrefixOf(origin) + name);
        this.pv.push(id, pendingVars[j + 1], pendingVars[j + 2], this.fnId(pendingVars[j + 3], pendingVars[j + 4]), flags);
      }
      const pendingFns = res.pendingFns;
      for (let j = 0; j < pendingFns.length; j += FN_WORDS) {
        const name = naming.nameOf(pendingFns[j]);
        if (!name) continue;
        this.pf.push(this.idOf(name), pendingFns[j + 1], pendingFns[j + 2], pendingFns[j + 3]);
      }
    }
    this.varCount = nv + this.pv.length / PV;
    this.fnCount = nf + this.pf.length / PF;
  }

  private idOf(s: string): number {
    let id = this.ids.get(s);
    if (id === undefined) {
      id = this.strings.length;
      this.strings.push(s);
      this.ids.set(s, id);
    }
    return id;
  }

  /** A function static's function: its name, else (none or '') the name of its origin DIE. */
  private fnId(fn: number, fnOrigin: number): number {
    if (fnOrigin < 0 || (fn >= 0 && this.strings[fn] !== '')) return fn;
    const n = this.naming.nameOf(fnOrigin);
    return n === undefined ? -1 : this.idOf(n);
  }

  /**
   * Each variable entry in map order of entries: per name, direct ones in DIE order, then those
   * named through another DIE. (Grouped by name only by whoever builds a map.)
   */
  eachVar(f: (name: number, die: number, unitStart: number, fn: number, flags: number) => void): void {
    const units = this.units;
    for (const { vars } of this.chunks) {
      for (let j = 0; j < vars.length; j += VAR_WORDS) f(vars[j], vars[j + 1], units[vars[j + 2]].offset, this.fnId(vars[j + 3], vars[j + 4]), vars[j + 5]);
    }
    const pv = this.pv;
    for (let j = 0; j < pv.length; j += PV) f(pv[j], pv[j + 1], units[pv[j + 2]].offset, pv[j + 3], pv[j + 4]);
  }

  /** Each function entry (see eachVar). */
  eachFn(f: (name: number, die: number, unitStart: number, flags: number) => void): void {
    const units = this.units;
    for (const { fns } of this.chunks) {
      for (let j = 0; j < fns.length; j += FN_WORDS) f(fns[j], fns[j + 1], units[fns[j + 2]].offset, fns[j + 3]);
    }
    const pf = this.pf;
    for (let j = 0; j < pf.length; j += PF) f(pf[j], pf[j + 1], units[pf[j + 2]].offset, pf[j + 3]);
  }

  /**
   * Every entry as an object, in map order, with whether it was named through another DIE
   * (DW_AT_specification / abstract_origin): a compiler index merging per-unit scans puts those
   * after the direct ones, as one full scan does (compilerIndex.ts).
   */
  eachEntry(v: (e: VarEntry, named: boolean) => void, f: (e: FnEntry, named: boolean) => void): void {
    this.forVars(-1, v);
    this.forFns(-1, f);
  }

  private forVars(only: number, f: (e: VarEntry, named: boolean) => void): void {
    const units = this.units;
    const make = (name: number, die: number, ui: number, fn: number, flags: number): VarEntry => {
      const e: VarEntry = {
        name: this.strings[name],
        die,
        unit: units[ui],
        scope: SCOPES[flags & 3],
        fn: fn >= 0 ? this.strings[fn] : undefined,
        declaration: (flags & VF_DECL) !== 0,
      };
      if (flags & VF_CONST) e.constOnly = true;
      return e;
    };
    for (const { vars } of this.chunks) {
      for (let j = 0; j < vars.length; j += VAR_WORDS) {
        if (only < 0 || vars[j] === only) f(make(vars[j], vars[j + 1], vars[j + 2], this.fnId(vars[j + 3], vars[j + 4]), vars[j + 5]), false);
      }
    }
    const pv = this.pv;
    for (let j = 0; j < pv.length; j += PV) if (only < 0 || pv[j] === only) f(make(pv[j], pv[j + 1], pv[j + 2], pv[j + 3], pv[j + 4]), true);
  }

  private forFns(only: number, f: (e: FnEntry, named: boolean) => void): void {
    const units = this.units;
    const make = (name: number, die: number, ui: number, flags: number): FnEntry => ({
      name: this.strings[name],
      die,
      unit: units[ui],
      external: (flags & FF_EXTERNAL) !== 0,
      declaration: (flags & FF_DECL) !== 0,
    });
    for (const { fns } of this.chunks) {
      for (let j = 0; j < fns.length; j += FN_WORDS) if (only < 0 || fns[j] === only) f(make(fns[j], fns[j + 1], fns[j + 2], fns[j + 3]), false);
    }
    const pf = this.pf;
    for (let j = 0; j < pf.length; j += PF) if (only < 0 || pf[j] === only) f(make(pf[j], pf[j + 1], pf[j + 2], pf[j + 3]), true);
  }

  variablesNamed(name: string): VarEntry[] {
    const out: VarEntry[] = [];
    const id = this.ids.get(name);
    if (id !== undefined) this.forVars(id, (e) => out.push(e));
    return out;
  }

  functionsNamed(name: string): FnEntry[] {
    const out: FnEntry[] = [];
    const id = this.ids.get(name);
    if (id !== undefined) this.forFns(id, (e) => out.push(e));
    return out;
  }

  variables(): Map<string, VarEntry[]> {
    const m = new Map<string, VarEntry[]>();
    this.forVars(-1, (e) => {
      const l = m.get(e.name);
      if (l) l.push(e);
      else m.set(e.name, [e]);
    });
    return m;
  }

  functions(): Map<string, FnEntry[]> {
    const m = new Map<string, FnEntry[]>();
    this.forFns(-1, (e) => {
      const l = m.get(e.name);
      if (l) l.push(e);
      else m.set(e.name, [e]);
    });
    return m;
  }
}
