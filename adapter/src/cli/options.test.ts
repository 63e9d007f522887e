import { parseArgs } from 'node:util';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PidscopeError } from '../errors';
import { parsePid, targetArgs, TARGET_OPTIONS, withUsage } from './options';

describe('cli options', () => {
  afterEach(() => vi.restoreAllMocks());

  it('pids are positive decimals', () => {
    expect(parsePid('1234')).toBe(1234);
    expect(() => parsePid(undefined)).toThrow(/--pid/);
    for (const bad of ['0', '-3', 'abc', '0x10', '99999999']) expect(() => parsePid(bad)).toThrow(/not a valid pid/);
  });

  it('--pid and --backend are checked together', () => {
    expect(targetArgs({ pid: '7' })).toEqual({ pid: 7, backend: 'auto' });
    expect(targetArgs({ pid: '7', backend: 'vm-readv' })).toEqual({ pid: 7, backend: 'vm-readv' });
    expect(() => targetArgs({ pid: '7', backend: 'nope' })).toThrow(/unknown backend 'nope'/);
  });

  it('usage errors (parseArgs or USAGE) print once and give exit status 2; other errors pass through', () => {
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const spec = { name: 'x', usage: 'Usage: pidscope x\n' };
    expect(withUsage(spec, () => parseArgs({ args: ['--nope'], strict: true, options: TARGET_OPTIONS }))).toBe(2);
    expect(withUsage({ name: 'x' }, () => targetArgs({}))).toBe(2);
    expect(err.mock.calls.map((c) => String(c[0]))).toEqual([
      expect.stringMatching(/^pidscope x: Unknown option '--nope'.*\n\nUsage: pidscope x\n$/s),
      'pidscope x: no process given. Pass --pid N (find it with `pgrep NAME`). Run `pidscope x --help` for usage.\n',
    ]);
    expect(() =>
      withUsage(spec, () => {
        throw new PidscopeError('ESRCH', 'gone', '', 'target');
      }),
    ).toThrow(/gone/);
    expect(withUsage(spec, () => 5)).toBe(5);
  });
});
