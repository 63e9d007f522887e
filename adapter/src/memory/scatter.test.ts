import { describe, expect, it } from 'vitest';
import { PidscopeError } from '../errors';
import { addHole, checkRequest, MAX_READ_LENGTH, readManyVia, scatter, type Piece, type ScatterHooks } from './scatter';
import type { AddressRange } from './reader';

const PAGE = 4096;

/**
 * A fake address space with the kernel's process_vm_readv semantics: pieces are copied in order,
 * the copy stops at the first byte whose page is unreadable, the result is the number of bytes
 * copied, or -EFAULT when that is zero.
 */
function fakeSpace(readablePages: Set<number>, maxPerCall = 1024) {
  const byteAt = (a: bigint) => Number(a % 251n);
  const calls: number[] = [];
  const hooks: ScatterHooks = {
    maxPerCall,
    pageSize: PAGE,
    transfer(pieces: Piece[], start: number, count: number) {
      calls.push(count);
      let copied = 0;
      for (let k = start; k < start + count; k++) {
        const p = pieces[k];
        for (let i = 0; i < p.length; i++) {
          const a = p.remote + BigInt(i);
          if (!readablePages.has(Number(a / BigInt(PAGE)))) return copied === 0 ? -14 : copied;
          p.buf[p.offset + i] = byteAt(a);
          copied++;
        }
      }
      return copied;
    },
    onStop() {},
  };
  return { hooks, calls, byteAt };
}

function run(pages: number[], reqs: { address: bigint; length: number }[], maxPerCall?: number) {
  const space = fakeSpace(new Set(pages), maxPerCall);
  const total = reqs.reduce((s, r) => s + r.length, 0);
  const arena = Buffer.alloc(total, 0xee);
  const holes: AddressRange[][] = reqs.map(() => []);
  const pieces: Piece[] = [];
  let off = 0;
  reqs.forEach((r, i) => {
    pieces.push({ remote: r.address, length: r.length, buf: arena, offset: off, owner: i });
    off += r.length;
  });
  scatter(pieces, space.hooks, holes);
  return { arena, holes, calls: space.calls, byteAt: space.byteAt };
}

describe('scatter (iovec splitting on partial transfers)', () => {
  it('reads everything in one call when all pages are readable', () => {
    const { arena, holes, calls, byteAt } = run([1, 2], [{ address: 0x1ff0n, length: 32 }]);
    expect(holes).toEqual([[]]);
    expect(calls).toEqual([1]);
    expect(arena[0]).toBe(byteAt(0x1ff0n));
    expect(arena[31]).toBe(byteAt(0x200fn));
  });

  it('marks the unreadable page inside a request, clipped to the request, and zeroes it', () => {
    // pages 1 and 3 readable, 2 not: request spans 1..3
    const { arena, holes } = run([1, 3], [{ address: 0x1ff0n, length: 0x1020 }]);
    expect(holes[0]).toEqual([{ start: 0x2000n, end: 0x3000n }]);
    expect(arena.subarray(0x10, 0x1010).every((b) => b === 0)).toBe(true);
    expect(arena[0x1010]).not.toBe(0xee);
  });

  it('clips holes at both ends of the request', () => {
    const { holes } = run([], [{ address: 0x2010n, length: 0x20 }]);
    expect(holes[0]).toEqual([{ start: 0x2010n, end: 0x2030n }]);
  });

  it('merges adjacent unreadable pages into one range', () => {
    const { holes, calls } = run([1, 5], [{ address: 0x1000n, length: 0x5000 }]);
    expect(holes[0]).toEqual([{ start: 0x2000n, end: 0x5000n }]);
    // the first call stops at page 2 (that stop is the hole), one call fails on each of pages 3
    // and 4, and one reads page 5
    expect(calls.length).toBe(4);
  });

  it('keeps scattered requests apart and resumes after the failing one', () => {
    const { holes, arena, byteAt } = run(
      [1, 4],
      [
        { address: 0x1000n, length: 8 },
        { address: 0x2000n, length: 8 },
        { address: 0x4000n, length: 8 },
        { address: 0x3ffcn, length: 8 },
      ],
    );
    expect(holes).toEqual([[], [{ start: 0x2000n, end: 0x2008n }], [], [{ start: 0x3ffcn, end: 0x4000n }]]);
    expect(arena[16]).toBe(byteAt(0x4000n));
    expect(arena[28]).toBe(byteAt(0x4000n));
  });

  it('splits batches at maxPerCall (IOV_MAX)', () => {
    const reqs = Array.from({ length: 2500 }, (_, i) => ({ address: 0x1000n + BigInt(i), length: 1 }));
    const { holes, calls } = run([1], reqs, 1024);
    expect(calls).toEqual([1024, 1024, 452]);
    expect(holes.every((h) => h.length === 0)).toBe(true);
  });

  it('lets onStop turn a stop into an error', () => {
    const space = fakeSpace(new Set());
    space.hooks.onStop = () => {
      throw new PidscopeError('ESRCH', 'gone', '', 'target');
    };
    expect(() => scatter([{ remote: 0n, length: 4, buf: Buffer.alloc(4), offset: 0, owner: 0 }], space.hooks, [[]])).toThrow('gone');
  });
});

describe('addHole', () => {
  it('merges touching ranges only', () => {
    const h: AddressRange[] = [];
    addHole(h, 0n, 10n);
    addHole(h, 10n, 20n);
    addHole(h, 30n, 40n);
    expect(h).toEqual([
      { start: 0n, end: 20n },
      { start: 30n, end: 40n },
    ]);
  });
});

describe('checkRequest', () => {
  it('accepts 0 and the cap, refuses more, negatives and overflow', () => {
    expect(() => checkRequest(0n, 0)).not.toThrow();
    expect(() => checkRequest(0x1000n, MAX_READ_LENGTH)).not.toThrow();
    expect(() => checkRequest(0x1000n, MAX_READ_LENGTH + 1)).toThrow(/256 MiB/);
    expect(() => checkRequest(0x1000n, -1)).toThrow(/non-negative/);
    expect(() => checkRequest(0x1000n, 1.5)).toThrow(/non-negative/);
    expect(() => checkRequest(-1n, 1)).toThrow(/address space/);
    expect(() => checkRequest(0xfffffffffffffff8n, 16)).toThrow(/past the end/);
    expect(() => checkRequest(0xfffffffffffffff8n, 8)).not.toThrow();
  });
});

describe('readManyVia (ranges sharing pages are read as one span)', () => {
  /** Reference answer: each request on its own through scatter(). */
  function oneByOne(pages: number[], reqs: { address: bigint; length: number }[]) {
    return reqs.map((r) => {
      const { arena, holes } = run(pages, [r]);
      return { data: arena, unreadable: holes[0] };
    });
  }

  function check(pages: number[], reqs: { address: bigint; length: number }[]) {
    const space = fakeSpace(new Set(pages));
    const got = readManyVia(reqs, space.hooks);
    const want = oneByOne(pages, reqs);
    got.forEach((g, i) => {
      expect(g.address).toBe(reqs[i].address);
      expect(g.unreadable, `request ${i}`).toEqual(want[i].unreadable);
      expect(Buffer.compare(g.data, want[i].data), `request ${i} bytes`).toBe(0);
    });
    return { got, calls: space.calls };
  }

  it('merges ranges on the same page into one transfer entry, overlaps included', () => {
    const reqs = [
      { address: 0x1010n, length: 8 },
      { address: 0x1010n, length: 4 },
      { address: 0x1100n, length: 8 },
      { address: 0x1ff8n, length: 16 }, // runs onto page 2
      { address: 0x2004n, length: 4 }, // page 2, already touched by the previous one
      { address: 0x5000n, length: 8 }, // alone
      { address: 0x1000n, length: 0 },
    ];
    const { calls } = check([1, 2, 5], reqs);
    // spans: 0x1010..0x1108 (three requests), 0x1ff8..0x2008 (two), 0x5000..0x5008 — one call
    expect(calls).toEqual([3]);
  });

  it('keeps holes page-granular and clipped to each request', () => {
    const reqs = [
      { address: 0x1ff0n, length: 0x20 }, // page 1 readable, page 2 not
      { address: 0x2010n, length: 8 }, // inside the hole
      { address: 0x2ff8n, length: 0x10 }, // end of page 2 (hole) into page 3 (readable)
      { address: 0x3008n, length: 8 },
    ];
    const { got } = check([1, 3], reqs);
    expect(got[0].unreadable).toEqual([{ start: 0x2000n, end: 0x2010n }]);
    expect(got[1].unreadable).toEqual([{ start: 0x2010n, end: 0x2018n }]);
    expect(got[2].unreadable).toEqual([{ start: 0x2ff8n, end: 0x3000n }]);
    expect(got[3].unreadable).toEqual([]);
  });

  it('does not merge ranges given out of address order', () => {
    const reqs = [0x1100n, 0x1010n, 0x1020n].map((address) => ({ address, length: 8 }));
    const { calls } = check([1], reqs);
    expect(calls).toEqual([3]);
  });

  it('does not merge ranges on different pages (reads straight into the results)', () => {
    const reqs = [0x1000n, 0x3000n, 0x2000n].map((address) => ({ address, length: 8 }));
    const { calls } = check([1, 2, 3], reqs);
    expect(calls).toEqual([3]);
  });

  it('matches one-by-one reads on random workloads', () => {
    let seed = 7;
    const rnd = (m: number) => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % m;
    for (let round = 0; round < 50; round++) {
      const pages = Array.from({ length: 12 }, (_, i) => i).filter(() => rnd(3) !== 0);
      const reqs = Array.from({ length: 1 + rnd(40) }, () => ({ address: BigInt(rnd(12 * PAGE)), length: rnd(3) === 0 ? rnd(3 * PAGE) : rnd(16) }));
      check(pages, reqs);
      check(
        pages,
        [...reqs].sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0)),
      );
    }
  });
});
