/* test_rate_limiter.c - the token bucket on a clock the test drives:
 * refill, the one-time burst spent once, requests larger than the bucket,
 * the wait until enough tokens, and the two-bucket limiter. */
#include <criterion/criterion.h>

#include "rate_limiter.h"

#define MS 1000000ULL
#define S  1000000000ULL

Test(rate_limiter, unlimited_always_takes)
{
	struct token_bucket b;
	token_bucket_init(&b, 0, 123, 0);
	cr_assert_not(token_bucket_limited(&b));
	for (int i = 0; i < 1000; i++)
		cr_assert(token_bucket_take(&b, 1u << 30, 0));
	cr_assert_eq(token_bucket_wait_ns(&b, 1u << 30, 0), 0);
}

Test(rate_limiter, starts_full_then_refills_at_rate)
{
	struct token_bucket b;
	token_bucket_init(&b, 1000, 0, 5 * S); /* capacity 100 */
	cr_assert_eq(b.capacity, 100);
	cr_assert(token_bucket_take(&b, 100, 5 * S));
	cr_assert_not(token_bucket_take(&b, 1, 5 * S));
	cr_assert_eq(token_bucket_wait_ns(&b, 1, 5 * S), 1 * MS);
	cr_assert_eq(token_bucket_wait_ns(&b, 10, 5 * S), 10 * MS);
	/* 0.5 ms buys half a token: not enough, but not lost either. */
	cr_assert_not(token_bucket_take(&b, 1, 5 * S + MS / 2));
	cr_assert_eq(token_bucket_wait_ns(&b, 1, 5 * S + MS / 2), MS / 2);
	cr_assert(token_bucket_take(&b, 1, 5 * S + MS));
	/* Long idle: the bucket holds at most its capacity. */
	cr_assert(token_bucket_take(&b, 100, 100 * S));
	cr_assert_not(token_bucket_take(&b, 1, 100 * S));
}

Test(rate_limiter, long_run_rate_is_exact)
{
	/* Take one token whenever allowed, stepping the clock by the wait:
	 * 10 s at 333/s after draining the initial bucket. */
	struct token_bucket b;
	token_bucket_init(&b, 333, 0, 0);
	uint64_t now = 0, taken = 0;
	while (token_bucket_take(&b, 1, now))
		;
	while (now < 10 * S) {
		now += token_bucket_wait_ns(&b, 1, now);
		cr_assert(token_bucket_take(&b, 1, now), "take after the wait at %llu",
			  (unsigned long long)now);
		taken++;
	}
	cr_assert(taken >= 3329 && taken <= 3331, "took %llu in 10 s at 333/s",
		  (unsigned long long)taken);
}

Test(rate_limiter, burst_is_spent_once)
{
	struct token_bucket b;
	token_bucket_init(&b, 1000, 500, 0); /* capacity 100 + burst 500 */
	cr_assert(token_bucket_take(&b, 600, 0));
	cr_assert_not(token_bucket_take(&b, 1, 0));
	/* After a long idle only the bucket is back, never the burst. */
	cr_assert(token_bucket_take(&b, 100, 50 * S));
	cr_assert_not(token_bucket_take(&b, 1, 50 * S));
	cr_assert_eq(b.burst, 0);
}

Test(rate_limiter, burst_spent_before_bucket)
{
	struct token_bucket b;
	token_bucket_init(&b, 1000, 30, 0);
	cr_assert(token_bucket_take(&b, 20, 0));
	cr_assert_eq(b.burst, 10);
	cr_assert_eq(b.tokens, 100);
}

Test(rate_limiter, request_larger_than_bucket_goes_into_debt)
{
	struct token_bucket b;
	token_bucket_init(&b, 1000, 0, 0); /* capacity 100 */
	cr_assert(token_bucket_take(&b, 250, 0), "a full bucket lets an oversized request pass");
	cr_assert_eq(b.tokens, -150);
	/* The debt is paid back at the rate: 150 ms to zero, 151 ms for 1. */
	cr_assert_eq(token_bucket_wait_ns(&b, 1, 0), 151 * MS);
	/* The next oversized request waits for a full bucket (250 ms). */
	cr_assert_eq(token_bucket_wait_ns(&b, 250, 0), 250 * MS);
	cr_assert_not(token_bucket_take(&b, 250, 249 * MS));
	cr_assert(token_bucket_take(&b, 250, 250 * MS));
}

Test(rate_limiter, clock_going_backwards_adds_nothing)
{
	struct token_bucket b;
	token_bucket_init(&b, 1000, 0, 10 * S);
	cr_assert(token_bucket_take(&b, 100, 10 * S));
	cr_assert_not(token_bucket_take(&b, 1, 9 * S));
	cr_assert_eq(b.tokens, 0);
}

Test(rate_limiter, huge_rate_no_overflow)
{
	struct token_bucket b;
	token_bucket_init(&b, UINT64_MAX, 0, 0);
	cr_assert(token_bucket_take(&b, UINT64_MAX / 2, 0));
	cr_assert(token_bucket_wait_ns(&b, 1, 0) <= S);
}

Test(rate_limiter, limiter_takes_both_or_neither)
{
	struct rate_limiter rl;
	rate_limiter_init(&rl, 10000, 0, 100, 0, 0); /* 1000 bytes, 10 ops */
	cr_assert(rate_limiter_limited(&rl));
	cr_assert(rate_limiter_take(&rl, 900, 1, 0));
	cr_assert_not(rate_limiter_take(&rl, 200, 1, 0), "bytes short");
	cr_assert_eq(rl.ops.tokens, 9, "a refused request takes no ops");
	cr_assert_eq(token_bucket_wait_ns(&rl.bytes, 200, 0), 10 * MS);
	cr_assert_eq(rate_limiter_wait_ns(&rl, 200, 1, 0), 10 * MS);
	cr_assert(rate_limiter_take(&rl, 100, 9, 0));
	cr_assert_eq(rate_limiter_wait_ns(&rl, 1, 1, 0), 10 * MS, "ops now the longer wait");
	struct rate_limiter none;
	rate_limiter_init(&none, 0, 0, 0, 0, 0);
	cr_assert_not(rate_limiter_limited(&none));
	cr_assert(rate_limiter_take(&none, UINT64_MAX, UINT64_MAX, 0));
}
