import type { LookupScope, VariableSymbol } from '../symbols/provider';
import type { TargetObject, ValueContext } from '../value/object';

export function evaluateExpression(_ctx: ValueContext, _expr: string, _scope?: LookupScope): TargetObject {
  throw new Error('evaluate: not yet');
}

export function objectForVariable(_v: VariableSymbol, _pointerSize: number): TargetObject {
  throw new Error('objectForVariable: not yet');
}
