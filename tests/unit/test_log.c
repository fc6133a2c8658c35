/* test_log.c - log lines never hold up the thread that logs: a stderr
 * nobody reads costs one bounded wait, then lines are dropped and counted
 * until it takes bytes again. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "test_util.h"

Test(log, stuck_stderr_costs_one_bounded_wait)
{
	int p[2];
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	cr_assert_eq(fcntl(p[1], F_SETFL, O_NONBLOCK), 0);
	char chunk[4096];
	memset(chunk, 'f', sizeof(chunk));
	while (write(p[1], chunk, sizeof(chunk)) > 0)
		;
	cr_assert_eq(fcntl(p[1], F_SETFL, 0), 0); /* blocking, as a shell leaves it */
	int saved = dup(STDERR_FILENO);
	cr_assert_eq(dup2(p[1], STDERR_FILENO), STDERR_FILENO);

	uint64_t t0 = now_ms();
	for (int i = 0; i < 100; i++)
		log_error("line %d", i);
	uint64_t ms = now_ms() - t0;

	/* The reader catches up: the next line says what was lost. */
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	char buf[65536];
	while (read(p[0], buf, sizeof(buf)) > 0)
		;
	log_error("after");
	ssize_t n = read(p[0], buf, sizeof(buf) - 1);
	dup2(saved, STDERR_FILENO);
	cr_expect_lt(ms, LOG_STALL_MS + 500, "100 lines took %llu ms", (unsigned long long)ms);
	cr_assert_gt(n, 0);
	buf[n] = '\0';
	cr_expect_str_eq(buf, "minnow: (100 log lines dropped)\nminnow: after\n");
}
