/* stream.c - make bench-exec: runs a command with its stdout on a pipe and reports, from the host
 * side, when its first output byte and its exit came, how many bytes it wrote and how fast. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BUF_SIZE   (1u << 20)
#define MARKER_MAX 256

static void usage(void)
{
	fprintf(stderr,
		"Usage: bench-stream [-a MARKER] CMD [ARGS...]\n"
		"Runs CMD with its stdout on a pipe (stdin and stderr are this program's),\n"
		"reads and discards that stdout, and prints one line:\n"
		"  stream: status=S first_us=F last_us=L exit_us=E bytes=B mib_s=M\n"
		"the microseconds from just before the fork to CMD's first output byte, its\n"
		"last one and its exit (reaped), the bytes, and B over L-F in MiB/s. With\n"
		"-a, only the bytes after the first MARKER (C escapes \\n, \\r, \\\\) count: the\n"
		"command's own output behind a console's boot messages. S is the exit\n"
		"status, or 128+N for signal N. first_us, last_us and mib_s are null when\n"
		"no byte came.\n");
	exit(2);
}

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* MARKER with \n and \\ undone into out; returns its length (0: bad). */
static size_t unescape(const char *in, char *out)
{
	size_t n = 0;
	for (; *in && n < MARKER_MAX; in++) {
		if (*in == '\\' && (in[1] == 'n' || in[1] == 'r')) {
			out[n++] = in[1] == 'n' ? '\n' : '\r';
			in++;
		} else if (*in == '\\' && in[1] == '\\') {
			out[n++] = '\\';
			in++;
		} else {
			out[n++] = *in;
		}
	}
	return *in ? 0 : n;
}

/* Knuth-Morris-Pratt over the stream: the marker may be split across reads. */
struct matcher {
	const char *m;
	size_t len, state;
	size_t fail[MARKER_MAX];
};

static void matcher_init(struct matcher *k, const char *m, size_t len)
{
	k->m = m;
	k->len = len;
	k->state = 0;
	k->fail[0] = 0;
	for (size_t i = 1, j = 0; i < len; i++) {
		while (j && m[i] != m[j])
			j = k->fail[j - 1];
		if (m[i] == m[j])
			j++;
		k->fail[i] = j;
	}
}

/* Feeds buf; returns the offset just past the marker's end, or -1. */
static ssize_t matcher_feed(struct matcher *k, const char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		while (k->state && buf[i] != k->m[k->state])
			k->state = k->fail[k->state - 1];
		if (buf[i] == k->m[k->state])
			k->state++;
		if (k->state == k->len)
			return (ssize_t)(i + 1);
	}
	return -1;
}

static void print_us(const char *name, uint64_t t, uint64_t t0, int have)
{
	if (have)
		printf(" %s=%llu", name, (unsigned long long)((t - t0) / 1000));
	else
		printf(" %s=null", name);
}

int main(int argc, char **argv)
{
	char marker[MARKER_MAX];
	size_t marker_len = 0;
	int argi = 1;
	if (argi + 1 < argc && !strcmp(argv[argi], "-a")) {
		marker_len = unescape(argv[argi + 1], marker);
		if (!marker_len)
			usage();
		argi += 2;
	}
	if (argi >= argc || argv[argi][0] == '-')
		usage();
	static char buf[BUF_SIZE];
	struct matcher k = {0};
	if (marker_len)
		matcher_init(&k, marker, marker_len);

	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0) {
		perror("bench-stream: pipe");
		return 1;
	}
	(void)fcntl(p[0], F_SETPIPE_SZ, BUF_SIZE);
	uint64_t t0 = now_ns();
	pid_t pid = fork();
	if (pid < 0) {
		perror("bench-stream: fork");
		return 1;
	}
	if (pid == 0) {
		if (dup2(p[1], STDOUT_FILENO) < 0)
			_exit(127);
		execvp(argv[argi], argv + argi);
		fprintf(stderr, "bench-stream: %s: %s\n", argv[argi], strerror(errno));
		_exit(127);
	}
	close(p[1]);

	uint64_t first = 0, last = 0, bytes = 0;
	int counting = marker_len == 0;
	for (;;) {
		ssize_t n = read(p[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		uint64_t t = now_ns();
		size_t from = 0;
		if (!counting) {
			ssize_t end = matcher_feed(&k, buf, (size_t)n);
			if (end < 0)
				continue;
			counting = 1;
			from = (size_t)end;
		}
		if ((size_t)n > from) {
			if (!bytes)
				first = t;
			last = t;
			bytes += (size_t)n - from;
		}
	}
	close(p[0]);
	int ws;
	while (waitpid(pid, &ws, 0) < 0)
		if (errno != EINTR) {
			perror("bench-stream: waitpid");
			return 1;
		}
	uint64_t t_exit = now_ns();
	int status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);

	printf("stream: status=%d", status);
	print_us("first_us", first, t0, bytes > 0);
	print_us("last_us", last, t0, bytes > 0);
	print_us("exit_us", t_exit, t0, 1);
	printf(" bytes=%llu", (unsigned long long)bytes);
	if (bytes > 0 && last > first)
		printf(" mib_s=%.1f\n", (double)bytes / 1048576.0 / ((double)(last - first) / 1e9));
	else
		printf(" mib_s=null\n");
	return 0;
}
