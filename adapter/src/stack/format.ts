/**
 * gdb's text for call stacks: `thread apply all bt` and `thread apply all bt full`.
 *
 *   Thread 2 (Thread 0x7f… (LWP 123) "worker"):
 *   #0  0x00007f… in __GI___clock_nanosleep (clock_id=0, …) at ../sysdeps/…/clock_nanosleep.c:48
 *   #1  0x000055… in work (n=3) at work.c:12
 *           i = 2
 *
 * Arguments follow gdb's `print frame-arguments scalars` (aggregates print as `...`); locals
 * print as `print` would, 8 spaces in, `No locals.` when there are none.
 */
import { resolve } from '../symbols/types';
import { fetchWhole, formatTop } from '../value/format';
import { ByteSource, type TargetObject, type ValueContext } from '../value/object';
import type { StackFrame, ThreadStack } from './stacks';
import { hex } from '../util/hex';

function valueText(ctx: ValueContext, obj: TargetObject): string {
  try {
    return formatTop(ctx, obj, { noPointerPrefix: true });
  } catch (e) {
    const msg = (e as { causeText?: string }).causeText ?? (e as Error).message;
    return `<error: ${msg}>`;
  }
}

function argText(ctx: ValueContext, obj: TargetObject): string {
  // `print frame-arguments scalars` decides on the type alone: an aggregate is `...` even
  // when its value is optimized out.
  if (obj.type) {
    let t;
    try {
      t = resolve(obj.type);
    } catch {
      t = undefined;
    }
    if (t && (t.kind === 'struct' || t.kind === 'union' || t.kind === 'array')) return '...';
  }
  return valueText(ctx, obj);
}

/**
 * gdb's `print entry-values default`: `x=x@entry=5` when the entry value equals the current
 * one, `x=6, x@entry=5` when they differ, just `x=6` without an entry value.
 */
function argWithEntry(ctx: ValueContext, name: string, obj: TargetObject, entry?: TargetObject): string {
  const cur = argText(ctx, obj);
  if (!entry || entry.kind === 'absent') return `${name}=${cur}`;
  const ent = argText(ctx, entry);
  const bytes = (o: TargetObject) => {
    try {
      return fetchWhole(new ByteSource(ctx.memory), o).bytes;
    } catch {
      return undefined;
    }
  };
  const a = obj.kind === 'absent' ? undefined : bytes(obj);
  const b = bytes(entry);
  if (a && b && a.equals(b)) return `${name}=${name}@entry=${cur}`;
  return `${name}=${cur}, ${name}@entry=${ent}`;
}

export function frameLine(f: StackFrame): string {
  const lvl = `#${String(f.level).padEnd(2)} `;
  if (f.signalTrampoline) return `${lvl}<signal handler called>`;
  let s = lvl;
  if (f.showAddress) s += `${hex(f.pc, 16)} in `;
  s += f.function ?? '??';
  const args = f.args ? f.args.map((a) => argWithEntry(f.ctx, a.name, a.obj, a.entry)).join(', ') : '';
  s += ` (${args})`;
  if (f.file && f.line !== undefined) s += ` at ${f.file}:${f.line}`;
  else if (f.module && !f.moduleIsMain) s += ` from ${f.module}`;
  return s;
}

export function localLines(f: StackFrame): string[] {
  // gdb: a frame without debug info has no symbol table; a trampoline or a function without
  // variables has no locals.
  if (!f.locals && !f.signalTrampoline) return ['No symbol table info available.'];
  if (!f.locals || f.locals.length === 0) return ['No locals.'];
  return f.locals.map((l) => `        ${l.name} = ${valueText(f.ctx, l.obj)}`);
}

export function threadHeader(t: ThreadStack): string {
  const who = t.pthread !== undefined ? `Thread 0x${t.pthread.toString(16)} (LWP ${t.tid})` : `LWP ${t.tid}`;
  return `Thread ${t.number} (${who} "${t.name}"):`;
}

/** One thread as `bt` / `bt full` prints it, plus pidscope's notes (how it was captured). */
export function formatThread(t: ThreadStack, full: boolean): string[] {
  const out = [threadHeader(t)];
  for (const f of t.frames) {
    out.push(frameLine(f));
    if (full) out.push(...localLines(f));
  }
  if (t.truncated) out.push('(More stack frames follow...)');
  if (t.stopReason) out.push(`Backtrace stopped: ${t.stopReason}`);
  return out;
}
