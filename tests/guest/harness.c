/* harness.c - runs minnow with the test firmware for the guest tests: writes
 * the ini file, spawns `minnow run`, pumps stdin/stdout/stderr through poll()
 * under a timeout and reports the exit status and the captured output. */
#include "harness.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_TIMEOUT_MS 30000u
#define MAX_SETS	   32

extern char **environ;

void harness_require_kvm(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		cr_skip_test("no usable /dev/kvm: %s", strerror(errno));
	close(fd);
}

const char *harness_minnow(void)
{
	const char *m = getenv("MINNOW");
	return m && *m ? m : "./minnow";
}

const char *harness_firmware(enum fw_image image)
{
	static char path[PATH_MAX];
	const char *dir = getenv("FIRMWARE_DIR");
	if (!dir || !*dir)
		dir = "build/firmware";
	char rel[PATH_MAX];
	snprintf(rel, sizeof(rel), "%s/%s", dir,
		 image == FW_PVH ? "minnow-test.elf" : "minnow-test.bzimage");
	if (!realpath(rel, path))
		snprintf(path, sizeof(path), "%s", rel); /* minnow will name the problem */
	return path;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* A growing, NUL-terminated byte buffer. */
struct buf {
	char *data;
	size_t len, cap;
};

static int buf_append(struct buf *b, const char *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *d = realloc(b->data, cap);
		if (!d)
			return -1;
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

static int write_ini(const struct guest_opts *o, struct guest_result *r)
{
	snprintf(r->ini, sizeof(r->ini), "/tmp/minnow-guest-XXXXXX.ini");
	int fd = mkstemps(r->ini, 4);
	if (fd < 0)
		return -1;
	FILE *f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		unlink(r->ini);
		return -1;
	}
	fprintf(f, "[vm]\nmemory = %s\nvcpus = %u\n\n", o->memory ? o->memory : "64M",
		o->vcpus ? o->vcpus : 1);
	fprintf(f, "[kernel]\npath = %s\n", harness_firmware(o->image));
	if (o->cmdline)
		fprintf(f, "cmdline = %s\n", o->cmdline);
	if (o->initrd)
		fprintf(f, "initrd = %s\n", o->initrd);
	fprintf(f, "\n[console]\noutput = stdio\ninput = %s\n", o->console_input ? "on" : "off");
	if (o->extra_ini)
		fprintf(f, "\n%s\n", o->extra_ini);
	if (fclose(f) != 0) {
		unlink(r->ini);
		return -1;
	}
	return 0;
}

static void describe(const struct guest_opts *o, struct guest_result *r)
{
	char outcome[96];
	if (r->timed_out)
		snprintf(outcome, sizeof(outcome), "timed out after %.0f ms", r->wall_ms);
	else if (r->signal)
		snprintf(outcome, sizeof(outcome), "killed by signal %d", r->signal);
	else
		snprintf(outcome, sizeof(outcome), "exit status %d after %.0f ms", r->status,
			 r->wall_ms);
	snprintf(r->desc, sizeof(r->desc), "[%s memory=%s vcpus=%u cmdline='%s'%s] %s",
		 o->image == FW_PVH ? "pvh" : "bzimage", o->memory ? o->memory : "64M",
		 o->vcpus ? o->vcpus : 1, o->cmdline ? o->cmdline : "", o->initrd ? " initrd" : "",
		 outcome);
}

/* Reads what is there from *fd into b; closes it at EOF or error. */
static void drain(int *fd, struct buf *b)
{
	char tmp[4096];
	ssize_t n = read(*fd, tmp, sizeof(tmp));
	if (n > 0) {
		buf_append(b, tmp, (size_t)n);
	} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
		close(*fd);
		*fd = -1;
	}
}

static int spawn(const struct guest_opts *o, struct guest_result *r, int pin[2], int pout[2],
		 int perr[2], pid_t *pid)
{
	const char *argv[4 + 2 * MAX_SETS + 2];
	size_t n = 0;
	argv[n++] = harness_minnow();
	argv[n++] = "run";
	argv[n++] = r->ini;
	for (size_t i = 0; o->sets && o->sets[i] && i < MAX_SETS; i++) {
		argv[n++] = "--set";
		argv[n++] = o->sets[i];
	}
	if (o->timings_json)
		argv[n++] = "--timings=json";
	argv[n] = NULL;

	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pin[0], 0);
	posix_spawn_file_actions_adddup2(&fa, pout[1], 1);
	posix_spawn_file_actions_adddup2(&fa, perr[1], 2);
	int rc = posix_spawn(pid, argv[0], &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0)
		snprintf(r->desc, sizeof(r->desc), "cannot run %s: %s", argv[0], strerror(rc));
	return rc ? -1 : 0;
}

int guest_run(const struct guest_opts *o, struct guest_result *r)
{
	memset(r, 0, sizeof(*r));
	r->status = -1;
	struct buf out = {0}, err = {0};
	buf_append(&out, "", 0);
	buf_append(&err, "", 0);
	r->out = out.data;
	r->err = err.data;

	if (write_ini(o, r) < 0) {
		snprintf(r->desc, sizeof(r->desc), "cannot write the ini file: %s",
			 strerror(errno));
		return -1;
	}
	int pin[2], pout[2], perr[2];
	if (pipe2(pin, O_CLOEXEC) || pipe2(pout, O_CLOEXEC) || pipe2(perr, O_CLOEXEC)) {
		snprintf(r->desc, sizeof(r->desc), "pipe: %s", strerror(errno));
		unlink(r->ini);
		return -1;
	}
	double t0 = now_ms();
	pid_t pid;
	if (spawn(o, r, pin, pout, perr, &pid) < 0) {
		close(pin[0]), close(pin[1]), close(pout[0]), close(pout[1]);
		close(perr[0]), close(perr[1]);
		unlink(r->ini);
		return -1;
	}
	close(pin[0]);
	close(pout[1]);
	close(perr[1]);
	/* A closed pipe when the guest would write to us after we stopped
	 * listening must not kill the test process. */
	signal(SIGPIPE, SIG_IGN);

	int fin = pin[1], fout = pout[0], ferr = perr[0];
	size_t in_off = 0;
	if (!o->stdin_data || !o->stdin_len) {
		close(fin);
		fin = -1;
	} else {
		fcntl(fin, F_SETFL, O_NONBLOCK);
	}
	unsigned timeout = o->timeout_ms ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
	double deadline = t0 + timeout;
	while (fout >= 0 || ferr >= 0) {
		struct pollfd p[3];
		int np = 0, iout = -1, ierr = -1, iin = -1;
		if (fout >= 0)
			iout = np, p[np++] = (struct pollfd){.fd = fout, .events = POLLIN};
		if (ferr >= 0)
			ierr = np, p[np++] = (struct pollfd){.fd = ferr, .events = POLLIN};
		if (fin >= 0)
			iin = np, p[np++] = (struct pollfd){.fd = fin, .events = POLLOUT};
		double left = deadline - now_ms();
		if (left <= 0) {
			kill(pid, SIGKILL);
			r->timed_out = true;
			break;
		}
		int n = poll(p, (nfds_t)np, (int)left + 1);
		if (n < 0 && errno != EINTR)
			break;
		if (n <= 0)
			continue;
		if (iout >= 0 && p[iout].revents)
			drain(&fout, &out);
		if (ierr >= 0 && p[ierr].revents)
			drain(&ferr, &err);
		if (iin >= 0 && p[iin].revents) {
			ssize_t w = write(fin, o->stdin_data + in_off, o->stdin_len - in_off);
			if (w > 0)
				in_off += (size_t)w;
			if ((w < 0 && errno != EAGAIN && errno != EINTR) ||
			    in_off == o->stdin_len) {
				close(fin);
				fin = -1;
			}
		}
	}
	/* Output closed (or timeout): reap the child, still within bounds. */
	int ws = 0;
	for (;;) {
		pid_t w = waitpid(pid, &ws, WNOHANG);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			break;
		if (now_ms() > deadline && !r->timed_out) {
			kill(pid, SIGKILL);
			r->timed_out = true;
		}
		usleep(1000);
	}
	r->wall_ms = now_ms() - t0;
	if (fin >= 0)
		close(fin);
	if (fout >= 0)
		close(fout);
	if (ferr >= 0)
		close(ferr);
	unlink(r->ini);

	r->ran = true;
	if (WIFEXITED(ws)) {
		r->status = WEXITSTATUS(ws);
	} else if (WIFSIGNALED(ws)) {
		r->signal = WTERMSIG(ws);
	}
	r->out = out.data;
	r->out_len = out.len;
	r->err = err.data;
	r->err_len = err.len;
	describe(o, r);
	return 0;
}

void guest_result_free(struct guest_result *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}

static const char *line_after(const char *out, const char *prefix, const char **end)
{
	static const char tag[] = "minnow-test: ";
	size_t plen = strlen(prefix);
	for (const char *p = out; p && *p;) {
		const char *eol = strchr(p, '\n');
		if (!eol)
			eol = p + strlen(p);
		if (!strncmp(p, tag, sizeof(tag) - 1) &&
		    !strncmp(p + sizeof(tag) - 1, prefix, plen) &&
		    (size_t)(eol - p) >= sizeof(tag) - 1 + plen) {
			*end = eol;
			return p + sizeof(tag) - 1 + plen;
		}
		p = *eol ? eol + 1 : eol;
	}
	return NULL;
}

char *guest_line(const char *out, const char *prefix, char *buf, size_t len)
{
	const char *end;
	const char *s = line_after(out, prefix, &end);
	if (!s || !len)
		return NULL;
	size_t n = (size_t)(end - s);
	if (n && s[n - 1] == '\r')
		n--;
	if (n >= len)
		n = len - 1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return buf;
}

unsigned guest_count_lines(const char *out, const char *prefix)
{
	unsigned n = 0;
	const char *end;
	for (const char *p = out; (p = line_after(p, prefix, &end)) != NULL;) {
		n++;
		p = *end ? end + 1 : end;
	}
	return n;
}

int harness_temp_random_file(size_t len, char *path, uint8_t *data)
{
	snprintf(path, 64, "/tmp/minnow-initrd-XXXXXX");
	int fd = mkstemp(path);
	if (fd < 0)
		return -1;
	/* Random enough and reproducible per run: xorshift seeded by time. */
	uint64_t x = (uint64_t)time(NULL) * 0x9E3779B97F4A7C15ull + (uint64_t)getpid();
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		data[i] = (uint8_t)(x >> 24);
	}
	ssize_t w = write(fd, data, len);
	close(fd);
	if (w != (ssize_t)len) {
		unlink(path);
		return -1;
	}
	return 0;
}

uint32_t harness_fnv1a(const uint8_t *p, size_t n)
{
	uint32_t h = 0x811c9dc5u;
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x01000193u;
	}
	return h;
}
