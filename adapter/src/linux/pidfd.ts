/**
 * pidfds: the identity of the process we attached to. A pid is only a number the kernel may hand
 * to another process once ours has exited and been reaped; a pidfd always refers to the process it
 * was opened for. It becomes readable (POLLIN) when that process exits, which gives us both a
 * synchronous liveness check (poll with timeout 0) and an exit notification on the event loop.
 */
import { PidscopeError } from '../errors';
import { readTgid } from '../proc/processes';
import { EINVAL, ENOENT, ENOSYS, ESRCH, errnoError, noSuchProcessError } from './errno';
import { koffi, lastErrno, sys } from './libc';

const SYS_pidfd_open = 434;
const POLLIN = 0x0001;

export function pidfdOpen(pid: number): number {
  if (!Number.isInteger(pid) || pid <= 0 || pid > 0x3fffffff) {
    throw new PidscopeError('BAD_PID', `'${pid}' is not a valid pid`, 'Pass a positive process id, e.g. --pid 1234', 'user');
  }
  const fd = Number(sys.syscall(SYS_pidfd_open, 'int', pid, 'uint', 0));
  if (fd >= 0) return fd;
  const errno = lastErrno();
  if (errno === ESRCH) throw noSuchProcessError(pid);
  if (errno === ENOSYS) {
    throw new PidscopeError('ENOSYS', 'this kernel has no pidfd_open (Linux 5.3 or newer is needed)', 'Run on a newer kernel', 'user');
  }
  // A thread that is not a thread-group leader: EINVAL before Linux 6.9, ENOENT since.
  if (errno === EINVAL || errno === ENOENT) {
    const tgid = readTgid(pid);
    throw new PidscopeError(
      'NOT_A_PROCESS',
      tgid !== undefined && tgid !== pid ? `pid ${pid} is a thread of process ${tgid}, not a process` : `pid ${pid} is not a process (it may be a thread id)`,
      tgid !== undefined && tgid !== pid ? `Attach to the process: --pid ${tgid}` : 'Pass the process id (the Tgid line of /proc/TID/status)',
      'user',
    );
  }
  throw errnoError(errno, pid, 'pidfd_open');
}

/**
 * Liveness of one pidfd: a struct pollfd { int fd; short events; short revents; } filled once,
 * so each check is exactly one poll(2) with no JS-side setup (it runs after every vm-readv read).
 */
export class PidfdPoller {
  private readonly pollfd = Buffer.alloc(8);

  constructor(pidfd: number) {
    this.pollfd.writeInt32LE(pidfd, 0);
    this.pollfd.writeInt16LE(POLLIN, 4);
  }

  /** True once the process has exited (zombie or reaped). EINTR/ENOMEM count as "alive": the next check decides. */
  exited(): boolean {
    return (sys.poll(this.pollfd, 1, 0) as number) > 0;
  }
}

/** One-off form of PidfdPoller.exited(). */
export function pidfdExited(pidfd: number): boolean {
  return new PidfdPoller(pidfd).exited();
}

export interface FdWatch {
  close(): void;
}

/**
 * Calls `onReadable` once when the fd becomes readable, through a libuv poll handle on Node's own
 * event loop (no thread, no timer). The handle is unref'd: watching never keeps Node alive.
 */
export function watchReadable(fd: number, onReadable: () => void): FdWatch {
  let done = false;
  const handle = koffi.node.poll(fd, { readable: true }, () => {
    if (done) return;
    done = true;
    handle.stop();
    handle.close();
    onReadable();
  });
  handle.unref();
  return {
    close() {
      if (done) return;
      done = true;
      handle.stop();
      handle.close();
    },
  };
}

export function closeFd(fd: number): void {
  if (fd >= 0) sys.close(fd);
}
