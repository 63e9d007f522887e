/**
 * Numbers for the live plot (`pidscope/sample`): an arithmetic result becomes a JS number, any
 * other value is sent as text. Decoding goes through the value layer's byte helpers; the only
 * local knowledge is "little-endian IEEE float/double", which every x86-64 target is.
 */
import type { Program } from '../engine/program';
import { asPidscopeError, errorText } from './errors';
import { resolve } from '../symbols/types';
import { bytesToBigint, fetchBytes, type TargetObject } from '../value/object';

export interface SampleValue {
  expression: string;
  value?: number;
  text?: string;
  error?: string;
}

export function sampleOne(program: Program, expression: string): SampleValue {
  let obj: TargetObject;
  try {
    obj = program.evaluate(expression);
  } catch (e) {
    return { expression, error: errorText(asPidscopeError(e)) };
  }
  const out: SampleValue = { expression };
  try {
    out.text = program.formatValue(obj, { charset: 'utf-8' });
  } catch (e) {
    return { expression, error: errorText(asPidscopeError(e)) };
  }
  const n = numberOf(program, obj, out.text);
  if (n !== undefined && Number.isFinite(n)) out.value = n;
  return out;
}

function numberOf(program: Program, obj: TargetObject, text: string): number | undefined {
  if (!obj.type || obj.kind === 'absent') return undefined;
  const t = resolve(obj.type);
  try {
    switch (t.kind) {
      case 'int':
      case 'bool':
        return Number(bytesToBigint(fetchBytes(program.byteSource(), obj), t.kind === 'int' && t.signed));
      case 'enum': {
        const signed = t.compatible?.signed ?? (t.enumerators ?? []).some((e) => e.value < 0n);
        return Number(bytesToBigint(fetchBytes(program.byteSource(), obj), signed));
      }
      case 'float': {
        if (t.complex) return undefined;
        const b = fetchBytes(program.byteSource(), obj);
        if (t.size === 4) return b.readFloatLE(0);
        if (t.size === 8) return b.readDoubleLE(0);
        // x87 long double, _Float128: gdb's text is exact enough for a plot.
        const m = /^-?(\d+\.?\d*(e[+-]?\d+)?|\.\d+)/i.exec(text);
        return m ? Number(m[0]) : undefined;
      }
      default:
        return undefined;
    }
  } catch {
    return undefined;
  }
}
