/**
 * The memory the live view reads through: a block cache over the real MemoryReader that turns
 * "everything the client shows" into one batched read.
 *
 * Every read is served from 4 KiB blocks. The blocks touched since the last refresh are what the
 * client shows (variables, watches, open memory views). `refill()` re-reads all of them with a
 * single `readMany` — one consistent snapshot per refresh tick, which is also what a frozen view
 * keeps. Blocks first touched while frozen are read once and then stay frozen too.
 *
 * Only memory layout logic lives here (no syscalls): the backend underneath decides how bytes are
 * fetched (pidfd-mem, process_vm_readv or /proc/PID/mem).
 */
import type { AddressRange, BackendKind, MemoryReader, ReadRequest, ReadResult } from '../memory/reader';

export const BLOCK = 4096;
const B = BigInt(BLOCK);
/** Reads larger than this bypass the cache (a huge readMemory must not evict the view). */
const MAX_CACHED_READ = 1 << 20;
/** At most this many blocks are remembered as "shown" (16 MiB re-read per refresh at most); the oldest are forgotten first. */
const MAX_TOUCHED = 4096;
const TOP = 1n << 64n;

interface Block {
  data: Buffer;
  unreadable: AddressRange[];
}

export class ViewMemory implements MemoryReader {
  private readonly cache = new Map<bigint, Block>();
  private readonly touched = new Set<bigint>();
  /** Calls into the underlying reader (reads and readMany each count one), for tests and benches. */
  backendCalls = 0;

  constructor(private readonly base: MemoryReader) {}

  get kind(): BackendKind {
    return this.base.kind;
  }

  get writable(): boolean {
    return this.base.writable;
  }

  get touchedBlocks(): number {
    return this.touched.size;
  }

  /** Forgets the cached bytes: the next reads go to the target (live reads). */
  clear(): void {
    this.cache.clear();
  }

  /** Forgets what was shown (after an `invalidated`, the client re-requests what it still shows). */
  forgetTouched(): void {
    this.touched.clear();
  }

  /**
   * Re-reads every block the client shows in one batched read and makes that the cached view.
   * Returns the number of blocks read.
   */
  refill(): number {
    const bases = [...this.touched];
    this.cache.clear();
    if (bases.length) this.fetch(bases);
    return bases.length;
  }

  read(address: bigint, length: number): ReadResult {
    return this.readMany([{ address, length }])[0];
  }

  readMany(requests: ReadRequest[]): ReadResult[] {
    const missing = new Set<bigint>();
    for (const r of requests) {
      if (r.length <= 0 || r.length > MAX_CACHED_READ) continue;
      for (const b of blocksOf(r.address, r.length)) {
        this.touch(b);
        if (!this.cache.has(b)) missing.add(b);
      }
    }
    if (missing.size) this.fetch([...missing]);
    return requests.map((r) => this.assemble(r));
  }

  write(address: bigint, data: Uint8Array): number {
    const n = this.base.write(address, data);
    // The next view of these bytes must show what the target now holds.
    for (const b of blocksOf(address, data.length)) this.cache.delete(b);
    return n;
  }

  close(): void {
    // The owner of the base reader closes it (the Program that opened it).
    this.cache.clear();
  }

  private touch(b: bigint): void {
    if (this.touched.has(b)) return;
    if (this.touched.size >= MAX_TOUCHED) {
      const oldest = this.touched.values().next().value;
      if (oldest !== undefined) this.touched.delete(oldest);
    }
    this.touched.add(b);
  }

  private fetch(bases: bigint[]): void {
    this.backendCalls++;
    const results = this.base.readMany(bases.map((address) => ({ address, length: blockLength(address) })));
    results.forEach((r, i) => this.cache.set(bases[i], { data: r.data, unreadable: r.unreadable }));
  }

  private assemble(r: ReadRequest): ReadResult {
    if (r.length <= 0) return { address: r.address, data: Buffer.alloc(0), unreadable: [] };
    if (r.length > MAX_CACHED_READ) {
      this.backendCalls++;
      return this.base.read(r.address, r.length);
    }
    const out = Buffer.alloc(r.length);
    const unreadable: AddressRange[] = [];
    const end = r.address + BigInt(r.length);
    for (const b of blocksOf(r.address, r.length)) {
      const blk = this.cache.get(b);
      if (!blk) continue; // cannot happen: fetched above
      const from = r.address > b ? r.address : b;
      const blkEnd = b + BigInt(blk.data.length);
      const to = end < blkEnd ? end : blkEnd;
      blk.data.copy(out, Number(from - r.address), Number(from - b), Number(to - b));
      for (const u of blk.unreadable) {
        const s = u.start > from ? u.start : from;
        const e = u.end < to ? u.end : to;
        if (s >= e) continue;
        const last = unreadable[unreadable.length - 1];
        if (last && last.end === s) last.end = e;
        else unreadable.push({ start: s, end: e });
      }
    }
    return { address: r.address, data: out, unreadable };
  }
}

function blockLength(base: bigint): number {
  return TOP - base < B ? Number(TOP - base) : BLOCK;
}

function* blocksOf(address: bigint, length: number): Generator<bigint> {
  const end = address + BigInt(length);
  for (let b = address - (address % B); b < end && b < TOP; b += B) yield b;
}
