/**
 * The symbols engine over every module of a live process (or of ELF files on disk).
 *
 *   const syms = await loadSymbols(pid, { debugDirs: ['/opt/dbg'], readMemory });
 *   syms.modules        // Module[]: main program first, then libraries by address
 *   syms.warnings       // missing/mismatched debug files, broken units: never fatal
 *   syms.findVariables('g_config', { file: 'globals.c' })   // SymbolLookup (provider.ts)
 *   syms.dwarfErrors()  // per-module DWARF problems met so far (broken units, bad types)
 *
 *   const offline = loadSymbolsFromFiles(['fixtures/build/O0-dwarf5-pie/globals']); // bias 0
 *
 * Related: typeName.ts (gdb's whatis/ptype spelling), tls.ts (thread-local addresses per
 * thread, libthread_db's method without ptrace).
 *
 * Cost model: opening reads each mapped ELF's headers; DWARF is opened and indexed on the first
 * query that needs it (one scan per module: variables and functions; type names by a second,
 * lighter pass on the first type lookup), and types are decoded only when a Type's properties
 * are read. A lookup skips modules whose symbol string tables cannot contain the name, so a
 * program global never pays for libc's DWARF. Files are read through /proc/PID/root/<path>
 * (the target's mount namespace) and, when that fails or is a different file (deleted
 * binaries, containers), through /proc/PID/map_files/<start>-<end>.
 *
 * Lookup order (gdb-like): the main program before libraries; in a module, globals before file
 * statics before function statics. A module without DWARF answers from .symtab/.dynsym (no
 * type, but a size). A variable that only has a DWARF declaration (extern) in one module takes
 * its address from the ELF symbol that defines it in another (e.g. `environ` in libc); a DWARF
 * global without DW_AT_location takes its ELF symbol's address (glibc aliases). Thread-locals
 * carry `tls` and, with `readMemory`, the main thread's address. Storage-less variables of a
 * function (`fn::x` for an optimized local or a folded static) are looked up on demand.
 */
import { mapFile as mapWholeFile } from '../linux/mapFile';
import { readFileSync, readlinkSync, statSync } from 'node:fs';
import { PidscopeError } from '../errors';
import { DEFAULT_DEBUG_DIRS, findDebugFile } from './debugFile';
import type { DwarfInfo, DwarfVariable, VarEntry } from './dwarf/info';
import { leBytes } from './dwarf/location';
import { canonicalBaseName } from './dwarf/typeBuilder';
import { ElfFile, PT_TLS, type ElfSymbol } from './elf/elf';
import { modulesOf, parseMaps, type MapRegion } from '../proc/maps';
import { computeBias, Module } from './module';
import type { FunctionSymbol, LookupScope, SourceLocation, SymbolizedAddress, SymbolLookup, VariableSymbol } from './provider';
import { threadLocalAddress, type ReadMemory } from './tls';
import type { Type } from './types';
import { VOID } from './types';

export { Module } from './module';
export type { ModuleInfo } from './module';

export interface LoadOptions {
  /** Extra directories searched for separate debug files, before /usr/lib/debug. */
  debugDirs?: string[];
  /** The target's memory map: the engine passes Target.maps() (checked against the pidfd); without it (tests, tools) it is read here. */
  regions?: MapRegion[];
  /**
   * Reads target memory (undefined when unreadable). With it, thread-local variables get the
   * main thread's address (gdb's default thread) instead of being absent; see tls.ts.
   */
  readMemory?: ReadMemory;
}

export interface ProcessSymbols extends SymbolLookup {
  /** The process (undefined for files loaded with loadSymbolsFromFiles). */
  readonly pid?: number;
  readonly modules: Module[];
  readonly warnings: string[];
  /** The module containing an absolute address. */
  moduleAt(address: bigint): Module | undefined;
  /** Errors met in DWARF so far (broken units, types), per module path; opens no DWARF. */
  dwarfErrors(): Array<{ module: string; errors: string[] }>;
}

/** /proc/PID/maps, with errors that say what to do. */
function readMaps(pid: number): MapRegion[] {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/maps`, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new PidscopeError('ESRCH', `No process with pid ${pid}`, 'Check the pid (ps, pgrep) and that the process is still running');
    if (code === 'EACCES' || code === 'EPERM')
      throw new PidscopeError(
        'EPERM',
        `Cannot read /proc/${pid}/maps (permission denied)`,
        'Run as the same user as the target (with ptrace permission) or with CAP_SYS_PTRACE',
      );
    throw new PidscopeError('EIO', `Cannot read /proc/${pid}/maps: ${(e as Error).message}`, '');
  }
  return parseMaps(text);
}

/** Loads the modules of a live process. Never stops it: reads /proc files only. */
export async function loadSymbols(pid: number, opts: LoadOptions = {}): Promise<ProcessSymbols> {
  const regions = opts.regions ?? readMaps(pid);
  const warnings: string[] = [];
  let exe: string | undefined;
  try {
    exe = readlinkSync(`/proc/${pid}/exe`).replace(/ \(deleted\)$/, '');
  } catch {
    /* kernel threads, permissions: the first mapping then counts as main */
  }
  const groups = modulesOf(regions).filter((m) => m.path.startsWith('/') && m.inode !== 0);
  const debugDirs = [...(opts.debugDirs ?? []), ...DEFAULT_DEBUG_DIRS];
  const open = (g: (typeof groups)[number], isMain: boolean): Module | undefined => {
    const first = g.regions.reduce((a, b) => (a.start < b.start ? a : b));
    const last = g.regions.reduce((a, b) => (a.end > b.end ? a : b));
    const rootPath = `/proc/${pid}/root${g.path}`;
    const mapFile = `/proc/${pid}/map_files/${first.start.toString(16)}-${first.end.toString(16)}`;
    const candidates: string[] = [];
    let sameFile = false;
    if (!g.deleted) {
      try {
        sameFile = statSync(rootPath).ino === g.inode;
      } catch {
        /* not reachable through the root */
      }
    }
    if (sameFile) candidates.push(rootPath, mapFile);
    else candidates.push(mapFile, rootPath);
    let elf: ElfFile | undefined;
    let readFrom = '';
    const errs: string[] = [];
    for (const c of candidates) {
      try {
        const buf = mapWholeFile(c) ?? readFileSync(c);
        if (buf.length < 4 || buf.readUInt32BE(0) !== 0x7f454c46) {
          elf = undefined;
          errs.push('not ELF');
          break;
        }
        elf = new ElfFile(buf, g.path);
        readFrom = c;
        break;
      } catch (e) {
        errs.push(`${c}: ${(e as Error).message}`);
      }
    }
    if (!elf) {
      if (!errs.includes('not ELF')) warnings.push(`${g.path}: cannot read (${errs.join('; ')}); its symbols are unknown`);
      return undefined;
    }
    const bias = computeBias(elf, g.regions);
    if (bias === undefined) {
      warnings.push(`${g.path}: no PT_LOAD matches its mappings; skipped`);
      return undefined;
    }
    const modWarnings: string[] = [];
    const dbg = findDebugFile(elf, sameFile || !g.deleted ? rootPath : readFrom, g.path, debugDirs, modWarnings);
    if (!dbg && isMain)
      modWarnings.push(
        `${g.path}: no debug info found (looked in the file, by build-id and .gnu_debuglink under ${debugDirs.join(', ')}); variables have no types`,
      );
    return new Module({
      path: g.path,
      readFrom,
      elf,
      debugElf: dbg?.elf,
      debugFile: dbg && dbg.how !== 'self' ? dbg.path : undefined,
      bias,
      start: first.start,
      end: last.end,
      isMain,
      warnings: modWarnings,
    });
  };
  const noModules = () =>
    new PidscopeError(
      'NO_MODULES',
      `No readable ELF file is mapped in process ${pid}`,
      'Check permissions on /proc/PID/map_files (needs the same user or CAP_SYS_ADMIN)',
    );
  // The main program now, the libraries on first need: most lookups are answered by the main
  // program (see findVariables), and each library costs its ELF headers, its debug file's and
  // its symbol tables (~6 ms of a warm `eval` with libc, libm and ld.so and their debug files).
  const mainGroup = exe !== undefined ? groups.find((g) => g.path === exe) : undefined;
  const main = mainGroup ? open(mainGroup, true) : undefined;
  if (main) {
    const others = groups.filter((g) => g !== mainGroup);
    const rest = () => linkMapOrder([main, ...others.flatMap((g) => open(g, false) ?? [])]);
    return new SymbolsImpl({ main, rest, spans: others.map((g) => loadedSpan(g.regions, regions)) }, warnings, pid, opts.readMemory);
  }
  const modules: Module[] = [];
  for (const g of groups) {
    if (g === mainGroup) continue; // tried above: unreadable (its warning is given)
    const m = open(g, exe !== undefined ? g.path === exe : modules.length === 0);
    if (m) modules.push(m);
  }
  if (modules.length === 0) throw noModules();
  return new SymbolsImpl(linkMapOrder(modules), warnings, pid, opts.readMemory);
}

/**
 * Where a module's loaded image can be, from the memory map alone: its file's mappings and the
 * anonymous mappings right after the last (.bss past the file's end). A module's PT_LOAD extent
 * lies inside; an address outside needs no look at the module's ELF file.
 */
function loadedSpan(own: readonly MapRegion[], all: readonly MapRegion[]): [bigint, bigint] {
  let lo = own[0].start;
  let hi = own[0].end;
  for (const r of own) {
    if (r.start < lo) lo = r.start;
    if (r.end > hi) hi = r.end;
  }
  for (const r of [...all].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0))) {
    if (r.start === hi && r.kind === 'anonymous') hi = r.end;
  }
  return [lo, hi];
}

/**
 * The dynamic linker's order (gdb searches objfiles in it): the main program, then its
 * DT_NEEDED libraries breadth-first, then anything else (dlopen'ed, the interpreter if nobody
 * named it) by address.
 */
function linkMapOrder(modules: Module[]): Module[] {
  const byAddress = [...modules].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  const main = byAddress.find((m) => m.isMain) ?? byAddress[0];
  if (!main) return byAddress;
  const byName = new Map<string, Module>();
  for (const m of byAddress) {
    const soname = safeDyn(m).soname;
    if (soname && !byName.has(soname)) byName.set(soname, m);
    if (!byName.has(m.basename)) byName.set(m.basename, m);
  }
  const out: Module[] = [main];
  const seen = new Set<Module>([main]);
  for (let i = 0; i < out.length && i < 10_000; i++) {
    for (const n of safeDyn(out[i]).needed) {
      const m = byName.get(n) ?? byName.get(n.slice(n.lastIndexOf('/') + 1));
      if (m && !seen.has(m)) {
        seen.add(m);
        out.push(m);
      }
    }
  }
  for (const m of byAddress) if (!seen.has(m)) out.push(m);
  return out;
}

function safeDyn(m: Module): { needed: string[]; soname?: string } {
  try {
    return m.elf.dynamicInfo();
  } catch {
    return { needed: [] };
  }
}

/** Symbols of ELF files on disk (bias 0), for tests and tools that have no live process. */
export function loadSymbolsFromFiles(paths: string[], opts: LoadOptions = {}): ProcessSymbols {
  const warnings: string[] = [];
  const debugDirs = [...(opts.debugDirs ?? []), ...DEFAULT_DEBUG_DIRS];
  const modules = paths.map((p, i) => {
    const elf = ElfFile.open(p);
    const w: string[] = [];
    const dbg = findDebugFile(elf, p, p, debugDirs, w);
    // Link-time extent of the PT_LOAD segments, so address lookups work at bias 0.
    const loads = elf.loadSegments();
    const start = loads.length ? loads.reduce((a, b) => (b.vaddr < a ? b.vaddr : a), loads[0].vaddr) : 0n;
    const end = loads.reduce((a, b) => (b.vaddr + b.memsz > a ? b.vaddr + b.memsz : a), 0n);
    return new Module({
      path: p,
      readFrom: p,
      elf,
      debugElf: dbg?.elf,
      debugFile: dbg && dbg.how !== 'self' ? dbg.path : undefined,
      bias: 0n,
      start,
      end,
      isMain: i === 0,
      warnings: w,
    });
  });
  return new SymbolsImpl(modules, warnings);
}

const SCOPE_RANK = { global: 0, 'file-static': 1, 'function-static': 2 } as const;

class SymbolsImpl implements ProcessSymbols {
  private allModules?: Module[];
  /** The main program, when the libraries are opened on first need. */
  private readonly main?: Module;
  private openRest?: () => Module[];
  /** Where the libraries not opened yet can be loaded (loadedSpan). */
  private readonly spans?: Array<[bigint, bigint]>;
  private readonly loadWarnings: string[];
  readonly pointerSize: number;
  private completing = new Set<string>();

  readonly pid?: number;
  private readonly readMemory?: ReadMemory;

  /** Every module (the main program first, then link-map order); the first use opens the libraries. */
  get modules(): Module[] {
    if (!this.allModules) {
      const all = this.openRest!();
      this.openRest = undefined;
      this.allModules = all;
      for (const m of all) if (m !== this.main) this.own(m);
    }
    return this.allModules;
  }

  constructor(
    modules: Module[] | { main: Module; rest: () => Module[]; spans: Array<[bigint, bigint]> },
    warnings: string[],
    pid?: number,
    readMemory?: ReadMemory,
  ) {
    this.pid = pid;
    this.readMemory = readMemory;
    if (Array.isArray(modules)) this.allModules = modules;
    else {
      this.main = modules.main;
      this.openRest = modules.rest;
      this.spans = modules.spans;
    }
    this.loadWarnings = warnings;
    this.pointerSize = (this.main ?? this.allModules?.[0])?.elf.addressSize ?? 8;
    for (const m of this.allModules ?? [this.main!]) this.own(m);
  }

  private own(m: Module): void {
    // Set before any DWARF is opened: a module's DWARF is read on its first lookup.
    m.completeType = (kind, name) => this.completeType(m, kind, name);
  }

  /** The main program's module, without opening the libraries. */
  private get mainModule(): Module | undefined {
    return this.main ?? this.modules.find((m) => m.isMain);
  }

  private completeType(from: Module, kind: 'struct' | 'union' | 'enum', name: string): Type | undefined {
    const key = `${kind} ${name}`;
    if (this.completing.has(key)) return undefined;
    this.completing.add(key);
    try {
      const defined = (m: Module): Type | undefined => {
        const d = m.dwarf;
        const def = d?.typeDefinition(key);
        return def !== undefined ? d!.types.typeAt(def) : undefined;
      };
      // The asking module first, before the others are even opened (see `modules`).
      const own = defined(from);
      if (own) return own;
      for (const m of this.modules) {
        if (m === from) continue;
        const t = defined(m);
        if (t) return t;
      }
      return undefined;
    } finally {
      this.completing.delete(key);
    }
  }

  private modulesFor(scope?: LookupScope): Module[] {
    if (!scope?.module) return this.modules;
    const want = scope.module;
    return this.modules.filter((m) => m.path === want || m.basename === want || m.path.endsWith('/' + want));
  }

  /**
   * Everything worth telling the user, never fatal: unreadable files, missing or mismatched debug
   * files (at load), then what lookups met later (broken DWARF units, bad types, line tables).
   */
  get warnings(): string[] {
    const out = [...this.loadWarnings];
    for (const m of this.modules) out.push(...m.warnings);
    for (const { module, errors } of this.dwarfErrors()) for (const e of errors) out.push(`${module}: DWARF: ${e}`);
    return [...new Set(out)];
  }

  moduleAt(address: bigint): Module | undefined {
    // The main program is first in `modules`: asking it first opens no library.
    if (this.main?.contains(address)) return this.main;
    if (!this.mayBeLibrary(address)) return undefined;
    return this.modules.find((m) => m.contains(address));
  }

  /**
   * The modules whose loaded image may contain `address`, in `modules` order, opening the
   * libraries only when the address is near one (value/symbolize.ts: heap and stack pointers
   * are near none).
   */
  modulesNear(address: bigint): Module[] {
    if (this.allModules) return this.allModules;
    return this.mayBeLibrary(address) ? this.modules : [this.main!];
  }

  private mayBeLibrary(address: bigint): boolean {
    return this.allModules !== undefined || !this.spans || this.spans.some(([lo, hi]) => address >= lo && address < hi);
  }

  dwarfErrors(): Array<{ module: string; errors: string[] }> {
    const out: Array<{ module: string; errors: string[] }> = [];
    // Only DWARF that lookups opened: asking for warnings right after attach (the DAP adapter
    // does) must not decompress and open every library's debug info.
    for (const m of this.modules) {
      const d = m.dwarfIfOpen;
      if (d && (d.errors.length || d.types.errors.length)) out.push({ module: m.path, errors: [...d.errors, ...d.types.errors] });
    }
    return out;
  }

  private toVariable(m: Module, e: VarEntry, dv: DwarfVariable): VariableSymbol {
    const v: VariableSymbol = {
      name: dv.name,
      type: dv.type,
      module: m.path,
      compileUnit: dv.compileUnit,
      scope: dv.scope,
    };
    if (dv.fn) v.function = dv.fn;
    // A getter in dv (the line table header is read on first use): passed on as one.
    if ('declFile' in dv) Object.defineProperty(v, 'declFile', { enumerable: true, configurable: true, get: () => dv.declFile });
    if (dv.declLine !== undefined) v.declLine = dv.declLine;
    const loc = dv.location;
    if (loc.kind === 'absent' && !dv.declaration && dv.scope !== 'function-static' && loc.reason === 'optimized out') {
      // No DW_AT_location but an ELF symbol of that name (aliases like glibc's `environ`):
      // gdb takes the address from the minimal symbol, so do we; but only a symbol of the
      // variable's own unit stands in (a global for a global; for a file-static, a local symbol
      // of the same source file): another unit's same-named static is another variable.
      const base = (f: string | undefined) => (f === undefined ? undefined : f.slice(f.lastIndexOf('/') + 1));
      const ownUnit = (x: ElfSymbol) =>
        dv.scope === 'global' ? x.binding !== 'local' : x.binding === 'local' && base(m.fileOfLocal(x)) === base(dv.compileUnit);
      const s = m.symbolsNamed(dv.name).find((x) => (x.type === 'object' || x.type === 'notype') && ownUnit(x));
      if (s) {
        v.address = s.value + m.bias;
        return v;
      }
    }
    if (loc.kind === 'address') {
      v.address = loc.address + m.bias;
      // Copy relocation: a library's exported data object that the executable references lives
      // in the executable's .bss (gdb's get_symbol_address does the same lookup).
      if (!m.isMain && dv.scope === 'global') {
        const main = this.modules.find((x) => x.isMain);
        const copy =
          main?.mayDefine(dv.name) === false
            ? undefined
            : main?.symbolsNamed(dv.name).find((x) => x.table === 'dynsym' && x.type === 'object' && (x.binding === 'global' || x.binding === 'weak'));
        if (main && copy) v.address = copy.value + main.bias;
      }
    } else if (loc.kind === 'value') {
      // A folded pointer (`DW_OP_addr X; DW_OP_stack_value`) is relocated like gdb does.
      v.constValue = loc.linkAddress !== undefined ? leBytes(loc.linkAddress + m.bias, loc.bytes.length) : loc.bytes;
      v.absentReason = 'optimized out: no address (value known)';
    } else {
      v.absentReason = loc.reason;
      if (loc.tlsOffset !== undefined) {
        const seg = m.elf.segments.find((p) => p.type === PT_TLS);
        if (seg) v.tls = { offset: loc.tlsOffset, module: m.path, blockSize: seg.memsz, blockAlign: seg.align };
        this.placeTls(v);
      }
    }
    void e;
    return v;
  }

  /** Gives a thread-local the main thread's address when memory can be read (gdb's default). */
  private placeTls(v: VariableSymbol): void {
    if (!v.tls || !this.readMemory || this.pid === undefined) return;
    try {
      const r = threadLocalAddress(this, v, this.readMemory, this.pid);
      if ('address' in r) {
        v.address = r.address;
        delete v.absentReason;
      } else v.absentReason = `thread-local: ${r.reason}`;
    } catch {
      /* keep it absent */
    }
  }

  private matchesScope(e: VarEntry, scope?: LookupScope): boolean {
    if (!scope) return true;
    if (scope.file) {
      const cu = e.unit.name ?? '';
      const base = cu.slice(cu.lastIndexOf('/') + 1);
      if (cu !== scope.file && base !== scope.file && !cu.endsWith('/' + scope.file)) return false;
    }
    if (scope.function && e.fn !== scope.function) return false;
    return true;
  }

  /**
   * gdb's visibility: without a function scope, statics of functions are not visible (gdb
   * finds them only as `fn::name` or from a frame inside the function), so a bare name never
   * resolves to one. Listings (allVariables) include them.
   */
  findVariables(name: string, scope?: LookupScope): VariableSymbol[] {
    const visible = (all: VariableSymbol[]) => (scope?.function ? all : all.filter((v) => v.scope !== 'function-static'));
    const main = this.mainModule;
    if (main && !scope?.module) {
      // The full list is sorted typed (DWARF) first, then by module with the main program
      // first: when the main program has a typed variable with an address, that one heads the
      // full list too, and every caller takes the head (or the first with an address). So the
      // libraries need not be opened or searched.
      const own = visible(this.lookupVariables(name, scope, [main]));
      if (own[0]?.type !== undefined && own[0].address !== undefined) return own;
    }
    return visible(this.lookupVariables(name, scope));
  }

  private lookupVariables(name: string, scope?: LookupScope, only?: Module[]): VariableSymbol[] {
    const out: VariableSymbol[] = [];
    const declarations: Array<{ m: Module; v: VariableSymbol }> = [];
    const order = only ?? this.modulesFor(scope);
    for (const m of order) {
      // Modules whose symbol tables do not know the name are not indexed for it (a lookup of a
      // program global must not pay for libc's DWARF). Storage-less variables have no symbol,
      // so function-scope lookups check the function's name instead.
      const probe = scope?.function ?? name;
      if (!m.isMain && m.mayDefine(probe) === false) continue;
      const d = m.dwarf;
      let found = false;
      if (d) {
        d.index();
        let entries = d.variablesNamed(name, scope?.function).filter((e) => this.matchesScope(e, scope));
        if (entries.length === 0 && scope?.function) entries = d.functionLocals(scope.function, name).filter((e) => this.matchesScope(e, scope));
        for (const v of this.definitions(m, d, name, entries)) {
          out.push(v);
          found = true;
        }
        if (!found && !scope?.function) {
          const decl = entries.find((e) => e.declaration);
          if (decl) {
            try {
              const dv = d.variable(decl);
              declarations.push({ m, v: this.toVariable(m, decl, dv) });
            } catch {
              /* ignore a broken declaration */
            }
          }
        }
      }
      if (!found && !scope?.function && !scope?.file) {
        for (const s of m.symbolsNamed(name)) {
          if (s.type !== 'object' && s.type !== 'tls' && s.type !== 'common' && s.type !== 'notype') continue;
          if (s.type === 'notype' && s.size === 0) continue;
          out.push(this.elfVariable(m, s));
          found = true;
          break;
        }
      }
    }
    // Only the main program was asked (findVariables' shortcut): a declaration there is completed
    // from the other modules, so say nothing and let the caller ask them all.
    if (only && declarations.length) return [];
    // A declaration's type + another module's ELF definition (e.g. extern `environ`).
    for (const { m, v } of declarations) {
      const typed = out.findIndex((x) => x.type === undefined && x.address !== undefined);
      if (typed >= 0) {
        out[typed] = { ...out[typed], type: v.type, declFile: v.declFile, declLine: v.declLine };
      } else {
        const s = this.modules.flatMap((mm) => mm.symbolsNamed(name).map((sym) => ({ mm, sym }))).find((x) => x.sym.type === 'object');
        if (s) out.push({ ...v, address: s.sym.value + s.mm.bias, absentReason: undefined, module: s.mm.path, size: s.sym.size });
        else out.push(v);
      }
      void m;
    }
    // gdb looks for full (DWARF) symbols in every objfile before minimal (ELF) ones; among
    // minimal symbols (lookup_minimal_symbol) external ones win in objfile order, and of
    // file-local ones the last objfile's wins.
    out.sort((a, b) => {
      const ta = a.type === undefined ? 1 : 0;
      const tb = b.type === undefined ? 1 : 0;
      if (ta !== tb) return ta - tb;
      const ranks = only ?? this.modules;
      const ma = ranks.findIndex((m) => m.path === a.module);
      const mb = ranks.findIndex((m) => m.path === b.module);
      if (ta === 1) {
        const la = a.scope === 'global' ? 0 : 1;
        const lb = b.scope === 'global' ? 0 : 1;
        if (la !== lb) return la - lb;
        if (ma !== mb) return la === 0 ? ma - mb : mb - ma;
      }
      if (ma !== mb) return ma - mb;
      return SCOPE_RANK[a.scope] - SCOPE_RANK[b.scope];
    });
    return out;
  }

  /**
   * The variables that DWARF entries `entries` (all named `name`, in module `m`) define: one per
   * object (a static and its alias DIE give the same address once; an optimized-out duplicate of
   * an object that has an address is dropped). Declarations are skipped.
   */
  private definitions(m: Module, d: DwarfInfo, name: string, entries: VarEntry[]): VariableSymbol[] {
    const local: VariableSymbol[] = [];
    let seen: Set<string> | undefined;
    for (const e of entries) {
      if (e.declaration) continue;
      let dv: DwarfVariable;
      try {
        dv = d.variable(e);
      } catch (err) {
        m.warnings.push(`${m.path}: variable ${name}: ${(err as Error).message}`);
        continue;
      }
      const v = this.toVariable(m, e, dv);
      // A static and its alias DIE (abstract + concrete) give the same address once.
      if (entries.length > 1) {
        const key = `${v.address ?? ''}|${v.compileUnit}|${v.function ?? ''}|${v.absentReason ?? ''}`;
        seen ??= new Set();
        if (v.address !== undefined && seen.has(key)) continue;
        seen.add(key);
      }
      local.push(v);
    }
    if (local.length < 2) return local;
    // Prefer entries with an address over optimized-out duplicates of the same object.
    const withAddr = new Set(local.filter((v) => v.address !== undefined).map((v) => `${v.compileUnit}|${v.function ?? ''}`));
    return local.filter((v) => !(v.address === undefined && !v.constValue && withAddr.has(`${v.compileUnit}|${v.function ?? ''}`)));
  }

  private elfVariable(m: Module, s: ElfSymbol): VariableSymbol {
    const v: VariableSymbol = {
      name: s.name,
      module: m.path,
      size: s.size,
      scope: s.binding === 'local' ? 'file-static' : 'global',
    };
    if (s.type === 'tls') {
      v.absentReason = 'thread-local: needs the thread pointer';
      const seg = m.elf.segments.find((p) => p.type === PT_TLS);
      if (seg) v.tls = { offset: s.value, module: m.path, blockSize: seg.memsz, blockAlign: seg.align };
      this.placeTls(v);
    } else v.address = s.value + m.bias;
    return v;
  }

  findFunctions(name: string, scope?: LookupScope): FunctionSymbol[] {
    const out: FunctionSymbol[] = [];
    for (const m of this.modulesFor(scope)) {
      if (!m.isMain && m.mayDefine(name) === false) continue;
      const d = m.dwarf;
      let found = false;
      if (d) {
        d.index();
        for (const e of d.functionsNamed(name)) {
          if (e.declaration) continue;
          if (scope?.file) {
            const cu = e.unit.name ?? '';
            if (cu !== scope.file && !cu.endsWith('/' + scope.file)) continue;
          }
          try {
            const f = d.functionInfo(e);
            if (f.ranges.length === 0) continue;
            const [lo, hi] = f.ranges.reduce((a, b) => (b[0] < a[0] ? b : a));
            out.push({ name, address: lo + m.bias, size: Number(hi - lo), type: f.type, module: m.path });
            found = true;
          } catch (err) {
            m.warnings.push(`${m.path}: function ${name}: ${(err as Error).message}`);
          }
        }
      }
      if (!found && !scope?.file) {
        const s = m.symbolsNamed(name).find((x) => x.type === 'func' || x.type === 'ifunc');
        if (s) {
          const f: FunctionSymbol = { name, address: s.value + m.bias, size: s.size, module: m.path };
          // An alias (glibc's malloc → __libc_malloc): the DWARF function at that address gives the type.
          if (d) {
            try {
              const real = d.functionAt(s.value);
              const e = real !== undefined ? d.functionsNamed(real).find((x) => !x.declaration) : undefined;
              if (e) f.type = d.functionInfo(e).type;
            } catch {
              /* no type then */
            }
          }
          out.push(f);
        }
      }
    }
    return out;
  }

  findType(name: string, scope?: LookupScope): Type | undefined {
    const key = normalizeTypeName(name);
    if (key === 'void') return VOID;
    const mods = this.modulesFor(scope);
    for (const m of mods) {
      const d = m.dwarf;
      if (!d) continue;
      const prefer = scope?.file ? (u: { name?: string }) => !!u.name && (u.name === scope.file || u.name.endsWith('/' + scope.file)) : undefined;
      const t = d.findType(key, prefer);
      if (t) return t;
    }
    // Base types the DWARF lacks are the language's business (lang/): the evaluator asks it.
    return undefined;
  }

  /**
   * DW_AT_language of the main program's unit that defines `main` (gdb's language at start-up),
   * else of its first unit that names one; undefined without DWARF.
   */
  mainLanguage(): number | undefined {
    const d = this.mainModule?.dwarf;
    if (!d) return undefined;
    try {
      d.index();
      const main = d.functionsNamed('main').find((e) => !e.declaration);
      if (main?.unit.language !== undefined) return main.unit.language;
      return d.reader.units().find((u) => u.language !== undefined)?.language;
    } catch {
      return undefined;
    }
  }

  symbolize(address: bigint): SymbolizedAddress | undefined {
    const m = this.moduleAt(address) ?? this.modulesNear(address).find((x) => x.symbolize(address));
    if (!m) return undefined;
    const r = m.symbolize(address);
    return r ? { symbol: r.symbol.name, offset: r.offset, module: m.path } : undefined;
  }

  sourceLocation(address: bigint): SourceLocation | undefined {
    const m = this.moduleAt(address);
    const d = m?.dwarf;
    if (!m || !d) return undefined;
    try {
      return d.sourceLocation(address - m.bias);
    } catch (e) {
      m.warnings.push(`${m.path}: line table: ${(e as Error).message}`);
      return undefined;
    }
  }

  modulePaths(): string[] {
    return this.modules.map((m) => m.path);
  }

  *allVariables(module?: string): Iterable<VariableSymbol> {
    for (const m of this.modules) {
      if (module !== undefined && m.path !== module) continue;
      const d = m.dwarf;
      if (d) {
        d.index();
        for (const [name, list] of d.variables) {
          if (!list.some((e) => !e.declaration && !e.constOnly)) continue;
          // What lookupVariables(name, { module: m.path }) finds in m, without looking the name
          // up again (the listing already holds its entries): the DWARF definitions, in gdb's
          // scope order. A name none of whose definitions can be read takes the full lookup
          // (declarations, the ELF symbol).
          if (!m.isMain && m.mayDefine(name) === false) continue;
          const defs = this.definitions(m, d, name, list);
          if (defs.length === 0) {
            for (const v of this.lookupVariables(name, { module: m.path })) if (v.module === m.path) yield v;
            continue;
          }
          if (defs.length > 1) defs.sort((a, b) => SCOPE_RANK[a.scope] - SCOPE_RANK[b.scope]);
          yield* defs;
        }
      } else if (m.isMain) {
        for (const s of m.symbols()) {
          if (s.shndx === 0 || s.name === '' || (s.type !== 'object' && s.type !== 'tls')) continue;
          yield this.elfVariable(m, s);
        }
      }
    }
  }
}

/** Canonical spelling of a type name for lookup ('unsigned' → 'unsigned int', 'long int' → 'long'). */
export function normalizeTypeName(name: string): string {
  const n = name.trim().replace(/\s+/g, ' ');
  const m = /^(struct|union|enum) (.+)$/.exec(n);
  if (m) return `${m[1]} ${m[2].trim()}`;
  return canonicalBaseName(n);
}
