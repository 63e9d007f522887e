import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseStat } from '../proc/processes';
import { Target, type ExitInfo } from './target';

describe('parseStat', () => {
  it('takes comm between the first ( and the last ), whatever it contains', () => {
    const s = parseStat('4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 100 0 0 0');
    expect(s).toMatchObject({ pid: 4242, comm: 'my (odd) name', state: 'S', ppid: 1, flags: 4194560 });
    expect(parseStat('2 (kthreadd) S 0 0 0 0 -1 2129984 0').flags & 0x00200000).toBeTruthy();
  });
});

describe('Target on real processes', () => {
  it('describes this process: name, command line, exe, maps, modules, threads', () => {
    const t = Target.attach(process.pid);
    try {
      expect(t.isAlive()).toBe(true);
      expect(t.isKernelThread()).toBe(false);
      expect(t.exe()).toBe(process.execPath);
      expect(t.cmdline()).toEqual(readFileSync('/proc/self/cmdline', 'utf8').split('\0').filter(Boolean));
      const maps = t.maps();
      expect(maps.some((r) => r.kind === 'stack')).toBe(true);
      expect(t.modules().some((m) => m.path === process.execPath)).toBe(true);
      const threads = t.threads();
      expect(threads[0].tid).toBe(process.pid);
      expect(threads.length).toBeGreaterThan(1); // libuv and V8 worker threads
      expect(t.name().length).toBeGreaterThan(0);
    } finally {
      t.close();
    }
  });

  it('emits exited once when the process ends, and reports it as gone afterwards', async () => {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    await new Promise((r) => child.once('spawn', r));
    const t = Target.attach(child.pid!);
    try {
      const exited = new Promise<ExitInfo>((resolve) => t.on('exited', resolve));
      expect(t.isAlive()).toBe(true);
      child.kill('SIGKILL');
      const info = await exited;
      expect(info).toEqual({ pid: child.pid, detectedBy: 'pidfd-poll' });
      expect(t.isAlive()).toBe(false);
      expect(() => t.assertAlive('a test')).toThrow(new RegExp(`^process ${child.pid} has exited`));
      expect(() => t.maps()).toThrow(/has exited/);
    } finally {
      t.close();
    }
  });

  it('the pidfd is the identity: a closed target refuses to work', () => {
    const t = Target.attach(process.pid);
    t.close();
    expect(t.isAlive()).toBe(false);
    expect(() => t.pidfd).toThrow(/closed/);
  });
});
