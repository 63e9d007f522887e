/**
 * errno values (x86_64/generic Linux) and their translation into PidscopeError with a cause and
 * a fix a user can act on.
 */
import { PidscopeError } from '../errors';
import { readPtraceScope } from '../proc/kernel';
import { readUids, tryReadStat } from '../proc/processes';
import { sys } from './libc';

export const EPERM = 1;
export const ENOENT = 2;
export const ESRCH = 3;
export const EINTR = 4;
export const EIO = 5;
export const EBADF = 9;
export const EAGAIN = 11;
export const ENOMEM = 12;
export const EACCES = 13;
export const EFAULT = 14;
export const EINVAL = 22;
export const ENODEV = 19;
export const EMFILE = 24;
export const ENOTTY = 25;
export const ENOSPC = 28;
export const ENOSYS = 38;
export const EOPNOTSUPP = 95;

const NAMES: Record<number, string> = {
  [EPERM]: 'EPERM',
  [ENOENT]: 'ENOENT',
  [ESRCH]: 'ESRCH',
  [EINTR]: 'EINTR',
  [EIO]: 'EIO',
  [EBADF]: 'EBADF',
  [EAGAIN]: 'EAGAIN',
  [ENOMEM]: 'ENOMEM',
  [EACCES]: 'EACCES',
  [EFAULT]: 'EFAULT',
  [EINVAL]: 'EINVAL',
  [ENODEV]: 'ENODEV',
  [EMFILE]: 'EMFILE',
  [ENOTTY]: 'ENOTTY',
  [ENOSPC]: 'ENOSPC',
  [ENOSYS]: 'ENOSYS',
  [EOPNOTSUPP]: 'EOPNOTSUPP',
};

export function errnoName(errno: number): string {
  return NAMES[errno] ?? `errno ${errno}`;
}

export function strerror(errno: number): string {
  try {
    return String(sys.strerror(errno));
  } catch {
    return errnoName(errno);
  }
}

/**
 * The process we attached to has exited. `during` (what we were doing when we noticed) is kept on
 * the error for logs; users only need the fact and the way out.
 */
export function processGoneError(pid: number, during?: string): PidscopeError {
  const zombie = tryReadStat(pid)?.state === 'Z';
  const e = new PidscopeError(
    'ESRCH',
    `process ${pid} has exited${zombie ? ' (it is a zombie: its parent has not collected its exit status yet)' : ''}`,
    'Start the program again and attach to its new pid',
    'target',
  );
  (e as PidscopeError & { during?: string }).during = during;
  return e;
}

export function noSuchProcessError(pid: number): PidscopeError {
  return new PidscopeError('ESRCH', `no process with pid ${pid}`, 'Check the pid (e.g. `pgrep NAME` or `ps -e`)', 'user');
}

/**
 * EPERM/EACCES while reading another process: name the rule the kernel applied (same user +
 * ptrace access mode check, Yama's ptrace_scope when present) and what grants access.
 */
export function permissionError(pid: number, what: string): PidscopeError {
  const uid = readUids(pid)?.real;
  const me = process.getuid?.();
  const owner = uid === undefined ? '' : `, owned by uid ${uid}`;
  const scope = readPtraceScope();
  const yama =
    scope === undefined
      ? ''
      : scope === '0'
        ? ' (kernel.yama.ptrace_scope=0)'
        : ` (kernel.yama.ptrace_scope=${scope}: only ${scope === '1' ? 'descendants or processes that allowed it via prctl(PR_SET_PTRACER)' : scope === '2' ? 'processes with CAP_SYS_PTRACE' : 'nobody'} may be read)`;
  return new PidscopeError(
    'EPERM',
    `not permitted to ${what} of process ${pid}${owner}; we run as uid ${me ?? '?'}${yama}`,
    'Reading another process needs ptrace permission: run pidscope as the same user as the target ' +
      '(and the target must be dumpable, i.e. not setuid), or as root / with CAP_SYS_PTRACE ' +
      '(e.g. `sudo setcap cap_sys_ptrace+ep $(command -v node)`)',
    'user',
  );
}

/** Generic translation for errors without a more specific meaning at the call site. */
export function errnoError(errno: number, pid: number, what: string): PidscopeError {
  switch (errno) {
    case ESRCH:
      return processGoneError(pid, what);
    case EPERM:
    case EACCES:
      return permissionError(pid, what);
    case ENOSYS:
      return new PidscopeError('ENOSYS', `${what}: the kernel does not provide this system call`, 'Use another memory backend (--backend proc-mem)', 'user');
    default:
      return new PidscopeError(errnoName(errno), `${what} of process ${pid} failed: ${strerror(errno)} (${errnoName(errno)})`, '', 'internal');
  }
}
