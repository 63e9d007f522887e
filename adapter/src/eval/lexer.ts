/**
 * Tokens of gdb's C expression language. Positions are 0-based offsets into the expression; errors
 * report them as 1-based columns.
 */
import { PidscopeError } from '../errors';

export type Token =
  | { k: 'int'; text: string; value: bigint; base: number; unsigned: boolean; longs: number; pos: number }
  | { k: 'float'; text: string; value: number; suffix: '' | 'f' | 'l'; pos: number }
  | { k: 'char'; text: string; value: number; prefix: '' | 'L' | 'u' | 'U'; pos: number }
  | { k: 'string'; text: string; value: number[]; prefix: '' | 'L' | 'u' | 'U'; pos: number }
  | { k: 'ident'; text: string; pos: number }
  /** A single-quoted name that is not a character literal: gdb's 'file.c' or 'weird name'. */
  | { k: 'qname'; text: string; pos: number }
  | { k: 'punct'; text: string; pos: number }
  | { k: 'eof'; text: string; pos: number };

const PUNCTS = [
  '<<=',
  '>>=',
  '...',
  '->',
  '++',
  '--',
  '<<',
  '>>',
  '<=',
  '>=',
  '==',
  '!=',
  '&&',
  '||',
  '::',
  '+=',
  '-=',
  '*=',
  '/=',
  '%=',
  '&=',
  '|=',
  '^=',
  '+',
  '-',
  '*',
  '/',
  '%',
  '<',
  '>',
  '=',
  '!',
  '~',
  '&',
  '|',
  '^',
  '?',
  ':',
  ',',
  '.',
  '(',
  ')',
  '[',
  ']',
  '{',
  '}',
  '@',
];

export function syntaxError(expr: string, pos: number, detail?: string): PidscopeError {
  const near = expr.slice(pos);
  const msg = detail ?? `A syntax error in expression, near \`${near}'.`;
  const e = new PidscopeError('SYNTAX', msg, `(at column ${pos + 1} of \`${expr}')`, 'user');
  (e as PidscopeError & { column: number }).column = pos + 1;
  return e;
}

const SIMPLE_ESCAPES: Record<string, number> = { n: 10, t: 9, r: 13, a: 7, b: 8, f: 12, v: 11, e: 27, '\\': 92, "'": 39, '"': 34, '?': 63 };

/** Reads one (possibly escaped) character at s[i]; returns code and next index. */
function readChar(expr: string, i: number): { c: number; next: number } {
  const ch = expr[i];
  if (ch !== '\\') return { c: expr.codePointAt(i)!, next: i + (expr.codePointAt(i)! > 0xffff ? 2 : 1) };
  const e = expr[i + 1];
  if (e === undefined) throw syntaxError(expr, i, 'Unmatched single quote.');
  if (e in SIMPLE_ESCAPES) return { c: SIMPLE_ESCAPES[e], next: i + 2 };
  if (e === 'x') {
    let j = i + 2;
    while (j < expr.length && /[0-9a-fA-F]/.test(expr[j])) j++;
    if (j === i + 2) throw syntaxError(expr, i, '\\x escape without a following hex digit');
    return { c: parseInt(expr.slice(i + 2, j), 16), next: j };
  }
  if (/[0-7]/.test(e)) {
    let j = i + 1;
    while (j < expr.length && j < i + 4 && /[0-7]/.test(expr[j])) j++;
    return { c: parseInt(expr.slice(i + 1, j), 8), next: j };
  }
  return { c: e.charCodeAt(0), next: i + 2 };
}

export function tokenize(expr: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const n = expr.length;
  while (i < n) {
    const ch = expr[i];
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    const pos = i;
    // Character and string literals, with optional L/u/U prefix.
    let prefix: '' | 'L' | 'u' | 'U' = '';
    if ((ch === 'L' || ch === 'u' || ch === 'U') && (expr[i + 1] === "'" || expr[i + 1] === '"')) {
      prefix = ch;
      i++;
    }
    if (expr[i] === "'") {
      // A character literal, or a quoted name ('file.c'::x).
      const close = findClose(expr, i + 1, "'");
      if (close < 0) throw syntaxError(expr, pos, 'Unmatched single quote.');
      const body = expr.slice(i + 1, close);
      let isChar = false;
      let value = 0;
      if (body.length > 0) {
        const r = readChar(expr, i + 1);
        if (r.next === close) {
          // gdb reads the expression as bytes: a character beyond ASCII is several of them.
          if (expr[i + 1] !== '\\' && r.c > 0x7f) throw syntaxError(expr, pos, 'Invalid character constant.');
          isChar = true;
          value = r.c;
        }
      }
      if (isChar) out.push({ k: 'char', text: expr.slice(pos, close + 1), value, prefix, pos });
      else if (prefix) throw syntaxError(expr, pos);
      else if (body.length === 0) throw syntaxError(expr, pos, 'Empty character constant.');
      else out.push({ k: 'qname', text: body, pos });
      i = close + 1;
      continue;
    }
    if (expr[i] === '"') {
      const vals: number[] = [];
      let j = i + 1;
      while (j < n && expr[j] !== '"') {
        const r = readChar(expr, j);
        if (prefix === '' && expr[j] !== '\\' && r.c > 0x7f) {
          // A narrow string holds the UTF-8 bytes of what was typed ("日本" is 6 chars + NUL, as in gdb).
          for (const b of Buffer.from(String.fromCodePoint(r.c), 'utf8')) vals.push(b);
        } else vals.push(r.c);
        j = r.next;
      }
      if (j >= n) throw syntaxError(expr, pos, 'Unterminated string in expression.');
      out.push({ k: 'string', text: expr.slice(pos, j + 1), value: vals, prefix, pos });
      i = j + 1;
      continue;
    }
    i = pos;
    if (/[0-9]/.test(ch) || (ch === '.' && /[0-9]/.test(expr[i + 1] ?? ''))) {
      out.push(readNumber(expr, i));
      i = pos + out[out.length - 1].text.length;
      continue;
    }
    if (/[A-Za-z_$]/.test(ch)) {
      let j = i + 1;
      while (j < n && /[A-Za-z0-9_$]/.test(expr[j])) j++;
      out.push({ k: 'ident', text: expr.slice(i, j), pos });
      i = j;
      continue;
    }
    const p = PUNCTS.find((q) => expr.startsWith(q, i));
    if (!p) throw syntaxError(expr, pos, `Invalid character '${ch}' in expression.`);
    out.push({ k: 'punct', text: p, pos });
    i += p.length;
  }
  out.push({ k: 'eof', text: '', pos: n });
  return out;
}

function findClose(expr: string, from: number, q: string): number {
  for (let j = from; j < expr.length; j++) {
    if (expr[j] === '\\') {
      j++;
      continue;
    }
    if (expr[j] === q) return j;
  }
  return -1;
}

/** A floating literal's suffix: f (float), l (long double) or none (double). */
function floatSuffix(ch: string | undefined): '' | 'f' | 'l' {
  if (ch === 'f' || ch === 'F') return 'f';
  if (ch === 'l' || ch === 'L') return 'l';
  return '';
}

function readNumber(expr: string, start: number): Token {
  let i = start;
  const n = expr.length;
  // Hex, binary, octal, decimal integers; decimal and hex floats.
  const hf = /^0[xX]([0-9a-fA-F]*)\.?([0-9a-fA-F]*)[pP]([+-]?\d+)/.exec(expr.slice(i));
  if (hf && (hf[1] || hf[2])) {
    i += hf[0].length;
    const suffix = floatSuffix(expr[i]);
    if (suffix) i++;
    const mant = parseInt((hf[1] || '0') + hf[2], 16) / Math.pow(16, hf[2].length);
    return { k: 'float', text: expr.slice(start, i), value: mant * Math.pow(2, Number(hf[3])), suffix, pos: start };
  }
  let m = /^0[xX][0-9a-fA-F]+/.exec(expr.slice(i));
  let base = 10;
  let digits = '';
  if (m) {
    base = 16;
    digits = m[0].slice(2);
    i += m[0].length;
  } else if ((m = /^0[bB][01]+/.exec(expr.slice(i)))) {
    base = 2;
    digits = m[0].slice(2);
    i += m[0].length;
  } else {
    m = /^(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?)/.exec(expr.slice(i))!;
    const text = m[0];
    if (/[.eE]/.test(text)) {
      i += text.length;
      const suffix = floatSuffix(expr[i]);
      if (suffix) i++;
      if (/[A-Za-z0-9_]/.test(expr[i] ?? '')) throw syntaxError(expr, start, 'Invalid number "' + expr.slice(start, i + 1) + '".');
      return { k: 'float', text: expr.slice(start, i), value: Number(text), suffix, pos: start };
    }
    digits = text;
    i += text.length;
    if (digits.length > 1 && digits.startsWith('0')) {
      base = 8;
      if (/[89]/.test(digits)) throw syntaxError(expr, start, `Invalid number "${digits}".`);
    }
  }
  let unsigned = false;
  let longs = 0;
  for (;;) {
    const c = expr[i];
    if ((c === 'u' || c === 'U') && !unsigned) {
      unsigned = true;
      i++;
    } else if ((c === 'l' || c === 'L') && longs < 2) {
      longs++;
      i++;
    } else break;
  }
  if (i < n && /[A-Za-z0-9_.]/.test(expr[i])) {
    let j = i;
    while (j < n && /[A-Za-z0-9_.]/.test(expr[j])) j++;
    throw syntaxError(expr, start, `Invalid number "${expr.slice(start, j)}".`);
  }
  const prefix = base === 16 ? '0x' : base === 2 ? '0b' : base === 8 ? '0o' : '';
  const value = BigInt(prefix + (base === 8 ? digits.slice(1) || '0' : digits));
  return { k: 'int', text: expr.slice(start, i), value, base, unsigned, longs, pos: start };
}
