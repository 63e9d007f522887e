import type { FunctionType, Type } from './types';

/**
 * What the evaluator, the formatter, the DAP session and the watchpoints need from the symbols
 * engine, whatever reads the ELF and DWARF behind it. Addresses are absolute (load bias applied).
 */
export interface VariableSymbol {
  name: string;
  /** Undefined when the module has no debug info (stripped): then only `size` is known. */
  type?: Type;
  /** Absolute address; undefined when the object has no fixed address (see absentReason). */
  address?: bigint;
  /** Why there is no address, e.g. 'thread-local storage: needs a thread pointer'. */
  absentReason?: string;
  /** Size in bytes from the ELF symbol (used when type is unknown). */
  size?: number;
  /**
   * The value itself when the compiler kept no storage but knows the value (DW_AT_const_value,
   * DW_OP_stack_value, DW_OP_implicit_value): little-endian bytes of the type's size. Then
   * `address` is undefined and gdb prints the value (not `<optimized out>`).
   */
  constValue?: Uint8Array;
  /**
   * For thread-locals (absent: the address needs the thread pointer): where the variable lives
   * in its module's TLS block, so a caller that knows a thread's TLS block address (DTV entry,
   * or thread pointer minus the module's static TLS offset) can compute it.
   */
  tls?: { offset: bigint; module: string; blockSize: bigint; blockAlign: bigint };
  /** Path of the module (ELF file) that defines it, as mapped in the target. */
  module: string;
  /** Compile unit name (DW_AT_name of the unit), when known. */
  compileUnit?: string;
  scope: 'global' | 'file-static' | 'function-static';
  /** For function statics: the function they belong to. */
  function?: string;
  declFile?: string;
  declLine?: number;
}

export interface FunctionSymbol {
  name: string;
  address: bigint;
  size?: number;
  type?: FunctionType;
  module: string;
}

export interface SymbolizedAddress {
  /** The ELF symbol (function or object) containing the address. */
  symbol: string;
  offset: bigint;
  module: string;
}

export interface SourceLocation {
  file: string;
  line: number;
  column?: number;
  function?: string;
}

export interface LookupScope {
  /** Compile unit (source file) name or basename, as in gdb's 'file.c'::name. */
  file?: string;
  /** Module path or basename, e.g. 'libc.so.6'. */
  module?: string;
  /** For function statics: 'function'::name. */
  function?: string;
}

export interface SymbolLookup {
  readonly pointerSize: number;
  /** Every match, most specific first (main program before libraries, globals before statics). */
  findVariables(name: string, scope?: LookupScope): VariableSymbol[];
  findFunctions(name: string, scope?: LookupScope): FunctionSymbol[];
  /** A named type: 'struct node', 'union u', 'enum color', a typedef or a base type name. */
  findType(name: string, scope?: LookupScope): Type | undefined;
  /** Nearest ELF symbol at or below the address within its size (gdb's <sym+off>). */
  symbolize(address: bigint): SymbolizedAddress | undefined;
  /** Line-table lookup for a code address (watchpoint writers). */
  sourceLocation(address: bigint): SourceLocation | undefined;
  /**
   * All variables with static storage, for globals listings and the DAP scopes; with `module`
   * (a module path), only that module's, and no other module's DWARF is opened.
   */
  allVariables(module?: string): Iterable<VariableSymbol>;
  /** Module paths in lookup order (main program first), when the provider has modules. */
  modulePaths?(): string[];
  /** DW_AT_language of the main program's main unit (gdb's start-up language), when known. */
  mainLanguage?(): number | undefined;
}
