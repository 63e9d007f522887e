// SPDX-License-Identifier: GPL-2.0
/*
 * One run, side by side: reading another process's memory through a
 * pidfd_mem mapping (plain loads; and with the SIGBUS-safe seq check),
 * pread on the access fd, process_vm_readv and /proc/PID/mem, for 8-byte
 * and 1 MiB reads.  Prints ns per read and the ratio to process_vm_readv.
 * Run it inside the guest: kernel/run.sh -- kernel/bench/build/pidfd_mem_bench
 *
 * With "ranges [N]" (default 10000): the cost of many ranges on one control
 * fd, all mirroring the same target page (file pages 0..N-1): MAP time,
 * pread of the last range (lookup), first-touch faults of every range,
 * and one MADV_DONTNEED of that page in the target with every range
 * faulted in (one invalidation per range) and with none faulted in.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/pidfd_mem.h>

#define SIZE (16UL << 20)
#define SMALL 8
#define BIG (1UL << 20)

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static pid_t pid;
static int acc, memfd;
static char *view, *buf, *remote;
static const volatile struct pidfd_mem_status *st;
static volatile uint64_t sink;

static void rd_map(size_t off, size_t len)
{
	if (len == 8)
		sink += *(volatile uint64_t *)(view + off);
	else
		memcpy(buf, view + off, len);
}

static void rd_safe(size_t off, size_t len)
{
	uint64_t s = __atomic_load_n(&st->seq, __ATOMIC_ACQUIRE);

	if (__atomic_load_n(&st->absent, __ATOMIC_ACQUIRE))
		goto slow;
	if (len == 8)
		sink += *(volatile uint64_t *)(view + off);
	else
		memcpy(buf, view + off, len);
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (__atomic_load_n(&st->seq, __ATOMIC_RELAXED) == s)
		return;
slow:
	if (pread(acc, buf, len, off) != (ssize_t)len)
		abort();
}

static void rd_pread(size_t off, size_t len)
{
	if (pread(acc, buf, len, off) != (ssize_t)len)
		abort();
}

static void rd_vm(size_t off, size_t len)
{
	struct iovec l = { buf, len }, r = { remote + off, len };

	if (process_vm_readv(pid, &l, 1, &r, 1, 0) != (ssize_t)len)
		abort();
}

static void rd_proc(size_t off, size_t len)
{
	if (pread(memfd, buf, len, (off_t)(uintptr_t)(remote + off)) != (ssize_t)len)
		abort();
}

static double measure(void (*fn)(size_t, size_t), size_t len)
{
	size_t slots = SIZE / len, i = 0;
	double t0, t, budget = len == 8 ? 0.3 : 0.6;
	long n = 0;

	fn(0, len);
	t0 = now();
	do {
		for (int k = 0; k < 64; k++, n++) {
			fn((i % slots) * len, len);
			i += 7919;
		}
		t = now();
	} while (t - t0 < budget);
	return (t - t0) * 1e9 / n;
}

static int ranges(long nr, long n)
{
	int p[2], q[2], pidfd, i;
	struct pidfd_mem_args a;
	struct pidfd_mem_map m = { 0 };
	char c = 0, *v;
	double t0, t;
	uint64_t x;

	if (pipe(p) || pipe(q))
		return 1;
	pid = fork();
	if (!pid) {
		char *mem = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		memset(mem, 0x5a, 4096);
		if (write(p[1], &mem, sizeof(mem)) != sizeof(mem))
			_exit(1);
		/* each byte on q: MADV_DONTNEED + refill, reply with its time */
		while (read(q[0], &c, 1) == 1) {
			double s = now(), e;

			madvise(mem, 4096, MADV_DONTNEED);
			e = now();
			memset(mem, 0x5a, 4096);
			if (write(p[1], &e, sizeof(e)) != sizeof(e) ||
			    write(p[1], &s, sizeof(s)) != sizeof(s))
				_exit(1);
		}
		_exit(0);
	}
	if (read(p[0], &remote, sizeof(remote)) != sizeof(remote))
		return 1;
	pidfd = syscall(434, pid, 0);
	if (syscall(nr, pidfd, &a, sizeof(a), 0))
		return perror("pidfd_mem"), 1;
	m.address = (uintptr_t)remote;
	m.size = 4096;
	t0 = now();
	for (i = 0; i < n; i++) {
		m.offset = (uint64_t)i * 4096;
		if (ioctl(a.control_fd, PIDFD_MEM_MAP, &m))
			return perror("PIDFD_MEM_MAP"), 1;
	}
	t = now();
	printf("ranges: %ld\n", n);
	printf("MAP                          %10.0f ns/range\n", (t - t0) * 1e9 / n);
	t0 = now();
	for (i = 0; i < 10000; i++)
		if (pread(a.access_fd, &x, 8, (n - 1) * 4096) != 8)
			return perror("pread"), 1;
	printf("pread 8 B of the last range  %10.0f ns\n", (now() - t0) * 1e9 / 10000);
	v = mmap(NULL, n * 4096, PROT_READ, MAP_SHARED, a.access_fd, 0);
	if (v == MAP_FAILED)
		return perror("mmap"), 1;
	for (int round = 0; round < 2; round++) {
		double s, e;

		t0 = now();
		for (i = 0; i < n; i++)
			sink += v[(size_t)i * 4096];
		t = now();
		if (!round)
			printf("fault (first touch)          %10.0f ns/range\n",
			       (t - t0) * 1e9 / n);
		/* the DONTNEED: every range faulted in */
		if (write(q[1], &c, 1) != 1 || read(p[0], &e, sizeof(e)) != sizeof(e) ||
		    read(p[0], &s, sizeof(s)) != sizeof(s))
			return 1;
		printf("MADV_DONTNEED, %s %10.0f us\n",
		       round ? "all faulted again " : "all faulted in     ", (e - s) * 1e6);
	}
	/* and with nothing faulted in */
	{
		double s, e;

		if (write(q[1], &c, 1) != 1 || read(p[0], &e, sizeof(e)) != sizeof(e) ||
		    read(p[0], &s, sizeof(s)) != sizeof(s))
			return 1;
		printf("MADV_DONTNEED, none faulted in %8.0f us\n", (e - s) * 1e6);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return 0;
}

int main(int argc, char **argv)
{
	int p[2], pidfd;
	char path[64];
	long nr;
	FILE *f = fopen("/sys/kernel/pidfd_mem/syscall_nr", "r");
	struct pidfd_mem_args a;
	struct pidfd_mem_map m = { 0 };
	static const struct {
		const char *name;
		void (*fn)(size_t, size_t);
	} peers[] = {
		{ "pidfd_mem mapping (load/memcpy)", rd_map },
		{ "pidfd_mem mapping + seq check", rd_safe },
		{ "pread on the access fd", rd_pread },
		{ "process_vm_readv", rd_vm },
		{ "pread on /proc/PID/mem", rd_proc },
	};
	double res[2][5];

	if (!f || fscanf(f, "%ld", &nr) != 1) {
		fprintf(stderr, "no pidfd_mem in this kernel\n");
		return 4;
	}
	if (argc > 1 && !strcmp(argv[1], "ranges"))
		return ranges(nr, argc > 2 ? atol(argv[2]) : 10000);
	if (pipe(p))
		return 1;
	pid = fork();
	if (!pid) {
		char *mem = mmap(NULL, SIZE, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		memset(mem, 0x5a, SIZE);
		if (write(p[1], &mem, sizeof(mem)) != sizeof(mem))
			_exit(1);
		for (;;)
			pause();
	}
	if (read(p[0], &remote, sizeof(remote)) != sizeof(remote))
		return 1;
	pidfd = syscall(434, pid, 0);
	if (syscall(nr, pidfd, &a, sizeof(a), PIDFD_MEM_NOSIGBUS))
		return perror("pidfd_mem"), 1;
	acc = a.access_fd;
	m.address = (uintptr_t)remote;
	m.size = SIZE;
	if (ioctl(a.control_fd, PIDFD_MEM_MAP, &m))
		return perror("PIDFD_MEM_MAP"), 1;
	view = mmap(NULL, SIZE, PROT_READ, MAP_SHARED, acc, 0);
	st = mmap(NULL, 4096, PROT_READ, MAP_SHARED, a.control_fd, 0);
	if (view == MAP_FAILED || st == MAP_FAILED)
		return perror("mmap"), 1;
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	memfd = open(path, O_RDONLY);
	buf = malloc(BIG);
	for (size_t i = 0; i < SIZE; i += 4096)	/* fault the mirror in */
		sink += view[i];

	for (int k = 0; k < 5; k++) {
		res[0][k] = measure(peers[k].fn, SMALL);
		res[1][k] = measure(peers[k].fn, BIG);
	}
	printf("%-34s %12s %9s %12s %9s\n", "reader (one run, TCG guest)",
	       "8 B ns/read", "vs vm_rv", "1 MiB ns", "vs vm_rv");
	for (int k = 0; k < 5; k++)
		printf("%-34s %12.1f %8.1fx %12.0f %8.2fx\n", peers[k].name,
		       res[0][k], res[0][3] / res[0][k], res[1][k],
		       res[1][3] / res[1][k]);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return 0;
}
