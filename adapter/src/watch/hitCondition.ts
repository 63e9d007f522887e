import { PidscopeError } from '../errors';

/**
 * VS Code's hit conditions, as vscode-js-debug reads them: an optional operator and a count.
 * A bare number `10` means "from the 10th hit on" (>=), `% 5` every 5th hit, `== 3` only the
 * 3rd. `hit` is 1-based.
 */
export type HitPredicate = (hit: number) => boolean;

const RE = /^(>=|<=|==|===|=|!=|>|<|%)?\s*([0-9]+)$/;

export function parseHitCondition(text: string | undefined): HitPredicate | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const m = RE.exec(text.trim());
  if (!m) {
    throw new PidscopeError(
      'HIT_CONDITION',
      `invalid hit condition '${text}'`,
      'Use a count such as `10`, or an operator and a count: `>= 10`, `> 3`, `== 5`, `< 4`, `% 5`',
    );
  }
  const op = m[1] ?? '>=';
  const n = Number(m[2]);
  switch (op) {
    case '>=':
      return (h) => h >= n;
    case '>':
      return (h) => h > n;
    case '<=':
      return (h) => h <= n;
    case '<':
      return (h) => h < n;
    case '!=':
      return (h) => h !== n;
    case '%':
      if (n === 0) throw new PidscopeError('HIT_CONDITION', `invalid hit condition '${text}': modulo by zero`, 'Use `% N` with N >= 1');
      return (h) => h % n === 0;
    default:
      return (h) => h === n;
  }
}

/** `{expr}` parts of a log message; `{{` and `}}` are literal braces. */
export type LogPart = { text: string } | { expr: string };

export function parseLogMessage(message: string): LogPart[] {
  const parts: LogPart[] = [];
  let text = '';
  for (let i = 0; i < message.length; i++) {
    const c = message[i]!;
    if (c === '{' && message[i + 1] === '{') {
      text += '{';
      i++;
    } else if (c === '}' && message[i + 1] === '}') {
      text += '}';
      i++;
    } else if (c === '{') {
      // Nested braces inside an expression (rare in C expressions) are balanced.
      let depth = 1;
      let j = i + 1;
      for (; j < message.length && depth > 0; j++) {
        if (message[j] === '{') depth++;
        else if (message[j] === '}') depth--;
      }
      if (depth !== 0) {
        text += message.slice(i);
        break;
      }
      if (text) parts.push({ text });
      text = '';
      parts.push({ expr: message.slice(i + 1, j - 1).trim() });
      i = j - 1;
    } else {
      text += c;
    }
  }
  if (text) parts.push({ text });
  return parts;
}

/** Fills a parsed log message; an expression that fails shows `<error: …>` in its place. */
export function renderLogMessage(parts: LogPart[], evaluate: (expr: string) => string): string {
  return parts
    .map((p) => {
      if ('text' in p) return p.text;
      try {
        return evaluate(p.expr);
      } catch (e) {
        return `<error: ${e instanceof Error ? e.message : String(e)}>`;
      }
    })
    .join('');
}
