/**
 * Targets that go away or change under us: killed mid-read (ESRCH, the `exited` event, no crash),
 * exec (proc-mem is bound to the old address space, vm-readv follows the pid — still the same
 * process, proven by the pidfd), and a region being unmapped and remapped while we read it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { isPidscopeError } from '../../adapter/src/errors';
import { Target, type ExitInfo } from '../../adapter/src/engine/target';
import { openMemory } from '../../adapter/src/memory/select';
import { startFixture, type RunningFixture } from '../support/fixtures';
import { symbolAddress } from '../support/symbols';
import { until } from '../support/wait';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

async function start(args: string[]): Promise<{ fx: RunningFixture; target: Target }> {
  const fx = await startFixture('lifecycle', { args });
  cleanup.push(() => fx.stop());
  const target = Target.attach(fx.pid);
  cleanup.push(() => target.close());
  return { fx, target };
}

const tick = () => new Promise<void>((r) => setImmediate(r));

describe.each(['vm-readv', 'proc-mem'] as const)('%s', (backend) => {
  it('target killed while a loop reads: ESRCH, the exited event fires, nothing crashes', async () => {
    const { fx, target } = await start(['idle']);
    const exited = new Promise<ExitInfo>((resolve) => target.once('exited', resolve));
    const reader = openMemory(target, { backend }).reader;
    cleanup.push(() => reader.close());
    const progress = symbolAddress(fx.pid, 'g_progress');

    let reads = 0;
    let error: unknown;
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      try {
        for (let i = 0; i < 50; i++) {
          reader.read(progress, 8);
          reader.readMany([
            { address: progress, length: 8 },
            { address: progress - 64n, length: 64 },
          ]);
          reads += 2;
        }
      } catch (e) {
        error = e;
        break;
      }
      if (reads === 400) fx.proc.kill('SIGKILL');
      await tick();
    }
    expect(reads).toBeGreaterThanOrEqual(400);
    expect(isPidscopeError(error), String(error)).toBe(true);
    expect((error as { code: string }).code).toBe('ESRCH');
    expect((error as Error).message).toMatch(new RegExp(`^process ${fx.pid} has exited`));
    const info = await exited;
    expect(info.pid).toBe(fx.pid);
    expect(target.isAlive()).toBe(false);
    // Later calls keep failing the same way; opening a new reader too.
    expect(() => reader.read(progress, 8)).toThrow(/has exited/);
    expect(() => openMemory(target, { backend })).toThrow(/has exited/);
  });
});

describe('exec', () => {
  it('proc-mem reports the exec, vm-readv reads the new program of the same process', async () => {
    const { fx, target } = await start(['exec-after', '300']);
    const vm = openMemory(target, { backend: 'vm-readv' }).reader;
    const pm = openMemory(target, { backend: 'proc-mem' }).reader;
    cleanup.push(
      () => vm.close(),
      () => pm.close(),
    );
    const modeAddr = symbolAddress(fx.pid, 'g_mode_name');
    expect(pm.read(modeAddr, 10).data.toString('latin1')).toMatch(/^exec-after/);

    // `ready <pid>` appears a second time once the new image is initialised.
    await until('two ready lines', () => fx.lines.filter((l) => l.startsWith('ready ')).length === 2);
    expect(target.isAlive()).toBe(true);
    let err: unknown;
    try {
      pm.read(modeAddr, 10);
    } catch (e) {
      err = e;
    }
    expect((err as { code?: string })?.code, String(err)).toBe('EXEC');
    // Same executable, so nm's address (after the new load bias) names the same global.
    const newAddr = symbolAddress(fx.pid, 'g_mode_name');
    expect(vm.read(newAddr, 4).data.toString('latin1')).toBe('idle');
    const fresh = openMemory(target, { backend: 'proc-mem' }).reader;
    cleanup.push(() => fresh.close());
    expect(fresh.read(newAddr, 4).data.toString('latin1')).toBe('idle');
  });
});

describe('mappings churning while we read', () => {
  it.each(['vm-readv', 'proc-mem'] as const)('%s: every read is either bytes or page-granular holes, never a crash', async (backend) => {
    const { fx, target } = await start(['map-churn']);
    const reader = openMemory(target, { backend }).reader;
    cleanup.push(() => reader.close());
    const addr = reader.read(symbolAddress(fx.pid, 'g_churn_addr'), 8).data.readBigUInt64LE(0);
    const size = Number(reader.read(symbolAddress(fx.pid, 'g_churn_size'), 8).data.readBigUInt64LE(0));
    let holes = 0;
    let full = 0;
    for (let round = 0; round < 40; round++) {
      for (let i = 0; i < 50; i++) {
        const r = reader.read(addr, size);
        for (const h of r.unreadable) {
          expect(h.start >= addr && h.end <= addr + BigInt(size) && h.start < h.end).toBe(true);
          expect(h.start % 4096n).toBe(0n);
          expect(h.end % 4096n).toBe(0n);
        }
        if (r.unreadable.length) holes++;
        else full++;
      }
      await tick();
    }
    expect(holes + full).toBe(2000);
    expect(target.isAlive()).toBe(true);
  });
});
