/**
 * Watchpoint hits arrive as DAP `output` events (the watchpoint feature never stops the target).
 * This turns one into a plot marker: from a structured `body.data` when the adapter attaches one,
 * else from the one-line text (`g_state: 2 → 3 by worker_loop (worker.c:88) [tid 4242]`).
 */
import type { Marker } from './plot/data';

interface OutputBody {
  category?: string;
  output?: string;
  data?: unknown;
}

const HIT_KINDS = new Set(['watchHit', 'watchpointHit', 'watch-hit', 'watchpoint', 'hit', 'dataBreakpointHit']);

/** ms since the epoch from a time that may be ms, µs or ns since the epoch. */
export function epochMs(t: unknown, fallback: number): number {
  const n = typeof t === 'bigint' ? Number(t) : typeof t === 'string' && /^\d+(\.\d+)?$/.test(t) ? Number(t) : t;
  if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0) return fallback;
  if (n > 1e17) return n / 1e6; // ns
  if (n > 1e14) return n / 1e3; // µs
  if (n > 1e11) return n; // ms
  return fallback; // seconds or a monotonic clock: not comparable with the samples
}

function str(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  return undefined;
}

// adapter/src/watch/program.ts hitLine / summaryLine:
//   `g_state: 2 → 3 by worker_loop (worker.c:88) [tid 4242 worker-0]`
//   `g_hot: 12,345 writes in the last second (12,300 not shown), last by f (a.c:7) [tid 9], now 5`
const TEXT_HIT = /^\s*([^\s:][^:]*?): (.+?) (?:→|->) (.+?)(?: by (.+?))?(?: \[tid [^\]]*\])?\s*$/;
const TEXT_SUMMARY =
  /^\s*([^\s:][^:]*?): ([\d,]+) (writes|accesses|changes) in the last ([^(]+?) \([\d,]+ not shown\), last(?: by (.+?))?(?: \[tid [^\]]*\])?(?:, now (.+?))?\s*$/;

/** A marker for a watchpoint hit, or undefined when the output event is something else. */
export function markerFromOutput(body: OutputBody | undefined, now: number = Date.now()): Marker | undefined {
  if (!body) return undefined;
  const d = body.data && typeof body.data === 'object' ? (body.data as Record<string, unknown>) : undefined;
  const hit = d && (d.pidscope && typeof d.pidscope === 'object' ? (d.pidscope as Record<string, unknown>) : d);
  const kind = hit ? str(hit.kind ?? hit.type ?? hit.event) : undefined;
  if (hit && kind && HIT_KINDS.has(kind)) {
    const expression = str(hit.expression ?? hit.expr ?? hit.name);
    const oldV = str(hit.oldValue ?? hit.oldText ?? hit.old);
    const newV = str(hit.newValue ?? hit.valueText ?? hit.new ?? hit.value);
    const writer = str(hit.writer ?? hit.location ?? hit.function);
    const count = typeof hit.count === 'number' && hit.count > 1 ? ` ×${hit.count}` : '';
    const change = newV !== undefined ? (oldV !== undefined ? `${oldV}→${newV}` : `=${newV}`) : 'hit';
    return {
      t: epochMs(hit.time ?? hit.timestamp ?? hit.timeMs, now),
      expression,
      label: `${change}${count}${writer ? ` by ${writer}` : ''}`,
    };
  }
  if (body.category === 'telemetry' || !body.output) return undefined;
  const firstLine = body.output.split('\n').find((l) => l.trim()) ?? '';
  if (/^pidscope\b/.test(firstLine)) return undefined; // the adapter's own messages
  const sum = TEXT_SUMMARY.exec(firstLine);
  if (sum) {
    const tail = `${sum[6] !== undefined ? `, now ${sum[6]}` : ''}${sum[5] ? ` by ${sum[5]}` : ''}`;
    return { t: now, expression: sum[1].trim(), label: `×${sum[2]} ${sum[3]}${tail}` };
  }
  const m = TEXT_HIT.exec(firstLine);
  if (!m) return undefined;
  return { t: now, expression: m[1].trim(), label: `${m[2]}→${m[3]}${m[4] ? ` by ${m[4]}` : ''}` };
}
