// SPDX-License-Identifier: GPL-2.0
/*
 * pidfd_mem selftests.  A forked child is the target; the test drives it
 * through a pipe (allocate, write, munmap, mremap, madvise, fork, exec,
 * exit) and checks what the access fd shows through mmap() and pread().
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <linux/capability.h>
#include <linux/falloc.h>
#include <unistd.h>

#include <linux/pidfd_mem.h>

#include "kselftest_harness.h"

#define PAGE 4096UL
#define PATTERN 0x5a5a5a5a5a5a5a5aULL
/* loads from memory that another process changes */
#define LOAD(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)

static long pidfd_mem_nr = -1;

static long discover_nr(void)
{
	char buf[32] = "";
	int fd = open("/sys/kernel/pidfd_mem/syscall_nr", O_RDONLY);

	if (fd < 0)
		return -1;
	if (read(fd, buf, sizeof(buf) - 1) <= 0)
		buf[0] = 0;
	close(fd);
	return buf[0] ? strtol(buf, NULL, 10) : -1;
}

static int sys_pidfd_open(pid_t pid)
{
	return syscall(434 /* __NR_pidfd_open */, pid, 0);
}

static int sys_pidfd_mem(int pidfd, struct pidfd_mem_args *a, size_t size,
			 unsigned int flags)
{
	return syscall(pidfd_mem_nr, pidfd, a, size, flags);
}

/*
 * Race tests pin their threads when more than one CPU is usable: the
 * target on the first CPU, readers on the others (round robin), so that
 * the target's page table changes and the readers' faults and preads run
 * truly in parallel instead of being interleaved on one CPU.  The usable
 * CPUs are those the program started with (pinning narrows a thread's own
 * affinity, and children inherit it).
 */
static int nr_cpus;
static int cpus[CPU_SETSIZE];

__attribute__((constructor)) static void init_cpus(void)
{
	cpu_set_t set;
	int i;

	if (sched_getaffinity(0, sizeof(set), &set))
		return;
	for (i = 0; i < CPU_SETSIZE; i++)
		if (CPU_ISSET(i, &set))
			cpus[nr_cpus++] = i;
}

/*
 * Pin a thread (0: the caller): idx 0 to the first usable CPU (the
 * target's), idx >= 1 round robin to the others, idx < 0 to the last.
 */
static void pin_to(pid_t tid, int idx)
{
	cpu_set_t set;

	if (nr_cpus < 2)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpus[idx < 0 ? nr_cpus - 1 :
		     idx ? 1 + (idx - 1) % (nr_cpus - 1) : 0], &set);
	sched_setaffinity(tid, sizeof(set), &set);
}

/* ---- the target: a child that obeys commands ---- */

enum op {
	OP_ALLOC = 1,	/* a = pages, b = fill word: returns address */
	OP_WRITE,	/* *(u64 *)a = b */
	OP_READ,	/* returns *(u64 *)a */
	OP_MUNMAP,	/* munmap(a, b) */
	OP_MREMAP,	/* mremap(a, b, b, MAYMOVE): returns new address */
	OP_MADVISE,	/* madvise(a, b, c) */
	OP_FORK,	/* fork a sleeping child: returns its pid */
	OP_EXEC,	/* exec self as "sleeper a" (maps a page at a) */
	OP_EXIT,
	OP_LOOP,	/* thread: memfd / PROT_NONE at one address, a pages */
	OP_THP,		/* a = bytes; 2 MiB aligned MADV_HUGEPAGE region */
	OP_SETUID,	/* setresuid(a), dumpable */
	OP_FILL,	/* fill [a, a + b) with the word c */
	OP_DUMPABLE,	/* prctl(PR_SET_DUMPABLE, a) */
	OP_CHURN,	/* thread: a pages churned at one address; a = 0: stop */
	OP_CAPUID,	/* become uid/gid a, keeping CAP_SETUID/CAP_SETGID only */
};

struct req {
	uint64_t op, a, b, c;
};

struct target {
	pid_t pid;
	int pidfd;
	int cmd, rsp;
};

static int loop_stop;
static uint64_t loop_addr, loop_pages;

static void *loop_fn(void *arg)
{
	int memfd = memfd_create("loop", 0);
	size_t len = loop_pages * PAGE;
	uint64_t *p;
	size_t i;

	if (ftruncate(memfd, len))
		abort();
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	for (i = 0; i < len / 8; i++)
		p[i] = PATTERN;
	munmap(p, len);
	/*
	 * Alternate the patterned memfd and an inaccessible placeholder at
	 * the same address: the range is never free, so nothing else (a
	 * thread stack, malloc) can land there.
	 */
	while (!LOAD(&loop_stop)) {
		p = mmap((void *)loop_addr, len, PROT_READ,
			 MAP_SHARED | MAP_FIXED, memfd, 0);
		if (p == MAP_FAILED)
			abort();
		(void)LOAD(p);
		p = mmap((void *)loop_addr, len, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		if (p == MAP_FAILED)
			abort();
		sched_yield();
	}
	close(memfd);
	return NULL;
}

/*
 * The target's side of the race tests: a patterned anonymous region at a
 * fixed address that is, in turn, zapped (MADV_DONTNEED) and refilled,
 * moved away and back (mremap), shared with a short-lived child (fork: COW
 * on the refill), and unmapped and mapped again.  Every value the target
 * ever holds there is PATTERN or 0.  Runs on the first CPU (see pin_to()).
 */
static void *churn_fn(void *arg)
{
	size_t len = loop_pages * PAGE;
	uint64_t *p = (uint64_t *)loop_addr, *q;
	unsigned long round = 0;
	size_t i;
	pid_t pid;

	pin_to(0, 0);
	while (!LOAD(&loop_stop)) {
		switch (round++ % 4) {
		case 0:
			madvise(p, len, MADV_DONTNEED);
			break;
		case 1:
			q = mmap(NULL, len, PROT_NONE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (q == MAP_FAILED)
				abort();
			q = mremap(p, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, q);
			if (q == MAP_FAILED)
				abort();
			if (mremap(q, len, len, MREMAP_MAYMOVE | MREMAP_FIXED,
				   p) == MAP_FAILED)
				abort();
			break;
		case 2:
			pid = fork();
			if (pid == 0)
				_exit(0);
			break;
		case 3:
			if (mmap(p, len, PROT_READ | PROT_WRITE, MAP_PRIVATE |
				 MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
				abort();
			break;
		}
		for (i = 0; i < len / 8; i += 64)
			STORE(&p[i], PATTERN);
		if (round % 4 == 3)
			while (waitpid(-1, NULL, WNOHANG) > 0)
				;
		sched_yield();
	}
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	return NULL;
}

/*
 * Become @uid (and gid) with CAP_SETUID and CAP_SETGID as the only
 * capabilities, dumpable: an unprivileged process that can still change
 * its uid later.  Two such processes may inspect each other (same uid,
 * equal permitted sets, no CAP_SYS_PTRACE).
 */
static int become_uid_keep_setuid(uid_t uid)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = { { 0 } };

	if (prctl(PR_SET_KEEPCAPS, 1) || setgroups(0, NULL) ||
	    setresgid(uid, uid, uid) || setresuid(uid, uid, uid))
		return -1;
	d[0].permitted = (1U << CAP_SETUID) | (1U << CAP_SETGID);
	d[0].effective = d[0].permitted;
	if (syscall(SYS_capset, &h, d))
		return -1;
	return prctl(PR_SET_DUMPABLE, 1);
}

static int64_t target_do(struct req *r)
{
	void *p;
	uint64_t *w;
	size_t i;
	pid_t pid;
	static pthread_t loop;

	switch (r->op) {
	case OP_ALLOC:
		p = mmap(NULL, r->a * PAGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return -errno;
		for (w = p, i = 0; i < r->a * PAGE / 8; i++)
			w[i] = r->b + i;
		return (int64_t)p;
	case OP_WRITE:
		STORE((uint64_t *)r->a, r->b);
		return 0;
	case OP_READ:
		return LOAD((uint64_t *)r->a);
	case OP_MUNMAP:
		return munmap((void *)r->a, r->b) ? -errno : 0;
	case OP_MREMAP:
		/* move to a fresh spot */
		p = mmap(NULL, r->b, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
		if (p == MAP_FAILED)
			return -errno;
		p = mremap((void *)r->a, r->b, r->b,
			   MREMAP_MAYMOVE | MREMAP_FIXED, p);
		return p == MAP_FAILED ? -errno : (int64_t)p;
	case OP_MADVISE:
		return madvise((void *)r->a, r->b, r->c) ? -errno : 0;
	case OP_FORK:
		pid = fork();
		if (pid == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			for (;;)
				pause();
		}
		return pid;
	case OP_THP: {
		size_t len = r->a;
		char *q = mmap(NULL, len + (2UL << 20), PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (q == MAP_FAILED)
			return -errno;
		q = (char *)(((uintptr_t)q + (2UL << 20) - 1) & ~((2UL << 20) - 1));
		madvise(q, len, MADV_HUGEPAGE);
		for (w = (uint64_t *)q, i = 0; i < len / 8; i++)
			w[i] = r->b + i;
		return (int64_t)q;
	}
	case OP_LOOP:	/* a = pages: returns the address; a = 0: stop */
		if (r->a) {
			p = mmap(NULL, r->a * PAGE, PROT_NONE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (p == MAP_FAILED)
				return -errno;
			loop_addr = (uint64_t)p;
			loop_pages = r->a;
			STORE(&loop_stop, 0);
			if (pthread_create(&loop, NULL, loop_fn, NULL))
				return -EAGAIN;
			return (int64_t)p;
		}
		STORE(&loop_stop, 1);
		pthread_join(loop, NULL);
		return 0;
	case OP_FILL:
		for (w = (uint64_t *)r->a, i = 0; i < r->b / 8; i++)
			w[i] = r->c;
		return 0;
	case OP_CHURN:
		if (r->a) {
			p = mmap(NULL, r->a * PAGE, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (p == MAP_FAILED)
				return -errno;
			loop_addr = (uint64_t)p;
			loop_pages = r->a;
			STORE(&loop_stop, 0);
			if (pthread_create(&loop, NULL, churn_fn, NULL))
				return -EAGAIN;
			return (int64_t)p;
		}
		STORE(&loop_stop, 1);
		pthread_join(loop, NULL);
		return 0;
	case OP_DUMPABLE:
		return prctl(PR_SET_DUMPABLE, r->a) ? -errno : 0;
	case OP_CAPUID:
		return become_uid_keep_setuid(r->a) ? -errno : 0;
	case OP_SETUID:
		if (setresgid(r->a, r->a, r->a) || setresuid(r->a, r->a, r->a))
			return -errno;
		prctl(PR_SET_DUMPABLE, 1);
		return 0;
	}
	return -EINVAL;
}

static void target_main(int cmd, int rsp)
{
	struct req r;
	int64_t ret;
	char arg[32];

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	while (read(cmd, &r, sizeof(r)) == sizeof(r)) {
		if (r.op == OP_EXIT)
			_exit(0);
		if (r.op == OP_EXEC) {
			snprintf(arg, sizeof(arg), "%llu", (unsigned long long)r.a);
			dup2(rsp, 3);
			execl("/proc/self/exe", "pidfd_mem_test", "--sleeper",
			      arg, NULL);
			_exit(127);
		}
		ret = target_do(&r);
		if (write(rsp, &ret, sizeof(ret)) != sizeof(ret))
			_exit(1);
	}
	_exit(0);
}

/* After exec: map a page at the old address with new contents, then wait. */
static int sleeper_main(const char *addr)
{
	uint64_t a = strtoull(addr, NULL, 10), *p;
	int64_t ok = 0;
	size_t i;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	p = mmap((void *)a, PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p != MAP_FAILED)
		for (i = 0; i < PAGE / 8; i++)
			p[i] = 0xe0e0e0e0e0e0e0e0ULL;
	else
		ok = -errno;
	if (write(3, &ok, sizeof(ok)) != sizeof(ok))
		return 1;
	for (;;)
		pause();
}

static int target_start(struct target *t)
{
	int c[2], r[2];

	if (pipe2(c, O_CLOEXEC) || pipe(r))
		return -1;
	t->pid = fork();
	if (t->pid < 0)
		return -1;
	if (t->pid == 0) {
		close(c[1]);
		close(r[0]);
		target_main(c[0], LOAD(&r[1]));
	}
	close(c[0]);
	close(r[1]);
	t->cmd = c[1];
	t->rsp = r[0];
	t->pidfd = sys_pidfd_open(t->pid);
	return t->pidfd < 0 ? -1 : 0;
}

static int64_t target_cmd(struct target *t, uint64_t op, uint64_t a,
			  uint64_t b, uint64_t c)
{
	struct req r = { op, a, b, c };
	int64_t ret;

	if (write(t->cmd, &r, sizeof(r)) != sizeof(r))
		return -EPIPE;
	if (op == OP_EXIT)
		return 0;
	if (read(t->rsp, &ret, sizeof(ret)) != sizeof(ret))
		return -EPIPE;
	return ret;
}

static void target_stop(struct target *t)
{
	if (t->pid > 0) {
		kill(t->pid, SIGKILL);
		waitpid(t->pid, NULL, 0);
	}
	close(t->cmd);
	close(t->rsp);
	close(t->pidfd);
	t->pid = 0;
}

/* ---- reader helpers ---- */

struct mem {
	int ctl, acc;
	const struct pidfd_mem_status *st;
};

static int mem_open(struct target *t, unsigned int flags, struct mem *m)
{
	struct pidfd_mem_args a = { -1, -1 };

	if (sys_pidfd_mem(t->pidfd, &a, sizeof(a), flags))
		return -errno;
	m->ctl = a.control_fd;
	m->acc = a.access_fd;
	m->st = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, m->ctl, 0);
	return m->st == MAP_FAILED ? -errno : 0;
}

static void mem_close(struct mem *m)
{
	munmap((void *)m->st, PAGE);
	close(m->ctl);
	close(m->acc);
}

static int mem_map(struct mem *m, uint64_t addr, uint64_t off, uint64_t size,
		   uint64_t flags)
{
	struct pidfd_mem_map mm = { .address = addr, .offset = off,
				    .size = size, .flags = flags };

	return ioctl(m->ctl, PIDFD_MEM_MAP, &mm) ? -errno : 0;
}

static int mem_unmap(struct mem *m, uint64_t off, uint64_t size)
{
	struct pidfd_mem_unmap u = { .offset = off, .size = size };

	return ioctl(m->ctl, PIDFD_MEM_UNMAP, &u) ? -errno : 0;
}

static sigjmp_buf probe_env;
static int probe_armed;

static void on_sigbus(int sig)
{
	if (LOAD(&probe_armed))
		siglongjmp(probe_env, 1);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* 0 and *out on success, -1 if the load raised SIGBUS */
static int probe(const uint64_t *p, uint64_t *out)
{
	static int installed;

	if (!installed) {
		struct sigaction sa = { .sa_handler = on_sigbus };

		sigaction(SIGBUS, &sa, NULL);
		installed = 1;
	}
	if (sigsetjmp(probe_env, 1)) {
		STORE(&probe_armed, 0);
		return -1;
	}
	__atomic_store_n(&probe_armed, 1, __ATOMIC_SEQ_CST);
	*out = LOAD(p);
	__atomic_store_n(&probe_armed, 0, __ATOMIC_SEQ_CST);
	return 0;
}

static int64_t pread64_at(int fd, uint64_t off, uint64_t *out)
{
	ssize_t n = pread(fd, out, 8, off);

	return n < 0 ? -errno : n;
}

/* The SIGBUS-safe protocol of include/uapi/linux/pidfd_mem.h. */
static int safe_read(struct mem *m, const void *view, uint64_t off,
		     void *dst, size_t len, int *slow)
{
	uint64_t s;
	ssize_t n;

	*slow = 0;
	s = __atomic_load_n(&m->st->seq, __ATOMIC_ACQUIRE);
	if (__atomic_load_n(&m->st->absent, __ATOMIC_ACQUIRE) != 0)
		goto slow;
	memcpy(dst, (const char *)view + off, len);
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (__atomic_load_n(&m->st->seq, __ATOMIC_RELAXED) != s)
		goto slow;
	return 0;
slow:
	*slow = 1;
	n = pread(m->acc, dst, len, off);
	if (n == (ssize_t)len)
		return 0;
	return n < 0 ? -errno : -EIO;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Seconds a race test runs: 3, or $PIDFD_MEM_RACE_SECONDS for long hunts. */
static double race_seconds(void)
{
	const char *e = getenv("PIDFD_MEM_RACE_SECONDS");
	double v = e ? strtod(e, NULL) : 0;

	return v > 0 ? v : 3;
}

/* ---- tests ---- */

TEST(discovery)
{
	char buf[32] = "";
	int fd;

	if (pidfd_mem_nr < 0)
		SKIP(return, "no /sys/kernel/pidfd_mem: kernel without pidfd_mem");
#ifdef __NR_pidfd_mem
	EXPECT_EQ(__NR_pidfd_mem, pidfd_mem_nr);
#endif
	EXPECT_EQ(500, pidfd_mem_nr);
	fd = open("/sys/kernel/pidfd_mem/version", O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_LT(0, read(fd, buf, sizeof(buf) - 1));
	EXPECT_EQ(PIDFD_MEM_VERSION, atoi(buf));
	close(fd);
	memset(buf, 0, sizeof(buf));
	fd = open("/sys/kernel/pidfd_mem/flags", O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_LT(0, read(fd, buf, sizeof(buf) - 1));
	EXPECT_EQ(PIDFD_MEM_NOSIGBUS, strtoul(buf, NULL, 0));
	close(fd);
	/* read-only */
	EXPECT_GT(0, open("/sys/kernel/pidfd_mem/syscall_nr", O_WRONLY));
}

FIXTURE(t) {
	struct target t;
	struct mem m;
};

FIXTURE_SETUP(t)
{
	if (pidfd_mem_nr < 0)
		SKIP(return, "kernel without pidfd_mem");
	ASSERT_EQ(0, target_start(&self->t));
	ASSERT_EQ(0, mem_open(&self->t, 0, &self->m));
}

FIXTURE_TEARDOWN(t)
{
	if (pidfd_mem_nr < 0)
		return;
	mem_close(&self->m);
	target_stop(&self->t);
}

TEST_F(t, bad_args)
{
	struct pidfd_mem_args a = { -1, -1 };
	char big[64] = { 0 };
	int fd;
	pid_t pid;

	EXPECT_EQ(-1, sys_pidfd_mem(self->t.pidfd, &a, sizeof(a), 1U << 7));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, sys_pidfd_mem(self->t.pidfd, &a, 4, 0));
	EXPECT_EQ(EINVAL, errno);
	big[40] = 1;
	EXPECT_EQ(-1, sys_pidfd_mem(self->t.pidfd, (void *)big, sizeof(big), 0));
	EXPECT_EQ(E2BIG, errno);
	big[40] = 0;
	EXPECT_EQ(0, sys_pidfd_mem(self->t.pidfd, (void *)big, sizeof(big), 0));
	close(((struct pidfd_mem_args *)big)->control_fd);
	close(((struct pidfd_mem_args *)big)->access_fd);

	fd = open("/dev/null", O_RDONLY);
	EXPECT_EQ(-1, sys_pidfd_mem(fd, &a, sizeof(a), 0));
	EXPECT_EQ(EBADF, errno);
	close(fd);
	EXPECT_EQ(-1, sys_pidfd_mem(-1, &a, sizeof(a), 0));
	EXPECT_EQ(EBADF, errno);

	/* exited target, zombie and reaped */
	pid = fork();
	if (pid == 0)
		_exit(0);
	fd = sys_pidfd_open(pid);
	ASSERT_LE(0, fd);
	while (waitid(P_PID, pid, NULL, WEXITED | WNOWAIT) && errno == EINTR)
		;
	EXPECT_EQ(-1, sys_pidfd_mem(fd, &a, sizeof(a), 0));
	EXPECT_EQ(ESRCH, errno);
	waitpid(pid, NULL, 0);
	EXPECT_EQ(-1, sys_pidfd_mem(fd, &a, sizeof(a), 0));
	EXPECT_EQ(ESRCH, errno);
	close(fd);

	/* close-on-exec */
	EXPECT_EQ(FD_CLOEXEC, fcntl(self->m.ctl, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(FD_CLOEXEC, fcntl(self->m.acc, F_GETFD) & FD_CLOEXEC);
}

TEST_F(t, map_args)
{
	struct pidfd_mem_map mm = { 0 };
	int64_t addr = target_cmd(&self->t, OP_ALLOC, 4, 1, 0);

	ASSERT_LT(0, addr);
	EXPECT_EQ(-EINVAL, mem_map(&self->m, addr + 8, 0, PAGE, 0));
	EXPECT_EQ(-EINVAL, mem_map(&self->m, addr, 8, PAGE, 0));
	EXPECT_EQ(-EINVAL, mem_map(&self->m, addr, 0, 8, 0));
	EXPECT_EQ(-EINVAL, mem_map(&self->m, addr, 0, 0, 0));
	EXPECT_EQ(-EINVAL, mem_map(&self->m, addr, 0, PAGE, 2));
	EXPECT_EQ(-EINVAL, mem_map(&self->m, -PAGE, 0, 2 * PAGE, 0));
	mm.address = addr;
	mm.size = PAGE;
	mm.reserved[3] = 1;
	EXPECT_EQ(-1, ioctl(self->m.ctl, PIDFD_MEM_MAP, &mm));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, mem_map(&self->m, addr, 0, 2 * PAGE, 0));
	EXPECT_EQ(-EEXIST, mem_map(&self->m, addr, PAGE, 2 * PAGE, 0));
	EXPECT_EQ(-EEXIST, mem_map(&self->m, addr, 0, PAGE, 0));
	/* the same target memory may appear twice */
	EXPECT_EQ(0, mem_map(&self->m, addr, 2 * PAGE, 2 * PAGE, 0));
	EXPECT_EQ(-1, ioctl(self->m.ctl, 0xdead, 0));
	EXPECT_EQ(ENOTTY, errno);
	/* MAP_PRIVATE is refused */
	EXPECT_EQ(MAP_FAILED, mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE,
				   self->m.acc, 0));
}

TEST_F(t, map_read_matches)
{
	const size_t pages = 8;
	int64_t addr = target_cmd(&self->t, OP_ALLOC, pages, 1000, 0);
	uint64_t *v, buf[pages * PAGE / 8];
	size_t i;

	ASSERT_LT(0, addr);
	ASSERT_EQ(0, mem_map(&self->m, addr, 16 * PAGE, pages * PAGE, 0));
	v = mmap(NULL, pages * PAGE, PROT_READ, MAP_SHARED, self->m.acc, 16 * PAGE);
	ASSERT_NE(MAP_FAILED, v);
	for (i = 0; i < pages * PAGE / 8; i++)
		ASSERT_EQ(1000 + i, LOAD(&v[i]));
	ASSERT_EQ(sizeof(buf), pread(self->m.acc, buf, sizeof(buf), 16 * PAGE));
	for (i = 0; i < pages * PAGE / 8; i++)
		ASSERT_EQ(1000 + i, buf[i]);
	/* unaligned pread across pages */
	ASSERT_EQ(16, pread(self->m.acc, buf, 16, 16 * PAGE + PAGE - 8));
	EXPECT_EQ(1000 + PAGE / 8 - 1, buf[0]);
	EXPECT_EQ(1000 + PAGE / 8, buf[1]);
	/* read() advances the file position */
	ASSERT_EQ(16 * PAGE, lseek(self->m.acc, 16 * PAGE, SEEK_SET));
	ASSERT_EQ(8, read(self->m.acc, buf, 8));
	ASSERT_EQ(8, read(self->m.acc, buf + 1, 8));
	EXPECT_EQ(1001, buf[1]);
	EXPECT_EQ(PIDFD_MEM_VERSION, LOAD(&self->m.st->version));
	munmap(v, pages * PAGE);
}

TEST_F(t, live_visibility)
{
	int64_t addr = target_cmd(&self->t, OP_ALLOC, 2, 0, 0);
	uint64_t *v;
	uint64_t x;
	int i;

	ASSERT_LT(0, addr);
	ASSERT_EQ(0, mem_map(&self->m, addr, 0, 2 * PAGE, 0));
	v = mmap(NULL, 2 * PAGE, PROT_READ, MAP_SHARED, self->m.acc, 0);
	ASSERT_NE(MAP_FAILED, v);
	for (i = 1; i <= 100; i++) {
		ASSERT_EQ(0, target_cmd(&self->t, OP_WRITE, addr + PAGE + 8, i, 0));
		EXPECT_EQ(i, LOAD(&v[PAGE / 8 + 1]));
		ASSERT_EQ(8, pread64_at(self->m.acc, PAGE + 8, &x));
		EXPECT_EQ(i, x);
	}
	munmap(v, 2 * PAGE);
}

TEST_F(t, write_access)
{
	int64_t addr = target_cmd(&self->t, OP_ALLOC, 2, 0, 0);
	uint64_t *w, *r;
	uint64_t x = 77;

	ASSERT_LT(0, addr);
	ASSERT_EQ(0, mem_map(&self->m, addr, 0, PAGE, PIDFD_MEM_MAP_WRITE));
	ASSERT_EQ(0, mem_map(&self->m, addr + PAGE, PAGE, PAGE, 0));

	w = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, self->m.acc, 0);
	ASSERT_NE(MAP_FAILED, w);
	STORE(&w[3], 0xabcdef);
	EXPECT_EQ(0xabcdef, target_cmd(&self->t, OP_READ, addr + 24, 0, 0));
	ASSERT_EQ(8, pwrite(self->m.acc, &x, 8, 32));
	EXPECT_EQ(77, target_cmd(&self->t, OP_READ, addr + 32, 0, 0));
	EXPECT_EQ(77, LOAD(&w[4]));

	/* read-only range: no PROT_WRITE, no mprotect, no pwrite */
	EXPECT_EQ(MAP_FAILED, mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
				   MAP_SHARED, self->m.acc, PAGE));
	EXPECT_EQ(EACCES, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
				   MAP_SHARED, self->m.acc, 0));
	r = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, self->m.acc, PAGE);
	ASSERT_NE(MAP_FAILED, r);
	EXPECT_EQ(-1, mprotect(r, PAGE, PROT_READ | PROT_WRITE));
	EXPECT_EQ(-1, pwrite(self->m.acc, &x, 8, PAGE));
	EXPECT_EQ(EPERM, errno);
	EXPECT_EQ(target_cmd(&self->t, OP_READ, addr + PAGE, 0, 0), LOAD(&r[0]));
	munmap(w, PAGE);
	munmap(r, PAGE);
}

TEST_F(t, unmap_then_sigbus)
{
	int64_t addr = target_cmd(&self->t, OP_ALLOC, 4, 5, 0);
	uint64_t *v;
	uint64_t x;

	ASSERT_LT(0, addr);
	ASSERT_EQ(0, mem_map(&self->m, addr, 0, 2 * PAGE, 0));
	ASSERT_EQ(0, mem_map(&self->m, addr + 2 * PAGE, 2 * PAGE, 2 * PAGE, 0));
	v = mmap(NULL, 4 * PAGE, PROT_READ, MAP_SHARED, self->m.acc, 0);
	ASSERT_NE(MAP_FAILED, v);
	ASSERT_EQ(0, probe(&v[0], &x));
	EXPECT_EQ(5, x);
	ASSERT_EQ(0, probe(&v[2 * PAGE / 8], &x));
	EXPECT_EQ(5 + 2 * PAGE / 8, x);

	EXPECT_EQ(-EINVAL, mem_unmap(&self->m, 0, PAGE));	/* straddles */
	EXPECT_EQ(-ENOENT, mem_unmap(&self->m, 8 * PAGE, PAGE));
	ASSERT_EQ(0, mem_unmap(&self->m, 0, 2 * PAGE));
	EXPECT_EQ(-1, probe(&v[0], &x));
	EXPECT_EQ(-1, probe(&v[PAGE / 8], &x));
	EXPECT_EQ(-EIO, pread64_at(self->m.acc, 0, &x));
	/* the other range is untouched */
	ASSERT_EQ(0, probe(&v[2 * PAGE / 8], &x));
	EXPECT_EQ(5 + 2 * PAGE / 8, x);
	/* map again at the same offset: new target range shows up */
	ASSERT_EQ(0, mem_map(&self->m, addr + 2 * PAGE, 0, PAGE, 0));
	ASSERT_EQ(0, probe(&v[0], &x));
	EXPECT_EQ(5 + 2 * PAGE / 8, x);
	munmap(v, 4 * PAGE);
}

TEST_F(t, holes)
{
	int64_t addr = target_cmd(&self->t, OP_ALLOC, 3, 9, 0);
	uint64_t *v;
	uint64_t x, buf[2 * PAGE / 8];

	ASSERT_LT(0, addr);
	/* target hole: the middle page is unmapped by the target */
	ASSERT_EQ(0, target_cmd(&self->t, OP_MUNMAP, addr + PAGE, PAGE, 0));
	ASSERT_EQ(0, mem_map(&self->m, addr, 0, 3 * PAGE, 0));
	v = mmap(NULL, 5 * PAGE, PROT_READ, MAP_SHARED, self->m.acc, 0);
	ASSERT_NE(MAP_FAILED, v);
	ASSERT_EQ(0, probe(&v[0], &x));
	EXPECT_EQ(9, x);
	EXPECT_EQ(-1, probe(&v[PAGE / 8], &x));
	ASSERT_EQ(0, probe(&v[2 * PAGE / 8], &x));
	EXPECT_EQ(9 + 2 * PAGE / 8, x);
	/* file hole: no range at offset 3 pages */
	EXPECT_EQ(-1, probe(&v[3 * PAGE / 8], &x));
	EXPECT_EQ(-EIO, pread64_at(self->m.acc, 3 * PAGE, &x));
	EXPECT_EQ(-EIO, pread64_at(self->m.acc, PAGE + 16, &x));
	/* a read running into a hole is short */
	EXPECT_EQ(PAGE, pread(self->m.acc, buf, sizeof(buf), 0));
	munmap(v, 5 * PAGE);
}

TEST_F(t, lock)
{
	int64_t addr = target_cmd(&self->t, OP_ALLOC, 2, 3, 0);
	uint64_t *v;

	ASSERT_LT(0, addr);
	ASSERT_EQ(0, mem_map(&self->m, addr, 0, PAGE, 0));
	EXPECT_EQ(-1, ioctl(self->m.ctl, PIDFD_MEM_LOCK, 1));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(0, ioctl(self->m.ctl, PIDFD_MEM_LOCK, 0));
	EXPECT_EQ(-EPERM, mem_map(&self->m, addr + PAGE, PAGE, PAGE, 0));
	EXPECT_EQ(-EPERM, mem_unmap(&self->m, 0, PAGE));
	v = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, self->m.acc, 0);
	ASSERT_NE(MAP_FAILED, v);
	EXPECT_EQ(3, LOAD(&v[0]));
	munmap(v, PAGE);
}

TEST_F(t, permissions)
{
	int64_t addr = target_cmd(&self->t, OP_ALLOC, 1, 42, 0);
	struct target t2;
	int status;
	pid_t pid;

	if (geteuid() != 0)
		SKIP(return, "needs root to switch uids");
	ASSERT_LT(0, addr);

	/* another uid, no CAP_SYS_PTRACE: EPERM, like process_vm_readv */
	pid = fork();
	if (pid == 0) {
		struct pidfd_mem_args a;
		struct iovec l, r;
		uint64_t x;

		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(10);
		if (!sys_pidfd_mem(self->t.pidfd, &a, sizeof(a), 0))
			_exit(11);
		if (errno != EPERM)
			_exit(12);
		l.iov_base = &x;
		l.iov_len = 8;
		r.iov_base = (void *)addr;
		r.iov_len = 8;
		if (process_vm_readv(self->t.pid, &l, 1, &r, 1, 0) != -1 ||
		    errno != EPERM)
			_exit(13);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, WEXITSTATUS(status));

	/* same uid (both 65534): allowed */
	ASSERT_EQ(0, target_start(&t2));
	ASSERT_EQ(0, target_cmd(&t2, OP_SETUID, 65534, 0, 0));
	addr = target_cmd(&t2, OP_ALLOC, 1, 4242, 0);
	ASSERT_LT(0, addr);
	pid = fork();
	if (pid == 0) {
		struct mem m;
		uint64_t *v;

		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(10);
		if (mem_open(&t2, 0, &m))
			_exit(11);
		if (mem_map(&m, addr, 0, PAGE, 0))
			_exit(12);
		v = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, m.acc, 0);
		if (v == MAP_FAILED || v[0] != 4242)
			_exit(13);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, WEXITSTATUS(status));
	target_stop(&t2);
}

TEST_F(t, fork_cow)
{
	int64_t addr = target_cmd(&self->t, OP_ALLOC, 1, 100, 0);
	uint64_t *v, *w;
	struct iovec l, r;
	int64_t child;
	uint64_t x;

	ASSERT_LT(0, addr);
	ASSERT_EQ(0, mem_map(&self->m, addr, 0, PAGE, 0));
	ASSERT_EQ(0, mem_map(&self->m, addr, PAGE, PAGE, PIDFD_MEM_MAP_WRITE));
	v = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, self->m.acc, 0);
	w = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, self->m.acc, PAGE);
	ASSERT_NE(MAP_FAILED, v);
	ASSERT_NE(MAP_FAILED, w);
	EXPECT_EQ(100, LOAD(&v[0]));
	EXPECT_EQ(100, LOAD(&w[0]));

	child = target_cmd(&self->t, OP_FORK, 0, 0, 0);
	ASSERT_LT(0, child);
	/* target writes: COW break, its new page must show up */
	ASSERT_EQ(0, target_cmd(&self->t, OP_WRITE, addr, 555, 0));
	EXPECT_EQ(555, LOAD(&v[0]));
	EXPECT_EQ(555, LOAD(&w[0]));
	/* our writes land in the target, never in the forked child */
	STORE(&w[1], 666);
	EXPECT_EQ(666, target_cmd(&self->t, OP_READ, addr + 8, 0, 0));
	l.iov_base = &x;
	l.iov_len = 8;
	r.iov_base = (void *)(addr + 8);
	r.iov_len = 8;
	ASSERT_EQ(8, process_vm_readv(child, &l, 1, &r, 1, 0));
	EXPECT_EQ(101, x);
	r.iov_base = (void *)addr;
	ASSERT_EQ(8, process_vm_readv(child, &l, 1, &r, 1, 0));
	EXPECT_EQ(100, x);

	/* fork again, then write through the mapping first */
	child = target_cmd(&self->t, OP_FORK, 0, 0, 0);
	ASSERT_LT(0, child);
	STORE(&w[2], 777);
	EXPECT_EQ(777, target_cmd(&self->t, OP_READ, addr + 16, 0, 0));
	r.iov_base = (void *)(addr + 16);
	ASSERT_EQ(8, process_vm_readv(child, &l, 1, &r, 1, 0));
	EXPECT_EQ(102, x);
	munmap(v, PAGE);
	munmap(w, PAGE);
}

TEST_F(t, target_munmap_mremap_madvise)
{
	int64_t addr = target_cmd(&self->t, OP_ALLOC, 4, 50, 0), moved;
	uint64_t *v;
	uint64_t x;

	ASSERT_LT(0, addr);
	ASSERT_EQ(0, mem_map(&self->m, addr, 0, 4 * PAGE, 0));
	v = mmap(NULL, 4 * PAGE, PROT_READ, MAP_SHARED, self->m.acc, 0);
	ASSERT_NE(MAP_FAILED, v);
	ASSERT_EQ(0, probe(&v[0], &x));
	ASSERT_EQ(0, probe(&v[PAGE / 8], &x));
	ASSERT_EQ(0, probe(&v[2 * PAGE / 8], &x));
	ASSERT_EQ(0, probe(&v[3 * PAGE / 8], &x));

	/* MADV_DONTNEED: the target sees zeroes, so do we */
	ASSERT_EQ(0, target_cmd(&self->t, OP_MADVISE, addr, PAGE, MADV_DONTNEED));
	ASSERT_EQ(0, probe(&v[1], &x));
	EXPECT_EQ(0, x);
	EXPECT_EQ(0, target_cmd(&self->t, OP_READ, addr + 8, 0, 0));

	/* munmap */
	ASSERT_EQ(0, target_cmd(&self->t, OP_MUNMAP, addr + PAGE, PAGE, 0));
	EXPECT_EQ(-1, probe(&v[PAGE / 8], &x));
	EXPECT_EQ(-EIO, pread64_at(self->m.acc, PAGE, &x));

	/* mremap moves pages 2..3 away: gone at the old address */
	moved = target_cmd(&self->t, OP_MREMAP, addr + 2 * PAGE, 2 * PAGE, 0);
	ASSERT_LT(0, moved);
	EXPECT_EQ(-1, probe(&v[2 * PAGE / 8], &x));
	EXPECT_EQ(-1, probe(&v[3 * PAGE / 8], &x));
	ASSERT_EQ(0, mem_map(&self->m, moved, 8 * PAGE, 2 * PAGE, 0));
	ASSERT_EQ(8, pread64_at(self->m.acc, 8 * PAGE + 8, &x));
	EXPECT_EQ(50 + 2 * PAGE / 8 + 1, x);
	munmap(v, 4 * PAGE);
}

TEST_F(t, thp)
{
	const size_t len = 4UL << 20;
	int64_t addr = target_cmd(&self->t, OP_THP, len, 7, 0);
	uint64_t *v;
	uint64_t x;
	size_t i;

	ASSERT_LT(0, addr);
	ASSERT_EQ(0, mem_map(&self->m, addr, 0, len, 0));
	v = mmap(NULL, len, PROT_READ, MAP_SHARED, self->m.acc, 0);
	ASSERT_NE(MAP_FAILED, v);
	for (i = 0; i < len / 8; i += 509)
		ASSERT_EQ(7 + i, LOAD(&v[i]));
	/* split the huge page by zapping one subpage */
	ASSERT_EQ(0, target_cmd(&self->t, OP_MADVISE, addr + 5 * PAGE, PAGE,
				MADV_DONTNEED));
	EXPECT_EQ(0, LOAD(&v[5 * PAGE / 8]));
	EXPECT_EQ(7 + 4 * PAGE / 8, LOAD(&v[4 * PAGE / 8]));
	EXPECT_EQ(7 + 6 * PAGE / 8, LOAD(&v[6 * PAGE / 8]));
	ASSERT_EQ(0, target_cmd(&self->t, OP_WRITE, addr + len - 8, 99, 0));
	EXPECT_EQ(99, LOAD(&v[len / 8 - 1]));
	/* drop the whole first huge page */
	ASSERT_EQ(0, target_cmd(&self->t, OP_MUNMAP, addr, 2UL << 20, 0));
	EXPECT_EQ(-1, probe(&v[0], &x));
	EXPECT_EQ(-1, probe(&v[(2UL << 20) / 8 - 1], &x));
	EXPECT_EQ(7 + (2UL << 20) / 8, LOAD(&v[(2UL << 20) / 8]));
	munmap(v, len);
}

TEST_F(t, exec_no_new_image)
{
	int64_t addr = target_cmd(&self->t, OP_ALLOC, 1, 31, 0), ok;
	uint64_t *v;
	struct mem m2;
	uint64_t x;

	ASSERT_LT(0, addr);
	ASSERT_EQ(0, mem_map(&self->m, addr, 0, PAGE, 0));
	v = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, self->m.acc, 0);
	ASSERT_NE(MAP_FAILED, v);
	EXPECT_EQ(31, LOAD(&v[0]));

	/* the new image maps its own page at the same address */
	ok = target_cmd(&self->t, OP_EXEC, addr, 0, 0);
	ASSERT_EQ(0, ok);
	EXPECT_EQ(-1, probe(&v[0], &x));
	EXPECT_EQ(-EIO, pread64_at(self->m.acc, 0, &x));
	EXPECT_EQ(-ESRCH, mem_map(&self->m, addr, PAGE, PAGE, 0));
	EXPECT_TRUE(LOAD(&self->m.st->flags) & PIDFD_MEM_STATUS_DEAD);

	/* a new pidfd_mem() sees the new image */
	ASSERT_EQ(0, mem_open(&self->t, 0, &m2));
	ASSERT_EQ(0, mem_map(&m2, addr, 0, PAGE, 0));
	ASSERT_EQ(8, pread64_at(m2.acc, 0, &x));
	EXPECT_EQ(0xe0e0e0e0e0e0e0e0ULL, x);
	mem_close(&m2);
	munmap(v, PAGE);
}

TEST_F(t, exit)
{
	int64_t addr = target_cmd(&self->t, OP_ALLOC, 1, 8, 0);
	uint64_t *v;
	uint64_t x;

	ASSERT_LT(0, addr);
	ASSERT_EQ(0, mem_map(&self->m, addr, 0, PAGE, 0));
	v = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, self->m.acc, 0);
	ASSERT_NE(MAP_FAILED, v);
	EXPECT_EQ(8, LOAD(&v[0]));
	ASSERT_EQ(0, target_cmd(&self->t, OP_EXIT, 0, 0, 0));
	ASSERT_EQ(self->t.pid, waitpid(self->t.pid, NULL, 0));
	self->t.pid = 0;
	EXPECT_EQ(-1, probe(&v[0], &x));
	EXPECT_EQ(-EIO, pread64_at(self->m.acc, 0, &x));
	EXPECT_TRUE(LOAD(&self->m.st->flags) & PIDFD_MEM_STATUS_DEAD);
	munmap(v, PAGE);
}

TEST_F(t, nosigbus)
{
	int64_t addr = target_cmd(&self->t, OP_ALLOC, 3, 20, 0);
	const uint64_t *v;
	struct mem m;
	uint64_t x, s0;
	int slow;
	double deadline;

	ASSERT_LT(0, addr);
	ASSERT_EQ(0, mem_open(&self->t, PIDFD_MEM_NOSIGBUS, &m));
	EXPECT_EQ(MAP_FAILED, mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
				   MAP_SHARED, m.ctl, 0));
	ASSERT_EQ(0, mem_map(&m, addr, 0, 3 * PAGE, PIDFD_MEM_MAP_WRITE));
	EXPECT_EQ(MAP_FAILED, mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
				   MAP_SHARED, m.acc, 0));
	EXPECT_EQ(EPERM, errno);
	v = mmap(NULL, 4 * PAGE, PROT_READ, MAP_SHARED, m.acc, 0);
	ASSERT_NE(MAP_FAILED, v);

	/* present page: fast path, exact */
	ASSERT_EQ(0, safe_read(&m, v, 8, &x, 8, &slow));
	EXPECT_EQ(21, x);
	ASSERT_EQ(0, safe_read(&m, v, 8, &x, 8, &slow));
	EXPECT_EQ(0, slow);

	/* the target unmaps page 1: a plain load reads 0 and does not die */
	s0 = LOAD(&m.st->seq);
	ASSERT_EQ(0, target_cmd(&self->t, OP_MUNMAP, addr + PAGE, PAGE, 0));
	EXPECT_NE(s0, LOAD(&m.st->seq));
	ASSERT_EQ(0, probe(&v[PAGE / 8], &x));
	EXPECT_EQ(0, x);
	/* the protocol notices and pread reports the hole */
	EXPECT_EQ(-EIO, safe_read(&m, v, PAGE, &x, 8, &slow));
	EXPECT_EQ(1, slow);
	/* file hole past the ranges: same */
	EXPECT_EQ(-EIO, safe_read(&m, v, 3 * PAGE, &x, 8, &slow));
	EXPECT_EQ(1, slow);

	/* substitutes are withdrawn shortly after: absent returns to 0 */
	deadline = now() + 20;
	while (LOAD(&m.st->absent) && now() < deadline)
		usleep(1000);
	EXPECT_EQ(0, LOAD(&m.st->absent));
	ASSERT_EQ(0, safe_read(&m, v, 2 * PAGE, &x, 8, &slow));
	EXPECT_EQ(20 + 2 * PAGE / 8, x);

	/* writes go through pwrite on writable ranges */
	x = 1234;
	ASSERT_EQ(8, pwrite(m.acc, &x, 8, 16));
	EXPECT_EQ(1234, target_cmd(&self->t, OP_READ, addr + 16, 0, 0));

	/* exit: zeroes, DEAD, pread EIO */
	target_stop(&self->t);
	self->t.cmd = -1;
	self->t.rsp = -1;
	self->t.pidfd = -1;
	ASSERT_EQ(0, probe(&v[0], &x));
	EXPECT_EQ(0, x);
	EXPECT_TRUE(LOAD(&m.st->flags) & PIDFD_MEM_STATUS_DEAD);
	EXPECT_EQ(-EIO, safe_read(&m, v, 0, &x, 8, &slow));
	munmap((void *)v, 4 * PAGE);
	mem_close(&m);
}

static int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	close(fd);
	return n < 0 ? -errno : 0;
}

static long read_long(const char *path)
{
	char buf[32] = "";
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return -1;
	if (read(fd, buf, sizeof(buf) - 1) <= 0)
		buf[0] = 0;
	close(fd);
	return atol(buf);
}

TEST_F(t, ksm_and_compaction)
{
	const size_t pages = 16;
	int64_t addr = target_cmd(&self->t, OP_ALLOC, pages, 0, 0);
	uint64_t *v;
	double deadline;
	size_t i;

	if (geteuid() != 0)
		SKIP(return, "needs root for /sys/kernel/mm/ksm");
	if (write_file("/sys/kernel/mm/ksm/run", "0"))
		SKIP(return, "no KSM in this kernel");
	ASSERT_LT(0, addr);
	ASSERT_EQ(0, target_cmd(&self->t, OP_FILL, addr, pages * PAGE, 0x1111));
	ASSERT_EQ(0, mem_map(&self->m, addr, 0, pages * PAGE, 0));
	v = mmap(NULL, pages * PAGE, PROT_READ, MAP_SHARED, self->m.acc, 0);
	ASSERT_NE(MAP_FAILED, v);
	for (i = 0; i < pages; i++)
		ASSERT_EQ(0x1111, LOAD(&v[i * PAGE / 8]));

	/* KSM merges the identical pages: the mirror must follow */
	ASSERT_EQ(0, target_cmd(&self->t, OP_MADVISE, addr, pages * PAGE,
				MADV_MERGEABLE));
	write_file("/sys/kernel/mm/ksm/sleep_millisecs", "10");
	write_file("/sys/kernel/mm/ksm/pages_to_scan", "1000");
	ASSERT_EQ(0, write_file("/sys/kernel/mm/ksm/run", "1"));
	deadline = now() + 60;
	while (read_long("/sys/kernel/mm/ksm/pages_sharing") < 1 &&
	       now() < deadline)
		usleep(10000);
	TH_LOG("ksm pages_sharing %ld", read_long("/sys/kernel/mm/ksm/pages_sharing"));
	EXPECT_LT(0, read_long("/sys/kernel/mm/ksm/pages_sharing"));
	for (i = 0; i < pages; i++)
		EXPECT_EQ(0x1111, LOAD(&v[i * PAGE / 8 + 1]));
	/* a target write breaks the KSM page: only that page changes */
	ASSERT_EQ(0, target_cmd(&self->t, OP_WRITE, addr + 3 * PAGE, 0x2222, 0));
	EXPECT_EQ(0x2222, LOAD(&v[3 * PAGE / 8]));
	EXPECT_EQ(0x1111, LOAD(&v[4 * PAGE / 8]));
	/* unmerge everything */
	ASSERT_EQ(0, write_file("/sys/kernel/mm/ksm/run", "2"));
	EXPECT_EQ(0x2222, LOAD(&v[3 * PAGE / 8]));
	EXPECT_EQ(0x1111, LOAD(&v[5 * PAGE / 8]));

	/* compaction migrates movable pages: values stay, writes show */
	ASSERT_EQ(0, write_file("/proc/sys/vm/compact_memory", "1"));
	for (i = 0; i < pages; i++)
		EXPECT_EQ(i == 3 ? 0x2222 : 0x1111, LOAD(&v[i * PAGE / 8]));
	ASSERT_EQ(0, target_cmd(&self->t, OP_WRITE, addr + 7 * PAGE, 0x3333, 0));
	EXPECT_EQ(0x3333, LOAD(&v[7 * PAGE / 8]));
	write_file("/sys/kernel/mm/ksm/run", "0");
	munmap(v, pages * PAGE);
}

struct stress {
	struct mem *m;
	const uint64_t *v;
	uint64_t pages;
	double until;
	long good, holes, bad;
};

static void *stress_reader(void *arg)
{
	struct stress *s = arg;
	unsigned int seed = 1;
	uint64_t x;
	int slow;

	while (now() < s->until) {
		uint64_t off = (rand_r(&seed) % (s->pages * PAGE / 8)) * 8;
		int ret = safe_read(s->m, (const void *)s->v, off, &x, 8, &slow);

		if (ret)
			s->holes++;
		else if (x == PATTERN)
			s->good++;
		else
			s->bad++;
	}
	return NULL;
}

TEST_F(t, stress_remap_while_reading)
{
	const uint64_t pages = 4;
	int64_t addr;
	struct stress s[2];
	pthread_t th[2];
	struct mem m;
	double until = now() + 3;
	long remaps = 0;
	int i;

	/* target: a patterned memfd and PROT_NONE at one address, in a loop */
	addr = target_cmd(&self->t, OP_LOOP, pages, 0, 0);
	ASSERT_LT(0, addr);
	ASSERT_EQ(0, mem_open(&self->t, PIDFD_MEM_NOSIGBUS, &m));
	ASSERT_EQ(0, mem_map(&m, addr, 0, pages * PAGE, 0));
	for (i = 0; i < 2; i++) {
		s[i] = (struct stress){ .m = &m, .pages = pages, .until = until };
		s[i].v = mmap(NULL, pages * PAGE, PROT_READ, MAP_SHARED, m.acc, 0);
		ASSERT_NE(MAP_FAILED, s[i].v);
		ASSERT_EQ(0, pthread_create(&th[i], NULL, stress_reader, &s[i]));
	}
	/* and we remap our side too */
	while (now() < until) {
		ASSERT_EQ(0, mem_unmap(&m, 0, pages * PAGE));
		ASSERT_EQ(0, mem_map(&m, addr, 0, pages * PAGE, 0));
		remaps++;
		usleep(1000);
	}
	for (i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		TH_LOG("reader %d: %ld values, %ld holes, %ld wrong", i,
		       s[i].good, s[i].holes, s[i].bad);
		EXPECT_EQ(0, s[i].bad);
		EXPECT_LT(0, s[i].good + s[i].holes);
		munmap((void *)s[i].v, pages * PAGE);
	}
	TH_LOG("%ld remaps of our side", remaps);
	EXPECT_EQ(0, target_cmd(&self->t, OP_LOOP, 0, 0, 0));
	mem_close(&m);
}

TEST_F(t, stress_sigbus_mode)
{
	const uint64_t pages = 2;
	int64_t addr;
	uint64_t *v;
	double until = now() + 2;
	long good = 0, sigbus = 0, bad = 0;
	uint64_t x;

	addr = target_cmd(&self->t, OP_LOOP, pages, 0, 0);
	ASSERT_LT(0, addr);
	ASSERT_EQ(0, mem_map(&self->m, addr, 0, pages * PAGE, 0));
	v = mmap(NULL, pages * PAGE, PROT_READ, MAP_SHARED, self->m.acc, 0);
	ASSERT_NE(MAP_FAILED, v);
	while (now() < until) {
		if (probe(&v[(good + sigbus) % (pages * PAGE / 8)], &x))
			sigbus++;
		else if (x == PATTERN)
			good++;
		else
			bad++;
	}
	TH_LOG("%ld values, %ld SIGBUS, %ld wrong", good, sigbus, bad);
	EXPECT_EQ(0, bad);
	EXPECT_EQ(0, target_cmd(&self->t, OP_LOOP, 0, 0, 0));
	munmap(v, pages * PAGE);
}

/* Neither the access fd nor the status page can be executable or private. */
TEST_F(t, no_exec_no_private)
{
	int64_t addr = target_cmd(&self->t, OP_ALLOC, 1, 7, 0);
	void *v;

	ASSERT_LT(0, addr);
	ASSERT_EQ(0, mem_map(&self->m, addr, 0, PAGE, PIDFD_MEM_MAP_WRITE));
	EXPECT_EQ(MAP_FAILED, mmap(NULL, PAGE, PROT_READ | PROT_EXEC,
				   MAP_SHARED, self->m.acc, 0));
	EXPECT_EQ(EPERM, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE,
				   self->m.acc, 0));
	EXPECT_EQ(EINVAL, errno);
	v = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, self->m.acc, 0);
	ASSERT_NE(MAP_FAILED, v);
	EXPECT_EQ(-1, mprotect(v, PAGE, PROT_READ | PROT_EXEC));
	EXPECT_EQ(EACCES, errno);
	EXPECT_EQ(7, *(uint64_t *)v);
	munmap(v, PAGE);
	v = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, self->m.acc, 0);
	ASSERT_NE(MAP_FAILED, v);
	EXPECT_EQ(-1, mprotect(v, PAGE, PROT_READ | PROT_WRITE | PROT_EXEC));
	EXPECT_EQ(EACCES, errno);
	munmap(v, PAGE);

	/* the status page: shared, read-only, not executable */
	EXPECT_EQ(MAP_FAILED, mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE,
				   self->m.ctl, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, PAGE, PROT_READ | PROT_EXEC,
				   MAP_SHARED, self->m.ctl, 0));
	EXPECT_EQ(EPERM, errno);
	v = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, self->m.ctl, 0);
	ASSERT_NE(MAP_FAILED, v);
	EXPECT_EQ(-1, mprotect(v, PAGE, PROT_READ | PROT_EXEC));
	EXPECT_EQ(EACCES, errno);
	EXPECT_EQ(-1, mprotect(v, PAGE, PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
	munmap(v, PAGE);
}

static int vm_readv_errno(pid_t pid, uint64_t addr)
{
	struct iovec l, r;
	uint64_t x;

	l.iov_base = &x;
	l.iov_len = 8;
	r.iov_base = (void *)addr;
	r.iov_len = 8;
	return process_vm_readv(pid, &l, 1, &r, 1, 0) == 8 ? 0 : errno;
}

/*
 * The permission is process_vm_readv()'s at pidfd_mem() and again at every
 * PIDFD_MEM_MAP; ranges mapped before stay readable (the fds are the
 * capability, as /proc/PID/mem's are).  Here the target (same uid, no
 * privileges on either side) turns undumpable after the reader opened it,
 * as ssh-agent does.
 */
TEST_F(t, dumpable_drop_after_open)
{
	struct target t2;
	int64_t addr;
	int status;
	pid_t pid;

	if (geteuid() != 0)
		SKIP(return, "needs root to switch uids");
	ASSERT_EQ(0, target_start(&t2));
	ASSERT_EQ(0, target_cmd(&t2, OP_SETUID, 65534, 0, 0));
	addr = target_cmd(&t2, OP_ALLOC, 2, 900, 0);
	ASSERT_LT(0, addr);
	pid = fork();
	if (pid == 0) {
		struct mem m;
		uint64_t *v, x;

		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(10);
		if (mem_open(&t2, 0, &m))
			_exit(11);
		if (mem_map(&m, addr, 0, PAGE, 0))
			_exit(12);
		v = mmap(NULL, 2 * PAGE, PROT_READ, MAP_SHARED, m.acc, 0);
		if (v == MAP_FAILED || v[0] != 900)
			_exit(13);
		if (vm_readv_errno(t2.pid, addr))
			_exit(14);
		/* the target protects itself */
		if (target_cmd(&t2, OP_DUMPABLE, 0, 0, 0))
			_exit(15);
		if (vm_readv_errno(t2.pid, addr) != EPERM)
			_exit(16);
		/* no new range, no new pidfd_mem() */
		if (mem_map(&m, addr + PAGE, PAGE, PAGE, 0) != -EPERM)
			_exit(17);
		{
			struct pidfd_mem_args a;

			if (!sys_pidfd_mem(t2.pidfd, &a, sizeof(a), 0) ||
			    errno != EPERM)
				_exit(18);
		}
		/* what was mapped before stays readable */
		if (probe(&v[0], &x) || x != 900)
			_exit(19);
		if (pread64_at(m.acc, 0, &x) != 8 || x != 900)
			_exit(20);
		/* dumpable again: MAP works again */
		if (target_cmd(&t2, OP_DUMPABLE, 1, 0, 0))
			_exit(21);
		if (mem_map(&m, addr + PAGE, PAGE, PAGE, 0))
			_exit(22);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, WEXITSTATUS(status));
	target_stop(&t2);
}

/*
 * The target changes its uid after the reader got its fds.  Both start as
 * uid 65534 with CAP_SETUID and CAP_SETGID only (so the target can switch
 * and the reader, holding the same permitted set, may inspect it; neither
 * has CAP_SYS_PTRACE).  After the target's setresuid(65533): no new range
 * (EPERM, like process_vm_readv() and a new pidfd_mem()), but the range
 * mapped before stays the reader's, /proc/PID/mem-like (cover letter,
 * "Security model"): pages faulted in before and pages first touched
 * afterwards read the target's live values, pread too.  UNMAP still works
 * (it only narrows the view); mapping the same range again does not.
 */
TEST_F(t, uid_change_after_open)
{
	struct target t2;
	int64_t addr;
	int status;
	pid_t pid;

	if (geteuid() != 0)
		SKIP(return, "needs root to switch uids");
	ASSERT_EQ(0, target_start(&t2));
	ASSERT_EQ(0, target_cmd(&t2, OP_CAPUID, 65534, 0, 0));
	addr = target_cmd(&t2, OP_ALLOC, 3, 700, 0);
	ASSERT_LT(0, addr);
	pid = fork();
	if (pid == 0) {
		struct pidfd_mem_args a;
		struct mem m;
		uint64_t *v, x;

		if (become_uid_keep_setuid(65534))
			_exit(10);
		if (mem_open(&t2, 0, &m) || mem_map(&m, addr, 0, 2 * PAGE, 0))
			_exit(11);
		v = mmap(NULL, 2 * PAGE, PROT_READ, MAP_SHARED, m.acc, 0);
		if (v == MAP_FAILED || LOAD(&v[0]) != 700)
			_exit(12);	/* page 0 is faulted in, page 1 not */
		/* the target becomes another user */
		if (target_cmd(&t2, OP_SETUID, 65533, 0, 0))
			_exit(13);
		if (vm_readv_errno(t2.pid, addr) != EPERM)
			_exit(14);
		if (mem_map(&m, addr + 2 * PAGE, 2 * PAGE, PAGE, 0) != -EPERM)
			_exit(15);
		if (!sys_pidfd_mem(t2.pidfd, &a, sizeof(a), 0) || errno != EPERM)
			_exit(16);
		/* the range mapped before: old and new faults, pread, live */
		if (probe(&v[0], &x) || x != 700)
			_exit(17);
		if (probe(&v[PAGE / 8 + 1], &x) || x != 700 + PAGE / 8 + 1)
			_exit(18);
		if (pread64_at(m.acc, PAGE + 16, &x) != 8 ||
		    x != 700 + PAGE / 8 + 2)
			_exit(19);
		if (target_cmd(&t2, OP_WRITE, addr + 8, 0x7007, 0) ||
		    LOAD(&v[1]) != 0x7007)
			_exit(20);
		/* UNMAP narrows the view; the same MAP again is refused */
		if (mem_unmap(&m, 0, 2 * PAGE))
			_exit(21);
		if (mem_map(&m, addr, 0, 2 * PAGE, 0) != -EPERM)
			_exit(22);
		if (probe(&v[0], &x) != -1)
			_exit(23);	/* SIGBUS: no range at offset 0 any more */
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	target_stop(&t2);
}

/*
 * Yama's ptrace_scope applies as for process_vm_readv(): 1 = only
 * descendants (here: a sibling is refused, our own child is not), 2 =
 * CAP_SYS_PTRACE only; both at pidfd_mem() and at PIDFD_MEM_MAP.
 */
TEST_F(t, yama_ptrace_scope)
{
	const char *knob = "/proc/sys/kernel/yama/ptrace_scope";
	long old = read_long(knob);
	struct target t2;
	int64_t addr;
	int status;
	pid_t pid;

	if (old < 0)
		SKIP(return, "no Yama (%s)", knob);
	if (geteuid() != 0)
		SKIP(return, "needs root to set ptrace_scope and switch uids");
	ASSERT_EQ(0, target_start(&t2));
	ASSERT_EQ(0, target_cmd(&t2, OP_SETUID, 65534, 0, 0));
	addr = target_cmd(&t2, OP_ALLOC, 2, 31, 0);
	ASSERT_LT(0, addr);
	ASSERT_EQ(0, write_file(knob, "0"));
	pid = fork();
	if (pid == 0) {
		struct pidfd_mem_args a;
		struct target own;
		struct mem m;

		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(10);
		/* the uid change left us undumpable; our children inherit that */
		prctl(PR_SET_DUMPABLE, 1);
		/* scope 0: a sibling with our uid is fine */
		if (mem_open(&t2, 0, &m) || mem_map(&m, addr, 0, PAGE, 0))
			_exit(11);
		/* the parent raises the scope to 1, then tells us */
		kill(getpid(), SIGSTOP);
		if (mem_map(&m, addr + PAGE, PAGE, PAGE, 0) != -EPERM)
			_exit(13);
		if (!sys_pidfd_mem(t2.pidfd, &a, sizeof(a), 0) || errno != EPERM)
			_exit(14);
		if (vm_readv_errno(t2.pid, addr) != EPERM)
			_exit(15);
		/* our own child is a descendant: allowed under scope 1 */
		if (target_start(&own) || mem_open(&own, 0, &m))
			_exit(16);
		kill(getpid(), SIGSTOP);	/* scope 2 now */
		if (!sys_pidfd_mem(own.pidfd, &a, sizeof(a), 0) || errno != EPERM)
			_exit(17);
		if (vm_readv_errno(own.pid, (uint64_t)&a) != EPERM)
			_exit(18);
		target_stop(&own);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, WUNTRACED));
	ASSERT_TRUE(WIFSTOPPED(status));
	ASSERT_EQ(0, write_file(knob, "1"));
	kill(pid, SIGCONT);
	ASSERT_EQ(pid, waitpid(pid, &status, WUNTRACED));
	if (WIFSTOPPED(status)) {
		ASSERT_EQ(0, write_file(knob, "2"));
		kill(pid, SIGCONT);
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
	}
	write_file(knob, old == 1 ? "1" : old == 2 ? "2" : "0");
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	target_stop(&t2);
}

/* ---- race tests: the target churns on one CPU, readers on others ---- */

enum churn_via { VIA_MAPPING, VIA_PREAD, VIA_VM_READV };

struct churn_reader {
	struct mem *m;
	const uint64_t *v;
	pid_t pid;		/* VIA_VM_READV: the target */
	uint64_t addr;		/* VIA_VM_READV: the target address */
	uint64_t pages;
	double until;
	enum churn_via via;
	int cpu, ran_on;
	long good, torn, holes, bad;
	uint64_t bad_val[4], bad_off[4], torn_val;
};

/*
 * A word of the churned region goes from 0 to PATTERN only through the
 * target's own 8-byte store (a fresh or zapped page reads 0 until then),
 * and back to 0 only by page replacement (MADV_DONTNEED, mmap, COW), which
 * a copy in progress never sees: it holds its page.  A byte copy racing
 * the store therefore returns some bytes of 0 and the others of PATTERN.
 * pread on the access fd copies with access_remote_vm(), as /proc/PID/mem
 * does, whose memcpy() is a `rep movsb` on this -Os (tinyconfig) kernel;
 * string instructions are atomic per element only (TCG runs them byte by
 * byte, and the SDM promises no more for fast strings), so such a pread
 * can legitimately return 0x5a5a000000000000 (seen at 4 vCPUs: the old
 * low bytes, the new high ones).  process_vm_readv() copies with
 * copy_to_user(), a `rep movsb` on CPUs with FSRM.  Only these copies may
 * mix bytes; a plain aligned 8-byte load through the mapping (the fast
 * path of the protocol) is single-copy atomic and must give PATTERN or 0.
 */
static int bytes_of_0_or_pattern(uint64_t x)
{
	int i;

	for (i = 0; i < 8; i++, x >>= 8)
		if ((x & 0xff) != 0 && (x & 0xff) != (PATTERN & 0xff))
			return 0;
	return 1;
}

static void *churn_reader_fn(void *arg)
{
	struct churn_reader *c = arg;
	unsigned int seed = c->via + 7;
	struct iovec l = { 0 }, r = { 0 };
	uint64_t x;
	int slow = 0;

	pin_to(0, c->cpu);
	l.iov_base = &x;
	l.iov_len = 8;
	r.iov_len = 8;
	while (now() < c->until) {
		uint64_t off = (rand_r(&seed) % (c->pages * PAGE / 8 / 64)) * 8 * 64;
		int ret;

		switch (c->via) {
		case VIA_MAPPING:
			ret = safe_read(c->m, c->v, off, &x, 8, &slow);
			break;
		case VIA_PREAD:
			ret = pread64_at(c->m->acc, off, &x) == 8 ? 0 : -1;
			break;
		default:
			r.iov_base = (void *)(c->addr + off);
			ret = process_vm_readv(c->pid, &l, 1, &r, 1, 0) == 8 ? 0 : -1;
			break;
		}
		if (ret) {
			c->holes++;
		} else if (x == PATTERN || x == 0) {
			c->good++;
		} else if ((c->via != VIA_MAPPING || slow) &&
			   bytes_of_0_or_pattern(x)) {
			c->torn++;	/* a byte copy raced a store */
			c->torn_val = x;
		} else {
			if (c->bad < 4) {
				c->bad_val[c->bad] = x;
				c->bad_off[c->bad] = off;
			}
			c->bad++;
		}
	}
	c->ran_on = sched_getcpu();
	return NULL;
}

/*
 * munmap, mremap, MADV_DONTNEED and fork in the target race the reader's
 * faults (SIGBUS-safe protocol), preads and UNMAP/MAP ioctls, for a
 * bounded time: every value read is one the target held (PATTERN or 0;
 * byte copies: each byte of one, see bytes_of_0_or_pattern()), and the
 * kernel log stays clean (checked by run.sh).  A fourth reader
 * uses process_vm_readv() on the same addresses: pidfd_mem plays no part
 * in what it sees, so a wrong value there is not pidfd_mem's.
 */
TEST_F_TIMEOUT(t, race_target_churn, 900)
{
	static const char *const via[] = { "mapping", "mapping", "pread",
					   "process_vm_readv" };
	const uint64_t pages = 8;
	struct churn_reader c[4];
	pthread_t th[4];
	double until = now() + race_seconds();
	long remaps = 0;
	struct mem m;
	int64_t addr;
	int i, j;

	addr = target_cmd(&self->t, OP_CHURN, pages, 0, 0);
	ASSERT_LT(0, addr);
	ASSERT_EQ(0, mem_open(&self->t, PIDFD_MEM_NOSIGBUS, &m));
	ASSERT_EQ(0, mem_map(&m, addr, 0, pages * PAGE, 0));
	for (i = 0; i < 4; i++) {
		c[i] = (struct churn_reader){ .m = &m, .pages = pages,
					      .until = until, .pid = self->t.pid,
					      .addr = addr, .cpu = 1 + i,
					      .via = i < 2 ? VIA_MAPPING :
						     i == 2 ? VIA_PREAD :
						     VIA_VM_READV };
		c[i].v = mmap(NULL, pages * PAGE, PROT_READ, MAP_SHARED,
			      m.acc, 0);
		ASSERT_NE(MAP_FAILED, c[i].v);
		ASSERT_EQ(0, pthread_create(&th[i], NULL, churn_reader_fn,
					    &c[i]));
	}
	/* the UNMAP/MAP side: off the target's CPU too */
	pin_to(0, -1);
	while (now() < until) {
		ASSERT_EQ(0, mem_unmap(&m, 0, pages * PAGE));
		ASSERT_EQ(0, mem_map(&m, addr, 0, pages * PAGE, 0));
		remaps++;
		usleep(2000);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		TH_LOG("reader %d (%s, CPU %d): %ld values, %ld holes, %ld torn, %ld wrong",
		       i, via[i], c[i].ran_on, c[i].good, c[i].holes, c[i].torn,
		       c[i].bad);
		if (c[i].torn)
			TH_LOG("  a byte copy raced a store: %#llx",
			       (unsigned long long)c[i].torn_val);
		for (j = 0; j < c[i].bad && j < 4; j++)
			TH_LOG("  wrong value %#llx at offset %#llx",
			       (unsigned long long)c[i].bad_val[j],
			       (unsigned long long)c[i].bad_off[j]);
		EXPECT_EQ(0, c[i].bad);
		EXPECT_LT(0, c[i].good);
		munmap((void *)c[i].v, pages * PAGE);
	}
	TH_LOG("%ld UNMAP/MAP rounds; %d CPUs, target on CPU %d", remaps,
	       nr_cpus, nr_cpus > 1 ? cpus[0] : -1);
	EXPECT_EQ(0, target_cmd(&self->t, OP_CHURN, 0, 0, 0));
	mem_close(&m);
}

/*
 * Targets that exit or exec while a reader faults, preads and unmaps: each
 * round a fresh target; the reader must see the pattern, a hole, or (after
 * exec/exit) the DEAD flag and EIO, never anything else.
 */
TEST(race_target_exit_exec)
{
	double until = now() + 3;
	long rounds = 0, bad = 0, dead = 0;

	if (pidfd_mem_nr < 0)
		SKIP(return, "kernel without pidfd_mem");
	pin_to(0, 1);
	while (now() < until) {
		struct target t;
		struct mem m;
		const uint64_t *v;
		int64_t addr;
		uint64_t x, i;
		int slow;

		ASSERT_EQ(0, target_start(&t));
		/* the target exits or execs on one CPU, we read on another */
		pin_to(t.pid, 0);
		addr = target_cmd(&t, OP_ALLOC, 2, 0, 0);
		ASSERT_LT(0, addr);
		ASSERT_EQ(0, target_cmd(&t, OP_FILL, addr, 2 * PAGE, PATTERN));
		ASSERT_EQ(0, mem_open(&t, PIDFD_MEM_NOSIGBUS, &m));
		ASSERT_EQ(0, mem_map(&m, addr, 0, 2 * PAGE, 0));
		v = mmap(NULL, 2 * PAGE, PROT_READ, MAP_SHARED, m.acc, 0);
		ASSERT_NE(MAP_FAILED, v);
		/* no reply comes for either: they race the reads below */
		if (rounds & 1) {
			struct req r = { OP_EXIT };

			ASSERT_EQ(sizeof(r), write(t.cmd, &r, sizeof(r)));
		} else {
			struct req r = { OP_EXEC, addr };

			ASSERT_EQ(sizeof(r), write(t.cmd, &r, sizeof(r)));
		}
		for (i = 0; i < 2000; i++) {
			uint64_t off = (i % (2 * PAGE / 8)) * 8;

			if (i % 3 == 2) {
				if (pread64_at(m.acc, off, &x) == 8 &&
				    x != PATTERN)
					bad++;
			} else if (!safe_read(&m, v, off, &x, 8, &slow) &&
				   x != PATTERN) {
				bad++;
			}
			if (i == 1000)
				mem_unmap(&m, 0, 2 * PAGE);
			if (LOAD(&m.st->flags) & PIDFD_MEM_STATUS_DEAD) {
				dead++;
				break;
			}
		}
		munmap((void *)v, 2 * PAGE);
		mem_close(&m);
		target_stop(&t);
		rounds++;
	}
	TH_LOG("%ld targets, %ld seen dead while reading", rounds, dead);
	EXPECT_EQ(0, bad);
	EXPECT_LT(0, rounds);
}

/* ---- lock-order cases: mirrors of an mm that maps an access fd ---- */

static int open_self_or(pid_t pid, struct pidfd_mem_args *a)
{
	int pidfd = sys_pidfd_open(pid), ret;

	if (pidfd < 0)
		return -errno;
	ret = sys_pidfd_mem(pidfd, a, sizeof(*a), 0);
	ret = ret ? -errno : 0;
	close(pidfd);
	return ret;
}

static int map_fd(int ctl, uint64_t addr, uint64_t off, uint64_t size)
{
	struct pidfd_mem_map mm = { .address = addr, .offset = off,
				    .size = size };

	return ioctl(ctl, PIDFD_MEM_MAP, &mm) ? -errno : 0;
}

/*
 * Map an access fd below every other file mapping (the executable's
 * included), so that mm_take_all_locks() takes the access inode's
 * i_mmap_rwsem before the others, as for a mapping at a low address.
 */
static void *map_access_low(int fd, size_t len, uintptr_t slot)
{
	void *want = (void *)(0x10000000UL + slot * 0x100000UL);
	void *p = mmap(want, len, PROT_READ, MAP_SHARED | MAP_FIXED_NOREPLACE,
		       fd, 0);

	return p == want ? p : MAP_FAILED;
}

static uint64_t *memfd_region(int *memfd, size_t len, uint64_t fill)
{
	uint64_t *p;
	size_t i;

	*memfd = memfd_create("pidfd_mem_file", 0);
	if (*memfd < 0 || ftruncate(*memfd, len))
		return MAP_FAILED;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, *memfd, 0);
	if (p != MAP_FAILED)
		for (i = 0; i < len / 8; i++)
			p[i] = fill;
	return p;
}

/*
 * A process mirroring itself: when its first PIDFD_MEM_MAP registers the
 * notifier, its own mm already maps the access fd (below a memfd mapping),
 * and truncating and hole-punching that memfd invalidates the mirrored
 * range.  A design that takes the access inode's i_mmap_rwsem inside the
 * invalidation inverts the order mm_take_all_locks() uses (lockdep).
 */
TEST(self_mirror)
{
	const size_t len = 4 * PAGE;
	struct pidfd_mem_args a = { -1, -1 };
	uint64_t *f, *v, x;
	int memfd, i;

	if (pidfd_mem_nr < 0)
		SKIP(return, "kernel without pidfd_mem");
	f = memfd_region(&memfd, len, PATTERN);
	ASSERT_NE(MAP_FAILED, f);
	ASSERT_EQ(0, open_self_or(getpid(), &a));
	v = map_access_low(a.access_fd, len, 0);
	ASSERT_NE(MAP_FAILED, v);
	ASSERT_EQ(0, map_fd(a.control_fd, (uint64_t)f, 0, len));
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, probe(&v[1], &x));
		EXPECT_EQ(PATTERN, x);
		ASSERT_EQ(0, ftruncate(memfd, 0));
		EXPECT_EQ(-1, probe(&v[1], &x));
		ASSERT_EQ(0, ftruncate(memfd, len));
		f[1] = PATTERN + i;
		ASSERT_EQ(0, probe(&v[1], &x));
		EXPECT_EQ(PATTERN + i, x);
		ASSERT_EQ(0, fallocate(memfd, FALLOC_FL_PUNCH_HOLE |
				       FALLOC_FL_KEEP_SIZE, 0, len));
		ASSERT_EQ(0, probe(&v[1], &x));
		EXPECT_EQ(0, x);
		f[1] = PATTERN;
	}
	munmap(v, len);
	close(a.control_fd);
	close(a.access_fd);
	munmap(f, len);
	close(memfd);
}

/*
 * Two processes mirroring each other, both mapping one memfd: the child's
 * first MAP registers a notifier on the parent's mm, which maps the
 * parent's access fd; then each truncates the memfd that the other one
 * mirrors.
 */
TEST(mutual_mirror)
{
	const size_t len = 4 * PAGE;
	struct pidfd_mem_args a = { -1, -1 };
	uint64_t *f, *v, x;
	int memfd, sync[2], done[2], status;
	char c;
	pid_t child;

	if (pidfd_mem_nr < 0)
		SKIP(return, "kernel without pidfd_mem");
	f = memfd_region(&memfd, len, PATTERN);
	ASSERT_NE(MAP_FAILED, f);
	ASSERT_EQ(0, pipe(sync));
	ASSERT_EQ(0, pipe(done));
	child = fork();
	ASSERT_LE(0, child);
	if (child == 0) {
		struct pidfd_mem_args b = { -1, -1 };
		uint64_t *w;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* wait until the parent maps its access fd to us */
		if (read(sync[0], &c, 1) != 1)
			_exit(10);
		if (open_self_or(getppid(), &b))
			_exit(11);
		w = map_access_low(b.access_fd, len, 1);
		if (w == MAP_FAILED)
			_exit(12);
		if (map_fd(b.control_fd, (uint64_t)f, 0, len))
			_exit(13);
		if (probe(&w[2], &x) || x != PATTERN)
			_exit(14);
		if (ftruncate(memfd, 0) || !probe(&w[2], &x))
			_exit(15);
		if (ftruncate(memfd, len))
			_exit(16);
		f[2] = PATTERN;
		if (probe(&w[2], &x) || x != PATTERN)
			_exit(17);
		/* stay alive (the parent mirrors us) until the parent is done */
		if (write(done[1], "d", 1) != 1 || read(sync[0], &c, 1) != 1)
			_exit(18);
		_exit(0);
	}
	ASSERT_EQ(0, open_self_or(child, &a));
	v = map_access_low(a.access_fd, len, 2);
	ASSERT_NE(MAP_FAILED, v);
	ASSERT_EQ(0, map_fd(a.control_fd, (uint64_t)f, 0, len));
	ASSERT_EQ(0, probe(&v[2], &x));
	EXPECT_EQ(PATTERN, x);
	ASSERT_EQ(1, write(sync[1], "g", 1));
	/* the child truncated and refilled the memfd that we mirror in it */
	ASSERT_EQ(1, read(done[0], &c, 1));
	ASSERT_EQ(0, probe(&v[2], &x));
	EXPECT_EQ(PATTERN, x);
	ASSERT_EQ(0, fallocate(memfd, FALLOC_FL_PUNCH_HOLE |
			       FALLOC_FL_KEEP_SIZE, 0, len));
	ASSERT_EQ(0, probe(&v[2], &x));
	EXPECT_EQ(0, x);
	f[2] = PATTERN;
	ASSERT_EQ(0, probe(&v[2], &x));
	EXPECT_EQ(PATTERN, x);
	ASSERT_EQ(1, write(sync[1], "x", 1));
	ASSERT_EQ(child, waitpid(child, &status, 0));
	EXPECT_EQ(0, WEXITSTATUS(status));
	munmap(v, len);
	close(a.control_fd);
	close(a.access_fd);
	close(sync[0]);
	close(sync[1]);
	close(done[0]);
	close(done[1]);
	munmap(f, len);
	close(memfd);
}

struct punch {
	int memfd;
	size_t len;
	uint64_t *f;
	double until;
	long punches;
};

static void *puncher(void *arg)
{
	struct punch *p = arg;

	while (now() < p->until) {
		if (p->punches & 1)
			fallocate(p->memfd, FALLOC_FL_PUNCH_HOLE |
				  FALLOC_FL_KEEP_SIZE, 0, p->len);
		else if (!ftruncate(p->memfd, 0))
			ftruncate(p->memfd, p->len);
		STORE(&p->f[0], PATTERN);
		p->punches++;
	}
	return NULL;
}

/*
 * Hole punching and truncation of a file the target maps, racing the
 * first PIDFD_MEM_MAP of fresh processes whose mm maps an access fd that
 * mirrors that file (so mm_take_all_locks() runs on an mm holding the
 * access fd while the invalidation wants the access side): each round
 * is a new child, which mirrors the parent, faults the mirror in, then
 * mirrors itself.  Bounded: a few seconds; a deadlock hangs here.
 */
TEST(truncate_races_first_map)
{
	const size_t len = 2 * PAGE;
	struct punch p = { .len = len };
	pthread_t th;
	long rounds = 0, failed = 0;
	int status;

	if (pidfd_mem_nr < 0)
		SKIP(return, "kernel without pidfd_mem");
	p.f = memfd_region(&p.memfd, len, PATTERN);
	ASSERT_NE(MAP_FAILED, p.f);
	p.until = now() + 3;
	ASSERT_EQ(0, pthread_create(&th, NULL, puncher, &p));
	while (now() < p.until) {
		pid_t child = fork();

		ASSERT_LE(0, child);
		if (child == 0) {
			struct pidfd_mem_args a = { -1, -1 }, b = { -1, -1 };
			uint64_t *v, x;

			if (open_self_or(getppid(), &a))
				_exit(11);
			v = map_access_low(a.access_fd, len, 3);
			if (v == MAP_FAILED)
				_exit(12);
			if (map_fd(a.control_fd, (uint64_t)p.f, 0, len))
				_exit(13);
			(void)probe(&v[0], &x);
			if (open_self_or(getpid(), &b))
				_exit(14);
			if (map_fd(b.control_fd, (uint64_t)p.f, 0, len))
				_exit(15);
			(void)probe(&v[0], &x);
			_exit(0);
		}
		ASSERT_EQ(child, waitpid(child, &status, 0));
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			failed++;
		rounds++;
	}
	pthread_join(th, NULL);
	TH_LOG("%ld rounds, %ld hole punches/truncations", rounds, p.punches);
	EXPECT_EQ(0, failed);
	EXPECT_LT(0, rounds);
	munmap(p.f, len);
	close(p.memfd);
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--sleeper"))
		return sleeper_main(argv[2]);
	pidfd_mem_nr = discover_nr();
	return test_harness_run(argc, argv);
}
