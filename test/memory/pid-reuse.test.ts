/**
 * The pidfd is the identity: after our target exits and its pid is handed to a new process,
 * no reader may return the new process's memory. We force the reuse with ns_last_pid (root,
 * CONFIG_CHECKPOINT_RESTORE) and a non-PIE fixture, so the same global sits at the same address
 * in both processes while its heap pointer differs (brk is randomised).
 */
import { existsSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { isPidscopeError } from '../../adapter/src/errors';
import { Target } from '../../adapter/src/engine/target';
import { openMemory } from '../../adapter/src/memory/select';
import { startFixture, type RunningFixture } from '../support/fixtures';
import { readProcMem } from '../support/proc';
import { symbolAddress } from '../support/symbols';
import { until } from '../support/wait';

const NS_LAST_PID = '/proc/sys/kernel/ns_last_pid';
const canRecycle = process.getuid?.() === 0 && existsSync(NS_LAST_PID);
const cleanup: (() => unknown)[] = [];
afterAll(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

function codeOf(fn: () => unknown): string {
  try {
    fn();
    return 'no error';
  } catch (e) {
    return isPidscopeError(e) ? e.code : `not a PidscopeError: ${String(e)}`;
  }
}

async function waitGone(pid: number): Promise<void> {
  await until(`pid ${pid} to be gone`, () => !existsSync(`/proc/${pid}`), 10_000, 10);
}

/** Starts the fixture again until it gets `pid` (other processes may take it first). */
async function startWithPid(pid: number): Promise<RunningFixture> {
  for (let attempt = 0; attempt < 100; attempt++) {
    writeFileSync(NS_LAST_PID, String(pid - 1));
    const fx = await startFixture('globals', { variant: 'O0-dwarf5-nopie' });
    if (fx.pid === pid) return fx;
    await fx.stop();
  }
  throw new Error(`could not get pid ${pid} back in 100 attempts`);
}

describe('pid reuse', () => {
  it.runIf(canRecycle)('readers of an exited target fail with ESRCH instead of reading the process that got its pid', async () => {
    const a = await startFixture('globals', { variant: 'O0-dwarf5-nopie' });
    cleanup.push(() => a.stop());
    const pid = a.pid;
    const target = Target.attach(pid);
    cleanup.push(() => target.close());
    const strict = openMemory(target, { backend: 'vm-readv' }).reader;
    const loose = openMemory(target, { backend: 'vm-readv', verify: 'on-failure' }).reader;
    const procMem = openMemory(target, { backend: 'proc-mem' }).reader;
    cleanup.push(
      () => strict.close(),
      () => loose.close(),
      () => procMem.close(),
    );

    const head = symbolAddress(pid, 'g_list_head');
    const headOfA = strict.read(head, 8).data.readBigUInt64LE(0);
    expect(procMem.read(head, 8).data.readBigUInt64LE(0)).toBe(headOfA);

    await a.stop();
    await waitGone(pid);
    const b = await startWithPid(pid);
    cleanup.push(() => b.stop());
    const headOfB = readProcMem(pid, head, 8).readBigUInt64LE(0);
    expect(headOfB).not.toBe(headOfA); // a different process at the same pid and address

    // The defaults: never an answer from process B.
    expect(codeOf(() => strict.read(head, 8))).toBe('ESRCH');
    expect(codeOf(() => strict.readMany([{ address: head, length: 8 }]))).toBe('ESRCH');
    expect(codeOf(() => procMem.read(head, 8))).toBe('ESRCH');
    expect(target.isAlive()).toBe(false);

    // Why `verify: 'every-call'` is the default: without the check a successful
    // process_vm_readv on the recycled pid returns B's bytes.
    expect(loose.read(head, 8).data.readBigUInt64LE(0)).toBe(headOfB);

    // A new attach is a new identity and reads B.
    const again = Target.attach(pid);
    cleanup.push(() => again.close());
    const r = openMemory(again).reader;
    cleanup.push(() => r.close());
    expect(r.read(head, 8).data.readBigUInt64LE(0)).toBe(headOfB);
  });
});
