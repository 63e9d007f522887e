/**
 * Target: a live process held by a pidfd. Everything that names the process by pid (/proc files,
 * process_vm_readv) is checked against the pidfd *after* the access: if the pidfd still says
 * "alive" after we read, the pid still named our process during the read (a pid is only reused
 * after its process has exited and been reaped, and an exited process makes its pidfd readable
 * for ever). So a recycled pid can make a call fail, never make it answer for another process.
 */
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { PidscopeError } from '../errors';
import { permissionError, processGoneError } from '../linux/errno';
import { closeFd, PidfdPoller, pidfdOpen, watchReadable, type FdWatch } from '../linux/pidfd';
import type { TargetHandle, TargetState } from '../memory/handle';
import { modulesOf, parseMaps, type MapRegion, type MappedModule } from '../proc/maps';
import { isKernelThreadStat, readCmdline, readExe, readExePath, readStat, readUids, tryReadStat } from '../proc/processes';
import { readThreads, type ThreadInfo } from '../proc/threads';

export interface ExitInfo {
  pid: number;
  /** How we noticed: the pidfd became readable on the event loop, or a check during an access. */
  detectedBy: 'pidfd-poll' | 'access';
}

export interface ExecInfo {
  pid: number;
  /** The new executable, when visible. */
  exe?: string;
}

export interface TargetEvents {
  exited: [ExitInfo];
  exec: [ExecInfo];
}

/** What identifies the program the pid ran at attach: start time, code/stack addresses, exe. */
interface Identity {
  startTime: string;
  image: string;
  exe?: string;
}

export class Target extends EventEmitter<TargetEvents> implements TargetHandle {
  readonly pid: number;
  private fd: number;
  private readonly poller: PidfdPoller;
  private watch?: FdWatch;
  private exitInfo?: ExitInfo;
  private kernelThread?: boolean;
  private readonly identity?: Identity;
  private final?: Exclude<TargetState, { kind: 'alive' }>;

  private constructor(pid: number, pidfd: number) {
    super();
    this.pid = pid;
    this.fd = pidfd;
    // Read after the pidfd exists, so it describes our process if the pidfd still says alive below.
    const st = tryReadStat(pid);
    if (st) this.identity = { startTime: st.startTime, image: st.image, exe: readExePath(pid) };
    this.poller = new PidfdPoller(pidfd);
    try {
      this.watch = watchReadable(pidfd, () => this.noteExit('pidfd-poll'));
    } catch {
      // No libuv poll handle (an embedder without koffi's node integration): a cheap unref'd
      // timer that asks the pidfd four times a second does the same job, a little later.
      const timer = setInterval(() => {
        if (this.fd >= 0 && this.poller.exited()) this.noteExit('pidfd-poll');
      }, 250);
      timer.unref();
      this.watch = { close: () => clearInterval(timer) };
    }
  }

  /** Opens a pidfd for `pid`. Does not stop, trace or signal the process. */
  static attach(pid: number): Target {
    const fd = pidfdOpen(pid);
    return new Target(pid, fd);
  }

  get pidfd(): number {
    if (this.fd < 0) throw new PidscopeError('CLOSED', `target ${this.pid} was closed`, '', 'internal');
    return this.fd;
  }

  get exited(): ExitInfo | undefined {
    return this.exitInfo;
  }

  isAlive(): boolean {
    if (this.exitInfo !== undefined || this.fd < 0) return false;
    if (this.poller.exited()) {
      this.noteExit('access');
      return false;
    }
    return true;
  }

  assertAlive(during?: string): void {
    if (!this.isAlive()) throw processGoneError(this.pid, during);
  }

  /**
   * The one rule for "exited or exec'd". Exited: the pidfd says so (never /proc alone: a pid is
   * reused only after its process is reaped); the exit status comes from /proc/PID/stat while the
   * process is a zombie whose start time is still ours. Exec'd: alive, and the executable link or
   * the code/stack addresses changed (a new mm); addresses of "0:0:0" mean the mm is being torn
   * down or replaced, which is not conclusive, so the answer stays "alive" until the next look.
   * The first exec seen emits 'exec'; 'exited' comes from the pidfd.
   */
  state(): TargetState {
    if (this.final) return this.final;
    if (!this.isAlive()) {
      const st = tryReadStat(this.pid);
      const code = st && this.identity && st.startTime === this.identity.startTime && st.state === 'Z' ? st.exitCode : undefined;
      const sig = code === undefined ? 0 : code & 0x7f;
      this.final =
        code === undefined ? { kind: 'exited' } : sig ? { kind: 'exited', exitCode: 128 + sig, signal: sig } : { kind: 'exited', exitCode: (code >> 8) & 0xff };
      return this.final;
    }
    const st = tryReadStat(this.pid);
    if (!st || !this.identity || st.image === '0:0:0') return { kind: 'alive' };
    const exe = readExePath(this.pid);
    const execed =
      (this.identity.exe !== undefined && exe !== undefined && exe !== this.identity.exe) ||
      (this.identity.image !== '0:0:0' && st.image !== this.identity.image);
    // /proc was read by pid: it described our process only if the pidfd still says alive.
    if (!execed || !this.isAlive()) return this.isAlive() ? { kind: 'alive' } : this.state();
    this.final = { kind: 'exec', exe };
    const info: ExecInfo = { pid: this.pid, exe };
    process.nextTick(() => this.emit('exec', info));
    return this.final;
  }

  /** Reads a /proc file of this process and proves with the pidfd that it described our process. */
  private procFile(name: string, what: string): string {
    let text: string;
    try {
      text = readFileSync(`/proc/${this.pid}/${name}`, 'utf8');
    } catch (e) {
      throw this.procError(e, what);
    }
    this.assertAlive(what);
    return text;
  }

  private procError(e: unknown, what: string): PidscopeError {
    if (e instanceof PidscopeError) return e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ESRCH') {
      this.isAlive();
      return processGoneError(this.pid, what);
    }
    if (code === 'EACCES' || code === 'EPERM') return permissionError(this.pid, what);
    return new PidscopeError(code ?? 'INTERNAL', `could not ${what} of process ${this.pid}: ${(e as Error).message}`, '', 'internal');
  }

  /** Memory regions from /proc/PID/maps. */
  maps(): MapRegion[] {
    return parseMaps(this.procFile('maps', 'read the memory map'));
  }

  /** Mapped files (executable, shared libraries, other mapped files). */
  modules(): MappedModule[] {
    return modulesOf(this.maps());
  }

  threads(): ThreadInfo[] {
    let list: ThreadInfo[];
    try {
      list = readThreads(this.pid);
    } catch (e) {
      throw this.procError(e, 'list threads');
    }
    this.assertAlive('list threads');
    return list;
  }

  /** comm (15 bytes at most). */
  name(): string {
    try {
      const s = readStat(this.pid).comm;
      this.assertAlive('read the process name');
      return s;
    } catch (e) {
      throw this.procError(e, 'read the process name');
    }
  }

  cmdline(): string[] {
    try {
      const argv = readCmdline(this.pid);
      this.assertAlive('read the command line');
      return argv;
    } catch (e) {
      throw this.procError(e, 'read the command line');
    }
  }

  /** Executable path, or undefined when hidden from us (another user) or absent (kernel thread). */
  exe(): string | undefined {
    const exe = readExe(this.pid);
    this.assertAlive('read the executable path');
    return exe;
  }

  uid(): number | undefined {
    return readUids(this.pid)?.real;
  }

  /** Kernel threads (kthreadd, kworkers…) have no user address space to read. */
  isKernelThread(): boolean {
    if (this.kernelThread === undefined) {
      try {
        this.kernelThread = isKernelThreadStat(readStat(this.pid));
      } catch (e) {
        throw this.procError(e, 'read the process status');
      }
      this.assertAlive('read the process status');
    }
    return this.kernelThread;
  }

  /** Throws a clear error for kernel threads. */
  assertUserProcess(): void {
    if (this.isKernelThread()) {
      let comm = '';
      try {
        comm = ` (${readStat(this.pid).comm})`;
      } catch {
        /* name is cosmetic */
      }
      throw new PidscopeError(
        'KERNEL_THREAD',
        `process ${this.pid}${comm} is a kernel thread: it has no user memory`,
        'Pick a user-space process (kernel threads show in `ps` with their name in [brackets])',
        'user',
      );
    }
  }

  private noteExit(detectedBy: ExitInfo['detectedBy']): void {
    if (this.exitInfo) return;
    this.exitInfo = { pid: this.pid, detectedBy };
    this.watch?.close();
    this.watch = undefined;
    const info = this.exitInfo;
    // Never emit from inside a read: listeners run on a clean stack.
    process.nextTick(() => this.emit('exited', info));
  }

  close(): void {
    this.watch?.close();
    this.watch = undefined;
    if (this.fd >= 0) {
      closeFd(this.fd);
      this.fd = -1;
    }
  }
}
