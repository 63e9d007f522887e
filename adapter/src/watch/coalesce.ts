import type { WatchHit } from './types';

/** What a front end prints: a hit, or a summary of the hits it held back. */
export type CoalescedOutput =
  | { kind: 'hit'; hit: WatchHit }
  | {
      kind: 'summary';
      watchId: number;
      expression: string;
      /** Hits held back in the window (not printed one by one). */
      suppressed: number;
      /** All hits in the window, printed or not. */
      total: number;
      windowMs: number;
      last: WatchHit;
    };

/**
 * Keeps a hot variable from flooding a terminal or an editor: per watch, at most `maxPerWindow`
 * hits pass one by one in each window; the rest are counted, and when the window closes one
 * summary says how many there were and who wrote last ("12,345 writes in the last second, last
 * by …"). Memory is O(watches): only counters and the last hit are kept.
 */
export class Coalescer {
  private readonly windows = new Map<number, { passed: number; suppressed: number; last?: WatchHit; started: number }>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly emit: (out: CoalescedOutput) => void,
    /** Hits shown one by one per watch and window; Infinity turns coalescing off. */
    private readonly maxPerWindow = 20,
    private readonly windowMs = 1000,
    private readonly now: () => number = Date.now,
  ) {}

  push(hit: WatchHit): void {
    if (this.maxPerWindow === Infinity) {
      this.emit({ kind: 'hit', hit });
      return;
    }
    const t = this.now();
    let w = this.windows.get(hit.watchId);
    if (!w) this.windows.set(hit.watchId, (w = { passed: 0, suppressed: 0, started: t }));
    if (t - w.started >= this.windowMs) this.closeWindow(hit.watchId, w, t);
    if (w.passed < this.maxPerWindow) {
      w.passed++;
      this.emit({ kind: 'hit', hit });
    } else {
      w.suppressed++;
      w.last = hit;
      this.arm();
    }
  }

  private closeWindow(watchId: number, w: { passed: number; suppressed: number; last?: WatchHit; started: number }, t: number): void {
    if (w.suppressed > 0 && w.last) {
      this.emit({
        kind: 'summary',
        watchId,
        expression: w.last.expression,
        suppressed: w.suppressed,
        total: w.suppressed + w.passed,
        windowMs: Math.max(1, t - w.started),
        last: w.last,
      });
    }
    w.passed = 0;
    w.suppressed = 0;
    w.last = undefined;
    w.started = t;
  }

  /** Emits the summaries of every window that has held-back hits (also at the end). */
  flush(): void {
    const t = this.now();
    for (const [id, w] of this.windows) if (w.suppressed > 0) this.closeWindow(id, w, t);
  }

  private arm(): void {
    if (this.timer) return;
    this.timer = setInterval(
      () => {
        const t = this.now();
        let pending = false;
        for (const [id, w] of this.windows) {
          if (w.suppressed > 0 && t - w.started >= this.windowMs) this.closeWindow(id, w, t);
          if (w.suppressed > 0) pending = true;
        }
        if (!pending) this.disarm();
      },
      Math.max(50, Math.floor(this.windowMs / 4)),
    );
    this.timer.unref();
  }

  private disarm(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Flushes and stops the timer. */
  close(): void {
    this.flush();
    this.disarm();
  }
}

/** Bounded ring of the most recent items (recent hits for inspection after the fact). */
export class RecentRing<T> {
  private readonly items: (T | undefined)[];
  private next = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    this.items = new Array<T | undefined>(capacity);
  }

  push(item: T): void {
    this.items[this.next] = item;
    this.next = (this.next + 1) % this.capacity;
    if (this.count < this.capacity) this.count++;
  }

  /** Newest first. */
  toArray(): T[] {
    const out: T[] = [];
    for (let i = 1; i <= this.count; i++) out.push(this.items[(this.next - i + this.capacity) % this.capacity]!);
    return out;
  }

  get size(): number {
    return this.count;
  }

  clear(): void {
    this.items.fill(undefined);
    this.next = 0;
    this.count = 0;
  }
}
