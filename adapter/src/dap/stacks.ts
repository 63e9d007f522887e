/**
 * Call stacks of real threads in DAP, without stopping them. *Pause* on a real thread takes a
 * snapshot of its registers and stack (adapter/src/stack/) and the session reports it `stopped`
 * (reason `pause`; the description says when the snapshot was taken, the text also that the
 * thread keeps running). `stackTrace` returns the snapshot's frames with sources and lines, `scopes` gives
 * Locals, Arguments and Registers, `evaluate` with one of its frame ids sees the frame's locals
 * first, then globals. *Continue* drops the snapshot. The session keeps the live view; this
 * class owns only the snapshots, its frame ids and its variable references (both in ranges the
 * session does not use).
 */
import { isAbsolute, join } from 'node:path';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { PidscopeError } from '../errors';
import type { Program } from '../engine/program';
import { frameValueContext, evaluateInFrame } from '../stack/frameScope';
import { REG_NAMES } from '../stack/regs';
import { takeStacks, type NamedObject, type StackFrame, type ThreadStack } from '../stack/stacks';
import { formatTop } from '../value/format';
import { children } from '../value/children';
import type { TargetObject, ValueContext } from '../value/object';
import { resolve } from '../symbols/types';
import { languageOf } from '../lang';

/** Frame ids and variable references from here up belong to thread snapshots. */
export const SNAPSHOT_ID_BASE = 1 << 30;

type Ref =
  | { kind: 'list'; frame: StackFrame; items: NamedObject[] }
  | { kind: 'registers'; frame: StackFrame }
  | { kind: 'object'; frame: StackFrame; obj: TargetObject; evaluateName?: string };

export class ThreadSnapshots {
  private readonly stacks = new Map<number, ThreadStack>();
  private readonly frames = new Map<number, { tid: number; frame: StackFrame }>();
  private readonly refs = new Map<number, Ref>();
  private next = SNAPSHOT_ID_BASE;

  constructor(private readonly program: Program) {}

  has(tid: number): boolean {
    return this.stacks.has(tid);
  }

  owns(id: unknown): boolean {
    return typeof id === 'number' && id >= SNAPSHOT_ID_BASE && (this.frames.has(id) || this.refs.has(id));
  }

  /**
   * Takes the thread's snapshot; returns the `stopped` event's description and text. The
   * description is short because VS Code's Call Stack view prints it beside the thread's name in
   * a narrow column and a long one hides the name; the text says the rest.
   */
  pause(tid: number): { description: string; text: string } {
    const res = takeStacks(this.program, { tids: [tid] });
    const thread = res.threads[0];
    if (!thread) {
      throw new PidscopeError(
        'NO_STACK',
        res.failures[0]?.reason ?? `thread ${tid} could not be captured`,
        'It keeps running; try Pause again, or see `pidscope stack --help` for what can be shown',
        'target',
      );
    }
    this.drop(tid);
    this.stacks.set(tid, thread);
    const when = new Date(thread.takenAt).toISOString().slice(11, 23);
    const how =
      thread.source === 'perf-sample' ? 'sampled on its CPU' : thread.source === 'switch-sample' ? 'sampled when it blocked' : 'blocked in a system call';
    return {
      description: `snapshot ${when}`,
      text: `snapshot of ${when} (${how}) — the thread keeps running${thread.moved ? '; it moved while being read, frames may mix two moments' : ''}`,
    };
  }

  /** Continue: forget the snapshot. */
  drop(tid: number): void {
    this.stacks.delete(tid);
    for (const [id, f] of this.frames) if (f.tid === tid) this.frames.delete(id);
    for (const [id, r] of this.refs) if (![...this.frames.values()].some((f) => f.frame === r.frame)) this.refs.delete(id);
  }

  dropAll(): void {
    this.stacks.clear();
    this.frames.clear();
    this.refs.clear();
  }

  stackTrace(tid: number, startFrame: number, levels: number): DebugProtocol.StackTraceResponse['body'] {
    const thread = this.stacks.get(tid);
    if (!thread) return { stackFrames: [], totalFrames: 0 };
    const end = levels > 0 ? startFrame + levels : undefined;
    const stackFrames = thread.frames.slice(startFrame, end).map((frame) => {
      const id = this.next++;
      this.frames.set(id, { tid, frame });
      const name = frame.signalTrampoline ? '<signal handler called>' : `${frame.function ?? '??'}${frame.inline ? ' [inlined]' : ''}`;
      const sf: DebugProtocol.StackFrame = {
        id,
        name,
        line: frame.line ?? 0,
        column: frame.line ? 1 : 0,
        instructionPointerReference: `0x${frame.pc.toString(16)}`,
      };
      const path = frame.file ? sourcePath(frame) : undefined;
      if (path) sf.source = { name: path.split('/').pop(), path };
      else if (frame.module) sf.source = { name: frame.module.split('/').pop(), presentationHint: 'deemphasize' };
      if (frame.signalTrampoline || !frame.frame) sf.presentationHint = 'subtle';
      return sf;
    });
    return { stackFrames, totalFrames: thread.frames.length };
  }

  frame(id: unknown): StackFrame | undefined {
    return typeof id === 'number' ? this.frames.get(id)?.frame : undefined;
  }

  scopes(frameId: number): DebugProtocol.Scope[] {
    const frame = this.frame(frameId);
    if (!frame) throw new PidscopeError('UNKNOWN_FRAME', `frame ${frameId} is not in a thread snapshot`, 'Pause the thread again', 'user');
    const add = (ref: Ref) => {
      const id = this.next++;
      this.refs.set(id, ref);
      return id;
    };
    return [
      {
        name: 'Locals',
        presentationHint: 'locals',
        variablesReference: add({ kind: 'list', frame, items: frame.locals ?? [] }),
        namedVariables: frame.locals?.length ?? 0,
        expensive: false,
      },
      {
        name: 'Arguments',
        presentationHint: 'arguments',
        variablesReference: add({ kind: 'list', frame, items: frame.args ?? [] }),
        namedVariables: frame.args?.length ?? 0,
        expensive: false,
      },
      { name: 'Registers', presentationHint: 'registers', variablesReference: add({ kind: 'registers', frame }), expensive: false },
    ];
  }

  variables(ref: number): DebugProtocol.Variable[] {
    const node = this.refs.get(ref);
    if (!node) throw new PidscopeError('UNKNOWN_REFERENCE', `variablesReference ${ref} is not known`, 'Pause the thread again', 'user');
    const ctx = frameValueContext(node.frame);
    switch (node.kind) {
      case 'list':
        return node.items.map((v) => this.variable(node.frame, ctx, v.name, v.obj, v.name));
      case 'registers': {
        const regs = node.frame.frame?.regs ?? [];
        return REG_NAMES.map((name, i) => ({
          name,
          value: regs[i] === undefined ? '<unavailable>' : `0x${regs[i]!.toString(16)}`,
          variablesReference: 0,
          presentationHint: { attributes: ['readOnly'] },
        }));
      }
      case 'object':
        return children(ctx, node.obj, 0, 1000, node.evaluateName).map((k) => this.variable(node.frame, ctx, k.name, k.object, k.evaluateName));
    }
  }

  private variable(frame: StackFrame, ctx: ValueContext, name: string, obj: TargetObject, evaluateName?: string): DebugProtocol.Variable {
    let value: string;
    try {
      value = formatTop(ctx, obj, { noPointerPrefix: true });
    } catch (e) {
      value = `<error: ${(e as { causeText?: string }).causeText ?? (e as Error).message}>`;
    }
    let variablesReference = 0;
    if (obj.kind !== 'absent' && obj.type) {
      const k = resolve(obj.type).kind;
      if (k === 'struct' || k === 'union' || k === 'array' || k === 'pointer') {
        variablesReference = this.next++;
        this.refs.set(variablesReference, { kind: 'object', frame, obj, evaluateName });
      }
    }
    const v: DebugProtocol.Variable = { name, value, variablesReference };
    if (obj.type) v.type = languageOf(ctx).typeName(obj.type);
    if (evaluateName) v.evaluateName = evaluateName;
    return v;
  }

  evaluate(frameId: number, expression: string): { result: string; type?: string; variablesReference: number } {
    const frame = this.frame(frameId)!;
    const { obj, ctx } = evaluateInFrame(frame, expression);
    const v = this.variable(frame, ctx, expression, obj, expression);
    return { result: formatTop(ctx, obj), type: v.type, variablesReference: v.variablesReference };
  }
}

/** An absolute path for a frame's source file (the compile directory joins relative names). */
function sourcePath(frame: StackFrame): string | undefined {
  if (!frame.file) return undefined;
  if (isAbsolute(frame.file)) return frame.file;
  const dir = frame.compDir;
  return dir ? join(dir, frame.file) : frame.file;
}
