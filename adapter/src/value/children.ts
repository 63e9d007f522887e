import type { TargetObject, ValueContext } from './object';

export interface Child {
  /** Member name, `[i]` for elements, `*p` for a pointee. */
  name: string;
  /** An expression that evaluates to this child, when the parent's expression is known. */
  evaluateName?: string;
  object: TargetObject;
}

export function children(_ctx: ValueContext, _obj: TargetObject, _start = 0, _count?: number, _parentExpr?: string): Child[] {
  throw new Error('children: not yet');
}

export function childCount(_ctx: ValueContext, _obj: TargetObject): number {
  throw new Error('childCount: not yet');
}
