/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * pidfd_mem: map another process's memory into your own, without stopping it.
 *
 * long pidfd_mem(int pidfd, struct pidfd_mem_args *args, size_t size,
 *		  unsigned int flags);
 *
 * Returns 0 and fills @args with two close-on-exec file descriptors:
 *
 *   control_fd  ioctl(PIDFD_MEM_MAP / PIDFD_MEM_UNMAP / PIDFD_MEM_LOCK), and
 *               mmap(PROT_READ, MAP_SHARED, offset 0, one page) of the
 *               read-only status page (struct pidfd_mem_status).
 *   access_fd   mmap(MAP_SHARED) and read/pread/write/pwrite of the ranges
 *               mapped through control_fd.  File offset = the offset chosen in
 *               PIDFD_MEM_MAP, not the target address.  MAP_PRIVATE fails
 *               with EINVAL, PROT_EXEC with EPERM (and mprotect() cannot
 *               add it).
 *
 * The target's address space is recorded when pidfd_mem() is called; after
 * the target execs or exits, every access fails (SIGBUS for mapping access,
 * EIO for read/write): the new program's memory is never reached through old
 * descriptors.
 *
 * Permission: process_vm_readv(2)'s rule, ptrace_may_access() with
 * PTRACE_MODE_ATTACH_REALCREDS (same uid, target dumpable, Yama's
 * ptrace_scope, LSMs; or CAP_SYS_PTRACE), checked for the caller of
 * pidfd_mem() and again for the caller of every PIDFD_MEM_MAP.  Ranges
 * mapped before stay accessible when the target later becomes undumpable
 * or changes credentials: like /proc/PID/mem's, the descriptors are the
 * capability.  Errors: EINVAL unknown flags or bad size, EBADF @pidfd is
 * not a pidfd, ESRCH target exited, EPERM not allowed, E2BIG @size larger
 * than known and the tail not zero.
 *
 * Discovery (never guess the syscall number):
 *   /sys/kernel/pidfd_mem/syscall_nr   decimal syscall number, e.g. "500\n"
 *   /sys/kernel/pidfd_mem/version      PIDFD_MEM_VERSION, e.g. "1\n"
 *   /sys/kernel/pidfd_mem/flags        pidfd_mem() flags supported, "0x1\n"
 * If /sys/kernel/pidfd_mem/syscall_nr does not exist, the kernel has no
 * pidfd_mem.  __NR_pidfd_mem (asm/unistd.h) is only valid on kernels built
 * with this series; the sysfs value is authoritative.
 */
#ifndef _UAPI_LINUX_PIDFD_MEM_H
#define _UAPI_LINUX_PIDFD_MEM_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define PIDFD_MEM_VERSION	1

/*
 * pidfd_mem() flags.
 *
 * PIDFD_MEM_NOSIGBUS: "SIGBUS-safe" access fd.  A read access through a
 * mapping of the access fd never raises SIGBUS: a page that cannot be
 * mirrored (hole in the file, target range unmapped or PROT_NONE, target
 * exec'd or exited) reads as zeroes instead.  Because zeroes are also valid
 * data, every such substitution is made visible in the status page, and a
 * reader must check it (see struct pidfd_mem_status).  Mappings of a
 * NOSIGBUS access fd are read-only (mmap with PROT_WRITE fails with EPERM);
 * write with pwrite() instead.
 */
#define PIDFD_MEM_NOSIGBUS	(1U << 0)

struct pidfd_mem_args {
	__s32 control_fd;	/* out */
	__s32 access_fd;	/* out */
};

#define PIDFD_MEM_ARGS_SIZE_VER0	8

/*
 * PIDFD_MEM_MAP: mirror target range [address, address + size) at access-fd
 * file range [offset, offset + size).  address, offset and size must be
 * page aligned and size non-zero; file ranges must not overlap an existing
 * one (EEXIST), target ranges may.  flags: PIDFD_MEM_MAP_WRITE allows
 * writing (mmap PROT_WRITE, write/pwrite); otherwise the range is read-only
 * (EACCES for mmap PROT_WRITE, EPERM for write).  reserved[] must be zero.
 * The target range need not be mapped yet: the mirror follows the target's
 * page tables at access time.  EPERM after PIDFD_MEM_LOCK or when the caller
 * may no longer access the target (see Permission); ESRCH when the target
 * mm is gone (exit, exec); ENOSPC when the control fd already has
 * PIDFD_MEM_MAX_RANGES ranges.
 */
#define PIDFD_MEM_MAX_RANGES	65536

#define PIDFD_MEM_MAP_WRITE	(1ULL << 0)

struct pidfd_mem_map {
	__u64 address;
	__u64 offset;
	__u64 size;
	__u64 flags;
	__u64 reserved[4];
};

/*
 * PIDFD_MEM_UNMAP: remove every range lying entirely inside
 * [offset, offset + size) (EINVAL if a range straddles a boundary, ENOENT if
 * there is none).  Existing mappings of those file offsets then raise SIGBUS
 * (or read as zeroes with PIDFD_MEM_NOSIGBUS), read/write fail with EIO.
 */
struct pidfd_mem_unmap {
	__u64 offset;
	__u64 size;
};

#define PIDFD_MEM_IOC_MAGIC	0xB9
#define PIDFD_MEM_MAP		_IOW(PIDFD_MEM_IOC_MAGIC, 0x01, struct pidfd_mem_map)
#define PIDFD_MEM_UNMAP		_IOW(PIDFD_MEM_IOC_MAGIC, 0x02, struct pidfd_mem_unmap)
/* PIDFD_MEM_LOCK: argument must be 0; MAP and UNMAP fail with EPERM after. */
#define PIDFD_MEM_LOCK		_IO(PIDFD_MEM_IOC_MAGIC, 0x03)

/*
 * Status page: mmap(NULL, page size, PROT_READ, MAP_SHARED, control_fd, 0).
 * MAP_PRIVATE fails with EINVAL, PROT_WRITE and PROT_EXEC with EPERM.
 *
 * seq      changes (increases) whenever a mirrored page may have changed
 *          identity: every invalidation of a mapped target range (munmap,
 *          mremap, COW break, MADV_DONTNEED, migration, THP split, swap, KSM,
 *          exit, ...), every PIDFD_MEM_UNMAP, and every zero-page
 *          substitution in PIDFD_MEM_NOSIGBUS mode.
 * absent   number of zero-page substitutions that may still be mapped.  While
 *          it is non-zero, a zero read through the mapping may be a hole.
 * flags    PIDFD_MEM_STATUS_DEAD once the recorded address space is gone
 *          (target exec'd, exited, or was reaped).
 *
 * SIGBUS-safe read protocol (PIDFD_MEM_NOSIGBUS):
 *
 *	s = __atomic_load_n(&st->seq, __ATOMIC_ACQUIRE);
 *	if (__atomic_load_n(&st->absent, __ATOMIC_ACQUIRE) != 0)
 *		goto slow;
 *	memcpy(dst, map + off, len);
 *	__atomic_thread_fence(__ATOMIC_ACQUIRE);
 *	if (__atomic_load_n(&st->seq, __ATOMIC_RELAXED) != s)
 *		goto slow;
 *	return len;		// no byte of a stale or substitute page
 *   slow:
 *	return pread(access_fd, dst, len, off);	// exact; EIO on holes
 *
 * The kernel bumps absent before seq before it installs a substitute zero
 * page, and drops absent only after the substitute is unmapped again (from
 * a workqueue, shortly after the fault).
 *
 * The protocol excludes stale pages, not concurrent stores: atomicity is
 * the CPU's.  An aligned load of up to 8 bytes through the mapping is
 * single-copy atomic; a longer memcpy(), and read()/pread() (a byte copy,
 * like /proc/PID/mem), may return some bytes from before and some from
 * after a store the target makes meanwhile.
 */
#define PIDFD_MEM_STATUS_DEAD	(1U << 0)

struct pidfd_mem_status {
	__u64 seq;
	__u64 absent;
	__u32 version;		/* PIDFD_MEM_VERSION */
	__u32 flags;		/* PIDFD_MEM_STATUS_* */
};

#endif /* _UAPI_LINUX_PIDFD_MEM_H */
