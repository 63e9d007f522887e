/**
 * pidfd_mem(2): our kernel series (kernel/include/uapi/linux/pidfd_mem.h is the contract). The
 * target's pages are mirrored into a file (the access fd) that we mmap, so a read is a memory load.
 *
 * The syscall number is never guessed: the kernel publishes it in /sys/kernel/pidfd_mem/ (6.12's
 * next free numbers belong to other syscalls in later kernels; calling a guessed number could run
 * an unrelated syscall).
 */
import { readFileSync } from 'node:fs';
import { PidscopeError } from '../errors';
import { EBADF, EINVAL, EPERM, ESRCH, errnoError, permissionError, processGoneError } from './errno';
import { closeRaw } from './file';
import { koffi, libc, lastErrno, sys } from './libc';
import { MAP_SHARED, mmap, PROT_READ, type Mapping } from './mmap';

export const PIDFD_MEM_SYSFS = '/sys/kernel/pidfd_mem';
export const PIDFD_MEM_NOSIGBUS = 1;
export const PIDFD_MEM_MAP_WRITE = 1n;
export const PIDFD_MEM_STATUS_DEAD = 1;

// _IOC(dir, type, nr, size) = dir << 30 | size << 16 | type << 8 | nr, with _IOC_WRITE = 1.
const MAGIC = 0xb9;
const ioc = (dir: number, nr: number, size: number): bigint => (BigInt(dir) << 30n) | (BigInt(size) << 16n) | (BigInt(MAGIC) << 8n) | BigInt(nr);
export const PIDFD_MEM_MAP = ioc(1, 0x01, 64); // struct pidfd_mem_map: 8 x __u64
export const PIDFD_MEM_UNMAP = ioc(1, 0x02, 16); // struct pidfd_mem_unmap: 2 x __u64
export const PIDFD_MEM_LOCK = ioc(0, 0x03, 0);

const ioctl = libc.func('int ioctl(int fd, unsigned long request, void *arg)');

export interface PidfdMemFeature {
  syscallNr: number;
  version: number;
  flags: number;
}

/** What the running kernel says about pidfd_mem, or why it has none. */
export function detectPidfdMem(sysfs = PIDFD_MEM_SYSFS): { ok: true; feature: PidfdMemFeature } | { ok: false; reason: string } {
  let nrText: string;
  try {
    nrText = readFileSync(`${sysfs}/syscall_nr`, 'utf8');
  } catch {
    return { ok: false, reason: `this kernel has no pidfd_mem (${sysfs}/syscall_nr does not exist)` };
  }
  const syscallNr = Number.parseInt(nrText.trim(), 10);
  if (!Number.isInteger(syscallNr) || syscallNr <= 0) {
    return { ok: false, reason: `${sysfs}/syscall_nr holds '${nrText.trim()}', not a syscall number` };
  }
  let version = 0;
  let flags = 0;
  try {
    version = Number.parseInt(readFileSync(`${sysfs}/version`, 'utf8').trim(), 10);
    flags = Number.parseInt(readFileSync(`${sysfs}/flags`, 'utf8').trim(), 16);
  } catch {
    return { ok: false, reason: `${sysfs} is incomplete (version or flags missing)` };
  }
  if (!(version >= 1)) return { ok: false, reason: `pidfd_mem version ${version} is older than the version 1 pidscope speaks` };
  return { ok: true, feature: { syscallNr, version, flags } };
}

export interface PidfdMemFds {
  controlFd: number;
  accessFd: number;
}

/** pidfd_mem(pidfd, &args, sizeof(args), flags). Throws PidscopeError with cause and fix. */
export function pidfdMemOpen(feature: PidfdMemFeature, pidfd: number, pid: number, flags: number): PidfdMemFds {
  const args = Buffer.alloc(8, 0);
  const rc = Number(sys.syscall(feature.syscallNr, 'int', pidfd, 'void *', args, 'size_t', 8, 'uint', flags));
  if (rc < 0) {
    const errno = lastErrno();
    if (errno === ESRCH) throw processGoneError(pid, 'pidfd_mem');
    if (errno === EPERM) throw permissionError(pid, 'map the memory (pidfd_mem)');
    if (errno === EINVAL) {
      throw new PidscopeError(
        'EINVAL',
        `pidfd_mem rejected flags 0x${flags.toString(16)}`,
        'This kernel may be an older pidfd_mem version; use --backend vm-readv',
        'user',
      );
    }
    if (errno === EBADF) throw new PidscopeError('EBADF', 'pidfd_mem: the pidfd is not valid', '', 'internal');
    throw errnoError(errno, pid, 'pidfd_mem');
  }
  return { controlFd: args.readInt32LE(0), accessFd: args.readInt32LE(4) };
}

/** PIDFD_MEM_MAP. Returns 0 or -errno (callers decide what a failure means). */
export function pidfdMemMap(controlFd: number, address: bigint, offset: bigint, size: bigint, writable: boolean): number {
  const m = Buffer.alloc(64, 0);
  m.writeBigUInt64LE(address, 0);
  m.writeBigUInt64LE(offset, 8);
  m.writeBigUInt64LE(size, 16);
  m.writeBigUInt64LE(writable ? PIDFD_MEM_MAP_WRITE : 0n, 24);
  return ioctl(controlFd, PIDFD_MEM_MAP, m) < 0 ? -lastErrno() : 0;
}

export function pidfdMemUnmap(controlFd: number, offset: bigint, size: bigint): number {
  const u = Buffer.alloc(16, 0);
  u.writeBigUInt64LE(offset, 0);
  u.writeBigUInt64LE(size, 8);
  return ioctl(controlFd, PIDFD_MEM_UNMAP, u) < 0 ? -lastErrno() : 0;
}

export function pidfdMemLock(controlFd: number): number {
  return ioctl(controlFd, PIDFD_MEM_LOCK, null) < 0 ? -lastErrno() : 0;
}

/**
 * The read-only status page (struct pidfd_mem_status) as 32-bit words: seq lo/hi, absent lo/hi,
 * version, flags. Plain loads: x86 keeps loads in order, which is all the protocol needs.
 */
export interface StatusPage {
  mapping: Mapping;
  words: Uint32Array;
}

export function mapStatusPage(controlFd: number, pageSize: number): StatusPage {
  const mapping = mmap(pageSize, PROT_READ, MAP_SHARED, controlFd, 0n);
  return { mapping, words: new Uint32Array(viewBuffer(mapping).buffer, 0, 6) };
}

/** A mapping of the access fd, readable only (SIGBUS-safe mode forbids PROT_WRITE). */
export function mapAccess(accessFd: number, offset: bigint, length: number): Mapping {
  return mmap(length, PROT_READ, MAP_SHARED, accessFd, offset);
}

/** Zero-copy Buffer over a whole mapping. Never touch it after munmap. */
export function viewBuffer(m: Mapping): Buffer {
  return Buffer.from(koffi.view(m.pointer as never, m.length) as ArrayBuffer);
}

export function closeFds(fds: PidfdMemFds): void {
  closeRaw(fds.controlFd);
  closeRaw(fds.accessFd);
}
