/**
 * Live refresh: the adapter re-reads what the client shows and tells the client only when
 * something changed.
 *
 * What the client shows = the variables pages, watch results and memory ranges it requested
 * since the last `invalidated` event (a client re-requests what is still on screen after one).
 * Each tick:
 *   1. one batched read of every memory block behind those (ViewMemory.refill: one pollInto
 *      into an array kept from tick to tick),
 *   2. the tracked variables pages and watch results are re-rendered from that snapshot and
 *      compared with what the client got; the first difference stops the comparison,
 *   3. tracked memory ranges are compared byte for byte.
 * Then at most one `invalidated` (areas ['variables']) and at most one `memory` event per open
 * range. Never flood: no second `invalidated` until the client has fetched again (so a hidden
 * view costs nothing after one event), no second `memory` event for a range until the client
 * re-read it, and the interval stretches when a tick is expensive.
 */
import type { ViewMemory } from './viewMemory';

export interface TrackedRender {
  /** What the client received, as a comparable string. */
  last: string;
  /** Renders the same request again; throws are compared as their message. */
  render: () => string;
}

interface TrackedMemory {
  address: bigint;
  count: number;
  bytes: Buffer;
  /** A `memory` event was sent and the client has not re-read the range yet. */
  awaitingRead: boolean;
}

export interface TickResult {
  variablesChanged: boolean;
  memoryChanged: Array<{ address: bigint; count: number }>;
  blocksRead: number;
  renders: number;
  durationMs: number;
}

export interface LiveViewOptions {
  memory: ViewMemory;
  /** Client capabilities: without them the corresponding comparison is not even made. */
  canInvalidate: boolean;
  canMemoryEvent: boolean;
}

/** Most memory ranges tracked at once (a memory view reads a few KiB at a time). */
const MAX_MEMORY_RANGES = 32;
const MAX_TRACKED_MEMORY_BYTES = 1 << 20;

export class LiveView {
  private readonly renders = new Map<string, TrackedRender>();
  private readonly ranges = new Map<string, TrackedMemory>();
  /** After an `invalidated`, true until the client fetched something again. */
  private awaitingFetch = false;
  frozen = false;
  /** Wall-clock time of the data the view shows (last refill or freeze). */
  snapshotTime = Date.now();

  constructor(private readonly opts: LiveViewOptions) {}

  get trackedCount(): number {
    return this.renders.size;
  }

  /** Remembers a response the client got (variables page or watch result). */
  track(key: string, last: string, render: () => string): void {
    if (!this.opts.canInvalidate) return;
    this.renders.set(key, { last, render });
    this.awaitingFetch = false;
  }

  /** Remembers bytes a memory view got; a re-read clears the "event sent" mark. */
  trackMemory(address: bigint, count: number, bytes: Buffer): void {
    if (!this.opts.canMemoryEvent || count <= 0 || count > MAX_TRACKED_MEMORY_BYTES) return;
    const key = `${address}:${count}`;
    this.ranges.delete(key); // re-insert: the map's order is least recently read first
    this.ranges.set(key, { address, count, bytes: Buffer.from(bytes), awaitingRead: false });
    while (this.ranges.size > MAX_MEMORY_RANGES) {
      const oldest = this.ranges.keys().next().value;
      if (oldest === undefined) break;
      this.ranges.delete(oldest);
    }
    // Any overlapping range the client re-read is no longer waiting.
    for (const r of this.ranges.values()) {
      if (r.awaitingRead && r.address < address + BigInt(count) && address < r.address + BigInt(r.count)) r.awaitingRead = false;
    }
  }

  /** The client will re-request everything: forget what it showed. */
  forgetRenders(): void {
    this.renders.clear();
    this.opts.memory.forgetTouched();
    // Blocks behind open memory views stay "shown".
    for (const r of this.ranges.values()) this.opts.memory.read(r.address, r.count);
  }

  /** Freezes the view: one batched read of everything shown, then no more refreshes. */
  freeze(): number {
    const n = this.opts.memory.refill();
    this.frozen = true;
    this.snapshotTime = Date.now();
    return n;
  }

  /** Back to live values (the caller resets references and tells the client). */
  resume(): void {
    this.frozen = false;
    this.opts.memory.refill();
    this.snapshotTime = Date.now();
  }

  /** One refresh. The caller turns the result into events. */
  tick(): TickResult {
    const t0 = performance.now();
    const result: TickResult = { variablesChanged: false, memoryChanged: [], blocksRead: 0, renders: 0, durationMs: 0 };
    if (this.frozen) return result;
    result.blocksRead = this.opts.memory.refill();
    this.snapshotTime = Date.now();

    if (this.opts.canInvalidate && !this.awaitingFetch) {
      for (const item of this.renders.values()) {
        result.renders++;
        let now: string;
        try {
          now = item.render();
        } catch (e) {
          now = `<error: ${e instanceof Error ? e.message : String(e)}>`;
        }
        if (now !== item.last) {
          result.variablesChanged = true;
          break;
        }
      }
    }

    for (const r of this.ranges.values()) {
      if (r.awaitingRead) continue;
      const now = this.opts.memory.read(r.address, r.count).data;
      if (!now.equals(r.bytes)) {
        r.bytes = Buffer.from(now);
        r.awaitingRead = true;
        result.memoryChanged.push({ address: r.address, count: r.count });
      }
    }

    if (result.variablesChanged) {
      this.forgetRenders();
      this.awaitingFetch = true;
    }
    result.durationMs = performance.now() - t0;
    return result;
  }
}
