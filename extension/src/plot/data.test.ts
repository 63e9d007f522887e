import { describe, expect, it } from 'vitest';
import { csvCell, PlotData, toNumber } from './data';

describe('toNumber', () => {
  it('takes value when given, else reads gdb-style text', () => {
    expect(toNumber({ expression: 'a', value: 3.5, text: '3.5' })).toBe(3.5);
    expect(toNumber({ expression: 'a', text: '42' })).toBe(42);
    expect(toNumber({ expression: 'a', text: '-7' })).toBe(-7);
    expect(toNumber({ expression: 'a', text: "65 'A'" })).toBe(65);
    expect(toNumber({ expression: 'a', text: 'true' })).toBe(1);
    expect(toNumber({ expression: 'a', text: 'false' })).toBe(0);
    expect(toNumber({ expression: 'a', text: '0x1f' })).toBe(31);
    expect(toNumber({ expression: 'a', text: '(int *) 0x5555' })).toBeNull();
    expect(toNumber({ expression: 'a', text: '1.5e3' })).toBe(1500);
    expect(toNumber({ expression: 'a', text: '-inf' })).toBe(-Infinity);
    expect(toNumber({ expression: 'a', text: '{x = 1, y = 2}' })).toBeNull();
    expect(toNumber({ expression: 'a', text: 'RED' })).toBeNull();
    expect(toNumber({ expression: 'a', text: '"hello"' })).toBeNull();
    expect(toNumber({ expression: 'a', value: 1, error: 'No symbol "a" in current context.' })).toBeNull();
    expect(toNumber({ expression: 'a', value: Number.NaN })).toBeNull();
  });
});

describe('PlotData', () => {
  it('keeps one row per sample, in time order, with null for errors and non-numbers', () => {
    const d = new PlotData();
    expect(d.add('g_counter')).toBe(true);
    expect(d.add(' g_counter ')).toBe(false);
    expect(d.add('')).toBe(false);
    d.add('cfg.name');
    d.addSample({
      time: 1000,
      values: [
        { expression: 'g_counter', value: 1, text: '1' },
        { expression: 'cfg.name', text: '"abc"' },
      ],
    });
    d.addSample({ time: 3000, values: [{ expression: 'g_counter', error: 'Cannot access memory at address 0x0' }] });
    d.addSample({
      time: 2000,
      values: [
        { expression: 'g_counter', value: 2 },
        { expression: 'stale', value: 9 },
      ],
    });
    expect(d.rows.map((r) => r.t)).toEqual([1000, 2000, 3000]);
    expect(d.rows.map((r) => r.v.g_counter)).toEqual([1, 2, null]);
    expect(d.rows[0].v['cfg.name']).toBeNull();
    expect(d.rows[1]).not.toHaveProperty('stale');
    expect(d.errorOf('g_counter')).toBe('Cannot access memory at address 0x0');
    expect(d.textOf('cfg.name')).toBe('"abc"');
    d.addSample({ time: 4000, values: [{ expression: 'g_counter', value: 4 }] });
    expect(d.errorOf('g_counter')).toBeUndefined();
    expect(d.textOf('g_counter')).toBe('4');
    expect(d.between(2000, 3000).map((r) => r.t)).toEqual([2000, 3000]);
  });

  it('drops the oldest samples past maxPoints (in chunks), keeping the newest', () => {
    const d = new PlotData(80);
    d.add('x');
    for (let i = 0; i < 1000; i++) d.addSample({ time: i, values: [{ expression: 'x', value: i }] });
    expect(d.rows.length).toBeGreaterThanOrEqual(80);
    expect(d.rows.length).toBeLessThanOrEqual(90);
    expect(d.rows[d.rows.length - 1].v.x).toBe(999);
    expect(() => new PlotData(0)).toThrow(RangeError);
  });

  it('removes an expression with its column; clear keeps the expressions', () => {
    const d = new PlotData();
    d.add('a');
    d.add('b');
    d.addSample({
      time: 1,
      values: [
        { expression: 'a', value: 1 },
        { expression: 'b', value: 2 },
      ],
    });
    d.remove('a');
    expect(d.expressions).toEqual(['b']);
    expect(d.rows[0].v).toEqual({ b: 2 });
    d.addMarker({ t: 1, label: 'x' });
    d.clear();
    expect(d.rows).toEqual([]);
    expect(d.markers).toEqual([]);
    expect(d.expressions).toEqual(['b']);
  });

  it('exports CSV with a header, ISO times, empty cells for gaps and markers by time', () => {
    const d = new PlotData();
    d.add('g_counter');
    d.add('a, "b"');
    d.addSample({
      time: 1_700_000_000_000,
      values: [
        { expression: 'g_counter', value: 1 },
        { expression: 'a, "b"', value: 0.5 },
      ],
    });
    d.addSample({
      time: 1_700_000_000_100,
      values: [
        { expression: 'g_counter', error: 'x' },
        { expression: 'a, "b"', value: -2 },
      ],
    });
    d.addMarker({ t: 1_700_000_000_050, expression: 'g_counter', label: '1→2 by tick (globals.c:10)' });
    expect(d.toCsv()).toBe(
      [
        'time_ms,time_iso,g_counter,"a, ""b""",marker',
        '1700000000000,2023-11-14T22:13:20.000Z,1,0.5,',
        '1700000000050,2023-11-14T22:13:20.050Z,,,g_counter: 1→2 by tick (globals.c:10)',
        '1700000000100,2023-11-14T22:13:20.100Z,,-2,',
        '',
      ].join('\n'),
    );
  });

  it('quotes CSV cells only when needed', () => {
    expect(csvCell('abc')).toBe('abc');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('a\nb')).toBe('"a\nb"');
  });
});
