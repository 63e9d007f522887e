import { describe, expect, it } from 'vitest';
import type { AttachConfig } from './attachArgs';
import { applyPolicy, processLookup, STDIO_POLICY, type ServerPolicy } from './policy';

const cfg = (over: Partial<AttachConfig> = {}): AttachConfig => ({
  pid: 1,
  resolvedFrom: 'pid',
  backend: 'auto',
  allowWrites: true,
  refreshIntervalMs: 500,
  debugSearchPaths: [],
  ...over,
});
const listener = (over: Partial<ServerPolicy> = {}): ServerPolicy => ({ origin: 'listener', allowWrites: false, debugDirs: ['/srv/debug'], ...over });

describe('server policy', () => {
  it('on stdio the client decides', () => {
    const r = applyPolicy(cfg({ debugSearchPaths: ['/x'] }), STDIO_POLICY);
    expect(r.cfg.allowWrites).toBe(true);
    expect(r.cfg.debugSearchPaths).toEqual(['/x']);
    expect(r.writeRefusal).toBeUndefined();
  });

  it('a listener client can only narrow writes', () => {
    const r = applyPolicy(cfg(), listener());
    expect(r.cfg.allowWrites).toBe(false);
    expect(r.notes.join()).toMatch(/without --allow-writes/);
    expect(r.writeRefusal!('Setting x').message).toMatch(/Setting x would change.*started without --allow-writes/);
    expect(applyPolicy(cfg({ allowWrites: false }), listener({ allowWrites: true })).cfg.allowWrites).toBe(false);
    expect(applyPolicy(cfg(), listener({ allowWrites: true })).cfg.allowWrites).toBe(true);
  });

  it("debugSearchPaths must lie inside the server's --debug-dir", () => {
    expect(applyPolicy(cfg({ debugSearchPaths: ['/srv/debug/app'] }), listener()).cfg.debugSearchPaths).toEqual(['/srv/debug', '/srv/debug/app']);
    expect(() => applyPolicy(cfg({ debugSearchPaths: ['/srv/debug/../../etc'] }), listener())).toThrow(/outside the directories/);
    expect(() => applyPolicy(cfg({ debugSearchPaths: ['/srv/debugger'] }), listener())).toThrow(/outside/);
    expect(() => applyPolicy(cfg({ debugSearchPaths: ['rel'] }), listener())).toThrow(/outside/);
    expect(applyPolicy(cfg(), listener()).cfg.debugSearchPaths).toEqual(['/srv/debug']);
  });

  it('a listener client learns no command lines through processName', () => {
    const find = () => [{ pid: process.pid, comm: 'node', cmdline: 'node --secret-flag' }];
    expect(processLookup(listener(), find)('node')).toEqual([{ pid: process.pid, comm: 'node', cmdline: '' }]);
    expect(processLookup(STDIO_POLICY, find)('node')[0].cmdline).toBe('node --secret-flag');
  });
});
