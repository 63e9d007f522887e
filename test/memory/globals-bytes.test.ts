/**
 * Done-when of issue 2: every global of the `globals` fixture, in every variant, read through both
 * backends while the target runs (thousands of reads; TracerPid stays 0, no thread stops,
 * g_progress advances), then the same bytes compared with what gdb reads (gdb stops the target, so
 * only after the non-stop phase).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Target } from '../../adapter/src/engine/target';
import type { MemoryReader, ReadRequest } from '../../adapter/src/memory/reader';
import { openMemory } from '../../adapter/src/memory/select';
import { startFixture, VARIANTS, type RunningFixture } from '../support/fixtures';
import { gdbReadMany } from '../support/gdb';
import { monitorNeverStopped } from '../support/proc';
import { exePath, loadBias, nmSymbols } from '../support/symbols';

/** Globals that change while the fixture runs (fixtures/README.md), and thread-locals (nm gives TLS offsets). */
const CHANGING = /^(g_progress|g_live_.*)$/;
const NOT_AN_ADDRESS = /^g_tls_/;

interface Global {
  name: string;
  address: bigint;
  size: number;
}

function globalsOf(pid: number): Global[] {
  const binary = exePath(pid);
  const bias = loadBias(pid, binary);
  return nmSymbols(binary)
    .filter((s) => /^[dDbBrR]$/.test(s.type) && s.size !== undefined && s.size > 0 && !NOT_AN_ADDRESS.test(s.name))
    .map((s) => ({ name: s.name, address: s.address + bias, size: s.size! }));
}

const tick = () => new Promise<void>((r) => setImmediate(r));

describe.each(VARIANTS)('globals fixture, variant %s', (variant) => {
  let fx: RunningFixture;
  let target: Target;
  let readers: MemoryReader[];
  let globals: Global[];

  beforeAll(async () => {
    fx = await startFixture('globals', { variant });
    target = Target.attach(fx.pid);
    readers = [openMemory(target, { backend: 'vm-readv' }).reader, openMemory(target, { backend: 'proc-mem' }).reader];
    globals = globalsOf(fx.pid);
  });

  afterAll(async () => {
    for (const r of readers ?? []) r.close();
    target?.close();
    await fx?.stop();
  });

  it('reads every global through both backends without stopping the target, and gdb reads the same bytes', async () => {
    expect(globals.length).toBeGreaterThan(100);
    expect(globals.map((g) => g.name)).toEqual(expect.arrayContaining(['g_int', 'g_big_buffer', 'g_const_int', 'g_rect', 'g_progress']));
    const requests: ReadRequest[] = globals.map((g) => ({ address: g.address, length: g.size }));
    const progress = globals.find((g) => g.name === 'g_progress')!;

    const monitor = monitorNeverStopped(fx.pid);
    const last: Buffer[][] = []; // by index: static names repeat (s_same_name in two units)
    let reads = 0;
    const started = Date.now();
    const progressStart = readers[0].read(progress.address, 8).data.readBigUInt64LE(0);
    let threadChecks = 0;
    try {
      while (reads < 5000 || Date.now() - started < 1500) {
        const round: Buffer[][] = [];
        for (const reader of readers) {
          // One batch of every global, then every global on its own.
          const batch = reader.readMany(requests);
          const single = globals.map((g) => reader.read(g.address, g.size));
          reads += batch.length + single.length;
          for (const [i, r] of [...batch, ...single].entries()) {
            expect(r.unreadable, `${reader.kind} ${globals[i % globals.length].name}`).toEqual([]);
          }
          round.push(
            batch.map((r) => Buffer.from(r.data)),
            single.map((r) => r.data),
          );
        }
        globals.forEach((g, i) => {
          const views = round.map((set) => set[i]);
          if (!CHANGING.test(g.name)) {
            for (const v of views.slice(1)) expect(v.equals(views[0]), `${g.name}: backends disagree`).toBe(true);
          }
          last[i] = views;
        });
        for (const t of target.threads()) expect(t.state, `thread ${t.tid} (${t.name})`).not.toMatch(/^[Tt]$/);
        threadChecks++;
        await tick();
      }
    } finally {
      await monitor.stop(); // throws if TracerPid != 0, a thread stopped, or g_progress stalled
    }
    const progressEnd = readers[1].read(progress.address, 8).data.readBigUInt64LE(0);
    expect(progressEnd).toBeGreaterThan(progressStart);
    expect(reads).toBeGreaterThanOrEqual(5000);
    expect(threadChecks).toBeGreaterThan(0);

    // gdb phase: the target may stop now.
    const stable = [...globals.keys()].filter((i) => !CHANGING.test(globals[i].name));
    const fromGdb = await gdbReadMany(
      fx.pid,
      stable.map((i) => ({ address: globals[i].address, length: globals[i].size })),
    );
    stable.forEach((gi, k) => {
      const g = globals[gi];
      const want = fromGdb[k];
      if (want instanceof Error) throw new Error(`gdb could not read ${g.name}: ${want.message}`);
      for (const got of last[gi]) {
        if (!got.equals(want)) {
          expect(got.toString('hex'), `${g.name} @0x${g.address.toString(16)}`).toBe(want.toString('hex'));
        }
      }
    });
  });
});
