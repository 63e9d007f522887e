import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkTarget, classifyAttachError, ConfigProblem, PICK_PROCESS, readProcFacts, resolveConfig } from './config';

describe('resolveConfig', () => {
  it('turns an empty configuration (F5 without launch.json) into attach with the picker', () => {
    expect(resolveConfig({})).toEqual({ type: 'pidscope', request: 'attach', name: 'pidscope: attach to a running process', pid: PICK_PROCESS });
  });

  it('asks the picker when neither pid nor processName is given', () => {
    expect(resolveConfig({ type: 'pidscope', request: 'attach', name: 'x' }).pid).toBe(PICK_PROCESS);
  });

  it('keeps what the user wrote', () => {
    const cfg = resolveConfig({
      type: 'pidscope',
      request: 'attach',
      name: 'mine',
      processName: 'nginx',
      backend: 'vm-readv',
      allowWrites: true,
      refreshIntervalMs: 250,
      debugSearchPaths: ['/d'],
    });
    expect(cfg).toMatchObject({ processName: 'nginx', backend: 'vm-readv', allowWrites: true, refreshIntervalMs: 250, debugSearchPaths: ['/d'] });
    expect(cfg.pid).toBeUndefined();
  });

  it('refuses launch with the reason and the fix', () => {
    expect(() => resolveConfig({ type: 'pidscope', request: 'launch', name: 'x', program: './a.out' })).toThrow(
      /does not launch programs.*change "request" to "attach"/,
    );
  });

  it('refuses both pid and processName, a bad backend, a bad allowWrites, bad search paths', () => {
    const base = { type: 'pidscope', request: 'attach', name: 'x' };
    expect(() => resolveConfig({ ...base, pid: 1, processName: 'a' })).toThrow(ConfigProblem);
    expect(() => resolveConfig({ ...base, pid: 1, backend: 'ptrace' })).toThrow(/"backend" is "ptrace".*"pidfd-mem"/);
    expect(() => resolveConfig({ ...base, pid: 1, allowWrites: 'yes' })).toThrow(/allowWrites/);
    expect(() => resolveConfig({ ...base, pid: 1, debugSearchPaths: '/d' })).toThrow(/debugSearchPaths/);
  });
});

describe('checkTarget', () => {
  let child: ChildProcess;
  beforeAll(async () => {
    child = spawn('sleep', ['300'], { stdio: 'ignore' });
    await new Promise((r) => child.once('spawn', r));
    // 'spawn' fires as exec begins; the kernel fills /proc/PID/cmdline a moment later.
    for (let i = 0; i < 500 && readFileSync(`/proc/${child.pid}/cmdline`, 'utf8') === ''; i++) await new Promise((r) => setTimeout(r, 10));
  });
  afterAll(() => {
    child.kill('SIGKILL');
  });
  const facts = readProcFacts();
  const cfg = { type: 'pidscope', request: 'attach', name: 'x' };

  it('accepts a live process of ours, pid as a string or number, and normalises it to a number', () => {
    expect(checkTarget({ ...cfg, pid: String(child.pid) }, facts)?.pid).toBe(child.pid);
    expect(checkTarget({ ...cfg, pid: child.pid }, facts)?.pid).toBe(child.pid);
  });

  it('cancels quietly when the picker was dismissed', () => {
    expect(checkTarget({ ...cfg, pid: undefined }, facts)).toBeUndefined();
    expect(checkTarget({ ...cfg, pid: '' }, facts)).toBeUndefined();
  });

  it('passes processName through (the adapter resolves it)', () => {
    expect(checkTarget({ ...cfg, processName: 'x' }, facts)).toMatchObject({ processName: 'x' });
  });

  it('names a pid that does not exist, and offers the picker', () => {
    try {
      checkTarget({ ...cfg, pid: 0x3ffffff0 }, facts);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigProblem);
      expect((e as ConfigProblem).message).toMatch(/no process has pid 1073741808/);
      expect((e as ConfigProblem).actions).toContain('pickProcess');
    }
  });

  it('rejects garbage and unresolved variables', () => {
    expect(() => checkTarget({ ...cfg, pid: 'abc' }, facts)).toThrow(/not a process id/);
    expect(() => checkTarget({ ...cfg, pid: '${command:somethingElse}' }, facts)).toThrow(/still the variable/);
  });

  it("explains another user's process before the adapter starts", () => {
    const root = mkdtempSync(join(tmpdir(), 'pidscope-proc-'));
    try {
      mkdirSync(join(root, '77'));
      writeFileSync(join(root, '77', 'status'), 'Name:\tx\nUid:\t1001\t1001\t1001\t1001\n');
      const e = (() => {
        try {
          checkTarget({ ...cfg, pid: 77 }, { uid: 1000, procRoot: root });
        } catch (err) {
          return err as ConfigProblem;
        }
        return undefined;
      })();
      expect(e?.message).toMatch(/belongs to uid 1001.*runs as uid 1000/);
      expect(e?.actions).toEqual(['pickProcess', 'permissionHelp']);
      // root may read anyone's
      expect(checkTarget({ ...cfg, pid: 77 }, { uid: 0, procRoot: root })?.pid).toBe(77);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('classifyAttachError', () => {
  it('offers the fix that matches the cause', () => {
    expect(classifyAttachError('EPERM: cannot open pid 12: Operation not permitted. Run as the same user or grant CAP_SYS_PTRACE').actions[0]).toBe(
      'permissionHelp',
    );
    expect(classifyAttachError('no running process is named "foo". Check the name with pgrep').actions[0]).toBe('pickProcess');
    expect(classifyAttachError('process 1234 has exited').actions[0]).toBe('pickProcess');
    expect(classifyAttachError('/usr/bin/x has no debug info (no DWARF). Rebuild with -g or add debugSearchPaths').actions[0]).toBe('addDebugSearchPath');
    expect(classifyAttachError('"refreshIntervalMs" is 5. Use a number of milliseconds from 50 to 60000').actions[0]).toBe('openLaunchJson');
    expect(classifyAttachError('something odd').actions).toEqual(['showLog', 'openLaunchJson']);
  });
});
