/**
 * perf_event_open(PERF_TYPE_BREAKPOINT) for watchpoints that never stop the target: the CPU's
 * debug registers count every access in the kernel, perf records (ip, tid, time) into a ring
 * buffer we mmap, and the target thread continues after a trap of a microsecond or two.
 *
 * Only this file talks to the kernel's perf interface; adapter/src/watch/ builds on it.
 * x86_64 only (syscall number, ioctl numbers, debug register rules).
 */
import { readFileSync } from 'node:fs';
import { readPerfEventParanoid } from '../proc/kernel';
import { PidscopeError } from '../errors';
import { EACCES, EMFILE, ENODEV, ENOENT, ENOSPC, EOPNOTSUPP, EPERM, ESRCH, strerror } from './errno';
import { koffi, lastErrno, libc, PAGE_SIZE, sys } from './libc';
import { MAP_SHARED, munmap, PROT_READ, PROT_WRITE, tryMmap, type Mapping } from './mmap';

// Variadic `syscall` is the only way to reach perf_event_open; it is called once per thread.
const syscall6 = sys.syscall;
// Only perf needs these two from libc (declared on the one libc handle of linux/libc.ts).
const ioctl = libc.func('int ioctl(int fd, unsigned long request, ...)');
const read_ = libc.func('long read(int fd, _Out_ uint8_t *buf, size_t count)');
// The breakpoint probe writes through libc, as a C program would (see probeBreakpointFires).
const memset_ = libc.func('void *memset(void *s, int c, size_t n)');

const SYS_perf_event_open = 298;
const SYS_gettid = 186;
const PERF_TYPE_BREAKPOINT = 5;
const PERF_FLAG_FD_CLOEXEC = 8;

export const HW_BREAKPOINT_R = 1;
export const HW_BREAKPOINT_W = 2;
export const HW_BREAKPOINT_RW = 3;

const PERF_SAMPLE_IP = 1n << 0n;
const PERF_SAMPLE_TID = 1n << 1n;
const PERF_SAMPLE_TIME = 1n << 2n;
const PERF_SAMPLE_ADDR = 1n << 3n;
const PERF_SAMPLE_REGS_USER = 1n << 12n;
const PERF_SAMPLE_STACK_USER = 1n << 13n;

// perf_event_attr bit-field flags (bit numbers from include/uapi/linux/perf_event.h).
const ATTR_DISABLED = 1n << 0n;
const ATTR_INHERIT = 1n << 1n;
const ATTR_EXCLUDE_KERNEL = 1n << 5n;
const ATTR_EXCLUDE_HV = 1n << 6n;
const ATTR_COMM = 1n << 9n;
const ATTR_TASK = 1n << 13n;
const ATTR_WATERMARK = 1n << 14n;
const ATTR_COMM_EXEC = 1n << 24n;
const ATTR_INHERIT_THREAD = 1n << 35n;
const ATTR_REMOVE_ON_EXEC = 1n << 36n;

const PERF_ATTR_SIZE = 128; // PERF_ATTR_SIZE_VER8

const PERF_EVENT_IOC_ENABLE = 0x2400;
const PERF_EVENT_IOC_DISABLE = 0x2401;
const PERF_EVENT_IOC_REFRESH = 0x2402;
const PERF_EVENT_IOC_RESET = 0x2403;
const PERF_EVENT_IOC_SET_OUTPUT = 0x2405;

// Offsets inside struct perf_event_mmap_page.
const MMAP_DATA_HEAD = 1024;
const MMAP_DATA_TAIL = 1032;
const MMAP_DATA_OFFSET = 1040;
const MMAP_DATA_SIZE = 1048;

const PERF_RECORD_LOST = 2;
const PERF_RECORD_COMM = 3;
const PERF_RECORD_EXIT = 4;
const PERF_RECORD_THROTTLE = 5;
const PERF_RECORD_UNTHROTTLE = 6;
const PERF_RECORD_FORK = 7;
const PERF_RECORD_SAMPLE = 9;
const PERF_RECORD_LOST_SAMPLES = 13;
const PERF_RECORD_MISC_COMM_EXEC = 1 << 13;

/** A syscall failure that keeps its errno so callers can decide (fall back, skip a thread, ...). */
export class PerfSyscallError extends Error {
  constructor(
    readonly call: string,
    readonly errno: number,
  ) {
    super(`${call}: ${strerror(errno)} (errno ${errno})`);
    this.name = 'PerfSyscallError';
  }
}

export type BreakpointLength = 1 | 2 | 4 | 8;
export type BreakpointAccess = 'write' | 'readwrite';

export interface BreakpointOptions {
  /** Thread id to attach to (a tid from /proc/PID/task; the main thread's tid is the pid). */
  tid: number;
  /**
   * CPU to count on, or -1 for all. The kernel refuses to mmap an inherited per-task event with
   * cpu -1, so watchpoints that must follow new threads open one event per (thread, CPU) with
   * `inherit` and send each CPU's events into one ring (setOutput).
   */
  cpu: number;
  address: bigint;
  length: BreakpointLength;
  access: BreakpointAccess;
  /** Threads this thread creates later get their own copy of the event, feeding the same ring. */
  inherit: boolean;
  /** Also record FORK/EXIT of threads and COMM (exec) records into the ring. */
  sideband?: boolean;
  /** Record the watched range's address with each sample (which of a split watch's ranges hit). */
  sampleAddr?: boolean;
  /**
   * When poll() wakes up: after every `events` samples (default 1), or once `watermarkBytes` of
   * records are waiting. Every wakeup costs the writing thread an irq_work self-interrupt, so a
   * watermark keeps hot variables cheap (drain on a timer then).
   */
  wakeup?: { events: number } | { watermarkBytes: number };
  /** Count only (no samples, no ring): the cheapest form, for benchmarks. */
  countOnly?: boolean;
  /**
   * Also record these user registers with each sample (PERF_SAMPLE_REGS_USER; a perf_regs bit
   * mask), from which the value a MOV stored can be recovered.
   */
  sampleRegs?: bigint;
}

export interface PerfSample {
  kind: 'sample';
  ip: bigint;
  pid: number;
  tid: number;
  /** perf clock (CLOCK_MONOTONIC-like, ns). */
  time: bigint;
  addr?: bigint;
  /** User registers at the trap, indexed by perf_regs number (only the sampled ones are set). */
  regs?: (bigint | undefined)[];
  /** PERF_SAMPLE_STACK_USER: a copy of the user stack from the sampled sp (dyn_size bytes). */
  stack?: Buffer;
}

export type PerfRecord =
  | PerfSample
  | { kind: 'lost'; lost: bigint }
  | { kind: 'fork' | 'exit'; pid: number; ppid: number; tid: number; ptid: number; time: bigint }
  | { kind: 'comm'; pid: number; tid: number; comm: string; exec: boolean }
  | { kind: 'throttle' | 'unthrottle'; time: bigint }
  | { kind: 'other'; type: number };

/** The x86 rule: a debug register watches 1, 2, 4 or 8 bytes at an address aligned to that length. */
export function isValidBreakpoint(address: bigint, length: number): length is BreakpointLength {
  return (length === 1 || length === 2 || length === 4 || length === 8) && address % BigInt(length) === 0n;
}

function buildAttr(o: BreakpointOptions): Buffer {
  const attr = Buffer.alloc(PERF_ATTR_SIZE);
  attr.writeUInt32LE(PERF_TYPE_BREAKPOINT, 0); // type
  attr.writeUInt32LE(PERF_ATTR_SIZE, 4); // size
  attr.writeBigUInt64LE(0n, 8); // config
  attr.writeBigUInt64LE(o.countOnly ? 0n : 1n, 16); // sample_period: every access
  let sampleType = PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME;
  if (o.sampleAddr) sampleType |= PERF_SAMPLE_ADDR;
  if (o.sampleRegs) sampleType |= PERF_SAMPLE_REGS_USER;
  attr.writeBigUInt64LE(sampleType, 24);
  attr.writeBigUInt64LE(0n, 32); // read_format: a plain u64 count
  // remove_on_exec: after an exec the address means nothing; the COMM(exec) record tells us.
  let flags = ATTR_DISABLED | ATTR_EXCLUDE_KERNEL | ATTR_EXCLUDE_HV | ATTR_REMOVE_ON_EXEC;
  // inherit_thread: threads inherit the event, forked child processes do not (their writes to
  // their copy of the page are not the target's).
  if (o.inherit) flags |= ATTR_INHERIT | ATTR_INHERIT_THREAD;
  if (o.sideband) flags |= ATTR_TASK | ATTR_COMM | ATTR_COMM_EXEC;
  const wakeup = o.wakeup ?? { events: 1 };
  if ('watermarkBytes' in wakeup) flags |= ATTR_WATERMARK;
  attr.writeBigUInt64LE(flags, 40);
  // wakeup_events, or (with the watermark flag) wakeup_watermark: the same union in the ABI.
  attr.writeUInt32LE('watermarkBytes' in wakeup ? wakeup.watermarkBytes : wakeup.events, 48);
  attr.writeUInt32LE(o.access === 'write' ? HW_BREAKPOINT_W : HW_BREAKPOINT_RW, 52); // bp_type
  attr.writeBigUInt64LE(o.address, 56); // bp_addr
  attr.writeBigUInt64LE(BigInt(o.length), 64); // bp_len
  if (o.sampleRegs) attr.writeBigUInt64LE(o.sampleRegs, 80); // sample_regs_user
  return attr;
}

/**
 * Opens one breakpoint event, disabled. Returns the fd; throws PerfSyscallError with the errno
 * (EACCES/EPERM: not permitted, ENOSPC: debug registers full, ESRCH: thread gone).
 */
export function openBreakpoint(options: BreakpointOptions): number {
  if (!isValidBreakpoint(options.address, options.length)) {
    throw new PidscopeError(
      'HW_ALIGN',
      `a hardware watchpoint of ${options.length} bytes needs an address aligned to ${options.length} (got 0x${options.address.toString(16)})`,
      'Use --mode poll, or watch an aligned object',
    );
  }
  if (process.env.PIDSCOPE_PERF === 'deny') throw new PerfSyscallError('perf_event_open', EACCES);
  const attr = buildAttr(options);
  const fd = Number(syscall6(SYS_perf_event_open, 'void *', attr, 'int', options.tid, 'int', options.cpu, 'int', -1, 'unsigned long', PERF_FLAG_FD_CLOEXEC));
  if (fd < 0) throw new PerfSyscallError('perf_event_open', lastErrno());
  return fd;
}

function ioctlOrThrow(fd: number, request: number, arg: number, name: string): void {
  if (ioctl(fd, request, 'long', arg) < 0) throw new PerfSyscallError(`ioctl(${name})`, lastErrno());
}

export function enableEvent(fd: number): void {
  ioctlOrThrow(fd, PERF_EVENT_IOC_ENABLE, 0, 'PERF_EVENT_IOC_ENABLE');
}

export function disableEvent(fd: number): void {
  ioctlOrThrow(fd, PERF_EVENT_IOC_DISABLE, 0, 'PERF_EVENT_IOC_DISABLE');
}

/** Resets the event's counter to zero. */
export function resetEvent(fd: number): void {
  ioctlOrThrow(fd, PERF_EVENT_IOC_RESET, 0, 'PERF_EVENT_IOC_RESET');
}

/** Enables for `n` more overflows, then the event disables itself (PERF_EVENT_IOC_REFRESH). */
export function refreshEvent(fd: number, n: number): void {
  ioctlOrThrow(fd, PERF_EVENT_IOC_REFRESH, n, 'PERF_EVENT_IOC_REFRESH');
}

/** Sends `fd`'s records into `ringFd`'s ring buffer (same CPU; `fd` must not be mmap'd). */
export function setOutput(fd: number, ringFd: number): void {
  ioctlOrThrow(fd, PERF_EVENT_IOC_SET_OUTPUT, ringFd, 'PERF_EVENT_IOC_SET_OUTPUT');
}

/**
 * The kernel's count of accesses for this event (inherited children add theirs when they
 * exit). It keeps counting when the ring overflows, so it is the honest total.
 */
export function readCount(fd: number): bigint {
  const buf = Buffer.alloc(8);
  const n = Number(read_(fd, buf, 8));
  if (n !== 8) throw new PerfSyscallError('read(perf fd)', lastErrno());
  return buf.readBigUInt64LE(0);
}

export function closeFd(fd: number): void {
  sys.close(fd);
}

/** CPUs the kernel may run threads on, from /sys/devices/system/cpu/possible ("0-3,6"). */
export function possibleCpus(): number[] {
  let text = '0';
  try {
    text = readFileSync('/sys/devices/system/cpu/possible', 'utf8').trim();
  } catch {
    /* assume one CPU */
  }
  const out: number[] = [];
  for (const part of text.split(',')) {
    const [a, b] = part.split('-').map(Number);
    if (a === undefined || Number.isNaN(a)) continue;
    for (let c = a; c <= (b ?? a); c++) out.push(c);
  }
  return out;
}

/**
 * The mmap'd ring buffer of one perf event (and of every event redirected into it).
 */
export class PerfRing {
  private readonly mapping: Mapping;
  private head64: BigUint64Array;
  private data: Uint8Array;
  private readonly dataSize: number;
  private closed = false;
  private pollHandle: ReturnType<typeof koffi.node.poll> | undefined;
  private readonly sampleAddr: boolean;
  private readonly regIndexes: number[];
  private readonly sampleStack: boolean;
  private readonly scratch = Buffer.alloc(512);

  /** Maps `fd`'s ring: one control page plus `dataPages` (a power of two) of data. */
  constructor(
    readonly fd: number,
    options: { dataPages?: number; sampleAddr?: boolean; sampleRegs?: bigint; sampleStack?: boolean } = {},
  ) {
    const dataPages = options.dataPages ?? 16;
    this.sampleAddr = options.sampleAddr ?? false;
    this.sampleStack = options.sampleStack ?? false;
    this.regIndexes = [];
    for (let b = 0; b < 64; b++) if (((options.sampleRegs ?? 0n) >> BigInt(b)) & 1n) this.regIndexes.push(b);
    const mapping = tryMmap((1 + dataPages) * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0n);
    if (typeof mapping === 'number') throw new PerfSyscallError('mmap(perf ring buffer)', mapping);
    this.mapping = mapping;
    const whole = koffi.view(mapping.pointer, mapping.length);
    this.head64 = new BigUint64Array(whole, 0, PAGE_SIZE / 8);
    const dv = new DataView(whole, 0, PAGE_SIZE);
    const dataOffset = Number(dv.getBigUint64(MMAP_DATA_OFFSET, true)) || PAGE_SIZE;
    this.dataSize = Number(dv.getBigUint64(MMAP_DATA_SIZE, true)) || dataPages * PAGE_SIZE;
    this.data = new Uint8Array(whole, dataOffset, this.dataSize);
  }

  /** Bytes waiting in the ring. */
  pending(): number {
    if (this.closed) return 0;
    return Number(Atomics.load(this.head64, MMAP_DATA_HEAD / 8) - this.head64[MMAP_DATA_TAIL / 8]!);
  }

  /**
   * Reads every complete record, then publishes the new tail so the kernel can reuse the space.
   * data_head is loaded with Atomics.load (sequentially consistent: no record byte is read before
   * the head that covers it, the smp_rmb the ABI asks for) and data_tail is stored with
   * Atomics.store after the last byte is consumed (the smp_mb before the tail write). Records
   * are copied out of the ring before the callback runs, so a callback may close the ring.
   */
  drain(onRecord: (r: PerfRecord) => void): number {
    if (this.closed) return 0;
    const headIdx = MMAP_DATA_HEAD / 8;
    const tailIdx = MMAP_DATA_TAIL / 8;
    const head = Atomics.load(this.head64, headIdx);
    let tail = this.head64[tailIdx]!;
    const size = this.dataSize;
    const records: PerfRecord[] = [];
    while (tail < head) {
      const off = Number(tail % BigInt(size));
      const hdr = this.copyOut(off, 8, this.scratch);
      const type = hdr.readUInt32LE(0);
      const misc = hdr.readUInt16LE(4);
      const recSize = hdr.readUInt16LE(6);
      if (recSize < 8 || tail + BigInt(recSize) > head) {
        // Records below data_head are complete; a bad size means we lost our place: skip to the
        // head rather than stall the ring for ever.
        tail = head;
        break;
      }
      const bodyLen = recSize - 8;
      const body = this.copyOut((off + 8) % size, bodyLen, bodyLen <= this.scratch.length ? this.scratch : Buffer.alloc(bodyLen));
      records.push(this.parse(type, misc, body));
      tail += BigInt(recSize);
    }
    Atomics.store(this.head64, tailIdx, tail);
    for (const r of records) onRecord(r);
    return records.length;
  }

  private copyOut(off: number, len: number, into: Buffer): Buffer {
    const size = this.dataSize;
    if (off + len <= size) {
      into.set(this.data.subarray(off, off + len), 0);
    } else {
      const first = size - off;
      into.set(this.data.subarray(off, size), 0);
      into.set(this.data.subarray(0, len - first), first);
    }
    return into.subarray(0, len);
  }

  private parse(type: number, misc: number, b: Buffer): PerfRecord {
    switch (type) {
      case PERF_RECORD_SAMPLE: {
        const s: PerfSample = { kind: 'sample', ip: b.readBigUInt64LE(0), pid: b.readUInt32LE(8), tid: b.readUInt32LE(12), time: b.readBigUInt64LE(16) };
        let o = 24;
        if (this.sampleAddr) {
          s.addr = b.readBigUInt64LE(o);
          o += 8;
        }
        if (this.regIndexes.length > 0 && o + 8 <= b.length) {
          const abi = b.readBigUInt64LE(o);
          o += 8;
          // abi 0: no user registers (the trap came from a kernel thread); 2: 64-bit.
          if (abi === 2n && o + 8 * this.regIndexes.length <= b.length) {
            const regs: (bigint | undefined)[] = [];
            for (const idx of this.regIndexes) {
              regs[idx] = b.readBigUInt64LE(o);
              o += 8;
            }
            s.regs = regs;
          }
        }
        if (this.sampleStack && o + 8 <= b.length) {
          // u64 size; char data[size]; u64 dyn_size (only when size != 0): the bytes copied.
          const size = Number(b.readBigUInt64LE(o));
          o += 8;
          if (size > 0 && o + size + 8 <= b.length) {
            const dyn = Number(b.readBigUInt64LE(o + size));
            s.stack = Buffer.from(b.subarray(o, o + Math.min(dyn, size)));
          } else s.stack = Buffer.alloc(0);
        }
        return s;
      }
      case PERF_RECORD_LOST:
        return { kind: 'lost', lost: b.readBigUInt64LE(8) };
      case PERF_RECORD_LOST_SAMPLES:
        return { kind: 'lost', lost: b.readBigUInt64LE(0) };
      case PERF_RECORD_FORK:
      case PERF_RECORD_EXIT:
        return {
          kind: type === PERF_RECORD_FORK ? 'fork' : 'exit',
          pid: b.readUInt32LE(0),
          ppid: b.readUInt32LE(4),
          tid: b.readUInt32LE(8),
          ptid: b.readUInt32LE(12),
          time: b.readBigUInt64LE(16),
        };
      case PERF_RECORD_COMM: {
        const end = b.indexOf(0, 8);
        return {
          kind: 'comm',
          pid: b.readUInt32LE(0),
          tid: b.readUInt32LE(4),
          comm: b.toString('utf8', 8, end < 0 ? b.length : end),
          exec: (misc & PERF_RECORD_MISC_COMM_EXEC) !== 0,
        };
      }
      case PERF_RECORD_THROTTLE:
      case PERF_RECORD_UNTHROTTLE:
        return { kind: type === PERF_RECORD_THROTTLE ? 'throttle' : 'unthrottle', time: b.readBigUInt64LE(0) };
      default:
        return { kind: 'other', type };
    }
  }

  /**
   * Calls `onReady` from the Node event loop whenever the kernel wakes the ring: libuv polls the
   * fd, so nothing blocks and no thread is spent. Ends with stopWatching() or close().
   */
  watchReadable(onReady: () => void): void {
    if (this.closed || this.pollHandle) return;
    // koffi 3.3 calls back with (status, events), not the (events) its typings declare.
    const cb = (status: unknown, ev?: { readable?: boolean; disconnect?: boolean }) => {
      if (typeof status === 'object') ev = status as typeof ev;
      if (!ev || ev.readable || ev.disconnect) onReady();
    };
    const h = koffi.node.poll(this.fd, { readable: true }, cb as unknown as (ev: unknown) => void);
    h.unref();
    this.pollHandle = h;
  }

  /** Stops libuv watching the fd (the ring keeps filling; drain it on a timer). */
  stopWatching(): void {
    if (this.pollHandle) {
      this.pollHandle.close();
      this.pollHandle = undefined;
    }
  }

  get watching(): boolean {
    return this.pollHandle !== undefined;
  }

  /** Unmaps the ring (the fd stays open: the caller owns it). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopWatching();
    // Drop the typed views before unmapping: touching them afterwards would fault.
    this.head64 = new BigUint64Array(0);
    this.data = new Uint8Array(0);
    munmap(this.mapping.address, this.mapping.length);
  }
}

/**
 * What probeBreakpointFires found:
 *   fires        a debug-register breakpoint counted the writes it watched
 *   nofire       perf accepted the breakpoint but it counted nothing (the hypervisor delivers no
 *                debug-register traps: seen on 2-core AMD EPYC guests)
 *   refused      perf_event_open refused (permissions, no PMU for breakpoints, fds)
 *   unsupported  not x86_64 (the only architecture pidscope arms debug registers on)
 */
export interface BreakpointProbe {
  result: 'fires' | 'nofire' | 'refused' | 'unsupported';
  ok: boolean;
  /** One sentence with the evidence, e.g. "counted 8 of 8 writes". */
  detail: string;
  /** Why hardware watchpoints cannot be used, with the fix; undefined when ok. */
  reason?: string;
  errno?: number;
  /** Writes made and counted by the breakpoint. */
  writes: number;
  counted: number;
  /** The environment switch that forced this result, if any. */
  simulated?: string;
}

const PROBE_WRITES = 8;

/**
 * Checks that a hardware breakpoint actually FIRES here: a write breakpoint on an 8-byte word of
 * this process, on the calling thread, then PROBE_WRITES writes to it through libc's memset (a
 * plain store, as a C program makes) and the kernel's count read back. perf_event_open succeeding
 * proves nothing: some hypervisors accept the breakpoint and never deliver the trap. Costs one
 * syscall round trip (well under a millisecond); nothing else is touched.
 *
 * Switches, for testing the fallbacks: PIDSCOPE_PERF=deny (perf_event_open refused, EACCES) and
 * PIDSCOPE_HWBP=nofire (the breakpoint is armed for real, but the probe reports that it counted
 * nothing, as on a host without debug-register traps).
 */
export function probeBreakpointFires(): BreakpointProbe {
  const none = { writes: 0, counted: 0 };
  if (process.env.PIDSCOPE_PERF === 'deny') {
    return {
      result: 'refused',
      ok: false,
      errno: EACCES,
      ...none,
      simulated: 'PIDSCOPE_PERF=deny',
      detail: 'perf_event_open refused (simulated by PIDSCOPE_PERF=deny)',
      reason: `${describePerfErrno(EACCES)} (simulated by PIDSCOPE_PERF=deny)`,
    };
  }
  if (process.arch !== 'x64') {
    const reason = `hardware watchpoints are implemented for x86_64 only (this is ${process.arch})`;
    return { result: 'unsupported', ok: false, ...none, detail: reason, reason };
  }
  const tid = Number(syscall6(SYS_gettid));
  const buf = Buffer.alloc(24);
  const base = koffi.address(buf) as bigint;
  const offset = Number((8n - (base % 8n)) % 8n);
  const attr = buildAttr({ tid, cpu: -1, address: base + BigInt(offset), length: 8, access: 'write', inherit: false, countOnly: true });
  const fd = Number(syscall6(SYS_perf_event_open, 'void *', attr, 'int', tid, 'int', -1, 'int', -1, 'unsigned long', PERF_FLAG_FD_CLOEXEC));
  if (fd < 0) {
    const errno = lastErrno();
    const reason = describePerfErrno(errno);
    return { result: 'refused', ok: false, errno, ...none, detail: `perf_event_open(PERF_TYPE_BREAKPOINT) failed: ${strerror(errno)}`, reason };
  }
  let counted = 0;
  try {
    enableEvent(fd);
    const word = buf.subarray(offset, offset + 8);
    for (let i = 1; i <= PROBE_WRITES; i++) memset_(word, i, 8);
    disableEvent(fd);
    counted = Number(readCount(fd));
  } catch (e) {
    const errno = e instanceof PerfSyscallError ? e.errno : 0;
    const reason = `the probe breakpoint could not be used: ${e instanceof Error ? e.message : String(e)}`;
    return { result: 'refused', ok: false, errno, ...none, detail: reason, reason };
  } finally {
    sys.close(fd);
  }
  if (process.env.PIDSCOPE_HWBP === 'nofire') {
    return {
      result: 'nofire',
      ok: false,
      writes: PROBE_WRITES,
      counted: 0,
      simulated: 'PIDSCOPE_HWBP=nofire',
      detail: `armed, but counted nothing for ${PROBE_WRITES} memset calls (simulated by PIDSCOPE_HWBP=nofire; the kernel really counted ${counted})`,
      reason: 'hardware breakpoints do not fire on this host (simulated by PIDSCOPE_HWBP=nofire)',
    };
  }
  if (counted === 0) {
    return {
      result: 'nofire',
      ok: false,
      writes: PROBE_WRITES,
      counted,
      detail: `armed, but counted nothing for ${PROBE_WRITES} memset calls on a word of pidscope's own`,
      reason: `hardware breakpoints do not fire on this host: perf accepted a debug-register breakpoint on a word of pidscope's own, then counted none of ${PROBE_WRITES} writes to it (the hypervisor delivers no debug-register traps)`,
    };
  }
  return {
    result: 'fires',
    ok: true,
    writes: PROBE_WRITES,
    counted,
    detail: `counted ${counted} stores for ${PROBE_WRITES} memset calls on a word of pidscope's own`,
  };
}

export interface SoftwareSamplerOptions {
  tid: number;
  /** 'task-clock': fires while the thread runs; 'context-switches': at each switch-out. */
  event: 'task-clock' | 'context-switches';
  /** Nanoseconds of CPU time (task-clock) or switches between samples. */
  period: bigint;
  /** PERF_SAMPLE_REGS_USER mask (perf_regs numbering). */
  regsMask: bigint;
  /** Bytes of user stack copied with each sample (multiple of 8, < 64 KiB). */
  stackBytes: number;
  /** Count kernel-side too: needed for context-switch samples (root or perf_event_paranoid <= 1). */
  includeKernel?: boolean;
}

/**
 * Opens a software sampling event on one thread, enabled, with user registers and a copy of
 * the user stack in each sample: a snapshot of a thread that keeps running (no ptrace, no
 * signal). Throws PerfSyscallError (EACCES/EPERM: not permitted, ESRCH: thread gone).
 */
export function openSoftwareSampler(o: SoftwareSamplerOptions): number {
  if (process.env.PIDSCOPE_PERF === 'deny') throw new PerfSyscallError('perf_event_open', EACCES);
  const attr = Buffer.alloc(PERF_ATTR_SIZE);
  attr.writeUInt32LE(1, 0); // PERF_TYPE_SOFTWARE
  attr.writeUInt32LE(PERF_ATTR_SIZE, 4);
  attr.writeBigUInt64LE(o.event === 'task-clock' ? 1n : 3n, 8); // PERF_COUNT_SW_TASK_CLOCK / CONTEXT_SWITCHES
  attr.writeBigUInt64LE(o.period, 16);
  attr.writeBigUInt64LE(PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER, 24);
  let flags = ATTR_EXCLUDE_HV | ATTR_REMOVE_ON_EXEC;
  if (!o.includeKernel) flags |= ATTR_EXCLUDE_KERNEL;
  attr.writeBigUInt64LE(flags, 40);
  attr.writeUInt32LE(1, 48); // wakeup_events
  attr.writeBigUInt64LE(o.regsMask, 80); // sample_regs_user
  attr.writeUInt32LE(o.stackBytes, 88); // sample_stack_user
  const fd = Number(syscall6(SYS_perf_event_open, 'void *', attr, 'int', o.tid, 'int', -1, 'int', -1, 'unsigned long', PERF_FLAG_FD_CLOEXEC));
  if (fd < 0) throw new PerfSyscallError('perf_event_open', lastErrno());
  return fd;
}

/** One sentence: why perf_event_open failed and what to do about it. */
export function describePerfErrno(errno: number): string {
  const paranoid = readPerfEventParanoid() ?? '?'; // absent: no perf support at all
  switch (errno) {
    case EACCES:
    case EPERM:
      return `perf_event_open was refused (${strerror(errno)}; kernel.perf_event_paranoid=${paranoid}): run as the target's user with kernel.perf_event_paranoid <= 2, or with CAP_PERFMON, or as root`;
    case ENOENT:
    case ENODEV:
    case EOPNOTSUPP:
      return `this kernel or machine offers no hardware breakpoints to perf (${strerror(errno)})`;
    case ENOSPC:
      return 'all 4 debug registers of the thread are in use (by other watchpoints or another debugger)';
    case ESRCH:
      return 'the thread exited';
    case EMFILE:
      return 'too many open files: raise the limit with ulimit -n';
    default:
      return `perf_event_open failed: ${strerror(errno)} (errno ${errno})`;
  }
}
