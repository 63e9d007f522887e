// The never-stopped checker must pass on a running target and catch the ways a target stops:
// SIGSTOP and a ptrace attach (gdb). It deliberately stops its own fixture to prove that.
import { afterEach, describe, expect, it } from 'vitest';
import { startFixture, type RunningFixture } from './fixtures';
import { gdbCommands } from './gdb';
import { assertNeverStopped, monitorNeverStopped, procState, readProcMem, readU64, threadStates, tracerPid } from './proc';
import { symbolAddress } from './symbols';

let fx: RunningFixture | undefined;
afterEach(async () => {
  if (fx && !fx.hasExited()) process.kill(fx.pid, 'SIGCONT');
  await fx?.stop();
  fx = undefined;
});

describe('proc helpers', () => {
  it('read status, thread states and memory of a running fixture', async () => {
    fx = await startFixture('globals');
    expect(tracerPid(fx.pid)).toBe(0);
    expect(['R', 'S']).toContain(procState(fx.pid));
    expect(threadStates(fx.pid).size).toBe(2);
    const b = readProcMem(fx.pid, symbolAddress(fx.pid, 'g_int'), 4);
    expect(b.readInt32LE(0)).toBe(123456789);
    expect(() => readProcMem(fx!.pid, 0x10n, 4)).toThrow(/cannot read \/proc\/\d+\/mem at 0x10/);
    const edge = readU64(fx.pid, symbolAddress(fx.pid, 'g_hole_edge'));
    expect(readProcMem(fx.pid, edge + 4000n, 200).length).toBe(96);
    // FOLL_FORCE: /proc/PID/mem reads through a PROT_NONE page (process_vm_readv would not).
    const guarded = readU64(fx.pid, symbolAddress(fx.pid, 'g_guarded'));
    expect(readProcMem(fx.pid, guarded + 4000n, 200).length).toBe(200);
  });

  it('assertNeverStopped passes while the target runs, and sees progress', async () => {
    fx = await startFixture('threads');
    const r = await assertNeverStopped(fx.pid, 500);
    expect(r.violations).toEqual([]);
    expect(r.progressEnd! > r.progressStart!).toBe(true);
    expect(r.samples).toBeGreaterThan(5);
  });

  it('catches a SIGSTOPped target', async () => {
    fx = await startFixture('globals');
    const monitor = monitorNeverStopped(fx.pid, { maxStallMs: 300 });
    await new Promise((r) => setTimeout(r, 50));
    process.kill(fx.pid, 'SIGSTOP');
    await new Promise((r) => setTimeout(r, 500));
    process.kill(fx.pid, 'SIGCONT');
    await expect(monitor.stop()).rejects.toThrow(/state T[\s\S]*stalled/);
  });

  it('catches gdb attached to the target', async () => {
    fx = await startFixture('globals');
    const monitor = monitorNeverStopped(fx.pid);
    // `shell sleep` runs while gdb holds the target stopped.
    await gdbCommands(fx.pid, ['shell sleep 0.5']);
    const report = await monitor.stopAndReport();
    expect(report.violations.join('\n')).toMatch(/TracerPid \d+/);
    expect(report.violations.join('\n')).toMatch(/state t/);
  });

  it('ends quietly when the target exits while monitored', async () => {
    fx = await startFixture('lifecycle', { args: ['exit-after', '1500', '0'] });
    const monitor = monitorNeverStopped(fx.pid);
    await fx.exited;
    const report = await monitor.stop();
    expect(report.violations).toEqual([]);
  });
});
