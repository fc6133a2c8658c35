/* harness.h - runs minnow on a generated ini file with the minnow-test
 * firmware, feeding stdin and capturing stdout, stderr and the exit status,
 * under a timeout (on pipes, or on a pseudo-terminal as a user's shell
 * would); the one run-and-check helper and failure context every guest test
 * uses; helpers to read the guest's "minnow-test:" lines and --timings;
 * temporary files under $TMPDIR and reproducible random data. */
#ifndef MINNOW_GUEST_HARNESS_H
#define MINNOW_GUEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Elements of an array. */
#define HARNESS_N(a) (sizeof(a) / sizeof((a)[0]))

/* The body of a ParameterizedTestParameters(): one int parameter per row
 * of `table`, its index. Criterion runs each case in a process of its own
 * and copies the parameter there, so rows are passed by index, never by
 * pointer; the test body takes `int *row` and names table[*row] in every
 * assertion. */
#define HARNESS_ROWS(table)                                                                        \
	static int rows_[HARNESS_N(table)];                                                        \
	for (size_t i_ = 0; i_ < HARNESS_N(table); i_++)                                           \
		rows_[i_] = (int)i_;                                                               \
	return cr_make_param_array(int, rows_, HARNESS_N(table))

/* Which image of the firmware to boot. */
enum fw_image { FW_PVH, FW_BZIMAGE };

/* What minnow's stdout is. */
enum stdout_mode {
	STDOUT_CAPTURE, /* a pipe (or the pty) read into guest_result.out */
	STDOUT_UNREAD,	/* a pipe kept open and never read */
	STDOUT_CLOSED,	/* a pipe whose reader is gone (writes get EPIPE) */
};

/* What --timings minnow is asked for. */
enum timings_mode { TIMINGS_OFF, TIMINGS_TEXT, TIMINGS_JSON };

/* A pseudo-terminal for minnow (harness_pty_open). */
struct harness_pty {
	int master;    /* O_NONBLOCK, O_CLOEXEC */
	int slave;     /* kept open by the test (termios before/after), O_NOCTTY */
	char name[64]; /* /dev/pts/N */
};

/* One VM to run. Zero-initialise, then set what matters. */
struct guest_opts {
	enum fw_image image;
	const char *cmdline;	  /* [kernel] cmdline (NULL: none) */
	const char *memory;	  /* [vm] memory, e.g. "64M" (NULL: 64M) */
	unsigned vcpus;		  /* [vm] vcpus (0: 1) */
	const char *initrd;	  /* [kernel] initrd path (NULL: none) */
	bool console_input;	  /* [console] input = on (else off) */
	const char *console_file; /* [console] output = file at this path (NULL: stdio) */
	const char *extra_ini;	  /* appended verbatim to the ini (NULL: nothing) */
	const char *const *sets;  /* --set options, NULL-terminated (NULL: none) */
	const char *command;	  /* minnow's command (NULL: "run") */
	const char *target;	  /* instead of the ini file (e.g. restore's STATE) */
	const char *minnow;	  /* the binary to run (NULL: harness_minnow()) */
	const char *const *args;  /* more arguments after the ini, NULL-terminated */
	enum timings_mode timings;
	const char *stdin_data; /* written to minnow's stdin (or the pty), then closed */
	size_t stdin_len;
	unsigned timeout_ms; /* 0: 30 s */
	/* Non-NULL: minnow runs in a session of its own with the pty's slave
	 * as stdin, stdout and controlling terminal (stderr stays a pipe). */
	const struct harness_pty *pty;
	unsigned nofile; /* RLIMIT_NOFILE for minnow (0: inherited) */
	/* Not STDOUT_CAPTURE: stdout is such a pipe, also with a pty (which
	 * then stays stdin and controlling terminal only). */
	enum stdout_mode stdout_mode;
	/* Non-NULL: called in the child just before it execs minnow (after the
	 * fds and the rlimit); _exit(126) there when it fails. */
	void (*in_child)(void);
};

/* A run: started by guest_start(), finished by guest_wait(). */
struct guest_result {
	bool ran;	/* the child was started and reaped */
	bool timed_out; /* killed with SIGKILL after the timeout */
	int status;	/* exit status 0..255, or -1 when killed by a signal */
	int signal;	/* the terminating signal, else 0 */
	char *out;	/* stdout, NUL-terminated (never NULL after guest_start) */
	size_t out_len;
	char *err; /* stderr, NUL-terminated (never NULL after guest_start) */
	size_t err_len;
	double wall_ms; /* exec to exit */
	char ini[4096]; /* the ini file used (deleted after the run) */
	char desc[512]; /* one line for failure messages: ini settings + outcome */
	pid_t pid;	/* minnow, while it runs */
	/* Private to harness.c. */
	const struct guest_opts *o;
	size_t out_cap, err_cap, in_off;
	int fd_in, fd_out, fd_err, pidfd, fd_unread;
	bool exited, ctx_shown;
	int wait_status;
	double t0, deadline;
};

/* Skips the current Criterion test (cr_skip_test) when /dev/kvm cannot be
 * opened read-write, or fails it when MINNOW_REQUIRE_KVM=1; must be called
 * from a test body. */
void harness_require_kvm(void);

/* Whether this host's KVM has capability `cap` (KVM_CHECK_EXTENSION > 0);
 * false when /dev/kvm cannot be opened. */
bool harness_kvm_has(unsigned long cap);

/* Absolute path of the firmware image: $FIRMWARE_DIR (default
 * build/firmware) + minnow-test.elf or .bzimage. Static buffer. */
const char *harness_firmware(enum fw_image image);

/* Path of the minnow binary: $MINNOW, default ./minnow. */
const char *harness_minnow(void);

/* Path of minnow built with its test hooks (seccomp's forbidden-call
 * trigger): $MINNOW_TESTHOOKS, default build/minnow-testhooks. */
const char *harness_minnow_testhooks(void);

/* Writes a temporary ini file for `o`, starts `minnow run INI [--set ...]
 * [--timings...]`. Returns 0 when the child runs, -1 with `r->desc`
 * explaining when it could not be started. `o` must outlive the run. */
int guest_start(const struct guest_opts *o, struct guest_result *r);

/* Collects output until stdout holds `needle` (NULL: only collects),
 * minnow exits or timeout_ms pass (never beyond the run's own timeout).
 * True when the needle came. */
bool guest_wait_output(struct guest_result *r, const char *needle, unsigned timeout_ms);

/* The same for stderr: until it holds `needle`. */
bool guest_wait_stderr(struct guest_result *r, const char *needle, unsigned timeout_ms);

/* Collects output until minnow exits (SIGKILL at the run's timeout),
 * reaps it, removes the ini file and describes the outcome in r->desc. */
void guest_wait(struct guest_result *r);

/* guest_start() then guest_wait(). Returns 0 when the child ran. */
int guest_run(const struct guest_opts *o, struct guest_result *r);

/* What every guest test does: skips without /dev/kvm, runs `o` and asserts
 * that minnow ran, finished within the timeout, was not killed and that the
 * guest printed at least one "minnow-test: " line. */
void guest_run_ok(const struct guest_opts *o, struct guest_result *r);

/* Asserts the same of a run started with guest_start() and ended with
 * guest_wait(). */
void guest_assert_ran(struct guest_result *r);

/* The run, the outcome and the output, for assertion messages; after the
 * first call for a run only the outcome (the output was printed above).
 * Names the random-data seed when one was used. Static buffer. */
const char *guest_ctx(struct guest_result *r);

void guest_result_free(struct guest_result *r);

/* The text after "minnow-test: " + prefix on the first output line that
 * starts so, up to the end of that line (without '\r'), copied into buf
 * (NUL-terminated). Returns buf, or NULL when no line matches. */
char *guest_line(const char *out, const char *prefix, char *buf, size_t len);

/* Whether a "minnow-test: " + prefix line is there. */
bool guest_has_line(const struct guest_result *r, const char *prefix);

/* How many output lines start with "minnow-test: " + prefix. */
unsigned guest_count_lines(const char *out, const char *prefix);

/* The value of "key" in the --timings=json object on stderr, without
 * quotes (e.g. "signal", "1234", "null"), copied into buf. Returns buf or
 * NULL when there is no such key. */
char *guest_json(const char *err, const char *key, char *buf, size_t len);

/* Milliseconds on the monotonic clock (the clock of guest_result.t0). */
double harness_now_ms(void);

/* $TMPDIR, default /tmp. */
const char *harness_tmpdir(void);

/* A new file DIR/minnow-TAG-XXXXXX (DIR NULL: $TMPDIR): its fd
 * (O_CLOEXEC), its path in path; -1 with errno. */
int harness_mkstemp(const char *dir, const char *tag, char *path, size_t len);

/* A new directory $TMPDIR/minnow-TAG-XXXXXX; 0 or -1. */
int harness_mkdtemp(const char *tag, char *path, size_t len);

/* The seed of this test's random data: $MINNOW_TEST_SEED when set, else
 * from the clock; logged (cr_log_info) and named in guest_ctx() once used. */
uint64_t harness_seed(void);

/* Fills p with the next n bytes of this test's random stream. */
void harness_random(uint8_t *p, size_t n);

/* A new temporary file (in DIR, NULL: $TMPDIR) of `len` random bytes; the
 * path in path, the bytes in *data (malloc'd) when data is not NULL.
 * Asserts on failure. */
void harness_temp_file(const char *dir, const char *tag, size_t len, char *path, size_t path_len,
		       uint8_t **data);

/* The whole file, malloc'd with a NUL after it, length in *len (len may be
 * NULL); NULL when it cannot be read. */
uint8_t *harness_read_file(const char *path, size_t *len);

/* Opens a pseudo-terminal pair; 0 or -1 (errno). */
int harness_pty_open(struct harness_pty *p);
void harness_pty_close(struct harness_pty *p);

/* Some process other than this one with an fd open on `path` (compared
 * with the /proc/PID/fd links): "pid N (comm) fd M" in buf; NULL if none. */
const char *harness_fd_holder(const char *path, char *buf, size_t len);

/* A directory where O_DIRECT works (tmpfs has none before Linux 6.6), for
 * cache = none: $TMPDIR, /var/tmp, /tmp, the first that takes an aligned
 * O_DIRECT write; NULL with the reasons in why. */
const char *harness_direct_dir(char *why, size_t len);

/* Deletes network interface `name` as `ip link del` does (RTM_DELLINK, in
 * this process's network namespace). Returns 0 or -errno. */
int harness_link_delete(const char *name);

/* Reads a line from `fd` into buf (without the newline, NUL-terminated),
 * waiting at most timeout_ms in all. False at EOF, on an error, on timeout
 * or when the line does not fit (buf then holds what came). */
bool harness_read_line(int fd, char *buf, size_t len, unsigned timeout_ms);

/* A connected Unix stream socket to `path`, or -1 with errno. */
int harness_connect_unix(const char *path);

/* FNV-1a, 32 bits, as the firmware computes it. */
uint32_t harness_fnv1a(const uint8_t *p, size_t n);

#endif
