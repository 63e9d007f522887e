/**
 * process_vm_readv / process_vm_writev with preallocated iovec arrays: many scattered ranges in
 * one system call, no per-call allocation beyond what the caller's Buffers already are.
 *
 * Partial-transfer semantics (mm/process_vm_access.c): the kernel walks the remote iovecs in order
 * and stops at the first page it cannot pin; the return value is the number of bytes copied up to
 * that point (which may end inside an iovec, at a page boundary), or -1/errno when nothing was
 * copied. Callers (memory/holes.ts) find the failing page from the count and resume after it.
 */
import { bufferAddress, keepAlive, lastErrno, sys } from './libc';

/** Linux's UIO_MAXIOV: the most iovecs one call accepts. */
export const IOV_MAX = 1024;

/** Paired local/remote iovec arrays, reused across calls. */
export class IovecArrays {
  readonly capacity: number;
  private readonly localBuf: Buffer;
  private readonly remoteBuf: Buffer;
  private readonly local: BigUint64Array;
  private readonly remote: BigUint64Array;

  constructor(capacity = IOV_MAX) {
    this.capacity = capacity;
    // allocUnsafeSlow: own backing store, never a slice of Node's shared pool.
    this.localBuf = Buffer.allocUnsafeSlow(capacity * 16);
    this.remoteBuf = Buffer.allocUnsafeSlow(capacity * 16);
    this.local = new BigUint64Array(this.localBuf.buffer, this.localBuf.byteOffset, capacity * 2);
    this.remote = new BigUint64Array(this.remoteBuf.buffer, this.remoteBuf.byteOffset, capacity * 2);
  }

  /** Entry i: copy `length` bytes between local address `localAddr` and remote `remoteAddr`. */
  set(i: number, localAddr: bigint, remoteAddr: bigint, length: number): void {
    const len = BigInt(length);
    this.local[2 * i] = localAddr;
    this.local[2 * i + 1] = len;
    this.remote[2 * i] = remoteAddr;
    this.remote[2 * i + 1] = len;
  }

  /** Returns bytes transferred, or -errno. */
  readv(pid: number, count: number): number {
    const n = Number(sys.processVmReadv(pid, this.localBuf, count, this.remoteBuf, count, 0));
    return n < 0 ? -lastErrno() : n;
  }

  /** Returns bytes transferred, or -errno. */
  writev(pid: number, count: number): number {
    const n = Number(sys.processVmWritev(pid, this.localBuf, count, this.remoteBuf, count, 0));
    return n < 0 ? -lastErrno() : n;
  }
}

export { bufferAddress, keepAlive };
