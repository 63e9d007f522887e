/**
 * The live plot's data: samples of several expressions over time, watchpoint-hit markers, CSV.
 * The extension host keeps this (the source of truth for export); the webview keeps a copy of
 * what it draws. No `vscode` import: unit-tested directly.
 */

/** One value in a `pidscope/sample` response (the adapter's contract). */
export interface SampleValue {
  expression: string;
  value?: number;
  text?: string;
  error?: string;
}

/** The body of a `pidscope/sample` response. `time` is ms since the epoch. */
export interface SampleResult {
  time: number;
  values: SampleValue[];
}

/** A row of the plot: one sample time, a number (or null: error / not a number) per expression. */
export interface Row {
  t: number;
  v: Record<string, number | null>;
}

export interface Marker {
  t: number;
  /** The watched expression, when the hit names one. */
  expression?: string;
  label: string;
}

/**
 * A number from what the adapter returned: `value` when it sent one, else the gdb-style text
 * read as a number where that is unambiguous (`65 'A'` → 65, `true` → 1, `0x10` → 16, `1.5e3`).
 * Anything else (structs, strings, pointers to text) is not plottable: null.
 */
export function toNumber(v: SampleValue): number | null {
  if (v.error !== undefined) return null;
  if (typeof v.value === 'number') return Number.isNaN(v.value) ? null : v.value;
  const text = v.text?.trim();
  if (!text) return null;
  if (text === 'true') return 1;
  if (text === 'false') return 0;
  const hex = /^(-?)0x([0-9a-f]+)\b/i.exec(text);
  if (hex) {
    const n = Number.parseInt(hex[2], 16);
    return hex[1] ? -n : n;
  }
  // gdb prints chars as `65 'A'` and enums with a value as `RED` (not plottable); inf/nan as
  // `inf`, `-nan(0x8000000000000)`.
  const num = /^([-+]?(?:\d+\.?\d*(?:e[-+]?\d+)?|\.\d+(?:e[-+]?\d+)?|inf))(?:\s|$)/i.exec(text);
  if (num) {
    const n = num[1].toLowerCase().endsWith('inf') ? (num[1].startsWith('-') ? -Infinity : Infinity) : Number(num[1]);
    return Number.isNaN(n) ? null : n;
  }
  return null;
}

export class PlotData {
  private exprs: string[] = [];
  private rowsList: Row[] = [];
  private markerList: Marker[] = [];
  private errors = new Map<string, string>();
  private texts = new Map<string, string>();

  constructor(private maxPoints = 100_000) {
    if (!(maxPoints >= 1)) throw new RangeError('maxPoints must be at least 1');
  }

  get expressions(): readonly string[] {
    return this.exprs;
  }

  get rows(): readonly Row[] {
    return this.rowsList;
  }

  get markers(): readonly Marker[] {
    return this.markerList;
  }

  /** The last error the adapter gave for an expression (cleared by the next good value). */
  errorOf(expression: string): string | undefined {
    return this.errors.get(expression);
  }

  /** The last text the adapter gave (what gdb would print), for the legend. */
  textOf(expression: string): string | undefined {
    return this.texts.get(expression);
  }

  /** Adds an expression to sample; false when it is empty or already there. */
  add(expression: string): boolean {
    const e = expression.trim();
    if (!e || this.exprs.includes(e)) return false;
    this.exprs.push(e);
    return true;
  }

  remove(expression: string): boolean {
    const i = this.exprs.indexOf(expression);
    if (i < 0) return false;
    this.exprs.splice(i, 1);
    this.errors.delete(expression);
    this.texts.delete(expression);
    for (const r of this.rowsList) delete r.v[expression];
    return true;
  }

  /** Drops the samples and markers; keeps the expressions. */
  clear(): void {
    this.rowsList = [];
    this.markerList = [];
    this.errors.clear();
    this.texts.clear();
  }

  /** Appends one sample as a row (values for expressions no longer plotted are ignored). */
  addSample(s: SampleResult): Row {
    const row: Row = { t: s.time, v: {} };
    for (const e of this.exprs) row.v[e] = null;
    const last = this.rowsList[this.rowsList.length - 1];
    const newest = !last || row.t >= last.t;
    for (const sv of s.values) {
      if (!this.exprs.includes(sv.expression)) continue;
      row.v[sv.expression] = toNumber(sv);
      // The legend shows the newest sample's text or error, not the last to arrive.
      if (!newest) continue;
      if (sv.error !== undefined) this.errors.set(sv.expression, sv.error);
      else {
        this.errors.delete(sv.expression);
        if (sv.text !== undefined) this.texts.set(sv.expression, sv.text);
        else if (sv.value !== undefined) this.texts.set(sv.expression, String(sv.value));
      }
    }
    // Samples arrive in order from one sampler; a late one (clock step) is still kept in order.
    if (!newest) {
      let i = this.rowsList.length - 1;
      while (i > 0 && this.rowsList[i - 1].t > row.t) i--;
      this.rowsList.splice(i, 0, row);
    } else {
      this.rowsList.push(row);
    }
    this.trim();
    return row;
  }

  addMarker(m: Marker): void {
    this.markerList.push(m);
    if (this.markerList.length > this.maxPoints) this.markerList.splice(0, this.markerList.length - this.maxPoints);
  }

  /** Rows with from <= t <= to. */
  between(from: number, to: number): Row[] {
    const lo = lowerBound(this.rowsList, from);
    let hi = lo;
    while (hi < this.rowsList.length && this.rowsList[hi].t <= to) hi++;
    return this.rowsList.slice(lo, hi);
  }

  /**
   * CSV: `time_ms,time_iso,<expr>…,marker`. Empty cells are errors or non-numbers; marker rows
   * (watchpoint hits) are interleaved by time with empty value cells.
   */
  toCsv(): string {
    const header = ['time_ms', 'time_iso', ...this.exprs, 'marker'].map(csvCell).join(',');
    const lines = [header];
    let mi = 0;
    const markers = [...this.markerList].sort((a, b) => a.t - b.t);
    const markerLine = (m: Marker) =>
      [String(m.t), iso(m.t), ...this.exprs.map(() => ''), csvCell(m.expression ? `${m.expression}: ${m.label}` : m.label)].join(',');
    for (const r of this.rowsList) {
      while (mi < markers.length && markers[mi].t < r.t) lines.push(markerLine(markers[mi++]));
      lines.push([String(r.t), iso(r.t), ...this.exprs.map((e) => formatNumber(r.v[e])), ''].join(','));
    }
    while (mi < markers.length) lines.push(markerLine(markers[mi++]));
    return lines.join('\n') + '\n';
  }

  private trim(): void {
    // Trim in chunks so a full buffer does not pay a splice per sample.
    const slack = Math.max(1, Math.floor(this.maxPoints / 8));
    if (this.rowsList.length > this.maxPoints + slack) this.rowsList.splice(0, this.rowsList.length - this.maxPoints);
  }
}

function lowerBound(rows: readonly Row[], t: number): number {
  let lo = 0;
  let hi = rows.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (rows[mid].t < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function iso(t: number): string {
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString();
}

function formatNumber(n: number | null | undefined): string {
  if (n === null || n === undefined) return '';
  return String(n);
}

export function csvCell(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
