/**
 * Program = Target + MemoryReader + SymbolLookup + the C language layer. The one object the
 * front ends (CLI, DAP) and the watchpoints talk to; it has no DAP types and no argv parsing.
 *
 *   const p = await Program.open(pid, { backend: 'vm-readv' });
 *   const obj = p.evaluate('config.workers[2].queue->len');   // TargetObject (lazy reference)
 *   p.formatValue(obj);                                        // exactly gdb's `print` text
 *   p.children(obj, 0, 100);                                   // DAP variables, lazily
 *   p.close();
 *
 * Errors are PidscopeError: code 'EFAULT' for unreadable memory (message is gdb's `Cannot access
 * memory at address 0x…`), 'NO_SYMBOL', 'SYNTAX' (with `column`), 'EVAL' for other evaluation
 * errors; `causeText` is gdb's wording, `fix` says where (column) or what to do.
 *
 * Formatting follows gdb's default settings and the locale's charset (LC_ALL/LC_CTYPE/LANG, as
 * gdb does); pass `{ charset: 'ascii' | 'utf-8' }` to pin it. Thread-locals get the main thread's
 * address (gdb's default thread) through the symbols engine, without ptrace. See
 * adapter/src/value/README.md for the gdb rules implemented and what is not.
 */
import type { BackendKind, MemoryReader } from '../memory/reader';
import type { LookupScope, SymbolLookup, VariableSymbol } from '../symbols/provider';
import { sizeOf, type Type } from '../symbols/types';
import { addressOf, ByteSource, type TargetObject, type ValueContext } from '../value/object';
import { formatTop, type FormatOptions } from '../value/format';
import { toJson, type JsonOptions, type JsonValue } from '../value/json';
import { childCount, children, type Child } from '../value/children';
import { castObject, evaluateExpression, objectForVariable } from '../eval/evaluate';
import { languageForDwarf, type Language } from '../lang';
import type { Target } from './target';

export interface ProgramOptions {
  /** Memory backend; default: the best available (pidfd-mem, else vm-readv, else proc-mem). */
  backend?: BackendKind;
  /** Allow writes to target memory (off by default). */
  allowWrites?: boolean;
  /** Extra directories searched for separate debug files (besides /usr/lib/debug). */
  debugDirs?: string[];
  /** Language of expressions and printed values (gdb's `set language`); default: the main unit's. */
  language?: Language;
  /** Told each slow step as it starts ("choosing a memory backend", "reading the symbol tables of …"). */
  progress?: (message: string) => void;
}

export interface EvaluateOptions {
  /** Default scope for unqualified names (e.g. a compile unit picked in the UI). */
  scope?: LookupScope;
}

export interface GlobalsUnit {
  /** Compile unit name, or '' when unknown (no DWARF: ELF symbols only). */
  name: string;
  variables: VariableSymbol[];
}

export interface GlobalsModule {
  /** Module path as mapped in the target. */
  module: string;
  units: GlobalsUnit[];
}

export interface ProgramParts {
  pid: number;
  memory: MemoryReader;
  symbols: SymbolLookup;
  /** Called by close() for whatever else the parts hold (target handles, pidfds). */
  onClose?: () => void;
  /** The live process (absent for hand-built programs in unit tests). */
  target?: Target;
  backendReasons?: string[];
  /** See ProgramOptions.language. */
  language?: Language;
}

export class Program {
  readonly pid: number;
  readonly memory: MemoryReader;
  readonly symbols: SymbolLookup;
  /** The live process; undefined only for hand-built programs (unit tests). */
  readonly target?: Target;
  readonly backendReasons: string[];
  private readonly onClose?: () => void;
  private closed = false;
  private chosenLanguage?: Language;

  constructor(parts: ProgramParts) {
    this.pid = parts.pid;
    this.memory = parts.memory;
    this.symbols = parts.symbols;
    this.onClose = parts.onClose;
    this.target = parts.target;
    this.backendReasons = parts.backendReasons ?? [];
    this.chosenLanguage = parts.language;
  }

  /** The language expressions are parsed and values printed in (main unit's DW_AT_language unless chosen). */
  get language(): Language {
    this.chosenLanguage ??= languageForDwarf(this.symbols.mainLanguage?.());
    return this.chosenLanguage;
  }

  set language(lang: Language) {
    this.chosenLanguage = lang;
  }

  /** Attaches (without stopping) to a live process: pidfd, memory backend, modules and symbols. */
  static async open(pid: number, opts: ProgramOptions = {}): Promise<Program> {
    const { openProgramParts } = await import('./openParts');
    return new Program({ ...(await openProgramParts(pid, opts)), language: opts.language });
  }

  get context(): ValueContext {
    return { memory: this.memory, symbols: this.symbols, pointerSize: this.symbols.pointerSize, language: this.language };
  }

  /** Parses and evaluates a C expression. Throws PidscopeError (syntax, unknown name, memory). */
  evaluate(expression: string, opts: EvaluateOptions = {}): TargetObject {
    return evaluateExpression(this.context, expression, opts.scope);
  }

  /** Text as gdb's `print` shows it (without `$1 = `). Throws for a top-level unreadable value. */
  formatValue(obj: TargetObject, opts: Partial<FormatOptions> = {}): string {
    return formatTop(this.context, obj, opts);
  }

  /** evaluate + formatValue. */
  print(expression: string, opts: EvaluateOptions & Partial<FormatOptions> = {}): string {
    return this.formatValue(this.evaluate(expression, opts), opts);
  }

  /** Structured form for --json and tools: type, address, value or children, errors inline. */
  toJson(obj: TargetObject, opts: JsonOptions = {}): JsonValue {
    return toJson(this.context, obj, opts);
  }

  /**
   * Children for lazy expansion: struct/union members, array elements (only [start, start+count)
   * are touched), the pointee of a pointer to a struct/union (its members). evaluateName is an
   * expression that re-evaluates to the child when `parentExpression` is given.
   */
  children(obj: TargetObject, start = 0, count?: number, parentExpression?: string): Child[] {
    return children(this.context, obj, start, count, parentExpression);
  }

  childCount(obj: TargetObject): number {
    return childCount(this.context, obj);
  }

  /** gdb's `whatis` spelling of the object's type, e.g. `struct node *`, `int (*)(int)`. */
  typeName(obj: TargetObject | Type): string {
    if ('kind' in obj && (obj.kind === 'value' || obj.kind === 'reference' || obj.kind === 'absent')) {
      return obj.type ? this.language.typeName(obj.type) : '<unknown type>';
    }
    return this.language.typeName(obj as Type);
  }

  /** `(type) obj` with the language's conversion rules (what assignment stores). */
  cast(type: Type, obj: TargetObject): TargetObject {
    return castObject(this.context, type, obj);
  }

  /** Address of an lvalue (DAP memoryReference), undefined for rvalues and bit fields. */
  address(obj: TargetObject): bigint | undefined {
    return addressOf(obj);
  }

  /** Size in bytes of the object's type, if known. */
  sizeOf(obj: TargetObject): number | undefined {
    return obj.type ? sizeOf(obj.type) : undefined;
  }

  /** The object for one global (a reference, or absent with the reason). */
  objectFor(v: VariableSymbol): TargetObject {
    return objectForVariable(v, this.symbols.pointerSize);
  }

  /** Variables with static storage whose name contains `filter` (all when undefined). */
  globals(filter?: string): VariableSymbol[] {
    const out: VariableSymbol[] = [];
    for (const v of this.symbols.allVariables()) if (!filter || v.name.includes(filter)) out.push(v);
    return out;
  }

  /** globals() grouped by module, then compile unit, in discovery order. */
  globalsTree(filter?: string, opts: { firstModuleOnly?: boolean } = {}): GlobalsModule[] {
    const mods = new Map<string, Map<string, VariableSymbol[]>>();
    // Module by module, so that the first module with a match ends the walk before any other
    // module's DWARF is opened (`globals` must not pay for libc).
    const paths = opts.firstModuleOnly ? this.symbols.modulePaths?.() : undefined;
    const walk = paths ? paths.map((p) => this.symbols.allVariables(p)) : [this.symbols.allVariables()];
    for (const vars of walk) {
      if (paths && mods.size) break;
      for (const v of vars) {
        if (filter && !v.name.includes(filter)) continue;
        if (opts.firstModuleOnly && mods.size && !mods.has(v.module)) break;
        let units = mods.get(v.module);
        if (!units) mods.set(v.module, (units = new Map()));
        const cu = v.compileUnit ?? '';
        let list = units.get(cu);
        if (!list) units.set(cu, (list = []));
        list.push(v);
      }
    }
    return [...mods].map(([module, units]) => ({ module, units: [...units].map(([name, variables]) => ({ name, variables })) }));
  }

  /** A fresh read cache; values printed with one source see one consistent-ish snapshot per block. */
  byteSource(): ByteSource {
    return new ByteSource(this.memory);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.memory.close();
    } finally {
      this.onClose?.();
    }
  }
}
