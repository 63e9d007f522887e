import { describe, expect, it } from 'vitest';
import { pollViaReadMany, type PollSet } from '../memory/poll';
import type { MemoryReader, ReadRequest, ReadResult } from '../memory/reader';
import { LiveView } from './liveView';
import { BLOCK, ViewMemory } from './viewMemory';

/** A buffer standing in for a target's address space at `base`, with one unreadable page. */
class BufferMemory implements MemoryReader {
  readonly kind = 'proc-mem' as const;
  writable = true;
  calls = 0;
  constructor(
    readonly base: bigint,
    readonly bytes: Buffer,
    readonly holeAt?: bigint,
  ) {}
  read(address: bigint, length: number): ReadResult {
    const data = Buffer.alloc(length);
    const unreadable: ReadResult['unreadable'] = [];
    for (let i = 0; i < length; i++) {
      const a = address + BigInt(i);
      const inHole = this.holeAt !== undefined && a >= this.holeAt && a < this.holeAt + BigInt(BLOCK);
      const off = Number(a - this.base);
      if (inHole || off < 0 || off >= this.bytes.length) {
        const last = unreadable[unreadable.length - 1];
        if (last && last.end === a) last.end = a + 1n;
        else unreadable.push({ start: a, end: a + 1n });
      } else data[i] = this.bytes[off];
    }
    return { address, data, unreadable };
  }
  readMany(requests: ReadRequest[]): ReadResult[] {
    this.calls++;
    return requests.map((r) => this.read(r.address, r.length));
  }
  /** Every pollInto call: the set and the array it filled. */
  polls: Array<{ set: PollSet; into: Uint8Array }> = [];
  pollInto(set: PollSet, into: Uint8Array, bad: Uint8Array): number {
    this.polls.push({ set, into });
    return pollViaReadMany(this, set, into, bad);
  }
  write(address: bigint, data: Uint8Array): number {
    Buffer.from(data).copy(this.bytes, Number(address - this.base));
    return data.length;
  }
  close(): void {}
}

const BASE = 0x10000n;

function setup() {
  const bytes = Buffer.alloc(4 * BLOCK);
  for (let i = 0; i < bytes.length; i++) bytes[i] = i & 0xff;
  const mem = new BufferMemory(BASE, bytes, BASE + 3n * BigInt(BLOCK));
  return { mem, bytes, view: new ViewMemory(mem) };
}

describe('ViewMemory', () => {
  it('serves reads across blocks from one batched read and reports unreadable bytes', () => {
    const { mem, view } = setup();
    const r = view.read(BASE + 4000n, 9000);
    expect(mem.calls).toBe(1);
    expect(r.data[0]).toBe(4000 & 0xff);
    expect(r.unreadable).toEqual([{ start: BASE + 3n * BigInt(BLOCK), end: BASE + 4000n + 9000n }]);
    view.read(BASE + 4100n, 4);
    expect(mem.calls).toBe(1); // cached
  });

  it('refill re-reads everything shown in one call; frozen bytes stay until refilled', () => {
    const { mem, bytes, view } = setup();
    view.read(BASE, 4);
    view.read(BASE + BigInt(BLOCK) + 10n, 4);
    bytes[0] = 0xaa;
    expect(view.read(BASE, 1).data[0]).toBe(0); // the snapshot
    const calls = mem.calls;
    expect(view.refill()).toBe(2);
    expect(mem.calls).toBe(calls + 1);
    expect(view.read(BASE, 1).data[0]).toBe(0xaa);
  });

  it('refill polls every shown block into one array, kept while the same blocks are shown; holes stay exact', () => {
    const { mem, bytes, view } = setup();
    view.read(BASE + 10n, 4);
    view.read(BASE + 3n * BigInt(BLOCK) - 2n, 4); // ends in the unreadable block: blocks 0, 2, 3
    expect(view.refill()).toBe(3);
    bytes[10] = 0x5a;
    expect(view.refill()).toBe(3);
    expect(mem.polls).toHaveLength(2);
    expect(mem.polls[1].set).toBe(mem.polls[0].set);
    expect(mem.polls[1].into).toBe(mem.polls[0].into);
    expect(mem.polls[0].set.count).toBe(3);
    expect(view.read(BASE + 10n, 1).data[0]).toBe(0x5a);
    const r = view.read(BASE + 3n * BigInt(BLOCK) - 2n, 4);
    expect([...r.data]).toEqual([bytes[3 * BLOCK - 2], bytes[3 * BLOCK - 1], 0, 0]);
    expect(r.unreadable).toEqual([{ start: BASE + 3n * BigInt(BLOCK), end: BASE + 3n * BigInt(BLOCK) + 2n }]);
    view.read(BASE + BigInt(BLOCK), 1); // one more block shown: a new set
    view.refill();
    expect(mem.polls[2].set).not.toBe(mem.polls[0].set);
    expect(mem.polls[2].set.count).toBe(4);
  });

  it('drops written blocks so the next read shows the new bytes', () => {
    const { view } = setup();
    expect(view.read(BASE + 5n, 1).data[0]).toBe(5);
    view.write(BASE + 5n, Uint8Array.of(0x77));
    expect(view.read(BASE + 5n, 1).data[0]).toBe(0x77);
  });
});

describe('LiveView', () => {
  it('reports a change once, then waits for the client to fetch again', () => {
    const { bytes, view } = setup();
    const live = new LiveView({ memory: view, canInvalidate: true, canMemoryEvent: true });
    const render = () => String(view.read(BASE, 1).data[0]);
    live.track('v|1', render(), render);
    expect(live.tick().variablesChanged).toBe(false);
    bytes[0] = 9;
    expect(live.tick().variablesChanged).toBe(true);
    bytes[0] = 10;
    expect(live.tick().variablesChanged).toBe(false); // nothing tracked until the client re-fetches
    live.track('v|2', render(), render);
    bytes[0] = 11;
    expect(live.tick().variablesChanged).toBe(true);
  });

  it('sends memory changes for tracked ranges, once until re-read', () => {
    const { bytes, view } = setup();
    const live = new LiveView({ memory: view, canInvalidate: true, canMemoryEvent: true });
    live.trackMemory(BASE + 16n, 16, view.read(BASE + 16n, 16).data);
    bytes[20] = 0xee;
    expect(live.tick().memoryChanged).toEqual([{ address: BASE + 16n, count: 16 }]);
    bytes[21] = 0xee;
    expect(live.tick().memoryChanged).toEqual([]);
    live.trackMemory(BASE + 16n, 16, view.read(BASE + 16n, 16).data);
    bytes[22] = 0xee;
    expect(live.tick().memoryChanged).toHaveLength(1);
  });

  it('a frozen view does not refresh', () => {
    const { bytes, view } = setup();
    const live = new LiveView({ memory: view, canInvalidate: true, canMemoryEvent: false });
    const render = () => String(view.read(BASE, 1).data[0]);
    live.track('v|1', render(), render);
    live.freeze();
    bytes[0] = 42;
    expect(live.tick().variablesChanged).toBe(false);
    expect(render()).toBe('0');
    live.resume();
    expect(render()).toBe('42');
  });

  it('without client support nothing is tracked', () => {
    const { view } = setup();
    const live = new LiveView({ memory: view, canInvalidate: false, canMemoryEvent: false });
    live.track('v|1', 'x', () => 'y');
    expect(live.trackedCount).toBe(0);
  });
});
