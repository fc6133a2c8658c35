/* rate_limiter.c - token buckets (see rate_limiter.h). Refill arithmetic
 * is exact: the fraction of a token not yet whole is carried in `nano`
 * (units of 1e-9 token), so no time is lost between calls. */
#include "rate_limiter.h"

#include <time.h>

#define NS_PER_S 1000000000ULL

void token_bucket_init(struct token_bucket *b, uint64_t rate, uint64_t burst, uint64_t now_ns)
{
	uint64_t cap =
	    rate / 1000 * RATE_LIMITER_BUCKET_MS + rate % 1000 * RATE_LIMITER_BUCKET_MS / 1000;
	*b = (struct token_bucket){
	    .rate = rate,
	    .capacity = cap ? cap : 1,
	    .burst = rate ? burst : 0,
	    .last_ns = now_ns,
	};
	if (b->capacity > INT64_MAX)
		b->capacity = INT64_MAX;
	b->tokens = (int64_t)b->capacity;
}

bool token_bucket_limited(const struct token_bucket *b)
{
	return b->rate != 0;
}

static void refill(struct token_bucket *b, uint64_t now_ns)
{
	if (now_ns <= b->last_ns)
		return;
	uint64_t elapsed = now_ns - b->last_ns;
	b->last_ns = now_ns;
	if (b->tokens >= (int64_t)b->capacity) {
		b->nano = 0;
		return;
	}
	unsigned __int128 nano = (unsigned __int128)elapsed * b->rate + b->nano;
	unsigned __int128 whole = nano / NS_PER_S;
	uint64_t room = (uint64_t)((int64_t)b->capacity - b->tokens);
	if (whole >= room) {
		b->tokens = (int64_t)b->capacity;
		b->nano = 0;
	} else {
		b->tokens += (int64_t)whole;
		b->nano = (uint64_t)(nano % NS_PER_S);
	}
}

/* Tokens a request of n must find: never more than a full bucket. */
static uint64_t needed(const struct token_bucket *b, uint64_t n)
{
	return n < b->capacity ? n : b->capacity;
}

static bool available(const struct token_bucket *b, uint64_t n)
{
	__int128 have = (__int128)b->tokens + b->burst;
	return have >= (__int128)needed(b, n);
}

static void consume(struct token_bucket *b, uint64_t n)
{
	uint64_t from_burst = n < b->burst ? n : b->burst;
	b->burst -= from_burst;
	n -= from_burst;
	/* Debt is bounded by one oversized request (n - capacity), and a
	 * request is at most a few GiB; clamp anyway so it cannot wrap. */
	__int128 t = (__int128)b->tokens - n;
	b->tokens = t < -(__int128)INT64_MAX ? -INT64_MAX : (int64_t)t;
}

bool token_bucket_take(struct token_bucket *b, uint64_t n, uint64_t now_ns)
{
	if (!b->rate)
		return true;
	refill(b, now_ns);
	if (!available(b, n))
		return false;
	consume(b, n);
	return true;
}

uint64_t token_bucket_wait_ns(struct token_bucket *b, uint64_t n, uint64_t now_ns)
{
	if (!b->rate)
		return 0;
	refill(b, now_ns);
	if (available(b, n))
		return 0;
	__int128 missing = (__int128)needed(b, n) - b->tokens - b->burst; /* > 0 */
	unsigned __int128 nano = (unsigned __int128)missing * NS_PER_S - b->nano;
	unsigned __int128 ns = (nano + b->rate - 1) / b->rate;
	return ns > UINT64_MAX ? UINT64_MAX : (uint64_t)ns;
}

void rate_limiter_init(struct rate_limiter *rl, uint64_t bytes_per_s, uint64_t bytes_burst,
		       uint64_t ops_per_s, uint64_t ops_burst, uint64_t now_ns)
{
	token_bucket_init(&rl->bytes, bytes_per_s, bytes_burst, now_ns);
	token_bucket_init(&rl->ops, ops_per_s, ops_burst, now_ns);
}

bool rate_limiter_limited(const struct rate_limiter *rl)
{
	return token_bucket_limited(&rl->bytes) || token_bucket_limited(&rl->ops);
}

bool rate_limiter_take(struct rate_limiter *rl, uint64_t bytes, uint64_t ops, uint64_t now_ns)
{
	if (rl->bytes.rate)
		refill(&rl->bytes, now_ns);
	if (rl->ops.rate)
		refill(&rl->ops, now_ns);
	if ((rl->bytes.rate && !available(&rl->bytes, bytes)) ||
	    (rl->ops.rate && !available(&rl->ops, ops)))
		return false;
	if (rl->bytes.rate)
		consume(&rl->bytes, bytes);
	if (rl->ops.rate)
		consume(&rl->ops, ops);
	return true;
}

uint64_t rate_limiter_wait_ns(struct rate_limiter *rl, uint64_t bytes, uint64_t ops,
			      uint64_t now_ns)
{
	uint64_t a = token_bucket_wait_ns(&rl->bytes, bytes, now_ns);
	uint64_t b = token_bucket_wait_ns(&rl->ops, ops, now_ns);
	return a > b ? a : b;
}

uint64_t rate_limiter_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}
