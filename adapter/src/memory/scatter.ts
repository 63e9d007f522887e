/**
 * The shared core of every syscall backend: copy many remote ranges into local buffers with a
 * transfer primitive that stops at the first unreadable page (process_vm_readv over an iovec
 * batch, or pread on /proc/PID/mem), and turn each stop into a page-granular hole.
 *
 * A transfer returns how many bytes it copied, in order, across the pieces it was given (or
 * -errno when it copied nothing). The stop lies in piece j at byte n; the page containing that
 * byte is unreadable, so we record [stop, min(page end, piece end)) as a hole, zero it, and resume
 * after it. Each round trip advances at least one page, so a request costs at most
 * 1 + (unreadable pages) calls.
 */
import { PidscopeError } from '../errors';
import type { AddressRange, ReadRequest } from './reader';

/** Largest single request and largest readMany total. Far above any real variable; well below
 * what would make Node allocate gigabytes because of a typo. */
export const MAX_READ_LENGTH = 256 * 1024 * 1024;

const ADDRESS_LIMIT = 1n << 64n;

export function checkRequest(address: bigint, length: number): void {
  if (typeof address !== 'bigint' || address < 0n || address >= ADDRESS_LIMIT) {
    throw new PidscopeError('BAD_ADDRESS', `address ${String(address)} is outside the 64-bit address space`, 'Give an address between 0 and 0xffffffffffffffff', 'user');
  }
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new PidscopeError('BAD_LENGTH', `length ${length} is not a non-negative integer`, 'Give a byte count such as 16 or 0x100', 'user');
  }
  if (length > MAX_READ_LENGTH) {
    throw new PidscopeError(
      'TOO_LONG',
      `length ${length} is larger than the ${MAX_READ_LENGTH / (1024 * 1024)} MiB pidscope reads in one request`,
      'Read a smaller range, or several ranges one after another',
      'user',
    );
  }
  if (address + BigInt(length) > ADDRESS_LIMIT) {
    throw new PidscopeError('BAD_ADDRESS', `range 0x${address.toString(16)} + ${length} runs past the end of the address space`, 'Give a shorter length', 'user');
  }
}

/** One contiguous remote range and where its bytes go locally. Mutated as a transfer resumes. */
export interface Piece {
  remote: bigint;
  length: number;
  /** Destination buffer and offset in it. */
  buf: Buffer;
  offset: number;
  /** Address of buf[0] when the backend needs it (computed once per buffer, not per piece). */
  bufAddress?: bigint;
  /** Index of the request this piece belongs to. */
  owner: number;
}

/** Copies pieces[start, start+count) in order; returns bytes copied, or -errno if none. */
export type Transfer = (pieces: Piece[], start: number, count: number) => number;

export interface ScatterHooks {
  /** Most pieces per transfer call (IOV_MAX for process_vm_readv, 1 for pread). */
  maxPerCall: number;
  transfer: Transfer;
  /**
   * Decides what a failed or short transfer means, given the errno (0 for a short count).
   * Return normally for "the page at the stop is unreadable"; throw for anything else
   * (process gone, permission lost).
   */
  onStop(errno: number, stopAt: bigint): void;
  pageSize: number;
}

/** Appends [start, end) to a sorted hole list, merging with the last hole when they touch. */
export function addHole(holes: AddressRange[], start: bigint, end: bigint): void {
  const last = holes[holes.length - 1];
  if (last && last.end === start) last.end = end;
  else holes.push({ start, end });
}

/**
 * Runs the pieces through the transfer, recording holes per owner in `holes[owner]` and zeroing
 * their bytes. Pieces of one owner must be in address order (they are: one piece per request,
 * split only by this function).
 */
export function scatter(pieces: Piece[], hooks: ScatterHooks, holes: AddressRange[][]): void {
  const page = BigInt(hooks.pageSize);
  let i = 0;
  while (i < pieces.length) {
    const count = Math.min(hooks.maxPerCall, pieces.length - i);
    let n = hooks.transfer(pieces, i, count);
    let errno = 0;
    if (n < 0) {
      errno = -n;
      n = 0;
    }
    let j = i;
    const stopIndex = i + count;
    while (j < stopIndex && n >= pieces[j].length) {
      n -= pieces[j].length;
      j++;
    }
    if (j === stopIndex) {
      i = j;
      continue;
    }
    const p = pieces[j];
    const stopAt = p.remote + BigInt(n);
    hooks.onStop(errno, stopAt);
    const pieceEnd = p.remote + BigInt(p.length);
    const pageEnd = (stopAt / page + 1n) * page;
    const holeEnd = pageEnd < pieceEnd ? pageEnd : pieceEnd;
    addHole(holes[p.owner], stopAt, holeEnd);
    const skip = Number(holeEnd - p.remote);
    p.buf.fill(0, p.offset + n, p.offset + skip);
    if (skip < p.length) {
      p.remote = holeEnd;
      p.offset += skip;
      p.length -= skip;
      i = j;
    } else {
      i = j + 1;
    }
  }
}

/** Validates requests and returns their total length. */
export function checkRequests(requests: readonly ReadRequest[]): number {
  let total = 0;
  for (const r of requests) {
    checkRequest(r.address, r.length);
    total += r.length;
  }
  if (total > MAX_READ_LENGTH) {
    throw new PidscopeError(
      'TOO_LONG',
      `the ranges add up to ${total} bytes, more than the ${MAX_READ_LENGTH / (1024 * 1024)} MiB pidscope reads in one request`,
      'Read fewer or smaller ranges per call',
      'user',
    );
  }
  return total;
}
