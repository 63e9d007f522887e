import { describe, expect, it } from 'vitest';
import { Coalescer, RecentRing, type CoalescedOutput } from './coalesce';
import type { WatchHit } from './types';

function hit(watchId: number, seq: number): WatchHit {
  return { watchId, expression: `w${watchId}`, seq, time: 0, source: 'hw', valueSeen: true };
}

describe('Coalescer', () => {
  it('passes up to the limit per window, then summarises the rest with the last writer', () => {
    let now = 0;
    const out: CoalescedOutput[] = [];
    const c = new Coalescer(
      (o) => out.push(o),
      3,
      1000,
      () => now,
    );
    for (let i = 1; i <= 10; i++) c.push(hit(1, i));
    c.push(hit(2, 1));
    expect(out.map((o) => o.kind)).toEqual(['hit', 'hit', 'hit', 'hit']);
    now = 1000;
    c.push(hit(1, 11)); // opens a new window: the old one is summarised first
    const summary = out.find((o) => o.kind === 'summary');
    expect(summary).toMatchObject({ kind: 'summary', watchId: 1, suppressed: 7, total: 10, windowMs: 1000 });
    expect(summary?.kind === 'summary' && summary.last.seq).toBe(10);
    expect(out.at(-1)).toMatchObject({ kind: 'hit', hit: { seq: 11 } });
    c.close();
  });

  it('flush at the end reports what was held back; Infinity turns it off', () => {
    const out: CoalescedOutput[] = [];
    const c = new Coalescer(
      (o) => out.push(o),
      1,
      1000,
      () => 0,
    );
    c.push(hit(1, 1));
    c.push(hit(1, 2));
    c.close();
    expect(out.map((o) => o.kind)).toEqual(['hit', 'summary']);
    const all: CoalescedOutput[] = [];
    const d = new Coalescer((o) => all.push(o), Infinity);
    for (let i = 0; i < 1000; i++) d.push(hit(1, i));
    expect(all).toHaveLength(1000);
  });
});

describe('RecentRing', () => {
  it('keeps the newest items, newest first', () => {
    const r = new RecentRing<number>(3);
    for (let i = 1; i <= 5; i++) r.push(i);
    expect(r.toArray()).toEqual([5, 4, 3]);
    expect(r.size).toBe(3);
  });
});
