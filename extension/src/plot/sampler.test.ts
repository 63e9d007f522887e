import { describe, expect, it } from 'vitest';
import type { SampleResult } from './data';
import { normalize, Sampler } from './sampler';

function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const poll = () => {
      if (cond()) resolve();
      else if (Date.now() > deadline) reject(new Error('condition not met in time'));
      else setTimeout(poll, 5);
    };
    poll();
  });
}

describe('Sampler', () => {
  it('sends every expression in one request per tick and never overlaps requests', async () => {
    const calls: string[][] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    let n = 0;
    const got: SampleResult[] = [];
    const s = new Sampler(
      async (exprs) => {
        calls.push(exprs);
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((r) => setTimeout(r, 25)); // slower than the interval
        inFlight--;
        return { time: 1000 + n, values: exprs.map((e) => ({ expression: e, value: n++ })) };
      },
      () => ['a', 'b'],
      (r) => got.push(r),
      () => undefined,
      { intervalMs: 10 },
    );
    s.start();
    await until(() => got.length >= 5);
    s.stop();
    expect(calls.every((c) => c.length === 2 && c[0] === 'a' && c[1] === 'b')).toBe(true);
    expect(maxInFlight).toBe(1);
    expect(got[0].values.map((v) => v.expression)).toEqual(['a', 'b']);
  });

  it('drops a response that arrives after stop()', async () => {
    let release!: () => void;
    const got: SampleResult[] = [];
    const s = new Sampler(
      () => new Promise<SampleResult>((r) => (release = () => r({ time: 1, values: [] }))),
      () => ['a'],
      (x) => got.push(x),
      () => undefined,
      { intervalMs: 10 },
    );
    s.start();
    await until(() => release !== undefined);
    s.stop();
    release();
    await new Promise((r) => setTimeout(r, 20));
    expect(got).toEqual([]);
    expect(s.isRunning).toBe(false);
  });

  it('does not ask with no expressions; reports an error once per distinct message and recovers', async () => {
    let exprs: string[] = [];
    let calls = 0;
    let fail = true;
    const errors: string[] = [];
    const got: SampleResult[] = [];
    const s = new Sampler(
      async (e) => {
        calls++;
        if (fail) throw new Error('target exited');
        return { time: 5, values: e.map((x) => ({ expression: x, value: 1 })) };
      },
      () => exprs,
      (r) => got.push(r),
      (m) => errors.push(m),
      { intervalMs: 10, maxBackoffMs: 20 },
    );
    s.start();
    await new Promise((r) => setTimeout(r, 40));
    expect(calls).toBe(0);
    exprs = ['x'];
    await until(() => calls >= 3);
    expect(errors).toEqual(['target exited']);
    fail = false;
    await until(() => got.length >= 1);
    s.stop();
    expect(got[0]).toEqual({ time: 5, values: [{ expression: 'x', value: 1 }] });
  });
});

describe('normalize', () => {
  it('fills a time and an error for every expression missing from a malformed response', () => {
    expect(normalize(undefined, ['a'], () => 7)).toEqual({ time: 7, values: [{ expression: 'a', error: 'no value in the response' }] });
    expect(normalize({ time: 3, values: [{ expression: 'a', value: 1 }, null, { nope: 1 }] }, ['a', 'b'], () => 7)).toEqual({
      time: 3,
      values: [
        { expression: 'a', value: 1 },
        { expression: 'b', error: 'no value in the response' },
      ],
    });
  });
});
