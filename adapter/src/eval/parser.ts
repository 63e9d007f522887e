/**
 * Recursive-descent parser for gdb's C expressions, with gdb's precedence (c-exp.y): `@` sits
 * between the shifts and `+`/`-`. Whether `(name)` starts a cast depends on whether `name` is a
 * type, so the parser asks its caller (the evaluator knows the program's typedefs).
 */
import { syntaxError, tokenize, type Token } from './lexer';

export interface TypeAst {
  base: { kind: 'builtin'; words: string[] } | { kind: 'tag'; tag: 'struct' | 'union' | 'enum'; name: string } | { kind: 'typedef'; name: string };
  quals: { const?: boolean; volatile?: boolean };
  decl: Declarator;
  pos: number;
}

export interface Declarator {
  /** Qualifiers of each `*`, left to right. */
  ptrs: Array<{ const?: boolean; volatile?: boolean }>;
  inner?: Declarator;
  suffixes: Array<{ op: 'array'; length?: number } | { op: 'func'; params: TypeAst[]; variadic: boolean; noProto: boolean }>;
}

export type Node =
  | { k: 'int'; value: bigint; base: number; unsigned: boolean; longs: number; pos: number }
  | { k: 'float'; value: number; text: string; suffix: '' | 'f' | 'l'; pos: number }
  | { k: 'char'; value: number; prefix: '' | 'L' | 'u' | 'U'; pos: number }
  | { k: 'string'; value: number[]; prefix: '' | 'L' | 'u' | 'U'; pos: number }
  | { k: 'ident'; name: string; scope?: { file?: string; function?: string; quoted: boolean }; pos: number }
  | { k: 'member'; obj: Node; name: string; arrow: boolean; pos: number }
  | { k: 'index'; obj: Node; index: Node; pos: number }
  | { k: 'unary'; op: '-' | '+' | '!' | '~' | '*' | '&'; operand: Node; pos: number }
  | { k: 'cast'; type: TypeAst; operand: Node; pos: number; cxx?: CxxCast }
  /** gdb's `{type} addr`: the object of that type at that address. */
  | { k: 'brace'; type: TypeAst; operand: Node; pos: number }
  | { k: 'sizeof'; type?: TypeAst; operand?: Node; pos: number }
  | { k: 'binary'; op: string; left: Node; right: Node; pos: number }
  | { k: 'ternary'; cond: Node; then: Node; else: Node; pos: number }
  | { k: 'comma'; left: Node; right: Node; pos: number }
  | { k: 'at'; left: Node; right: Node; pos: number };

const BUILTIN_WORDS = new Set([
  'void',
  'char',
  'short',
  'int',
  'long',
  'float',
  'double',
  'signed',
  'unsigned',
  '_Bool',
  '_Float128',
  '__float128',
  '_Complex',
]);
const QUALS = new Set(['const', 'volatile', 'restrict', '__restrict', '_Atomic']);
export type CxxCast = 'static_cast' | 'reinterpret_cast' | 'const_cast' | 'dynamic_cast';
const CXX_CASTS = new Set<string>(['static_cast', 'reinterpret_cast', 'const_cast', 'dynamic_cast']);

export interface ParseHooks {
  /** True when `name` names a typedef (or base type name) in the program. */
  isTypeName(name: string): boolean;
  /** Throws when `name` names nothing: gdb reports unknown names while parsing, left to right. */
  checkName?(name: string, pos: number): void;
}

const BINARY_LEVELS: string[][] = [['||'], ['&&'], ['|'], ['^'], ['&'], ['==', '!='], ['<', '>', '<=', '>='], ['<<', '>>'], ['@'], ['+', '-'], ['*', '/', '%']];

export function parseExpression(expr: string, hooks: ParseHooks): Node {
  const p = new Parser(expr, tokenize(expr), hooks);
  const node = p.comma();
  if (p.peek().k !== 'eof') throw syntaxError(expr, p.peek().pos);
  checkTreeDepth(expr, node);
  return node;
}

/**
 * The evaluator walks the tree recursively: a chain of 50,000 `+` (parsed by a loop, so the
 * parser's own guard never sees it) would overflow its stack. Measured without recursion.
 */
function checkTreeDepth(expr: string, root: Node): void {
  const stack: Array<[Node, number]> = [[root, 1]];
  while (stack.length > 0) {
    const [n, d] = stack.pop()!;
    if (d > MAX_DEPTH) throw tooDeep(expr, n.pos);
    for (const c of childNodes(n)) stack.push([c, d + 1]);
  }
}

function childNodes(n: Node): Node[] {
  switch (n.k) {
    case 'member':
      return [n.obj];
    case 'index':
      return [n.obj, n.index];
    case 'unary':
    case 'cast':
    case 'brace':
      return [n.operand];
    case 'sizeof':
      return n.operand ? [n.operand] : [];
    case 'binary':
    case 'comma':
    case 'at':
      return [n.left, n.right];
    case 'ternary':
      return [n.cond, n.then, n.else];
    default:
      return [];
  }
}

function tooDeep(expr: string, pos: number) {
  return syntaxError(
    expr,
    pos,
    `Expression nested more than ${MAX_DEPTH} levels deep (operators, members, subscripts, conditionals and parentheses all count); split it into smaller expressions.`,
  );
}

/** Parses a bare type name (used by `whatis`-like callers and tests). */
export function parseTypeName(text: string, hooks: ParseHooks): TypeAst {
  const p = new Parser(text, tokenize(text), hooks);
  const t = p.typeName();
  if (p.peek().k !== 'eof') throw syntaxError(text, p.peek().pos);
  return t;
}

/** Nesting beyond this is refused (a hostile expression must not overflow the stack). */
const MAX_DEPTH = 256;
/** The parser's own recursion: one level of parentheses passes three rules (comma, ?:, unary). */
const MAX_PARSE_DEPTH = 3 * MAX_DEPTH;

class Parser {
  private i = 0;
  private depth = 0;

  constructor(
    private readonly expr: string,
    private readonly toks: Token[],
    private readonly hooks: ParseHooks,
  ) {}

  peek(o = 0): Token {
    return this.toks[Math.min(this.i + o, this.toks.length - 1)];
  }

  private next(): Token {
    return this.toks[this.i++];
  }

  private isPunct(text: string, o = 0): boolean {
    const t = this.peek(o);
    return t.k === 'punct' && t.text === text;
  }

  private expect(text: string): Token {
    const t = this.peek();
    if (t.k !== 'punct' || t.text !== text) throw syntaxError(this.expr, t.pos);
    return this.next();
  }

  comma(): Node {
    return this.nested(() => this.commaInner());
  }

  private commaInner(): Node {
    let left = this.assignment();
    while (this.isPunct(',')) {
      const pos = this.next().pos;
      const right = this.assignment();
      left = { k: 'comma', left, right, pos };
    }
    return left;
  }

  private assignment(): Node {
    const left = this.ternary();
    const t = this.peek();
    if (t.k === 'punct' && /^(=|\+=|-=|\*=|\/=|%=|&=|\|=|\^=|<<=|>>=)$/.test(t.text)) {
      throw syntaxError(this.expr, t.pos, 'Assignment is not supported: pidscope never writes to the target from an expression.');
    }
    return left;
  }

  private ternary(): Node {
    return this.nested(() => this.ternaryInner());
  }

  private ternaryInner(): Node {
    const cond = this.binary(0);
    if (this.isPunct('?')) {
      const pos = this.next().pos;
      const then = this.comma();
      this.expect(':');
      const els = this.ternary();
      return { k: 'ternary', cond, then, else: els, pos };
    }
    return cond;
  }

  private binary(level: number): Node {
    if (level >= BINARY_LEVELS.length) return this.unary();
    let left = this.binary(level + 1);
    for (;;) {
      const t = this.peek();
      if (t.k !== 'punct' || !BINARY_LEVELS[level].includes(t.text)) return left;
      this.next();
      const right = this.binary(level + 1);
      left = t.text === '@' ? { k: 'at', left, right, pos: t.pos } : { k: 'binary', op: t.text, left, right, pos: t.pos };
    }
  }

  private startsType(o = 0): boolean {
    const t = this.peek(o);
    if (t.k !== 'ident') return false;
    if (BUILTIN_WORDS.has(t.text) || QUALS.has(t.text) || t.text === 'struct' || t.text === 'union' || t.text === 'enum') return true;
    const q = this.qualifiedAt(o);
    return q !== undefined ? this.hooks.isTypeName(q.text) : this.hooks.isTypeName(t.text);
  }

  /**
   * C++ `a::b::c` and `Box<int, 3>` starting at token offset o, spelled as the DWARF names them
   * (undefined unless a `::` or a `<` follows the first name).
   */
  private qualifiedAt(o: number): { text: string; tokens: number } | undefined {
    let text = this.peek(o).text;
    let n = 1;
    for (;;) {
      const p = this.peek(o + n);
      if (p.k === 'punct' && p.text === '::' && this.peek(o + n + 1).k === 'ident') {
        text += `::${this.peek(o + n + 1).text}`;
        n += 2;
      } else if (p.k === 'punct' && p.text === '<') {
        const args = this.templateArgsAt(o + n);
        if (!args) break;
        text += args.text;
        n += args.tokens;
      } else break;
    }
    return n > 1 ? { text, tokens: n } : undefined;
  }

  /** `<int, 3>` at token offset o (its closing `>` found by depth), or undefined. */
  private templateArgsAt(o: number): { text: string; tokens: number } | undefined {
    let depth = 0;
    const parts: string[] = [];
    for (let n = 0; n < 64; n++) {
      const t = this.peek(o + n);
      if (t.k === 'eof') return undefined;
      if (t.k === 'punct' && (t.text === '(' || t.text === ')' || t.text === ';')) return undefined;
      if (t.k === 'punct' && t.text === '<') depth++;
      if (t.k === 'punct' && (t.text === '>' || t.text === '>>')) depth -= t.text.length;
      const prev = parts[parts.length - 1];
      const word = /^[\w$]/.test(t.text);
      if (t.k === 'punct' && t.text === ',') parts.push(', ');
      else if (t.k === 'punct' && t.text === '>' && prev !== undefined && prev.endsWith('>')) parts.push(' >');
      else parts.push(word && prev !== undefined && /[\w$]$/.test(prev) ? ` ${t.text}` : t.text);
      if (depth === 0) return { text: parts.join('').replace(/>>/g, '> >'), tokens: n + 1 };
      if (depth < 0) return undefined;
    }
    return undefined;
  }

  /** Every recursive rule passes here, so no input can overflow the parser's stack. */
  private nested<T>(f: () => T): T {
    if (++this.depth > MAX_PARSE_DEPTH) throw tooDeep(this.expr, this.peek().pos);
    try {
      return f();
    } finally {
      this.depth--;
    }
  }

  private unary(): Node {
    return this.nested(() => this.unaryInner());
  }

  private unaryInner(): Node {
    const t = this.peek();
    if (t.k === 'punct') {
      if (t.text === '-' || t.text === '+' || t.text === '!' || t.text === '~' || t.text === '*' || t.text === '&') {
        this.next();
        return { k: 'unary', op: t.text, operand: this.unary(), pos: t.pos };
      }
      if (t.text === '++' || t.text === '--') {
        throw syntaxError(this.expr, t.pos, `${t.text} is not supported: pidscope never writes to the target from an expression.`);
      }
      if (t.text === '(' && this.startsType(1)) {
        this.next();
        const type = this.typeName();
        this.expect(')');
        return { k: 'cast', type, operand: this.unary(), pos: t.pos };
      }
      if (t.text === '{' && this.startsType(1)) {
        this.next();
        const type = this.typeName();
        this.expect('}');
        return { k: 'brace', type, operand: this.unary(), pos: t.pos };
      }
    }
    // C++ `static_cast<T>(e)` and friends (the name-only spelling leaves `x < y` alone).
    if (t.k === 'ident' && CXX_CASTS.has(t.text) && this.isPunct('<', 1)) {
      this.next();
      this.next();
      const type = this.typeName();
      this.expect('>');
      this.expect('(');
      const operand = this.comma();
      this.expect(')');
      return this.postfix({ k: 'cast', type, operand, pos: t.pos, cxx: t.text as CxxCast });
    }
    if (t.k === 'ident' && t.text === 'sizeof') {
      this.next();
      if (this.isPunct('(') && this.startsType(1)) {
        this.next();
        const type = this.typeName();
        this.expect(')');
        return { k: 'sizeof', type, pos: t.pos };
      }
      return { k: 'sizeof', operand: this.unary(), pos: t.pos };
    }
    return this.postfix(this.primary());
  }

  private postfix(node: Node): Node {
    for (;;) {
      const t = this.peek();
      if (t.k !== 'punct') return node;
      if (t.text === '[') {
        this.next();
        const index = this.comma();
        this.expect(']');
        node = { k: 'index', obj: node, index, pos: t.pos };
      } else if (t.text === '.' || t.text === '->') {
        this.next();
        const name = this.peek();
        if (name.k !== 'ident') throw syntaxError(this.expr, name.pos);
        this.next();
        node = { k: 'member', obj: node, name: name.text, arrow: t.text === '->', pos: t.pos };
      } else if (t.text === '(') {
        throw syntaxError(this.expr, t.pos, 'Function calls are not supported: they would need to stop the target.');
      } else if (t.text === '++' || t.text === '--') {
        throw syntaxError(this.expr, t.pos, `${t.text} is not supported: pidscope never writes to the target from an expression.`);
      } else return node;
    }
  }

  private primary(): Node {
    const t = this.next();
    switch (t.k) {
      case 'int':
        return { k: 'int', value: t.value, base: t.base, unsigned: t.unsigned, longs: t.longs, pos: t.pos };
      case 'float':
        return { k: 'float', value: t.value, text: t.text, suffix: t.suffix, pos: t.pos };
      case 'char':
        return { k: 'char', value: t.value, prefix: t.prefix, pos: t.pos };
      case 'string': {
        // Adjacent literals concatenate.
        const value = [...t.value];
        while (this.peek().k === 'string') value.push(...(this.next() as Extract<Token, { k: 'string' }>).value);
        return { k: 'string', value, prefix: t.prefix, pos: t.pos };
      }
      case 'qname':
      case 'ident': {
        if (this.isPunct('::')) {
          this.next();
          const name = this.next();
          if (name.k !== 'ident' && name.k !== 'qname') throw syntaxError(this.expr, name.pos);
          const quoted = t.k === 'qname';
          // C++ `ns::inner::name`: the scope is everything before the last `::`.
          let outer = t.text;
          let last = name;
          while (this.isPunct('::')) {
            this.next();
            const more = this.next();
            if (more.k !== 'ident') throw syntaxError(this.expr, more.pos);
            outer = `${outer}::${last.text}`;
            last = more;
          }
          const scope = /\.[A-Za-z0-9]+$/.test(t.text) && quoted && outer === t.text ? { file: t.text, quoted } : { function: outer, quoted };
          return { k: 'ident', name: last.text, scope, pos: t.pos };
        }
        if (t.k === 'ident') {
          // gdb (bison) sees a token that cannot follow a name before it reduces the name.
          const nx = this.peek();
          if (nx.k !== 'punct' && nx.k !== 'eof') throw syntaxError(this.expr, nx.pos);
          this.hooks.checkName?.(t.text, t.pos);
        }
        return { k: 'ident', name: t.text, pos: t.pos };
      }
      case 'punct':
        // C++ `::name`: the global scope (pidscope has no other scope to leave).
        if (t.text === '::' && this.peek().k === 'ident') return this.primary();
        if (t.text === '(') {
          const e = this.comma();
          this.expect(')');
          return e;
        }
        throw syntaxError(this.expr, t.pos);
      case 'eof':
        throw syntaxError(this.expr, t.pos);
    }
  }

  typeName(): TypeAst {
    return this.nested(() => this.typeNameInner());
  }

  private typeNameInner(): TypeAst {
    const pos = this.peek().pos;
    const quals: TypeAst['quals'] = {};
    const words: string[] = [];
    let base: TypeAst['base'] | undefined;
    for (;;) {
      const t = this.peek();
      if (t.k !== 'ident') break;
      if (QUALS.has(t.text)) {
        this.next();
        if (t.text === 'const') quals.const = true;
        if (t.text === 'volatile') quals.volatile = true;
        continue;
      }
      if (!base && (t.text === 'struct' || t.text === 'union' || t.text === 'enum')) {
        if (words.length) throw syntaxError(this.expr, t.pos);
        this.next();
        const name = this.next();
        if (name.k !== 'ident') throw syntaxError(this.expr, name.pos);
        base = { kind: 'tag', tag: t.text, name: name.text };
        continue;
      }
      if (!base && BUILTIN_WORDS.has(t.text)) {
        this.next();
        words.push(t.text);
        continue;
      }
      const q = !base && words.length === 0 ? this.qualifiedAt(0) : undefined;
      if (q && this.hooks.isTypeName(q.text)) {
        for (let i = 0; i < q.tokens; i++) this.next();
        base = { kind: 'typedef', name: q.text };
        continue;
      }
      if (!base && words.length === 0 && this.hooks.isTypeName(t.text)) {
        this.next();
        base = { kind: 'typedef', name: t.text };
        continue;
      }
      break;
    }
    if (!base) {
      if (!words.length) throw syntaxError(this.expr, this.peek().pos);
      base = { kind: 'builtin', words };
    } else if (words.length) throw syntaxError(this.expr, pos);
    const decl = this.abstractDeclarator();
    return { base, quals, decl, pos };
  }

  private abstractDeclarator(): Declarator {
    return this.nested(() => this.abstractDeclaratorInner());
  }

  private abstractDeclaratorInner(): Declarator {
    const ptrs: Declarator['ptrs'] = [];
    while (this.isPunct('*')) {
      this.next();
      const q: { const?: boolean; volatile?: boolean } = {};
      while (this.peek().k === 'ident' && QUALS.has(this.peek().text)) {
        const w = this.next().text;
        if (w === 'const') q.const = true;
        if (w === 'volatile') q.volatile = true;
      }
      ptrs.push(q);
    }
    let inner: Declarator | undefined;
    // `(` starts a nested declarator when followed by `*` or `(`/`[`; otherwise a parameter list.
    if (this.isPunct('(') && (this.isPunct('*', 1) || this.isPunct('[', 1) || (this.isPunct('(', 1) && !this.startsType(2)))) {
      this.next();
      inner = this.abstractDeclarator();
      this.expect(')');
    }
    const suffixes: Declarator['suffixes'] = [];
    for (;;) {
      if (this.isPunct('[')) {
        this.next();
        let length: number | undefined;
        const t = this.peek();
        if (t.k === 'int') {
          this.next();
          length = Number(t.value);
        }
        this.expect(']');
        suffixes.push({ op: 'array', length });
      } else if (this.isPunct('(')) {
        this.next();
        const params: TypeAst[] = [];
        let variadic = false;
        let noProto = true;
        if (!this.isPunct(')')) {
          noProto = false;
          for (;;) {
            if (this.isPunct('...')) {
              this.next();
              variadic = true;
              break;
            }
            params.push(this.typeName());
            if (!this.isPunct(',')) break;
            this.next();
          }
        }
        this.expect(')');
        // `(void)` means no parameters.
        if (
          params.length === 1 &&
          params[0].base.kind === 'builtin' &&
          params[0].base.words.join(' ') === 'void' &&
          !params[0].decl.ptrs.length &&
          !params[0].decl.suffixes.length &&
          !params[0].decl.inner
        )
          params.length = 0;
        suffixes.push({ op: 'func', params, variadic, noProto });
      } else break;
    }
    return { ptrs, inner, suffixes };
  }
}
