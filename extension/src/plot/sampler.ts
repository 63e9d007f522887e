/**
 * Samples the plotted expressions at a steady interval through one batched request per tick
 * (`pidscope/sample` with every expression). Requests never overlap: a slow adapter lowers the
 * rate instead of queueing work. Errors back off and are reported once per kind, not per tick.
 */
import type { SampleResult } from './data';

export type SampleRequest = (expressions: string[]) => Promise<SampleResult>;

export interface SamplerOptions {
  intervalMs: number;
  /** Longest wait after repeated failures. */
  maxBackoffMs?: number;
  now?: () => number;
}

export class Sampler {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running = false;
  private inFlight = false;
  private failures = 0;
  private lastErrorText: string | undefined;
  /** Bumped by stop(): a response that arrives after it is dropped. */
  private generation = 0;
  private intervalMs: number;
  private readonly maxBackoffMs: number;
  private readonly now: () => number;

  constructor(
    private readonly request: SampleRequest,
    private readonly expressions: () => readonly string[],
    private readonly onSample: (s: SampleResult) => void,
    private readonly onError: (message: string) => void,
    opts: SamplerOptions,
  ) {
    this.intervalMs = clampInterval(opts.intervalMs);
    this.maxBackoffMs = opts.maxBackoffMs ?? 5000;
    this.now = opts.now ?? Date.now;
  }

  get isRunning(): boolean {
    return this.running;
  }

  setInterval(ms: number): void {
    this.intervalMs = clampInterval(ms);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  stop(): void {
    this.running = false;
    this.generation++;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Takes one sample now (unless one is in flight); resolves when it is handled. */
  async tick(): Promise<void> {
    if (this.inFlight) return;
    const exprs = [...this.expressions()];
    if (exprs.length === 0) return;
    this.inFlight = true;
    const generation = this.generation;
    try {
      const result = await this.request(exprs);
      if (generation !== this.generation) return;
      this.failures = 0;
      this.lastErrorText = undefined;
      this.onSample(normalize(result, exprs, this.now));
    } catch (e) {
      this.failures++;
      if (generation !== this.generation) return;
      const text = e instanceof Error ? e.message : String(e);
      if (text !== this.lastErrorText) this.onError(text);
      this.lastErrorText = text;
    } finally {
      this.inFlight = false;
    }
  }

  private schedule(delay: number): void {
    if (!this.running) return;
    this.timer = setTimeout(async () => {
      this.timer = undefined;
      const started = this.now();
      await this.tick();
      if (!this.running) return;
      const base = this.failures ? Math.min(this.maxBackoffMs, this.intervalMs * 2 ** Math.min(this.failures, 10)) : this.intervalMs;
      // Keep the rate: subtract the time the request took (never below 0).
      this.schedule(Math.max(0, base - (this.now() - started)));
    }, delay);
  }
}

function clampInterval(ms: number): number {
  if (!Number.isFinite(ms)) return 100;
  return Math.min(60_000, Math.max(10, Math.round(ms)));
}

/** Guards against a malformed response: a time, and one entry per asked expression. */
export function normalize(result: unknown, exprs: string[], now: () => number = Date.now): SampleResult {
  const r = (result ?? {}) as Partial<SampleResult>;
  const time = typeof r.time === 'number' && Number.isFinite(r.time) ? r.time : now();
  const values = Array.isArray(r.values) ? r.values.filter((v) => v && typeof v.expression === 'string') : [];
  const seen = new Set(values.map((v) => v.expression));
  for (const e of exprs) if (!seen.has(e)) values.push({ expression: e, error: 'no value in the response' });
  return { time, values };
}
