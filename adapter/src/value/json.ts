/**
 * The structured form of an object for `--json` and tools:
 *   { type, address?, text, value?, fields? | elements?, error? }
 * `text` is always gdb's notation for the object; `value` is a JSON scalar for scalars (a number
 * when exactly representable, else a string); aggregates carry `fields` (struct/union) or
 * `elements` (arrays, up to maxElements). Errors are inline (`error`), never thrown, except
 * that the caller sees PidscopeErrors from evaluation before getting here.
 */
import { resolve, sizeOf } from '../symbols/types';
import { childCount, children } from './children';
import { floatFormatFor, floatToNumber } from './float';
import { enumIsSigned, fetchWhole, Formatter, textualKind, type FormatOptions } from './format';
import { addressOf, bytesToBigint, type TargetObject, type ValueContext } from './object';
import { languageOf } from '../lang';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue };

export interface JsonOptions {
  maxElements?: number;
  maxDepth?: number;
  /** gdb's print/FMT letter, applied to `text` of the value and of its children. */
  format?: FormatOptions['format'];
  /** gdb's print/r: no standard-library views. */
  raw?: boolean;
}

export function toJson(ctx: ValueContext, obj: TargetObject, opts: JsonOptions = {}, depth = 0): JsonValue {
  const maxElements = opts.maxElements ?? 200;
  const maxDepth = opts.maxDepth ?? 8;
  const out: { [k: string]: JsonValue } = { type: obj.type ? languageOf(ctx).typeName(obj.type) : null };
  const addr = addressOf(obj);
  if (addr !== undefined) out.address = `0x${addr.toString(16)}`;
  if (obj.kind === 'absent') {
    out.absent = obj.reason;
    out.text = `<${obj.reason}>`;
    return out;
  }
  const f = new Formatter(ctx, { format: opts.format, raw: opts.raw });
  try {
    out.text = f.top(obj);
  } catch (e) {
    out.error = e instanceof Error ? ((e as { causeText?: string }).causeText ?? e.message) : String(e);
    return out;
  }
  const r = resolve(obj.type);
  try {
    switch (r.kind) {
      case 'int':
      case 'bool':
      case 'enum':
      case 'pointer': {
        const bytes = fetchWhole(f.src, obj).bytes;
        const signed = r.kind === 'int' ? r.signed : r.kind === 'enum' ? enumIsSigned(r) : false;
        const v = bytesToBigint(bytes.subarray(0, sizeOf(r) ?? bytes.length), signed);
        if (r.kind === 'bool') out.value = v !== 0n;
        else if (r.kind === 'pointer') out.value = `0x${v.toString(16)}`;
        else out.value = v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
        break;
      }
      case 'float': {
        const ff = floatFormatFor(r.size, r.format);
        if (ff && !r.complex) {
          const n = floatToNumber(fetchWhole(f.src, obj).bytes, ff);
          out.value = Number.isFinite(n) && r.format === 'ieee' && r.size <= 8 ? n : (out.text as string);
        }
        break;
      }
      case 'struct':
      case 'union': {
        if (depth >= maxDepth) break;
        const fields: { [k: string]: JsonValue } = {};
        for (const c of children(ctx, obj)) fields[c.name] = toJson(ctx, c.object, opts, depth + 1);
        out.fields = fields;
        break;
      }
      case 'array': {
        if (depth >= maxDepth || textualKind(r.element) !== undefined) break;
        const n = childCount(ctx, obj);
        out.length = n;
        out.elements = children(ctx, obj, 0, Math.min(n, maxElements)).map((c) => toJson(ctx, c.object, opts, depth + 1));
        break;
      }
    }
  } catch (e) {
    out.error = e instanceof Error ? ((e as { causeText?: string }).causeText ?? e.message) : String(e);
  }
  return out;
}
