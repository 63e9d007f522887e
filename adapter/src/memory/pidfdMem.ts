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
import { EFAULT, EIO, EINVAL, ENOMEM, EPERM, EACCES, ESRCH, errnoError, permissionError, processGoneError } from '../linux/errno';
import { preadRaw, pwriteRaw } from '../linux/file';
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
import { writeDisabledError, writeFailedError } from './writeErrors';

const WINDOW_SHIFT = 21n;
const WINDOW = 1 << 21;
const WINDOW_BIG = BigInt(WINDOW);
/** x86-64 user space ends below 2^47 (4-level paging); nothing above is mirrorable. */
const USER_LIMIT = 1n << 47n;
const USER_LIMIT_NUMBER = 2 ** 47;

interface Window {
  fileOffset: bigint;
  mapping: Mapping;
  view: Buffer;
}

/** One stretch of a request that lies inside a single window. */
interface Segment {
  window: Window | undefined;
  remote: bigint;
  length: number;
  buf: Buffer;
  offset: number;
  owner: number;
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
      onStop: (errno: number) => this.onStop(errno),
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
    const w: Window = { fileOffset, mapping, view: viewBuffer(mapping) };
    this.windows.set(index, w);
    this.stats.windows++;
    return w;
  }

  /**
   * The fast path without intermediate objects, for batches whose every range lies inside one
   * window (a poll of scalars): addresses as numbers, the last window remembered. Returns false
   * when a range needs the general path or the status page says the copies cannot be trusted.
   */
  private copyBatchFast(requests: readonly ReadRequest[], bufs: Buffer[], offsets: number[]): boolean {
    const words = this.status.words;
    const seq = words[0];
    const seqHi = words[1];
    if (words[2] !== 0 || words[3] !== 0) return false; // zero pages may stand in for holes
    let lastIndex = -1;
    let view: Buffer | undefined;
    for (let i = 0; i < requests.length; i++) {
      const len = requests[i].length;
      if (len === 0) continue;
      const a = Number(requests[i].address);
      if (a >= USER_LIMIT_NUMBER) return false;
      const index = Math.floor(a / WINDOW);
      const from = a - index * WINDOW;
      if (from + len > WINDOW) return false;
      if (index !== lastIndex) {
        view = this.windowByIndex(index).view;
        lastIndex = index;
      }
      const dst = bufs[i];
      const at = offsets[i];
      if (len <= 16) {
        for (let k = 0; k < len; k++) dst[at + k] = view![from + k];
      } else {
        view!.copy(dst, at, from, from + len);
      }
    }
    return words[0] === seq && words[1] === seqHi;
  }

  /** Splits requests at window boundaries, mapping windows as needed. */
  private segments(requests: readonly ReadRequest[], bufs: Buffer[], offsets: number[]): Segment[] {
    const out: Segment[] = [];
    for (let i = 0; i < requests.length; i++) {
      let remote = requests[i].address;
      let left = requests[i].length;
      let offset = offsets[i];
      while (left > 0) {
        const inWindow = Number(WINDOW_BIG - (remote & (WINDOW_BIG - 1n)));
        const length = Math.min(left, inWindow);
        out.push({ window: this.window(remote), remote, length, buf: bufs[i], offset, owner: i });
        remote += BigInt(length);
        offset += length;
        left -= length;
      }
    }
    return out;
  }

  /** pread through the access fd for one piece inside one window; bytes copied or -errno. */
  private preadPiece(p: Piece): number {
    const w = p.remote < USER_LIMIT ? this.windows.get(Number(p.remote >> WINDOW_SHIFT)) : undefined;
    if (!w) return -EIO;
    const position = w.fileOffset + (p.remote & (WINDOW_BIG - 1n));
    let done = 0;
    while (done < p.length) {
      const n = preadRaw(this.open.accessFd, p.buf, p.offset + done, p.length - done, position + BigInt(done));
      if (n < 0) return done > 0 ? done : n;
      if (n === 0) return done > 0 ? done : -EIO;
      done += n;
    }
    return done;
  }

  private onStop(errno: number): void {
    if (this.dead()) this.throwDead();
    if (errno === 0 || errno === EIO || errno === EFAULT || errno === EINVAL || errno === ENOMEM) {
      this.target.assertAlive('a memory read');
      return;
    }
    this.target.isAlive();
    if (errno === ESRCH) throw processGoneError(this.target.pid, 'a memory read');
    if (errno === EPERM || errno === EACCES) throw permissionError(this.target.pid, 'read memory');
    throw errnoError(errno, this.target.pid, 'pread on the pidfd_mem access fd');
  }

  private throwDead(): never {
    addressSpaceGone(this.target, 'a memory read');
  }

  /**
   * The fast path for a batch: plain copies out of the windows between two samples of `seq`.
   * Returns false when the status page says the copies cannot be trusted.
   */
  private copyFast(segs: Segment[]): boolean {
    const words = this.status.words;
    const seq = words[0];
    const seqHi = words[1];
    if (words[2] !== 0 || words[3] !== 0) return false; // zero pages may stand in for holes
    for (const s of segs) {
      if (!s.window) return false;
      const from = Number(s.remote & (WINDOW_BIG - 1n));
      if (s.length <= 16) {
        // Short values dominate polls; a byte loop beats Buffer.copy's call overhead here.
        const v = s.window.view;
        for (let k = 0; k < s.length; k++) s.buf[s.offset + k] = v[from + k];
      } else {
        s.window.view.copy(s.buf, s.offset, from, from + s.length);
      }
    }
    return words[0] === seq && words[1] === seqHi;
  }

  private readSegments(requests: readonly ReadRequest[], bufs: Buffer[], offsets: number[]): AddressRange[][] {
    const holes: AddressRange[][] = requests.map(() => []);
    if (this.dead()) this.throwDead();
    if (!this.preadOnly && this.copyBatchFast(requests, bufs, offsets)) {
      this.stats.fast++;
      return holes;
    }
    const segs = this.segments(requests, bufs, offsets);
    if (this.dead()) this.throwDead();
    if (!this.preadOnly && this.copyFast(segs)) {
      this.stats.fast++;
      return holes;
    }
    this.stats.slow++;
    const pieces: Piece[] = segs.map((s) => ({ remote: s.remote, length: s.length, buf: s.buf, offset: s.offset, owner: s.owner }));
    scatter(pieces, this.slowHooks, holes);
    if (this.dead()) this.throwDead();
    return holes;
  }

  read(address: bigint, length: number): ReadResult {
    void this.open;
    checkRequest(address, length);
    if (length === 0) return { address, data: Buffer.alloc(0), unreadable: [] };
    const data = Buffer.allocUnsafe(length);
    const [unreadable] = this.readSegments([{ address, length }], [data], [0]);
    return { address, data, unreadable };
  }

  readMany(requests: ReadRequest[]): ReadResult[] {
    void this.open;
    const total = checkRequests(requests);
    const arena = Buffer.allocUnsafe(total);
    const offsets: number[] = new Array(requests.length);
    const bufs: Buffer[] = new Array(requests.length);
    let off = 0;
    for (let i = 0; i < requests.length; i++) {
      offsets[i] = off;
      bufs[i] = arena;
      off += requests[i].length;
    }
    const holes = this.readSegments(requests, bufs, offsets);
    return requests.map((r, i) => ({ address: r.address, data: arena.subarray(offsets[i], offsets[i] + r.length), unreadable: holes[i] }));
  }

  /** Per poll set: each range's window index and offset in it (undefined: some range needs the general path). */
  private readonly pollPlans = new WeakMap<PollSet, { window: Float64Array; from: Uint32Array } | null>();

  private planPoll(set: PollSet): { window: Float64Array; from: Uint32Array } | null {
    const window = new Float64Array(set.count);
    const from = new Uint32Array(set.count);
    for (let i = 0; i < set.count; i++) {
      const a = Number(set.requests[i].address);
      if (a >= USER_LIMIT_NUMBER) return null;
      const index = Math.floor(a / WINDOW);
      const f = a - index * WINDOW;
      if (f + set.lengths[i] > WINDOW) return null;
      window[i] = index;
      from[i] = f;
    }
    return { window, from };
  }

  /**
   * memory/poll.ts's fast path: plain loads from the mapped windows straight into the caller's
   * array between two samples of the status page's `seq`, with the addresses turned into
   * windows and offsets once per set. Falls back to readMany when the status page says the
   * copies cannot be trusted or a range crosses a window.
   */
  pollInto(set: PollSet, into: Uint8Array, bad: Uint8Array): number {
    void this.open;
    if (this.dead()) this.throwDead();
    let plan = this.pollPlans.get(set);
    if (plan === undefined) this.pollPlans.set(set, (plan = this.planPoll(set)));
    if (plan && !this.preadOnly) {
      const words = this.status.words;
      const seq = words[0];
      const seqHi = words[1];
      if (words[2] === 0 && words[3] === 0) {
        const { window, from } = plan;
        const { lengths, offsets } = set;
        let lastIndex = -1;
        let view: Buffer | undefined;
        for (let i = 0; i < set.count; i++) {
          const len = lengths[i];
          if (len === 0) continue;
          const index = window[i];
          if (index !== lastIndex) {
            view = this.windowByIndex(index).view;
            lastIndex = index;
          }
          const f = from[i];
          const at = offsets[i];
          if (len <= 16) {
            for (let k = 0; k < len; k++) into[at + k] = view![f + k];
          } else into.set(view!.subarray(f, f + len), at);
        }
        if (words[0] === seq && words[1] === seqHi) {
          bad.fill(0, 0, set.count);
          this.stats.fast++;
          return 0;
        }
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
      if (this.dead()) this.throwDead();
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
