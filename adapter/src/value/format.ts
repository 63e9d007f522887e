/**
 * gdb 13's `print` notation with default settings (print elements 200, repeats 10, pretty off,
 * symbol on, address on, null-stop off, max-depth 20), checked empirically against gdb on real
 * processes (test/eval/oracle.test.ts). The structure follows gdb's own printers so corner cases
 * fall out the same way: c_value_print (top level: the `(T *)` prefix), value_print_array_elements
 * (repeats, `...`), generic_printstr + print_converted_chars_to_obstack (strings), print_wchar
 * (escapes), generic_val_print_enum_1 (flag enums), print_unpacked_pointer (`<sym+off>`, strings
 * behind char pointers).
 *
 * Host charset is taken as ASCII (gdb under LC_ALL=C): bytes >= 0x80 print as octal escapes.
 */
import { PidscopeError } from '../errors';
import { resolve, sizeOf, type CompoundType, type EnumType, type Member, type Type } from '../symbols/types';
import { floatFormatFor, formatFloat } from './float';
import { ByteSource, bytesToBigint, extractBits, isMemoryError, MAX_VALUE_SIZE, memoryError, type TargetObject, type ValueContext } from './object';
import { NODEBUG_DATA } from './nodebug';
import { symbolSuffix } from './symbolize';
import { languageOf } from '../lang';
import { containerText, deepMember, stdView, type StdView, type ViewHost } from './libstdcxx';

/** gdb's `print` settings that matter to us; defaults are gdb 13's. */
export interface FormatOptions {
  /** `set print elements` (200). */
  elements: number;
  /** `set print repeats` (10). */
  repeats: number;
  /** `set print max-depth` (20). */
  maxDepth: number;
  /** Host charset (gdb follows the locale); default from LC_ALL/LC_CTYPE/LANG. */
  charset?: Charset;
  /** gdb's print/FMT letter for scalars: x (hex), o, t (binary), d, u, z (zero-padded hex), c. */
  format?: 'x' | 'o' | 't' | 'd' | 'u' | 'z' | 'c';
  /**
   * gdb's common_val_print instead of value_print: no `(T *) ` before a top-level pointer, as
   * in `bt` arguments and `info locals` / `bt full`.
   */
  noPointerPrefix?: boolean;
  /** gdb's print/r: the raw structure, without the standard library's views. */
  raw?: boolean;
}

export const DEFAULT_FORMAT: FormatOptions = { elements: 200, repeats: 10, maxDepth: 20 };

/** Text for a top-level value, as after `$1 = `. Throws PidscopeError when gdb would error. */
export function formatTop(ctx: ValueContext, obj: TargetObject, opts: Partial<FormatOptions> = {}): string {
  return new Formatter(ctx, opts).top(obj);
}

export function valueTooBig(size: number, type?: Type): PidscopeError {
  // gdb names the type when it has a name (typedef, struct tag, base type), not for arrays.
  let t = type;
  while (t && t.kind === 'qualified') t = t.type;
  const name =
    t && (t.kind === 'typedef' || t.kind === 'int' || t.kind === 'float' || t.kind === 'bool' || t.kind === 'struct' || t.kind === 'union' || t.kind === 'enum')
      ? t.name
      : undefined;
  const what = name ? `value of type \`${name}' requires` : 'value requires';
  return new PidscopeError('TOO_BIG', `${what} ${size} bytes, which is more than max-value-size`, '', 'user');
}

/** Fetches a whole object as gdb does before printing it (max-value-size applies). */
export function fetchWhole(src: ByteSource, obj: TargetObject): { bytes: Buffer; address?: bigint } {
  if (obj.kind === 'value') {
    if (obj.unreadable && obj.unreadable.length) throw memoryError(obj.unreadable[0].address);
    return { bytes: obj.bytes, address: obj.address };
  }
  if (obj.kind === 'absent') throw new PidscopeError('ABSENT', `value is ${obj.reason}`, '', 'user');
  const size = sizeOf(obj.type);
  if (obj.bitSize !== undefined || obj.bitOffset !== 0) {
    const bitSize = obj.bitSize ?? (size ?? 0) * 8;
    // gdb reads a bit field through its containing storage unit (so `NULL->bits` faults at 0x0).
    const unit = BigInt(size ?? 1);
    const absBit = obj.address * 8n + BigInt(obj.bitOffset);
    const start = (absBit / (unit * 8n)) * unit;
    const bitIn = Number(absBit - start * 8n);
    const raw = src.read(start, Math.max(Number(unit), Math.ceil((bitIn + bitSize) / 8)));
    return { bytes: extractBits(raw, bitIn, bitSize, size ?? 8, isSigned(obj.type)) };
  }
  if (size === undefined) return { bytes: Buffer.alloc(0), address: obj.address };
  if (size > MAX_VALUE_SIZE) throw valueTooBig(size, obj.type);
  return { bytes: src.read(obj.address, size, true), address: obj.address };
}

export function isSigned(t: Type): boolean {
  const r = resolve(t);
  if (r.kind === 'int') return r.signed;
  if (r.kind === 'enum') return enumIsSigned(r);
  return false;
}

/** gdb: an enum is unsigned when no enumerator is negative (dwarf2/read.c). */
export function enumIsSigned(e: EnumType): boolean {
  return (e.enumerators ?? []).some((x) => x.value < 0n);
}

/** gdb: a flag enum has only non-negative enumerators of at most one bit each. */
function isFlagEnum(e: EnumType): boolean {
  for (const x of e.enumerators ?? []) {
    if (x.value < 0n) return false;
    let v = x.value;
    let bits = 0;
    while (v) {
      bits += Number(v & 1n);
      v >>= 1n;
    }
    if (bits > 1) return false;
  }
  return true;
}

type CharKind = '' | 'L' | 'u' | 'U';

/** c_textual_element_type: char types, and anything named wchar_t/char16_t/char32_t. */
export function textualKind(t: Type): CharKind | undefined {
  let cur: Type = t;
  for (;;) {
    if (cur.kind === 'typedef' || cur.kind === 'int') {
      if (cur.name === 'wchar_t') return 'L';
      if (cur.name === 'char16_t') return 'u';
      if (cur.name === 'char32_t') return 'U';
    }
    if (cur.kind === 'typedef' || cur.kind === 'qualified') cur = cur.type;
    else break;
  }
  if (cur.kind === 'int' && cur.isChar) {
    if (cur.size === 1) return '';
    return cur.size === 2 ? 'u' : 'U';
  }
  return undefined;
}

/**
 * The host charset gdb prints in: gdb follows the locale (setlocale LC_CTYPE), so under a UTF-8
 * locale valid multibyte sequences print as characters, under C/POSIX every byte >= 0x80 is an
 * octal escape. pidscope does the same, from the same environment variables.
 */
export type Charset = 'ascii' | 'utf-8';

export function defaultCharset(env: NodeJS.ProcessEnv = process.env): Charset {
  const loc = env.LC_ALL || env.LC_CTYPE || env.LANG || '';
  return /utf-?8/i.test(loc) ? 'utf-8' : 'ascii';
}

const UNPRINTABLE = /[\p{Cc}\p{Cn}\p{Zl}\p{Zp}\p{Cs}]/u;

/** iswprint in the host locale (glibc's C.UTF-8: assigned, not a control or line/paragraph separator). */
function isPrintable(c: number, charset: Charset): boolean {
  if (charset === 'ascii') return c >= 0x20 && c < 0x7f;
  if (c < 0x20 || c === 0x7f || c > 0x10ffff) return false;
  if (c < 0x7f) return true;
  return !UNPRINTABLE.test(String.fromCodePoint(c));
}

/** One converted character (gdb's converted_character): a code point, or bytes that did not convert. */
interface Converted {
  /** Code point when conversion worked. */
  cp?: number;
  /** The original units (each `width` bytes wide, as numbers). */
  units: number[];
  incomplete?: boolean;
}

/** gdb's wchar_iterator: target units to characters in the host charset. */
function convert(buf: Buffer, length: number, width: number, charset: Charset): Converted[] {
  const out: Converted[] = [];
  const at = (i: number) => readUnsigned(buf, i * width, width);
  if (width > 1) {
    for (let i = 0; i < length; i++) {
      const u = at(i);
      out.push(charset === 'utf-8' && (u < 0xd800 || u > 0xdfff) && u <= 0x10ffff ? { cp: u, units: [u] } : u < 0x80 ? { cp: u, units: [u] } : { units: [u] });
    }
    return out;
  }
  for (let i = 0; i < length;) {
    const b = at(i);
    if (b < 0x80 || charset === 'ascii') {
      out.push(b < 0x80 ? { cp: b, units: [b] } : { units: [b] });
      i++;
      continue;
    }
    // UTF-8 as glibc's iconv decodes it for gdb: lead bytes up to 0xfd announce 2–6 byte
    // sequences; one that the input ends in the middle of is an incomplete sequence, anywhere
    // else anything ill-formed is one invalid byte.
    const need =
      b >= 0xc0 && b <= 0xdf ? 1 : b >= 0xe0 && b <= 0xef ? 2 : b >= 0xf0 && b <= 0xf7 ? 3 : b >= 0xf8 && b <= 0xfb ? 4 : b >= 0xfc && b <= 0xfd ? 5 : -1;
    if (need < 0) {
      out.push({ units: [b] });
      i++;
      continue;
    }
    let cp = b & (need === 1 ? 0x1f : need === 2 ? 0x0f : need === 3 ? 0x07 : need === 4 ? 0x03 : 0x01);
    let ok = true;
    let truncated = false;
    let j = 1;
    for (; j <= need; j++) {
      if (i + j >= length) {
        truncated = true;
        break;
      }
      const c = at(i + j);
      if ((c & 0xc0) !== 0x80) {
        ok = false;
        break;
      }
      cp = (cp << 6) | (c & 0x3f);
    }
    if (ok && truncated) {
      // gdb asks iconv for one character per call; the valid character converted in the same
      // call as the trailing incomplete sequence is lost (gdb's EINVAL path drops it).
      const prev = out[out.length - 1];
      if (prev && prev.cp !== undefined) out.pop();
      const units: number[] = [];
      for (let k = i; k < length; k++) units.push(at(k));
      out.push({ units, incomplete: true });
      break;
    }
    if (need > 3 || b < 0xc2) {
      out.push({ units: [b] });
      i++;
      continue;
    }
    const overlong = (need === 2 && cp < 0x800) || (need === 3 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff);
    if (!ok || overlong) {
      out.push({ units: [b] });
      i++;
      continue;
    }
    const units: number[] = [];
    for (let k = 0; k <= need; k++) units.push(at(i + k));
    out.push({ cp, units });
    i += need + 1;
  }
  return out;
}

const SIMPLE_ESCAPES: Record<number, string> = { 7: '\\a', 8: '\\b', 12: '\\f', 10: '\\n', 13: '\\r', 9: '\\t', 11: '\\v' };

/** gdb's print_wchar for one converted character. */
function escapeConverted(ch: Converted, quoter: string, state: { needEscape: boolean }, charset: Charset): string {
  const need = state.needEscape;
  state.needEscape = false;
  if (ch.cp !== undefined) {
    const simple = SIMPLE_ESCAPES[ch.cp];
    if (simple) return simple;
    const text = String.fromCodePoint(ch.cp);
    if (isPrintable(ch.cp, charset) && !(need && /^[0-9a-fA-F]$/.test(text))) {
      return text === quoter || text === '\\' ? '\\' + text : text;
    }
  }
  let out = '';
  for (const u of ch.units) {
    if (u <= 0o777) {
      out += '\\' + u.toString(8).padStart(3, '0');
      state.needEscape = false;
    } else {
      out += '\\x' + u.toString(16);
      state.needEscape = true;
    }
  }
  return out;
}

export function charLiteral(c: number, width: number, kind: CharKind, charset: Charset = 'ascii'): string {
  const buf = Buffer.alloc(width);
  if (width === 1) buf[0] = c & 0xff;
  else if (width === 2) buf.writeUInt16LE(c & 0xffff);
  else buf.writeUInt32LE(c >>> 0);
  const chars = convert(buf, 1, width, charset);
  const state = { needEscape: false };
  return `${kind}'${chars.map((ch) => escapeConverted(ch, "'", state, charset)).join('')}'`;
}

/** generic_printstr for `length` characters of `width` bytes from `buf` (gdb 13). */
export function printString(buf: Buffer, length: number, width: number, kind: CharKind, forceEllipses: boolean, opts: FormatOptions): string {
  const charset = opts.charset ?? 'ascii';
  if (!forceEllipses && length > 0 && readUnsigned(buf, (length - 1) * width, width) === 0) length--;
  if (length === 0) return `${kind}""`;
  const chars = convert(buf, length, width, charset);
  const same = (a: Converted, b: Converted) =>
    !a.incomplete &&
    !b.incomplete &&
    (a.cp !== undefined ? a.cp === b.cp : b.cp === undefined && a.units.length === b.units.length && a.units.every((u, k) => u === b.units[k]));
  // Runs of equal characters, consumed until the element budget is spent.
  const runs: Array<{ ch: Converted; n: number }> = [];
  let i = 0;
  let pos = 0;
  while (i < opts.elements && pos < chars.length) {
    const ch = chars[pos];
    let n = 1;
    while (pos + n < chars.length && same(chars[pos + n], ch)) n++;
    runs.push({ ch, n });
    pos += n;
    i += n;
  }
  const finished = pos >= chars.length;
  let out = '';
  let last: 'start' | 'single' | 'repeat' = 'start';
  const state = { needEscape: false };
  for (const r of runs) {
    if (r.ch.incomplete) {
      if (last === 'single') out += '"';
      if (last !== 'start') out += ', ';
      out += `<incomplete sequence ${escapeConverted({ units: r.ch.units }, '', state, charset)}>`;
      last = 'repeat';
      break;
    }
    if (r.n > opts.repeats) {
      if (last === 'single') out += '"';
      if (last !== 'start') out += ', ';
      out += `'${escapeConverted(r.ch, '"', state, charset)}' <repeats ${r.n} times>`;
      last = 'repeat';
    } else {
      if (last !== 'single') {
        if (last !== 'start') out += ', ';
        out += kind + '"';
      }
      for (let j = 0; j < r.n; j++) out += escapeConverted(r.ch, '"', state, charset);
      last = 'single';
    }
  }
  if (last === 'single') out += '"';
  if (forceEllipses || !finished) out += '...';
  return out;
}

function readUnsigned(buf: Buffer, off: number, width: number): number {
  switch (width) {
    case 1:
      return buf[off];
    case 2:
      return buf.readUInt16LE(off);
    case 4:
      return buf.readUInt32LE(off);
    default:
      return Number(bytesToBigint(buf.subarray(off, off + width), false));
  }
}

export class Formatter {
  readonly src: ByteSource;

  readonly opts: FormatOptions;

  constructor(
    readonly ctx: ValueContext,
    opts: Partial<FormatOptions> = {},
    src?: ByteSource,
  ) {
    // The locale is read only when the caller names no charset (the DAP adapter always does):
    // three process.env reads per value were a visible part of formatting 1,000 globals.
    this.opts = { ...DEFAULT_FORMAT, charset: opts.charset === undefined ? defaultCharset() : opts.charset, ...opts };
    this.src = src ?? new ByteSource(ctx.memory);
  }

  typeName(t: Type): string {
    return languageOf(this.ctx).typeName(t);
  }

  /** Virtual bases already printed in the current top-level value. */
  private virtualBasesShown = new Set<Type>();

  top(obj: TargetObject): string {
    this.virtualBasesShown = new Set();
    if (obj.kind === 'absent') return absentText(obj.reason);
    const type = obj.type;
    if (type === NODEBUG_DATA) {
      throw new PidscopeError(
        'NO_TYPE',
        'this symbol has unknown type (no debug info); cast it to its declared type',
        'e.g. (int)name or *(struct foo *)&name',
        'user',
      );
    }
    const r = resolve(type);
    if (r.kind === 'function') {
      const addr = obj.kind === 'reference' ? obj.address : (obj.address ?? 0n);
      // gdb fetches a function value's first byte: `*null_fn` is a memory error.
      const first = this.src.read(addr, 1);
      if (this.opts.format) return this.formatted({ kind: 'int', name: 'char', size: 1, signed: true, isChar: true }, first, 0, this.opts.format) ?? '';
      return `{${this.typeName(r)}} ${this.addressText(addr, true)}`;
    }
    if (r.kind === 'void') return 'void';
    const { bytes, address } = fetchWhole(this.src, obj);
    let prefix = '';
    if (r.kind === 'pointer' && !this.opts.format) {
      let orig = type;
      while (orig.kind === 'qualified') orig = orig.type;
      let tgt = orig.kind === 'pointer' ? orig.target : undefined;
      while (tgt && tgt.kind === 'qualified') tgt = tgt.type;
      // c_value_print: no `(T *)` when the target is named char, wchar_t, char16_t or char32_t.
      const tname = tgt && (tgt.kind === 'int' || tgt.kind === 'typedef') ? tgt.name : undefined;
      const plainChar = orig.kind === 'pointer' && tname !== undefined && languageOf(this.ctx).plainCharNames.includes(tname);
      // A data member pointer prints as `&Class::member`, without the type in front.
      const dataMember = r.memberOf !== undefined && resolve(r.target).kind !== 'function';
      if (!plainChar && !dataMember && !this.opts.noPointerPrefix) prefix = `(${this.typeName(type)}) `;
    }
    return prefix + this.value(type, bytes, 0, address, 0);
  }

  /** Text for a value whose bytes start at buf[off] (address known when it came from memory). */
  /** print/FMT of a scalar (gdb's print_scalar_formatted): the bits of the value in its size. */
  private formatted(r: Type, buf: Buffer, off: number, fmt: NonNullable<FormatOptions['format']>): string | undefined {
    let size: number;
    let signed = false;
    switch (r.kind) {
      case 'int':
        size = r.size;
        signed = r.signed;
        break;
      case 'bool':
      case 'pointer':
        size = r.size;
        break;
      case 'enum':
        size = r.size ?? 4;
        signed = enumIsSigned(r);
        break;
      case 'float':
        // gdb 13 shows a float's raw bits (x87: the 80 significant ones).
        if (fmt !== 'x' && fmt !== 'z') return undefined;
        size = r.format === 'x87' ? 10 : r.size;
        break;
      default:
        return undefined;
    }
    const bytes = buf.subarray(off, off + size);
    const u = bytesToBigint(bytes, false);
    const v = signed ? bytesToBigint(bytes, true) : u;
    switch (fmt) {
      case 'x':
        return `0x${u.toString(16)}`;
      case 'z':
        // Zero-padded to the type's full size (16 bytes for x87 long double).
        return `0x${u.toString(16).padStart((sizeOf(r) ?? size) * 2, '0')}`;
      case 'o':
        return u === 0n ? '0' : `0${u.toString(8)}`;
      case 't':
        return u.toString(2);
      case 'd':
        return bytesToBigint(bytes, true).toString();
      case 'u':
        return u.toString();
      case 'c': {
        const c = Number(BigInt.asIntN(8, v));
        return `${c} ${charLiteral(c & 0xff, 1, '', this.opts.charset ?? 'ascii')}`;
      }
    }
  }

  value(type: Type, buf: Buffer, off: number, address: bigint | undefined, recurse: number): string {
    const r = resolve(type);
    if (this.opts.format) {
      const f = this.formatted(r, buf, off, this.opts.format);
      if (f !== undefined) return f;
    }
    switch (r.kind) {
      case 'void':
        return 'void';
      case 'bool': {
        const v = bytesToBigint(buf.subarray(off, off + r.size), false);
        return v === 0n ? 'false' : v === 1n ? 'true' : v.toString();
      }
      case 'int': {
        const v = bytesToBigint(buf.subarray(off, off + r.size), r.signed);
        const kind = textualKind(type);
        if (kind !== undefined) {
          const u = Number(BigInt.asUintN(r.size * 8, v));
          return `${v} ${charLiteral(u, r.size, kind, this.opts.charset ?? 'ascii')}`;
        }
        return v.toString();
      }
      case 'float': {
        const f = floatFormatFor(r.size, r.format);
        if (!f || r.complex) return this.complexOrRaw(r, buf, off);
        return formatFloat(buf.subarray(off, off + r.size), f);
      }
      case 'enum':
        return this.enumText(r, buf, off);
      case 'pointer': {
        const addr = bytesToBigint(buf.subarray(off, off + r.size), false);
        if (r.reference) return this.referenceText(r.target, addr, recurse);
        if (r.memberOf) return this.memberPointerText(r, buf, off);
        return this.pointerText(r.target, addr);
      }
      case 'struct':
      case 'union': {
        const view = this.opts.raw ? undefined : stdView(r);
        if (view) {
          try {
            if (view.kind === 'container' && view.which !== 'string_view') {
              if (address === undefined) return this.compoundText(r, buf, off, address, recurse);
              return containerText(this.viewHost(recurse), view, address);
            }
            return this.viewText(view, buf, off, recurse);
          } catch (e) {
            return errorText(e);
          }
        }
        return this.compoundText(r, buf, off, address, recurse);
      }
      case 'array':
        return this.arrayText(r, buf, off, address, recurse);
      case 'function':
        return `{${this.typeName(r)}} ${this.addressText(address ?? 0n, true)}`;
    }
    return '?';
  }

  private complexOrRaw(r: Extract<Type, { kind: 'float' }>, buf: Buffer, off: number): string {
    if (r.complex) {
      const half = r.size / 2;
      const f = floatFormatFor(half, r.format);
      if (f) {
        const re = formatFloat(buf.subarray(off, off + half), f);
        const im = formatFloat(buf.subarray(off + half, off + r.size), f);
        return `${re} + ${im}i`;
      }
    }
    return `<invalid float value>`;
  }

  /** What libstdc++ container views need from the printer. */
  viewHost(recurse = 0): ViewHost {
    return {
      read: (a, n) => this.src.read(a, n, true),
      findType: (name) => {
        const lang = languageOf(this.ctx);
        for (const n of lang.typeLookupNames(name)) {
          const t = this.ctx.symbols?.findType(n);
          if (t) return t;
        }
        const words = name.split(/\s+/);
        const keywords = /^(unsigned|signed|short|long|int|char|double|float|bool|_Bool|wchar_t|char8_t|char16_t|char32_t)$/;
        return lang.builtinNamed(name) ?? (words.every((w) => keywords.test(w)) ? lang.builtinFromWords(words) : undefined);
      },
      value: (t, a) => {
        const size = sizeOf(t) ?? 0;
        try {
          return this.value(t, this.src.read(a, size, true), 0, a, recurse + 1);
        } catch (e) {
          return errorText(e);
        }
      },
      elements: this.opts.elements,
    };
  }

  /** A libstdc++ object as its pretty-printer shows it (see libstdcxx.ts). */
  private viewText(view: StdView, buf: Buffer, off: number, recurse: number): string {
    const ptrAt = (name: string): { addr: bigint; target: Type } => {
      const m = deepMember(view.type, name, true);
      const pt = m ? resolve(m.member.type) : undefined;
      if (!m || !pt || pt.kind !== 'pointer') throw new PidscopeError('EVAL', `libstdc++ layout: no pointer ${name}`, '', 'internal');
      const o = off + m.bitOffset / 8;
      return { addr: bytesToBigint(buf.subarray(o, o + 8), false), target: pt.target };
    };
    const intAt = (t: CompoundType, name: string, base: Buffer, o: number): bigint => {
      const m = deepMember(t, name);
      if (!m) throw new PidscopeError('EVAL', `libstdc++ layout: no member ${name}`, '', 'internal');
      const size = sizeOf(m.member.type) ?? 8;
      const at = o + m.bitOffset / 8;
      return bytesToBigint(base.subarray(at, at + size), isSigned(m.member.type));
    };
    switch (view.kind) {
      case 'container':
      case 'string': {
        const sv = view.kind === 'container';
        const { addr, target } = ptrAt(sv ? '_M_str' : '_M_p');
        const len = Number(intAt(view.type, sv ? '_M_len' : '_M_string_length', buf, off));
        const width = sizeOf(target) ?? 1;
        const kind = textualKind(target) ?? '';
        const n = Math.min(len, this.opts.elements);
        const bytes = n > 0 ? this.src.read(addr, n * width, true) : Buffer.alloc(0);
        return printString(Buffer.concat([bytes, Buffer.alloc(width)]), n, width, kind, len > n, { ...this.opts, elements: n });
      }
      case 'vector': {
        const start = ptrAt('_M_start').addr;
        const finish = ptrAt('_M_finish').addr;
        const end = ptrAt('_M_end_of_storage').addr;
        const esize = BigInt(sizeOf(view.element) ?? 1);
        const length = esize ? Number((finish - start) / esize) : 0;
        const capacity = esize ? Number((end - start) / esize) : 0;
        const head = `std::vector of length ${length}, capacity ${capacity}`;
        if (length <= 0) return head;
        const shown = Math.min(length, this.opts.elements);
        const bytes = this.src.read(start, shown * Number(esize), true);
        const arr = { kind: 'array', element: view.element, length: shown } as Type;
        let body = this.value(arr, bytes, 0, start, recurse);
        if (shown < length && !body.endsWith('...}')) body = `${body.slice(0, -1)}...}`;
        return `${head} = ${body}`;
      }
      case 'unique_ptr': {
        const { addr, target } = ptrAt('_M_head_impl');
        return `std::unique_ptr<${view.arg}> = {get() = ${this.pointerText(target, addr)}}`;
      }
      case 'shared_ptr': {
        const { addr, target } = ptrAt('_M_ptr');
        const pi = ptrAt('_M_pi');
        const what = view.weak ? 'weak_ptr' : 'shared_ptr';
        let state = 'empty';
        if (pi.addr !== 0n) {
          const base = resolve(pi.target);
          const counts = this.src.read(pi.addr, sizeOf(pi.target) ?? 16, true);
          const use = base.kind === 'struct' ? intAt(base, '_M_use_count', counts, 0) : BigInt(counts.readInt32LE(8));
          const weak = base.kind === 'struct' ? intAt(base, '_M_weak_count', counts, 0) : BigInt(counts.readInt32LE(12));
          state = use === 0n ? `expired, weak count ${weak}` : `use count ${use}, weak count ${weak - 1n}`;
        }
        return `std::${what}<${view.arg}> (${state}) = {get() = ${this.pointerText(target, addr)}}`;
      }
    }
  }

  /** C++ pointer to member: `&Class::member` for data (an offset), the function for a method. */
  private memberPointerText(r: Extract<Type, { kind: 'pointer' }>, buf: Buffer, off: number): string {
    const raw = bytesToBigint(buf.subarray(off, off + 8), false);
    if (resolve(r.target).kind === 'function') {
      // Itanium: an odd value is 1 + the method's offset in the vtable (gdb: `&virtual …`).
      if (raw & 1n) return `&virtual table offset ${raw - 1n}`;
      return this.addressText(raw, true);
    }
    const offset = BigInt.asIntN(64, raw);
    const cls = resolve(r.memberOf!);
    if (offset === -1n) return 'NULL';
    if (cls.kind === 'struct' || cls.kind === 'union') {
      const hit = findMemberAt(cls, Number(offset) * 8);
      if (hit) return `&${hit}`;
    }
    return offset.toString();
  }

  /** gdb's generic_val_print_ref: `@0x…: ` and the referent's value. */
  private referenceText(target: Type, addr: bigint, recurse: number): string {
    const head = `@${this.addressText(addr, false)}: `;
    const size = sizeOf(target);
    const rt = resolve(target);
    if ((rt.kind === 'struct' || rt.kind === 'union') && !rt.members) return head + '<incomplete type>';
    if (size === undefined) return head.slice(0, -2);
    try {
      const bytes = this.src.read(addr, size, true);
      return head + this.value(target, bytes, 0, addr, recurse);
    } catch (e) {
      return head + errorText(e);
    }
  }

  enumText(e: EnumType, buf: Buffer, off: number): string {
    const size = e.size ?? e.compatible?.size ?? 4;
    const val = bytesToBigint(buf.subarray(off, off + size), enumIsSigned(e));
    const ens = e.enumerators ?? [];
    const hit = ens.find((x) => x.value === val);
    // C++: gdb qualifies enumerators (`Mode::On` of an enum class, `std::_S_red` in namespace std).
    if (hit) return (e.enumeratorPrefix ?? (e.scoped && e.name !== undefined ? `${e.name}::` : '')) + hit.name;
    if (!isFlagEnum(e)) return val.toString();
    let v = BigInt.asUintN(64, val);
    const parts: string[] = [];
    for (const x of ens) {
      if (x.value !== 0n && (v & x.value) !== 0n) {
        parts.push(x.name);
        v &= ~x.value;
      }
    }
    if (v !== 0n) parts.push(`unknown: 0x${v.toString(16)}`);
    if (parts.length === 0) return '0';
    return `(${parts.join(' | ')})`;
  }

  /** `0x…` plus ` <sym+off>` when an ELF symbol covers it (print_address_demangle). */
  addressText(addr: bigint, withSymbol: boolean): string {
    const s = `0x${addr.toString(16)}`;
    return withSymbol ? s + symbolSuffix(this.ctx.symbols, addr) : s;
  }

  /** print_unpacked_pointer: function pointers, data pointers, and strings behind char pointers. */
  pointerText(target: Type, addr: bigint, withSymbol = true): string {
    const t = resolve(target);
    if (t.kind === 'function') return this.addressText(addr, true);
    let s = this.addressText(addr, withSymbol);
    const kind = textualKind(target);
    if (kind !== undefined && addr !== 0n) {
      const width = sizeOf(target) ?? 1;
      s += ' ' + this.stringAt(addr, width, kind);
    }
    return s;
  }

  /** val_print_string with len -1: read up to `elements` chars or the NUL, then printstr. */
  stringAt(addr: bigint, width: number, kind: CharKind): string {
    const limit = this.opts.elements;
    const chunk = Buffer.alloc(limit * width);
    let n = 0;
    let err: bigint | undefined;
    let foundNul = false;
    while (n < limit) {
      const a = addr + BigInt(n * width);
      const r = this.src.readPartial(a, width);
      if (r.firstBad !== undefined) {
        err = a;
        break;
      }
      r.data.copy(chunk, n * width);
      n++;
      if (readUnsigned(r.data, 0, width) === 0) {
        foundNul = true;
        break;
      }
    }
    let force = false;
    if (!foundNul && err === undefined) {
      const peek = this.src.readPartial(addr + BigInt(n * width), width);
      if (peek.firstBad === undefined && readUnsigned(peek.data, 0, width) !== 0) force = true;
    }
    let out = '';
    if (err === undefined || n > 0) out += printString(chunk, n, width, kind, force, this.opts);
    if (err !== undefined) out += `<error: Cannot access memory at address 0x${err.toString(16)}>`;
    return out;
  }

  private compoundText(r: CompoundType, buf: Buffer, off: number, address: bigint | undefined, recurse: number): string {
    if (!r.members) return '<incomplete type>';
    if (recurse >= this.opts.maxDepth) return '{...}';
    if (r.members.length === 0) return '{<No data fields>}';
    const parts: string[] = [];
    for (const m of r.members) {
      const byte = Math.floor(m.bitOffset / 8);
      const maddr = address === undefined ? undefined : address + BigInt(byte);
      let text: string;
      if (m.static) {
        parts.push(`static ${m.name} = ${this.staticMemberText(m.static.qualifiedName, m.type, recurse + 1, m.static.constValue)}`);
        continue;
      }
      if (m.base) {
        const bt = resolve(m.type);
        const bname = bt.kind === 'struct' || bt.kind === 'union' ? (bt.name ?? '') : this.typeName(m.type);
        // gdb shows a base whose definition the compiler left out (clang's -fno-standalone-debug) as empty.
        if (bt.kind === 'struct' && !bt.members) text = '{<No data fields>}';
        else if (m.base.virtual) {
          const v = this.virtualBaseText(m, address, recurse + 1);
          if (v === undefined) continue;
          text = v;
        } else text = this.value(m.type, buf, off + byte, maddr, recurse + 1);
        parts.push(`<${bname}> = ${text}`);
        continue;
      }
      if (m.bitSize !== undefined) {
        const size = sizeOf(m.type) ?? 4;
        const bitIn = m.bitOffset - byte * 8;
        const nbytes = Math.ceil((bitIn + m.bitSize) / 8);
        const bits = extractBits(buf.subarray(off + byte, off + byte + nbytes), bitIn, m.bitSize, size, isSigned(m.type));
        text = this.value(m.type, bits, 0, undefined, recurse + 1);
      } else {
        text = this.value(m.type, buf, off + byte, maddr, m.name === undefined ? recurse : recurse + 1);
      }
      parts.push(m.name === undefined ? text : `${m.name} = ${text}`);
    }
    // gdb: a class whose only members are base classes still says it has no fields of its own.
    if (r.members.every((m) => m.base)) parts.push('<No data fields>');
    return `{${parts.join(', ')}}`;
  }

  /** A C++ static data member: the value of the variable that holds it (gdb: `<optimized out>` without one). */
  private staticMemberText(qualifiedName: string, type: Type, recurse: number, constValue?: bigint): string {
    const v = this.ctx.symbols?.findVariables(qualifiedName).find((x) => x.address !== undefined || x.constValue);
    if (!v && constValue !== undefined) {
      // A constexpr member the compiler only describes by its value (DW_AT_const_value).
      const size = sizeOf(type) ?? 8;
      const bytes = Buffer.alloc(size);
      let x = BigInt.asUintN(size * 8, constValue);
      for (let i = 0; i < size; i++, x >>= 8n) bytes[i] = Number(x & 0xffn);
      return this.value(type, bytes, 0, undefined, recurse);
    }
    if (!v) return '<optimized out>';
    try {
      if (v.address === undefined) return this.value(v.type ?? type, Buffer.from(v.constValue!), 0, undefined, recurse);
      const t = v.type ?? type;
      const size = sizeOf(t) ?? 0;
      return this.value(t, this.src.read(v.address, size, true), 0, v.address, recurse);
    } catch (e) {
      return errorText(e);
    }
  }

  /**
   * A virtual base: its offset lives in the object's vtable (the DWARF location expression
   * reads it), and gdb prints each virtual base once per object, where it first meets it.
   */
  private virtualBaseText(m: Member, address: bigint | undefined, recurse: number): string | undefined {
    if (this.virtualBasesShown.has(m.type)) return undefined;
    this.virtualBasesShown.add(m.type);
    const expr = m.base?.offsetExpr;
    if (address === undefined || !expr) return '<optimized out>';
    try {
      const at = virtualBaseAddress(expr, address, (a) => bytesToBigint(this.src.read(a, 8, true), false));
      const size = sizeOf(m.type) ?? 0;
      return this.value(m.type, this.src.read(at, size, true), 0, at, recurse);
    } catch (e) {
      return errorText(e);
    }
  }

  private arrayText(r: Extract<Type, { kind: 'array' }>, buf: Buffer, off: number, address: bigint | undefined, recurse: number): string {
    const esize = sizeOf(r.element);
    const len = r.length;
    if (len === undefined || len === 0 || !esize) {
      // Array of unspecified length: treated like a pointer to its first element.
      return this.pointerText(r.element, address ?? 0n, false);
    }
    const kind = textualKind(r.element);
    if (kind !== undefined && (!this.opts.format || this.opts.format === 'c'))
      return printString(buf.subarray(off, off + len * esize), len, esize, kind, false, this.opts);
    if (recurse >= this.opts.maxDepth) return '{...}';
    const parts: string[] = [];
    let printed = 0;
    let i = 0;
    for (; i < len && printed < this.opts.elements; i++) {
      const eoff = off + i * esize;
      let reps = 1;
      while (i + reps < len && buf.compare(buf, eoff, eoff + esize, off + (i + reps) * esize, off + (i + reps + 1) * esize) === 0) reps++;
      const text = this.value(r.element, buf, eoff, address === undefined ? undefined : address + BigInt(i * esize), recurse + 1);
      if (reps > this.opts.repeats) {
        parts.push(`${text} <repeats ${reps} times>`);
        i += reps - 1;
        printed += this.opts.repeats;
      } else {
        parts.push(text);
        printed++;
      }
    }
    return `{${parts.join(', ')}${i < len ? '...' : ''}}`;
  }
}

/** `Class::member` of the data member at a bit offset (through non-virtual bases), as gdb names it. */
function findMemberAt(t: CompoundType, bitOffset: number): string | undefined {
  for (const m of t.members ?? []) {
    if (m.static || m.name === undefined || m.base) continue;
    if (m.bitOffset === bitOffset && m.bitSize === undefined) return `${t.name ?? ''}::${m.name}`;
  }
  for (const m of t.members ?? []) {
    const r = resolve(m.type);
    if (!m.base || m.base.virtual || (r.kind !== 'struct' && r.kind !== 'union')) continue;
    const hit = findMemberAt(r, bitOffset - m.bitOffset);
    if (hit) return hit;
  }
  return undefined;
}

/**
 * Runs the small DWARF expression g++ and clang++ give a virtual base's location (object address
 * pushed first): dup, deref, literals, constu, minus, plus, plus_uconst.
 */
export function virtualBaseAddress(expr: Uint8Array, object: bigint, read64: (a: bigint) => bigint): bigint {
  const st: bigint[] = [object];
  const uleb = (i: number): [bigint, number] => {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      const b = expr[i++];
      v |= BigInt(b & 0x7f) << shift;
      shift += 7n;
      if (!(b & 0x80)) return [v, i];
    }
  };
  const pop = (): bigint => {
    const v = st.pop();
    if (v === undefined) throw new PidscopeError('EVAL', 'bad virtual base location', '', 'internal');
    return v;
  };
  for (let i = 0; i < expr.length;) {
    const op = expr[i++];
    if (op === 0x12) st.push(st[st.length - 1]);
    else if (op === 0x06) st.push(read64(pop()));
    else if (op >= 0x30 && op <= 0x4f) st.push(BigInt(op - 0x30));
    else if (op === 0x10 || op === 0x23) {
      const [v, next] = uleb(i);
      i = next;
      if (op === 0x10) st.push(v);
      else st.push(BigInt.asUintN(64, pop() + v));
    } else if (op === 0x1c) {
      const b = pop();
      st.push(BigInt.asUintN(64, pop() - b));
    } else if (op === 0x22) st.push(BigInt.asUintN(64, pop() + pop()));
    else throw new PidscopeError('EVAL', `virtual base location uses DW_OP 0x${op.toString(16)}`, '', 'internal');
  }
  return pop();
}

/** gdb prints every flavour of "no value here" from the compiler as <optimized out>. */
export function absentText(reason: string): string {
  return reason.startsWith('optimized out') ? '<optimized out>' : `<${reason}>`;
}

export function errorText(e: unknown): string {
  if (isMemoryError(e) || e instanceof PidscopeError) return `<error: ${(e as PidscopeError).causeText}>`;
  throw e;
}
