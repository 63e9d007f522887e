// nm-based addresses plus the load bias from /proc/PID/maps land on the right bytes in every
// variant (the split variant takes its symbols from the .debug file).
import { describe, expect, it } from 'vitest';
import { ALL_VARIANTS, fixturePath, startFixture } from './fixtures';
import { readProcMem } from './proc';
import { elfLoadInfo, loadBias, nmAddress, nmAddresses, nmSymbol, symbolAddress } from './symbols';

describe.each(ALL_VARIANTS)('symbols, variant %s', (variant) => {
  it('resolves g_int to its runtime address', async () => {
    const fx = await startFixture('globals', { variant });
    try {
      const pie = !variant.includes('nopie');
      expect(elfLoadInfo(fx.binary).pie).toBe(pie);
      const bias = loadBias(fx.pid);
      if (pie) expect(bias).toBeGreaterThan(0n);
      else expect(bias).toBe(0n);
      if (variant === 'stripped') {
        expect(() => symbolAddress(fx.pid, 'g_int')).toThrow(/symbol 'g_int' not found by nm/);
        return;
      }
      const addr = symbolAddress(fx.pid, 'g_int');
      expect(readProcMem(fx.pid, addr, 4).readInt32LE(0)).toBe(123456789);
    } finally {
      await fx.stop();
    }
  });
});

describe('nm helpers', () => {
  it('sees both file statics named s_same_name and refuses to pick one', () => {
    const bin = fixturePath('globals');
    expect(nmAddresses(bin, 's_same_name')).toHaveLength(2);
    expect(() => nmAddress(bin, 's_same_name')).toThrow(/defined 2 times/);
  });
  it('gives sizes', () => {
    expect(nmSymbol(fixturePath('globals'), 'g_big_buffer').size).toBe(1 << 20);
  });
});
