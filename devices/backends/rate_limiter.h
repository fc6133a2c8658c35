/* rate_limiter.h - token buckets for device I/O, Firecracker's model: a
 * bucket per resource (bytes, operations) refilled continuously at `rate`
 * tokens per second up to a capacity of RATE_LIMITER_BUCKET_MS worth of
 * tokens, plus an optional one-time burst that is spent first and never
 * refilled. Pure logic: every function takes the time (nanoseconds on
 * any monotonic clock) from its caller, so tests drive the clock.
 *
 * A request larger than the capacity is not refused forever: it goes
 * through once the bucket holds `capacity` tokens and leaves the bucket
 * in debt (negative), which later refills pay back; the long-run rate is
 * therefore exactly `rate`. */
#ifndef MINNOW_RATE_LIMITER_H
#define MINNOW_RATE_LIMITER_H

#include <stdbool.h>
#include <stdint.h>

#define RATE_LIMITER_BUCKET_MS 100 /* bucket capacity: this much time at `rate` */

struct token_bucket {
	uint64_t rate;	   /* tokens per second; 0 = unlimited */
	uint64_t capacity; /* max(rate * RATE_LIMITER_BUCKET_MS / 1000, 1) */
	int64_t tokens;	   /* may be negative (debt after an oversized request) */
	uint64_t burst;	   /* one-time tokens left, spent before `tokens` */
	uint64_t nano;	   /* fraction of a token accrued: tokens * 1e9 units */
	uint64_t last_ns;  /* time of the last refill */
};

/* Two buckets that a request must both pass. */
struct rate_limiter {
	struct token_bucket bytes, ops;
};

/* A bucket at `now_ns`, full, with `burst` one-time tokens. rate 0 makes
 * an unlimited bucket (burst ignored). */
void token_bucket_init(struct token_bucket *b, uint64_t rate, uint64_t burst, uint64_t now_ns);

/* Whether the bucket limits anything (rate > 0). */
bool token_bucket_limited(const struct token_bucket *b);

/* Refills for the time since the last call (time going backwards counts
 * as none), then takes `n` tokens if min(n, capacity) are available
 * (burst first, then the bucket, which may go negative). Returns whether
 * it took them; on false nothing is taken. Unlimited: always true. */
bool token_bucket_take(struct token_bucket *b, uint64_t n, uint64_t now_ns);

/* Nanoseconds from now_ns until token_bucket_take(b, n, ...) would
 * succeed, assuming nothing else takes tokens: 0 when it would now. */
uint64_t token_bucket_wait_ns(struct token_bucket *b, uint64_t n, uint64_t now_ns);

/* Both buckets of a limiter (rate 0 = unlimited, as above). */
void rate_limiter_init(struct rate_limiter *rl, uint64_t bytes_per_s, uint64_t bytes_burst,
		       uint64_t ops_per_s, uint64_t ops_burst, uint64_t now_ns);

/* Whether either bucket limits anything. */
bool rate_limiter_limited(const struct rate_limiter *rl);

/* Takes `bytes` and `ops` tokens, both or neither. Returns whether taken. */
bool rate_limiter_take(struct rate_limiter *rl, uint64_t bytes, uint64_t ops, uint64_t now_ns);

/* Nanoseconds until rate_limiter_take(rl, bytes, ops, ...) would succeed
 * (the longer of the two buckets' waits); 0 when it would now. */
uint64_t rate_limiter_wait_ns(struct rate_limiter *rl, uint64_t bytes, uint64_t ops,
			      uint64_t now_ns);

/* CLOCK_MONOTONIC in nanoseconds: the clock devices pass. */
uint64_t rate_limiter_now_ns(void);

#endif
