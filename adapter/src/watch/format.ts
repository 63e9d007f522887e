/**
 * Plain formatting for watch values when no Program formatter is at hand (raw addresses, unit
 * tests): integers, bools, enums, pointers and floats by value, anything else as hex bytes.
 * With a Program, watch/program.ts formats exactly as gdb's print does.
 */
import { resolve, sizeOf, type Type } from '../symbols/types';

function strip(t: Type): Type {
  let cur = t;
  for (let i = 0; i < 64 && (cur.kind === 'typedef' || cur.kind === 'qualified'); i++) cur = cur.type;
  return cur;
}

export function formatBytes(bytes: Buffer, type?: Type): string {
  const t = type ? strip(type) : undefined;
  const n = bytes.length;
  if (t && (t.kind === 'int' || t.kind === 'bool' || t.kind === 'enum') && (n === 1 || n === 2 || n === 4 || n === 8)) {
    const signed = t.kind === 'int' ? t.signed : t.kind === 'enum' ? (t.compatible?.signed ?? false) : false;
    let val: bigint;
    if (n === 8) val = signed ? bytes.readBigInt64LE(0) : bytes.readBigUInt64LE(0);
    else val = BigInt(signed ? bytes.readIntLE(0, n) : bytes.readUIntLE(0, n));
    if (t.kind === 'bool') return val === 0n ? 'false' : 'true';
    if (t.kind === 'enum') {
      const e = t.enumerators?.find((x) => x.value === val);
      if (e) return e.name;
    }
    return val.toString();
  }
  if (t && t.kind === 'pointer' && n === 8) return `0x${bytes.readBigUInt64LE(0).toString(16)}`;
  if (t && t.kind === 'float' && t.format === 'ieee' && (n === 4 || n === 8)) {
    return String(n === 4 ? bytes.readFloatLE(0) : bytes.readDoubleLE(0));
  }
  if (!t && (n === 1 || n === 2 || n === 4 || n === 8)) {
    // Raw address of a scalar size: show it as an unsigned integer, like `x/1g`.
    return (n === 8 ? bytes.readBigUInt64LE(0) : BigInt(bytes.readUIntLE(0, n))).toString();
  }
  const shown = bytes.subarray(0, 32);
  const hex = [...shown].map((b) => `0x${b.toString(16).padStart(2, '0')}`).join(' ');
  return n > shown.length ? `{${hex} …(${n} bytes)}` : `{${hex}}`;
}

/** `worker_loop (threads.c:88)`; falls back to the symbol, then the raw address. */
export function formatWriter(w: { ip: bigint; function?: string; file?: string; line?: number }): string {
  const fn = w.function ?? `0x${w.ip.toString(16)}`;
  if (w.file && w.line !== undefined) return `${fn} (${basename(w.file)}:${w.line})`;
  return fn;
}

export function basename(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? p : p.slice(i + 1);
}

/**
 * The smallest element or member of `type` that holds all of [offset, offset + length): for a
 * change inside a big array or struct, `[6]` or `.config.workers` and its type, so a line can show
 * just that part. Undefined when the change spans several members or the type is unknown.
 */
export function narrowChange(type: Type | undefined, offset: number, length: number): { path: string; offset: number; type: Type } | undefined {
  if (!type) return undefined;
  let path = '';
  let base = 0;
  let cur: Type = type;
  for (let depth = 0; depth < 16; depth++) {
    const t = resolve(cur);
    const rel = offset - base;
    if (t.kind === 'array' && t.length !== undefined) {
      const el = resolve(t.element);
      if (el.kind === 'int' && el.isChar) break; // a string reads better whole than as one char
      const e = sizeOf(t.element);
      if (!e) break;
      const i = Math.floor(rel / e);
      if (Math.floor((rel + length - 1) / e) !== i) break;
      path += `[${i}]`;
      base += i * e;
      cur = t.element;
      continue;
    }
    if ((t.kind === 'struct' || t.kind === 'union') && t.members) {
      const m = t.members.find((x) => {
        if (x.bitSize !== undefined || x.bitOffset % 8 !== 0) return false;
        const size = sizeOf(x.type);
        const start = x.bitOffset / 8;
        return size !== undefined && start <= rel && rel + length <= start + size;
      });
      if (!m) break;
      path += m.name ? `.${m.name}` : '';
      base += m.bitOffset / 8;
      cur = m.type;
      continue;
    }
    break;
  }
  return path ? { path, offset: base, type: cur } : undefined;
}
