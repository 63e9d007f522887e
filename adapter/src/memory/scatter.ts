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
import type { AddressRange, ReadRequest, ReadResult } from './reader';

/** Largest single request and largest readMany total. Far above any real variable; well below
 * what would make Node allocate gigabytes because of a typo. */
export const MAX_READ_LENGTH = 256 * 1024 * 1024;

const ADDRESS_LIMIT = 1n << 64n;

export function checkRequest(address: bigint, length: number): void {
  if (typeof address !== 'bigint' || address < 0n || address >= ADDRESS_LIMIT) {
    throw new PidscopeError(
      'BAD_ADDRESS',
      `address ${String(address)} is outside the 64-bit address space`,
      'Give an address between 0 and 0xffffffffffffffff',
      'user',
    );
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
    throw new PidscopeError(
      'BAD_ADDRESS',
      `range 0x${address.toString(16)} + ${length} runs past the end of the address space`,
      'Give a shorter length',
      'user',
    );
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

/**
 * readMany for the syscall backends. When the requests come in address order, those that
 * overlap, touch, or lie a short gap apart on the same page are read as one span (one iovec or one pread instead of several), then copied
 * out; every other request is read straight into its result. Merging never reads a page no
 * request touches, so it cannot change what is readable, only how often the kernel walks a page.
 * `addressOf` gives the address of a Buffer (backends that build iovecs need it; once per Buffer).
 */
/** Largest gap between two ranges that readManyVia reads through rather than splitting. */
const MERGE_GAP = 512n;

export function readManyVia(requests: readonly ReadRequest[], hooks: ScatterHooks, addressOf?: (b: Buffer) => bigint): ReadResult[] {
  const total = checkRequests(requests);
  const n = requests.length;
  const arena = Buffer.allocUnsafe(total);
  const results: ReadResult[] = new Array(n);
  const holes: AddressRange[][] = new Array(n);
  const offsets: number[] = new Array(n);
  const order: number[] = [];
  let off = 0;
  let sorted = true;
  let prev = -1n;
  for (let i = 0; i < n; i++) {
    const r = requests[i];
    holes[i] = [];
    offsets[i] = off;
    results[i] = { address: r.address, data: arena.subarray(off, off + r.length), unreadable: holes[i] };
    off += r.length;
    if (r.length === 0) continue;
    if (r.address < prev) sorted = false;
    prev = r.address;
    order.push(i);
  }
  if (order.length === 0) return results;
  if (!sorted) {
    // Sorting 1,000 bigints costs about what merging saves; callers that want merging (DAP views,
    // block caches) already ask in address order. Read each range straight into its result.
    const base = addressOf?.(arena);
    scatter(
      order.map((i) => ({ remote: requests[i].address, length: requests[i].length, buf: arena, offset: offsets[i], bufAddress: base, owner: i })),
      hooks,
      holes,
    );
    return results;
  }

  const page = BigInt(hooks.pageSize);
  const spans: { start: bigint; end: bigint; members: number[] }[] = [];
  let cur: { start: bigint; end: bigint; members: number[] } | undefined;
  for (const i of order) {
    const a = requests[i].address;
    const b = a + BigInt(requests[i].length);
    // Merge overlapping or touching ranges, and ranges a short gap apart on the page where the
    // span ends (so no page is read that no request touches, and at most MERGE_GAP extra bytes).
    if (cur && (a <= cur.end || (a - cur.end <= MERGE_GAP && a < ((cur.end + page - 1n) / page) * page))) {
      if (b > cur.end) cur.end = b;
      cur.members.push(i);
    } else {
      cur = { start: a, end: b, members: [i] };
      spans.push(cur);
    }
  }

  if (spans.length === order.length) {
    // Nothing shares a page: read each request straight into its result.
    const base = addressOf?.(arena);
    const pieces: Piece[] = order.map((i) => ({
      remote: requests[i].address,
      length: requests[i].length,
      buf: arena,
      offset: offsets[i],
      bufAddress: base,
      owner: i,
    }));
    scatter(pieces, hooks, holes);
    return results;
  }

  let spanTotal = 0;
  for (const s of spans) spanTotal += Number(s.end - s.start);
  const spanArena = Buffer.allocUnsafe(spanTotal);
  const base = addressOf?.(spanArena);
  const spanHoles: AddressRange[][] = spans.map(() => []);
  const pieces: Piece[] = [];
  let so = 0;
  for (const [k, s] of spans.entries()) {
    const len = Number(s.end - s.start);
    pieces.push({ remote: s.start, length: len, buf: spanArena, offset: so, bufAddress: base, owner: k });
    so += len;
  }
  const spanOffsets = pieces.map((p) => p.offset);
  scatter(pieces, hooks, spanHoles);
  for (const [k, s] of spans.entries()) {
    for (const i of s.members) {
      const r = requests[i];
      const rel = spanOffsets[k] + Number(r.address - s.start);
      spanArena.copy(arena, offsets[i], rel, rel + r.length);
      const end = r.address + BigInt(r.length);
      for (const h of spanHoles[k]) {
        const hs = h.start > r.address ? h.start : r.address;
        const he = h.end < end ? h.end : end;
        if (hs < he) addHole(holes[i], hs, he);
      }
    }
  }
  return results;
}
