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
import { formatTop } from '../value/format';
import type { TargetObject, ValueContext } from '../value/object';
import type { StackFrame, ThreadStack } from './stacks';

function hex16(v: bigint): string {
  return `0x${v.toString(16).padStart(16, '0')}`;
}

function valueText(ctx: ValueContext, obj: TargetObject): string {
  try {
    return formatTop(ctx, obj, { noPointerPrefix: true });
  } catch (e) {
    const msg = (e as { cause_?: string }).cause_ ?? (e as Error).message;
    return `<error: ${msg}>`;
  }
}

function argText(ctx: ValueContext, obj: TargetObject): string {
  if (obj.kind !== 'absent' && obj.type) {
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

export function frameLine(f: StackFrame): string {
  const lvl = `#${String(f.level).padEnd(2)} `;
  if (f.signalTrampoline) return `${lvl}<signal handler called>`;
  let s = lvl;
  if (f.showAddress) s += `${hex16(f.pc)} in `;
  s += f.function ?? '??';
  const args = f.args ? f.args.map((a) => `${a.name}=${argText(f.ctx, a.obj)}`).join(', ') : '';
  s += ` (${args})`;
  if (f.file && f.line !== undefined) s += ` at ${f.file}:${f.line}`;
  else if (f.module && !f.moduleIsMain) s += ` from ${f.module}`;
  return s;
}

export function localLines(f: StackFrame): string[] {
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
