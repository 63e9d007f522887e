/**
 * Both syscall backends against real memory of this very process: an anonymous mapping with a
 * hole punched in it (munmap of the middle page). Same semantics expected from each.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Target } from '../../adapter/src/engine/target';
import { PAGE_SIZE } from '../../adapter/src/linux/libc';
import { MAP_ANONYMOUS, MAP_PRIVATE, mmap, munmap, PROT_READ, PROT_WRITE, viewOf, type Mapping } from '../../adapter/src/linux/mmap';
import { openMemory } from '../../adapter/src/memory/select';
import type { MemoryReader } from '../../adapter/src/memory/reader';
import { MAX_READ_LENGTH } from '../../adapter/src/memory/scatter';

const P = BigInt(PAGE_SIZE);
let target: Target;
let map: Mapping;
let base: bigint;

beforeAll(() => {
  target = Target.attach(process.pid);
  map = mmap(PAGE_SIZE * 3, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0n);
  base = map.address;
  const first = viewOf(map, 0, PAGE_SIZE);
  const last = viewOf(map, PAGE_SIZE * 2, PAGE_SIZE);
  for (let i = 0; i < PAGE_SIZE; i++) {
    first[i] = (i * 7) & 0xff;
    last[i] = (i * 13 + 1) & 0xff;
  }
  munmap(base + P, PAGE_SIZE); // page 1 becomes a hole; no view of it is kept
});

afterAll(() => {
  munmap(base, PAGE_SIZE);
  munmap(base + 2n * P, PAGE_SIZE);
  target.close();
});

function expected(addr: bigint): number | undefined {
  const off = Number(addr - base);
  if (off < PAGE_SIZE) return (off * 7) & 0xff;
  if (off < 2 * PAGE_SIZE) return undefined;
  return ((off - 2 * PAGE_SIZE) * 13 + 1) & 0xff;
}

describe.each(['vm-readv', 'proc-mem'] as const)('%s reader on this process', (backend) => {
  let reader: MemoryReader;
  beforeAll(() => {
    const opened = openMemory(target, { backend });
    expect(opened.chosen).toBe(backend);
    reader = opened.reader;
  });
  afterAll(() => reader.close());

  it('reads a readable range exactly', () => {
    const r = reader.read(base + 10n, 100);
    expect(r.unreadable).toEqual([]);
    for (let i = 0; i < 100; i++) expect(r.data[i]).toBe(expected(base + 10n + BigInt(i)));
  });

  it('reports the hole page-granular, clipped, and zero-filled, and reads around it', () => {
    const start = base + P - 16n;
    const r = reader.read(start, PAGE_SIZE + 32);
    expect(r.unreadable).toEqual([{ start: base + P, end: base + 2n * P }]);
    expect(r.data.length).toBe(PAGE_SIZE + 32);
    for (let i = 0; i < r.data.length; i++) expect(r.data[i]).toBe(expected(start + BigInt(i)) ?? 0);
  });

  it('clips a hole to a request that starts inside it', () => {
    const r = reader.read(base + P + 100n, 8);
    expect(r.unreadable).toEqual([{ start: base + P + 100n, end: base + P + 108n }]);
    expect([...r.data]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('readMany: scattered ranges, some unreadable, in one batch', () => {
    const reqs = Array.from({ length: 1500 }, (_, i) => ({ address: base + BigInt((i * 37) % (3 * PAGE_SIZE - 8)), length: 8 }));
    reqs.push({ address: base, length: 0 });
    const results = reader.readMany(reqs);
    expect(results).toHaveLength(reqs.length);
    results.forEach((r, i) => {
      expect(r.address).toBe(reqs[i].address);
      expect(r.data.length).toBe(reqs[i].length);
      for (let k = 0; k < r.data.length; k++) {
        const a = r.address + BigInt(k);
        const want = expected(a);
        expect(r.data[k]).toBe(want ?? 0);
        expect(r.unreadable.some((h) => a >= h.start && a < h.end)).toBe(want === undefined);
      }
    });
  });

  it('length 0 gives empty data; huge lengths are refused with the cap named', () => {
    expect(reader.read(base, 0)).toEqual({ address: base, data: Buffer.alloc(0), unreadable: [] });
    expect(() => reader.read(base, MAX_READ_LENGTH + 1)).toThrow(/256 MiB/);
    expect(() => reader.read(base, 4 * 1024 ** 3)).toThrow(/256 MiB/);
  });

  it('an address in no mapping is unreadable, not an error', () => {
    expect(reader.read(16n, 8).unreadable).toEqual([{ start: 16n, end: 24n }]);
    expect(reader.read(0xffff800000000000n, 8).unreadable).toEqual([{ start: 0xffff800000000000n, end: 0xffff800000000008n }]);
  });

  it('refuses to write unless writes were allowed', () => {
    expect(reader.writable).toBe(false);
    expect(() => reader.write(base, Buffer.from([1]))).toThrow(/read-only by default/);
  });

  it('writes when allowed, and fails clearly on a hole', () => {
    const w = openMemory(target, { backend, allowWrites: true }).reader;
    try {
      expect(w.writable).toBe(true);
      expect(w.write(base + 2n * P + 5n, Buffer.from([0xde, 0xad]))).toBe(2);
      expect([...reader.read(base + 2n * P + 5n, 2).data]).toEqual([0xde, 0xad]);
      expect(() => w.write(base + P, Buffer.from([1, 2, 3]))).toThrow(/Cannot access memory at address/);
    } finally {
      w.close();
    }
    const back = openMemory(target, { backend, allowWrites: true }).reader;
    back.write(base + 2n * P + 5n, Buffer.from([expected(base + 2n * P + 5n)!, expected(base + 2n * P + 6n)!]));
    back.close();
  });
});

describe('openMemory in auto mode', () => {
  it('a backend whose probe throws is reported and skipped, not fatal', async () => {
    const { CANDIDATES } = await import('../../adapter/src/memory/select');
    const broken = {
      kind: 'pidfd-mem' as const,
      strength: 'test',
      probe: () => {
        throw new Error('boom');
      },
    };
    const m = openMemory(target, { candidates: [broken, ...CANDIDATES.filter((c) => c.kind !== 'pidfd-mem')] });
    try {
      expect(m.chosen).toBe('vm-readv');
      expect(m.reasons[0]).toBe('pidfd-mem: unavailable (its probe failed: boom)');
    } finally {
      m.reader.close();
    }
  });
});
