// The fixtures and the helpers that start them: every program starts in every variant, prints
// `ready <pid>`, and ends cleanly on SIGTERM; lifecycle modes behave as fixtures/README.md says.
import { describe, expect, it } from 'vitest';
import { ALL_VARIANTS, PROGRAMS, VARIANTS, fixturePath, fixtureSource, markerLine, startFixture, type FixtureProgram } from './fixtures';
import { readProcMem, readU64, threadNames } from './proc';
import { symbolAddress } from './symbols';
import { readFileSync, existsSync } from 'node:fs';
import { until } from './wait';

const defaultArgs: Record<FixtureProgram, string[]> = { globals: [], threads: [], demo: [], lifecycle: ['idle'], stacks: [], quirks: [] };

describe('fixture builds', () => {
  it('has every program in every variant, and the split debug files', () => {
    for (const v of ALL_VARIANTS) for (const p of PROGRAMS) expect(existsSync(fixturePath(p, v)), `${v}/${p}`).toBe(true);
    for (const p of PROGRAMS) expect(existsSync(`${fixturePath(p, 'split')}.debug`)).toBe(true);
    expect(VARIANTS).toContain('split');
  });
});

describe.each(ALL_VARIANTS)('variant %s', (variant) => {
  it.each(PROGRAMS)('%s starts, reports its pid and stops cleanly', async (program) => {
    const fx = await startFixture(program, { variant, args: defaultArgs[program] });
    try {
      expect(fx.pid).toBe(fx.proc.pid);
      expect(fx.lines[0]).toBe(`ready ${fx.pid}`);
    } finally {
      await fx.stop();
    }
    const { code, signal } = await fx.exited;
    expect({ code, signal }).toEqual({ code: 0, signal: null });
  });
});

describe('markerLine', () => {
  it('finds a marker by name, with or without #', () => {
    const line = markerLine('threads.c', 'WRITE_SHARED');
    expect(markerLine('threads.c', '#WRITE_SHARED')).toBe(line);
    const text = readFileSync(fixtureSource('threads.c'), 'utf8').split('\n')[line - 1];
    expect(text).toContain('g_shared = value;');
  });
  it('rejects unknown markers with a clear message', () => {
    expect(() => markerLine('globals.c', 'NO_SUCH_MARKER')).toThrow(/#NO_SUCH_MARKER found 0 times in fixtures\/globals.c/);
  });
  it('does not confuse a marker with a longer one', () => {
    expect(markerLine('globals.c', 'G_INT')).not.toBe(markerLine('globals.c', 'G_STR'));
  });
});

describe('startFixture errors', () => {
  it('says when the fixture exits before ready, with its stderr', async () => {
    await expect(startFixture('lifecycle', { args: ['no-such-mode'] })).rejects.toThrow(/exited \(code 2.*usage: lifecycle/s);
  });
});

describe('threads', () => {
  it('names its workers and writes i*1000000+k, waiting for SIGUSR1 with --wait-go', async () => {
    const fx = await startFixture('threads', { args: ['3', '--writes', '4', '--interval-ms', '1', '--wait-go'] });
    try {
      const names = [...threadNames(fx.pid).values()].sort();
      expect(names).toEqual(['threads', 'worker-0', 'worker-1', 'worker-2']);
      const slots = symbolAddress(fx.pid, 'g_slots');
      expect(readProcMem(fx.pid, slots, 24).equals(Buffer.alloc(24))).toBe(true);
      fx.proc.kill('SIGUSR1');
      const done = symbolAddress(fx.pid, 'g_workers_done');
      await until('3 workers done', () => (readProcMem(fx.pid, done, 4).readInt32LE(0) === 3 ? true : undefined));
      const b = readProcMem(fx.pid, slots, 24);
      expect([0, 1, 2].map((i) => b.readBigInt64LE(i * 8))).toEqual([4n, 1000004n, 2000004n]);
    } finally {
      await fx.stop();
    }
  });

  it('runs a hot loop with --hot', async () => {
    const fx = await startFixture('threads', { args: ['0', '--hot'] });
    try {
      expect([...threadNames(fx.pid).values()]).toContain('hot');
      const addr = symbolAddress(fx.pid, 'g_hot_iterations');
      const first = readU64(fx.pid, addr);
      await until('hot loop advancing', () => (readU64(fx.pid, addr) > first ? true : undefined));
    } finally {
      await fx.stop();
    }
  });
});

describe('lifecycle', () => {
  it('exit-after MS CODE exits with CODE', async () => {
    const fx = await startFixture('lifecycle', { args: ['exit-after', '50', '7'] });
    expect((await fx.exited).code).toBe(7);
  });

  it('exec-after MS execs itself in idle mode under the same pid', async () => {
    const fx = await startFixture('lifecycle', { args: ['exec-after', '50'] });
    try {
      await fx.waitForLine(/^ready \d+$/);
      await until('second ready', () => (fx.lines.filter((l) => l === `ready ${fx.pid}`).length === 2 ? true : undefined));
      expect(readFileSync(`/proc/${fx.pid}/cmdline`, 'utf8').split('\0')[1]).toBe('idle');
    } finally {
      await fx.stop();
    }
  });

  it('exec-after MS sleep becomes /bin/sleep', async () => {
    const fx = await startFixture('lifecycle', { args: ['exec-after', '20', 'sleep'] });
    try {
      await until('exec to sleep', () => (readFileSync(`/proc/${fx.pid}/comm`, 'utf8').trim() === 'sleep' ? true : undefined));
    } finally {
      await fx.stop();
    }
  });

  it('fork-cow: the child sees its own copy of g_cow_value', async () => {
    const fx = await startFixture('lifecycle', { args: ['fork-cow'] });
    try {
      const child = Number((await fx.waitForLine(/^child \d+$/)).split(' ')[1]);
      const addrParent = symbolAddress(fx.pid, 'g_cow_value');
      const addrChild = symbolAddress(child, 'g_cow_value');
      expect(addrChild).toBe(addrParent);
      expect(readProcMem(fx.pid, addrParent, 4).readInt32LE(0)).toBe(1);
      expect(readProcMem(child, addrChild, 4).readInt32LE(0)).toBe(2);
    } finally {
      await fx.stop();
    }
  });

  it('map-churn keeps remapping the region at g_churn_addr', async () => {
    const fx = await startFixture('lifecycle', { args: ['map-churn'] });
    try {
      const iters = symbolAddress(fx.pid, 'g_churn_iterations');
      const first = readU64(fx.pid, iters);
      await until('churn advancing', () => (readU64(fx.pid, iters) > first + 10n ? true : undefined));
      const addr = readU64(fx.pid, symbolAddress(fx.pid, 'g_churn_addr'));
      expect(addr % 4096n).toBe(0n);
      expect(readU64(fx.pid, symbolAddress(fx.pid, 'g_churn_size'))).toBe(65536n);
    } finally {
      await fx.stop();
    }
  });
});
