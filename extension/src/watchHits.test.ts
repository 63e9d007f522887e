import { describe, expect, it } from 'vitest';
import { hitLine, summaryLine } from '../../adapter/src/watch/program';
import type { WatchHit } from '../../adapter/src/watch/types';
import { epochMs, markerFromOutput } from './watchHits';

describe('markerFromOutput', () => {
  const now = 1_700_000_000_000;

  it('reads a structured hit', () => {
    const m = markerFromOutput(
      {
        category: 'console',
        output: 'g_state: 2 → 3 by worker_loop (worker.c:88) [tid 4242]\n',
        data: { kind: 'watchHit', expression: 'g_state', oldValue: '2', newValue: '3', writer: 'worker_loop (worker.c:88)', time: now + 5, tid: 4242 },
      },
      now,
    );
    expect(m).toEqual({ t: now + 5, expression: 'g_state', label: '2→3 by worker_loop (worker.c:88)' });
  });

  it('reads a hit nested under data.pidscope, coalesced counts and ns times', () => {
    const m = markerFromOutput(
      { output: 'x', data: { pidscope: { type: 'watchpoint', expr: 'g_hot', value: 7, count: 12345, timestamp: (now + 1) * 1e6 } } },
      now,
    );
    expect(m).toEqual({ t: now + 1, expression: 'g_hot', label: '=7 ×12345' });
  });

  it('falls back to the one-line text', () => {
    expect(markerFromOutput({ category: 'console', output: 'g_state: 2 → 3 by worker_loop (worker.c:88) [tid 4242]\n' }, now)).toEqual({
      t: now,
      expression: 'g_state',
      label: '2→3 by worker_loop (worker.c:88)',
    });
    expect(markerFromOutput({ category: 'console', output: 'cfg.limit: 10 -> 11\n' }, now)).toMatchObject({ expression: 'cfg.limit', label: '10→11' });
  });

  it('reads the lines the adapter writes (its own hitLine and summaryLine)', () => {
    const hit: WatchHit = {
      watchId: 1,
      expression: 'g_state',
      seq: 3,
      time: now,
      source: 'hw',
      valueSeen: true,
      value: Buffer.from([3, 0, 0, 0]),
      oldText: '2',
      valueText: '3',
      writer: { ip: 0x1234n, function: 'worker_loop', file: '/src/worker.c', line: 88, tid: 4242, threadName: 'worker-0' } as WatchHit['writer'],
    };
    const line = hitLine(hit);
    expect(markerFromOutput({ category: 'console', output: `${line}\n` }, now)).toEqual({
      t: now,
      expression: 'g_state',
      label: '2→3 by worker_loop (worker.c:88)',
    });
    const sum = summaryLine({
      kind: 'summary',
      watchId: 1,
      expression: 'g_hot',
      suppressed: 12300,
      total: 12345,
      windowMs: 1000,
      last: { ...hit, expression: 'g_hot', valueText: '5' },
    } as never);
    expect(markerFromOutput({ category: 'console', output: `${sum}\n` }, now)).toEqual({
      t: now,
      expression: 'g_hot',
      label: '×12,345 writes, now 5 by worker_loop (worker.c:88)',
    });
    const poll = hitLine({ ...hit, writer: undefined, source: 'poll', expression: 'cfg', part: '.limit', oldText: '10', valueText: '11' });
    expect(markerFromOutput({ category: 'console', output: poll }, now)).toEqual({ t: now, expression: 'cfg.limit', label: '10→11' });
  });

  it('ignores other output', () => {
    expect(markerFromOutput({ category: 'important', output: 'pidscope watch: watchpoints ended: target exited\n' }, now)).toBeUndefined();
    expect(markerFromOutput({ category: 'console', output: 'attached to pid 12 (globals), backend vm-readv\n' }, now)).toBeUndefined();
    expect(markerFromOutput({ category: 'telemetry', output: 'a: 1 → 2' }, now)).toBeUndefined();
    expect(markerFromOutput({ data: { kind: 'progress' }, output: '' }, now)).toBeUndefined();
    expect(markerFromOutput(undefined, now)).toBeUndefined();
  });
});

describe('epochMs', () => {
  it('accepts ms, µs and ns since the epoch and refuses the rest', () => {
    expect(epochMs(1_700_000_000_123, 1)).toBe(1_700_000_000_123);
    expect(epochMs(1_700_000_000_123_000, 1)).toBeCloseTo(1_700_000_000_123, 0);
    expect(epochMs(1_700_000_000_123_000_000n, 1)).toBeCloseTo(1_700_000_000_123, 0);
    expect(epochMs('1700000000123', 1)).toBe(1_700_000_000_123);
    expect(epochMs(12.5, 1)).toBe(1);
    expect(epochMs(undefined, 1)).toBe(1);
  });
});
