/**
 * The arithmetic of the live plot: axis ranges, "nice" ticks, min/max decimation to the pixel
 * width. No DOM here (unit-tested); webview/plot.ts draws with it on a canvas.
 */

export interface Range {
  min: number;
  max: number;
}

/** Round tick step (1, 2, 5 × 10^k) giving about `target` ticks over the range. */
export function niceStep(span: number, target = 5): number {
  if (!(span > 0) || !Number.isFinite(span)) return 1;
  const raw = span / Math.max(1, target);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  const nice = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
  return nice * mag;
}

export function niceTicks(r: Range, target = 5): number[] {
  const step = niceStep(r.max - r.min, target);
  const first = Math.ceil(r.min / step) * step;
  const ticks: number[] = [];
  for (let v = first; v <= r.max + step * 1e-9 && ticks.length < 100; v += step) {
    // Kill float noise such as 0.30000000000000004.
    ticks.push(Number((Math.round(v / step) * step).toPrecision(12)));
  }
  return ticks;
}

/** The y range for the visible values, padded a little; a flat line gets a unit band. */
export function yRange(values: Iterable<number | null>): Range {
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (v === null || !Number.isFinite(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (min === Infinity) return { min: 0, max: 1 };
  if (min === max) {
    const pad = Math.abs(min) > 0 ? Math.abs(min) * 0.1 : 1;
    return { min: min - pad, max: max + pad };
  }
  const pad = (max - min) * 0.05;
  return { min: min - pad, max: max + pad };
}

export function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e9 || a < 1e-4)) return v.toExponential(2);
  if (Number.isInteger(v)) return String(v);
  return String(Number(v.toPrecision(6)));
}

/** Seconds relative to the right edge: `-12.5s`, `-2m`, `now`. */
export function formatRelTime(msBeforeEnd: number): string {
  if (Math.abs(msBeforeEnd) < 1) return 'now';
  const s = msBeforeEnd / 1000;
  if (Math.abs(s) >= 120) return `-${Number((s / 60).toPrecision(3))}m`;
  return `-${Number(s.toPrecision(3))}s`;
}

/**
 * Reduces a series to at most ~2 points per pixel column (the min and the max of each column, in
 * time order), so a million samples draw as fast as a thousand and no spike is lost. `null`
 * values (errors) become breaks in the line and are kept as breaks.
 */
export function decimate(ts: readonly number[], vs: readonly (number | null)[], t0: number, t1: number, columns: number): Array<[number, number | null]> {
  const out: Array<[number, number | null]> = [];
  const n = Math.min(ts.length, vs.length);
  if (n === 0 || !(t1 > t0) || columns < 1) return out;
  if (n <= columns * 2) {
    for (let i = 0; i < n; i++) out.push([ts[i], vs[i]]);
    return out;
  }
  const width = (t1 - t0) / columns;
  let col = -Infinity;
  let minI = -1;
  let maxI = -1;
  let gap = false;
  const flush = () => {
    if (minI >= 0) {
      const a = Math.min(minI, maxI);
      const b = Math.max(minI, maxI);
      out.push([ts[a], vs[a]]);
      if (b !== a) out.push([ts[b], vs[b]]);
    }
    if (gap) out.push([out.length ? out[out.length - 1][0] : t0, null]);
    minI = maxI = -1;
    gap = false;
  };
  for (let i = 0; i < n; i++) {
    const c = Math.floor((ts[i] - t0) / width);
    if (c !== col) {
      flush();
      col = c;
    }
    const v = vs[i];
    if (v === null || !Number.isFinite(v)) {
      gap = true;
      continue;
    }
    if (minI < 0 || v < (vs[minI] as number)) minI = i;
    if (maxI < 0 || v > (vs[maxI] as number)) maxI = i;
  }
  flush();
  return out;
}

/** Index of the first element with ts[i] >= t. */
export function firstAtOrAfter(ts: readonly number[], t: number): number {
  let lo = 0;
  let hi = ts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ts[mid] < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Maps a value into [0, 1] over its own series' range (the "each series on its own scale" view,
 * for plotting a counter in the thousands beside a ratio in [-1, 1]).
 */
export function normalizer(values: Iterable<number | null>): (v: number) => number {
  const r = yRange(values);
  return (v) => (v - r.min) / (r.max - r.min);
}

/** Distinct colours for series (VS Code's chart palette order, readable on dark and light). */
export const PALETTE = ['#3794ff', '#f14c4c', '#89d185', '#cca700', '#b180d7', '#f0883e', '#4ec9b0', '#d16d9e'];
