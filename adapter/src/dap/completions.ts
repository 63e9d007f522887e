/**
 * Debug Console completions: globals by prefix (from the modules shown so far: the main
 * program's at least), and after `expr.` or `expr->` the members of what `expr` is. The session
 * checks the request's arguments; this file decides what to offer.
 */
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { Program } from '../engine/program';
import type { ModuleGlobals } from './variables';

/** Most globals offered for one prefix (a big program has tens of thousands). */
const MAX_GLOBALS = 500;

/**
 * Completions for `text` with the cursor before `column` (`columnBase` is the client's first
 * column, 1 unless it said columnsStartAt1: false); item starts use the same base.
 */
export function completionItems(
  view: Program,
  globals: Iterable<ModuleGlobals>,
  text: string,
  column: number,
  columnBase: 0 | 1,
): DebugProtocol.CompletionItem[] {
  const before = text.slice(0, Math.min(text.length, column - columnBase));
  const word = /[A-Za-z_$][\w$]*$/.exec(before)?.[0] ?? '';
  const head = before.slice(0, before.length - word.length);
  const start = before.length - word.length + columnBase;
  const targets: DebugProtocol.CompletionItem[] = [];
  const member = /([A-Za-z_$][\w$]*(?:\[[^\]]*\]|\.[A-Za-z_$][\w$]*|->[A-Za-z_$][\w$]*)*)\s*(\.|->)\s*$/.exec(head);
  if (member) {
    let fields: string[] = [];
    try {
      const obj = view.evaluate(member[1]);
      fields = view
        .children(obj, 0, 1000)
        .map((k) => k.name)
        .filter((n) => /^[A-Za-z_$][\w$]*$/.test(n));
    } catch {
      fields = [];
    }
    for (const n of fields) if (n.startsWith(word)) targets.push({ label: n, type: 'field', start, length: word.length });
  } else if (word !== '') {
    const seen = new Set<string>();
    for (const g of globals) {
      for (const u of g.module.units) {
        for (const v of u.variables) {
          if (targets.length >= MAX_GLOBALS) break;
          if (v.scope === 'function-static' || seen.has(v.name) || !v.name.startsWith(word)) continue;
          seen.add(v.name);
          targets.push({ label: v.name, type: 'variable', start, length: word.length });
        }
      }
    }
  }
  targets.sort((x, y) => x.label.localeCompare(y.label));
  return targets;
}
