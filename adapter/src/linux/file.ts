/**
 * open/pread/pwrite/close through libc, used for /proc/PID/mem. Node's fs would work too, but
 * goes through libuv's request machinery and cannot take addresses above 2^53 exactly; these are
 * direct calls that land in the caller's Buffer.
 */
import { bufferAddress, keepAlive, lastErrno, sys } from './libc';

export const O_RDONLY = 0;
export const O_RDWR = 2;
export const O_CLOEXEC = 0o2000000;

/** Returns an fd, or -errno. */
export function openRaw(path: string, flags: number): number {
  const fd = sys.open(path, flags | O_CLOEXEC, 0) as number;
  return fd < 0 ? -lastErrno() : fd;
}

/**
 * Reads into buf[offset, offset+length) from file position `position`. Returns bytes or -errno.
 * `buf` is referenced after the call, so it cannot be collected while the kernel writes into it.
 */
export function preadRaw(fd: number, buf: Uint8Array, offset: number, length: number, position: bigint): number {
  const n = Number(sys.pread(fd, bufferAddress(buf) + BigInt(offset), length, position));
  const errno = n < 0 ? lastErrno() : 0;
  keepAlive(buf);
  return n < 0 ? -errno : n;
}

/** Writes buf[offset, offset+length) at file position `position`. Returns bytes or -errno. */
export function pwriteRaw(fd: number, buf: Uint8Array, offset: number, length: number, position: bigint): number {
  const n = Number(sys.pwrite(fd, bufferAddress(buf) + BigInt(offset), length, position));
  const errno = n < 0 ? lastErrno() : 0;
  keepAlive(buf);
  return n < 0 ? -errno : n;
}

export function closeRaw(fd: number): void {
  if (fd >= 0) sys.close(fd);
}
