/* test_out_sink.c - the console output policy: a reader that never reads
 * costs one bounded wait (blocking or not), then output is dropped until
 * it reads again; EPIPE calls on_gone once; a signal cuts a wait short;
 * files are written as they are. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "out_sink.h"
#include "test_util.h"

static int fds[2];

/* A pipe whose write end is full; the reader (fds[0]) has not read. */
static void full_pipe(bool nonblocking)
{
	cr_assert_eq(pipe2(fds, O_CLOEXEC), 0);
	cr_assert_eq(fcntl(fds[1], F_SETFL, O_NONBLOCK), 0);
	char chunk[4096];
	memset(chunk, 'f', sizeof(chunk));
	while (write(fds[1], chunk, sizeof(chunk)) > 0)
		;
	if (!nonblocking)
		cr_assert_eq(fcntl(fds[1], F_SETFL, 0), 0);
}

static void drain(void)
{
	char buf[65536];
	fcntl(fds[0], F_SETFL, O_NONBLOCK);
	while (read(fds[0], buf, sizeof(buf)) > 0)
		;
}

struct full_case {
	const char *name;
	bool nonblocking;
};

static const struct full_case full_cases[] = {
    {"blocking pipe (stdout as a shell makes it)", false},
    {"non-blocking pipe", true},
};

TABLE_TEST(out_sink, reader_that_never_reads_costs_one_bounded_wait, full_cases, c)
{
	full_pipe(c->nonblocking);
	struct out_sink s;
	out_sink_init(&s, fds[1], "test");
	uint64_t t0 = now_ms();
	for (int i = 0; i < 1000; i++) {
		out_sink_batch(&s);
		cr_assert_eq(out_sink_write(&s, "x", 1), 0, "%s: byte %d was written", c->name, i);
	}
	uint64_t ms = now_ms() - t0;
	cr_expect_geq(ms, OUT_SINK_STALL_MS - 50, "%s: gave up after %llu ms", c->name,
		      (unsigned long long)ms);
	cr_expect_lt(ms, OUT_SINK_STALL_MS + 500, "%s: 1000 bytes took %llu ms", c->name,
		     (unsigned long long)ms);
	cr_expect(out_sink_stalled(&s), "%s", c->name);
	cr_expect_eq(s.dropped, 1000, "%s", c->name);

	/* The reader catches up: output flows again. */
	drain();
	out_sink_batch(&s);
	cr_expect_eq(out_sink_write(&s, "yz", 2), 2, "%s", c->name);
	cr_expect(!out_sink_stalled(&s), "%s", c->name);
	char buf[4];
	cr_expect_eq(read(fds[0], buf, sizeof(buf)), 2, "%s", c->name);
	cr_expect_eq(memcmp(buf, "yz", 2), 0, "%s", c->name);
}

static int gone_calls;
static void on_gone(void *opaque)
{
	(void)opaque;
	gone_calls++;
}

Test(out_sink, reader_gone_calls_on_gone_once)
{
	signal(SIGPIPE, SIG_IGN); /* as minnow's main() does */
	cr_assert_eq(pipe2(fds, O_CLOEXEC), 0);
	close(fds[0]);
	struct out_sink s;
	out_sink_init(&s, fds[1], "test");
	s.on_gone = on_gone;
	for (int i = 0; i < 3; i++) {
		out_sink_batch(&s);
		cr_expect_eq(out_sink_write(&s, "abc", 3), 0);
	}
	cr_expect_eq(gone_calls, 1, "on_gone ran %d times", gone_calls);
	cr_expect_eq(s.dropped, 9);
}

static void on_kick(int sig)
{
	(void)sig;
}

struct writer {
	struct out_sink *s;
	size_t wrote;
	uint64_t ms;
};

static void *writer_thread(void *p)
{
	struct writer *w = p;
	uint64_t t0 = now_ms();
	out_sink_batch(w->s);
	w->wrote = out_sink_write(w->s, "x", 1);
	w->ms = now_ms() - t0;
	return NULL;
}

Test(out_sink, a_signal_cuts_the_wait_short)
{
	/* A vCPU kicked at the end of the VM must not sit out the stall wait. */
	struct sigaction sa = {.sa_handler = on_kick}; /* no SA_RESTART */
	cr_assert_eq(sigaction(SIGUSR1, &sa, NULL), 0);
	full_pipe(false);
	struct out_sink s;
	out_sink_init(&s, fds[1], "test");
	struct writer w = {.s = &s};
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, writer_thread, &w), 0);
	usleep(100 * 1000);
	pthread_kill(t, SIGUSR1);
	pthread_join(t, NULL);
	cr_expect_eq(w.wrote, 0);
	cr_expect_lt(w.ms, OUT_SINK_STALL_MS / 2, "the wait took %llu ms",
		     (unsigned long long)w.ms);
	cr_expect(!out_sink_stalled(&s), "an interrupted wait is not a stall");
}

Test(out_sink, file_and_none)
{
	char path[256];
	int fd = make_tmp_file(path, sizeof(path), NULL, "out-sink");
	unlink(path);
	struct out_sink s;
	out_sink_init(&s, fd, "test");
	cr_expect_eq(out_sink_write(&s, "hello", 5), 5);
	cr_expect_eq(lseek(fd, 0, SEEK_CUR), 5);
	close(fd);

	out_sink_init(&s, -1, "test");
	cr_expect_eq(out_sink_write(&s, "hello", 5), 0);
	cr_expect_eq(s.dropped, 5);
}
