/**
 * Watchpoints on a Program: C expressions become watch targets (address, size, type), values are
 * printed exactly as gdb prints them, and conditions / log messages are evaluated by the Program's
 * C evaluator with `value` (new) and `old` bound.
 *
 * Binding `value`/`old`: the evaluator has no variable bindings (yet), so the condition's text is
 * rewritten before evaluation: each `value`/`old` identifier (not a member name after `.`/`->`)
 * becomes a C literal of the watched scalar (`3L`, `2UL`, `1.5`, `((struct node *) 0x…)`). For a
 * struct or array, `value` becomes gdb's `{type} 0xADDR` (the object as it is now in memory) and
 * `old` is not available. Everything else in the expression (other globals) is evaluated live.
 */
import { PidscopeError } from '../errors';
import type { Program } from '../engine/program';
import { resolve, type Type } from '../symbols/types';
import { ByteSource, fetchBytes, makeValue, type TargetObject } from '../value/object';
import { floatFormatFor, floatToNumber } from '../value/float';
import { typeToString } from '../value/typeName';
import { Coalescer, type CoalescedOutput } from './coalesce';
import { WatchEngine, type WatchHooks, type WatchScope } from './engine';
import { formatBytes, formatWriter } from './format';
import type { WatchAccess, WatchEvent, WatchHit, WatchInfo, WatchMode, WatchTarget } from './types';

/**
 * Evaluates `expression` and returns what to watch. Throws PidscopeError when the expression has
 * no address (`a + 1`, a bit field, a register value) or no size.
 */
export function resolveWatchTarget(program: Program, expression: string): WatchTarget {
  const obj = program.evaluate(expression);
  if (obj.kind === 'absent') {
    throw new PidscopeError('NOT_LVALUE', `'${expression}' cannot be watched: ${obj.reason}`, 'Watch a global or static variable, a member, an element or *pointer');
  }
  if (obj.kind === 'reference' && (obj.bitSize !== undefined || obj.bitOffset !== 0)) {
    throw new PidscopeError('NOT_LVALUE', `'${expression}' is a bit field: debug registers and snapshots watch whole bytes`, 'Watch the struct that holds it (its changes include the bit field)');
  }
  const address = program.address(obj);
  if (address === undefined) {
    throw new PidscopeError(
      'NOT_LVALUE',
      `'${expression}' has no address: it is a computed value, not an object in memory`,
      'Watch a variable, a member, an element or *pointer, e.g. `g_shared`, `g_slots[2]`, `*g_ptr`',
    );
  }
  const size = program.sizeOf(obj);
  if (!size) {
    throw new PidscopeError('WATCH_SIZE', `'${expression}' has no known size (incomplete type or zero-length array)`, 'Cast it to a complete type, e.g. `*(long *) &x` or `{char[64]} 0xADDR`');
  }
  return { expression, address, size, type: obj.type };
}

/** Display text of a watched value, as gdb's print shows it. */
export function formatWatchValue(program: Program, bytes: Buffer, target: WatchTarget): string {
  if (!target.type) return formatBytes(bytes);
  try {
    return program.formatValue(makeValue(target.type, bytes, target.address));
  } catch {
    return formatBytes(bytes, target.type);
  }
}

function strip(t: Type): Type {
  return resolve(t);
}

/** A C literal with the value of `bytes` read as `type`, for rewriting `value`/`old`. */
export function scalarLiteral(bytes: Buffer, type: Type | undefined): string | undefined {
  const t = type ? strip(type) : undefined;
  const n = bytes.length;
  const intOf = (signed: boolean): string => {
    const v = n === 8 ? (signed ? bytes.readBigInt64LE(0) : bytes.readBigUInt64LE(0)) : BigInt(signed ? bytes.readIntLE(0, n) : bytes.readUIntLE(0, n));
    if (signed) {
      if (v === -(2n ** 63n)) return '(-9223372036854775807L - 1)';
      return v < 0n ? `(${v}L)` : `${v}L`;
    }
    return `${v}UL`;
  };
  if (!t) return n === 1 || n === 2 || n === 4 || n === 8 ? intOf(false) : undefined;
  switch (t.kind) {
    case 'int':
      return n <= 8 && [1, 2, 4, 8].includes(n) ? intOf(t.signed) : undefined;
    case 'bool':
      return bytes.some((b) => b !== 0) ? '1' : '0';
    case 'enum':
      return [1, 2, 4, 8].includes(n) ? intOf(t.compatible?.signed ?? false) : undefined;
    case 'pointer':
      return `((${typeToString(t)}) 0x${bytes.readBigUInt64LE(0).toString(16)})`;
    case 'float': {
      const f = floatFormatFor(n, t.format);
      if (!f) return undefined;
      const x = floatToNumber(bytes, f);
      if (Number.isNaN(x)) return '(0.0 / 0.0)';
      if (x === Infinity) return '(1.0 / 0.0)';
      if (x === -Infinity) return '(-1.0 / 0.0)';
      const s = String(x);
      return /[.e]/.test(s) ? `(${s})` : `(${s}.0)`;
    }
    default:
      return undefined;
  }
}

/**
 * Rewrites the identifiers `value` and `old` (not member names, not inside string or character
 * literals) with the given replacement texts. Missing replacements throw a PidscopeError.
 */
export function bindScope(expression: string, replacements: { value?: string; old?: string }): string {
  let out = '';
  let i = 0;
  let prevSignificant = '';
  while (i < expression.length) {
    const c = expression[i]!;
    if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < expression.length && expression[j] !== c) j += expression[j] === '\\' ? 2 : 1;
      out += expression.slice(i, j + 1);
      i = j + 1;
      prevSignificant = c;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      let j = i + 1;
      while (j < expression.length && /[A-Za-z0-9_]/.test(expression[j]!)) j++;
      const word = expression.slice(i, j);
      const isMember = prevSignificant === '.' || prevSignificant === '->';
      if (!isMember && (word === 'value' || word === 'old')) {
        const r = replacements[word];
        if (r === undefined) {
          throw new PidscopeError(
            'NO_OLD',
            `'${word}' is not available here`,
            word === 'old' ? '`old` exists for scalar watches (integers, enums, floats, pointers) only' : 'the value was overwritten before it could be read',
          );
        }
        out += r;
      } else {
        out += word;
      }
      prevSignificant = word;
      i = j;
      continue;
    }
    if (c === '-' && expression[i + 1] === '>') {
      out += '->';
      prevSignificant = '->';
      i += 2;
      continue;
    }
    // Numbers like 1.5 must not make the next identifier look like a member: treat digits as words.
    if (/[0-9]/.test(c)) {
      let j = i + 1;
      while (j < expression.length && /[0-9A-Za-z_.]/.test(expression[j]!)) j++;
      out += expression.slice(i, j);
      prevSignificant = '0';
      i = j;
      continue;
    }
    out += c;
    if (!/\s/.test(c)) prevSignificant = c;
    i++;
  }
  return out;
}

function truthy(program: Program, obj: TargetObject): boolean {
  const bytes = fetchBytes(new ByteSource(program.memory), obj);
  const t = obj.type ? strip(obj.type) : undefined;
  if (t?.kind === 'float') {
    const f = floatFormatFor(bytes.length, t.format);
    if (f) return floatToNumber(bytes, f) !== 0;
  }
  return bytes.some((b) => b !== 0);
}

function replacementsFor(target: WatchTarget, scope: WatchScope): { value?: string; old?: string } {
  const r: { value?: string; old?: string } = {};
  const scalar = (b: Buffer | undefined) => (b ? scalarLiteral(b, target.type) : undefined);
  r.value = scalar(scope.value);
  r.old = scalar(scope.old);
  if (r.value === undefined && target.type) {
    // A struct or array: the object as it is in memory now.
    r.value = `({${typeToString(target.type)}} 0x${target.address.toString(16)})`;
  }
  return r;
}

/** Conditions and log messages through the Program's evaluator (see the file comment). */
export function programHooks(program: Program): WatchHooks {
  return {
    compileCondition(expression, target) {
      // Check the syntax and names once, up front, with sample values of the right type.
      const sample = Buffer.alloc(target.size);
      try {
        program.evaluate(bindScope(expression, replacementsFor(target, { value: sample, old: sample })));
      } catch (e) {
        if (e instanceof PidscopeError && e.code === 'EFAULT') {
          /* memory errors may pass later; names and syntax are fine */
        } else {
          const msg = e instanceof Error ? e.message : String(e);
          throw new PidscopeError('CONDITION', `invalid condition '${expression}': ${msg}`, 'Write a C expression over `value`, `old` and globals, e.g. `value > 100` or `value != old && g_go`');
        }
      }
      return (scope) => truthy(program, program.evaluate(bindScope(expression, replacementsFor(target, scope))));
    },
    evaluateText(expression, target, scope) {
      const obj = program.evaluate(bindScope(expression, replacementsFor(target, scope)));
      return program.formatValue(obj);
    },
  };
}

export interface ProgramWatchOptions {
  mode?: WatchMode;
  access?: WatchAccess;
  pollIntervalMs?: number;
  condition?: string;
  hitCondition?: string;
  logMessage?: string;
}

/** A watch engine wired to a Program: symbols for writers, gdb formatting, C conditions. */
export function createWatchEngine(program: Program, opts: { pollIntervalMs?: number; recentCapacity?: number } = {}): WatchEngine {
  return new WatchEngine({
    pid: program.pid,
    memory: program.memory,
    symbols: program.symbols,
    format: (bytes, target) => formatWatchValue(program, bytes, target),
    hooks: programHooks(program),
    pollIntervalMs: opts.pollIntervalMs,
    recentCapacity: opts.recentCapacity,
  });
}

/** `g_shared: 2 → 3 by worker_loop (threads.c:88) [tid 4242]` (the standard one-line form). */
export function hitLine(hit: WatchHit): string {
  if (hit.message !== undefined) return hit.message;
  const oldText = hit.oldText ?? '?';
  const newText = hit.value ? (hit.valueText ?? '?') : '(overwritten before it could be read)';
  let line = `${hit.expression}${hit.part ?? ''}: ${oldText} → ${newText}`;
  if (!hit.part && hit.changed && hit.value && hit.value.length > 16) {
    // Which bytes of a big object changed (gdb's text of all of it may be long and truncated).
    line = `${hit.expression}: bytes +${hit.changed.offset}..+${hit.changed.offset + hit.changed.length - 1} changed: ${oldText} → ${newText}`;
  }
  if (hit.writer) {
    line += ` by ${formatWriter(hit.writer)} [tid ${hit.writer.tid}${hit.writer.threadName ? ` ${hit.writer.threadName}` : ''}]`;
  }
  return line;
}

/** `g_hot: 12,345 writes in the last second, last by hot_loop (threads.c:77) [tid 4243]`. */
export function summaryLine(out: Extract<CoalescedOutput, { kind: 'summary' }>, access: WatchAccess = 'write'): string {
  const noun = access === 'write' ? 'writes' : 'accesses';
  const span = out.windowMs >= 950 && out.windowMs <= 1100 ? 'in the last second' : `in the last ${(out.windowMs / 1000).toFixed(1)} s`;
  const last = out.last.writer ? ` by ${formatWriter(out.last.writer)} [tid ${out.last.writer.tid}]` : '';
  const val = out.last.valueText !== undefined ? `, now ${out.last.valueText}` : '';
  const kind = out.last.source === 'poll' ? 'changes' : noun;
  return `${out.expression}: ${out.total.toLocaleString('en-US')} ${kind} ${span} (${out.suppressed.toLocaleString('en-US')} not shown), last${last}${val}`;
}

export interface SimpleWatch {
  engine: WatchEngine;
  watches: WatchInfo[];
  stop(): void;
}

/**
 * The simplest way to show watch hits (the demo): watches `expressions` on `program` and calls
 * `onLine` with one human line per hit or summary, at most `maxLinesPerSecond` per watch.
 */
export function watchExpressions(
  program: Program,
  expressions: string[],
  onLine: (line: string, event?: WatchEvent) => void,
  opts: ProgramWatchOptions & { maxLinesPerSecond?: number } = {},
): SimpleWatch {
  const engine = createWatchEngine(program, { pollIntervalMs: opts.pollIntervalMs });
  const coalescer = new Coalescer((out) => {
    if (out.kind === 'hit') onLine(hitLine(out.hit));
    else onLine(summaryLine(out, opts.access));
  }, opts.maxLinesPerSecond ?? 20);
  engine.on('event', (e) => {
    if (e.kind === 'hit') coalescer.push(e.hit);
    else if (e.kind === 'status') onLine(`[${e.level}] ${e.message}`, e);
    else onLine(`[ended] ${e.reason}`, e);
  });
  const watches: WatchInfo[] = [];
  try {
    for (const expression of expressions) {
      const t = resolveWatchTarget(program, expression);
      watches.push(engine.add({ ...t, mode: opts.mode, access: opts.access, condition: opts.condition, hitCondition: opts.hitCondition, logMessage: opts.logMessage }));
    }
  } catch (e) {
    coalescer.close();
    engine.close();
    throw e;
  }
  return {
    engine,
    watches,
    stop() {
      engine.close();
      coalescer.close();
    },
  };
}
