/**
 * mmap/munmap and zero-copy views over mapped memory, for the pidfd_mem backend (a mapping of the
 * target's pages into our address space). A view must not be touched after munmap: the process
 * would crash on the access, so owners drop every view before unmapping.
 */
import { PidscopeError } from '../errors';
import { errnoName, strerror } from './errno';
import { koffi, lastErrno, sys } from './libc';

export const PROT_NONE = 0;
export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const MAP_SHARED = 0x01;
export const MAP_PRIVATE = 0x02;
export const MAP_ANONYMOUS = 0x20;

const MAP_FAILED = 0xffffffffffffffffn;

/** A mapping in our own address space. `pointer` is koffi's handle, needed for views. */
export interface Mapping {
  readonly address: bigint;
  readonly length: number;
  readonly pointer: unknown;
}

/** Maps `length` bytes, or returns the errno (for callers that raise their own error type). */
export function tryMmap(length: number, prot: number, flags: number, fd: number, offset: bigint, addr = 0n): Mapping | number {
  const pointer: unknown = sys.mmap(addr, length, prot, flags, fd, offset);
  const address = pointer === null ? 0n : koffi.address(pointer);
  if (pointer === null || address === MAP_FAILED) return lastErrno();
  return { address, length, pointer };
}

/** Maps `length` bytes. Throws PidscopeError with the errno on failure. */
export function mmap(length: number, prot: number, flags: number, fd: number, offset: bigint, addr = 0n): Mapping {
  const m = tryMmap(length, prot, flags, fd, offset, addr);
  if (typeof m === 'number') {
    throw new PidscopeError(errnoName(m), `mmap of ${length} bytes failed: ${strerror(m)}`, '', 'internal');
  }
  return m;
}

/** Unmaps a whole mapping or a page-aligned part of it ([address, address+length)). */
export function munmap(address: bigint, length: number): void {
  if (sys.munmap(address, length) !== 0) {
    const errno = lastErrno();
    throw new PidscopeError(errnoName(errno), `munmap failed: ${strerror(errno)}`, '', 'internal');
  }
}

/**
 * Zero-copy bytes of [offset, offset+length) of a mapping. Valid only until the mapping is
 * unmapped: touching it afterwards is a segfault in our own process.
 */
export function viewOf(m: Mapping, offset = 0, length = m.length - offset): Uint8Array {
  if (offset < 0 || length < 0 || offset + length > m.length) throw new RangeError('view outside the mapping');
  return new Uint8Array(koffi.view(m.pointer, offset + length), offset, length);
}
