/**
 * The one place that loads libc through koffi. Functions are declared with the libc wrappers
 * (not the variadic `syscall`) where a wrapper exists: koffi's fixed-signature calls are measurably
 * cheaper, and the reads are on every hot path. Pointers we build ourselves (iovec arrays, buffer
 * addresses) travel as `uintptr_t` bigints or as Buffers, so no per-call koffi objects are made.
 */
import koffi = require('koffi');

export { koffi };

export const libc = koffi.load('libc.so.6');

export const sys = {
  /** Variadic escape hatch for syscalls without a glibc wrapper (pidfd_open on older glibc). */
  syscall: libc.func('long syscall(long number, ...)'),
  processVmReadv: libc.func('intptr_t process_vm_readv(int pid, void *local, uintptr_t liovcnt, void *remote, uintptr_t riovcnt, uintptr_t flags)'),
  processVmWritev: libc.func('intptr_t process_vm_writev(int pid, void *local, uintptr_t liovcnt, void *remote, uintptr_t riovcnt, uintptr_t flags)'),
  poll: libc.func('int poll(void *fds, uintptr_t nfds, int timeout)'),
  open: libc.func('int open(const char *path, int flags, uint32_t mode)'),
  close: libc.func('int close(int fd)'),
  pread: libc.func('intptr_t pread64(int fd, uintptr_t buf, uintptr_t count, int64_t offset)'),
  pwrite: libc.func('intptr_t pwrite64(int fd, uintptr_t buf, uintptr_t count, int64_t offset)'),
  mmap: libc.func('void *mmap(uintptr_t addr, uintptr_t length, int prot, int flags, int fd, int64_t offset)'),
  munmap: libc.func('int munmap(uintptr_t addr, uintptr_t length)'),
  sysconf: libc.func('long sysconf(int name)'),
  strerror: libc.func('const char *strerror(int errnum)'),
} as const;

/** errno of the last libc call made through koffi on this thread. */
export function lastErrno(): number {
  return koffi.errno();
}

/**
 * Address of a Buffer's first byte (honours byteOffset inside Node's pooled slabs).
 * The address does not keep the Buffer alive: the caller must still reference the Buffer after
 * the system call that uses the address returns, or GC may free the memory the kernel writes to.
 */
export function bufferAddress(buf: Uint8Array): bigint {
  return koffi.address(buf);
}

const sink: { b?: Uint8Array } = {};
/** Keeps `b` reachable up to this call (a store the optimiser cannot drop): use after a system call that wrote through bufferAddress(b). */
export function keepAlive(b: Uint8Array): void {
  sink.b = b;
  sink.b = undefined;
}

const _SC_PAGESIZE = 30;
export const PAGE_SIZE: number = Number(sys.sysconf(_SC_PAGESIZE)) || 4096;
