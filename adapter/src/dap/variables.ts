/**
 * What the Variables view shows: the rows of each container (modules, compile units, objects,
 * threads, the memory map, recent writes) and how one object is described (value text as gdb
 * prints it, type, memory reference, child counts). The session owns the requests and the
 * reference table; this file owns the presentation.
 */
import type { DebugProtocol } from '@vscode/debugprotocol';
import { basename } from 'node:path';
import type { GlobalsModule, GlobalsUnit, Program } from '../engine/program';
import type { VariableSymbol } from '../symbols/provider';
import { resolve } from '../symbols/types';
import type { TargetObject } from '../value/object';
import type { AttachConfig } from './attachArgs';
import type { AttachedProcess } from './attached';
import { asPidscopeError, errorText } from './errors';
import { encodeMemoryReference, type RefTable } from './handles';
import type { LiveView } from './liveView';
import type { ViewMemory } from './viewMemory';
import type { DataBreakpoints } from './watchpoints';
import { hex } from '../util/hex';

export type Container =
  | { kind: 'module'; module: string }
  | { kind: 'libraries' }
  | { kind: 'unit'; module: GlobalsModule; unit: GlobalsUnit }
  | { kind: 'object'; object: TargetObject; evaluateName?: string }
  | { kind: 'threads' }
  | { kind: 'maps' }
  | { kind: 'recent-writes' };

export interface Attachment {
  proc: AttachedProcess;
  cfg: AttachConfig;
  /** The Program the views read through (ViewMemory: batched, freezable). */
  view: Program;
  viewMemory: ViewMemory;
  /** A second view for the live plot, so sampling never disturbs the Variables view's snapshot. */
  sampler: Program;
  samplerMemory: ViewMemory;
  live: LiveView;
  /** Data breakpoints (watchpoints that never stop anything), created on first use. */
  watch?: DataBreakpoints;
  /** Globals per module, computed when the module's scope is first expanded (DWARF indexing is per module and can take seconds for a big library). */
  globals: Map<string, ModuleGlobals>;
}

export interface ModuleGlobals {
  module: GlobalsModule;
  /** name → how many variables of this module carry it (to qualify evaluateName). */
  nameCounts: Map<string, number>;
}

/** What the presentation needs from the session. */
export interface VariablesContext {
  readonly refs: RefTable<Container>;
  attachment(): Attachment;
  memoryReferences(): boolean;
  globalsOf(module: string): ModuleGlobals;
}

export class Variables {
  constructor(private readonly session: VariablesContext) {}

  page(container: Container, start: number, count: number, filter: 'indexed' | 'named' | undefined, alloc: boolean): DebugProtocol.Variable[] {
    const attachment = this.session.attachment();
    const slice = <T>(items: T[]) => items.slice(start, count > 0 ? start + count : undefined);
    switch (container.kind) {
      case 'module': {
        if (filter === 'indexed') return [];
        const globals = this.session.globalsOf(container.module);
        const units = globals.module.units;
        if (units.length === 0) {
          return [
            {
              name: '(none)',
              value: 'no globals with debug info in this module (install its debug symbols, or add their directory to "debugSearchPaths")',
              variablesReference: 0,
              presentationHint: { kind: 'virtual' as const, attributes: ['readOnly'] },
            },
          ];
        }
        if (units.length === 1) return slice(units[0].variables).map((v) => this.globalVariable(v, globals, alloc));
        return slice(units).map((u) => ({
          name: u.name ? basename(u.name) : '(no compile unit)',
          value: `${u.variables.length} global${u.variables.length === 1 ? '' : 's'}`,
          variablesReference: alloc ? this.session.refs.add({ kind: 'unit', module: globals.module, unit: u }, `unit:${globals.module.module}:${u.name}`) : 0,
          namedVariables: u.variables.length,
          presentationHint: { kind: 'virtual' as const },
        }));
      }
      case 'libraries':
        if (filter === 'indexed') return [];
        return slice(attachment.proc.modules.slice(1)).map((m) => {
          const globals = attachment.globals.get(m);
          const n = globals?.module.units.reduce((k, u) => k + u.variables.length, 0);
          return {
            name: basename(m),
            value: n === undefined ? `${m} (globals read when expanded)` : `${n} global${n === 1 ? '' : 's'}`,
            variablesReference: alloc ? this.session.refs.add({ kind: 'module', module: m }, `module:${m}`) : 0,
            presentationHint: { kind: 'virtual' as const, attributes: ['readOnly'] },
          };
        });
      case 'unit':
        if (filter === 'indexed') return [];
        return slice(container.unit.variables).map((v) => this.globalVariable(v, this.session.globalsOf(container.module.module), alloc));
      case 'object': {
        const isArray = container.object.type !== undefined && resolve(container.object.type).kind === 'array';
        if ((filter === 'indexed' && !isArray) || (filter === 'named' && isArray)) return [];
        const kids = attachment.view.children(container.object, start, count > 0 ? count : undefined, container.evaluateName);
        return kids.map((k) => this.objectVariable(k.name, k.object, k.evaluateName, alloc));
      }
      case 'threads':
        if (filter === 'indexed') return [];
        return slice(safe(() => attachment.proc.threads(), [])).map((t) => ({
          name: String(t.tid),
          value: `${t.name}${t.state ? ` — ${t.state}` : ''}${t.tid === attachment.proc.pid ? ' (main thread)' : ''}`,
          variablesReference: 0,
          presentationHint: { attributes: ['readOnly'] },
        }));
      case 'recent-writes':
        if (filter === 'indexed') return [];
        return slice(attachment.watch?.recentVariables() ?? []);
      case 'maps':
        if (filter === 'indexed') return [];
        return slice(safe(() => attachment.proc.mappings(), [])).map((m) => ({
          name: `${hex(m.start)}-${hex(m.end)}`,
          value: `${m.perms} ${m.path ?? '[anonymous]'} (${humanSize(m.end - m.start)})`,
          variablesReference: 0,
          ...(this.session.memoryReferences() ? { memoryReference: encodeMemoryReference(m.start) } : {}),
          presentationHint: { attributes: ['readOnly'] },
        }));
    }
  }

  private globalVariable(v: VariableSymbol, globals: ModuleGlobals, alloc: boolean): DebugProtocol.Variable {
    const attachment = this.session.attachment();
    const qualified = (globals.nameCounts.get(v.name) ?? 0) > 1;
    let name = v.name;
    let evaluateName = v.name;
    if (v.scope === 'function-static' && v.function) {
      name = `${v.function}::${v.name}`;
      evaluateName = name;
    } else if (qualified && v.scope === 'file-static' && v.compileUnit) {
      evaluateName = `'${basename(v.compileUnit)}'::${v.name}`;
      name = `${v.name} (${basename(v.compileUnit)})`;
    }
    let obj: TargetObject;
    try {
      obj = attachment.view.objectFor(v);
    } catch (e) {
      return { name, value: `<error: ${errorText(asPidscopeError(e))}>`, variablesReference: 0, evaluateName };
    }
    return this.objectVariable(name, obj, evaluateName, alloc);
  }

  private objectVariable(name: string, obj: TargetObject, evaluateName: string | undefined, alloc: boolean): DebugProtocol.Variable {
    const described = this.describe(obj, evaluateName, alloc);
    const v: DebugProtocol.Variable = { name, value: described.result, variablesReference: described.variablesReference };
    if (described.type !== undefined) v.type = described.type;
    if (evaluateName !== undefined) v.evaluateName = evaluateName;
    if (described.memoryReference !== undefined) v.memoryReference = described.memoryReference;
    if (described.indexedVariables !== undefined) v.indexedVariables = described.indexedVariables;
    if (described.namedVariables !== undefined) v.namedVariables = described.namedVariables;
    return v;
  }

  /** What a variable row or an evaluate result shows for an object. */
  describe(
    obj: TargetObject,
    evaluateName: string | undefined,
    alloc: boolean,
    elements?: number,
  ): { result: string; type?: string; variablesReference: number; memoryReference?: string; indexedVariables?: number; namedVariables?: number } {
    const view = this.session.attachment().view;
    let result: string;
    try {
      // DAP clients show Unicode whatever the adapter's locale: strings print as gdb does under a UTF-8 locale.
      result = view.formatValue(obj, elements !== undefined ? { elements, charset: 'utf-8' } : { charset: 'utf-8' });
    } catch (e) {
      result = `<error: ${errorText(asPidscopeError(e))}>`;
    }
    const out: ReturnType<Variables['describe']> = { result, variablesReference: 0 };
    const type = safe(() => view.typeName(obj), undefined);
    if (type !== undefined) out.type = type;
    const addr = safe(() => view.address(obj), undefined);
    if (addr !== undefined && this.session.memoryReferences()) out.memoryReference = encodeMemoryReference(addr);
    const n = safe(() => view.childCount(obj), 0);
    if (n > 0) {
      // The same expression at the same address is the same object for this generation: one
      // reference, however often the client asks (watches re-evaluate on every view update).
      const key = evaluateName !== undefined && addr !== undefined ? `o|${evaluateName}|${addr}|${type ?? ''}` : undefined;
      out.variablesReference = alloc ? this.session.refs.add({ kind: 'object', object: obj, evaluateName }, key) : 0;
      if (obj.type !== undefined && resolve(obj.type).kind === 'array') out.indexedVariables = n;
      else out.namedVariables = n;
    }
    return out;
  }
}

export function safe<T>(f: () => T, fallback: T): T {
  try {
    return f();
  } catch {
    return fallback;
  }
}

function humanSize(n: bigint): string {
  const x = Number(n);
  if (x >= 1 << 30) return `${(x / (1 << 30)).toFixed(1)} GiB`;
  if (x >= 1 << 20) return `${(x / (1 << 20)).toFixed(1)} MiB`;
  if (x >= 1 << 10) return `${(x / (1 << 10)).toFixed(0)} KiB`;
  return `${x} B`;
}
