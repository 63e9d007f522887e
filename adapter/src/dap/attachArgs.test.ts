import { describe, expect, it } from 'vitest';
import { PidscopeError } from '../errors';
import { DEFAULT_REFRESH_MS, findProcessesByName, parseAttachArgs, parsePid } from './attachArgs';

const noProcs = () => [];

function err(f: () => unknown): PidscopeError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(PidscopeError);
    return e as PidscopeError;
  }
  throw new Error('expected an error');
}

describe('parseAttachArgs', () => {
  it('takes a numeric pid with defaults', () => {
    const c = parseAttachArgs({ type: 'pidscope', request: 'attach', name: 'x', __sessionId: 'abc', pid: 1234 }, noProcs);
    expect(c).toEqual({ pid: 1234, resolvedFrom: 'pid', backend: 'auto', allowWrites: false, refreshIntervalMs: DEFAULT_REFRESH_MS, debugSearchPaths: [] });
  });

  it('takes a pid string, all options', () => {
    const c = parseAttachArgs({ pid: ' 42 ', backend: 'proc-mem', allowWrites: true, refreshIntervalMs: 0, debugSearchPaths: ['/d'] }, noProcs);
    expect(c).toMatchObject({ pid: 42, backend: 'proc-mem', allowWrites: true, refreshIntervalMs: 0, debugSearchPaths: ['/d'] });
  });

  it('rejects bad values with the cause and the fix', () => {
    expect(err(() => parseAttachArgs({ pid: -1 }, noProcs)).message).toMatch(/not a valid process id.*positive integer/);
    expect(err(() => parseAttachArgs({ pid: 1.5 }, noProcs)).code).toBe('BAD_ARGS');
    expect(err(() => parseAttachArgs({ pid: '${command:pickProcess}' }, noProcs)).message).toMatch(/unresolved variable/);
    expect(err(() => parseAttachArgs({ pid: {} }, noProcs)).message).toMatch(/not a process id/);
    expect(err(() => parseAttachArgs({ pid: 1, backend: 'magic' }, noProcs)).message).toMatch(/"backend" is "magic". Use one of "auto"/);
    expect(err(() => parseAttachArgs({ pid: 1, allowWrites: 'yes' }, noProcs)).message).toMatch(/allowWrites/);
    expect(err(() => parseAttachArgs({ pid: 1, refreshIntervalMs: 5 }, noProcs)).message).toMatch(/from 50 to 60000, or 0/);
    expect(err(() => parseAttachArgs({ pid: 1, debugSearchPaths: '/x' }, noProcs)).message).toMatch(/list of directory paths/);
    expect(err(() => parseAttachArgs({}, noProcs)).message).toMatch(/name no process.*"pid"/);
    expect(err(() => parseAttachArgs(null, noProcs)).message).toMatch(/not an object/);
    expect(err(() => parseAttachArgs({ pid: 1, processName: 'a' }, noProcs)).message).toMatch(/both/);
  });

  it('resolves processName, and lists candidates when ambiguous', () => {
    const one = () => [{ pid: 7, comm: 'srv', cmdline: './srv -x' }];
    expect(parseAttachArgs({ processName: 'srv' }, one)).toMatchObject({ pid: 7, resolvedFrom: { processName: 'srv' } });
    const two = () => [
      { pid: 7, comm: 'srv', cmdline: './srv -x' },
      { pid: 9, comm: 'srv', cmdline: './srv -y' },
    ];
    const e = err(() => parseAttachArgs({ processName: 'srv' }, two));
    expect(e.code).toBe('AMBIGUOUS_PROCESS');
    expect(e.message).toContain('pid 7 (./srv -x); pid 9 (./srv -y)');
    expect(e.message).toMatch(/Attach by "pid"/);
    expect(err(() => parseAttachArgs({ processName: 'nope' }, noProcs)).code).toBe('NO_PROCESS');
  });

  it('parsePid', () => {
    expect(parsePid(1)).toBe(1);
    expect(parsePid('77')).toBe(77);
    expect(() => parsePid(0)).toThrow(/valid process id/);
  });
});

describe('findProcessesByName', () => {
  it('finds a real process by its comm and leaves ourselves out', () => {
    // The vitest worker is "node": there are node processes, but never our own pid.
    const found = findProcessesByName('node');
    expect(found.every((p) => p.pid !== process.pid)).toBe(true);
    expect(findProcessesByName('no-such-process-name-xyz')).toEqual([]);
  });
});
