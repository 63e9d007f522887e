import { describe, expect, it } from 'vitest';
import { parseAddress, parseLength } from './parse';

describe('parseAddress / parseLength', () => {
  it('accepts 0x hex and decimal', () => {
    expect(parseAddress('0x7ffd1234')).toBe(0x7ffd1234n);
    expect(parseAddress('0XFF')).toBe(255n);
    expect(parseAddress('4096')).toBe(4096n);
    expect(parseAddress('0xffffffffffffffff')).toBe(0xffffffffffffffffn);
    expect(parseLength('0x10')).toBe(16);
  });
  it('refuses anything else with a usage error', () => {
    for (const bad of ['', 'x', '-1', '0x', '12abc', '1e3', '0x1_0', 'g_int']) {
      expect(() => parseAddress(bad)).toThrow(/not a valid address/);
    }
    expect(() => parseAddress('0x10000000000000000')).toThrow(/64 bits/);
    expect(() => parseLength('99999999999999999999')).toThrow();
  });
});
