/**
 * The live plot inside the webview: a hand-written canvas plotter (no chart library, no CDN).
 * Pause freezes the *view* only; samples keep arriving and are shown on resume.
 */
import { decimate, firstAtOrAfter, formatRelTime, formatValue, niceTicks, normalizer, PALETTE, yRange, type Range } from './chart';
import type { FromWebview, LegendEntry, ToWebview } from './protocol';
import type { Marker, Row } from '../plot/data';

declare function acquireVsCodeApi(): { postMessage(m: FromWebview): void; setState(s: unknown): void; getState(): unknown };

const vscode = acquireVsCodeApi();
const MAX_KEPT = 200_000;

interface Series {
  t: number[];
  v: (number | null)[];
}

const state = {
  expressions: [] as string[],
  series: new Map<string, Series>(),
  markers: [] as Marker[],
  legend: {} as Record<string, LegendEntry>,
  windowSeconds: 30,
  /** 'shared': one y axis; 'each': every series scaled to its own range (axis in %). */
  scale: 'shared' as 'shared' | 'each',
  paused: false,
  /** The right edge of the view while paused. */
  frozenAt: 0,
  latest: 0,
  received: 0,
  status: '',
};

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const canvas = $<HTMLCanvasElement>('plot');
const ctx = canvas.getContext('2d')!;
const legendEl = $('legend');
const statusEl = $('status');
const pauseBtn = $<HTMLButtonElement>('pause');
const windowSel = $<HTMLSelectElement>('window');
const input = $<HTMLInputElement>('add-input');
const scaleSel = $<HTMLSelectElement>('scale');

function color(i: number): string {
  return PALETTE[i % PALETTE.length];
}

function seriesOf(e: string): Series {
  let s = state.series.get(e);
  if (!s) state.series.set(e, (s = { t: [], v: [] }));
  return s;
}

function ingest(rows: Row[]): void {
  for (const r of rows) {
    for (const e of state.expressions) {
      if (!(e in r.v)) continue;
      const s = seriesOf(e);
      s.t.push(r.t);
      s.v.push(r.v[e]);
      if (s.t.length > MAX_KEPT * 1.1) {
        s.t.splice(0, s.t.length - MAX_KEPT);
        s.v.splice(0, s.v.length - MAX_KEPT);
      }
    }
    if (r.t > state.latest) state.latest = r.t;
    state.received++;
  }
  document.body.dataset.samples = String(state.received);
}

function renderLegend(): void {
  legendEl.textContent = '';
  state.expressions.forEach((e, i) => {
    const chip = document.createElement('span');
    chip.className = 'chip';
    chip.dataset.expression = e;
    const sw = document.createElement('span');
    sw.className = 'swatch';
    sw.style.background = color(i);
    const name = document.createElement('span');
    name.className = 'expr';
    name.textContent = e;
    const val = document.createElement('span');
    val.className = 'value';
    const lg = state.legend[e];
    if (lg?.error) {
      val.textContent = lg.error;
      val.classList.add('error');
      chip.title = lg.error;
    } else {
      val.textContent = lg?.text ?? '…';
      chip.title = `${e} = ${lg?.text ?? ''}`;
    }
    const rm = document.createElement('button');
    rm.className = 'remove';
    rm.textContent = '×';
    rm.title = `Stop plotting ${e}`;
    rm.addEventListener('click', () => vscode.postMessage({ type: 'remove', expression: e }));
    chip.append(sw, name, val, rm);
    legendEl.append(chip);
  });
  if (!state.expressions.length) {
    const hint = document.createElement('span');
    hint.className = 'hint';
    hint.textContent = 'Add an expression above (a global, e.g. g_counter or cfg.rate * 2), or right-click a variable → "Plot Value Over Time".';
    legendEl.append(hint);
  }
}

function cssVar(name: string, fallback: string): string {
  return getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
}

let drawQueued = false;
function requestDraw(): void {
  if (drawQueued) return;
  drawQueued = true;
  requestAnimationFrame(() => {
    drawQueued = false;
    draw();
  });
}

function draw(): void {
  const dpr = window.devicePixelRatio || 1;
  const rect = canvas.getBoundingClientRect();
  const w = Math.max(100, Math.floor(rect.width));
  const h = Math.max(80, Math.floor(rect.height));
  if (canvas.width !== w * dpr || canvas.height !== h * dpr) {
    canvas.width = w * dpr;
    canvas.height = h * dpr;
  }
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  const fg = cssVar('--vscode-editor-foreground', '#ccc');
  const grid = cssVar('--vscode-editorWidget-border', 'rgba(128,128,128,0.35)');
  ctx.clearRect(0, 0, w, h);
  ctx.font = `11px ${cssVar('--vscode-font-family', 'sans-serif')}`;

  const end = state.paused ? state.frozenAt : state.latest;
  let start: number;
  if (state.windowSeconds > 0) start = end - state.windowSeconds * 1000;
  else {
    start = end;
    for (const s of state.series.values()) if (s.t.length && s.t[0] < start) start = s.t[0];
    if (start === end) start = end - 1000;
  }

  const left = 64;
  const right = 12;
  const top = 10;
  const bottom = 24;
  const pw = w - left - right;
  const ph = h - top - bottom;

  // Visible slices and the y range over them.
  const visible = new Map<string, Array<[number, number | null]>>();
  const vals: (number | null)[] = [];
  for (const e of state.expressions) {
    const s = state.series.get(e);
    if (!s) continue;
    const a = Math.max(0, firstAtOrAfter(s.t, start) - 1);
    const b = firstAtOrAfter(s.t, end + 1);
    const pts = decimate(s.t.slice(a, b), s.v.slice(a, b), start, end, pw);
    visible.set(e, pts);
    for (const p of pts) vals.push(p[1]);
  }
  const each = state.scale === 'each' && visible.size > 1;
  const yr: Range = each ? { min: 0, max: 100 } : yRange(vals);
  const x = (t: number) => left + ((t - start) / (end - start)) * pw;
  const y = (v: number) => top + ph - ((v - yr.min) / (yr.max - yr.min)) * ph;
  // Per-series mapping into the axis' units (identity on a shared axis, % of own range else).
  const toAxis = new Map<string, (v: number) => number>();
  for (const [e, pts] of visible) {
    const n = normalizer(pts.map((p) => p[1]));
    toAxis.set(e, each ? (v) => n(v) * 100 : (v) => v);
  }

  // Grid and axes.
  ctx.strokeStyle = grid;
  ctx.fillStyle = fg;
  ctx.lineWidth = 1;
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (const tv of niceTicks(yr, Math.max(2, Math.floor(ph / 40)))) {
    const yy = Math.round(y(tv)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(left, yy);
    ctx.lineTo(left + pw, yy);
    ctx.stroke();
    ctx.fillText(each ? `${formatValue(tv)}%` : formatValue(tv), left - 6, yy);
  }
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  const span = end - start;
  for (const tk of niceTicks({ min: 0, max: span }, Math.max(2, Math.floor(pw / 90)))) {
    const xx = Math.round(x(end - tk)) + 0.5;
    if (xx < left) continue;
    ctx.beginPath();
    ctx.moveTo(xx, top);
    ctx.lineTo(xx, top + ph);
    ctx.stroke();
    ctx.fillText(formatRelTime(tk), xx, top + ph + 6);
  }

  // Watchpoint-hit markers.
  ctx.save();
  ctx.setLineDash([3, 3]);
  ctx.strokeStyle = cssVar('--vscode-debugIcon-breakpointForeground', '#e51400');
  ctx.fillStyle = ctx.strokeStyle;
  ctx.textAlign = 'left';
  let lastLabelX = -Infinity;
  for (const m of state.markers) {
    if (m.t < start || m.t > end) continue;
    const xx = Math.round(x(m.t)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(xx, top);
    ctx.lineTo(xx, top + ph);
    ctx.stroke();
    if (xx - lastLabelX > 80) {
      ctx.fillText(m.label.slice(0, 24), xx + 3, top);
      lastLabelX = xx;
    }
  }
  ctx.restore();

  // Lines (null = break).
  state.expressions.forEach((e, i) => {
    const pts = visible.get(e);
    if (!pts?.length) return;
    const ax = toAxis.get(e)!;
    ctx.strokeStyle = color(i);
    ctx.fillStyle = color(i);
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    let pen = false;
    let drawn = 0;
    for (const [t, v] of pts) {
      if (v === null || !Number.isFinite(v)) {
        pen = false;
        continue;
      }
      const xx = x(t);
      const yy = y(ax(v));
      if (pen) ctx.lineTo(xx, yy);
      else ctx.moveTo(xx, yy);
      pen = true;
      drawn++;
    }
    ctx.stroke();
    // Few points: show them as dots too, so a slow sample rate is visible.
    if (drawn < pw / 6) {
      for (const [t, v] of pts) {
        if (v === null || !Number.isFinite(v)) continue;
        ctx.beginPath();
        ctx.arc(x(t), y(ax(v)), 2, 0, Math.PI * 2);
        ctx.fill();
      }
    }
  });
  document.body.dataset.drawn = String(Date.now());
}

function setPaused(p: boolean): void {
  state.paused = p;
  state.frozenAt = state.latest;
  pauseBtn.textContent = p ? 'Resume view' : 'Pause view';
  pauseBtn.setAttribute('aria-pressed', String(p));
  document.body.classList.toggle('paused', p);
  renderStatus();
  vscode.postMessage({ type: 'view', paused: p, windowSeconds: state.windowSeconds });
  requestDraw();
}

function renderStatus(): void {
  const parts = [state.status];
  if (state.paused) parts.push('View paused — sampling continues; resume to catch up.');
  statusEl.textContent = parts.filter(Boolean).join('  ·  ');
}

window.addEventListener('message', (ev: MessageEvent<ToWebview>) => {
  const m = ev.data;
  switch (m.type) {
    case 'state':
      state.expressions = m.expressions;
      state.series.clear();
      state.markers = [...m.markers];
      state.legend = m.legend;
      state.windowSeconds = m.windowSeconds;
      state.status = m.status;
      state.received = 0;
      state.latest = 0;
      windowSel.value = String(m.windowSeconds);
      ingest(m.rows);
      if (!state.paused) state.frozenAt = state.latest;
      renderLegend();
      renderStatus();
      requestDraw();
      break;
    case 'append':
      ingest(m.rows);
      state.markers.push(...m.markers);
      if (state.markers.length > MAX_KEPT) state.markers.splice(0, state.markers.length - MAX_KEPT);
      state.legend = { ...state.legend, ...m.legend };
      renderLegend();
      if (!state.paused) requestDraw();
      break;
    case 'status':
      state.status = m.status;
      renderStatus();
      break;
  }
});

$('add-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const e = input.value.trim();
  if (e) vscode.postMessage({ type: 'add', expression: e });
  input.value = '';
});
pauseBtn.addEventListener('click', () => setPaused(!state.paused));
windowSel.addEventListener('change', () => {
  state.windowSeconds = Number(windowSel.value);
  vscode.postMessage({ type: 'view', paused: state.paused, windowSeconds: state.windowSeconds });
  requestDraw();
});
scaleSel.addEventListener('change', () => {
  state.scale = scaleSel.value === 'each' ? 'each' : 'shared';
  document.body.dataset.scale = state.scale;
  requestDraw();
});
$('export').addEventListener('click', () => vscode.postMessage({ type: 'exportCsv' }));
$('clear').addEventListener('click', () => vscode.postMessage({ type: 'clear' }));
new ResizeObserver(() => requestDraw()).observe(canvas);
renderLegend();
vscode.postMessage({ type: 'ready' });
