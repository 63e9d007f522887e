/**
 * One interface for every way of reading a live process's memory. Callers never know which
 * backend serves them; the pidfd_mem (zero-copy) backend slots in beside vm-readv and proc-mem.
 *
 * Reads are synchronous: every backend is a syscall or a plain load, and a synchronous reader
 * keeps the evaluator and formatter simple. A partial read is normal (guard pages, holes): the
 * result says which byte ranges could not be read and never throws for them.
 */
import type { PollSet } from './poll';

export type BackendKind = 'pidfd-mem' | 'vm-readv' | 'proc-mem';

/** Half-open absolute range [start, end) in the target's address space. */
export interface AddressRange {
  start: bigint;
  end: bigint;
}

export interface ReadRequest {
  address: bigint;
  length: number;
}

export interface ReadResult {
  address: bigint;
  /** Always `length` bytes long; unreadable bytes are zero. */
  data: Buffer;
  /** Sorted, disjoint, page-granular ranges (clipped to the request) that could not be read. */
  unreadable: AddressRange[];
}

export interface MemoryReader {
  readonly kind: BackendKind;
  /** Whether write() may be called; false unless the user opted in. */
  readonly writable: boolean;
  read(address: bigint, length: number): ReadResult;
  /** Many scattered ranges in as few system calls as the backend allows. */
  readMany(requests: ReadRequest[]): ReadResult[];
  /**
   * Optional fast path for memory/poll.ts (pollInto): the ranges of a PollSet into one
   * caller-owned array, no object per range. Returns how many ranges had unreadable bytes.
   */
  pollInto?(set: PollSet, into: Uint8Array, bad: Uint8Array): number;
  /** Writes all bytes or throws a PidscopeError; refuses unless opted in. Returns bytes written. */
  write(address: bigint, data: Uint8Array): number;
  close(): void;
}
