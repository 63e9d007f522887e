import type { TargetObject, ValueContext } from './object';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue };

export function toJson(_ctx: ValueContext, _obj: TargetObject, _opts: { maxElements?: number; maxDepth?: number } = {}): JsonValue {
  throw new Error('toJson: not yet');
}
