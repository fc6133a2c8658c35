/* push_log.h - every virtq_push() a device makes, recorded as it happens (the harness links
 * with -Wl,--wrap=virtq_push), so that checks do not read used rings back from guest RAM,
 * where a hostile guest may have put them under its own buffers. */
#ifndef MINNOW_PUSH_LOG_H
#define MINNOW_PUSH_LOG_H

#include <stdint.h>

#include "virtqueue.h"

#define PUSH_LOG_MAX 4096

/* One push: the queue, the head descriptor, the used length, and when the head was one
 * plain device-writable descriptor clear of the descriptor table, the first bytes of its
 * buffer at that moment (`seen` of them). */
struct push_entry {
	const struct virtq *vq;
	uint16_t head;
	uint32_t len;
	uint32_t seen;
	uint8_t bytes[64];
};

struct push_log {
	unsigned n;
	unsigned lost; /* pushes past PUSH_LOG_MAX */
	struct push_entry e[PUSH_LOG_MAX];
};

/* The pushes since the last push_log_clear(). */
extern struct push_log push_log;

/* Forgets the pushes recorded so far. */
void push_log_clear(void);

/* The wrapper itself: records, then pushes. */
int __wrap_virtq_push(struct virtq *vq, uint16_t head, uint32_t len);

#endif
