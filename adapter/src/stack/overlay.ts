/**
 * A MemoryReader that answers from a perf sample's copy of the stack where it has one (taken at
 * the same instant as the registers) and from the live process elsewhere.
 */
import type { MemoryReader, ReadRequest, ReadResult } from '../memory/reader';
import { ByteSource } from '../value/object';

export class StackOverlayReader implements MemoryReader {
  readonly writable = false;
  constructor(
    private readonly inner: MemoryReader,
    private readonly base: bigint,
    private readonly copy: Buffer,
  ) {}

  get kind() {
    return this.inner.kind;
  }

  read(address: bigint, length: number): ReadResult {
    const end = address + BigInt(length);
    const cEnd = this.base + BigInt(this.copy.length);
    if (address >= this.base && end <= cEnd) {
      const off = Number(address - this.base);
      return { address, data: Buffer.from(this.copy.subarray(off, off + length)), unreadable: [] };
    }
    const r = this.inner.read(address, length);
    if (end > this.base && address < cEnd) {
      const s = address > this.base ? address : this.base;
      const e = end < cEnd ? end : cEnd;
      this.copy.copy(r.data, Number(s - address), Number(s - this.base), Number(e - this.base));
      r.unreadable = r.unreadable.filter((u) => u.start < s || u.end > e);
    }
    return r;
  }

  readMany(requests: ReadRequest[]): ReadResult[] {
    return requests.map((q) => this.read(q.address, q.length));
  }

  write(): number {
    throw new Error('a stack snapshot is read-only');
  }

  close(): void {
    /* the inner reader belongs to the Program */
  }
}

/**
 * A MemoryReader answering from a block cache: everything read for one thread's stack (frames,
 * arguments, locals) comes from one view, read once, and repeated reads cost no system call.
 */
export class CachedReader implements MemoryReader {
  readonly writable = false;
  private readonly src: ByteSource;
  constructor(private readonly inner: MemoryReader) {
    this.src = new ByteSource(inner);
  }

  get kind() {
    return this.inner.kind;
  }

  read(address: bigint, length: number): ReadResult {
    const r = this.src.readPartial(address, length);
    return { address, data: r.data, unreadable: r.bad };
  }

  readMany(requests: ReadRequest[]): ReadResult[] {
    return requests.map((q) => this.read(q.address, q.length));
  }

  write(): number {
    throw new Error('a stack snapshot is read-only');
  }

  close(): void {
    /* the inner reader belongs to the Program */
  }
}
