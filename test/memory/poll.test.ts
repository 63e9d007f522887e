/**
 * pollInto against real memory of this very process (a mapping with a hole), through every
 * backend this kernel has: the bytes land at the set's offsets in the caller's array, a range
 * touching the hole is marked and reads as zeros there, and a second poll of the same set sees
 * a change made between the two.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Target } from '../../adapter/src/engine/target';
import { PAGE_SIZE } from '../../adapter/src/linux/libc';
import { MAP_ANONYMOUS, MAP_PRIVATE, mmap, munmap, PROT_READ, PROT_WRITE, viewOf, type Mapping } from '../../adapter/src/linux/mmap';
import { createPollSet, pollInto } from '../../adapter/src/memory/poll';
import type { MemoryReader } from '../../adapter/src/memory/reader';
import { openMemory } from '../../adapter/src/memory/select';

const P = BigInt(PAGE_SIZE);
let target: Target;
let map: Mapping;
let base: bigint;
let first: Buffer;

beforeAll(() => {
  target = Target.attach(process.pid);
  map = mmap(PAGE_SIZE * 3, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0n);
  base = map.address;
  first = Buffer.from(viewOf(map, 0, PAGE_SIZE).buffer, viewOf(map, 0, PAGE_SIZE).byteOffset, PAGE_SIZE);
  for (let i = 0; i < PAGE_SIZE; i++) first[i] = (i * 7) & 0xff;
});

afterAll(() => {
  munmap(base, map.length);
  target.close();
});

/**
 * Three pages, the first patterned, the middle one unmapped. Made inside a test, after the reader
 * is open: a hole made earlier can be filled by a mapping the reader makes for itself (pidfd-mem's
 * status page is one page), and then it is no hole.
 */
function regionWithHole(): { base: bigint; first: Buffer; release: () => void } {
  const m = mmap(PAGE_SIZE * 3, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0n);
  const page = viewOf(m, 0, PAGE_SIZE);
  const bytes = Buffer.from(page.buffer, page.byteOffset, PAGE_SIZE);
  for (let i = 0; i < PAGE_SIZE; i++) bytes[i] = (i * 7) & 0xff;
  munmap(m.address + P, PAGE_SIZE);
  return {
    base: m.address,
    first: bytes,
    release: () => {
      munmap(m.address, PAGE_SIZE);
      munmap(m.address + 2n * P, PAGE_SIZE);
    },
  };
}

describe.each(['pidfd-mem', 'vm-readv', 'proc-mem'] as const)('pollInto through %s', (backend) => {
  let reader: MemoryReader | undefined;
  let skipped = '';
  beforeAll(() => {
    try {
      reader = openMemory(target, { backend }).reader;
    } catch (e) {
      skipped = (e as Error).message;
      console.log(`SKIP pollInto through ${backend}: ${skipped}`);
    }
  });
  afterAll(() => reader?.close());

  it('reads many ranges into one array, marks the ones that touch a hole, sees changes', (ctx) => {
    if (!reader) return ctx.skip();
    const { base, first, release } = regionWithHole();
    try {
      const set = createPollSet([
        { address: base + 8n, length: 8 },
        { address: base + 100n, length: 3 },
        { address: base + P - 4n, length: 8 }, // ends in the hole
        { address: base + 1000n, length: 0 },
        { address: base + 2000n, length: 40 },
      ]);
      expect(Array.from(set.offsets)).toEqual([0, 8, 11, 19, 19]);
      const bytes = new Uint8Array(set.totalLength).fill(0xee);
      const bad = new Uint8Array(set.count).fill(9);
      expect(pollInto(reader, set, bytes, bad)).toBe(1);
      expect(Array.from(bad)).toEqual([0, 0, 1, 0, 0]);
      const want = (off: number, len: number) => Array.from(first.subarray(off, off + len));
      expect(Array.from(bytes.subarray(0, 8))).toEqual(want(8, 8));
      expect(Array.from(bytes.subarray(8, 11))).toEqual(want(100, 3));
      expect(Array.from(bytes.subarray(11, 15))).toEqual(want(PAGE_SIZE - 4, 4));
      expect(Array.from(bytes.subarray(15, 19))).toEqual([0, 0, 0, 0]);
      expect(Array.from(bytes.subarray(19, 59))).toEqual(want(2000, 40));
      first[9] = 0x42;
      pollInto(reader, set, bytes, bad);
      expect(bytes[1]).toBe(0x42);
    } finally {
      release();
    }
  });

  it('a set with every range readable: one pass, nothing marked, changes seen, a new array honoured', (ctx) => {
    if (!reader) return ctx.skip();
    const set = createPollSet(Array.from({ length: 300 }, (_, i) => ({ address: base + BigInt(i * 13), length: 1 + (i % 9) })));
    const want = new Uint8Array(set.totalLength);
    for (let i = 0; i < set.count; i++) want.set(first.subarray(i * 13, i * 13 + set.lengths[i]), set.offsets[i]);
    const bytes = new Uint8Array(set.totalLength);
    const bad = new Uint8Array(set.count).fill(7);
    expect(pollInto(reader, set, bytes, bad)).toBe(0);
    expect(bad.every((b) => b === 0)).toBe(true);
    expect(Array.from(bytes)).toEqual(Array.from(want));
    first[13 * 5] ^= 0xff;
    want[set.offsets[5]] ^= 0xff;
    const other = Buffer.alloc(set.totalLength);
    expect(pollInto(reader, set, other, bad)).toBe(0);
    expect(Array.from(other)).toEqual(Array.from(want));
  });

  it('ranges of every size and alignment, across a 2 MiB boundary, land exactly in aligned and unaligned arrays', (ctx) => {
    if (!reader) return ctx.skip();
    // pidfd-mem mirrors memory in 2 MiB windows and copies words where it can: a range that
    // crosses a window, and every mix of alignments, must still give the plain bytes.
    const big = mmap(4 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0n);
    try {
      const W = 2n << 20n;
      const boundary = ((big.address + 8192n + W - 1n) / W) * W;
      const at = Number(boundary - big.address);
      const local = viewOf(big, at - 8192, 16384);
      for (let i = 0; i < local.length; i++) local[i] = (i * 31 + 7) & 0xff;
      const requests = [];
      for (const len of [1, 3, 4, 8, 12, 16, 17, 40, 5000]) {
        for (const off of [-5000, -17, -8, -4, -3, 0, 1, 4, 8]) requests.push({ address: boundary + BigInt(off), length: len });
      }
      const set = createPollSet(requests);
      const want = new Uint8Array(set.totalLength);
      requests.forEach((r, i) => {
        const from = 8192 + Number(r.address - boundary);
        want.set(local.subarray(from, from + r.length), set.offsets[i]);
      });
      for (const shift of [0, 1, 2, 4]) {
        const bytes = new Uint8Array(new ArrayBuffer(set.totalLength + 8), shift, set.totalLength);
        const bad = new Uint8Array(set.count);
        expect(pollInto(reader, set, bytes, bad)).toBe(0);
        expect(Buffer.compare(Buffer.from(bytes), Buffer.from(want)), `array at byte offset ${shift}`).toBe(0);
      }
      const many = reader.readMany(requests);
      requests.forEach((r, i) => expect(Buffer.compare(many[i].data, Buffer.from(want.subarray(set.offsets[i], set.offsets[i] + r.length)))).toBe(0));
      for (const r of requests.slice(0, 20)) expect(reader.read(r.address, r.length).unreadable).toEqual([]);
    } finally {
      munmap(big.address, big.length);
    }
  });

  it('refuses arrays too small for the set', (ctx) => {
    if (!reader) return ctx.skip();
    const set = createPollSet([{ address: base, length: 16 }]);
    expect(() => pollInto(reader!, set, new Uint8Array(8), new Uint8Array(1))).toThrow(/holds 8 bytes, the set needs 16/);
    expect(() => pollInto(reader!, set, new Uint8Array(16), new Uint8Array(0))).toThrow(/1 ranges/);
  });
});
