/**
 * The memory the live view reads through: a block cache over the real MemoryReader that turns
 * "everything the client shows" into one batched read.
 *
 * Every read is served from 4 KiB blocks. The blocks touched since the last refresh are what the
 * client shows (variables, watches, open memory views). `refill()` re-reads all of them with a
 * single `pollInto` (memory/poll.ts) into one array this class owns — one consistent snapshot per
 * refresh tick, which is also what a frozen view keeps; while the client shows the same blocks,
 * a tick allocates nothing per block and pidfd-mem serves it as plain loads from its mapping.
 * Blocks first touched while frozen are read once and then stay frozen too.
 *
 * Only memory layout logic lives here (no syscalls): the backend underneath decides how bytes are
 * fetched (pidfd-mem, process_vm_readv or /proc/PID/mem).
 */
import { createPollSet, pollInto, type PollSet } from '../memory/poll';
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

/** What refill() polls: the touched blocks at the time, their bytes, and a Block per base viewing them. */
interface Poll {
  bases: bigint[];
  set: PollSet;
  bytes: Uint8Array;
  bad: Uint8Array;
  blocks: Block[];
}

export class ViewMemory implements MemoryReader {
  private readonly cache = new Map<bigint, Block>();
  private readonly touched = new Set<bigint>();
  /** Kept from one refill to the next while the touched blocks stay the same (the usual tick). */
  private poll: Poll | undefined;
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
    this.cache.clear();
    if (this.touched.size === 0) return 0;
    const p = this.pollFor();
    this.backendCalls++;
    pollInto(this.base, p.set, p.bytes, p.bad);
    for (let i = 0; i < p.bases.length; i++) {
      // A block lies inside one page, so a mark usually means the whole block is a hole; the
      // exact read says which bytes (rare: guard pages, unmapped neighbours).
      this.cache.set(p.bases[i], p.bad[i] ? this.exact(p.bases[i]) : p.blocks[i]);
    }
    return p.bases.length;
  }

  /** The poll of the touched blocks: the previous one if they are the same blocks, else a new one. */
  private pollFor(): Poll {
    const prev = this.poll;
    if (prev && sameOrder(prev.bases, this.touched)) return prev;
    const bases = [...this.touched];
    const set = createPollSet(bases.map((address) => ({ address, length: blockLength(address) })));
    const bytes = new Uint8Array(set.totalLength);
    const blocks = bases.map((_, i) => ({
      data: Buffer.from(bytes.buffer, bytes.byteOffset + set.offsets[i], set.lengths[i]),
      unreadable: [] as AddressRange[],
    }));
    this.poll = { bases, set, bytes, bad: new Uint8Array(set.count), blocks };
    return this.poll;
  }

  private exact(base: bigint): Block {
    this.backendCalls++;
    const r = this.base.read(base, blockLength(base));
    return { data: r.data, unreadable: r.unreadable };
  }

  read(address: bigint, length: number): ReadResult {
    // Most reads are one value inside one block (a variables page reads 1,000 of them, a
    // refresh tick re-renders them all): no request arrays, block sets or generators for those.
    const b = address - (address % B);
    if (length > 0 && address + BigInt(length) <= b + B) {
      this.touch(b);
      if (!this.cache.has(b)) this.fetch([b]);
      const out = Buffer.alloc(length);
      const unreadable: AddressRange[] = [];
      this.copyBlock(b, address, address + BigInt(length), out, unreadable);
      return { address, data: out, unreadable };
    }
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
    for (const b of blocksOf(r.address, r.length)) this.copyBlock(b, r.address, end, out, unreadable);
    return { address: r.address, data: out, unreadable };
  }

  /** Copies the part of [address, end) inside cached block `b` into `out` (out[0] is `address`), adding its holes. */
  private copyBlock(b: bigint, address: bigint, end: bigint, out: Buffer, unreadable: AddressRange[]): void {
    const blk = this.cache.get(b);
    if (!blk) return; // cannot happen: fetched before
    const from = address > b ? address : b;
    const blkEnd = b + BigInt(blk.data.length);
    const to = end < blkEnd ? end : blkEnd;
    blk.data.copy(out, Number(from - address), Number(from - b), Number(to - b));
    for (const u of blk.unreadable) {
      const s = u.start > from ? u.start : from;
      const e = u.end < to ? u.end : to;
      if (s >= e) continue;
      const last = unreadable[unreadable.length - 1];
      if (last && last.end === s) last.end = e;
      else unreadable.push({ start: s, end: e });
    }
  }
}

function sameOrder(list: readonly bigint[], set: ReadonlySet<bigint>): boolean {
  if (list.length !== set.size) return false;
  let i = 0;
  for (const b of set) if (list[i++] !== b) return false;
  return true;
}

function blockLength(base: bigint): number {
  return TOP - base < B ? Number(TOP - base) : BLOCK;
}

function* blocksOf(address: bigint, length: number): Generator<bigint> {
  const end = address + BigInt(length);
  for (let b = address - (address % B); b < end && b < TOP; b += B) yield b;
}
