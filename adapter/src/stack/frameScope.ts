/**
 * A frame as a scope for expressions: its locals and arguments first (innermost block first,
 * so an inner variable shadows an outer one and every local shadows a global), then whatever
 * the process's symbols find (globals, statics, functions, types).
 */
import { evaluateExpression } from '../eval/evaluate';
import type { LookupScope, SymbolLookup, VariableSymbol } from '../symbols/provider';
import { sizeOf } from '../symbols/types';
import { formatTop, type FormatOptions } from '../value/format';
import type { TargetObject, ValueContext } from '../value/object';
import type { StackFrame } from './stacks';

function asSymbol(name: string, obj: TargetObject, module: string): VariableSymbol {
  const base: VariableSymbol = { name, type: obj.type, module, scope: 'function-static' };
  if (obj.kind === 'reference' && obj.bitOffset === 0 && obj.bitSize === undefined) return { ...base, address: obj.address };
  if (obj.kind === 'value') {
    if (obj.address !== undefined) return { ...base, address: obj.address };
    const size = obj.type ? (sizeOf(obj.type) ?? obj.bytes.length) : obj.bytes.length;
    return { ...base, constValue: Uint8Array.from(obj.bytes.subarray(0, size)) };
  }
  return { ...base, absentReason: obj.kind === 'absent' ? obj.reason : 'optimized out' };
}

/** SymbolLookup seeing the frame's variables before the process's. */
export function frameSymbols(inner: SymbolLookup, frame: StackFrame): SymbolLookup {
  const vars = new Map<string, VariableSymbol>();
  for (const v of [...(frame.locals ?? []), ...(frame.args ?? [])]) if (!vars.has(v.name)) vars.set(v.name, asSymbol(v.name, v.obj, frame.module ?? ''));
  const local = (name: string, scope?: LookupScope) => (!scope || (!scope.file && !scope.function && !scope.module) ? vars.get(name) : undefined);
  const innerEnum = (inner as { findEnumerator?: (n: string) => unknown }).findEnumerator;
  return {
    ...(innerEnum ? { findEnumerator: (n: string) => (vars.has(n) ? undefined : innerEnum.call(inner, n)) } : {}),
    pointerSize: inner.pointerSize,
    findVariables(name, scope) {
      const v = local(name, scope);
      return v ? [v] : inner.findVariables(name, scope);
    },
    findFunctions: (n, s) => (local(n, s) ? [] : inner.findFunctions(n, s)),
    findType: (n, s) => (local(n, s) ? undefined : inner.findType(n, s)),
    symbolize: (a) => inner.symbolize(a),
    sourceLocation: (a) => inner.sourceLocation(a),
    allVariables: () => inner.allVariables(),
  };
}

export function frameValueContext(frame: StackFrame): ValueContext {
  const symbols = frame.ctx.symbols;
  return { ...frame.ctx, symbols: symbols ? frameSymbols(symbols, frame) : undefined };
}

/** Evaluates a C expression in the frame; throws PidscopeError as Program.evaluate does. */
export function evaluateInFrame(frame: StackFrame, expr: string): { obj: TargetObject; ctx: ValueContext } {
  const ctx = frameValueContext(frame);
  return { obj: evaluateExpression(ctx, expr), ctx };
}

export function printInFrame(frame: StackFrame, expr: string, opts: Partial<FormatOptions> = {}): string {
  const { obj, ctx } = evaluateInFrame(frame, expr);
  return formatTop(ctx, obj, opts);
}
