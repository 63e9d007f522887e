/**
 * Watchpoints on a Program: C expressions become watch targets (address, size, type), values are
 * printed exactly as gdb prints them, and conditions / log messages are evaluated by the Program's
 * C evaluator with `value` (new) and `old` bound.
 *
 * Binding `value`/`old`: conditions and log messages are evaluated by the Program's evaluator
 * against a symbol table that answers the names `value` and `old` with the watched object's
 * bytes (as a constant, the way DW_AT_const_value variables are answered), typed like the watched
 * object, and everything else from the program's symbols. So `value > 100`, `old.count + 1`,
 * `value != old && g_enabled` all work, for scalars, structs and arrays alike.
 */
import { PidscopeError } from '../errors';
import type { Program } from '../engine/program';
import { evaluateExpression } from '../eval/evaluate';
import type { LookupScope, SymbolLookup, VariableSymbol } from '../symbols/provider';
import { resolve, type Type } from '../symbols/types';
import { ByteSource, fetchBytes, makeValue, type TargetObject, type ValueContext } from '../value/object';
import { floatFormatFor, floatToNumber } from '../value/float';
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
    throw new PidscopeError(
      'NOT_LVALUE',
      `'${expression}' cannot be watched: ${obj.reason}`,
      'Watch a global or static variable, a member, an element or *pointer',
    );
  }
  if (obj.kind === 'reference' && (obj.bitSize !== undefined || obj.bitOffset !== 0)) {
    throw new PidscopeError(
      'NOT_LVALUE',
      `'${expression}' is a bit field: debug registers and snapshots watch whole bytes`,
      'Watch the struct that holds it (its changes include the bit field)',
    );
  }
  if (obj.type && resolve(obj.type).kind === 'function') {
    throw new PidscopeError(
      'NOT_DATA',
      `'${expression}' is a function: watchpoints watch data, not code`,
      'Watch a variable, e.g. a global the function writes',
    );
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
    throw new PidscopeError(
      'WATCH_SIZE',
      `'${expression}' has no known size (incomplete type or zero-length array)`,
      'Cast it to a complete type, e.g. `*(long *) &x` or `{char[64]} 0xADDR`',
    );
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

function truthy(program: Program, obj: TargetObject): boolean {
  const bytes = fetchBytes(new ByteSource(program.memory), obj);
  const t = obj.type ? strip(obj.type) : undefined;
  if (t?.kind === 'float') {
    const f = floatFormatFor(bytes.length, t.format);
    if (f) return floatToNumber(bytes, f) !== 0;
  }
  return bytes.some((b) => b !== 0);
}

/** The type `value`/`old` get for a raw address watch (no DWARF type): unsigned of that size. */
function rawType(size: number): Type {
  if (size === 1 || size === 2 || size === 4 || size === 8) {
    return {
      kind: 'int',
      name: size === 8 ? 'unsigned long' : size === 4 ? 'unsigned int' : size === 2 ? 'unsigned short' : 'unsigned char',
      size,
      signed: false,
      isChar: false,
    };
  }
  return { kind: 'array', element: { kind: 'int', name: 'unsigned char', size: 1, signed: false, isChar: false }, length: size };
}

/**
 * The program's symbols, plus `value` and `old` as constants holding the given bytes. Qualified
 * lookups ('file.c'::value) still reach the program's own variables of those names.
 */
class ScopedSymbols implements SymbolLookup {
  constructor(
    private readonly base: SymbolLookup,
    private readonly bound: Map<string, VariableSymbol>,
  ) {}

  get pointerSize(): number {
    return this.base.pointerSize;
  }

  findVariables(name: string, scope?: LookupScope): VariableSymbol[] {
    const own = !scope || (!scope.file && !scope.module && !scope.function) ? this.bound.get(name) : undefined;
    return own ? [own] : this.base.findVariables(name, scope);
  }

  findFunctions(name: string, scope?: LookupScope) {
    return this.base.findFunctions(name, scope);
  }

  findType(name: string, scope?: LookupScope) {
    return this.base.findType(name, scope);
  }

  symbolize(address: bigint) {
    return this.base.symbolize(address);
  }

  sourceLocation(address: bigint) {
    return this.base.sourceLocation(address);
  }

  allVariables() {
    return this.base.allVariables();
  }

  mainLanguage() {
    return this.base.mainLanguage?.();
  }
}

function scopedContext(program: Program, target: WatchTarget, scope: WatchScope): ValueContext {
  const type = target.type ?? rawType(target.size);
  const bind = (name: string, bytes: Buffer | undefined): VariableSymbol =>
    bytes
      ? { name, type, constValue: bytes, module: '<watch>', scope: 'global' }
      : {
          name,
          type,
          module: '<watch>',
          scope: 'global',
          absentReason: name === 'old' ? 'not known (several writes landed together)' : 'overwritten before it could be read',
        };
  const bound = new Map([
    ['value', bind('value', scope.value)],
    ['old', bind('old', scope.old)],
  ]);
  return { memory: program.memory, symbols: new ScopedSymbols(program.symbols, bound), pointerSize: program.symbols.pointerSize };
}

/** Conditions and log messages through the Program's evaluator (see the file comment). */
export function programHooks(program: Program): WatchHooks {
  return {
    compileCondition(expression, target) {
      // Check the syntax and names once, up front, with zero values of the right type.
      const sample = Buffer.alloc(target.size);
      try {
        evaluateExpression(scopedContext(program, target, { value: sample, old: sample }), expression);
      } catch (e) {
        if (e instanceof PidscopeError && e.code === 'EFAULT') {
          /* memory errors may pass later; names and syntax are fine */
        } else {
          const msg = e instanceof Error ? e.message : String(e);
          throw new PidscopeError(
            'CONDITION',
            `invalid condition '${expression}': ${msg}`,
            'Write a C expression over `value`, `old` and globals, e.g. `value > 100` or `value != old && g_go`',
          );
        }
      }
      return (scope) => truthy(program, evaluateExpression(scopedContext(program, target, scope), expression));
    },
    evaluateText(expression, target, scope) {
      const obj = evaluateExpression(scopedContext(program, target, scope), expression);
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
    target: program.target,
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
  return `${hitSubject(hit)}: ${hitChange(hit)}`;
}

/** What changed: `g_shared`, `g_ring[6]`, or `g_buf: bytes +8..+11 changed`. */
export function hitSubject(hit: WatchHit): string {
  if (hit.part) return hit.expression + hit.part;
  if (hit.changed && hit.size !== undefined && hit.size > 16) {
    // Which bytes of a big object changed (gdb's text of all of it may be long and truncated).
    return `${hit.expression}: bytes +${hit.changed.offset}..+${hit.changed.offset + hit.changed.length - 1} changed`;
  }
  return hit.expression;
}

/** `2 → 3 by worker_loop (threads.c:88) [tid 4242 worker-0]`. */
export function hitChange(hit: WatchHit): string {
  const oldText = hit.oldText ?? '?';
  const newText = hit.valueText ?? (hit.value ? '?' : '(overwritten before it could be read)');
  let text = `${oldText} → ${newText}`;
  if (hit.writer) text += ` by ${formatWriter(hit.writer)} [tid ${hit.writer.tid}${hit.writer.threadName ? ` ${hit.writer.threadName}` : ''}]`;
  return text;
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
      watches.push(
        engine.add({ ...t, mode: opts.mode, access: opts.access, condition: opts.condition, hitCondition: opts.hitCondition, logMessage: opts.logMessage }),
      );
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
