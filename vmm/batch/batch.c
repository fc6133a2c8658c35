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
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch_args.h"
#include "batch_slurm.h"
#include "batch_stats.h"
#include "config.h"
#include "timing.h"
#include "vm_child.h"

/* A batch: its options, its VMs and what they gave. */
struct batch {
	struct batch_options o;
	char exe[PATH_MAX];
	FILE *out;		   /* the JSON lines */
	struct vm_child *children; /* o.jobs slots; pid 0: free */
	long *index_of;		   /* the VM number in each slot */
	size_t running;
	long next; /* the next index to start */
	bool stopping;
	int signal; /* the signal that stopped the batch, or 0 */
	bool host_failed;
	struct batch_stats stats;
};

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

/* Checks every VM's config before any starts: {i} and all. With --slurm
 * these are the paths the compute nodes must see too. */
static int check_configs(const struct batch_options *o)
{
	static struct vm_config cfg;
	struct config_error err;
	for (long i = o->first; i < o->first + o->n; i++) {
		if (config_load_index(&cfg, o->config, o->sets, o->n_sets, i, &err) < 0) {
			fprintf(stderr, "minnow: %s (VM %ld)\n", err.msg, i);
			return -1;
		}
	}
	return 0;
}

/* DIR/INDEX.EXT of --logs, opened for writing; -1 after saying why. */
static int open_log(const struct batch *b, long index, const char *ext)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s/%ld.%s", b->o.logs, index, ext) >= (int)sizeof(path)) {
		fprintf(stderr, "minnow batch: %s/%ld.%s: path too long\n", b->o.logs, index, ext);
		return -1;
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		fprintf(stderr, "minnow batch: %s: %s\n", path, strerror(errno));
	return fd;
}

/* Starts VM `index` in slot `j`. Returns 0 or -1 (said in one line). */
static int start_vm(struct batch *b, long j, long index)
{
	char istr[24];
	snprintf(istr, sizeof(istr), "%ld", index);
	const char *argv[8 + 2 * BATCH_MAX_SETS];
	size_t n = 0;
	argv[n++] = b->exe;
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
	int out_fd = -1, err_fd = -1;
	if (b->o.logs) {
		out_fd = open_log(b, index, "out");
		err_fd = out_fd < 0 ? -1 : open_log(b, index, "err");
		if (err_fd < 0) {
			if (out_fd >= 0)
				close(out_fd);
			return -1;
		}
	}
	int r = vm_child_start(&b->children[j], argv, out_fd, err_fd);
	if (out_fd >= 0)
		close(out_fd);
	if (r < 0)
		return -1;
	b->index_of[j] = index;
	b->running++;
	return 0;
}

/* VM in slot j ended: reaps it, prints its line, counts it. */
static void finish_vm(struct batch *b, long j)
{
	struct vm_child *c = &b->children[j];
	vm_child_reap(c);
	char fields[32], line[VM_CHILD_REPORT_MAX + 3 * VM_CHILD_ERROR_MAX];
	snprintf(fields, sizeof(fields), "\"index\":%ld,", b->index_of[j]);
	vm_child_json(c, fields, line, sizeof(line));
	fprintf(b->out, "%s\n", line);
	fflush(b->out);
	if (batch_stats_add(&b->stats, line) < 0)
		b->host_failed = true;
	if (c->status != 0 && b->o.fail_fast)
		b->stopping = true;
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
			if (start_vm(b, j, b->o.first + b->next) < 0) {
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
			if (pfd[i].revents && !vm_child_read(&b->children[slot_of[i]]))
				finish_vm(b, slot_of[i]);
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
	b->index_of = calloc((size_t)b->o.jobs, sizeof(*b->index_of));
	if (!b->children || !b->index_of) {
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
		free(b.index_of);
		return 2;
	}
	if (b.o.slurm) {
		int status = batch_slurm_run(&b.o, b.exe, b.out, sig_fd);
		close(sig_fd);
		free(b.children);
		free(b.index_of);
		if (b.out != stdout)
			fclose(b.out);
		return status;
	}
	uint64_t t0 = timing_now_us();
	run_batch(&b, sig_fd);
	double wall_s = (double)(timing_now_us() - t0) / 1e6;
	close(sig_fd);
	free(b.children);
	free(b.index_of);
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
