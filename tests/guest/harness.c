/* harness.c - runs minnow with the test firmware for the guest tests: writes
 * the ini file, starts `minnow run` (on pipes or on a pseudo-terminal),
 * pumps stdin/stdout/stderr through poll() until minnow exits (a pidfd says
 * when) or the timeout passes, and reports the exit status and the output;
 * plus the shared checks, temporary files and seeded random data. */
#include "harness.h"

#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/kvm.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_TIMEOUT_MS 30000u
#define MAX_SETS	   32
#define MAX_ARGS	   16
#define DRAIN_MS	   2000 /* for output still in the pipes once minnow is gone */

extern char **environ;

void harness_require_kvm(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		const char *req = getenv("MINNOW_REQUIRE_KVM");
		if (req && !strcmp(req, "1"))
			cr_assert_fail("no usable /dev/kvm: %s (MINNOW_REQUIRE_KVM=1)",
				       strerror(errno));
		else
			cr_skip_test("no usable /dev/kvm: %s", strerror(errno));
	}
	close(fd);
}

bool harness_kvm_has(unsigned long cap)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	bool has = fd >= 0 && ioctl(fd, KVM_CHECK_EXTENSION, cap) > 0;
	if (fd >= 0)
		close(fd);
	return has;
}

const char *harness_minnow(void)
{
	const char *m = getenv("MINNOW");
	return m && *m ? m : "./minnow";
}

const char *harness_minnow_testhooks(void)
{
	const char *m = getenv("MINNOW_TESTHOOKS");
	return m && *m ? m : "build/minnow-testhooks";
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

double harness_now_ms(void)
{
	return now_ms();
}

/* Appends to a growing, NUL-terminated buffer (*data never NULL after). */
static void append(char **data, size_t *len, size_t *cap, const char *p, size_t n)
{
	if (*len + n + 1 > *cap) {
		size_t c = *cap ? *cap : 4096;
		while (c < *len + n + 1)
			c *= 2;
		char *d = realloc(*data, c);
		cr_assert(d != NULL, "out of memory");
		*data = d;
		*cap = c;
	}
	memcpy(*data + *len, p, n);
	*len += n;
	(*data)[*len] = '\0';
}

/* ---- temporary files and random data ---- */

const char *harness_tmpdir(void)
{
	const char *t = getenv("TMPDIR");
	return t && *t ? t : "/tmp";
}

int harness_mkstemp(const char *dir, const char *tag, char *path, size_t len)
{
	if ((size_t)snprintf(path, len, "%s/minnow-%s-XXXXXX", dir ? dir : harness_tmpdir(), tag) >=
	    len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return mkostemp(path, O_CLOEXEC);
}

int harness_mkdtemp(const char *tag, char *path, size_t len)
{
	if ((size_t)snprintf(path, len, "%s/minnow-%s-XXXXXX", harness_tmpdir(), tag) >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return mkdtemp(path) ? 0 : -1;
}

static bool seed_used;
static uint64_t seed_value, rng_state;

uint64_t harness_seed(void)
{
	if (!seed_used) {
		const char *s = getenv("MINNOW_TEST_SEED");
		char *end = NULL;
		if (s && *s)
			seed_value = strtoull(s, &end, 0);
		if (!s || !*s || *end) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			seed_value = (uint64_t)ts.tv_sec * 1000003u ^ (uint64_t)ts.tv_nsec ^
				     (uint64_t)getpid() << 32;
		}
		rng_state = seed_value * 0x9E3779B97F4A7C15ull + 1; /* never 0 */
		seed_used = true;
		cr_log_info("random test data from seed %llu (MINNOW_TEST_SEED=%llu replays it)",
			    (unsigned long long)seed_value, (unsigned long long)seed_value);
	}
	return seed_value;
}

void harness_random(uint8_t *p, size_t n)
{
	harness_seed();
	for (size_t i = 0; i < n; i++) {
		rng_state ^= rng_state << 13;
		rng_state ^= rng_state >> 7;
		rng_state ^= rng_state << 17;
		p[i] = (uint8_t)(rng_state >> 24);
	}
}

void harness_temp_file(const char *dir, const char *tag, size_t len, char *path, size_t path_len,
		       uint8_t **data)
{
	int fd = harness_mkstemp(dir, tag, path, path_len);
	cr_assert(fd >= 0, "cannot make a temporary file in %s: %s", dir ? dir : harness_tmpdir(),
		  strerror(errno));
	uint8_t *buf = malloc(len ? len : 1);
	cr_assert(buf != NULL);
	harness_random(buf, len);
	ssize_t w = write(fd, buf, len);
	int e = errno;
	close(fd);
	cr_assert_eq(w, (ssize_t)len, "write %s: %s", path, w < 0 ? strerror(e) : "short");
	if (data)
		*data = buf;
	else
		free(buf);
}

uint8_t *harness_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rbe");
	if (!f)
		return NULL;
	char *buf = NULL;
	size_t n = 0, cap = 0;
	char tmp[65536];
	size_t got;
	while ((got = fread(tmp, 1, sizeof(tmp), f)) > 0)
		append(&buf, &n, &cap, tmp, got);
	fclose(f);
	if (!buf)
		append(&buf, &n, &cap, "", 0);
	if (len)
		*len = n;
	return (uint8_t *)buf;
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

/* ---- terminals and /proc ---- */

int harness_pty_open(struct harness_pty *p)
{
	p->master = p->slave = -1;
	p->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
	if (p->master < 0)
		return -1;
	if (grantpt(p->master) < 0 || unlockpt(p->master) < 0 ||
	    ptsname_r(p->master, p->name, sizeof(p->name)) != 0)
		goto fail;
	p->slave = open(p->name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (p->slave < 0)
		goto fail;
	return 0;
fail:;
	int e = errno;
	close(p->master);
	p->master = -1;
	errno = e;
	return -1;
}

void harness_pty_close(struct harness_pty *p)
{
	if (p->master >= 0)
		close(p->master);
	if (p->slave >= 0)
		close(p->slave);
	p->master = p->slave = -1;
}

const char *harness_fd_holder(const char *path, char *buf, size_t len)
{
	DIR *proc = opendir("/proc");
	if (!proc)
		return NULL;
	const char *found = NULL;
	struct dirent *pe;
	while (!found && (pe = readdir(proc)) != NULL) {
		char *end;
		long pid = strtol(pe->d_name, &end, 10);
		if (*end || pid <= 0 || pid == getpid())
			continue;
		char dir[64];
		snprintf(dir, sizeof(dir), "/proc/%ld/fd", pid);
		DIR *fds = opendir(dir);
		if (!fds)
			continue;
		struct dirent *fe;
		while (!found && (fe = readdir(fds)) != NULL) {
			char link[PATH_MAX], target[PATH_MAX];
			if (fe->d_name[0] == '.')
				continue;
			snprintf(link, sizeof(link), "%s/%s", dir, fe->d_name);
			ssize_t n = readlink(link, target, sizeof(target) - 1);
			if (n <= 0)
				continue;
			target[n] = '\0';
			if (strcmp(target, path) != 0)
				continue;
			char comm[64] = "?", cpath[64];
			snprintf(cpath, sizeof(cpath), "/proc/%ld/comm", pid);
			FILE *f = fopen(cpath, "re");
			if (f) {
				if (fgets(comm, sizeof(comm), f))
					comm[strcspn(comm, "\n")] = '\0';
				fclose(f);
			}
			snprintf(buf, len, "pid %ld (%s) fd %s", pid, comm, fe->d_name);
			found = buf;
		}
		closedir(fds);
	}
	closedir(proc);
	return found;
}

/* ---- running minnow ---- */

static int write_ini(const struct guest_opts *o, struct guest_result *r)
{
	int fd = harness_mkstemp(NULL, "guest", r->ini, sizeof(r->ini));
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
	fprintf(f, "\n[console]\n");
	if (o->console_file)
		fprintf(f, "output = file\npath = %s\n", o->console_file);
	else
		fprintf(f, "output = stdio\n");
	fprintf(f, "input = %s\n", o->console_input ? "on" : "off");
	if (o->extra_ini)
		fprintf(f, "\n%s\n", o->extra_ini);
	if (fclose(f) != 0) {
		unlink(r->ini);
		return -1;
	}
	return 0;
}

static void describe(struct guest_result *r)
{
	const struct guest_opts *o = r->o;
	char outcome[96];
	if (r->timed_out)
		snprintf(outcome, sizeof(outcome), "timed out after %.0f ms", r->wall_ms);
	else if (r->signal)
		snprintf(outcome, sizeof(outcome), "killed by signal %d", r->signal);
	else
		snprintf(outcome, sizeof(outcome), "exit status %d after %.0f ms", r->status,
			 r->wall_ms);
	char sets[160] = "";
	for (size_t i = 0; o->sets && o->sets[i] && i < MAX_SETS; i++)
		snprintf(sets + strlen(sets), sizeof(sets) - strlen(sets), " --set %s", o->sets[i]);
	snprintf(r->desc, sizeof(r->desc), "[%s memory=%s vcpus=%u cmdline='%s'%s%s%s] %s",
		 o->image == FW_PVH ? "pvh" : "bzimage", o->memory ? o->memory : "64M",
		 o->vcpus ? o->vcpus : 1, o->cmdline ? o->cmdline : "", o->initrd ? " initrd" : "",
		 o->pty ? " on a pty" : "", sets, outcome);
}

/* dup2 that also clears close-on-exec when fd is already `to`. */
static void move_fd(int fd, int to)
{
	if (fd == to)
		fcntl(fd, F_SETFD, 0);
	else
		dup2(fd, to);
}

/* Forks and execs minnow: stdin/stdout from the pty or the pipes, stderr
 * to its pipe, the rlimit. Only async-signal-safe calls in the child. */
static int spawn(struct guest_result *r, int pin[2], int pout[2], int perr[2])
{
	const struct guest_opts *o = r->o;
	const char *argv[4 + 2 * MAX_SETS + MAX_ARGS + 2];
	size_t n = 0;
	argv[n++] = o->minnow ? o->minnow : harness_minnow();
	argv[n++] = o->command ? o->command : "run";
	argv[n++] = o->target ? o->target : r->ini;
	for (size_t i = 0; o->args && o->args[i] && i < MAX_ARGS; i++)
		argv[n++] = o->args[i];
	for (size_t i = 0; o->sets && o->sets[i] && i < MAX_SETS; i++) {
		argv[n++] = "--set";
		argv[n++] = o->sets[i];
	}
	if (o->timings == TIMINGS_JSON)
		argv[n++] = "--timings=json";
	else if (o->timings == TIMINGS_TEXT)
		argv[n++] = "--timings";
	argv[n] = NULL;
	struct rlimit lim = {o->nofile, o->nofile};

	pid_t pid = fork();
	if (pid < 0) {
		snprintf(r->desc, sizeof(r->desc), "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		if (o->pty) {
			setsid();
			int t = open(o->pty->name, O_RDWR); /* the controlling terminal */
			if (t < 0)
				_exit(126);
			ioctl(t, TIOCSCTTY, 0);
			if (o->stdout_mode == STDOUT_CAPTURE)
				move_fd(t, 1);
			else
				move_fd(pout[1], 1);
			move_fd(t, 0);
		} else {
			move_fd(pin[0], 0);
			move_fd(pout[1], 1);
		}
		move_fd(perr[1], 2);
		if (o->nofile && setrlimit(RLIMIT_NOFILE, &lim) < 0)
			_exit(126);
		if (o->in_child)
			o->in_child();
		execve(argv[0], (char *const *)argv, environ);
		_exit(127);
	}
	r->pid = pid;
	return 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

int guest_start(const struct guest_opts *o, struct guest_result *r)
{
	memset(r, 0, sizeof(*r));
	r->o = o;
	r->status = -1;
	r->fd_in = r->fd_out = r->fd_err = r->pidfd = r->fd_unread = -1;
	append(&r->out, &r->out_len, &r->out_cap, "", 0);
	append(&r->err, &r->err_len, &r->err_cap, "", 0);
	describe(r);

	if (write_ini(o, r) < 0) {
		snprintf(r->desc, sizeof(r->desc), "cannot write the ini file in %s: %s",
			 harness_tmpdir(), strerror(errno));
		return -1;
	}
	int pin[2] = {-1, -1}, pout[2] = {-1, -1}, perr[2];
	if ((!o->pty && pipe2(pin, O_CLOEXEC)) ||
	    ((!o->pty || o->stdout_mode != STDOUT_CAPTURE) && pipe2(pout, O_CLOEXEC)) ||
	    pipe2(perr, O_CLOEXEC)) {
		snprintf(r->desc, sizeof(r->desc), "pipe: %s", strerror(errno));
		unlink(r->ini);
		return -1;
	}
	/* A closed pipe when the guest would write to us after we stopped
	 * listening must not kill the test process. */
	signal(SIGPIPE, SIG_IGN);
	r->t0 = now_ms();
	r->deadline = r->t0 + (o->timeout_ms ? o->timeout_ms : DEFAULT_TIMEOUT_MS);
	int rc = spawn(r, pin, pout, perr);
	close_fd(&pin[0]);
	close_fd(&pout[1]);
	close(perr[1]);
	if (rc < 0) {
		close_fd(&pin[1]);
		close_fd(&pout[0]);
		close(perr[0]);
		unlink(r->ini);
		return -1;
	}
	r->fd_err = perr[0];
	if (o->pty) {
		r->fd_out = o->pty->master;
		r->fd_in = o->stdin_len ? o->pty->master : -1;
	} else {
		r->fd_out = pout[0];
		r->fd_in = pin[1];
		if (!o->stdin_data || !o->stdin_len)
			close_fd(&r->fd_in);
	}
	if (o->stdout_mode != STDOUT_CAPTURE) {
		r->fd_out = -1;
		if (o->stdout_mode == STDOUT_UNREAD)
			r->fd_unread = pout[0];
		else
			close_fd(&pout[0]);
	}
	if (r->fd_out >= 0)
		fcntl(r->fd_out, F_SETFL, O_NONBLOCK);
	fcntl(r->fd_err, F_SETFL, O_NONBLOCK);
	if (r->fd_in >= 0)
		fcntl(r->fd_in, F_SETFL, O_NONBLOCK);
	r->pidfd = (int)syscall(SYS_pidfd_open, r->pid, 0);
	return 0;
}

/* Reads what is there from *fd; forgets it at EOF or error (closes it
 * unless it is the pty master, which the test owns). */
static void drain(struct guest_result *r, int *fd, bool is_err)
{
	char tmp[4096];
	ssize_t n;
	while ((n = read(*fd, tmp, sizeof(tmp))) > 0) {
		if (is_err)
			append(&r->err, &r->err_len, &r->err_cap, tmp, (size_t)n);
		else
			append(&r->out, &r->out_len, &r->out_cap, tmp, (size_t)n);
	}
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	/* EOF, or EIO on a pty master whose slave is closed everywhere. */
	if (!(r->o->pty && *fd == r->o->pty->master))
		close(*fd);
	*fd = -1;
}

static void feed(struct guest_result *r)
{
	const struct guest_opts *o = r->o;
	ssize_t w = write(r->fd_in, o->stdin_data + r->in_off, o->stdin_len - r->in_off);
	if (w > 0)
		r->in_off += (size_t)w;
	if ((w < 0 && errno != EAGAIN && errno != EINTR) || r->in_off == o->stdin_len) {
		if (!o->pty)
			close(r->fd_in);
		r->fd_in = -1;
	}
}

static void reap(struct guest_result *r, int options)
{
	if (r->exited)
		return;
	int ws;
	pid_t w;
	do
		w = waitpid(r->pid, &ws, options);
	while (w < 0 && errno == EINTR);
	if (w == r->pid) {
		r->exited = true;
		r->wait_status = ws;
		r->wall_ms = now_ms() - r->t0;
	}
}

/* Pumps the fds until `until` (ms), minnow's exit, or the needle (on
 * stderr when in_err, else on stdout). */
static bool pump(struct guest_result *r, double until, const char *needle, bool in_err)
{
	for (;;) {
		if (needle && strstr(in_err ? r->err : r->out, needle))
			return true;
		if (r->exited)
			return false;
		double left = until - now_ms();
		if (left <= 0)
			return false;
		struct pollfd p[4];
		int np = 0, iout = -1, ierr = -1, iin = -1, ipid = -1;
		if (r->fd_out >= 0)
			iout = np, p[np++] = (struct pollfd){.fd = r->fd_out, .events = POLLIN};
		if (r->fd_err >= 0)
			ierr = np, p[np++] = (struct pollfd){.fd = r->fd_err, .events = POLLIN};
		if (r->fd_in >= 0)
			iin = np, p[np++] = (struct pollfd){.fd = r->fd_in, .events = POLLOUT};
		if (r->pidfd >= 0)
			ipid = np, p[np++] = (struct pollfd){.fd = r->pidfd, .events = POLLIN};
		/* Without a pidfd (kernel < 5.3), look at the child every 10 ms. */
		int wait = r->pidfd >= 0 ? (int)left + 1 : (left < 10 ? (int)left + 1 : 10);
		int n = poll(p, (nfds_t)np, wait);
		if (n < 0 && errno != EINTR)
			return false;
		if (iout >= 0 && n > 0 && p[iout].revents)
			drain(r, &r->fd_out, false);
		if (ierr >= 0 && n > 0 && p[ierr].revents)
			drain(r, &r->fd_err, true);
		if (iin >= 0 && n > 0 && p[iin].revents && r->fd_in >= 0)
			feed(r);
		if (ipid < 0 || (n > 0 && p[ipid].revents))
			reap(r, WNOHANG);
	}
}

bool guest_wait_output(struct guest_result *r, const char *needle, unsigned timeout_ms)
{
	double until = now_ms() + timeout_ms;
	return pump(r, until < r->deadline ? until : r->deadline, needle, false);
}

bool guest_wait_stderr(struct guest_result *r, const char *needle, unsigned timeout_ms)
{
	double until = now_ms() + timeout_ms;
	return pump(r, until < r->deadline ? until : r->deadline, needle, true);
}

void guest_wait(struct guest_result *r)
{
	pump(r, r->deadline, NULL, false);
	if (!r->exited) {
		kill(r->pid, SIGKILL);
		r->timed_out = true;
		reap(r, 0);
	}
	/* What minnow wrote before it went: to EOF on the pipes (bounded, in
	 * case something it started still holds them), what is there on the
	 * pty. */
	double until = now_ms() + DRAIN_MS;
	while ((r->fd_out >= 0 || r->fd_err >= 0) && now_ms() < until) {
		struct pollfd p[2];
		int np = 0;
		if (r->fd_out >= 0)
			p[np++] = (struct pollfd){.fd = r->fd_out, .events = POLLIN};
		if (r->fd_err >= 0)
			p[np++] = (struct pollfd){.fd = r->fd_err, .events = POLLIN};
		if (poll(p, (nfds_t)np, 100) <= 0 && r->o->pty && r->fd_err < 0)
			break;
		if (r->fd_out >= 0)
			drain(r, &r->fd_out, false);
		if (r->fd_err >= 0)
			drain(r, &r->fd_err, true);
		if (r->o->pty && r->fd_err < 0)
			break;
	}
	if (r->fd_out >= 0 && !(r->o->pty && r->fd_out == r->o->pty->master))
		close(r->fd_out);
	if (r->fd_err >= 0)
		close(r->fd_err);
	if (r->fd_in >= 0 && !r->o->pty)
		close(r->fd_in);
	close_fd(&r->pidfd);
	close_fd(&r->fd_unread);
	r->fd_out = r->fd_err = r->fd_in = -1;
	unlink(r->ini);
	r->ran = true;
	if (WIFEXITED(r->wait_status))
		r->status = WEXITSTATUS(r->wait_status);
	else if (WIFSIGNALED(r->wait_status))
		r->signal = WTERMSIG(r->wait_status);
	describe(r);
}

int guest_run(const struct guest_opts *o, struct guest_result *r)
{
	if (guest_start(o, r) < 0)
		return -1;
	guest_wait(r);
	return 0;
}

const char *guest_ctx(struct guest_result *r)
{
	static char buf[12288];
	char seed[96] = "";
	if (seed_used)
		snprintf(seed, sizeof(seed), " [random data: MINNOW_TEST_SEED=%llu]",
			 (unsigned long long)seed_value);
	if (r->ctx_shown) {
		snprintf(buf, sizeof(buf), "%s%s (output above)", r->desc, seed);
		return buf;
	}
	r->ctx_shown = true;
	snprintf(buf, sizeof(buf), "%s%s\n--- stdout ---\n%.5000s\n--- stderr ---\n%.4000s",
		 r->desc, seed, r->out ? r->out : "", r->err ? r->err : "");
	return buf;
}

void guest_assert_ran(struct guest_result *r)
{
	cr_assert(r->ran, "could not run minnow: %s", r->desc);
	cr_assert(!r->timed_out, "minnow did not finish: %s", guest_ctx(r));
	cr_assert_eq(r->signal, 0, "minnow died: %s", guest_ctx(r));
	cr_assert(strstr(r->out, "minnow-test: ") != NULL,
		  "the guest never ran (configuration refused?): %s", guest_ctx(r));
}

void guest_run_ok(const struct guest_opts *o, struct guest_result *r)
{
	harness_require_kvm();
	guest_run(o, r);
	guest_assert_ran(r);
}

void guest_result_free(struct guest_result *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}

/* ---- reading the output ---- */

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

bool guest_has_line(const struct guest_result *r, const char *prefix)
{
	char line[8];
	return guest_line(r->out, prefix, line, sizeof(line)) != NULL;
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

char *guest_json(const char *err, const char *key, char *buf, size_t len)
{
	char k[96];
	snprintf(k, sizeof(k), "\"%s\":", key);
	const char *p = strstr(err, k);
	if (!p || !len)
		return NULL;
	p += strlen(k);
	while (*p == ' ')
		p++;
	bool quoted = *p == '"';
	if (quoted)
		p++;
	size_t n = quoted ? strcspn(p, "\"") : strcspn(p, ",} \n");
	if (n >= len)
		n = len - 1;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return buf;
}

/* A directory where O_DIRECT works (harness.h). */
const char *harness_direct_dir(char *why, size_t len)
{
	const char *dirs[] = {harness_tmpdir(), "/var/tmp", "/tmp"};
	why[0] = '\0';
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		char path[4096];
		int fd = harness_mkstemp(dirs[i], "direct", path, sizeof(path));
		int e = errno;
		if (fd >= 0) {
			close(fd);
			fd = open(path, O_RDWR | O_DIRECT | O_CLOEXEC);
			e = errno;
			void *buf = NULL;
			if (fd >= 0 && posix_memalign(&buf, 4096, 4096) == 0) {
				memset(buf, 0, 4096);
				if (pwrite(fd, buf, 4096, 0) != 4096)
					e = errno, close(fd), fd = -1;
			}
			free(buf);
			unlink(path);
		}
		if (fd >= 0) {
			close(fd);
			return dirs[i];
		}
		snprintf(why + strlen(why), len - strlen(why), "%s%s: %s", why[0] ? "; " : "",
			 dirs[i], strerror(e));
	}
	return NULL;
}

int harness_link_delete(const char *name)
{
	unsigned index = if_nametoindex(name);
	if (!index)
		return -errno;
	int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (s < 0)
		return -errno;
	struct {
		struct nlmsghdr h;
		struct ifinfomsg i;
	} req = {
	    .h = {.nlmsg_len = sizeof(req),
		  .nlmsg_type = RTM_DELLINK,
		  .nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK,
		  .nlmsg_seq = 1},
	    .i = {.ifi_family = AF_UNSPEC, .ifi_index = (int)index},
	};
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	int r = 0;
	if (sendto(s, &req, sizeof(req), 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0) {
		r = -errno;
	} else {
		union {
			struct nlmsghdr h;
			char buf[4096];
		} ack;
		ssize_t n = recv(s, &ack, sizeof(ack), 0);
		if (n < 0)
			r = -errno;
		else if ((size_t)n < NLMSG_LENGTH(sizeof(struct nlmsgerr)) ||
			 ack.h.nlmsg_type != NLMSG_ERROR)
			r = -EPROTO;
		else
			r = ((struct nlmsgerr *)NLMSG_DATA(&ack.h))->error;
	}
	close(s);
	return r;
}

bool harness_read_line(int fd, char *buf, size_t len, unsigned timeout_ms)
{
	size_t n = 0;
	double end = harness_now_ms() + timeout_ms;
	while (n + 1 < len && harness_now_ms() < end) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 100) != 1)
			continue;
		if (read(fd, buf + n, 1) != 1)
			break;
		if (buf[n] == '\n') {
			buf[n] = '\0';
			return true;
		}
		n++;
	}
	buf[n] = '\0';
	return false;
}

int harness_connect_unix(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(a.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(a.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}
