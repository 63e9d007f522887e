import type { TargetObject, ValueContext } from './object';

/** gdb's `print` settings that matter to us; defaults are gdb 13's. */
export interface FormatOptions {
  /** `set print elements` (200). */
  elements: number;
  /** `set print repeats` (10). */
  repeats: number;
  /** `set print pretty` (off). */
  pretty: boolean;
}

export const DEFAULT_FORMAT: FormatOptions = { elements: 200, repeats: 10, pretty: false };

export function formatTop(_ctx: ValueContext, _obj: TargetObject, _opts: Partial<FormatOptions> = {}): string {
  throw new Error('formatTop: not yet');
}
