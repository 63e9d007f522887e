/**
 * Backend `vm-readv`: process_vm_readv / process_vm_writev. One system call per batch of up to
 * 1024 ranges, straight into the result Buffers; no mapping, no file.
 *
 * Identity: these calls take a *pid*, not the pidfd. We prove afterwards that the pid still named
 * our process: if the pidfd is not readable (process not exited) after the call returned, the
 * process was alive for the whole call, and a live process's pid cannot belong to anyone else.
 * That check (one poll(2), a few hundred ns) runs after every read call by default (`verify: 'every-call'`),
 * which makes "pid reuse can never make us read another process" hold without a window.
 * With `verify: 'on-failure'` it runs only after a failed or short transfer; the residual race is
 * then: our target exits, is reaped, and the pid is handed to a new process we may also read, all
 * between two of our calls — a successful read would return the new process's bytes. It needs the
 * pid counter to come round again (pid_max: 32768 on the project's VMs, 4M on many distributions),
 * which a busy machine does in seconds; test/memory/pid-reuse.test.ts forces it and shows both
 * modes. Hence not the default. The pidfd_mem backend has no such race at all: its mapping belongs to the
 * pidfd's process and simply stops being readable when that process goes.
 */
import { PidscopeError } from '../errors';
import { EFAULT, EIO, ENOMEM, ESRCH, EPERM, EACCES, errnoError, permissionError, processGoneError } from '../linux/errno';
import { PAGE_SIZE } from '../linux/libc';
import { bufferAddress, IOV_MAX, IovecArrays, keepAlive } from '../linux/vm';
import type { TargetHandle } from './handle';
import type { AddressRange, MemoryReader, ReadRequest, ReadResult } from './reader';
import { pollViaReadMany, type PollSet } from './poll';
import { checkRequest, readManyVia, scatter, type Piece, type ScatterHooks } from './scatter';
import { writeDisabledError, writeFailedError } from './writeErrors';

export type VerifyPolicy = 'every-call' | 'on-failure';

export interface VmReadvOptions {
  allowWrites?: boolean;
  verify?: VerifyPolicy;
}

export class VmReadvReader implements MemoryReader {
  readonly kind = 'vm-readv' as const;
  readonly writable: boolean;
  private readonly verifyEveryCall: boolean;
  private readonly iov = new IovecArrays(IOV_MAX);
  private readonly hooks: ScatterHooks;
  private closed = false;

  constructor(
    private readonly target: TargetHandle,
    opts: VmReadvOptions = {},
  ) {
    this.writable = opts.allowWrites === true;
    this.verifyEveryCall = (opts.verify ?? 'every-call') === 'every-call';
    const iov = this.iov;
    const pid = target.pid;
    this.hooks = {
      maxPerCall: IOV_MAX,
      pageSize: PAGE_SIZE,
      transfer: (pieces: Piece[], start: number, count: number) => {
        for (let k = 0; k < count; k++) {
          const p = pieces[start + k];
          iov.set(k, (p.bufAddress ?? bufferAddress(p.buf)) + BigInt(p.offset), p.remote, p.length);
        }
        return iov.readv(pid, count);
      },
      onStop: (errno: number) => this.onStop(errno),
    };
  }

  /** A transfer stopped early: decide whether that is a hole or the end of the target. */
  private onStop(errno: number): void {
    if (errno === 0 || errno === EFAULT || errno === EIO || errno === ENOMEM) {
      // A short count or EFAULT also happens when the process is exiting (its mm is torn down
      // page by page); only call it a hole if the process is still there.
      this.target.assertAlive('a memory read');
      return;
    }
    throw this.fatal(errno, 'read memory');
  }

  private fatal(errno: number, what: string): PidscopeError {
    if (errno === ESRCH) {
      this.target.isAlive();
      return processGoneError(this.target.pid, what);
    }
    if (errno === EPERM || errno === EACCES) return permissionError(this.target.pid, what);
    return errnoError(errno, this.target.pid, `process_vm_readv (${what})`);
  }

  private checkOpen(): void {
    if (this.closed) throw new PidscopeError('CLOSED', 'the memory reader was closed', '', 'internal');
  }

  read(address: bigint, length: number): ReadResult {
    this.checkOpen();
    checkRequest(address, length);
    if (length === 0) return { address, data: Buffer.alloc(0), unreadable: [] };
    const data = Buffer.allocUnsafe(length);
    // Fast path: one iovec, everything readable.
    this.iov.set(0, bufferAddress(data), address, length);
    const n = this.iov.readv(this.target.pid, 1); // `data` stays referenced below: alive during the call
    if (n === length) {
      if (this.verifyEveryCall) this.target.assertAlive('a memory read');
      return { address, data, unreadable: [] };
    }
    const holes: AddressRange[][] = [[]];
    const piece: Piece = { remote: address, length, buf: data, offset: 0, owner: 0 };
    if (n > 0) {
      piece.remote += BigInt(n);
      piece.offset = n;
      piece.length -= n;
    }
    // On n < 0 scatter() meets the same failure again and classifies it in one place.
    scatter([piece], this.hooks, holes);
    if (this.verifyEveryCall) this.target.assertAlive('a memory read');
    return { address, data, unreadable: holes[0] };
  }

  readMany(requests: ReadRequest[]): ReadResult[] {
    this.checkOpen();
    const results = readManyVia(requests, this.hooks, bufferAddress);
    if (this.verifyEveryCall) this.target.assertAlive('a memory read');
    return results;
  }

  /** Per poll set (memory/poll.ts): its iovecs, built once, and the caller's array they point into. */
  private readonly pollPlans = new WeakMap<PollSet, { iov: IovecArrays; base: bigint }>();

  /**
   * memory/poll.ts's fast path: one process_vm_readv straight into the caller's array with
   * iovecs built once per set (up to IOV_MAX ranges); anything short of a complete transfer
   * goes through readMany, which finds the holes.
   */
  pollInto(set: PollSet, into: Uint8Array, bad: Uint8Array): number {
    this.checkOpen();
    if (set.count > 0 && set.count <= IOV_MAX) {
      const buf = Buffer.isBuffer(into) ? into : Buffer.from(into.buffer, into.byteOffset, into.byteLength);
      const base = bufferAddress(buf);
      let plan = this.pollPlans.get(set);
      if (!plan || plan.base !== base) {
        const iov = plan?.iov ?? new IovecArrays(set.count);
        for (let i = 0; i < set.count; i++) iov.set(i, base + BigInt(set.offsets[i]), set.requests[i].address, set.lengths[i]);
        this.pollPlans.set(set, (plan = { iov, base }));
      }
      const n = plan.iov.readv(this.target.pid, set.count);
      keepAlive(buf);
      if (n === set.totalLength) {
        if (this.verifyEveryCall) this.target.assertAlive('a memory read');
        bad.fill(0, 0, set.count);
        return 0;
      }
    }
    return pollViaReadMany(this, set, into, bad);
  }

  write(address: bigint, data: Uint8Array): number {
    this.checkOpen();
    if (!this.writable) throw writeDisabledError();
    checkRequest(address, data.length);
    if (data.length === 0) return 0;
    // The write lands in whatever process owns the pid, so prove it is ours *before* writing
    // (a write cannot be taken back); the residual window is the one described at the top.
    this.target.assertAlive('a memory write');
    const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.length);
    this.iov.set(0, bufferAddress(buf), address, data.length);
    const n = this.iov.writev(this.target.pid, 1);
    keepAlive(buf);
    if (n === data.length) return n;
    const errno = n < 0 ? -n : 0;
    if (errno !== 0 && errno !== EFAULT && errno !== EIO) throw this.fatal(errno, 'write memory');
    this.target.assertAlive('a memory write');
    throw writeFailedError(address, data.length, n < 0 ? 0 : n);
  }

  close(): void {
    this.closed = true;
  }
}

/** process_vm_readv of one byte at address 0: permitted → EFAULT or 1; else the errno that says why not. */
const probeIov = new IovecArrays(1);
// Module-level, so it outlives the call whose iovec points at it.
const probeByte = Buffer.allocUnsafeSlow(1);

export function probeVmReadv(pid: number): number {
  probeIov.set(0, bufferAddress(probeByte), 0n, 1);
  const n = probeIov.readv(pid, 1);
  return n >= 0 ? 0 : -n === EFAULT || -n === EIO ? 0 : -n;
}
