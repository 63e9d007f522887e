/**
 * Evaluates parsed C expressions over TargetObjects with gdb's semantics (eval.c, valarith.c,
 * valops.c): C integer promotions and usual arithmetic conversions as gdb's binop_promote does
 * them, pointer arithmetic, arrays decaying to pointers, `.` working through pointers, casts,
 * `sizeof` (type int, as in gdb), `@` artificial arrays, gdb's `{type} addr`, and gdb's error
 * wording. Nothing here writes to the target or calls functions in it.
 */
import { PidscopeError } from '../errors';
import type { LookupScope, SymbolLookup, VariableSymbol } from '../symbols/provider';
import {
  resolve,
  sizeOf,
  type ArrayType,
  type CompoundType,
  type EnumType,
  type FunctionType,
  type Member,
  type Qualifiers,
  type Type,
} from '../symbols/types';
import { floatFormatFor } from '../value/float';
import {
  addExact,
  compareExact,
  divExact,
  encodeExact,
  exactFromBigint,
  exactFromBytes,
  exactToLongest,
  isZeroExact,
  mulExact,
  subExact,
  type Exact,
} from '../value/softfloat';
import {
  bigintToBytes,
  ByteSource,
  bytesToBigint,
  extractBits,
  makeAbsent,
  makeReference,
  makeValue,
  type ReferenceObject,
  type TargetObject,
  type ValueContext,
  type ValueObject,
} from '../value/object';
import { fetchWhole, isSigned } from '../value/format';
import { NODEBUG_DATA, NODEBUG_TEXT } from '../value/nodebug';
import { languageOf, type Language } from '../lang';
import { demangle } from '../lang/cpp/demangle';
import { pointerTo } from '../lang/c/builtins';
import { parseExpression, type Declarator, type Node, type TypeAst } from './parser';

export function evalError(message: string, code = 'EVAL', pos?: number, expr?: string): PidscopeError {
  const where = pos !== undefined && expr !== undefined ? `(at column ${pos + 1} of \`${expr}')` : '';
  const e = new PidscopeError(code, message, where, 'user');
  if (pos !== undefined) (e as PidscopeError & { column: number }).column = pos + 1;
  return e;
}

/** Message without the position suffix, as gdb prints it. */
export function gdbMessage(e: unknown): string {
  if (e instanceof PidscopeError) return e.causeText;
  return e instanceof Error ? e.message : String(e);
}

export function objectForVariable(v: VariableSymbol, pointerSize = 8): TargetObject {
  void pointerSize;
  // A constant the compiler folded away (DW_AT_const_value, DW_OP_implicit_value): gdb prints it.
  if (v.address === undefined && v.constValue && v.type) {
    const size = sizeOf(v.type) ?? v.constValue.length;
    const bytes = Buffer.alloc(size);
    Buffer.from(v.constValue).copy(bytes, 0, 0, Math.min(size, v.constValue.length));
    return makeValue(v.type, bytes);
  }
  if (v.address === undefined) return makeAbsent(v.absentReason ?? 'optimized out', v.type);
  return makeReference(v.type ?? NODEBUG_DATA, v.address);
}

/**
 * gdb looks up full (debug-info) symbols in every module before minimal symbols, so a typed
 * definition elsewhere beats an untyped ELF symbol; a library global that the executable
 * copy-relocated (stdout) lives at the executable's address.
 */
export function pickVariable(vars: VariableSymbol[]): VariableSymbol {
  const first = vars[0];
  if (first.type) return first;
  const typed = vars.find((v) => v.type && v.address !== undefined);
  if (!typed) return first;
  if (typed.scope === 'global' && first.scope === 'global' && first.address !== undefined) return { ...typed, address: first.address, module: first.module };
  return typed;
}

/** Byte offset of `base` inside `derived` through non-virtual bases (same class by identity or name). */
function baseOffset(derived: CompoundType, base: CompoundType): number | undefined {
  for (const m of derived.members ?? []) {
    if (!m.base || m.base.virtual) continue;
    const r = resolve(m.type);
    if (r.kind !== 'struct' && r.kind !== 'union') continue;
    if (r === base || (r.name !== undefined && r.name === base.name)) return m.bitOffset / 8;
    const deeper = baseOffset(r, base);
    if (deeper !== undefined) return m.bitOffset / 8 + deeper;
  }
  return undefined;
}

/** gdb's types_deeply_equal for resolved scalar types: same kind, name, size and signedness. */
function sameScalarType(a: Type, b: Type): boolean {
  if (a === b) return true;
  if (a.kind !== b.kind) return false;
  if (a.kind === 'int' && b.kind === 'int') return a.name === b.name && a.size === b.size && a.signed === b.signed;
  if ((a.kind === 'bool' && b.kind === 'bool') || (a.kind === 'float' && b.kind === 'float')) return a.name === b.name && a.size === b.size;
  if (a.kind === 'enum' && b.kind === 'enum') return a.name !== undefined && a.name === b.name;
  return false;
}

export function evaluateExpression(ctx: ValueContext, expr: string, scope?: LookupScope): TargetObject {
  return new Evaluator(ctx, expr, scope).run();
}

/** `(to) from` with the evaluator's conversion rules, outside any expression (assignment). */
export function castObject(ctx: ValueContext, to: Type, from: TargetObject): TargetObject {
  return new Evaluator(ctx, '').cast(to, from, { pos: 0 });
}

const TYPE_CACHE = new WeakMap<SymbolLookup, Map<string, Type | null>>();
const ENUMERATORS = new WeakMap<SymbolLookup, Map<string, { type: EnumType; value: bigint }>>();

/**
 * Enumerator constants (COLOR_BLUE): SymbolLookup has no index of them, so they are collected
 * from the types the main program's globals reach (lazily, once, only when a name is unknown).
 * A symbols engine may offer `findEnumerator(name)` instead.
 */
function enumeratorIndex(symbols: SymbolLookup): Map<string, { type: EnumType; value: bigint }> {
  let map = ENUMERATORS.get(symbols);
  if (map) return map;
  map = new Map();
  const seen = new Set<Type>();
  const visit = (t: Type | undefined, depth: number): void => {
    if (!t || depth > 12 || seen.has(t)) return;
    seen.add(t);
    switch (t.kind) {
      case 'typedef':
      case 'qualified':
        return visit(t.type, depth + 1);
      case 'pointer':
        return visit(t.target, depth + 1);
      case 'array':
        return visit(t.element, depth + 1);
      case 'struct':
      case 'union':
        for (const m of t.members ?? []) visit(m.type, depth + 1);
        return;
      case 'function':
        visit(t.returnType, depth + 1);
        for (const p of t.parameters) visit(p, depth + 1);
        return;
      case 'enum':
        for (const e of t.enumerators ?? []) {
          // C++: `Enum::name` for every named enum, `ns::name` in a namespace; an `enum class`
          // has no unqualified names.
          for (const q of [t.name !== undefined ? `${t.name}::${e.name}` : undefined, t.enumeratorPrefix ? t.enumeratorPrefix + e.name : undefined]) {
            if (q !== undefined && !map!.has(q)) map!.set(q, { type: t, value: e.value });
          }
          if (!t.scoped && !map!.has(e.name)) map!.set(e.name, { type: t, value: e.value });
        }
        return;
    }
  };
  let main: string | undefined;
  try {
    for (const v of symbols.allVariables()) {
      main ??= v.module;
      if (v.module !== main) break;
      visit(v.type, 0);
    }
  } catch {
    /* a broken unit: keep what was found */
  }
  ENUMERATORS.set(symbols, map);
  return map;
}

export class Evaluator {
  private readonly src: ByteSource;
  private readonly symbols?: SymbolLookup;
  private readonly ptrSize: number;
  readonly lang: Language;

  constructor(
    readonly ctx: ValueContext,
    readonly expr: string,
    readonly scope?: LookupScope,
  ) {
    this.src = new ByteSource(ctx.memory);
    this.symbols = ctx.symbols;
    this.ptrSize = ctx.pointerSize;
    this.lang = languageOf(ctx);
  }

  run(): TargetObject {
    const ast = parseExpression(this.expr, {
      isTypeName: (n) => this.isTypeName(n),
      checkName: (n, pos) => {
        if (this.lang.name === 'c++' && (n === 'true' || n === 'false')) return;
        if (!this.symbols) return;
        if (this.symbols.findVariables(n, this.scope).length || this.symbols.findFunctions(n, this.scope).length) return;
        if (this.findEnumerator(n)) return;
        this.fail(`No symbol "${n}" in current context.`, { pos }, 'NO_SYMBOL');
      },
    });
    const out = this.eval(ast);
    if (out.type === NODEBUG_DATA) this.nodebug(out, ast);
    return out;
  }

  private fail(message: string, node?: { pos: number }, code = 'EVAL'): never {
    // Without an expression (castObject) there is no column to point at.
    throw evalError(message, code, this.expr ? node?.pos : undefined, this.expr);
  }

  private findType(name: string): Type | undefined {
    if (!this.symbols) return undefined;
    let cache = TYPE_CACHE.get(this.symbols);
    if (!cache) TYPE_CACHE.set(this.symbols, (cache = new Map()));
    const key = `${this.lang.name}\0${this.scope?.file ?? ''}\0${this.scope?.module ?? ''}\0${name}`;
    // The program's own types first (its DWARF names them as it compiled them), then the
    // language's built-in types for names the program never mentions (`(__int128)x`).
    if (!cache.has(key)) {
      let found: Type | undefined;
      for (const n of this.lang.typeLookupNames(name)) {
        found = this.symbols.findType(n, this.scope);
        // C++ finds a class by its bare name only where it is defined (gdb: "No symbol").
        if (found && n !== name && (found.kind === 'struct' || found.kind === 'union') && !found.members) found = undefined;
        if (found) break;
      }
      cache.set(key, found ?? this.lang.builtinNamed(name) ?? null);
    }
    return cache.get(key) ?? undefined;
  }

  private isTypeName(name: string): boolean {
    if (!this.symbols) return false;
    if (this.symbols.findVariables(name, this.scope).length) return false;
    // Typedefs, and base types that only the program's DWARF names (`__int128`).
    return this.findType(name) !== undefined;
  }

  // ---- types ------------------------------------------------------------------------------

  resolveTypeAst(t: TypeAst): Type {
    let base: Type;
    if (t.base.kind === 'builtin') {
      const b = this.lang.builtinFromWords(t.base.words);
      if (!b) this.fail('A syntax error in expression, near `' + this.expr.slice(t.pos) + "'.", t, 'SYNTAX');
      // Prefer the program's own _Bool/_Float128 when it has them (names match its DWARF).
      base = b;
    } else if (t.base.kind === 'tag') {
      const found = this.findType(`${t.base.tag} ${t.base.name}`);
      if (!found) this.fail(`No ${t.base.tag} type named ${t.base.name}.`, t, 'NO_SYMBOL');
      base = found;
    } else {
      const found = this.findType(t.base.name);
      if (!found) this.fail(`No symbol "${t.base.name}" in current context.`, t, 'NO_SYMBOL');
      base = found;
    }
    if (t.quals.const || t.quals.volatile) base = { kind: 'qualified', qualifiers: { ...t.quals }, type: base };
    return this.applyDeclarator(base, t.decl);
  }

  private applyDeclarator(base: Type, d: Declarator): Type {
    let t = base;
    for (const q of d.ptrs) {
      t = pointerTo(t, this.ptrSize);
      if (q.const || q.volatile) t = { kind: 'qualified', qualifiers: { ...q }, type: t };
    }
    for (let i = d.suffixes.length - 1; i >= 0; i--) {
      const s = d.suffixes[i];
      if (s.op === 'array') t = { kind: 'array', element: t, length: s.length } as ArrayType;
      else
        t = {
          kind: 'function',
          returnType: t,
          parameters: s.params.map((p) => this.resolveTypeAst(p)),
          variadic: s.variadic,
          prototyped: !s.noProto,
        } as FunctionType;
    }
    if (d.inner) t = this.applyDeclarator(t, d.inner);
    return t;
  }

  // ---- value helpers ----------------------------------------------------------------------

  private bytes(obj: TargetObject, node: { pos: number }): Buffer {
    if (obj.kind === 'absent')
      this.fail(obj.reason.startsWith('optimized out') ? 'value has been optimized out' : `value is not available: ${obj.reason}`, node, 'ABSENT');
    if (obj.type === NODEBUG_DATA) this.nodebug(obj, node);
    return fetchWhole(this.src, obj).bytes;
  }

  private nodebug(_obj: TargetObject, node: { pos: number }): never {
    const name = node && (node as Node).k === 'ident' ? (node as Extract<Node, { k: 'ident' }>).name : 'symbol';
    this.fail(`'${name}' has unknown type; cast it to its declared type`, node, 'NO_TYPE');
  }

  private intValue(obj: TargetObject, node: { pos: number }): bigint {
    const r = resolve(obj.type!);
    const b = this.bytes(obj, node);
    switch (r.kind) {
      case 'int':
        return bytesToBigint(b, r.signed);
      case 'bool':
      case 'pointer':
        return bytesToBigint(b, false);
      case 'enum':
        return bytesToBigint(b, isSigned(r));
      case 'float':
        return exactToLongest(exactFromBytes(b, floatFormatFor(r.size, r.format)!));
      default:
        return this.fail('Argument to arithmetic operation not a number or boolean.', node);
    }
  }

  /** The exact value of an arithmetic object (integers convert exactly). */
  private floatValue(obj: TargetObject, node: { pos: number }): Exact {
    const r = resolve(obj.type!);
    if (r.kind === 'float') return exactFromBytes(this.bytes(obj, node), floatFormatFor(r.size, r.format)!);
    return exactFromBigint(this.intValue(obj, node));
  }

  private mkInt(type: Type, v: bigint): ValueObject {
    return makeValue(type, bigintToBytes(v, sizeOf(type) ?? 4));
  }

  private mkFloat(type: Type, v: Exact): ValueObject {
    const r = resolve(type) as Extract<Type, { kind: 'float' }>;
    return makeValue(type, encodeExact(v, floatFormatFor(r.size, r.format)!, r.size));
  }

  /** Arrays decay to pointers, functions to function pointers (gdb's coerce_array). */
  private decay(obj: TargetObject, node: { pos: number }): TargetObject {
    if (!obj.type) return obj;
    const r = resolve(obj.type);
    if (r.kind === 'array') {
      const addr = obj.kind === 'reference' ? obj.address : obj.kind === 'value' ? obj.address : undefined;
      if (addr === undefined) this.fail('Attempt to take address of value not located in memory.', node);
      return this.mkInt(pointerTo(r.element, this.ptrSize), addr);
    }
    if (r.kind === 'function') {
      const addr = obj.kind === 'reference' ? obj.address : obj.kind === 'value' ? (obj.address ?? 0n) : 0n;
      return this.mkInt(pointerTo(obj.type, this.ptrSize), addr);
    }
    return obj;
  }

  private isIntegral(t: Type): boolean {
    const r = resolve(t);
    return r.kind === 'int' || r.kind === 'bool' || r.kind === 'enum';
  }

  private isArith(t: Type): boolean {
    return this.isIntegral(t) || resolve(t).kind === 'float';
  }

  /** gdb's binop_promote for C. */
  private promote(a: Type, b: Type, node: { pos: number }): Type {
    const ra = resolve(a);
    const rb = resolve(b);
    if (ra.kind === 'float' || rb.kind === 'float') {
      if (ra.kind !== 'float') return b;
      if (rb.kind !== 'float') return a;
      return rb.size > ra.size ? b : a;
    }
    let l1 = sizeOf(ra) ?? 4;
    let l2 = sizeOf(rb) ?? 4;
    if (l1 > 8 || l2 > 8) this.fail('That operation is not available on integers of more than 8 bytes.', node);
    let u1 = !isSigned(ra);
    let u2 = !isSigned(rb);
    if (ra.kind === 'bool') u1 = true;
    if (rb.kind === 'bool') u2 = true;
    if (l1 < 4) {
      u1 = false;
      l1 = 4;
    }
    if (l2 < 4) {
      u2 = false;
      l2 = 4;
    }
    const unsigned = l1 > l2 ? u1 : l2 > l1 ? u2 : u1 || u2;
    const len = Math.max(l1, l2);
    if (len <= 4) return unsigned ? this.lang.builtins.unsignedInt : this.lang.builtins.int;
    return unsigned ? this.lang.builtins.unsignedLong : this.lang.builtins.long;
  }

  /** gdb's unop_promote: integers narrower than int become int. */
  private unopPromote(t: Type, node: { pos: number }): Type {
    const r = resolve(t);
    if (r.kind === 'float') return t;
    const size = sizeOf(r) ?? 4;
    if (size > 8) this.fail('That operation is not available on integers of more than 8 bytes.', node);
    if (size < 4) return this.lang.builtins.int;
    return t;
  }

  private truthy(obj: TargetObject, node: { pos: number }): boolean {
    const d = this.decay(obj, node);
    const r = resolve(d.type!);
    if (r.kind === 'float') return !isZeroExact(this.floatValue(d, node));
    if (r.kind === 'struct' || r.kind === 'union') this.fail('Argument to arithmetic operation not a number or boolean.', node);
    return this.intValue(d, node) !== 0n;
  }

  // ---- evaluation -------------------------------------------------------------------------

  eval(n: Node): TargetObject {
    switch (n.k) {
      case 'int':
        return this.intLiteral(n);
      case 'float': {
        const t = n.suffix === 'f' ? this.lang.builtins.float : n.suffix === 'l' ? this.lang.builtins.longDouble : this.lang.builtins.double;
        return this.mkFloat(t, floatLiteral(n.text, n.value));
      }
      case 'char': {
        if (n.prefix === '') return this.mkInt(this.lang.builtins.char, BigInt(n.value));
        return this.mkInt(this.wideCharType(n.prefix), BigInt(n.value));
      }
      case 'string': {
        const ct = n.prefix === '' ? this.lang.builtins.char : this.wideCharType(n.prefix);
        const w = sizeOf(ct)!;
        const buf = Buffer.alloc((n.value.length + 1) * w);
        n.value.forEach((c, i) => bigintToBytes(BigInt(c), w).copy(buf, i * w));
        return makeValue({ kind: 'array', element: ct, length: n.value.length + 1 } as ArrayType, buf);
      }
      case 'ident':
        return this.identifier(n);
      case 'member':
        return this.member(n);
      case 'index':
        return this.index(n);
      case 'unary':
        return this.unary(n);
      case 'cast':
        if (n.cxx === 'dynamic_cast') return this.dynamicCast(this.resolveTypeAst(n.type), this.operand(n.operand), n);
        return this.cast(this.resolveTypeAst(n.type), this.operand(n.operand), n);
      case 'brace': {
        const t = this.resolveTypeAst(n.type);
        const a = this.decay(this.operand(n.operand), n);
        return makeReference(t, BigInt.asUintN(64, this.intValue(a, n)));
      }
      case 'sizeof': {
        const operand = n.type ? undefined : this.operand(n.operand!);
        if (operand && operand.type === NODEBUG_DATA) this.nodebug(operand, n.operand!);
        const t = n.type ? this.resolveTypeAst(n.type) : operand!.type;
        if (!t) this.fail('Attempt to use a type name as an expression', n);
        const r = resolve(t);
        let size = r.kind === 'void' || r.kind === 'function' ? 1 : sizeOf(t);
        if (size === undefined) this.fail(`Attempt to use a type name as an expression`, n);
        return this.mkInt(this.lang.builtins.int, BigInt(size));
      }
      case 'binary':
        return this.binary(n);
      case 'ternary':
        return this.truthy(this.operand(n.cond), n) ? this.eval(n.then) : this.eval(n.else);
      case 'comma':
        this.eval(n.left);
        return this.eval(n.right);
      case 'at':
        return this.at(n);
    }
  }

  /** An operand: a C++ reference stands for its referent in every operation (gdb's coerce_ref). */
  private operand(n: Node): TargetObject {
    const obj = this.eval(n);
    if (!obj.type || obj.kind === 'absent') return obj;
    const r = resolve(obj.type);
    if (r.kind !== 'pointer' || !r.reference) return obj;
    return makeReference(r.target, BigInt.asUintN(64, bytesToBigint(this.bytes(obj, n), false)));
  }

  private wideCharType(prefix: 'L' | 'u' | 'U'): Type {
    const name = prefix === 'L' ? 'wchar_t' : prefix === 'u' ? 'char16_t' : 'char32_t';
    const t = this.findType(name);
    if (t) return t;
    return {
      kind: 'typedef',
      name,
      type: prefix === 'u' ? this.lang.builtins.unsignedShort : prefix === 'U' ? this.lang.builtins.unsignedInt : this.lang.builtins.int,
    };
  }

  private intLiteral(n: Extract<Node, { k: 'int' }>): TargetObject {
    const v = n.value;
    const fits = (bits: number, signed: boolean) => (signed ? v < 1n << BigInt(bits - 1) : v < 1n << BigInt(bits));
    const haveSigned = !n.unsigned;
    const haveUnsigned = n.unsigned || n.base !== 10 || !fits(64, true);
    const haveInt = n.longs === 0;
    const haveLong = n.longs <= 1;
    let t: Type;
    if (haveInt && haveSigned && fits(32, true)) t = this.lang.builtins.int;
    else if (haveInt && haveUnsigned && fits(32, false)) t = this.lang.builtins.unsignedInt;
    else if (haveLong && haveSigned && fits(64, true)) t = this.lang.builtins.long;
    else if (haveLong && haveUnsigned && fits(64, false)) t = this.lang.builtins.unsignedLong;
    else if (haveSigned && fits(64, true)) t = this.lang.builtins.longLong;
    else if (haveUnsigned && fits(64, false)) t = this.lang.builtins.unsignedLongLong;
    else this.fail('Numeric constant too large.', n);
    return this.mkInt(t, v);
  }

  private identifier(n: Extract<Node, { k: 'ident' }>): TargetObject {
    // C++'s boolean literals (unless the program has variables of those names).
    if (this.lang.name === 'c++' && !n.scope && (n.name === 'true' || n.name === 'false') && !this.symbols?.findVariables(n.name, this.scope).length) {
      return this.mkInt(this.lang.truthType, n.name === 'true' ? 1n : 0n);
    }
    if (!this.symbols) this.fail(`No symbol table is loaded.`, n, 'NO_SYMBOL');
    // C++ `ns::name`, `Class::static_member`, `Enum::enumerator`: a qualified name of its own.
    if (n.scope?.function && !n.scope.quoted) {
      const q = this.qualified(`${n.scope.function}::${n.name}`);
      if (q) return q;
    }
    const scope: LookupScope = { ...this.scope };
    if (n.scope?.file) scope.file = n.scope.file;
    if (n.scope?.function) {
      const isFunction = this.symbols.findFunctions(n.scope.function, this.scope).length > 0;
      if (isFunction) scope.function = n.scope.function;
      else if (n.scope.quoted) scope.file = n.scope.function;
      else this.fail(`No symbol "${n.scope.function}" in current context.`, n, 'NO_SYMBOL');
    }
    let vars = this.symbols.findVariables(n.name, scope);
    // gdb: `function::name` also finds names visible from that function (file statics, globals).
    if (!vars.length && scope.function) vars = this.symbols.findVariables(n.name, { ...scope, function: undefined });
    if (vars.length) return objectForVariable(pickVariable(vars), this.ptrSize);
    const fns = this.symbols.findFunctions(n.name, { ...scope, function: undefined });
    if (fns.length) return makeReference(fns[0].type ?? NODEBUG_TEXT, fns[0].address);
    if (!n.scope) {
      const en = this.findEnumerator(n.name);
      if (en) return this.mkInt(en.type, en.value);
    }
    if (n.scope?.file) this.fail(`No symbol "${n.name}" in specified context.`, n, 'NO_SYMBOL');
    if (n.scope?.function) this.fail(`No symbol "${n.name}" in function "${n.scope.function}".`, n, 'NO_SYMBOL');
    return this.fail(`No symbol "${n.name}" in current context.`, n, 'NO_SYMBOL');
  }

  /** A variable, function or enumerator by its C++ qualified name, if one has it. */
  private qualified(name: string): TargetObject | undefined {
    const vars = this.symbols!.findVariables(name, this.scope);
    if (vars.length) return objectForVariable(pickVariable(vars), this.ptrSize);
    const fns = this.symbols!.findFunctions(name, this.scope);
    if (fns.length) return makeReference(fns[0].type ?? NODEBUG_TEXT, fns[0].address);
    const en = this.findEnumerator(name);
    return en ? this.mkInt(en.type, en.value) : undefined;
  }

  private findEnumerator(name: string): { type: EnumType; value: bigint } | undefined {
    if (!this.symbols) return undefined;
    const own = (this.symbols as unknown as { findEnumerator?(n: string): { type: EnumType; value: bigint } | undefined }).findEnumerator;
    if (typeof own === 'function') return own.call(this.symbols, name);
    return enumeratorIndex(this.symbols).get(name);
  }

  private findMember(t: CompoundType, name: string): { member: Member; bitOffset: number } | undefined {
    for (const m of t.members ?? []) {
      if (m.base) continue;
      if (m.name === name) return { member: m, bitOffset: m.bitOffset };
      if (m.name === undefined) {
        const r = resolve(m.type);
        if (r.kind === 'struct' || r.kind === 'union') {
          const inner = this.findMember(r, name);
          if (inner) return { member: inner.member, bitOffset: m.bitOffset + inner.bitOffset };
        }
      }
    }
    // C++: members of (non-virtual) base classes, nearest base first.
    for (const m of t.members ?? []) {
      if (!m.base || m.base.virtual) continue;
      const r = resolve(m.type);
      if (r.kind !== 'struct' && r.kind !== 'union') continue;
      const inner = this.findMember(r, name);
      if (inner) return { member: inner.member, bitOffset: m.bitOffset + inner.bitOffset };
    }
    return undefined;
  }

  private member(n: Extract<Node, { k: 'member' }>): TargetObject {
    let obj = this.operand(n.obj);
    if (obj.type === NODEBUG_DATA) this.nodebug(obj, n.obj);
    if (obj.kind === 'absent') {
      const ra = obj.type ? resolve(obj.type) : undefined;
      if (ra && (ra.kind === 'struct' || ra.kind === 'union')) {
        const f = this.findMember(ra, n.name);
        if (!f) this.fail(`There is no member named ${n.name}.`, n);
        return makeAbsent(obj.reason, f.member.type);
      }
      this.bytes(obj, n);
    }
    let r = resolve(obj.type!);
    // gdb's value_struct_elt follows pointers for both `.` and `->`.
    while (r.kind === 'pointer') {
      const tr = resolve(r.target);
      if (tr.kind !== 'struct' && tr.kind !== 'union' && tr.kind !== 'pointer') break;
      obj = makeReference(r.target, BigInt.asUintN(64, this.intValue(obj, n)));
      r = tr;
    }
    if (r.kind !== 'struct' && r.kind !== 'union') {
      this.fail(
        n.arrow
          ? 'Attempt to extract a component of a value that is not a structure pointer.'
          : 'Attempt to extract a component of a value that is not a structure.',
        n,
      );
    }
    const noMember: () => never = () =>
      this.fail(`There is no member ${r.kind !== 'struct' || !(r as CompoundType).hasMethods ? '' : 'or method '}named ${n.name}.`, n);
    if (!r.members) noMember();
    const found = this.findMember(r, n.name);
    if (!found) noMember();
    const { member, bitOffset } = found;
    if (member.static) {
      const vars = this.symbols?.findVariables(member.static.qualifiedName) ?? [];
      if (!vars.length) return makeAbsent('optimized out', member.type);
      return objectForVariable(pickVariable(vars), this.ptrSize);
    }
    if (obj.kind === 'reference') {
      return makeReference(member.type, obj.address, obj.bitOffset + bitOffset, member.bitSize);
    }
    const bytes = this.bytes(obj, n);
    const byte = Math.floor(bitOffset / 8);
    const addr = obj.kind === 'value' && obj.address !== undefined ? obj.address + BigInt(byte) : undefined;
    if (member.bitSize !== undefined) {
      const size = sizeOf(member.type) ?? 4;
      const bitIn = bitOffset - byte * 8;
      const nb = Math.ceil((bitIn + member.bitSize) / 8);
      return makeValue(member.type, extractBits(bytes.subarray(byte, byte + nb), bitIn, member.bitSize, size, isSigned(member.type)));
    }
    const size = sizeOf(member.type) ?? 0;
    return makeValue(member.type, Buffer.from(bytes.subarray(byte, byte + size)), addr);
  }

  private elementAt(base: TargetObject, elem: Type, i: bigint, node: { pos: number }): TargetObject {
    const esize = BigInt(sizeOf(elem) ?? 1);
    if (base.kind === 'reference') return makeReference(elem, BigInt.asUintN(64, base.address + i * esize));
    if (base.kind === 'value' && base.address !== undefined) return makeReference(elem, BigInt.asUintN(64, base.address + i * esize));
    const bytes = this.bytes(base, node);
    const off = Number(i * esize);
    if (off < 0 || off + Number(esize) > bytes.length) this.fail('no such vector element', node);
    return makeValue(elem, Buffer.from(bytes.subarray(off, off + Number(esize))));
  }

  private index(n: Extract<Node, { k: 'index' }>): TargetObject {
    const base = this.operand(n.obj);
    if (base.kind === 'absent') this.bytes(base, n);
    if (base.type === NODEBUG_DATA) this.nodebug(base, n.obj);
    const idxObj = this.decay(this.operand(n.index), n);
    if (!this.isIntegral(idxObj.type!)) this.fail('Argument to arithmetic operation not a number or boolean.', n);
    const i = this.intValue(idxObj, n);
    const r = resolve(base.type!);
    if (r.kind === 'array') return this.elementAt(base, r.element, i, n);
    if (r.kind === 'pointer') {
      const p = BigInt.asUintN(64, this.intValue(base, n));
      const esize = BigInt(this.elementSize(r.target));
      return makeReference(r.target, BigInt.asUintN(64, p + i * esize));
    }
    return this.fail(`cannot subscript something of type \`${this.lang.typeName(base.type!)}'`, n);
  }

  private elementSize(t: Type): number {
    const r = resolve(t);
    if (r.kind === 'void' || r.kind === 'function') return 1;
    return sizeOf(t) ?? 1;
  }

  private addressOf(obj: TargetObject, n: { pos: number }, name?: string): TargetObject {
    if (obj.kind === 'reference') {
      let addr = obj.address;
      if (obj.bitSize !== undefined || obj.bitOffset !== 0) {
        // gdb: a bit field's address is that of its containing storage unit.
        const size = BigInt(sizeOf(obj.type) ?? 1);
        const bit = obj.address * 8n + BigInt(obj.bitOffset);
        addr = (bit / (size * 8n)) * size;
      }
      return this.mkInt(pointerTo(obj.type, this.ptrSize), addr);
    }
    if (obj.kind === 'value' && obj.address !== undefined) return this.mkInt(pointerTo(obj.type, this.ptrSize), obj.address);
    if (obj.kind === 'absent' || name) {
      if (name) this.fail(`Can't take address of "${name}" which isn't an lvalue.`, n);
      return this.fail('Attempt to take address of value not located in memory.', n);
    }
    return this.fail('Attempt to take address of value not located in memory.', n);
  }

  private unary(n: Extract<Node, { k: 'unary' }>): TargetObject {
    const raw = this.operand(n.operand);
    if (n.op === '&') {
      if (raw.type === NODEBUG_DATA && raw.kind === 'reference') return this.mkInt(pointerTo(NODEBUG_DATA, this.ptrSize), raw.address);
      return this.addressOf(raw, n, n.operand.k === 'ident' ? n.operand.name : undefined);
    }
    if (raw.type === NODEBUG_DATA) this.nodebug(raw, n.operand);
    if (raw.kind === 'absent') this.bytes(raw, n);
    if (n.op === '*') {
      const r0 = resolve(raw.type!);
      if (r0.kind === 'function') return raw;
      if (r0.kind === 'array') return this.elementAt(raw, r0.element, 0n, n);
      if (r0.kind === 'pointer') {
        const tr = resolve(r0.target);
        if (tr.kind === 'void') this.fail('Attempt to dereference a generic pointer.', n);
        return makeReference(r0.target, BigInt.asUintN(64, this.intValue(raw, n)));
      }
      if (r0.kind === 'int' || r0.kind === 'bool' || r0.kind === 'enum') {
        // gdb allows `*` on an integer and yields an int there.
        return makeReference(this.lang.builtins.int, BigInt.asUintN(64, this.intValue(raw, n)));
      }
      return this.fail('Attempt to take contents of a non-pointer value.', n);
    }
    const obj = this.decay(raw, n);
    const r = resolve(obj.type!);
    if (n.op === '!') {
      if (r.kind === 'struct' || r.kind === 'union' || r.kind === 'array') this.fail('Argument to arithmetic operation not a number or boolean.', n);
      return this.mkInt(this.lang.truthType, this.truthy(obj, n) ? 0n : 1n);
    }
    if (!this.isArith(obj.type!)) this.fail('Argument to arithmetic operation not a number or boolean.', n);
    if (r.kind === 'float') {
      if (n.op === '~') this.fail('Argument to complement operation not an integer, boolean.', n);
      const v = this.floatValue(obj, n);
      // gdb's value_neg is `0 - x` in x's type: -(+0.0) prints 0 and NaNs keep their sign.
      return this.mkFloat(r, n.op === '-' ? subExact({ kind: 'finite', neg: false, m: 0n, e: 0 }, v) : v);
    }
    // gdb: `-x` is `0 - x` (binop promotion to a built-in type); `~x`/`+x` promote narrow types
    // and drop typedefs (so a wchar_t operand no longer prints as a character).
    const t = n.op === '-' ? this.promote(obj.type!, obj.type!, n) : resolve(this.unopPromote(obj.type!, n));
    const v = this.intValue(obj, n);
    const out = n.op === '-' ? -v : n.op === '~' ? ~v : v;
    return this.mkInt(t, out);
  }

  cast(to: Type, from: TargetObject, n: { pos: number }): TargetObject {
    const rt = resolve(to);
    if (from.type === NODEBUG_DATA && from.kind === 'reference') return makeReference(to, from.address);
    // gdb casts an optimized-out value to an optimized-out value of the new type.
    if (from.kind === 'absent') {
      // gdb's value_cast returns a value of a deeply equal type as it is, and casts pointers to
      // pointers without fetching; any other conversion needs the value (`(long)x` of an
      // optimized-out int: "value has been optimized out").
      const rf = from.type ? resolve(from.type) : undefined;
      if ((rf?.kind === 'pointer' && rt.kind === 'pointer') || (rf && sameScalarType(rf, rt))) return makeAbsent(from.reason, to);
      this.bytes(from, n);
    }
    const rf0 = resolve(from.type!);
    if (rt.kind === 'void') return makeValue(to, Buffer.alloc(0));
    if (rt.kind === 'struct' || rt.kind === 'union' || rt.kind === 'array') {
      if (rf0 === rt) return { ...from, type: to } as TargetObject;
      const sz = sizeOf(rt);
      if ((rf0.kind === 'struct' || rf0.kind === 'union' || rf0.kind === 'array') && sz !== undefined && sz === sizeOf(rf0)) {
        if (from.kind === 'reference') return makeReference(to, from.address, from.bitOffset);
        return { ...(from as ValueObject), type: to };
      }
      this.fail('Invalid cast.', n);
    }
    if (rt.kind === 'function') this.fail('Invalid cast.', n);
    const obj = this.decay(from, n);
    const rf = resolve(obj.type!);
    if (rf.kind === 'struct' || rf.kind === 'union') this.fail('Invalid cast.', n);
    if (rf.kind === 'int' && rt.kind === 'int' && rf.size === rt.size && rf.size > 8) return makeValue(to, Buffer.from(this.bytes(obj, n)));
    if ((rf.kind === 'int' && rf.size > 8) || (rt.kind === 'int' && rt.size > 8)) {
      this.fail('That operation is not available on integers of more than 8 bytes.', n);
    }
    // gdb's value_cast to bool gives true/false, not the truncated bits.
    if (rt.kind === 'bool') return this.mkInt(to, this.truthy(obj, n) ? 1n : 0n);
    if (rt.kind === 'float') return this.mkFloat(to, this.floatValue(obj, n));
    // C++: a pointer cast between a class and its (non-virtual) base moves to the subobject.
    if (rt.kind === 'pointer' && rf.kind === 'pointer' && this.lang.name === 'c++') {
      const from0 = resolve(rf.target);
      const to0 = resolve(rt.target);
      const v = this.intValue(obj, n);
      if (v !== 0n && from0 !== to0 && (from0.kind === 'struct' || from0.kind === 'union') && (to0.kind === 'struct' || to0.kind === 'union')) {
        const up = baseOffset(from0, to0);
        if (up !== undefined) return this.mkInt(to, BigInt.asUintN(64, v + BigInt(up)));
        const down = baseOffset(to0, from0);
        if (down !== undefined) return this.mkInt(to, BigInt.asUintN(64, v - BigInt(down)));
      }
      return this.mkInt(to, v);
    }
    // Integer-like targets: int, bool, enum, pointer (floats convert with gdb's saturation).
    return this.mkInt(to, this.intValue(obj, n));
  }

  /**
   * `dynamic_cast<T *>(p)` without running code: the vtable says the object's dynamic class
   * (offset-to-top at vptr-16, typeinfo at vptr-8, named by its `typeinfo for X` symbol); the
   * result points into the complete object, or is null when T is not that class or a base of it.
   */
  private dynamicCast(to: Type, from: TargetObject, n: { pos: number }): TargetObject {
    const rt = resolve(to);
    const target = rt.kind === 'pointer' ? resolve(rt.target) : undefined;
    const rf = resolve(this.decay(from, n).type!);
    if (!target || rf.kind !== 'pointer' || (target.kind !== 'struct' && target.kind !== 'void'))
      this.fail('Argument to dynamic_cast must be a pointer to a class type', n);
    const p = this.intValue(this.decay(from, n), n);
    if (p === 0n) return this.mkInt(to, 0n);
    const src = this.src;
    const vptr = bytesToBigint(src.read(p, 8, true), false);
    const offsetToTop = bytesToBigint(src.read(vptr - 16n, 8, true), true);
    const typeinfo = bytesToBigint(src.read(vptr - 8n, 8, true), false);
    const full = BigInt.asUintN(64, p + offsetToTop);
    if (target.kind === 'void') return this.mkInt(to, full);
    const sym = this.symbols?.symbolize(typeinfo);
    const name = sym && sym.offset === 0n ? demangle(sym.symbol) : undefined;
    if (!name?.startsWith('typeinfo for ')) this.fail("Couldn't determine the dynamic type of the object (no typeinfo symbol)", n);
    const dynName = name.slice('typeinfo for '.length);
    if (dynName === target.name) return this.mkInt(to, full);
    const dyn = this.findType(dynName);
    const dr = dyn ? resolve(dyn) : undefined;
    const off = dr && dr.kind === 'struct' ? baseOffset(dr, target) : undefined;
    return this.mkInt(to, off === undefined ? 0n : BigInt.asUintN(64, full + BigInt(off)));
  }

  private binary(n: Extract<Node, { k: 'binary' }>): TargetObject {
    const op = n.op;
    if (op === '&&' || op === '||') {
      const l = this.truthy(this.operand(n.left), n);
      if (op === '&&' && !l) return this.mkInt(this.lang.truthType, 0n);
      if (op === '||' && l) return this.mkInt(this.lang.truthType, 1n);
      return this.mkInt(this.lang.truthType, this.truthy(this.operand(n.right), n) ? 1n : 0n);
    }
    const lraw = this.operand(n.left);
    const rraw = this.operand(n.right);
    for (const [o, node] of [
      [lraw, n.left],
      [rraw, n.right],
    ] as const) {
      if (o.type === NODEBUG_DATA) this.nodebug(o, node);
      if (o.kind === 'absent') this.bytes(o, n);
    }
    const l = this.decay(lraw, n);
    const r = this.decay(rraw, n);
    const lt = resolve(l.type!);
    const rt = resolve(r.type!);
    const lp = lt.kind === 'pointer';
    const rp = rt.kind === 'pointer';
    if (lp || rp) return this.pointerBinary(op, l, r, lt, rt, n);
    if (!this.isArith(l.type!) || !this.isArith(r.type!)) this.fail('Argument to arithmetic operation not a number or boolean.', n);
    const isCmp = ['==', '!=', '<', '>', '<=', '>='].includes(op);
    const pt = this.promote(l.type!, r.type!, n);
    if (resolve(pt).kind === 'float') {
      if (['%', '<<', '>>', '&', '|', '^'].includes(op)) this.fail('Integer-only operation on floating point number.', n);
      // Operands are converted to the promoted type first (as gdb's value_cast does).
      const rpt = resolve(pt) as Extract<Type, { kind: 'float' }>;
      const fmt = floatFormatFor(rpt.size, rpt.format)!;
      const conv = (x: Exact) => exactFromBytes(encodeExact(x, fmt, rpt.size), fmt);
      const a = conv(this.floatValue(l, n));
      const b = conv(this.floatValue(r, n));
      if (isCmp) {
        const c = compareExact(a, b);
        const res = c === undefined ? op === '!=' : cmp(op, c, 0);
        return this.mkInt(this.lang.truthType, res ? 1n : 0n);
      }
      const v = op === '+' ? addExact(a, b) : op === '-' ? subExact(a, b) : op === '*' ? mulExact(a, b) : divExact(a, b);
      return this.mkFloat(rpt, v);
    }
    const size = sizeOf(pt)!;
    const unsigned = !isSigned(pt);
    const norm = (x: bigint) => (unsigned ? BigInt.asUintN(size * 8, x) : BigInt.asIntN(size * 8, x));
    const a = norm(this.intValue(l, n));
    const b = norm(this.intValue(r, n));
    if (isCmp) return this.mkInt(this.lang.truthType, cmp(op, a, b) ? 1n : 0n);
    let v: bigint;
    switch (op) {
      case '+':
        v = a + b;
        break;
      case '-':
        v = a - b;
        break;
      case '*':
        v = a * b;
        break;
      case '/':
      case '%':
        if (b === 0n) this.fail('Division by zero', n);
        v = op === '/' ? a / b : a % b;
        break;
      case '<<':
      case '>>': {
        // gdb 13: shift counts out of range give 0 (with a warning we do not print).
        const bits = BigInt(size * 8);
        if (b < 0n || b >= bits) v = 0n;
        else v = op === '<<' ? a << b : a >> b;
        break;
      }
      case '&':
        v = a & b;
        break;
      case '|':
        v = a | b;
        break;
      case '^':
        v = a ^ b;
        break;
      default:
        return this.fail(`A syntax error in expression, near \`${this.expr.slice(n.pos)}'.`, n, 'SYNTAX');
    }
    return this.mkInt(pt, v);
  }

  private pointerBinary(op: string, l: TargetObject, r: TargetObject, lt: Type, rt: Type, n: { pos: number }): TargetObject {
    const lp = lt.kind === 'pointer';
    const rp = rt.kind === 'pointer';
    const isCmp = ['==', '!=', '<', '>', '<=', '>='].includes(op);
    if (isCmp) {
      if ((lp || this.isIntegral(l.type!)) && (rp || this.isIntegral(r.type!))) {
        const a = BigInt.asUintN(64, this.intValue(l, n));
        const b = BigInt.asUintN(64, this.intValue(r, n));
        return this.mkInt(this.lang.truthType, cmp(op, a, b) ? 1n : 0n);
      }
      this.fail('Argument to arithmetic operation not a number or boolean.', n);
    }
    if (op === '+' && lp !== rp) {
      const [p, i, pt] = lp ? [l, r, lt] : [r, l, rt];
      if (!this.isIntegral(i.type!)) this.fail('Argument to arithmetic operation not a number or boolean.', n);
      const size = BigInt(this.elementSize((pt as { target: Type }).target));
      const addr = BigInt.asUintN(64, this.intValue(p, n) + this.intValue(i, n) * size);
      // gdb's value_ptradd gives the typedef-stripped pointer type (qualifiers kept).
      return this.mkInt(stripTypedefs(p.type!), addr);
    }
    if (op === '-' && lp && !rp) {
      if (!this.isIntegral(r.type!)) this.fail('Argument to arithmetic operation not a number or boolean.', n);
      const size = BigInt(this.elementSize((lt as { target: Type }).target));
      return this.mkInt(stripTypedefs(l.type!), BigInt.asUintN(64, this.intValue(l, n) - this.intValue(r, n) * size));
    }
    if (op === '-' && lp && rp) {
      const s1 = sizeOf((lt as { target: Type }).target) ?? 1;
      const s2 = sizeOf((rt as { target: Type }).target) ?? 1;
      if (s1 !== s2) {
        this.fail("First argument of `-' is a pointer and second argument is neither\nan integer nor a pointer of the same type.", n);
      }
      const a = BigInt.asIntN(64, this.intValue(l, n));
      const b = BigInt.asIntN(64, this.intValue(r, n));
      const sz = BigInt(this.elementSize((lt as { target: Type }).target));
      return this.mkInt(this.lang.builtins.long, (a - b) / sz);
    }
    return this.fail('Argument to arithmetic operation not a number or boolean.', n);
  }

  private at(n: Extract<Node, { k: 'at' }>): TargetObject {
    const left = this.operand(n.left);
    const cnt = this.decay(this.operand(n.right), n);
    if (!this.isIntegral(cnt.type!)) this.fail('Non-integral right operand to @ operator.', n);
    const count = this.intValue(cnt, n);
    if (count <= 0n) this.fail(`Invalid number ${count} of repetitions.`, n);
    const addr = left.kind === 'reference' && left.bitSize === undefined ? left.address : left.kind === 'value' ? left.address : undefined;
    if (addr === undefined || !left.type) this.fail("Only values in memory can be extended with '@'.", n);
    return makeReference({ kind: 'array', element: left.type, length: Number(count) } as ArrayType, addr);
  }
}

/** gdb's check_typedef: typedefs peeled, cv-qualifiers kept (`int (* const)(int)`). */
function stripTypedefs(t: Type): Type {
  const q: Qualifiers = {};
  let cur = t;
  while (cur.kind === 'typedef' || cur.kind === 'qualified') {
    if (cur.kind === 'qualified') Object.assign(q, cur.qualifiers);
    cur = cur.type;
  }
  return q.const || q.volatile || q.restrict || q.atomic ? { kind: 'qualified', qualifiers: q, type: cur } : cur;
}

/** A float literal read exactly (so `0.1l` is the long double nearest 0.1, not a double's). */
function floatLiteral(text: string, approx: number): Exact {
  const m = /^(\d*)\.?(\d*)(?:[eE]([+-]?\d+))?/.exec(text);
  if (!m || /^0[xX]/.test(text) || (!m[1] && !m[2])) return exactFromNumberLiteral(approx);
  const digits = BigInt((m[1] || '') + (m[2] || '') || '0');
  const exp10 = Number(m[3] ?? 0) - (m[2] || '').length;
  if (exp10 > 400 || exp10 < -400 - 60) return exactFromNumberLiteral(approx);
  if (exp10 >= 0) return exactFromBigint(digits * 10n ** BigInt(exp10));
  return divExact(exactFromBigint(digits), exactFromBigint(10n ** BigInt(-exp10)));
}

function exactFromNumberLiteral(v: number): Exact {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(v);
  return exactFromBytes(b, floatFormatFor(8, 'ieee')!);
}

function cmp<T extends number | bigint>(op: string, a: T, b: T): boolean {
  switch (op) {
    case '==':
      return a === b;
    case '!=':
      return a !== b;
    case '<':
      return a < b;
    case '>':
      return a > b;
    case '<=':
      return a <= b;
    default:
      return a >= b;
  }
}

export type { ReferenceObject };
