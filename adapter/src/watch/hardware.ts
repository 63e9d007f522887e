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
 */
import { readdirSync } from 'node:fs';
import {
  closeFd,
  describePerfErrno,
  enableEvent,
  ESRCH,
  openBreakpoint,
  PerfRing,
  PerfSyscallError,
  possibleCpus,
  readCount,
  setOutput,
  type BreakpointLength,
  type PerfSample,
} from '../linux/perf';

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
  private readonly cpus = possibleCpus();
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

  private constructor(private readonly o: HardwareWatchOptions) {}

  /**
   * Opens the events on every thread; throws PerfSyscallError (EACCES/EPERM: not permitted,
   * ENOSPC: debug registers full, ...) after undoing what was opened.
   */
  static start(o: HardwareWatchOptions): HardwareWatch {
    const w = new HardwareWatch(o);
    try {
      // Scan until stable: a thread created while we were opening would otherwise wait for the
      // periodic rescan.
      for (let round = 0; round < 5; round++) {
        const fresh = listTids(o.pid).filter((t) => !w.covered.has(t));
        if (fresh.length === 0) break;
        for (const tid of fresh) w.openThread(tid, true);
      }
      if (w.covered.size === 0) throw new PerfSyscallError('perf_event_open', ESRCH);
    } catch (e) {
      w.close();
      throw e;
    }
    for (const ring of w.rings.values()) ring.watchReadable(() => o.onReadable());
    w.rescanTimer = setInterval(() => w.rescan(), 250);
    w.rescanTimer.unref();
    return w;
  }

  get threadCount(): number {
    return this.covered.size - this.exited.size;
  }

  get lost(): bigint {
    return this.lostSamples;
  }

  /** Opens this thread's events (one per range and CPU). Throws only when `strict`. */
  private openThread(tid: number, strict: boolean): void {
    const fds: number[] = [];
    try {
      for (const cpu of this.cpus) {
        this.o.ranges.forEach((r, i) => {
          let fd: number;
          try {
            fd = openBreakpoint({ tid, cpu, address: r.address, length: r.length, access: this.o.access, inherit: true, sideband: i === 0 });
          } catch (e) {
            // A CPU that is possible but not present refuses events: skip it.
            if (e instanceof PerfSyscallError && e.errno === 19 /* ENODEV */) return;
            throw e;
          }
          fds.push(fd);
          const ring = this.rings.get(cpu);
          if (!ring) {
            this.rings.set(cpu, new PerfRing(fd, { dataPages: this.o.ringPages ?? 16 }));
            this.ownerFds.add(fd);
          } else {
            setOutput(fd, ring.fd);
          }
          enableEvent(fd);
        });
      }
    } catch (e) {
      for (const fd of fds) if (!this.ownerFds.has(fd)) closeFd(fd);
      const kept = fds.filter((fd) => this.ownerFds.has(fd));
      if (kept.length) this.fdsByTid.set(tid, kept);
      if (e instanceof PerfSyscallError && e.errno === ESRCH) return; // the thread ended meanwhile
      if (strict) throw e;
      const errno = e instanceof PerfSyscallError ? e.errno : 0;
      this.o.onStatus?.(`thread ${tid} is not watched: ${errno ? describePerfErrno(errno) : String(e)}`, 'warning');
      this.covered.add(tid); // do not retry every rescan
      return;
    }
    this.fdsByTid.set(tid, fds);
    this.covered.add(tid);
  }

  /** Finds threads that neither we nor inheritance cover, and forgets threads that ended. */
  rescan(): void {
    if (this.closed) return;
    // FORK records still in the rings would tell us a new thread is covered: read them first.
    this.o.onReadable();
    const live = new Set(listTids(this.o.pid));
    if (live.size === 0) return; // the process is gone; the engine notices
    for (const tid of live) {
      if (!this.covered.has(tid)) {
        this.openThread(tid, false);
        this.o.onStatus?.(`thread ${tid} appeared before inheritance could cover it; watching it now`, 'info');
      }
    }
    for (const [tid, fds] of this.fdsByTid) {
      if (live.has(tid)) continue;
      for (const fd of fds) if (!this.ownerFds.has(fd)) closeFd(fd);
      this.fdsByTid.set(tid, fds.filter((fd) => this.ownerFds.has(fd)));
      this.exited.add(tid);
    }
    for (const tid of this.covered) if (!live.has(tid)) this.exited.add(tid);
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
            out.push(r);
            break;
          case 'fork':
            if (r.pid === this.o.pid) this.covered.add(r.tid);
            break;
          case 'exit':
            if (r.pid === this.o.pid) this.exited.add(r.tid);
            break;
          case 'comm':
            if (r.exec && r.pid === this.o.pid) this.o.onExec?.();
            break;
          case 'lost':
            this.lostSamples += r.lost;
            break;
          case 'throttle':
            this.throttled++;
            if (this.throttled === 1) {
              this.o.onStatus?.('the kernel throttled the watchpoint (more accesses per second than kernel.perf_event_max_sample_rate allows): some accesses are not recorded; the count stays exact only for recorded ones', 'warning');
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
   * A wakeup per sample is cheapest for rare writes; for a hot variable it would spin the event
   * loop. Many records in one drain switch this watch to a 20 ms drain timer; a quiet second
   * switches back to wakeups.
   */
  private adapt(records: number): void {
    if (this.closed) return;
    if (!this.timerMode && records >= 32) {
      for (const r of this.rings.values()) r.stopWatching();
      this.quietTicks = 0;
      this.timerMode = setInterval(() => this.o.onReadable(), 20);
      this.timerMode.unref();
    } else if (this.timerMode) {
      this.quietTicks = records < 4 ? this.quietTicks + 1 : 0;
      if (this.quietTicks >= 50) {
        clearInterval(this.timerMode);
        this.timerMode = undefined;
        for (const r of this.rings.values()) r.watchReadable(() => this.o.onReadable());
      }
    }
  }

  /** The kernel's count of accesses over all threads and CPUs (exact even when samples are lost). */
  count(): bigint {
    let n = 0n;
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
    if (this.timerMode) clearInterval(this.timerMode);
    if (this.rescanTimer) clearInterval(this.rescanTimer);
    for (const ring of this.rings.values()) ring.close();
    this.rings.clear();
    for (const fds of this.fdsByTid.values()) for (const fd of fds) closeFd(fd);
    this.fdsByTid.clear();
  }
}
