// SPDX-License-Identifier: GPL-2.0
/*
 * init for kernel/run.sh --arch arm64: the guest sees the x86_64 host's root
 * over virtio-9p, whose bash cannot run there, so this static aarch64 program
 * does what run.sh's generated init script does on x86_64: mount proc, sys,
 * devtmpfs, /run, a tmpfs on /tmp (keeping a working directory under /tmp
 * visible), the writable "out" share; run one command (as root, or as
 * uid:gid with no capabilities and no groups) with its stdout/stderr in the
 * share; write its exit status and the kernel log there; exit (the kernel
 * then panics and QEMU, with -no-reboot, exits).
 *
 * The command comes from a file named by the last argument (the kernel passes
 * what follows "--" on its command line to init): NUL-terminated entries
 * "share=DIR", "cwd=DIR", "path=PATH", "user=UID:GID" (optional), then one
 * "arg=…" per argv element.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/klog.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_ARGS 256

static char conf[1 << 16];
static const char *share = "/", *cwd = "/", *path = "/usr/bin:/bin", *user;
static char *args[MAX_ARGS + 1];

static void say(const char *what)
{
	fprintf(stderr, "pidscope-init: %s: %s\n", what, strerror(errno));
}

static void mkdirs(const char *dir)
{
	char p[4096];
	size_t i;

	snprintf(p, sizeof(p), "%s", dir);
	for (i = 1; p[i]; i++) {
		if (p[i] != '/')
			continue;
		p[i] = 0;
		mkdir(p, 0755);
		p[i] = '/';
	}
	mkdir(p, 0755);
}

static void write_file(const char *dir, const char *name, const char *buf, size_t len)
{
	char p[4096];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		say(p);
		return;
	}
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n <= 0)
			break;
		buf += n;
		len -= n;
	}
	close(fd);
}

static void read_conf(const char *file)
{
	int fd = open(file, O_RDONLY);
	ssize_t len;
	char *p;
	int n = 0;

	if (fd < 0 || (len = read(fd, conf, sizeof(conf) - 1)) <= 0) {
		say(file);
		exit(1);
	}
	close(fd);
	for (p = conf; p < conf + len; p += strlen(p) + 1) {
		if (!strncmp(p, "share=", 6))
			share = p + 6;
		else if (!strncmp(p, "cwd=", 4))
			cwd = p + 4;
		else if (!strncmp(p, "path=", 5))
			path = p + 5;
		else if (!strncmp(p, "user=", 5))
			user = p + 5;
		else if (!strncmp(p, "arg=", 4) && n < MAX_ARGS)
			args[n++] = p + 4;
	}
	if (!n) {
		fprintf(stderr, "pidscope-init: no command in %s\n", file);
		exit(1);
	}
}

/* as setpriv --reuid --regid --clear-groups --inh-caps=-all --bounding-set=-all */
static void drop_to(const char *spec)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	unsigned int uid, gid;
	int cap;

	if (sscanf(spec, "%u:%u", &uid, &gid) != 2) {
		fprintf(stderr, "pidscope-init: bad user '%s'\n", spec);
		_exit(126);
	}
	for (cap = 0; cap <= CAP_LAST_CAP; cap++)
		prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (syscall(SYS_capget, &h, d) == 0) {
		d[0].inheritable = d[1].inheritable = 0;
		syscall(SYS_capset, &h, d);
	}
	if (setgroups(0, NULL) || setresgid(gid, gid, gid) || setresuid(uid, uid, uid)) {
		say("dropping privileges");
		_exit(126);
	}
}

static void save_kernel_log(void)
{
	int size = klogctl(10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0);
	char *buf, *out;
	int len, i, o = 0;

	if (size <= 0 || !(buf = malloc(size)) || !(out = malloc(size)))
		return;
	len = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, buf, size);
	/* drop the "<level>" prefixes, as dmesg(1) does */
	for (i = 0; i < len; i++) {
		if ((i == 0 || buf[i - 1] == '\n') && buf[i] == '<') {
			int j = i + 1;

			while (j < len && buf[j] >= '0' && buf[j] <= '9')
				j++;
			if (j < len && buf[j] == '>') {
				i = j;
				continue;
			}
		}
		out[o++] = buf[i];
	}
	write_file(share, "dmesg", out, o);
}

int main(int argc, char **argv)
{
	char buf[64];
	const char *keep = NULL;
	int status, fd;
	long cpus;
	pid_t pid;

	if (argc < 2) {
		fprintf(stderr, "pidscope-init: usage: init CONF\n");
		return 1;
	}
	read_conf(argv[argc - 1]);

	mount("proc", "/proc", "proc", 0, NULL);
	mount("sys", "/sys", "sysfs", 0, NULL);
	mount("dev", "/dev", "devtmpfs", 0, NULL);
	mount("run", "/run", "tmpfs", 0, NULL);
	/* keep a working directory under /tmp (a CI clone) at its path */
	if (!strncmp(cwd, "/tmp/", 5)) {
		keep = cwd;
		mkdir("/run/keep", 0755);
		if (mount(keep, "/run/keep", NULL, MS_BIND, NULL))
			say("bind /run/keep");
	}
	if (mount("tmp", "/tmp", "tmpfs", 0, "mode=1777"))
		say("mount /tmp");
	if (keep) {
		mkdirs(keep);
		if (mount("/run/keep", keep, NULL, MS_BIND, NULL))
			say("bind back the working directory");
	}
	if (mount("out", share, "9p", 0, "trans=virtio,version=9p2000.L,msize=512000")) {
		say("mount the out share");
		return 1;
	}
	/* Yama (if built in) as on a Debian host: classic ptrace permissions */
	fd = open("/proc/sys/kernel/yama/ptrace_scope", O_WRONLY);
	if (fd >= 0) {
		if (write(fd, "0", 1) < 0)
			say("yama");
		close(fd);
	}
	cpus = sysconf(_SC_NPROCESSORS_ONLN);
	write_file(share, "cpus", buf, snprintf(buf, sizeof(buf), "%ld\n", cpus));
	if (user)
		chmod(share, 0777);
	write_file(share, "started", "", 0);

	clearenv();
	setenv("PATH", path, 1);
	setenv("HOME", "/tmp", 1);
	setenv("LANG", "C.UTF-8", 1);
	setenv("PIDSCOPE_GUEST", "1", 1);
	setenv("PIDSCOPE_GUEST_OUT", share, 1);
	if (chdir(cwd))
		chdir("/");

	pid = fork();
	if (pid == 0) {
		char p[4096];

		snprintf(p, sizeof(p), "%s/stdout", share);
		fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, 1);
		snprintf(p, sizeof(p), "%s/stderr", share);
		fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, 2);
		fd = open("/dev/null", O_RDONLY);
		dup2(fd, 0);
		if (user)
			drop_to(user);
		execvp(args[0], args);
		fprintf(stderr, "pidscope-init: %s: %s\n", args[0], strerror(errno));
		_exit(errno == ENOENT ? 127 : 126);
	}
	if (pid < 0) {
		say("fork");
		status = 126 << 8;
	} else {
		/* as init, also reap orphans until the command itself ends */
		while (waitpid(-1, &status, 0) != pid)
			;
	}
	status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	write_file(share, "status", buf, snprintf(buf, sizeof(buf), "%d\n", status));
	save_kernel_log();
	sync();
	return 0;
}
