import { describe, expect, it } from 'vitest';
import { decimate, firstAtOrAfter, formatRelTime, formatValue, niceStep, niceTicks, normalizer, yRange } from './chart';

describe('axis arithmetic', () => {
  it('picks 1-2-5 steps', () => {
    expect(niceStep(10, 5)).toBe(2);
    expect(niceStep(100, 5)).toBe(20);
    expect(niceStep(7, 5)).toBe(2);
    expect(niceStep(0.3, 3)).toBeCloseTo(0.1);
    expect(niceStep(0)).toBe(1);
  });

  it('makes ticks inside the range without float noise', () => {
    expect(niceTicks({ min: 0, max: 10 }, 5)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(niceTicks({ min: 0.1, max: 0.7 }, 3)).toEqual([0.2, 0.4, 0.6]);
    expect(niceTicks({ min: -3, max: 3 }, 3)).toEqual([-2, 0, 2]);
  });

  it('pads the y range and survives flat, empty and infinite data', () => {
    expect(yRange([0, 10])).toEqual({ min: -0.5, max: 10.5 });
    expect(yRange([5, 5])).toEqual({ min: 4.5, max: 5.5 });
    expect(yRange([0, 0])).toEqual({ min: -1, max: 1 });
    expect(yRange([])).toEqual({ min: 0, max: 1 });
    expect(yRange([null, Infinity, 2, null, 4])).toEqual({ min: 1.9, max: 4.1 });
  });

  it('formats values and relative times', () => {
    expect(formatValue(3)).toBe('3');
    expect(formatValue(0.1 + 0.2)).toBe('0.3');
    expect(formatValue(12_345_678_901)).toBe('1.23e+10');
    expect(formatRelTime(0)).toBe('now');
    expect(formatRelTime(2500)).toBe('-2.5s');
    expect(formatRelTime(300_000)).toBe('-5m');
  });
});

describe('decimate', () => {
  it('keeps small series as they are', () => {
    expect(decimate([1, 2, 3], [1, null, 3], 0, 10, 100)).toEqual([
      [1, 1],
      [2, null],
      [3, 3],
    ]);
  });

  it('keeps the min and the max of each pixel column, spikes included, in time order', () => {
    const n = 100_000;
    const ts = Array.from({ length: n }, (_, i) => i);
    const vs = ts.map((i) => (i === 54_321 ? 1000 : i === 12_345 ? -1000 : Math.sin(i / 100)));
    const out = decimate(ts, vs, 0, n, 200);
    expect(out.length).toBeLessThanOrEqual(400);
    expect(out.some(([t, v]) => t === 54_321 && v === 1000)).toBe(true);
    expect(out.some(([t, v]) => t === 12_345 && v === -1000)).toBe(true);
    for (let i = 1; i < out.length; i++) expect(out[i][0]).toBeGreaterThanOrEqual(out[i - 1][0]);
  });

  it('keeps gaps (errors) as breaks', () => {
    const ts = Array.from({ length: 1000 }, (_, i) => i);
    const vs = ts.map((i) => (i >= 500 && i < 600 ? null : i));
    const out = decimate(ts, vs, 0, 1000, 10);
    expect(out.some(([, v]) => v === null)).toBe(true);
  });

  it('finds the first index at or after a time', () => {
    expect(firstAtOrAfter([1, 3, 5], 0)).toBe(0);
    expect(firstAtOrAfter([1, 3, 5], 3)).toBe(1);
    expect(firstAtOrAfter([1, 3, 5], 4)).toBe(2);
    expect(firstAtOrAfter([1, 3, 5], 6)).toBe(3);
  });
});

describe('normalizer', () => {
  it('maps a series onto its own padded range', () => {
    const n = normalizer([0, 10, null]);
    expect(n(0)).toBeCloseTo(0.5 / 11);
    expect(n(10)).toBeCloseTo(10.5 / 11);
  });
});
