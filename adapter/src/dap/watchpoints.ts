/**
 * Data breakpoints for the DAP session, as watchpoints that never stop anything.
 *
 * The session (session.ts, owned by the DAP front end) creates one `DataBreakpoints` once
 * attached and delegates to it:
 *
 *   const wp = new DataBreakpoints({
 *     program: attached.program,          // LIVE memory (not a snapshot view): polling compares reads
 *     sendEvent: (e) => this.sendEvent(e),
 *     resolveVariable: (ref, name) => evaluateName of child `name` of container `ref`, or undefined,
 *     supportsInvalidatedEvent: client.supportsInvalidatedEvent,
 *     supportsMemoryEvent: client.supportsMemoryEvent,
 *   });
 *   initialize:          Object.assign(body, DataBreakpoints.capabilities)
 *   dataBreakpointInfo:  response.body = wp.dataBreakpointInfo(args)
 *   setDataBreakpoints:  response.body = wp.setDataBreakpoints(args)
 *   scopes:              scopes.push(wp.scope(refFor({ kind: 'recent-writes' })))
 *   variables of that ref: response.body = { variables: wp.recentVariables() }
 *   disconnect / target gone: wp.dispose()
 *
 * What a hit does (and never: a `stopped` event):
 *   - an `output` event, one line: `g_state: 2 → 3 by worker_loop (worker.c:88) [tid 4242 worker-0]`;
 *     a hot variable is coalesced ("g_hot: 12,345 writes in the last second (…), last by …");
 *   - an `invalidated` event (areas: variables), at most 4 per second, so open views refresh, and
 *     with supportsMemoryEvent a `memory` event for each watched object that changed;
 *   - a `breakpoint` event (reason `changed`) whose message carries the hit count and the last
 *     writer, at most 2 per second per watchpoint;
 *   - the hit joins a bounded ring of recent hits, browsable as the "Recent writes" scope.
 *
 * dataId format: `pidscope:0x<address>:<bytes>:<expression>` (the expression is for display and to
 * recover the type; the address and size are what is watched).
 */
import { BreakpointEvent, InvalidatedEvent, MemoryEvent, OutputEvent } from '@vscode/debugadapter';
import { encodeMemoryReference } from './handles';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { isPidscopeError, PidscopeError } from '../errors';
import type { Program } from '../engine/program';
import { Coalescer } from '../watch/coalesce';
import { DEBUG_REGISTERS, type WatchEngine } from '../watch/engine';
import { hardwareWatchUnavailable } from '../engine/capabilities';
import { splitIntoBreakpoints } from '../watch/ranges';
import { formatWriter } from '../watch/format';
import { createWatchEngine, hitChange, hitLine, hitSubject, resolveWatchTarget, summaryLine } from '../watch/program';
import type { WatchAccess, WatchHit, WatchInfo, WatchMode, WatchTarget } from '../watch/types';

export interface DataBreakpointsDeps {
  /** The attached Program, reading live memory. */
  program: Program;
  sendEvent: (event: DebugProtocol.Event) => void;
  /** variablesReference + child name → an expression for that child (its evaluateName). */
  resolveVariable: (variablesReference: number, name: string) => string | undefined;
  supportsInvalidatedEvent?: boolean;
  /** Send `memory` events for the watched bytes that changed (client capability supportsMemoryEvent). */
  supportsMemoryEvent?: boolean;
  /** hw, poll or auto (default auto: hardware when perf allows, else polling). */
  mode?: WatchMode;
  pollIntervalMs?: number;
  /** Output lines per watchpoint and second before coalescing (default 10). */
  maxLinesPerSecond?: number;
  /** Recent hits kept for the "Recent writes" scope (default 50). */
  recentCapacity?: number;
}

/** An extension of DAP's DataBreakpoint: a log message replaces the standard line. */
export type PidscopeDataBreakpoint = DebugProtocol.DataBreakpoint & { logMessage?: string };

interface Active {
  bpId: number;
  key: string;
  watchId: number;
  lastChangedSent: number;
  pendingChanged?: NodeJS.Timeout;
}

const DATA_ID_RE = /^pidscope:0x([0-9a-f]+):(\d+):(.*)$/s;

export function encodeDataId(t: { address: bigint; size: number; expression: string }): string {
  return `pidscope:0x${t.address.toString(16)}:${t.size}:${t.expression}`;
}

export function decodeDataId(dataId: string): { address: bigint; size: number; expression: string } | undefined {
  const m = DATA_ID_RE.exec(dataId);
  if (!m) return undefined;
  return { address: BigInt(`0x${m[1]}`), size: Number(m[2]), expression: m[3]! };
}

function accessOf(t: DebugProtocol.DataBreakpointAccessType | undefined): WatchAccess {
  if (t === 'readWrite') return 'readwrite';
  if (t === 'read') return 'read';
  return 'write';
}

export class DataBreakpoints {
  /** Merge into the initialize response's capabilities. */
  static readonly capabilities: Pick<DebugProtocol.Capabilities, 'supportsDataBreakpoints' | 'supportsDataBreakpointBytes'> = {
    supportsDataBreakpoints: true,
    supportsDataBreakpointBytes: true,
  };

  private engine: WatchEngine | undefined;
  private coalescer: Coalescer | undefined;
  private readonly active = new Map<number, Active>(); // by watch id
  private nextBpId = 1;
  private lastInvalidated = 0;
  private invalidateTimer: NodeJS.Timeout | undefined;
  /** Watched ranges changed since the last memory events, by address. */
  private readonly dirty = new Map<string, { address: bigint; size: number }>();
  private ended: string | undefined;
  private disposed = false;

  constructor(private readonly deps: DataBreakpointsDeps) {}

  // ------------------------------------------------------------------ requests

  dataBreakpointInfo(args: DebugProtocol.DataBreakpointInfoArguments): DebugProtocol.DataBreakpointInfoResponse['body'] {
    const none = (description: string): DebugProtocol.DataBreakpointInfoResponse['body'] => ({ dataId: null, description });
    try {
      let target: WatchTarget;
      if (args.asAddress) {
        const address = this.addressOf(args.name);
        const size = args.bytes ?? 8;
        if (!Number.isInteger(size) || size < 1) return none(`cannot watch ${size} bytes: give bytes >= 1`);
        // Raw memory: no type, the bytes are shown.
        target = { expression: size === 1 ? `0x${address.toString(16)}` : `0x${address.toString(16)}[${size} bytes]`, address, size };
      } else {
        let expression = args.name;
        if (args.variablesReference !== undefined && args.variablesReference > 0) {
          const resolved = this.deps.resolveVariable(args.variablesReference, args.name);
          if (!resolved) return none(`'${args.name}' cannot be watched: pidscope does not know an expression for it`);
          expression = resolved;
        }
        target = resolveWatchTarget(this.deps.program, expression);
        if (args.bytes !== undefined && args.bytes > 0) target = { ...target, size: args.bytes };
      }
      const hw = splitIntoBreakpoints(target.address, target.size).length <= DEBUG_REGISTERS;
      const unavailable = this.deps.mode === 'poll' ? undefined : hardwareWatchUnavailable();
      const how = unavailable
        ? `polling (${unavailable})`
        : hw
          ? 'a hardware watchpoint (the writer is named; it falls back to polling when perf is not permitted)'
          : 'polling (hardware watchpoints cover up to 4 aligned ranges of 1, 2, 4 or 8 bytes; this one may not fit)';
      return {
        dataId: encodeDataId(target),
        description: `${target.expression} (${target.size} bytes at 0x${target.address.toString(16)}): ${how}; never stops the process`,
        accessTypes: ['write', 'readWrite'],
        canPersist: false,
      };
    } catch (e) {
      return none(isPidscopeError(e) ? e.message : `cannot watch '${args.name}': ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  private addressOf(name: string): bigint {
    const text = name.trim();
    if (/^(0x[0-9a-f]+|\d+)$/i.test(text)) return BigInt(text);
    // An expression: its value is the address (a pointer or an integer), e.g. `g_ptr` or `&g_x`.
    const program = this.deps.program;
    const obj = program.evaluate(text);
    const valueText = program.formatValue(obj);
    const m = /0x[0-9a-f]+/i.exec(valueText) ?? /^-?\d+$/.exec(valueText);
    if (!m) throw new PidscopeError('NOT_ADDRESS', `'${name}' is not an address`, 'Give a number like 0x7f12… or a pointer expression');
    return BigInt(m[0]);
  }

  /** Replaces every data breakpoint (DAP semantics); unchanged ones keep their id and counts. */
  setDataBreakpoints(args: DebugProtocol.SetDataBreakpointsArguments): DebugProtocol.SetDataBreakpointsResponse['body'] {
    const wanted = (args.breakpoints ?? []) as PidscopeDataBreakpoint[];
    const keyOf = (b: PidscopeDataBreakpoint) =>
      JSON.stringify([b.dataId, b.accessType ?? 'write', b.condition ?? '', b.hitCondition ?? '', b.logMessage ?? '']);
    const keep = new Map<string, Active>();
    for (const active of this.active.values()) keep.set(active.key, active);
    const kept = new Set<Active>();
    const results: DebugProtocol.Breakpoint[] = [];
    for (const b of wanted) {
      const key = keyOf(b);
      const existing = keep.get(key);
      if (existing && !kept.has(existing)) {
        kept.add(existing);
        results.push(this.breakpointOf(existing));
        continue;
      }
      results.push(this.add(b, key));
    }
    for (const active of [...this.active.values()]) {
      if (kept.has(active) || results.some((r) => r.id === active.bpId)) continue;
      this.engine?.remove(active.watchId);
      if (active.pendingChanged) clearTimeout(active.pendingChanged);
      this.active.delete(active.watchId);
    }
    return { breakpoints: results };
  }

  private add(b: PidscopeDataBreakpoint, key: string): DebugProtocol.Breakpoint {
    const id = this.nextBpId++;
    if (this.ended) return { id, verified: false, message: `not set: ${this.ended}` };
    const decoded = decodeDataId(b.dataId);
    if (!decoded) return { id, verified: false, message: `unknown dataId '${b.dataId}': ask dataBreakpointInfo for one` };
    try {
      let type;
      try {
        // The type (for gdb formatting and `value` in conditions), when the expression still names the same object.
        const target = resolveWatchTarget(this.deps.program, decoded.expression);
        if (target.address === decoded.address && target.size === decoded.size) type = target.type;
      } catch {
        /* raw memory, or the expression no longer resolves: bytes are shown */
      }
      const engine = this.ensureEngine();
      const info = engine.add({
        ...decoded,
        type,
        mode: this.deps.mode ?? 'auto',
        access: accessOf(b.accessType),
        condition: b.condition,
        hitCondition: b.hitCondition,
        logMessage: b.logMessage,
      });
      const active: Active = { bpId: id, key, watchId: info.id, lastChangedSent: 0 };
      this.active.set(info.id, active);
      if (info.fallbackReason && info.mode === 'poll') {
        // Said where a user looks (the console), not only in the breakpoint's hover message.
        this.deps.sendEvent(
          new OutputEvent(
            `pidscope watch: ${decoded.expression}: polling every ${engine.pollIntervalMs} ms because ${info.fallbackReason} (changes only, no writer)\n`,
            'important',
          ),
        );
      }
      return this.breakpointOf(active, info);
    } catch (e) {
      return { id, verified: false, message: isPidscopeError(e) ? e.message : `internal error: ${e instanceof Error ? e.message : String(e)}` };
    }
  }

  private breakpointOf(active: Active, info = this.engine?.get(active.watchId)): DebugProtocol.Breakpoint {
    if (!info) return { id: active.bpId, verified: false, message: this.ended ?? 'removed' };
    return { id: active.bpId, verified: info.active, message: this.messageOf(info) };
  }

  private messageOf(info: WatchInfo): string {
    const kind = info.mode === 'hw' ? 'hardware' : `polling${info.fallbackReason ? ` (${info.fallbackReason})` : ''}`;
    const noun = info.mode === 'hw' ? (info.spec.access === 'readwrite' ? 'accesses' : 'writes') : 'changes';
    let m = `${info.hits.toLocaleString('en-US')} ${noun}`;
    if (info.reported !== info.hits) m += ` (${info.reported.toLocaleString('en-US')} matched)`;
    m += ` · ${kind}`;
    const last = this.engine?.recent().find((h) => h.watchId === info.id);
    if (last) m += ` · last: ${last.oldText ?? '?'} → ${last.value ? (last.valueText ?? '?') : '?'}${last.writer ? ` by ${formatWriter(last.writer)}` : ''}`;
    if (!info.active) m += ` · ended: ${this.ended ?? info.status}`;
    return m;
  }

  // ------------------------------------------------------------------ recent writes scope

  scope(variablesReference: number): DebugProtocol.Scope {
    const n = this.engine?.recent().length ?? 0;
    return { name: 'Recent writes', variablesReference, namedVariables: n, expensive: false };
  }

  /** Newest first: `#12 g_shared` = `2 → 3 by worker_loop (threads.c:88) [tid 4242] 13:17:05.123`. */
  recentVariables(): DebugProtocol.Variable[] {
    return (this.engine?.recent() ?? []).map((h) => ({
      name: `#${h.seq} ${hitSubject(h)}`,
      value: `${hitChange(h)}  ${clock(h.time)}`,
      type: h.source === 'hw' ? 'hardware' : 'poll',
      variablesReference: 0,
      evaluateName: h.expression,
    }));
  }

  /** The engine's recent hits (newest first), for custom views. */
  recentHits(): WatchHit[] {
    return this.engine?.recent() ?? [];
  }

  // ------------------------------------------------------------------ events

  private ensureEngine(): WatchEngine {
    if (this.engine) return this.engine;
    const engine = createWatchEngine(this.deps.program, { pollIntervalMs: this.deps.pollIntervalMs, recentCapacity: this.deps.recentCapacity ?? 50 });
    this.coalescer = new Coalescer((o) => {
      const text = o.kind === 'hit' ? hitLine(o.hit) : summaryLine(o);
      this.deps.sendEvent(new OutputEvent(`${text}\n`, 'console'));
    }, this.deps.maxLinesPerSecond ?? 10);
    engine.on('event', (e) => {
      if (this.disposed) return;
      if (e.kind === 'hit') {
        this.coalescer!.push(e.hit);
        if (this.deps.supportsMemoryEvent) {
          const w = this.engine?.get(e.hit.watchId);
          if (w) this.dirty.set(`${w.spec.address}`, { address: w.spec.address, size: w.spec.size });
        }
        this.invalidate();
        const active = this.active.get(e.hit.watchId);
        if (active) this.changed(active);
      } else if (e.kind === 'status') {
        this.deps.sendEvent(new OutputEvent(`pidscope watch: ${e.message}\n`, e.level === 'info' ? 'console' : 'important'));
        // A watch that changed state (armed, fell back to polling) shows it in its message too.
        const active = this.active.get(e.watchId);
        if (active) this.changed(active);
      } else {
        this.ended = e.reason;
        this.coalescer!.flush();
        this.deps.sendEvent(new OutputEvent(`pidscope watch: watchpoints ended: ${e.reason}\n`, 'important'));
        for (const active of this.active.values()) this.sendChanged(active);
      }
    });
    this.engine = engine;
    return engine;
  }

  private invalidate(): void {
    if ((this.deps.supportsInvalidatedEvent === false && !this.deps.supportsMemoryEvent) || this.invalidateTimer) return;
    const wait = Math.max(0, 250 - (Date.now() - this.lastInvalidated));
    this.invalidateTimer = setTimeout(() => {
      this.invalidateTimer = undefined;
      if (this.disposed) return;
      this.lastInvalidated = Date.now();
      if (this.deps.supportsInvalidatedEvent !== false) this.deps.sendEvent(new InvalidatedEvent(['variables']));
      // An open memory view of a watched object refreshes too.
      for (const r of this.dirty.values()) this.deps.sendEvent(new MemoryEvent(encodeMemoryReference(r.address), 0, r.size));
      this.dirty.clear();
    }, wait);
    this.invalidateTimer.unref();
  }

  private changed(active: Active): void {
    if (active.pendingChanged) return;
    const wait = Math.max(0, 500 - (Date.now() - active.lastChangedSent));
    active.pendingChanged = setTimeout(() => {
      active.pendingChanged = undefined;
      if (!this.disposed) this.sendChanged(active);
    }, wait);
    active.pendingChanged.unref();
  }

  private sendChanged(active: Active): void {
    active.lastChangedSent = Date.now();
    const bp = this.breakpointOf(active);
    this.deps.sendEvent(new BreakpointEvent('changed', bp as DebugProtocol.Breakpoint) as DebugProtocol.BreakpointEvent);
  }

  /** Stops every watchpoint and timer (disconnect, target gone). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const active of this.active.values()) if (active.pendingChanged) clearTimeout(active.pendingChanged);
    if (this.invalidateTimer) clearTimeout(this.invalidateTimer);
    this.engine?.close();
    this.coalescer?.close();
    this.active.clear();
  }
}

function clock(ms: number): string {
  const date = new Date(ms);
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}
