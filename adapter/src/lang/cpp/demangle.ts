/**
 * A compact Itanium C++ ABI demangler (https://itanium-cxx-abi.github.io/cxx-abi/abi.html#mangling)
 * for the names gdb shows after pointers (`<ns::g_widget>`, `<vtable for Circle+16>`,
 * `<ns::Widget::get() const>`), checked against c++filt. No npm package is a well-kept standard
 * for this; what this one cannot parse it returns undefined, and callers show the symbol as is.
 *
 * Covered: nested and unscoped names, std:: abbreviations, ctors/dtors, operators, lambdas and
 * unnamed types, anonymous namespaces, templates (types and literals), substitutions, template
 * parameters, functions (parameters, cv and ref qualifiers), pointers, references, arrays,
 * function types, pointers to members, special names (vtable, VTT, typeinfo, guard variables,
 * thunks), local names and clone suffixes (`.cold`, `.constprop.0`).
 */

type T =
  | { k: 'name'; s: string; template?: boolean; ctor?: boolean }
  | { k: 'ptr'; op: '*' | '&' | '&&'; t: T }
  | { k: 'cv'; q: string; t: T }
  | { k: 'fn'; ret?: T; params: T[]; q: string }
  | { k: 'arr'; dim: string; t: T }
  | { k: 'memptr'; cls: T; t: T };

const BUILTIN: Record<string, string> = {
  v: 'void',
  w: 'wchar_t',
  b: 'bool',
  c: 'char',
  a: 'signed char',
  h: 'unsigned char',
  s: 'short',
  t: 'unsigned short',
  i: 'int',
  j: 'unsigned int',
  l: 'long',
  m: 'unsigned long',
  x: 'long long',
  y: 'unsigned long long',
  n: '__int128',
  o: 'unsigned __int128',
  f: 'float',
  d: 'double',
  e: 'long double',
  g: '__float128',
  z: '...',
};
const BUILTIN_D: Record<string, string> = {
  n: 'decltype(nullptr)',
  u: 'char8_t',
  s: 'char16_t',
  i: 'char32_t',
  a: 'auto',
  c: 'decltype(auto)',
  f: 'decimal32',
  d: 'decimal64',
  e: 'decimal128',
  h: 'half',
};
const STD_SUBS: Record<string, string> = {
  a: 'std::allocator',
  b: 'std::basic_string',
  s: 'std::string',
  i: 'std::istream',
  o: 'std::ostream',
  d: 'std::iostream',
};
/** Their full spelling, used (as libiberty does) when a constructor or destructor follows. */
const STD_SUBS_FULL: Record<string, string> = {
  s: 'std::basic_string<char, std::char_traits<char>, std::allocator<char> >',
  i: 'std::basic_istream<char, std::char_traits<char> >',
  o: 'std::basic_ostream<char, std::char_traits<char> >',
  d: 'std::basic_iostream<char, std::char_traits<char> >',
};
const OPERATORS: Record<string, string> = {
  nw: 'new',
  na: 'new[]',
  dl: 'delete',
  da: 'delete[]',
  ps: '+',
  ng: '-',
  ad: '&',
  de: '*',
  co: '~',
  pl: '+',
  mi: '-',
  ml: '*',
  dv: '/',
  rm: '%',
  an: '&',
  or: '|',
  eo: '^',
  aS: '=',
  pL: '+=',
  mI: '-=',
  mL: '*=',
  dV: '/=',
  rM: '%=',
  aN: '&=',
  oR: '|=',
  eO: '^=',
  ls: '<<',
  rs: '>>',
  lS: '<<=',
  rS: '>>=',
  eq: '==',
  ne: '!=',
  lt: '<',
  gt: '>',
  le: '<=',
  ge: '>=',
  ss: '<=>',
  nt: '!',
  aa: '&&',
  oo: '||',
  pp: '++',
  mm: '--',
  cm: ',',
  pm: '->*',
  pt: '->',
  cl: '()',
  ix: '[]',
  qu: '?',
};

class Fail extends Error {}

class Parser {
  private i = 0;
  private readonly subs: T[] = [];
  private templateArgs: T[] = [];
  private typeDepth = 0;

  constructor(private readonly s: string) {}

  private peek(n = 0): string {
    return this.s[this.i + n] ?? '';
  }

  private eat(str: string): boolean {
    if (this.s.startsWith(str, this.i)) {
      this.i += str.length;
      return true;
    }
    return false;
  }

  private need(str: string): void {
    if (!this.eat(str)) throw new Fail(str);
  }

  private number(): number {
    const m = /^n?\d+/.exec(this.s.slice(this.i));
    if (!m) throw new Fail('number');
    this.i += m[0].length;
    return m[0][0] === 'n' ? -Number(m[0].slice(1)) : Number(m[0]);
  }

  private seqId(): number {
    // <seq-id>_ in base 36 (digits and upper-case letters); `_` alone is 0.
    if (this.eat('_')) return 0;
    const m = /^[0-9A-Z]+/.exec(this.s.slice(this.i));
    if (!m) throw new Fail('seq-id');
    this.i += m[0].length;
    this.need('_');
    return parseInt(m[0], 36) + 1;
  }

  atEnd(): boolean {
    return this.i >= this.s.length;
  }

  rest(): string {
    return this.s.slice(this.i);
  }

  encoding(): string {
    const special = this.specialName();
    if (special !== undefined) return special;
    const name = this.name();
    if (this.atEnd() || this.peek() === 'E' || this.peek() === '.') return str(name.t);
    // A function: template functions (not ctors/dtors/conversions) carry their return type first.
    let ret: T | undefined;
    if (name.template && !name.ctor) ret = this.type();
    const params = this.params();
    const fn: T = { k: 'fn', ret, params, q: name.q };
    return declare(fn, str(name.t));
  }

  private params(): T[] {
    const out: T[] = [];
    while (!this.atEnd() && this.peek() !== 'E' && this.peek() !== '.') out.push(this.type());
    if (out.length === 1 && out[0].k === 'name' && out[0].s === 'void') return [];
    return out;
  }

  private specialName(): string | undefined {
    const two = this.s.slice(this.i, this.i + 2);
    const table: Record<string, string> = { TV: 'vtable for ', TT: 'VTT for ', TI: 'typeinfo for ', TS: 'typeinfo name for ' };
    if (table[two]) {
      this.i += 2;
      return table[two] + str(this.type());
    }
    if (two === 'TC') {
      this.i += 2;
      const outer = str(this.type());
      this.number();
      this.need('_');
      return `construction vtable for ${str(this.type())}-in-${outer}`;
    }
    if (two === 'GV') {
      this.i += 2;
      return 'guard variable for ' + str(this.name().t);
    }
    if (two === 'GR') {
      this.i += 2;
      const n = str(this.name().t);
      if (!this.eat('_')) this.seqId();
      return 'reference temporary for ' + n;
    }
    if (two === 'Th' || two === 'Tv') {
      this.i += 2;
      this.number();
      this.need('_');
      if (two === 'Tv') {
        this.number();
        this.need('_');
      }
      return `${two === 'Th' ? 'non-virtual' : 'virtual'} thunk to ${this.encoding()}`;
    }
    return undefined;
  }

  /** <name>, with what a function needs to know about it. */
  private name(): { t: T; template: boolean; ctor: boolean; q: string } {
    if (this.peek() === 'N') return this.nested();
    if (this.peek() === 'Z') {
      this.i++;
      const outer = this.encoding();
      this.need('E');
      if (this.eat('s')) {
        this.discriminator();
        return { t: { k: 'name', s: `${outer}::string literal` }, template: false, ctor: false, q: '' };
      }
      const inner = this.name();
      this.discriminator();
      return { ...inner, t: { k: 'name', s: `${outer}::${str(inner.t)}` } };
    }
    let t: T;
    if (this.eat('St')) t = { k: 'name', s: `std::${this.unqualified(undefined).s}` };
    else if (this.peek() === 'S') {
      t = this.substitution();
      if (this.peek() !== 'I') throw new Fail('substitution as name');
    } else t = this.unqualified(undefined);
    if (this.peek() === 'I') {
      if (t.k === 'name') this.subs.push(t);
      const args = this.withArgs(str(t));
      return { t: { k: 'name', s: args }, template: true, ctor: false, q: '' };
    }
    return { t, template: false, ctor: false, q: '' };
  }

  private discriminator(): void {
    if (this.eat('_')) {
      if (this.eat('_')) {
        this.number();
        this.need('_');
      } else this.number();
    }
  }

  private nested(): { t: T; template: boolean; ctor: boolean; q: string } {
    this.need('N');
    let q = '';
    while ('rVK'.includes(this.peek()) && this.peek() !== '') {
      const c = this.s[this.i++];
      q = (c === 'K' ? ' const' : c === 'V' ? ' volatile' : ' restrict') + q;
    }
    if (this.eat('R')) q += ' &';
    else if (this.eat('O')) q += ' &&';
    let prefix: string | undefined;
    let last: { k: 'name'; s: string; ctor?: boolean } | undefined;
    let template = false;
    let ctor = false;
    while (!this.eat('E')) {
      if (this.atEnd()) throw new Fail('nested');
      let part: string;
      template = false;
      if (prefix === undefined && this.eat('St')) {
        part = `std::${this.unqualified(undefined).s}`;
        prefix = undefined;
        last = { k: 'name', s: part };
        prefix = part;
        this.subs.push({ k: 'name', s: prefix });
        continue;
      }
      if (this.peek() === 'S' && this.peek(1) !== 't') {
        part = str(this.substitution());
        prefix = part;
        last = { k: 'name', s: part };
        continue;
      }
      if (this.peek() === 'T') {
        part = str(this.templateParam());
        prefix = part;
        this.subs.push({ k: 'name', s: prefix });
        last = { k: 'name', s: part };
        continue;
      }
      if (this.peek() === 'I') {
        if (prefix === undefined) throw new Fail('template args without a name');
        prefix = this.withArgs(prefix);
        template = true;
        last = { k: 'name', s: prefix };
        if (this.peek() !== 'E') this.subs.push({ k: 'name', s: prefix });
        continue;
      }
      if (this.eat('M')) continue; // data-member-prefix of a closure in an initializer
      const u = this.unqualified(prefix);
      ctor = !!u.ctor;
      prefix = prefix === undefined ? u.s : `${prefix}::${u.s}`;
      last = { k: 'name', s: prefix };
      if (this.peek() !== 'E') this.subs.push({ k: 'name', s: prefix });
    }
    if (!last) throw new Fail('empty nested name');
    return { t: { k: 'name', s: last.s }, template, ctor, q };
  }

  private unqualified(prefix: string | undefined): { k: 'name'; s: string; ctor?: boolean } {
    const c = this.peek();
    if (/\d/.test(c)) {
      const len = this.number();
      const id = this.s.slice(this.i, this.i + len);
      if (id.length !== len) throw new Fail('source name');
      this.i += len;
      let out = id.startsWith('_GLOBAL__N') ? '(anonymous namespace)' : id;
      // ABI tags: `B5cxx11` → `[abi:cxx11]`.
      while (this.peek() === 'B' && /\d/.test(this.peek(1))) {
        this.i++;
        const n = this.number();
        out += `[abi:${this.s.slice(this.i, this.i + n)}]`;
        this.i += n;
      }
      return { k: 'name', s: out };
    }
    if (c === 'C' && /[1-5I]/.test(this.peek(1))) {
      this.i += 2;
      return { k: 'name', s: lastComponent(prefix), ctor: true };
    }
    if (c === 'D' && /[0-5]/.test(this.peek(1))) {
      this.i += 2;
      return { k: 'name', s: `~${lastComponent(prefix)}`, ctor: true };
    }
    if (this.eat('Ut')) {
      const n = this.eat('_') ? 1 : this.number() + 2;
      if (n !== 1) this.need('_');
      return { k: 'name', s: `{unnamed type#${n}}` };
    }
    if (this.eat('Ul')) {
      const ps = this.params();
      this.need('E');
      const n = this.eat('_') ? 1 : this.number() + 2;
      if (n !== 1) this.need('_');
      return { k: 'name', s: `{lambda(${ps.map(str).join(', ')})#${n}}` };
    }
    if (this.eat('cv')) return { k: 'name', s: `operator ${str(this.type())}`, ctor: true };
    if (this.eat('li')) return { k: 'name', s: `operator"" ${this.unqualified(undefined).s}` };
    const op = OPERATORS[this.s.slice(this.i, this.i + 2)];
    if (op) {
      this.i += 2;
      return { k: 'name', s: `operator${/^[a-z]/.test(op) ? ' ' : ''}${op}` };
    }
    if (this.eat('L')) return this.unqualified(prefix); // internal linkage marker
    throw new Fail(`unqualified name at ${this.rest()}`);
  }

  private substitution(): T {
    this.need('S');
    const c = this.peek();
    if (STD_SUBS[c]) {
      this.i++;
      const next = this.peek();
      if (STD_SUBS_FULL[c] && (next === 'C' || next === 'D')) return { k: 'name', s: STD_SUBS_FULL[c] };
      return { k: 'name', s: STD_SUBS[c] };
    }
    const id = this.seqId();
    const t = this.subs[id];
    if (!t) throw new Fail('substitution');
    return t;
  }

  private templateParam(): T {
    this.need('T');
    const id = this.seqId();
    const t = this.templateArgs[id];
    if (!t) throw new Fail('template parameter');
    return t;
  }

  private templateArgsList(): string {
    this.need('I');
    const args: T[] = [];
    while (!this.eat('E')) {
      if (this.atEnd()) throw new Fail('template args');
      args.push(this.templateArg());
    }
    // Only the encoding's own name binds T_ (args inside a parameter's type do not).
    if (this.typeDepth === 0) this.templateArgs = args;
    const text = args.map(str).join(', ');
    return `<${text}${text.endsWith('>') ? ' ' : ''}>`;
  }

  /** `name<args>`, with the space c++filt puts after `operator<`. */
  private withArgs(name: string): string {
    return `${name}${name.endsWith('<') ? ' ' : ''}${this.templateArgsList()}`;
  }

  private templateArg(): T {
    if (this.eat('L')) {
      if (this.eat('_Z')) {
        const e = this.encoding();
        this.need('E');
        return { k: 'name', s: e };
      }
      const t = this.type();
      const neg = this.eat('n');
      const m = /^[0-9a-f]*/.exec(this.rest())!;
      this.i += m[0].length;
      this.need('E');
      const ts = str(t);
      const v = `${neg ? '-' : ''}${m[0]}`;
      if (ts === 'bool') return { k: 'name', s: v === '0' ? 'false' : 'true' };
      if (ts === 'int') return { k: 'name', s: v };
      const suffix: Record<string, string> = { 'unsigned int': 'u', long: 'l', 'unsigned long': 'ul', 'long long': 'll', 'unsigned long long': 'ull' };
      return { k: 'name', s: suffix[ts] !== undefined ? v + suffix[ts] : `(${ts})${v}` };
    }
    if (this.eat('J')) {
      const out: T[] = [];
      while (!this.eat('E')) out.push(this.templateArg());
      return { k: 'name', s: out.map(str).join(', ') };
    }
    if (this.peek() === 'X') throw new Fail('expression template argument');
    return this.type();
  }

  type(): T {
    this.typeDepth++;
    try {
      return this.typeInner();
    } finally {
      this.typeDepth--;
    }
  }

  private typeInner(): T {
    const c = this.peek();
    if (BUILTIN[c]) {
      this.i++;
      return { k: 'name', s: BUILTIN[c] };
    }
    if (c === 'D' && BUILTIN_D[this.peek(1)]) {
      this.i += 2;
      return { k: 'name', s: BUILTIN_D[this.s[this.i - 1]] };
    }
    let t: T;
    if (c === 'u') {
      this.i++;
      t = { k: 'name', s: this.unqualified(undefined).s };
      return t;
    }
    if ('rVK'.includes(c) && c !== '') {
      let q = '';
      while ('rVK'.includes(this.peek()) && this.peek() !== '') {
        const x = this.s[this.i++];
        q = (x === 'K' ? ' const' : x === 'V' ? ' volatile' : ' restrict') + q;
      }
      const inner = this.type();
      t = inner.k === 'fn' ? { ...inner, q: inner.q + q } : { k: 'cv', q: q.trim(), t: inner };
    } else if (c === 'P' || c === 'R' || c === 'O') {
      this.i++;
      t = { k: 'ptr', op: c === 'P' ? '*' : c === 'R' ? '&' : '&&', t: this.type() };
    } else if (c === 'F') {
      this.i++;
      this.eat('Y');
      const ret = this.type();
      const params: T[] = [];
      while (!this.eat('E')) {
        // A ref-qualifier of the function type (`F v v R E`).
        if ((this.peek() === 'R' || this.peek() === 'O') && this.peek(1) === 'E') {
          this.i++;
          continue;
        }
        params.push(this.type());
      }
      t = { k: 'fn', ret, params: params.length === 1 && str(params[0]) === 'void' ? [] : params, q: '' };
    } else if (c === 'A') {
      this.i++;
      const m = /^\d*/.exec(this.rest())!;
      this.i += m[0].length;
      this.need('_');
      t = { k: 'arr', dim: m[0], t: this.type() };
    } else if (c === 'M') {
      this.i++;
      const cls = this.type();
      t = { k: 'memptr', cls, t: this.type() };
    } else if (c === 'T') {
      t = this.templateParam();
      this.subs.push(t);
      if (this.peek() === 'I') {
        t = { k: 'name', s: str(t) + this.templateArgsList() };
      } else return t;
    } else if (c === 'S' && this.peek(1) !== 't') {
      t = this.substitution();
      if (this.peek() !== 'I') return t;
      t = { k: 'name', s: str(t) + this.templateArgsList() };
    } else if (c === 'D' && this.peek(1) === 'p') {
      this.i += 2;
      return this.type();
    } else {
      t = this.name().t;
    }
    this.subs.push(t);
    return t;
  }
}

function lastComponent(prefix: string | undefined): string {
  if (!prefix) throw new Fail('ctor without a class');
  // The class name without its template arguments (`Box<int, 3>` → `Box`) and scope.
  let depth = 0;
  let start = 0;
  for (let i = 0; i < prefix.length; i++) {
    const ch = prefix[i];
    if (ch === '<') depth++;
    else if (ch === '>') depth--;
    else if (ch === ':' && prefix[i + 1] === ':' && depth === 0) start = i + 2;
  }
  const last = prefix.slice(start);
  const lt = last.indexOf('<');
  return lt >= 0 ? last.slice(0, lt) : last;
}

/** The text of a type, as c++filt writes it. */
function str(t: T): string {
  return declare(t, '');
}

/** c++filt's spacing: `char*`, `char const&`, but `int (*) [3]`. */
function attach(base: string, decl: string): string {
  if (!decl) return base;
  return /^[*&]/.test(decl) ? base + decl : `${base} ${decl}`;
}

/** `t` declaring `decl` (inside-out, as C declarators are read). */
function declare(t: T, decl: string): string {
  switch (t.k) {
    case 'name':
      return attach(t.s, decl);
    case 'cv':
      if (t.t.k === 'ptr' || t.t.k === 'memptr') return declare(t.t, ` ${t.q}${decl}`);
      return attach(`${declare(t.t, '')} ${t.q}`, decl);
    case 'ptr': {
      const d = `${t.op}${decl}`;
      if (t.t.k === 'fn' || t.t.k === 'arr') return declare(t.t, `(${d})`);
      return declare(t.t, d);
    }
    case 'memptr': {
      const d = `${str(t.cls)}::*${decl}`;
      if (t.t.k === 'fn') return declare(t.t, `(${d})`);
      return `${str(t.t)} ${d}`;
    }
    case 'arr':
      return declare(t.t, `${decl ? `${decl} ` : ''}[${t.dim}]`.replace(/^\((.*)\) \[/, '($1) ['));
    case 'fn': {
      const params = `(${t.params.map(str).join(', ')})${t.q}`;
      const head = decl ? `${decl}${params}` : params;
      return t.ret ? `${str(t.ret)} ${head}` : head;
    }
  }
}

/** The demangled name, or undefined when `name` is not an Itanium name this parser knows. */
export function demangle(name: string): string | undefined {
  if (!name.startsWith('_Z')) return undefined;
  try {
    const p = new Parser(name.slice(2));
    const out = p.encoding();
    const rest = p.rest();
    if (rest === '') return out;
    // Clone suffixes: `.cold`, `.constprop.0`, `.isra.0`, `.part.0` (c++filt: ` [clone .cold]`).
    const m = /^((\.[A-Za-z_]+(\.\d+)*)+|(\.\d+)+)$/.exec(rest);
    if (!m) return undefined;
    const clones = rest.match(/\.[A-Za-z_]+(\.\d+)*|\.\d+/g) ?? [];
    return out + clones.map((c) => ` [clone ${c}]`).join('');
  } catch (e) {
    if (e instanceof Fail) return undefined;
    throw e;
  }
}
