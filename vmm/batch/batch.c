/* batch.c - `minnow batch`: starts each VM as a child `minnow run`, at most
 * J at once, reads its stderr for the JSON report, reaps it and prints its
 * line; stops every VM on SIGINT/SIGTERM (and with --fail-fast) and always
 * ends with the summary. A child is the unit of isolation: a VM that
 * crashes minnow takes nothing else with it. */
#include "batch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "batch_args.h"
#include "batch_stats.h"
#include "config.h"

#define REPORT_MAX 2048 /* a VM's JSON report line */
#define ERROR_MAX  256	/* the last other line a VM printed on stderr */

extern char **environ;

/* One VM being run. */
struct child {
	pid_t pid;
	long index;
	int fd;	    /* its stderr, read here */
	int err_fd; /* --logs: DIR/i.err, else -1 */
	uint64_t started_us;
	char line[REPORT_MAX]; /* the stderr line being read */
	size_t len;
	bool overflow; /* the current line is longer than `line` */
	char report[REPORT_MAX];
	char error[ERROR_MAX];
};

struct batch {
	struct batch_options o;
	char exe[PATH_MAX];
	FILE *out; /* the JSON lines */
	struct child *children;
	size_t running;
	long next; /* the next index to start */
	bool stopping;
	int signal; /* the signal that stopped the batch, or 0 */
	bool host_failed;
	struct batch_stats stats;
};

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Open file descriptors of this process (a batch must end with as many as
 * it started with). */
static long count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	long n = 0;
	if (!d)
		return -1;
	for (struct dirent *e; (e = readdir(d));)
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the directory's own fd */
}

/* Checks every VM's config before any starts: {i} and all. */
static int check_configs(const struct batch_options *o)
{
	static struct vm_config cfg;
	struct config_error err;
	for (long i = 0; i < o->n; i++) {
		if (config_load_index(&cfg, o->config, o->sets, o->n_sets, i, &err) < 0) {
			fprintf(stderr, "minnow: %s (VM %ld)\n", err.msg, i);
			return -1;
		}
	}
	return 0;
}

/* ---- Starting a VM ------------------------------------------------------- */

static int open_log(const struct batch *b, long index, const char *ext)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s/%ld.%s", b->o.logs, index, ext) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, "minnow batch: %s: %s\n", path, strerror(errno));
		return -errno;
	}
	return fd;
}

/* Starts VM `index` into slot `c`. Returns 0 or -errno (said in one line). */
static int start_vm(struct batch *b, struct child *c, long index)
{
	char istr[24];
	snprintf(istr, sizeof(istr), "%ld", index);
	const char *argv[8 + 2 * BATCH_MAX_SETS];
	size_t n = 0;
	argv[n++] = "minnow";
	argv[n++] = "run";
	argv[n++] = b->o.config;
	argv[n++] = "--index";
	argv[n++] = istr;
	argv[n++] = "--timings=json";
	for (size_t i = 0; i < b->o.n_sets; i++) {
		argv[n++] = "--set";
		argv[n++] = b->o.sets[i];
	}
	argv[n] = NULL;

	memset(c, 0, sizeof(*c));
	c->index = index;
	c->fd = c->err_fd = -1;
	int p[2], out_fd = -1, r;
	if (pipe2(p, O_CLOEXEC) < 0) {
		r = -errno;
		fprintf(stderr, "minnow batch: pipe: %s\n", strerror(-r));
		return r;
	}
	if (b->o.logs) {
		out_fd = open_log(b, index, "out");
		c->err_fd = out_fd < 0 ? -1 : open_log(b, index, "err");
		if (out_fd < 0 || c->err_fd < 0) {
			r = out_fd < 0 ? out_fd : c->err_fd;
			goto fail;
		}
	}
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	if (out_fd >= 0)
		posix_spawn_file_actions_adddup2(&fa, out_fd, STDOUT_FILENO);
	else
		posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, p[1], STDERR_FILENO);
	/* The child starts with the signals this process blocks (for its
	 * signalfd) unblocked and at their defaults. */
	sigset_t none, dflt;
	sigemptyset(&none);
	sigemptyset(&dflt);
	sigaddset(&dflt, SIGINT);
	sigaddset(&dflt, SIGTERM);
	sigaddset(&dflt, SIGPIPE);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &dflt);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	r = -posix_spawn(&c->pid, b->exe, &fa, &attr, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (r < 0) {
		fprintf(stderr, "minnow batch: %s: %s\n", b->exe, strerror(-r));
		goto fail;
	}
	close(p[1]);
	if (out_fd >= 0)
		close(out_fd);
	c->fd = p[0];
	c->started_us = now_us();
	b->running++;
	return 0;
fail:
	close(p[0]);
	close(p[1]);
	if (out_fd >= 0)
		close(out_fd);
	if (c->err_fd >= 0)
		close(c->err_fd);
	c->err_fd = -1;
	c->pid = 0;
	return r;
}

/* ---- A VM's stderr ------------------------------------------------------- */

/* A whole line from the VM: its JSON report, or a log line (kept in
 * DIR/i.err with --logs, and the last one for the JSON line). */
static void take_line(struct child *c, const char *line, size_t len)
{
	if (len && line[0] == '{' && line[len - 1] == '}' && len < sizeof(c->report)) {
		memcpy(c->report, line, len);
		c->report[len] = '\0';
		return;
	}
	if (c->err_fd >= 0) {
		(void)!write(c->err_fd, line, len);
		(void)!write(c->err_fd, "\n", 1);
	}
	size_t n = len < sizeof(c->error) - 1 ? len : sizeof(c->error) - 1;
	memcpy(c->error, line, n);
	c->error[n] = '\0';
}

/* Reads what the VM wrote. Returns false at its end (EOF or error). */
static bool read_child(struct child *c)
{
	char buf[4096];
	ssize_t n = read(c->fd, buf, sizeof(buf));
	if (n < 0 && errno == EINTR)
		return true;
	if (n <= 0) {
		if (c->len && !c->overflow)
			take_line(c, c->line, c->len);
		return false;
	}
	for (ssize_t i = 0; i < n; i++) {
		if (buf[i] == '\n') {
			if (!c->overflow)
				take_line(c, c->line, c->len);
			c->len = 0;
			c->overflow = false;
		} else if (c->len < sizeof(c->line) - 1) {
			c->line[c->len++] = buf[i];
		} else {
			if (!c->overflow && c->err_fd >= 0)
				(void)!write(c->err_fd, c->line, c->len);
			c->overflow = true;
		}
	}
	return true;
}

/* JSON string contents for `s`, quotes and control bytes escaped. */
static void json_escape(const char *s, char *out, size_t size)
{
	size_t n = 0;
	for (; *s && n + 7 < size; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\') {
			out[n++] = '\\';
			out[n++] = (char)ch;
		} else if (ch < 0x20) {
			n += (size_t)snprintf(out + n, size - n, "\\u%04x", ch);
		} else {
			out[n++] = (char)ch;
		}
	}
	out[n] = '\0';
}

/* The VM ended: reaps it, prints its line, counts it. */
static void finish_vm(struct batch *b, struct child *c)
{
	int st = 0;
	struct rusage ru;
	memset(&ru, 0, sizeof(ru));
	while (wait4(c->pid, &st, 0, &ru) < 0 && errno == EINTR)
		;
	uint64_t wall = now_us() - c->started_us;
	int status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	char line[REPORT_MAX + ERROR_MAX * 2 + 128], err[ERROR_MAX * 2];
	int n = snprintf(line, sizeof(line), "{\"index\":%ld,\"wall_us\":%llu,", c->index,
			 (unsigned long long)wall);
	if (c->report[0]) {
		/* minnow's own report: exit status, reason, phases, RSS. */
		snprintf(line + n, sizeof(line) - (size_t)n, "%s", c->report + 1);
	} else {
		snprintf(line + n, sizeof(line) - (size_t)n,
			 "\"exit_status\":%d,\"exit_reason\":\"%s\",\"peak_rss_kib\":%ld}", status,
			 WIFSIGNALED(st) ? "minnow_killed" : "no_report", ru.ru_maxrss);
	}
	if (status != 0 && c->error[0]) {
		size_t len = strlen(line);
		json_escape(c->error, err, sizeof(err));
		snprintf(line + len - 1, sizeof(line) - len + 1, ",\"error\":\"%s\"}", err);
	}
	fprintf(b->out, "%s\n", line);
	fflush(b->out);
	if (batch_stats_add(&b->stats, line) < 0)
		b->host_failed = true;
	if (status != 0 && b->o.fail_fast)
		b->stopping = true;
	close(c->fd);
	if (c->err_fd >= 0)
		close(c->err_fd);
	c->pid = 0;
	c->fd = c->err_fd = -1;
	b->running--;
}

/* ---- The loop ------------------------------------------------------------ */

static void stop_all(struct batch *b)
{
	for (long j = 0; j < b->o.jobs; j++)
		if (b->children[j].pid > 0)
			kill(b->children[j].pid, SIGTERM);
}

static void run_batch(struct batch *b, int sig_fd)
{
	struct pollfd *pfd = calloc((size_t)b->o.jobs + 1, sizeof(*pfd));
	long *slot_of = calloc((size_t)b->o.jobs + 1, sizeof(*slot_of));
	if (!pfd || !slot_of) {
		fprintf(stderr, "minnow batch: out of memory\n");
		b->host_failed = true;
		b->stopping = true;
	}
	bool killed = false;
	while (pfd && slot_of) {
		for (long j = 0; j < b->o.jobs && !b->stopping && b->next < b->o.n; j++) {
			if (b->children[j].pid > 0)
				continue;
			if (start_vm(b, &b->children[j], b->next) < 0) {
				b->host_failed = true;
				b->stopping = true;
				break;
			}
			b->next++;
		}
		if (b->stopping && !killed) {
			stop_all(b);
			killed = true;
		}
		if (b->running == 0)
			break;
		nfds_t n = 0;
		pfd[n++] = (struct pollfd){.fd = sig_fd, .events = POLLIN};
		for (long j = 0; j < b->o.jobs; j++) {
			if (b->children[j].pid <= 0)
				continue;
			slot_of[n] = j;
			pfd[n++] = (struct pollfd){.fd = b->children[j].fd, .events = POLLIN};
		}
		if (poll(pfd, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "minnow batch: poll: %s\n", strerror(errno));
			b->host_failed = b->stopping = true;
			continue;
		}
		if (pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sig_fd, &si, sizeof(si)) == sizeof(si) && !b->signal) {
				b->signal = (int)si.ssi_signo;
				b->stopping = true;
			}
		}
		for (nfds_t i = 1; i < n; i++) {
			struct child *c = &b->children[slot_of[i]];
			if (pfd[i].revents && !read_child(c))
				finish_vm(b, c);
		}
	}
	free(pfd);
	free(slot_of);
}

/* Sets up the batch's output and the signals it stops on. Returns the
 * signalfd, or -1 after saying why. */
static int setup(struct batch *b)
{
	ssize_t len = readlink("/proc/self/exe", b->exe, sizeof(b->exe) - 1);
	if (len < 0) {
		fprintf(stderr, "minnow batch: /proc/self/exe: %s\n", strerror(errno));
		return -1;
	}
	b->exe[len] = '\0';
	if (b->o.logs) {
		struct stat st;
		if (stat(b->o.logs, &st) < 0 || !S_ISDIR(st.st_mode) ||
		    access(b->o.logs, W_OK) < 0) {
			fprintf(stderr, "minnow batch: --logs %s: %s\n", b->o.logs,
				errno ? strerror(errno) : "not a directory");
			return -1;
		}
	}
	b->out = stdout;
	if (b->o.json) {
		b->out = fopen(b->o.json, "we");
		if (!b->out) {
			fprintf(stderr, "minnow batch: --json %s: %s\n", b->o.json,
				strerror(errno));
			return -1;
		}
	}
	b->children = calloc((size_t)b->o.jobs, sizeof(*b->children));
	if (!b->children) {
		fprintf(stderr, "minnow batch: out of memory\n");
		return -1;
	}
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	int fd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0)
		fprintf(stderr, "minnow batch: signalfd: %s\n", strerror(errno));
	return fd;
}

int batch_main(int argc, char **argv)
{
	static struct batch b;
	char err[256];
	long fds_at_start = count_fds();
	if (batch_parse_args(argc, argv, sysconf(_SC_NPROCESSORS_ONLN), &b.o, err, sizeof(err)) <
	    0) {
		fprintf(stderr, "minnow batch: %s\n", err);
		return 2;
	}
	if (b.o.help) {
		batch_usage(stdout);
		return 0;
	}
	if (check_configs(&b.o) < 0)
		return 2;
	errno = 0;
	int sig_fd = setup(&b);
	if (sig_fd < 0) {
		if (b.out && b.out != stdout)
			fclose(b.out);
		free(b.children);
		return 2;
	}
	uint64_t t0 = now_us();
	run_batch(&b, sig_fd);
	double wall_s = (double)(now_us() - t0) / 1e6;
	close(sig_fd);
	free(b.children);
	char extra[256];
	snprintf(extra, sizeof(extra),
		 "\"requested\":%ld,\"started\":%ld,\"stopped_by\":%s%s%s,\"fds_at_start\":%ld",
		 b.o.n, b.next, b.signal ? "\"" : "", b.signal ? strsignal(b.signal) : "null",
		 b.signal ? "\"" : "", fds_at_start);
	/* Every fd of the batch is closed by now but the JSON output. */
	long fds_now = count_fds() - (b.out != stdout);
	size_t len = strlen(extra);
	snprintf(extra + len, sizeof(extra) - len, ",\"fds_at_end\":%ld", fds_now);
	batch_stats_print_json(&b.stats, wall_s, extra, b.out);
	if (b.out != stdout)
		fclose(b.out);
	batch_stats_print_text(&b.stats, wall_s, stderr);
	int status = b.signal ? 128 + b.signal : b.host_failed || b.stats.failed ? 1 : 0;
	batch_stats_free(&b.stats);
	return status;
}
