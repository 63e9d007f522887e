/**
 * One hardware watchpoint on every thread of a process, through perf breakpoint events.
 *
 * Threads: the kernel will not mmap an inherited per-task event with cpu -1, so each thread gets
 * one event per CPU with `inherit` set, and every event on CPU c writes into one ring (the first
 * event opened on c owns it; the others are redirected with PERF_EVENT_IOC_SET_OUTPUT). Threads
 * created later by a watched thread inherit the events and write into the same rings; the FORK
 * records (attr.task) name them. A thread that appeared between our /proc scan and the open of
 * its creator's event is not covered by inheritance: a rescan of /proc/PID/task (at start until
 * stable, then periodically) opens events for every thread neither opened nor seen forking.
 *
 * Scale: a watch holds threads x CPUs x ranges perf fds (ranges: 1 to 4 debug registers), e.g.
 * 2,001 threads x 2 CPUs x 1 = 4,002 fds; threads created later cost no fd (the kernel keeps
 * their inherited copies). Before opening anything the count is checked against what
 * RLIMIT_NOFILE leaves (FD_RESERVE fds are kept free for everything else): over it, the watch is
 * refused with the numbers and the fix, and the engine polls instead. Arming is one pass over the
 * threads in chunks of ARM_CHUNK, yielding to the event loop between chunks, so Ctrl-C, timers
 * and close() act at once even on a process with thousands of threads.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { SAMPLE_REGS_MASK } from './x86store';
import {
  closeFd,
  describePerfErrno,
  enableEvent,
  openBreakpoint,
  PerfRing,
  PerfSyscallError,
  possibleCpus,
  readCount,
  setOutput,
  type BreakpointLength,
  type PerfSample,
} from '../linux/perf';
import { EMFILE, ENODEV, ENOSPC, ESRCH } from '../linux/errno';

export interface HardwareWatchOptions {
  pid: number;
  ranges: { address: bigint; length: BreakpointLength }[];
  access: 'write' | 'readwrite';
  /** Called from the event loop when a ring has data (the owner drains with drain()). */
  onReadable: () => void;
  onStatus?: (message: string, level: 'info' | 'warning' | 'error') => void;
  /** The process exec'd: the watched address means nothing any more. */
  onExec?: () => void;
  /** Data pages per ring (per CPU); default 16. */
  ringPages?: number;
  /** Record registers to recover stored values (default true). */
  recoverValues?: boolean;
  /**
   * Arming continues after start() returned (processes with more than ARM_CHUNK threads) and
   * failed for good (fds ran out meanwhile): every event is closed, the watch is dead.
   */
  onFailed?: (reason: string) => void;
  /** Arming finished (every thread covered); called only when it took more than one chunk. */
  onArmed?: (threads: number, fds: number, ms: number) => void;
}

/** Threads armed per turn of the event loop (about 20-40 ms of syscalls with 2 CPUs). */
export const ARM_CHUNK = 128;
/** fds left for everything that is not a perf event (files, sockets, rings, Node itself). */
export const FD_RESERVE = 256;

/** RLIMIT_NOFILE (soft) and how many fds this process holds now. */
export function fdUsage(): { limit: number; open: number } {
  let limit = 1024;
  const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
  if (m) limit = m[1] === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(m[1]);
  let open = 0;
  try {
    open = readdirSync('/proc/self/fd').length;
  } catch {
    /* assume none */
  }
  return { limit, open };
}

/** CPUs to open events on: the online ones (a CPU hot-added later is not covered), else possible. */
function usableCpus(): number[] {
  try {
    const text = readFileSync('/sys/devices/system/cpu/online', 'utf8').trim();
    const out: number[] = [];
    for (const part of text.split(',')) {
      const [a, b] = part.split('-').map(Number);
      if (a === undefined || Number.isNaN(a)) continue;
      for (let c = a; c <= (b ?? a); c++) out.push(c);
    }
    if (out.length) return out;
  } catch {
    /* fall back to possible */
  }
  return possibleCpus();
}

/**
 * fds promised to watches still arming and not yet opened, over every watch of this process: a
 * second watch added while the first is arming must not count the first's future fds as free.
 */
let reservedFds = 0;

/** A watch that would hold more perf fds than RLIMIT_NOFILE allows; says the numbers and the fix. */
export class PerfFdBudgetError extends Error {
  constructor(
    readonly needed: number,
    readonly budget: number,
    detail: string,
  ) {
    super(detail);
    this.name = 'PerfFdBudgetError';
  }
}

export function listTids(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`)
      .map(Number)
      .filter((n) => Number.isInteger(n) && n > 0);
  } catch {
    return [];
  }
}

export class HardwareWatch {
  private cpus = usableCpus();
  private readonly rings = new Map<number, PerfRing>();
  /** Every fd we opened, by thread. */
  private readonly fdsByTid = new Map<number, number[]>();
  /** Threads covered: opened directly or created by a covered thread (FORK record). */
  private readonly covered = new Set<number>();
  private readonly ownerFds = new Set<number>();
  private closed = false;
  private lostSamples = 0n;
  private throttled = 0;
  private timerMode: NodeJS.Timeout | undefined;
  private quietTicks = 0;
  private rescanTimer: NodeJS.Timeout | undefined;
  private exited = new Set<number>();
  /** Threads seen uncovered by one rescan (see rescan). */
  private readonly suspects = new Set<number>();
  /** 'each': poll() wakes at every sample (lowest latency); 'batched': at a watermark + timer. */
  private wakeup: 'each' | 'batched' = 'each';
  private switching = false;
  /** Accesses counted by events closed when switching wakeup modes. */
  private countBase = 0n;
  /** Threads left to arm (arming continues on setImmediate); undefined once armed. */
  private pending: { tids: number[]; next: number; rounds: number; started: number; chunks: number } | undefined;
  private armTimer: NodeJS.Immediate | undefined;
  /** Bumped by closeEvents: a chunk scheduled for older events must not run. */
  private generation = 0;
  /** Threads that could not be watched, by reason (reported once, not per thread). */
  private readonly unwatched = new Map<string, number>();
  private fdCount = 0;
  /** This watch's share of reservedFds. */
  private reservation = 0;

  private constructor(private readonly o: HardwareWatchOptions) {}

  /**
   * Opens the events on the first ARM_CHUNK threads (the main thread first) and schedules the
   * rest; throws PerfSyscallError (EACCES/EPERM: not permitted, ENOSPC: debug registers full, ...)
   * or PerfFdBudgetError after undoing what was opened. Those errors show on the first thread, so
   * start() decides hardware or not; a later failure (fds ran out meanwhile) goes to onFailed.
   */
  static start(o: HardwareWatchOptions): HardwareWatch {
    const w = new HardwareWatch(o);
    try {
      w.openAll();
    } catch (e) {
      w.close();
      throw e;
    }
    return w;
  }

  /** True while threads are still being armed. */
  get arming(): boolean {
    return this.pending !== undefined;
  }

  /** Threads found to arm (the first scan plus threads found while arming). */
  get armingTotal(): number {
    const p = this.pending;
    return p ? Math.max(this.covered.size, p.tids.length + (p.rounds > 0 ? this.covered.size : 0)) : this.covered.size;
  }

  /** perf fds this watch holds. */
  get fds(): number {
    return this.fdCount;
  }

  private openAll(): void {
    const tids = listTids(this.o.pid);
    if (tids.length === 0) throw new PerfSyscallError('perf_event_open', ESRCH);
    // The main thread first: its refusal (permissions, registers) is the answer for all.
    const main = tids.indexOf(this.o.pid);
    if (main > 0) [tids[0], tids[main]] = [tids[main]!, tids[0]!];
    this.reserve(this.checkBudget(tids.length));
    this.pending = { tids, next: 0, rounds: 0, started: Date.now(), chunks: 0 };
    this.armChunk(true);
    if (this.covered.size === 0) throw new PerfSyscallError('perf_event_open', ESRCH);
  }

  /** Refuses a watch that would take more perf fds than RLIMIT_NOFILE leaves (never an EMFILE mid-way). */
  private checkBudget(threads: number): number {
    const perThread = this.cpus.length * this.o.ranges.length;
    const needed = threads * perThread;
    const { limit, open: openNow } = fdUsage();
    // fds other watches will still open count as open already.
    const open = openNow + reservedFds;
    const budget = Math.max(0, limit - open - FD_RESERVE);
    if (needed > budget) {
      throw new PerfFdBudgetError(
        needed,
        budget,
        `watching all ${threads.toLocaleString('en-US')} threads needs ${needed.toLocaleString('en-US')} perf fds (threads x ${this.cpus.length} CPUs x ${this.o.ranges.length} debug register(s)), ` +
          `more than the ${budget.toLocaleString('en-US')} left under RLIMIT_NOFILE ${limit.toLocaleString('en-US')} (${open.toLocaleString('en-US')} open or promised to other watches, ${FD_RESERVE} kept free): raise it (ulimit -n) or use --mode poll`,
      );
    }
    return needed;
  }

  private reserve(n: number): void {
    this.release();
    this.reservation = n;
    reservedFds += n;
  }

  private release(): void {
    reservedFds -= this.reservation;
    this.reservation = 0;
  }

  /**
   * Arms the next ARM_CHUNK threads; schedules itself until the list is done, then rescans
   * /proc/PID/task until it is stable (threads created meanwhile by threads not yet armed).
   */
  private armChunk(strict: boolean): void {
    const p = this.pending;
    if (!p || this.closed) return;
    const end = Math.min(p.tids.length, p.next + ARM_CHUNK);
    try {
      for (; p.next < end; p.next++) {
        const tid = p.tids[p.next]!;
        if (!this.covered.has(tid)) this.openThread(tid, strict && p.next === 0);
      }
    } catch (e) {
      if (strict) throw e;
      this.fail(e);
      return;
    }
    p.chunks++;
    this.watchRings();
    if (p.next >= p.tids.length) {
      // Scan until stable: a thread created while we were opening would otherwise wait for the
      // periodic rescan.
      const fresh = p.rounds < 5 ? listTids(this.o.pid).filter((t) => !this.covered.has(t)) : [];
      if (fresh.length > 0) {
        p.rounds++;
        p.tids = fresh;
        p.next = 0;
      } else {
        this.finishArming();
        return;
      }
    }
    const gen = this.generation;
    this.armTimer = setImmediate(() => {
      this.armTimer = undefined;
      if (gen === this.generation) this.armChunk(false);
    });
  }

  private finishArming(): void {
    const p = this.pending;
    this.pending = undefined;
    this.release();
    if (this.unwatched.size > 0) {
      for (const [reason, n] of this.unwatched) this.o.onStatus?.(`${n} thread(s) not watched: ${reason}`, 'warning');
      this.unwatched.clear();
    }
    if (!this.rescanTimer) {
      // A rescan lists /proc/PID/task (about 1 µs a thread): every 250 ms for small processes,
      // less often for big ones (inheritance covers new threads; the rescan only mends races).
      this.rescanTimer = setInterval(() => this.rescan(), Math.min(2000, Math.max(250, this.covered.size)));
      this.rescanTimer.unref();
    }
    if (p && p.chunks > 1) this.o.onArmed?.(this.threadCount, this.fdCount, Date.now() - p.started);
  }

  /** Arming failed after start() returned: close everything and say why, once. */
  private fail(e: unknown): void {
    const reason =
      e instanceof PerfFdBudgetError || !(e instanceof PerfSyscallError)
        ? e instanceof Error
          ? e.message
          : String(e)
        : e.errno === EMFILE
          ? `ran out of fds while arming (${this.fdCount.toLocaleString('en-US')} perf fds open): ${describePerfErrno(e.errno)}`
          : describePerfErrno(e.errno);
    this.close();
    this.o.onFailed?.(reason);
  }

  /** Rings created so far wake the owner (or a drain timer runs, in batched mode). */
  private watchRings(): void {
    if (this.wakeup === 'each') {
      for (const ring of this.rings.values()) if (!ring.watching) ring.watchReadable(() => this.o.onReadable());
    } else if (!this.timerMode) {
      this.timerMode = setInterval(() => this.o.onReadable(), 20);
      this.timerMode.unref();
    }
  }

  /** Closes every event and ring (not the watch). */
  private closeEvents(): void {
    this.generation++;
    this.release();
    if (this.armTimer) clearImmediate(this.armTimer);
    this.armTimer = undefined;
    this.pending = undefined;
    this.fdCount = 0;
    if (this.timerMode) clearInterval(this.timerMode);
    this.timerMode = undefined;
    for (const ring of this.rings.values()) ring.close();
    this.rings.clear();
    for (const fds of this.fdsByTid.values()) for (const fd of fds) closeFd(fd);
    this.fdsByTid.clear();
    this.ownerFds.clear();
    this.covered.clear();
    this.exited.clear();
  }

  /**
   * Reopens every event with the other wakeup policy. Closing the events also ends the copies
   * threads inherited, so the reopen covers every live thread again. Accesses in the few
   * microseconds between close and open are not seen (only ever on a hot variable).
   */
  private switchWakeup(to: 'each' | 'batched'): void {
    if (this.closed || this.switching || this.wakeup === to) return;
    this.switching = true;
    try {
      this.o.onReadable();
      this.countBase = this.count();
      this.closeEvents();
      this.wakeup = to;
      this.quietTicks = 0;
      this.openAll();
      this.o.onStatus?.(
        to === 'batched'
          ? 'hot variable: switched to batched wakeups (drained every 20 ms) so the writers pay only the trap'
          : 'writes slowed down: back to a wakeup per write',
        'info',
      );
    } catch (e) {
      // The events are closed: without a re-arm the watch would report nothing, so it ends and
      // the engine polls instead (onFailed says why).
      this.fail(e);
    } finally {
      this.switching = false;
    }
  }

  /**
   * Registers recorded with each sample, to recover the stored value (see x86store.ts): only with
   * a wakeup per write; a hot variable's samples stay small (the ring holds 6x more of them).
   */
  private get sampleRegs(): bigint | undefined {
    return this.wakeup === 'each' && this.o.recoverValues !== false ? SAMPLE_REGS_MASK : undefined;
  }

  get threadCount(): number {
    let n = 0;
    for (const tid of this.covered) if (!this.exited.has(tid)) n++;
    return n;
  }

  get lost(): bigint {
    return this.lostSamples;
  }

  /**
   * Opens this thread's events (one per range and CPU). Throws when `strict`, and always for
   * EMFILE/ENFILE (no fds left: arming cannot go on); other failures leave the thread unwatched
   * and are reported once per reason at the end.
   */
  private openThread(tid: number, strict: boolean): void {
    const fds: number[] = [];
    try {
      for (const cpu of [...this.cpus]) {
        for (let i = 0; i < this.o.ranges.length; i++) {
          const r = this.o.ranges[i]!;
          let fd: number;
          try {
            const wakeup = this.wakeup === 'each' ? { events: 1 } : { watermarkBytes: ((this.o.ringPages ?? 16) * 4096) / 4 };
            fd = openBreakpoint({
              tid,
              cpu,
              address: r.address,
              length: r.length,
              access: this.o.access,
              inherit: true,
              sideband: i === 0,
              wakeup,
              sampleRegs: this.sampleRegs,
            });
          } catch (e) {
            // A CPU that is possible but not present refuses events: skip it, for every thread.
            if (e instanceof PerfSyscallError && e.errno === ENODEV) {
              this.cpus = this.cpus.filter((c) => c !== cpu);
              break;
            }
            throw e;
          }
          fds.push(fd);
          this.fdCount++;
          if (this.reservation > 0) {
            this.reservation--;
            reservedFds--;
          }
          const ring = this.rings.get(cpu);
          if (!ring) {
            this.rings.set(cpu, new PerfRing(fd, { dataPages: this.o.ringPages ?? 16, sampleRegs: this.sampleRegs }));
            this.ownerFds.add(fd);
          } else {
            setOutput(fd, ring.fd);
          }
          enableEvent(fd);
        }
      }
    } catch (e) {
      for (const fd of fds) {
        if (this.ownerFds.has(fd)) continue;
        closeFd(fd);
        this.fdCount--;
      }
      const kept = fds.filter((fd) => this.ownerFds.has(fd));
      if (kept.length) this.fdsByTid.set(tid, kept);
      if (e instanceof PerfSyscallError && e.errno === ESRCH) return; // the thread ended meanwhile
      const errno = e instanceof PerfSyscallError ? e.errno : 0;
      if (strict || errno === EMFILE || errno === 23 /* ENFILE */) throw e;
      const reason = errno ? describePerfErrno(errno) : String(e);
      if (this.pending) this.unwatched.set(reason, (this.unwatched.get(reason) ?? 0) + 1);
      else this.o.onStatus?.(`thread ${tid} is not watched: ${reason}`, errno === ENOSPC ? 'warning' : 'warning');
      this.covered.add(tid); // do not retry every rescan
      return;
    }
    this.fdsByTid.set(tid, fds);
    this.covered.add(tid);
  }

  /**
   * Finds threads that neither we nor inheritance cover, and forgets threads that ended. A new
   * thread shows in /proc a moment before the kernel writes its FORK record, so a thread must be
   * seen uncovered by two rescans in a row before it gets events of its own (otherwise an
   * inherited thread could be watched twice).
   */
  rescan(): void {
    if (this.closed || this.pending) return;
    const live = new Set(listTids(this.o.pid));
    if (live.size === 0) return; // the process is gone; the engine notices
    // FORK records of the threads just listed tell us they are covered: read them first.
    this.o.onReadable();
    for (const tid of live) {
      if (this.covered.has(tid)) continue;
      if (this.suspects.has(tid)) {
        this.suspects.delete(tid);
        try {
          this.openThread(tid, false);
        } catch (e) {
          this.fail(e); // no fds left
          return;
        }
        this.o.onStatus?.(`thread ${tid} appeared before inheritance could cover it; watching it now`, 'info');
      } else {
        this.suspects.add(tid);
      }
    }
    for (const tid of this.suspects) if (!live.has(tid) || this.covered.has(tid)) this.suspects.delete(tid);
    for (const [tid, fds] of this.fdsByTid) {
      if (live.has(tid)) continue;
      for (const fd of fds) {
        if (this.ownerFds.has(fd)) continue;
        try {
          this.countBase += readCount(fd); // keep the total honest
        } catch {
          /* nothing to add */
        }
        closeFd(fd);
        this.fdCount--;
      }
      const owners = fds.filter((fd) => this.ownerFds.has(fd));
      if (owners.length) this.fdsByTid.set(tid, owners);
      else this.fdsByTid.delete(tid);
    }
    // Bounded bookkeeping for programs that create and end threads all day.
    for (const tid of this.covered) if (!live.has(tid)) this.covered.delete(tid);
    this.exited.clear();
  }

  /** Every sample waiting in the rings, oldest first; FORK/EXIT/COMM/LOST handled here. */
  drain(): PerfSample[] {
    const out: PerfSample[] = [];
    if (this.closed) return out;
    let records = 0;
    for (const ring of this.rings.values()) {
      records += ring.drain((r) => {
        switch (r.kind) {
          case 'sample':
            // Only the target's own threads (inherit_thread keeps forked children out anyway).
            if (r.pid === this.o.pid) out.push(r);
            break;
          case 'fork':
            if (r.pid === this.o.pid) this.covered.add(r.tid);
            break;
          case 'exit':
            if (r.pid === this.o.pid) this.exited.add(r.tid);
            break;
          case 'comm':
            // Deferred: ending the watch closes the rings this loop is reading.
            if (r.exec && r.pid === this.o.pid) setImmediate(() => this.o.onExec?.());
            break;
          case 'lost':
            this.lostSamples += r.lost;
            break;
          case 'throttle':
            this.throttled++;
            if (this.throttled === 1) {
              this.o.onStatus?.(
                'the kernel throttled the watchpoint (more accesses per second than kernel.perf_event_max_sample_rate allows): some accesses are not recorded; the count stays exact only for recorded ones',
                'warning',
              );
            }
            break;
          default:
            break;
        }
      });
    }
    this.adapt(records);
    if (out.length > 1) out.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
    return out;
  }

  /**
   * A wakeup per sample is cheapest for rare writes, but every wakeup costs the writing thread an
   * irq_work self-interrupt (a VM exit under virtualisation) and spins our event loop. Many
   * records in one drain reopen the events with a watermark (wakeup at a quarter of the ring)
   * and a 20 ms drain timer; five quiet seconds switch back.
   */
  private adapt(records: number): void {
    // While arming, drains wait for whole chunks, so bursts say nothing about the write rate (and
    // a switch would start the arming over).
    if (this.closed || this.switching || this.pending) return;
    if (this.wakeup === 'each' && records >= 32) {
      setImmediate(() => this.switchWakeup('batched'));
    } else if (this.wakeup === 'batched') {
      this.quietTicks = records < 4 ? this.quietTicks + 1 : 0;
      // Each switch re-arms every thread: on a process with many threads, switch back never, so
      // a variable that is hot now and then costs one re-arm, not one every few seconds.
      if (this.quietTicks >= 250 && this.covered.size <= ARM_CHUNK) setImmediate(() => this.switchWakeup('each'));
    }
  }

  /** The kernel's count of accesses over all threads and CPUs (exact even when samples are lost). */
  count(): bigint {
    let n = this.countBase;
    for (const fds of this.fdsByTid.values()) {
      for (const fd of fds) {
        try {
          n += readCount(fd);
        } catch {
          /* an fd of an exited thread may refuse: its count is lost with it */
        }
      }
    }
    return n;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.rescanTimer) clearInterval(this.rescanTimer);
    this.closeEvents();
  }

  /** 'each' or 'batched' (see adapt). */
  get wakeupPolicy(): 'each' | 'batched' {
    return this.wakeup;
  }
}
