/* serve_queue.c - the budgeted pop / serve / push / notify loop shared by the
 * virtio devices. */
#include "serve_queue.h"

#include <errno.h>
#include <string.h>

enum batch_end { QUEUE_EMPTY, BUDGET_SPENT, BAD_RING, BAD_CHAIN, DEFERRED };

static void fail_pop(struct virtio_mmio *t, const struct queue_server *s, int err)
{
	if (err == -E2BIG && s->too_long)
		virtio_mmio_fail(t, "%s: %s", s->queue_name, s->too_long);
	else
		virtio_mmio_fail(t, "%s: %s", s->queue_name, strerror(-err));
}

static bool budget_left(const struct queue_server *s, unsigned chains, uint64_t bytes)
{
	return chains < s->max_chains && (s->max_bytes == 0 || bytes < s->max_bytes);
}

/* Serves chains until the queue is empty, the budget is spent or the guest
 * erred, or the device deferred a chain (DEFERRED): BAD_RING with virtq_pop()'s error in *pop_err
 * (the device is not failed yet), or BAD_CHAIN (s->serve() failed it). *served counts the chains
 * pushed. */
static enum batch_end serve_batch(struct virtio_mmio *t, const struct queue_server *s,
				  unsigned *served, int *pop_err)
{
	struct virtq *vq = virtio_mmio_queue(t, s->queue);
	struct virtq_chain chain;
	uint64_t bytes = 0;
	virtq_chain_init(&chain, s->segs, s->seg_cap);
	for (unsigned chains = 0; budget_left(s, chains, bytes); chains++) {
		int r = virtq_pop(vq, &chain);
		if (r == 0)
			return QUEUE_EMPTY;
		if (r < 0) {
			*pop_err = r;
			return BAD_RING;
		}
		uint32_t used_len = 0;
		int served_now = s->serve(s->opaque, t, &chain, &used_len);
		if (served_now < 0)
			return BAD_CHAIN;
		if (served_now > 0) {
			virtq_unpop(vq); /* first in line when the device resumes */
			return DEFERRED;
		}
		(void)virtq_push(vq, chain.head, used_len);
		(*served)++;
		bytes += chain.readable_bytes + chain.writable_bytes;
	}
	return BUDGET_SPENT;
}

unsigned serve_queue(struct virtio_mmio *t, const struct queue_server *s)
{
	if (!virtio_mmio_queue(t, s->queue))
		return 0;
	unsigned served = 0;
	enum batch_end end;
	int pop_err = 0;
	do {
		unsigned before = served;
		end = serve_batch(t, s, &served, &pop_err);
		if (served > before)
			virtio_mmio_notify_used(t, s->queue);
	} while (end == BUDGET_SPENT && !virtio_mmio_requeue(t, s->queue));
	if (end == BAD_RING)
		fail_pop(t, s, pop_err);
	return served;
}
