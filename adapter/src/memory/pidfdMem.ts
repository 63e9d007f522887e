/**
 * Backend `pidfd-mem`: the target's pages mirrored into our address space by the pidfd_mem kernel
 * feature (kernel/). A read is a memory copy out of a mapping: no system call on the fast path.
 *
 * Windows: target memory is mirrored in 2 MiB windows aligned on the target address, mapped on
 * first use (one PIDFD_MEM_MAP + one mmap each). The kernel follows the target's page tables at
 * access time, so a window stays correct whatever the target maps, unmaps or remaps under it:
 * there is no copy of /proc/PID/maps to keep in step, and a window never needs remapping.
 *
 * Never SIGBUS: Node cannot survive SIGBUS, and a target may unmap a page between any check of
 * ours and the load. We open the access fd with PIDFD_MEM_NOSIGBUS, so a load from a page that
 * cannot be mirrored reads zeroes instead, and follow the status-page protocol of the uapi header:
 * sample `seq`, require `absent == 0`, copy, re-read `seq`; any change means the copy may hold a
 * substituted zero page or a page that was being replaced, and we redo that read with pread on the
 * access fd, which is exact (short count / EIO on holes) and gives page-granular holes.
 *
 * Identity: the mirror is bound to the address space the target had when pidfd_mem() was called
 * (through its pidfd). After exec the status page says DEAD while the pidfd is alive; we report
 * that as its own error, like the proc-mem backend.
 */
import { PidscopeError } from '../errors';
import { EIO, EPERM, EACCES, ESRCH, errnoError, permissionError, processGoneError } from '../linux/errno';
import { pwriteRaw } from '../linux/file';
import { PAGE_SIZE } from '../linux/libc';
import { munmap, type Mapping } from '../linux/mmap';
import {
  closeFds,
  detectPidfdMem,
  mapAccess,
  mapStatusPage,
  PIDFD_MEM_NOSIGBUS,
  PIDFD_MEM_STATUS_DEAD,
  pidfdMemMap,
  pidfdMemOpen,
  viewBuffer,
  type PidfdMemFds,
  type StatusPage,
} from '../linux/pidfdMem';
import type { TargetHandle } from './handle';
import type { AddressRange, MemoryReader, ReadRequest, ReadResult } from './reader';
import { pollViaReadMany, type PollSet } from './poll';
import { checkRequest, checkRequests, scatter, type Piece, type ScatterHooks } from './scatter';
import type { BackendCandidate } from './select';
import { addressSpaceGone } from './gone';
import { preadPiece, readStop } from './fdRead';
import { writeDisabledError, writeFailedError } from './writeErrors';

const WINDOW_SHIFT = 21n;
const WINDOW = 1 << 21;
const WINDOW_BIG = BigInt(WINDOW);
/** x86-64 user space ends below 2^47 (4-level paging); nothing above is mirrorable. */
const USER_LIMIT = 1n << 47n;

interface Window {
  fileOffset: bigint;
  mapping: Mapping;
  view: Buffer;
  /** The same bytes as 32-bit words (a mapping is page aligned), for word-sized copies. */
  words: Int32Array;
}

/**
 * Ranges turned into plain loads, once: piece i copies len[i] bytes from offset from[i] of window
 * win[i] to offset dst[i] of the destination. A range that crosses a window boundary is two
 * pieces. Typed arrays, no object per range: a poll set keeps its plan for good, read/readMany
 * plan into one scratch plan that grows as needed.
 */
interface Plan {
  count: number;
  win: Int32Array;
  from: Int32Array;
  len: Int32Array;
  dst: Int32Array;
}

function newPlan(capacity: number): Plan {
  return { count: 0, win: new Int32Array(capacity), from: new Int32Array(capacity), len: new Int32Array(capacity), dst: new Int32Array(capacity) };
}

/** Adds one piece, growing the arrays when full. */
function addPiece(plan: Plan, win: number, from: number, len: number, dst: number): void {
  if (plan.count === plan.win.length) {
    const bigger = newPlan(plan.count * 2 + 8);
    bigger.win.set(plan.win);
    bigger.from.set(plan.from);
    bigger.len.set(plan.len);
    bigger.dst.set(plan.dst);
    plan.win = bigger.win;
    plan.from = bigger.from;
    plan.len = bigger.len;
    plan.dst = bigger.dst;
  }
  const i = plan.count++;
  plan.win[i] = win;
  plan.from[i] = from;
  plan.len[i] = len;
  plan.dst[i] = dst;
}

/**
 * Adds the pieces of one range (its bytes to dst offset `dst`). Returns false when it reaches
 * beyond user space (only the exact path, with its holes, can answer for that).
 */
function planRange(plan: Plan, address: bigint, length: number, dst: number): boolean {
  if (length === 0) return true;
  if (address >= USER_LIMIT || address + BigInt(length) > USER_LIMIT) return false;
  let a = Number(address); // exact: below 2^47
  let left = length;
  let d = dst;
  while (left > 0) {
    const win = Math.floor(a / WINDOW);
    const from = a - win * WINDOW;
    const len = Math.min(left, WINDOW - from);
    addPiece(plan, win, from, len, d);
    a += len;
    d += len;
    left -= len;
  }
  return true;
}

/** Plans the ranges anew (range i's bytes to dst offset `dstAt[i]`); false as planRange. */
function planRanges(plan: Plan, requests: readonly ReadRequest[], dstAt: ArrayLike<number>): boolean {
  plan.count = 0;
  for (let i = 0; i < requests.length; i++) if (!planRange(plan, requests[i].address, requests[i].length, dstAt[i])) return false;
  return true;
}

/** A 32-bit view of `bytes` when it starts on a 4-byte boundary (else word copies are off). */
function wordsOf(bytes: Uint8Array): Int32Array | undefined {
  return bytes.byteOffset % 4 === 0 ? new Int32Array(bytes.buffer, bytes.byteOffset, bytes.length >>> 2) : undefined;
}

export class PidfdMemReader implements MemoryReader {
  readonly kind = 'pidfd-mem' as const;
  readonly writable: boolean;
  private fds: PidfdMemFds | undefined;
  private readonly status: StatusPage;
  /** By window index (address / 2 MiB): user addresses are below 2^47, exact as numbers. */
  private readonly windows = new Map<number, Window>();
  private nextFileOffset = 0n;
  private readonly slowHooks: ScatterHooks;
  /** read/readMany plan here (one call at a time: reads are synchronous). */
  private readonly scratch = newPlan(64);
  /** Per poll set: its plan (null: a range lies beyond user space, the general path serves it). */
  private readonly pollPlans = new WeakMap<PollSet, Plan | null>();
  /** The last poll set and its plan: a poller passes the same set every tick (no WeakMap lookup then). */
  private lastPoll: { set: PollSet; plan: Plan | null } | undefined;
  /** The last pollInto destination and its word view (a poller passes the same array every time). */
  private pollInto32: { bytes: Uint8Array; words: Int32Array | undefined } | undefined;
  /** Reads served by the fast path and by pread, for `pidscope info` and the benchmarks. */
  readonly stats = { fast: 0, slow: 0, windows: 0 };

  /** Serve every read with pread on the access fd (no mapping): for benchmarks, to show the price. */
  private readonly preadOnly: boolean;

  constructor(
    private readonly target: TargetHandle,
    fds: PidfdMemFds,
    opts: { allowWrites?: boolean; preadOnly?: boolean } = {},
  ) {
    this.writable = opts.allowWrites === true;
    this.preadOnly = opts.preadOnly === true;
    this.fds = fds;
    this.status = mapStatusPage(fds.controlFd, PAGE_SIZE);
    this.slowHooks = {
      maxPerCall: 1,
      pageSize: PAGE_SIZE,
      transfer: (pieces: Piece[], start: number) => this.preadPiece(pieces[start]),
      onStop: (errno: number) => readStop(this.target, errno, 'pread on the pidfd_mem access fd', () => this.dead()),
    };
  }

  private get open(): PidfdMemFds {
    if (!this.fds) throw new PidscopeError('CLOSED', 'the memory reader was closed', '', 'internal');
    return this.fds;
  }

  private dead(): boolean {
    return (this.status.words[5] & PIDFD_MEM_STATUS_DEAD) !== 0;
  }

  /** The window holding `address`, mapped on first use; undefined outside user space. */
  private window(address: bigint): Window | undefined {
    if (address >= USER_LIMIT) return undefined;
    return this.windowByIndex(Number(address >> WINDOW_SHIFT));
  }

  private windowByIndex(index: number): Window {
    const have = this.windows.get(index);
    if (have) return have;
    const fds = this.open;
    const fileOffset = this.nextFileOffset;
    const rc = pidfdMemMap(fds.controlFd, BigInt(index) << WINDOW_SHIFT, fileOffset, WINDOW_BIG, this.writable);
    if (rc < 0) {
      const errno = -rc;
      this.target.isAlive();
      if (errno === ESRCH) throw processGoneError(this.target.pid, 'PIDFD_MEM_MAP');
      throw errnoError(errno, this.target.pid, 'PIDFD_MEM_MAP');
    }
    this.nextFileOffset += WINDOW_BIG;
    const mapping = mapAccess(fds.accessFd, fileOffset, WINDOW);
    const view = viewBuffer(mapping);
    const w: Window = { fileOffset, mapping, view, words: new Int32Array(view.buffer, view.byteOffset, WINDOW >>> 2) };
    this.windows.set(index, w);
    this.stats.windows++;
    return w;
  }

  /**
   * The one fast copier: the plan's pieces as plain loads from the mapped windows into `dst`
   * between two samples of the status page's `seq` (the uapi header's reader protocol). Word
   * copies where source, destination and length allow (polls are mostly aligned scalars), a byte
   * loop for other short pieces (cheaper than a call), a block copy for the rest. Returns false
   * when the status page says the copies cannot be trusted; the caller then takes the exact path.
   */
  private copyPlanned(plan: Plan, dst: Uint8Array, dstWords: Int32Array | undefined): boolean {
    const words = this.status.words;
    const seq = words[0];
    const seqHi = words[1];
    if (words[2] !== 0 || words[3] !== 0) return false; // zero pages may stand in for holes
    const { count, win, from, len, dst: at } = plan;
    let lastIndex = -1;
    let w: Window | undefined;
    for (let i = 0; i < count; i++) {
      const index = win[i];
      if (index !== lastIndex) {
        w = this.windowByIndex(index);
        lastIndex = index;
      }
      const f = from[i];
      const d = at[i];
      const n = len[i];
      if (n <= 16) {
        if (dstWords !== undefined && ((f | d | n) & 3) === 0) {
          const src = w!.words;
          for (let k = 0; k < n >>> 2; k++) dstWords[(d >>> 2) + k] = src[(f >>> 2) + k];
        } else {
          const src = w!.view;
          for (let k = 0; k < n; k++) dst[d + k] = src[f + k];
        }
      } else {
        dst.set(w!.view.subarray(f, f + n), d);
      }
    }
    return words[0] === seq && words[1] === seqHi;
  }

  /** The exact path: every request's pieces through pread on the access fd, holes recorded. */
  private readExact(requests: readonly ReadRequest[], buf: Buffer, offsets: readonly number[], holes: AddressRange[][]): void {
    this.stats.slow++;
    const pieces: Piece[] = [];
    for (let i = 0; i < requests.length; i++) {
      let remote = requests[i].address;
      let left = requests[i].length;
      let offset = offsets[i];
      while (left > 0) {
        const length = Math.min(left, Number(WINDOW_BIG - (remote & (WINDOW_BIG - 1n))));
        this.window(remote); // mapped, so that preadPiece finds its file offset
        pieces.push({ remote, length, buf, offset, owner: i });
        remote += BigInt(length);
        offset += length;
        left -= length;
      }
    }
    scatter(pieces, this.slowHooks, holes);
    if (this.dead()) addressSpaceGone(this.target, 'a memory read');
  }

  /** pread through the access fd for one piece inside one window; bytes copied or -errno. */
  private preadPiece(p: Piece): number {
    const w = p.remote < USER_LIMIT ? this.windows.get(Number(p.remote >> WINDOW_SHIFT)) : undefined;
    if (!w) return -EIO;
    return preadPiece(this.open.accessFd, p, w.fileOffset + (p.remote & (WINDOW_BIG - 1n)), EIO);
  }

  /** Fast path if it can, else the exact one; `buf` holds the requests back to back at `offsets`. */
  private readInto(requests: readonly ReadRequest[], buf: Buffer, offsets: readonly number[]): AddressRange[][] {
    if (this.dead()) addressSpaceGone(this.target, 'a memory read');
    const holes: AddressRange[][] = requests.map(() => []);
    const plan = this.scratch;
    if (!this.preadOnly && planRanges(plan, requests, offsets) && this.copyPlanned(plan, buf, buf.length >= 16 ? wordsOf(buf) : undefined)) {
      this.stats.fast++;
      return holes;
    }
    this.readExact(requests, buf, offsets, holes);
    return holes;
  }

  read(address: bigint, length: number): ReadResult {
    void this.open;
    checkRequest(address, length);
    if (length === 0) return { address, data: Buffer.alloc(0), unreadable: [] };
    const data = Buffer.allocUnsafe(length);
    if (this.dead()) addressSpaceGone(this.target, 'a memory read');
    // The fast path without the arrays readMany needs: the evaluator reads one value at a time.
    const plan = this.scratch;
    plan.count = 0;
    if (!this.preadOnly && planRange(plan, address, length, 0) && this.copyPlanned(plan, data, length >= 16 ? wordsOf(data) : undefined)) {
      this.stats.fast++;
      return { address, data, unreadable: [] };
    }
    const holes: AddressRange[][] = [[]];
    this.readExact([{ address, length }], data, [0], holes);
    return { address, data, unreadable: holes[0] };
  }

  readMany(requests: ReadRequest[]): ReadResult[] {
    void this.open;
    const total = checkRequests(requests);
    const arena = Buffer.allocUnsafe(total);
    const offsets: number[] = new Array(requests.length);
    let off = 0;
    for (let i = 0; i < requests.length; i++) {
      offsets[i] = off;
      off += requests[i].length;
    }
    const holes = this.readInto(requests, arena, offsets);
    return requests.map((r, i) => ({ address: r.address, data: arena.subarray(offsets[i], offsets[i] + r.length), unreadable: holes[i] }));
  }

  /**
   * memory/poll.ts's fast path: the set is planned once (windows and offsets as numbers), then
   * every poll is copyPlanned straight into the caller's array. Falls back to readMany when the
   * status page says the copies cannot be trusted or a range lies beyond user space.
   */
  pollInto(set: PollSet, into: Uint8Array, bad: Uint8Array): number {
    void this.open;
    if (this.dead()) addressSpaceGone(this.target, 'a memory read');
    let plan = this.lastPoll?.set === set ? this.lastPoll.plan : this.pollPlans.get(set);
    if (plan === undefined) {
      const p = newPlan(set.count);
      plan = planRanges(p, set.requests, set.offsets) ? p : null;
      this.pollPlans.set(set, plan);
    }
    if (this.lastPoll?.set !== set) this.lastPoll = { set, plan };
    if (plan && !this.preadOnly) {
      let cached = this.pollInto32;
      if (cached?.bytes !== into) this.pollInto32 = cached = { bytes: into, words: wordsOf(into) };
      if (this.copyPlanned(plan, into, cached.words)) {
        bad.fill(0, 0, set.count);
        this.stats.fast++;
        return 0;
      }
    }
    return pollViaReadMany(this, set, into, bad);
  }

  /** Writes go through pwrite on the access fd: windows are mapped writable only with allowWrites. */
  write(address: bigint, data: Uint8Array): number {
    const fds = this.open;
    if (!this.writable) throw writeDisabledError();
    checkRequest(address, data.length);
    let done = 0;
    while (done < data.length) {
      const at = address + BigInt(done);
      const w = this.window(at);
      const inWindow = Number(WINDOW_BIG - (at & (WINDOW_BIG - 1n)));
      const n = w ? pwriteRaw(fds.accessFd, data, done, Math.min(inWindow, data.length - done), w.fileOffset + (at & (WINDOW_BIG - 1n))) : -EIO;
      if (n > 0) {
        done += n;
        continue;
      }
      if (this.dead()) addressSpaceGone(this.target, 'a memory write');
      this.target.assertAlive('a memory write');
      if (-n === EPERM || -n === EACCES) throw permissionError(this.target.pid, 'write memory');
      throw writeFailedError(address, data.length, done);
    }
    return done;
  }

  close(): void {
    if (!this.fds) return;
    for (const w of this.windows.values()) munmap(w.mapping.address, w.mapping.length);
    this.windows.clear();
    munmap(this.status.mapping.address, this.status.mapping.length);
    closeFds(this.fds);
    this.fds = undefined;
  }
}

/** A pidfd-mem reader that never uses the mapping (pread on the access fd only), for bench:memory. */
export function openPidfdMemPreadOnly(target: TargetHandle): PidfdMemReader {
  const found = detectPidfdMem();
  if (!found.ok) throw new PidscopeError('BACKEND_UNAVAILABLE', found.reason, 'Boot a kernel with the pidfd_mem series (kernel/)', 'user');
  const fds = pidfdMemOpen(found.feature, target.pidfd, target.pid, PIDFD_MEM_NOSIGBUS);
  return new PidfdMemReader(target, fds, { preadOnly: true });
}

export const pidfdMemCandidate: BackendCandidate = {
  kind: 'pidfd-mem',
  strength: 'zero-copy: the target pages mapped into pidscope, a read is a memory load, no system call',
  probe(target, opts) {
    const found = detectPidfdMem();
    if (!found.ok) return { ok: false, reason: found.reason };
    if ((found.feature.flags & PIDFD_MEM_NOSIGBUS) === 0) {
      return { ok: false, reason: "this kernel's pidfd_mem has no SIGBUS-safe mode (PIDFD_MEM_NOSIGBUS), which pidscope needs to survive a racing munmap" };
    }
    let fds: PidfdMemFds;
    try {
      fds = pidfdMemOpen(found.feature, target.pidfd, target.pid, PIDFD_MEM_NOSIGBUS);
    } catch (e) {
      if (e instanceof PidscopeError && e.code === 'ESRCH') throw e;
      if (e instanceof PidscopeError) return { ok: false, reason: `pidfd_mem failed (${e.code})`, error: e };
      throw e;
    }
    try {
      return { ok: true, reader: new PidfdMemReader(target, fds, { allowWrites: opts.allowWrites }) };
    } catch (e) {
      closeFds(fds);
      if (e instanceof PidscopeError) return { ok: false, reason: `pidfd_mem status page: ${e.message}`, error: e };
      throw e;
    }
  },
};
