/**
 * The watch engine: hardware watchpoints (perf breakpoints, writer known) and polling watchpoints
 * (snapshots compared at an interval, one batched read for all of them) behind one event stream.
 * Nothing here stops the target: no ptrace, no signals; the memory is only read.
 *
 * Values of hardware hits: each sample carries the writer's registers, so for a plain MOV store
 * the bytes written are recovered exactly (x86store.ts), even for several writes in a burst
 * (valueFrom 'store'). Other writes (read-modify-write, vector, hot variables sampled without
 * registers) get the value read from memory right after, confirmed against samples still in
 * flight (valueFrom 'memory'; valueSeen false when another write may have slipped in).
 *
 *   const engine = new WatchEngine({ pid, memory, symbols, format, hooks });
 *   engine.on('event', (e) => ...);              // typed WatchEvent: hit, status, ended
 *   const info = engine.add({ expression: 'g_shared', address, size: 8, type, mode: 'auto' });
 *   ...
 *   engine.close();
 */
import { EventEmitter } from 'node:events';
import { PidscopeError } from '../errors';
import type { MemoryReader } from '../memory/reader';
import { createPollSet, pollInto, type PollSet } from '../memory/poll';
import type { SymbolLookup } from '../symbols/provider';
import { describePerfErrno, PerfSyscallError, type PerfSample } from '../linux/perf';
import { splitIntoBreakpoints } from './ranges';
import { hardwareWatchUnavailable } from '../engine/capabilities';
import { Target } from '../engine/target';
import type { TargetHandle } from '../memory/handle';
import { HardwareWatch, PerfFdBudgetError } from './hardware';
import { RecentRing } from './coalesce';
import { formatBytes, narrowChange } from './format';
import { threadName } from '../proc/threads';
import { sizeOf } from '../symbols/types';
import { parseHitCondition, parseLogMessage, renderLogMessage, type HitPredicate, type LogPart } from './hitCondition';
import type { WatchEvent, WatchHit, WatchInfo, WatchSpec, WatchTarget, Writer } from './types';
import { applyStores, storeCandidates, undoStores, type RegisterFile, type StoreCandidate } from './x86store';

/** Hits of objects bigger than this are kept in the recent ring without their bytes. */
const RECENT_BYTES_LIMIT = 256;

/** First and last differing byte of two equally long buffers, as [offset, offset + length). */
export function changedRange(a: Buffer, b: Buffer): { offset: number; length: number } | undefined {
  const n = Math.min(a.length, b.length);
  let first = 0;
  while (first < n && a[first] === b[first]) first++;
  if (first === n) return undefined;
  let last = n - 1;
  while (last > first && a[last] === b[last]) last--;
  return { offset: first, length: last - first + 1 };
}

/** x86-64 has four debug registers per thread (DR0-DR3). */
export const DEBUG_REGISTERS = 4;

/** The values a condition or log message sees: `value` (new) and `old`, as raw bytes. */
export interface WatchScope {
  value?: Buffer;
  old?: Buffer;
}

/**
 * How conditions and log messages are evaluated (watch/program.ts implements it with the
 * Program's C evaluator). compile() throws a PidscopeError for a bad expression, at add() time.
 */
export interface WatchHooks {
  compileCondition(expression: string, target: WatchTarget): (scope: WatchScope) => boolean;
  /** Text of one `{expr}` of a log message. */
  evaluateText(expression: string, target: WatchTarget, scope: WatchScope): string;
}

export interface WatchEngineOptions {
  pid: number;
  /** The target that says exited / exec'd (a Program's); without it the engine holds its own. */
  target?: TargetHandle;
  memory: MemoryReader;
  symbols?: SymbolLookup;
  /** Display text of a value (default: plain integers / hex bytes). */
  format?: (bytes: Buffer, target: WatchTarget) => string;
  hooks?: WatchHooks;
  /** Poll interval for polling watchpoints (default 100 ms). */
  pollIntervalMs?: number;
  /** Recent reported hits kept for inspection (default 100). */
  recentCapacity?: number;
  /** How often to check that the target still runs the same image (default 200 ms). */
  exitCheckMs?: number;
}

interface Watch {
  info: WatchInfo;
  hw?: HardwareWatch;
  last?: Buffer;
  /**
   * `last` is verified: it came from a recovered store chain or a confirmed read. The first read
   * (at add) is not: a write may slip in before the breakpoint is armed.
   */
  lastExact?: boolean;
  seq: number;
  passed: number;
  condition?: (scope: WatchScope) => boolean;
  conditionFailed?: boolean;
  hitPredicate?: HitPredicate;
  log?: LogPart[];
  /** Accesses drained and a value read, waiting to be sure no newer store produced that value. */
  confirm?: { batch: PerfSample[]; late: PerfSample[]; value: Buffer | undefined; rounds: number; timer: NodeJS.Timeout | undefined };
}

export class WatchEngine extends EventEmitter<{ event: [WatchEvent] }> {
  private readonly watches = new Map<number, Watch>();
  private nextId = 1;
  private pollTimer: NodeJS.Timeout | undefined;
  private exitTimer: NodeJS.Timeout | undefined;
  private readonly writerCache = new Map<bigint, { function?: string; file?: string; line?: number }>();
  private readonly codeCache = new Map<bigint, Uint8Array | null>();
  private readonly threadNames = new Map<number, { name?: string; at: number }>();
  private readonly recentHits: RecentRing<WatchHit>;
  private readonly target: TargetHandle;
  private readonly ownTarget?: Target;
  private ended: string | undefined;
  private closed = false;
  readonly pollIntervalMs: number;

  constructor(private readonly o: WatchEngineOptions) {
    super();
    this.pollIntervalMs = Math.max(1, o.pollIntervalMs ?? 100);
    this.recentHits = new RecentRing<WatchHit>(o.recentCapacity ?? 100);
    let target = o.target;
    if (!target) {
      try {
        target = this.ownTarget = Target.attach(o.pid);
      } catch {
        /* no such process: reported below */
      }
    }
    if (!target || target.state().kind !== 'alive') {
      this.ownTarget?.close();
      throw new PidscopeError('ESRCH', `process ${o.pid} does not exist (or has exited)`, 'Check the pid with `ps`', 'user');
    }
    this.target = target;
    this.exitTimer = setInterval(() => this.checkTarget(), o.exitCheckMs ?? 200);
    this.exitTimer.unref();
  }

  /** Why the engine stopped watching (target exited or exec'd), undefined while it runs. */
  get endReason(): string | undefined {
    return this.ended;
  }

  /** Adds a watchpoint. Throws PidscopeError for what cannot be watched, naming the fix. */
  add(spec: WatchSpec): WatchInfo {
    if (this.closed) throw new PidscopeError('CLOSED', 'the watch engine is closed', '', 'internal');
    if (this.ended) throw new PidscopeError('ENDED', `cannot watch: ${this.ended}`, '', 'target');
    if (!(spec.size > 0)) {
      throw new PidscopeError(
        'WATCH_SIZE',
        `'${spec.expression}' has no size (incomplete type or zero-length array)`,
        'Watch an object with a complete type, or give a size',
      );
    }
    const mode = spec.mode ?? 'auto';
    const access = spec.access ?? 'write';
    if (access === 'read') {
      throw new PidscopeError(
        'HW_READ_ONLY',
        'x86 debug registers cannot watch reads alone',
        'Use access readwrite (reports reads and writes; a read shows the value unchanged)',
      );
    }
    const w: Watch = {
      info: { id: this.nextId++, spec: { ...spec, mode, access }, mode: 'poll', hits: 0, reported: 0, lost: 0, status: '', active: true },
      seq: 0,
      passed: 0,
    };
    // Bad conditions and hit conditions are the user's to fix before anything is armed.
    w.hitPredicate = parseHitCondition(spec.hitCondition);
    if (spec.condition?.trim()) {
      if (!this.o.hooks) {
        throw new PidscopeError(
          'NO_CONDITIONS',
          'conditions need the C evaluator, which this watch engine was started without',
          'Start the watch through a Program (pidscope watch, DAP)',
          'internal',
        );
      }
      w.condition = this.o.hooks.compileCondition(spec.condition.trim(), spec);
    }
    if (spec.logMessage) w.log = parseLogMessage(spec.logMessage);

    const first = this.o.memory.read(spec.address, spec.size);
    if (first.unreadable.length > 0) {
      throw new PidscopeError(
        'EFAULT',
        `Cannot access memory at address 0x${first.unreadable[0]!.start.toString(16)}`,
        `'${spec.expression}' is not in readable memory of process ${this.o.pid}; watch a mapped object`,
        'user',
      );
    }
    w.last = Buffer.from(first.data); // a copy: readers may hand out views of a shared arena

    if (mode !== 'poll') {
      const reason = this.tryHardware(w, access === 'readwrite' ? 'readwrite' : 'write');
      if (reason !== undefined) {
        if (mode === 'hw') throw reason;
        w.info.fallbackReason = reason.causeText;
      }
    } else if (access === 'readwrite') {
      w.info.fallbackReason = 'polling sees changes only: reads are not visible without hardware watchpoints';
    }
    if (w.info.mode === 'poll') {
      this.armPolling();
      w.info.status = `polling every ${this.pollIntervalMs} ms`;
    }
    this.watches.set(w.info.id, w);
    // A fallback is reported in the returned WatchInfo (fallbackReason), not as a status event.
    return this.snapshot(w);
  }

  /** Arms hardware breakpoints, or returns the reason it could not (an error for mode 'hw'). */
  private tryHardware(w: Watch, access: 'write' | 'readwrite'): PidscopeError | undefined {
    const spec = w.info.spec;
    const ranges = splitIntoBreakpoints(spec.address, spec.size);
    if (ranges.length > DEBUG_REGISTERS) {
      return new PidscopeError(
        'HW_TOO_LARGE',
        `'${spec.expression}' (${spec.size} bytes at 0x${spec.address.toString(16)}) needs ${ranges.length} debug registers; x86 has ${DEBUG_REGISTERS} per thread, each watching 1, 2, 4 or 8 aligned bytes`,
        'Use --mode poll (any size), or watch a member or element of it',
      );
    }
    const used = [...this.watches.values()].reduce((n, x) => n + (x.hw && x.info.active ? (x.info.ranges?.length ?? 0) : 0), 0);
    if (used + ranges.length > DEBUG_REGISTERS) {
      return new PidscopeError(
        'HW_REGISTERS_FULL',
        `the ${DEBUG_REGISTERS} debug registers are taken: ${used} by other hardware watchpoints, '${spec.expression}' needs ${ranges.length}`,
        'Remove a hardware watchpoint, or use --mode poll',
      );
    }
    // Probed once per process: perf may accept a breakpoint that never fires (no debug-register
    // traps under some hypervisors), and a watch that reports "0 writes" is worse than polling.
    const unavailable = hardwareWatchUnavailable();
    if (unavailable) {
      return new PidscopeError('HW_UNAVAILABLE', unavailable, 'Use --mode poll (changes only, no writer); `pidscope info --pid N` shows the probe', 'user');
    }
    try {
      w.hw = HardwareWatch.start({
        pid: this.o.pid,
        ranges,
        access,
        onReadable: () => this.processHardware(w),
        onStatus: (m, level) => this.status(w, `${spec.expression}: ${m}`, level),
        onExec: () => this.end("the target exec'd a new program: the watched addresses mean nothing there"),
        onFailed: (reason) => this.fallBackToPolling(w, `hardware watchpoint gave up while arming: ${reason}`),
        onArmed: (threads, fds, ms) =>
          this.status(
            w,
            `${spec.expression}: armed on ${threads.toLocaleString('en-US')} threads (${fds.toLocaleString('en-US')} perf fds) in ${ms} ms`,
            'info',
          ),
      });
    } catch (e) {
      if (e instanceof PerfFdBudgetError) {
        return new PidscopeError(
          'PERF_FDS',
          `hardware watchpoint refused: ${e.message}`,
          'Use --mode poll (any number of threads), or raise the open-files limit (ulimit -n)',
          'user',
        );
      }
      if (e instanceof PerfSyscallError) {
        const code = e.errno === 28 ? 'HW_REGISTERS_FULL' : 'PERF_DENIED';
        return new PidscopeError(code, `hardware watchpoint refused: ${describePerfErrno(e.errno)}`, 'Use --mode poll (no writer location)', 'user');
      }
      throw e;
    }
    w.info.mode = 'hw';
    w.info.ranges = ranges;
    w.info.status = this.hwStatus(w.hw, ranges.length);
    return undefined;
  }

  /** A hardware watch that failed after add() returned continues as a polling watch, and says so. */
  private fallBackToPolling(w: Watch, reason: string): void {
    if (this.closed || !w.info.active) return;
    if (w.confirm?.timer) clearTimeout(w.confirm.timer);
    w.confirm = undefined;
    w.hw = undefined;
    w.info.mode = 'poll';
    w.info.ranges = undefined;
    w.info.fallbackReason = reason;
    w.info.status = `polling every ${this.pollIntervalMs} ms`;
    w.last = this.readValue(w.info.spec) ?? w.last;
    this.armPolling();
    this.status(w, `${w.info.spec.expression}: ${reason}; polling every ${this.pollIntervalMs} ms instead (changes only, no writer)`, 'warning');
  }

  private hwStatus(hw: HardwareWatch, registers: number): string {
    return hw.arming
      ? `arming ${hw.armingTotal.toLocaleString('en-US')} threads with ${registers} debug register(s) (${hw.threadCount.toLocaleString('en-US')} so far)`
      : `watching ${hw.threadCount} thread(s) with ${registers} debug register(s)`;
  }

  remove(id: number): boolean {
    const w = this.watches.get(id);
    if (!w) return false;
    if (w.confirm?.timer) clearTimeout(w.confirm.timer);
    w.hw?.close();
    w.info.active = false;
    this.watches.delete(id);
    if (![...this.watches.values()].some((x) => x.info.mode === 'poll')) this.disarmPolling();
    return true;
  }

  removeAll(): void {
    for (const id of [...this.watches.keys()]) this.remove(id);
  }

  list(): WatchInfo[] {
    return [...this.watches.values()].map((w) => this.snapshot(w));
  }

  get(id: number): WatchInfo | undefined {
    const w = this.watches.get(id);
    return w ? this.snapshot(w) : undefined;
  }

  /** The most recent reported hits, newest first (bounded). */
  recent(): WatchHit[] {
    return this.recentHits.toArray();
  }

  private snapshot(w: Watch): WatchInfo {
    const info = { ...w.info };
    if (w.hw) {
      info.lost = Number(w.hw.lost);
      if (info.active) info.status = this.hwStatus(w.hw, info.ranges?.length ?? 0);
    }
    return info;
  }

  /** True while a hardware watch is still arming threads (processes with many threads). */
  isArming(id: number): boolean {
    return this.watches.get(id)?.hw?.arming ?? false;
  }

  /** perf fds held by every hardware watch (threads x CPUs x debug registers, see hardware.ts). */
  perfFds(): number {
    let n = 0;
    for (const w of this.watches.values()) n += w.hw?.fds ?? 0;
    return n;
  }

  /** The kernel's exact access count for a hardware watch (includes unrecorded samples). */
  kernelCount(id: number): bigint | undefined {
    return this.watches.get(id)?.hw?.count();
  }

  // ---- hardware ----------------------------------------------------------------------------

  /**
   * A store becomes visible to our read before its sample reaches the ring (the #DB trap that
   * records it runs just after the store retires). So the value read after draining may belong
   * to a newer store whose sample is still on its way. We read, wait a moment (1 ms, on a timer:
   * the event loop never blocks), and drain again: no new sample means the value belongs to the
   * last access we hold (`valueSeen`); new samples join the batch and we read again (3 rounds at
   * most; a hot variable keeps the value but not `valueSeen`).
   */
  private processHardware(w: Watch): void {
    if (!w.hw || !w.info.active) return;
    const samples = w.hw.drain();
    if (samples.length === 0) return;
    if (w.confirm) {
      w.confirm.late.push(...samples);
      return;
    }
    if (this.allStoresKnown(w, samples)) {
      // Every value comes from its store: nothing to read or confirm.
      this.emitBatch(w, samples, undefined, true);
      return;
    }
    w.confirm = { batch: samples, late: [], value: this.readValue(w.info.spec), rounds: 0, timer: undefined };
    this.armConfirm(w);
  }

  private armConfirm(w: Watch): void {
    const c = w.confirm!;
    c.timer = setTimeout(() => this.confirmHardware(w), 1);
    c.timer.unref();
  }

  private confirmHardware(w: Watch): void {
    const c = w.confirm;
    if (!c || !w.hw || !w.info.active) return;
    const more = [...c.late, ...w.hw.drain()];
    c.late = [];
    if (more.length > 0 && c.rounds < 3) {
      c.batch.push(...more);
      c.value = this.readValue(w.info.spec);
      c.rounds++;
      this.armConfirm(w);
      return;
    }
    c.batch.push(...more);
    this.emitBatch(w, c.batch, c.value, more.length === 0);
  }

  /** Delivers what is pending now (the target is ending, or the watch closes). */
  private flushHardware(w: Watch): void {
    if (!w.hw) return;
    const c = w.confirm;
    const samples = [...(c?.batch ?? []), ...(c?.late ?? []), ...w.hw.drain()];
    if (c?.timer) clearTimeout(c.timer);
    if (samples.length === 0) {
      w.confirm = undefined;
      return;
    }
    this.emitBatch(w, samples, this.readValue(w.info.spec) ?? c?.value, false);
  }

  private emitBatch(w: Watch, samples: PerfSample[], value: Buffer | undefined, confirmed: boolean): void {
    w.confirm = undefined;
    samples.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
    const spec = w.info.spec;
    const now = Date.now();
    const n = samples.length;
    const decoded = samples.map((s) => this.decodeStores(s, spec));
    // Forward: each recovered store applied to the exact bytes before it (a MOV covering the whole
    // object needs none). The value we start from is trusted only once verified (lastExact).
    const vals: (Buffer | undefined)[] = new Array<Buffer | undefined>(n);
    let running = w.lastExact ? w.last : undefined;
    for (let i = 0; i < n; i++) {
      const d = decoded[i];
      vals[i] = d ? applyStores(running, spec.address, spec.size, d.candidates, d.regs, i === 0 ? w.last : undefined) : undefined;
      running = vals[i];
    }
    const fromStore = vals.map((v) => v !== undefined);
    // Backward: from a confirmed read after the last access, undo ADD/SUB/XOR/INC/DEC one by one.
    const endConfirmed = confirmed && value !== undefined;
    if (endConfirmed && vals[n - 1] === undefined) {
      vals[n - 1] = value;
      for (let i = n - 1; i > 0 && vals[i - 1] === undefined; i--) {
        const d = decoded[i];
        const before = d ? undoStores(vals[i]!, spec.address, spec.size, d.candidates, d.regs) : undefined;
        if (!before) break;
        vals[i - 1] = before;
        fromStore[i - 1] = true;
      }
    }
    for (let i = 0; i < n; i++) {
      const s = samples[i]!;
      const hit: WatchHit = {
        watchId: w.info.id,
        expression: spec.expression,
        seq: ++w.seq,
        time: now,
        perfTime: s.time,
        source: 'hw',
        writer: this.writer(s),
        valueSeen: false,
      };
      const old = i === 0 ? w.last : vals[i - 1];
      if (old) hit.old = old;
      const v = vals[i];
      if (v) {
        hit.value = v;
        hit.valueSeen = true;
        hit.valueFrom = fromStore[i] ? 'store' : 'memory';
      } else if (i === n - 1 && value) {
        hit.value = value;
        hit.valueSeen = confirmed;
        hit.valueFrom = 'memory';
      }
      this.deliver(w, hit);
    }
    if (vals[n - 1]) {
      w.last = vals[n - 1];
      w.lastExact = true;
    } else {
      w.last = value ?? w.last;
      w.lastExact = false;
    }
  }

  /** True when every sample's store can be recovered, one after the other, from a verified w.last. */
  private allStoresKnown(w: Watch, samples: PerfSample[]): boolean {
    const sorted = [...samples].sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
    let running = w.lastExact ? w.last : undefined;
    let first = true;
    for (const s of sorted) {
      const d = this.decodeStores(s, w.info.spec);
      running = d ? applyStores(running, w.info.spec.address, w.info.spec.size, d.candidates, d.regs, first ? w.last : undefined) : undefined;
      first = false;
      if (!running) return false;
    }
    return true;
  }

  /** The store candidates of sample `s` on the watched object (x86store.ts), with its registers. */
  private decodeStores(s: PerfSample, spec: WatchTarget): { candidates: StoreCandidate[]; regs: RegisterFile } | undefined {
    if (!s.regs) return undefined;
    const code = this.codeBefore(s.ip);
    if (!code) return undefined;
    const r = s.regs;
    const regs: RegisterFile = (i) => r[i];
    const candidates = storeCandidates(code, s.ip, regs, spec.address, spec.address + BigInt(spec.size));
    return candidates.length ? { candidates, regs } : undefined;
  }

  /** The 15 bytes before `ip` (the longest x86 instruction), cached per ip. */
  private codeBefore(ip: bigint): Uint8Array | undefined {
    const cached = this.codeCache.get(ip);
    if (cached !== undefined) return cached ?? undefined;
    let code: Uint8Array | null = null;
    try {
      const start = ip >= 15n ? ip - 15n : 0n;
      const r = this.o.memory.read(start, Number(ip - start));
      // Keep only the readable tail (a mapping may begin just before the instruction).
      let from = 0;
      for (const u of r.unreadable) if (u.end > start) from = Math.max(from, Number(u.end - start));
      code = from < r.data.length ? Uint8Array.from(r.data.subarray(from)) : null;
    } catch {
      code = null;
    }
    if (this.codeCache.size > 4096) this.codeCache.clear();
    this.codeCache.set(ip, code);
    return code ?? undefined;
  }

  private readValue(spec: WatchTarget): Buffer | undefined {
    try {
      const r = this.o.memory.read(spec.address, spec.size);
      return r.unreadable.length === 0 ? Buffer.from(r.data) : undefined;
    } catch {
      return undefined; // the target is going away; the exit check reports it
    }
  }

  private writer(s: PerfSample): Writer {
    const w: Writer = { ip: s.ip, tid: s.tid };
    const name = this.threadNameOf(s.tid);
    if (name) w.threadName = name;
    let loc = this.writerCache.get(s.ip);
    if (!loc) {
      loc = {};
      const sym = this.o.symbols;
      if (sym) {
        // The trap comes after the writing instruction: look up the byte before ip, which lies
        // inside the writing instruction (the same trick as for return addresses).
        const at = s.ip - 1n;
        try {
          const src = sym.sourceLocation(at);
          if (src) {
            loc.file = src.file;
            loc.line = src.line;
            if (src.function) loc.function = src.function;
          }
          if (!loc.function) {
            const fs = sym.symbolize(at);
            if (fs) loc.function = fs.offset === 0n ? fs.symbol : `${fs.symbol}+${fs.offset}`;
          }
        } catch {
          /* a symbol lookup failure must not lose the hit */
        }
      }
      if (this.writerCache.size > 4096) this.writerCache.clear();
      this.writerCache.set(s.ip, loc);
    }
    return Object.assign(w, loc);
  }

  private threadNameOf(tid: number): string | undefined {
    const now = Date.now();
    const c = this.threadNames.get(tid);
    if (c && now - c.at < 2000) return c.name;
    const name = threadName(this.o.pid, tid) ?? c?.name;
    if (this.threadNames.size > 4096) this.threadNames.clear();
    this.threadNames.set(tid, { name, at: now });
    return name;
  }

  // ---- polling -----------------------------------------------------------------------------

  private armPolling(): void {
    if (this.pollTimer || this.closed) return;
    this.pollTimer = setInterval(() => this.pollOnce(), this.pollIntervalMs);
    this.pollTimer.unref();
  }

  private disarmPolling(): void {
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.pollTimer = undefined;
  }

  /** The poll set of the current polling watches (memory/poll.ts), rebuilt when they change. */
  private poll?: { watches: Watch[]; set: PollSet; bytes: Buffer; bad: Uint8Array };

  /** One batched read for every polling watchpoint (public so tests and benches can step it). */
  pollOnce(): void {
    const polled = [...this.watches.values()].filter((w) => w.info.mode === 'poll' && w.info.active);
    if (polled.length === 0) return;
    // One read into a reused array, no object per watch, until the set of watches changes.
    let p = this.poll;
    const same = (q: NonNullable<typeof p>) =>
      q.watches.length === polled.length &&
      q.watches.every((w, i) => w === polled[i] && q.set.requests[i].address === w.info.spec.address && q.set.lengths[i] === w.info.spec.size);
    if (!p || !same(p)) {
      const set = createPollSet(polled.map((w) => ({ address: w.info.spec.address, length: w.info.spec.size })));
      p = this.poll = { watches: polled, set, bytes: Buffer.alloc(set.totalLength), bad: new Uint8Array(set.count) };
    }
    try {
      pollInto(this.o.memory, p.set, p.bytes, p.bad);
    } catch {
      this.checkTarget();
      return;
    }
    const now = Date.now();
    const { set, bytes, bad } = p;
    polled.forEach((w, i) => {
      if (bad[i]) {
        // Only now (rare) ask again for where exactly it failed.
        let at = w.info.spec.address;
        try {
          at = this.o.memory.read(w.info.spec.address, w.info.spec.size).unreadable[0]?.start ?? at;
        } catch {
          this.checkTarget();
          return;
        }
        if (!w.conditionFailed) this.status(w, `${w.info.spec.expression}: Cannot access memory at address 0x${at.toString(16)}`, 'warning');
        return;
      }
      const data = bytes.subarray(set.offsets[i], set.offsets[i] + set.lengths[i]);
      if (w.last && w.last.equals(data)) return;
      const r = { data };
      const hit: WatchHit = {
        watchId: w.info.id,
        expression: w.info.spec.expression,
        seq: ++w.seq,
        time: now,
        source: 'poll',
        valueSeen: true,
        value: Buffer.from(r.data),
      };
      if (w.last) {
        hit.old = w.last;
        hit.changed = changedRange(w.last, r.data);
      }
      w.last = hit.value;
      this.deliver(w, hit);
    });
  }

  // ---- common ------------------------------------------------------------------------------

  private deliver(w: Watch, hit: WatchHit): void {
    w.info.hits = hit.seq;
    const spec = w.info.spec;
    if (w.condition) {
      // A condition needs the value: accesses overwritten before we could read them are counted
      // but cannot pass a condition.
      if (!hit.value) return;
      let ok = false;
      try {
        ok = w.condition({ value: hit.value, old: hit.old });
      } catch (e) {
        if (!w.conditionFailed) {
          w.conditionFailed = true;
          this.status(w, `${spec.expression}: condition '${spec.condition}' failed: ${e instanceof Error ? e.message : String(e)}`, 'warning');
        }
      }
      if (!ok) return;
    }
    w.passed++;
    if (w.hitPredicate && !w.hitPredicate(w.passed)) return;
    const format = this.o.format ?? ((b: Buffer, t: WatchTarget) => formatBytes(b, t.type));
    hit.size = spec.size;
    if (!hit.changed && hit.old && hit.value) hit.changed = changedRange(hit.old, hit.value);
    try {
      // A change inside a big array or struct is shown as that element or member alone.
      const part = hit.changed && hit.old && hit.value ? narrowChange(spec.type, hit.changed.offset, hit.changed.length) : undefined;
      const size = part ? sizeOf(part.type) : undefined;
      if (part && size !== undefined && hit.old && hit.value) {
        hit.part = part.path;
        const sub: WatchTarget = { expression: spec.expression + part.path, address: spec.address + BigInt(part.offset), size, type: part.type };
        hit.oldText = format(hit.old.subarray(part.offset, part.offset + size), sub);
        hit.valueText = format(hit.value.subarray(part.offset, part.offset + size), sub);
      } else {
        if (hit.old) hit.oldText = format(hit.old, spec);
        if (hit.value) hit.valueText = format(hit.value, spec);
      }
    } catch (e) {
      hit.valueText ??= `<error: ${e instanceof Error ? e.message : String(e)}>`;
    }
    if (w.log) {
      const hooks = this.o.hooks;
      hit.message = renderLogMessage(w.log, (expr) => {
        if (expr === 'value') return hit.valueText ?? '?';
        if (expr === 'old') return hit.oldText ?? '?';
        if (!hooks) throw new Error('no evaluator');
        return hooks.evaluateText(expr, spec, { value: hit.value, old: hit.old });
      });
    }
    w.info.reported++;
    // The ring keeps hits for later inspection: big objects keep their texts, not their bytes.
    this.recentHits.push(hit.value && hit.value.length > RECENT_BYTES_LIMIT ? { ...hit, value: undefined, old: undefined } : hit);
    this.emit('event', { kind: 'hit', hit });
  }

  private status(w: Watch | undefined, message: string, level: 'info' | 'warning' | 'error'): void {
    this.emit('event', { kind: 'status', watchId: w?.info.id ?? 0, message, level });
  }

  private checkTarget(): void {
    if (this.closed || this.ended) return;
    // The Target decides (engine/target.ts state(): one rule for every part).
    const st = this.target.state();
    if (st.kind === 'exited') this.end(`process ${this.o.pid} exited`);
    else if (st.kind === 'exec') this.end(`process ${this.o.pid} exec'd a new program: the watched addresses mean nothing there`);
  }

  /** Ends every watch (target gone): delivers what the rings still hold, then reports why. */
  private end(reason: string): void {
    if (this.ended || this.closed) return;
    for (const w of this.watches.values()) if (w.hw) this.processHardwareFinal(w);
    this.ended = reason;
    for (const w of this.watches.values()) {
      w.hw?.close();
      w.info.active = false;
      w.info.status = reason;
    }
    this.disarmPolling();
    if (this.exitTimer) clearInterval(this.exitTimer);
    this.emit('event', { kind: 'ended', reason });
  }

  private processHardwareFinal(w: Watch): void {
    try {
      this.flushHardware(w);
    } catch {
      /* the memory may be gone already */
    }
  }

  /** Stops every watch and timer. Idempotent. */
  close(): void {
    if (this.closed) return;
    for (const w of this.watches.values()) if (w.hw) this.processHardwareFinal(w);
    this.closed = true;
    for (const w of this.watches.values()) {
      w.hw?.close();
      w.info.active = false;
    }
    this.watches.clear();
    this.disarmPolling();
    if (this.exitTimer) clearInterval(this.exitTimer);
    this.exitTimer = undefined;
    this.ownTarget?.close();
  }
}
