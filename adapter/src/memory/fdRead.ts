/**
 * The part the two file-descriptor backends share: /proc/PID/mem (proc-mem) and the pidfd_mem
 * access fd (pidfd-mem's exact path) are both read with pread, one contiguous piece per call, and
 * a stop means the same things for both (a hole, the process gone, permission lost, the address
 * space gone). Only where the file offset comes from and what end-of-file means differ.
 */
import { EAGAIN, EACCES, EFAULT, EINTR, EINVAL, EIO, ENOMEM, EPERM, ESRCH, errnoError, permissionError, processGoneError } from '../linux/errno';
import { preadRaw } from '../linux/file';
import { addressSpaceGone } from './gone';
import type { TargetHandle } from './handle';
import type { Piece } from './scatter';

/** Not an errno: "the file ended", i.e. the address space behind the fd is gone (see readStop). */
export const ADDRESS_SPACE_GONE = 0x10000;

/**
 * pread until the piece is done or a call comes up short. Returns the bytes copied, or -errno when
 * none were; a read of 0 bytes with nothing copied returns -eof.
 */
export function preadPiece(fd: number, p: Piece, position: bigint, eof: number): number {
  let done = 0;
  while (done < p.length) {
    const n = preadRaw(fd, p.buf, p.offset + done, p.length - done, position + BigInt(done));
    if (n === -EINTR || n === -EAGAIN) continue;
    if (n < 0) return done > 0 ? done : n;
    if (n === 0) return done > 0 ? done : -eof;
    done += n;
  }
  return done;
}

/**
 * scatter()'s onStop for an fd reader: returns for "the page at the stop is unreadable", throws
 * when the address space is gone (`gone()` or an ADDRESS_SPACE_GONE stop), the process exited,
 * or permission was lost. `syscall` names the call in other errors.
 */
export function readStop(target: TargetHandle, errno: number, syscall: string, gone: () => boolean): void {
  if (errno === ADDRESS_SPACE_GONE || gone()) addressSpaceGone(target, 'a memory read');
  if (errno === 0 || errno === EIO || errno === EFAULT || errno === EINVAL || errno === ENOMEM) {
    target.assertAlive('a memory read');
    return;
  }
  target.isAlive();
  if (errno === ESRCH) throw processGoneError(target.pid, 'a memory read');
  if (errno === EPERM || errno === EACCES) throw permissionError(target.pid, 'read memory');
  throw errnoError(errno, target.pid, syscall);
}
