/**
 * Backend `proc-mem`: pread/pwrite on /proc/PID/mem.
 *
 * Identity: the file is opened by pid, so right after open() we check the pidfd: if the process
 * has not exited by then, /proc/PID resolved to our process when we opened it. From then on the
 * open file is bound to that process's address space (mm), not to the pid: if the process exits,
 * reads return 0 bytes; they can never reach another process, whatever happens to the pid.
 *
 * One pread per contiguous readable stretch: /proc/PID/mem has no scatter read, so readMany costs
 * one call per group of ranges sharing pages (plus one per unreadable page).
 *
 * exec(): the file stays bound to the old address space, which is released; reads then return 0
 * while the pidfd says "alive". We report that as its own error instead of calling everything
 * unreadable.
 */
import { PidscopeError } from '../errors';
import { EIO, ENOENT, ESRCH, EPERM, EACCES, errnoError, permissionError, processGoneError } from '../linux/errno';
import { closeRaw, openRaw, O_RDONLY, O_RDWR, preadRaw, pwriteRaw } from '../linux/file';
import { PAGE_SIZE } from '../linux/libc';
import type { TargetHandle } from './handle';
import type { AddressRange, MemoryReader, ReadRequest, ReadResult } from './reader';
import { checkRequest, readManyVia, scatter, type Piece, type ScatterHooks } from './scatter';
import { ADDRESS_SPACE_GONE, preadPiece, readStop } from './fdRead';
import { writeDisabledError, writeFailedError } from './writeErrors';

/** pread's offset is a signed 64-bit off_t: addresses from 2^63 up are kernel space anyway. */
const OFF_T_LIMIT = 1n << 63n;

export class ProcMemReader implements MemoryReader {
  readonly kind = 'proc-mem' as const;
  readonly writable: boolean;
  private fd: number;
  private readonly hooks: ScatterHooks;

  /** Opens /proc/PID/mem. Throws PidscopeError (EPERM with the ptrace explanation, ESRCH…). */
  constructor(
    private readonly target: TargetHandle,
    opts: { allowWrites?: boolean } = {},
  ) {
    this.writable = opts.allowWrites === true;
    const fd = openRaw(`/proc/${target.pid}/mem`, this.writable ? O_RDWR : O_RDONLY);
    if (fd < 0) {
      const errno = -fd;
      target.isAlive();
      if (errno === ENOENT || errno === ESRCH) throw processGoneError(target.pid, 'open /proc/PID/mem');
      if (errno === EACCES || errno === EPERM) throw permissionError(target.pid, 'open /proc/PID/mem');
      throw errnoError(errno, target.pid, 'open /proc/PID/mem');
    }
    // The identity check described at the top of the file.
    if (!target.isAlive()) {
      closeRaw(fd);
      throw processGoneError(target.pid, 'open /proc/PID/mem');
    }
    this.fd = fd;
    this.hooks = {
      maxPerCall: 1,
      pageSize: PAGE_SIZE,
      // pread's offset is the address; EOF means the address space is gone (see top).
      transfer: (pieces: Piece[], start: number) =>
        pieces[start].remote >= OFF_T_LIMIT ? -EIO : preadPiece(this.fd, pieces[start], pieces[start].remote, ADDRESS_SPACE_GONE),
      onStop: (errno: number) => readStop(this.target, errno, 'pread /proc/PID/mem', () => false),
    };
  }

  private checkOpen(): void {
    if (this.fd < 0) throw new PidscopeError('CLOSED', 'the memory reader was closed', '', 'internal');
  }

  read(address: bigint, length: number): ReadResult {
    this.checkOpen();
    checkRequest(address, length);
    if (length === 0) return { address, data: Buffer.alloc(0), unreadable: [] };
    const data = Buffer.allocUnsafe(length);
    if (address < OFF_T_LIMIT) {
      const n = preadRaw(this.fd, data, 0, length, address);
      if (n === length) return { address, data, unreadable: [] };
    }
    const holes: AddressRange[][] = [[]];
    scatter([{ remote: address, length, buf: data, offset: 0, owner: 0 }], this.hooks, holes);
    return { address, data, unreadable: holes[0] };
  }

  readMany(requests: ReadRequest[]): ReadResult[] {
    this.checkOpen();
    return readManyVia(requests, this.hooks);
  }

  write(address: bigint, data: Uint8Array): number {
    this.checkOpen();
    if (!this.writable) throw writeDisabledError();
    checkRequest(address, data.length);
    if (data.length === 0) return 0;
    let done = 0;
    while (done < data.length) {
      const n = address >= OFF_T_LIMIT ? -EIO : pwriteRaw(this.fd, data, done, data.length - done, address + BigInt(done));
      if (n > 0) {
        done += n;
        continue;
      }
      this.target.assertAlive('a memory write');
      const errno = n < 0 ? -n : 0;
      if (errno === EPERM || errno === EACCES) throw permissionError(this.target.pid, 'write memory');
      throw writeFailedError(address, data.length, done);
    }
    return done;
  }

  close(): void {
    if (this.fd >= 0) {
      closeRaw(this.fd);
      this.fd = -1;
    }
  }
}
