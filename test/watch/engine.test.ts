/**
 * The watch engine against the real `threads` fixture: hardware watchpoints see every write with
 * the writing thread, values in order per thread; polling sees the final values; the target is
 * never stopped; the target exiting ends the watch.
 */
import { describe, expect, it } from 'vitest';
import { Target } from '../../adapter/src/engine/target';
import { openMemory } from '../../adapter/src/memory/select';
import type { MemoryReader } from '../../adapter/src/memory/reader';
import { WatchEngine } from '../../adapter/src/watch/engine';
import type { WatchEvent, WatchHit } from '../../adapter/src/watch/types';
import { loadSymbols } from '../../adapter/src/symbols/index';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_VARIANT, markerLine, startFixture, type RunningFixture, type Variant } from '../support/fixtures';
import { monitorNeverStopped, readU64, tracerPid } from '../support/proc';
import { symbolAddress } from '../support/symbols';
import { hasHardwareWatchpoints, itHw, itPerf } from '../support/hwGate';
import { testFileLifecycle } from '../support/lifecycle';
import { until } from '../support/wait';

const { started, cleanups } = testFileLifecycle();

async function setup(
  args: string[],
  withSymbols = false,
  variant: Variant = DEFAULT_VARIANT,
): Promise<{ fx: RunningFixture; engine: WatchEngine; memory: MemoryReader; events: WatchEvent[] }> {
  const fx = await startFixture('threads', { args, variant });
  started.push(fx);
  const target = Target.attach(fx.pid);
  const memory = openMemory(target).reader;
  const symbols = withSymbols ? await loadSymbols(fx.pid) : undefined;
  const engine = new WatchEngine({ pid: fx.pid, memory, symbols, pollIntervalMs: 5 });
  const events: WatchEvent[] = [];
  engine.on('event', (e) => events.push(e));
  cleanups.push(() => {
    engine.close();
    memory.close();
    target.close?.();
  });
  return { fx, engine, memory, events };
}

function hitsOf(events: WatchEvent[], watchId?: number): WatchHit[] {
  return events.flatMap((e) => (e.kind === 'hit' && (watchId === undefined || e.hit.watchId === watchId) ? [e.hit] : []));
}

describe('watch engine on the threads fixture', () => {
  itHw.each(['O0-dwarf5-pie', 'O2-dwarf5-pie'] as const)(
    'hw (%s): sees every write of g_shared and g_slots[i] with its exact value, by the right thread, in order; target never stopped',
    async (variant) => {
      const N = 3;
      const K = 20;
      const { fx, engine, events } = await setup([String(N), '--writes', String(K), '--wait-go', '--interval-ms', '10'], false, variant);
      const address = symbolAddress(fx.pid, 'g_shared');
      const slots = symbolAddress(fx.pid, 'g_slots');
      const monitor = monitorNeverStopped(fx.pid);
      const shared = engine.add({ expression: 'g_shared', address, size: 8, mode: 'hw' });
      expect(shared.mode).toBe('hw');
      // g_shared + 3 slots = the 4 debug registers.
      const slotIds = Array.from({ length: N }, (_, i) => engine.add({ expression: `g_slots[${i}]`, address: slots + BigInt(8 * i), size: 8, mode: 'hw' }).id);
      process.kill(fx.pid, 'SIGUSR1');
      const done = symbolAddress(fx.pid, 'g_workers_done');
      await until('workers to finish', () => readU64(fx.pid, done) % 2n ** 32n === BigInt(N));
      await until('every hit to arrive', () => hitsOf(events).length >= 2 * N * K);
      await new Promise((r) => setTimeout(r, 100));

      // g_shared: all N*K writes, numbered 1..N*K, each by a worker thread.
      const hits = hitsOf(events, shared.id);
      expect(hits).toHaveLength(N * K);
      expect(hits.map((h) => h.seq)).toEqual(Array.from({ length: N * K }, (_, i) => i + 1));
      expect(engine.kernelCount(shared.id)).toBe(BigInt(N * K));
      const byTid = new Map<number, WatchHit[]>();
      for (const h of hits) {
        expect(h.source).toBe('hw');
        const list = byTid.get(h.writer!.tid) ?? [];
        list.push(h);
        byTid.set(h.writer!.tid, list);
      }
      expect(byTid.size).toBe(N);
      const tidOfWorker = new Map<number, number>();
      for (const [tid, list] of byTid) {
        expect(list).toHaveLength(K);
        const name = list[0]!.writer!.threadName!;
        expect(name).toMatch(/^worker-\d+$/);
        const index = Number(name.slice('worker-'.length));
        tidOfWorker.set(index, tid);
        // Workers write in lockstep, often several stores between two reads of memory: the values
        // come from the stores themselves (the MOV's source register at the trap), all exact.
        for (const h of list) expect(h).toMatchObject({ valueSeen: true, valueFrom: 'store' });
        expect(list.map((h) => h.value!.readBigInt64LE(0))).toEqual(Array.from({ length: K }, (_, k) => BigInt(index * 1_000_000 + k + 1)));
        for (let i = 1; i < list.length; i++) expect(list[i]!.perfTime! > list[i - 1]!.perfTime!).toBe(true);
      }

      // g_slots[i]: written by worker i only: i*1e6+1 .. i*1e6+K, each with the previous as old.
      slotIds.forEach((id, i) => {
        const slotHits = hitsOf(events, id);
        expect(slotHits).toHaveLength(K);
        for (const h of slotHits) expect(h.writer!.tid).toBe(tidOfWorker.get(i));
        expect(slotHits.map((h) => h.value!.readBigInt64LE(0))).toEqual(Array.from({ length: K }, (_, k) => BigInt(i * 1_000_000 + k + 1)));
        // old is the previous value (the first write's old is the value before the watch: 0).
        expect(slotHits.slice(1).map((h) => h.old!.readBigInt64LE(0))).toEqual(Array.from({ length: K - 1 }, (_, k) => BigInt(i * 1_000_000 + k + 1)));
        expect(slotHits.at(-1)!.value!.readBigInt64LE(0)).toBe(BigInt(i * 1_000_000 + K));
      });

      const report = await monitor.stop();
      expect(report.violations).toEqual([]);
      expect(tracerPid(fx.pid)).toBe(0);
    },
  );

  it('poll: sees the final values of every slot, without a writer', async () => {
    const N = 3;
    const K = 10;
    const { fx, engine, events } = await setup([String(N), '--writes', String(K), '--wait-go', '--interval-ms', '20']);
    const slots = symbolAddress(fx.pid, 'g_slots');
    const ids = Array.from({ length: N }, (_, i) => engine.add({ expression: `g_slots[${i}]`, address: slots + BigInt(8 * i), size: 8, mode: 'poll' }).id);
    process.kill(fx.pid, 'SIGUSR1');
    const done = symbolAddress(fx.pid, 'g_workers_done');
    await until('workers to finish', () => readU64(fx.pid, done) % 2n ** 32n === BigInt(N));
    await until('final values', () => ids.every((id, i) => hitsOf(events, id).at(-1)?.value?.readBigInt64LE(0) === BigInt(i * 1_000_000 + K)));
    for (const id of ids) {
      const hits = hitsOf(events, id);
      expect(hits.every((h) => h.source === 'poll' && h.writer === undefined)).toBe(true);
      const values = hits.map((h) => h.value!.readBigInt64LE(0));
      for (let i = 1; i < values.length; i++) expect(values[i]! > values[i - 1]!).toBe(true);
    }
  });

  it('auto falls back to polling when perf is refused (PIDSCOPE_PERF=deny) and says why', async () => {
    const { fx, engine, events } = await setup(['1', '--interval-ms', '5']);
    const address = symbolAddress(fx.pid, 'g_shared');
    const before = process.env.PIDSCOPE_PERF;
    process.env.PIDSCOPE_PERF = 'deny';
    try {
      const info = engine.add({ expression: 'g_shared', address, size: 8, mode: 'auto' });
      expect(info.mode).toBe('poll');
      expect(info.fallbackReason).toMatch(/perf_event_open was refused.*perf_event_paranoid/);
      expect(() => engine.add({ expression: 'g_shared', address, size: 8, mode: 'hw' })).toThrow(/hardware watchpoint refused/);
    } finally {
      if (before === undefined) delete process.env.PIDSCOPE_PERF;
      else process.env.PIDSCOPE_PERF = before;
    }
    await until('a polled change', () => hitsOf(events).length >= 2);
    expect(hitsOf(events).every((h) => h.source === 'poll')).toBe(true);
  });

  itPerf('auto falls back to polling when breakpoints never fire (PIDSCOPE_HWBP=nofire), says why, and still sees every change', async () => {
    const { fx, engine, events } = await setup(['1', '--interval-ms', '20']);
    const address = symbolAddress(fx.pid, 'g_shared');
    const before = process.env.PIDSCOPE_HWBP;
    process.env.PIDSCOPE_HWBP = 'nofire';
    try {
      const info = engine.add({ expression: 'g_shared', address, size: 8, mode: 'auto' });
      expect(info.mode).toBe('poll');
      expect(info.fallbackReason).toMatch(/hardware breakpoints do not fire on this host/);
      expect(() => engine.add({ expression: 'g_shared', address, size: 8, mode: 'hw' })).toThrow(/do not fire/);
    } finally {
      // Restored, not deleted: the whole run may be under PIDSCOPE_HWBP=nofire.
      if (before === undefined) delete process.env.PIDSCOPE_HWBP;
      else process.env.PIDSCOPE_HWBP = before;
    }
    await until('polled changes', () => hitsOf(events).length >= 3);
    const values = hitsOf(events).map((h) => h.value!.readBigInt64LE(0));
    for (let i = 1; i < values.length; i++) expect(values[i]! > values[i - 1]!).toBe(true);
  });

  it('refuses what x86 cannot do, with the fix', async () => {
    const { fx, engine } = await setup(['1']);
    const slots = symbolAddress(fx.pid, 'g_slots');
    expect(() => engine.add({ expression: 'g_slots', address: slots, size: 128, mode: 'hw' })).toThrow(/needs 16 debug registers.*--mode poll/);
    expect(() => engine.add({ expression: 'g_shared', address: slots, size: 8, access: 'read' })).toThrow(/cannot watch reads alone/);
    // Auto mode takes polling for the big one, and fills the registers before falling back.
    expect(engine.add({ expression: 'g_slots', address: slots, size: 128, mode: 'auto' }).mode).toBe('poll');
  });

  itHw('auto fills the 4 debug registers, then polls (and --mode hw is refused) with the reason', async () => {
    const { fx, engine } = await setup(['1']);
    const slots = symbolAddress(fx.pid, 'g_slots');
    const used = [0, 1, 2, 3].map((i) => engine.add({ expression: `g_slots[${i}]`, address: slots + BigInt(8 * i), size: 8, mode: 'auto' }).mode);
    expect(used).toEqual(['hw', 'hw', 'hw', 'hw']);
    const fifth = engine.add({ expression: 'g_slots[4]', address: slots + 32n, size: 8, mode: 'auto' });
    expect(fifth.mode).toBe('poll');
    expect(fifth.fallbackReason).toMatch(/debug registers are taken/);
    expect(() => engine.add({ expression: 'g_slots[5]', address: slots + 40n, size: 8, mode: 'hw' })).toThrow(/debug registers are taken/);
  });

  it('ends cleanly when the target exits', async () => {
    const { fx, engine, events } = await setup(['2', '--interval-ms', '2']);
    // auto: hardware where debug-register traps work, polling (the same ending) where they do not.
    engine.add({ expression: 'g_shared', address: symbolAddress(fx.pid, 'g_shared'), size: 8, mode: 'auto' });
    engine.add({ expression: 'g_slots[0]', address: symbolAddress(fx.pid, 'g_slots'), size: 8, mode: 'poll' });
    await until('some hits', () => hitsOf(events).length > 5);
    await fx.stop();
    await until('the ended event', () => events.some((e) => e.kind === 'ended'), 10_000);
    const ended = events.find((e) => e.kind === 'ended');
    expect(ended).toMatchObject({ kind: 'ended', reason: expect.stringMatching(/exited/) });
    expect(engine.list().every((w) => !w.active)).toBe(true);
  });

  itHw('hw: names the writer as function (file:line) of the #WRITE_SHARED / #WRITE_SLOT lines', async () => {
    const { fx, engine, events } = await setup(['2', '--interval-ms', '5'], true);
    const shared = engine.add({ expression: 'g_shared', address: symbolAddress(fx.pid, 'g_shared'), size: 8, mode: 'hw' });
    const slot = engine.add({ expression: 'g_slots[1]', address: symbolAddress(fx.pid, 'g_slots') + 8n, size: 8, mode: 'hw' });
    await until('hits on both', () => hitsOf(events, shared.id).length >= 4 && hitsOf(events, slot.id).length >= 2);
    for (const h of hitsOf(events, shared.id)) expect(h.writer).toMatchObject({ function: 'worker_loop', line: markerLine('threads.c', 'WRITE_SHARED') });
    for (const h of hitsOf(events, slot.id)) expect(h.writer).toMatchObject({ function: 'worker_loop', line: markerLine('threads.c', 'WRITE_SLOT') });
    expect(hitsOf(events, shared.id)[0]!.writer!.file).toMatch(/threads\.c$/);
  });

  itHw('hw: covers threads created after the watch started (and threads they create), not forked child processes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pidscope-watch-'));
    const bin = join(dir, 'late_threads');
    execFileSync('gcc', ['-g', '-O0', '-pthread', '-o', bin, join(__dirname, 'fixtures', 'late_threads.c')]);
    const proc = spawn(bin, [], { stdio: ['ignore', 'pipe', 'inherit'] });
    cleanups.push(() => {
      proc.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    });
    const pid = await new Promise<number>((res, rej) => {
      proc.stdout!.once('data', (d: Buffer) => res(Number(/ready (\d+)/.exec(String(d))![1])));
      proc.once('exit', () => rej(new Error('late_threads exited early')));
    });
    const target = Target.attach(pid);
    const memory = openMemory(target).reader;
    const engine = new WatchEngine({ pid, memory });
    const events: WatchEvent[] = [];
    engine.on('event', (e) => events.push(e));
    cleanups.push(() => {
      engine.close();
      memory.close();
      target.close();
    });
    const info = engine.add({ expression: 'g_late', address: symbolAddress(pid, 'g_late'), size: 8, mode: 'hw' });
    expect(info.mode).toBe('hw');
    // A forked child process writing its own copy of g_late is not the target: no hits.
    process.kill(pid, 'SIGUSR2');
    const forked = symbolAddress(pid, 'g_forked_done');
    await until('the forked child to finish', () => readU64(pid, forked) % 2n ** 32n === 1n);
    await new Promise((r) => setTimeout(r, 100));
    expect(hitsOf(events)).toHaveLength(0);
    process.kill(pid, 'SIGUSR1');
    const done = symbolAddress(pid, 'g_done');
    await until('both late threads to finish', () => readU64(pid, done) % 2n ** 32n === 2n);
    await until('all 20 writes', () => hitsOf(events).length >= 20);
    await new Promise((r) => setTimeout(r, 50));
    const hits = hitsOf(events);
    expect(hits).toHaveLength(20);
    const names = new Map<string, number>();
    for (const h of hits) names.set(h.writer!.threadName ?? '?', (names.get(h.writer!.threadName ?? '?') ?? 0) + 1);
    expect(Object.fromEntries(names)).toEqual({ 'late-1': 10, 'late-2': 10 });
    proc.kill('SIGTERM');
  });

  it('ends cleanly when the target execs a new program (hw and poll watches)', async () => {
    const fx = await startFixture('lifecycle', { args: ['exec-after', '400'] });
    started.push(fx);
    const target = Target.attach(fx.pid);
    const memory = openMemory(target).reader;
    const engine = new WatchEngine({ pid: fx.pid, memory });
    const events: WatchEvent[] = [];
    engine.on('event', (e) => events.push(e));
    cleanups.push(() => {
      engine.close();
      memory.close();
      target.close();
    });
    const progress = symbolAddress(fx.pid, 'g_progress');
    expect(engine.add({ expression: 'g_progress', address: progress, size: 8, mode: 'auto' }).mode).toBe(hasHardwareWatchpoints ? 'hw' : 'poll');
    engine.add({ expression: 'g_progress (poll)', address: progress, size: 8, mode: 'poll' });
    await until('the ended event', () => events.some((e) => e.kind === 'ended'), 15_000);
    expect(events.find((e) => e.kind === 'ended')).toMatchObject({ reason: expect.stringMatching(/exec'd a new program/) });
    expect(hitsOf(events).length).toBeGreaterThan(0);
    expect(engine.list().every((w) => !w.active)).toBe(true);
    expect(() => engine.add({ expression: 'x', address: progress, size: 8 })).toThrow(/cannot watch: .*exec'd/);
  });

  itHw('hw readwrite also reports reads: g_progress++ traps at its load and at its store', async () => {
    const { fx, engine, events } = await setup(['0'], true);
    const address = symbolAddress(fx.pid, 'g_progress');
    const w = engine.add({ expression: 'g_progress', address, size: 8, mode: 'hw', access: 'write' });
    const rw = engine.add({ expression: 'g_progress', address, size: 8, mode: 'hw', access: 'readwrite' });
    await until('hits on both', () => hitsOf(events, w.id).length >= 20 && hitsOf(events, rw.id).length >= 40);
    const ips = (id: number) => new Set(hitsOf(events, id).map((h) => h.writer!.ip));
    expect(ips(w.id).size).toBe(1);
    expect(ips(rw.id).size).toBe(2);
    const line = markerLine('threads.c', 'PROGRESS');
    for (const h of [...hitsOf(events, w.id), ...hitsOf(events, rw.id)]) expect(h.writer).toMatchObject({ function: 'main', line });
  });

  itHw('hw: an object bigger than 8 bytes is split across debug registers (g_slots[0..1] = 16 bytes, 2 registers)', async () => {
    const { fx, engine, events } = await setup(['2', '--interval-ms', '10'], true);
    const info = engine.add({ expression: 'g_slots[0..1]', address: symbolAddress(fx.pid, 'g_slots'), size: 16, mode: 'hw' });
    expect(info.mode).toBe('hw');
    expect(info.ranges).toHaveLength(2);
    await until('writes by both workers', () => new Set(hitsOf(events).map((h) => h.writer!.threadName)).size === 2);
    const line = markerLine('threads.c', 'WRITE_SLOT');
    for (const h of hitsOf(events)) expect(h.writer).toMatchObject({ function: 'worker_loop', line });
  });

  itHw('hw: a locked counter (lock addl $1, g_workers_done) gets its exact value at every increment', async () => {
    const N = 4;
    const { fx, engine, events } = await setup([String(N), '--writes', '3', '--wait-go', '--interval-ms', '5']);
    const info = engine.add({ expression: 'g_workers_done', address: symbolAddress(fx.pid, 'g_workers_done'), size: 4, mode: 'hw' });
    process.kill(fx.pid, 'SIGUSR1');
    await until('every worker to finish', () => hitsOf(events, info.id).length >= N);
    const hits = hitsOf(events, info.id);
    expect(hits.map((h) => h.value!.readInt32LE(0))).toEqual([1, 2, 3, 4]);
    expect(hits.map((h) => h.old!.readInt32LE(0))).toEqual([0, 1, 2, 3]);
    // Values come from the instruction (forward from a verified value, or backward from a
    // confirmed read after a burst); at most the last of a burst is the confirmed read itself.
    for (const h of hits) expect(h.valueSeen).toBe(true);
    expect(hits.filter((h) => h.valueFrom === 'store').length).toBeGreaterThanOrEqual(N - 1);
  });
});
