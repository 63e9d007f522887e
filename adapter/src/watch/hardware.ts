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
import { SAMPLE_REGS_MASK } from './x86store';
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
  /** Record registers to recover stored values (default true). */
  recoverValues?: boolean;
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
  /** Threads seen uncovered by one rescan (see rescan). */
  private readonly suspects = new Set<number>();
  /** 'each': poll() wakes at every sample (lowest latency); 'batched': at a watermark + timer. */
  private wakeup: 'each' | 'batched' = 'each';
  private switching = false;
  /** Accesses counted by events closed when switching wakeup modes. */
  private countBase = 0n;

  private constructor(private readonly o: HardwareWatchOptions) {}

  /**
   * Opens the events on every thread; throws PerfSyscallError (EACCES/EPERM: not permitted,
   * ENOSPC: debug registers full, ...) after undoing what was opened.
   */
  static start(o: HardwareWatchOptions): HardwareWatch {
    const w = new HardwareWatch(o);
    try {
      w.openAll();
    } catch (e) {
      w.close();
      throw e;
    }
    w.rescanTimer = setInterval(() => w.rescan(), 250);
    w.rescanTimer.unref();
    return w;
  }

  private openAll(): void {
    // Scan until stable: a thread created while we were opening would otherwise wait for the
    // periodic rescan.
    for (let round = 0; round < 5; round++) {
      const fresh = listTids(this.o.pid).filter((t) => !this.covered.has(t));
      if (fresh.length === 0) break;
      for (const tid of fresh) this.openThread(tid, true);
    }
    if (this.covered.size === 0) throw new PerfSyscallError('perf_event_open', ESRCH);
    if (this.wakeup === 'each') {
      for (const ring of this.rings.values()) ring.watchReadable(() => this.o.onReadable());
    } else {
      this.timerMode = setInterval(() => this.o.onReadable(), 20);
      this.timerMode.unref();
    }
  }

  /** Closes every event and ring (not the watch). */
  private closeEvents(): void {
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
      this.o.onStatus?.(`could not re-arm the hardware watchpoint: ${e instanceof PerfSyscallError ? describePerfErrno(e.errno) : String(e)}`, 'error');
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

  /** Opens this thread's events (one per range and CPU). Throws only when `strict`. */
  private openThread(tid: number, strict: boolean): void {
    const fds: number[] = [];
    try {
      for (const cpu of this.cpus) {
        this.o.ranges.forEach((r, i) => {
          let fd: number;
          try {
            const wakeup = this.wakeup === 'each' ? { events: 1 } : { watermarkBytes: ((this.o.ringPages ?? 16) * 4096) / 4 };
            fd = openBreakpoint({ tid, cpu, address: r.address, length: r.length, access: this.o.access, inherit: true, sideband: i === 0, wakeup, sampleRegs: this.sampleRegs });
          } catch (e) {
            // A CPU that is possible but not present refuses events: skip it.
            if (e instanceof PerfSyscallError && e.errno === 19 /* ENODEV */) return;
            throw e;
          }
          fds.push(fd);
          const ring = this.rings.get(cpu);
          if (!ring) {
            this.rings.set(cpu, new PerfRing(fd, { dataPages: this.o.ringPages ?? 16, sampleRegs: this.sampleRegs }));
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

  /**
   * Finds threads that neither we nor inheritance cover, and forgets threads that ended. A new
   * thread shows in /proc a moment before the kernel writes its FORK record, so a thread must be
   * seen uncovered by two rescans in a row before it gets events of its own (otherwise an
   * inherited thread could be watched twice).
   */
  rescan(): void {
    if (this.closed) return;
    const live = new Set(listTids(this.o.pid));
    if (live.size === 0) return; // the process is gone; the engine notices
    // FORK records of the threads just listed tell us they are covered: read them first.
    this.o.onReadable();
    for (const tid of live) {
      if (this.covered.has(tid)) continue;
      if (this.suspects.has(tid)) {
        this.suspects.delete(tid);
        this.openThread(tid, false);
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
   * A wakeup per sample is cheapest for rare writes, but every wakeup costs the writing thread an
   * irq_work self-interrupt (a VM exit under virtualisation) and spins our event loop. Many
   * records in one drain reopen the events with a watermark (wakeup at a quarter of the ring)
   * and a 20 ms drain timer; five quiet seconds switch back.
   */
  private adapt(records: number): void {
    if (this.closed || this.switching) return;
    if (this.wakeup === 'each' && records >= 32) {
      setImmediate(() => this.switchWakeup('batched'));
    } else if (this.wakeup === 'batched') {
      this.quietTicks = records < 4 ? this.quietTicks + 1 : 0;
      if (this.quietTicks >= 250) setImmediate(() => this.switchWakeup('each'));
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
