/**
 * The one place that loads libc through koffi. Functions are declared with the libc wrappers
 * (not the variadic `syscall`) where a wrapper exists: koffi's fixed-signature calls are measurably
 * cheaper, and the reads are on every hot path. Pointers we build ourselves (iovec arrays, buffer
 * addresses) travel as `uintptr_t` bigints or as Buffers, so no per-call koffi objects are made.
 */
import { join } from 'node:path';
import type * as KoffiModule from 'koffi';

/**
 * koffi itself. `require('koffi')` resolves two packages through node_modules and their
 * package.json exports, compiles two JavaScript loaders and reads node's own ELF headers to tell
 * glibc from musl before it loads the native module (~8 ms of every start). On glibc x86-64 and
 * arm64 the native module is required straight from its prebuilt package (what koffi's loader
 * ends up loading; koffi's own JS only adds deprecation shims we do not use); anything else, or
 * PIDSCOPE_KOFFI_LOADER=1, goes through koffi's loader.
 */
function loadKoffi(): { koffi: typeof KoffiModule; from: 'prebuilt' | 'loader' } {
  if (process.env.PIDSCOPE_KOFFI_LOADER !== '1' && process.platform === 'linux' && (process.arch === 'x64' || process.arch === 'arm64')) {
    const rel = join('node_modules', '@koromix', `koffi-linux-${process.arch}`, `linux_${process.arch}`, 'koffi.node');
    // From the bundle (out/bundle), the build (out/adapter/src/linux) or the sources (adapter/src/linux).
    for (const up of ['../..', '../../../..', '../../..']) {
      let native: (typeof KoffiModule & { version?: unknown }) | undefined;
      try {
        native = require(join(__dirname, up, rel)) as typeof KoffiModule & { version?: unknown };
      } catch {
        continue;
      }
      if (native && typeof native.load === 'function' && typeof native.version === 'string') return { koffi: native, from: 'prebuilt' };
    }
  }
  return { koffi: require('koffi') as typeof KoffiModule, from: 'loader' };
}

const loaded = loadKoffi();
export const koffi = loaded.koffi;
/** How koffi was loaded (tests). */
export const koffiLoadedFrom = loaded.from;

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
