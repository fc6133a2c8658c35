/* out_sink.h - where output goes (a guest console's: stdout, a file, a
 * socket; minnow's own log: stderr): bounded writes, one policy for the
 * UART, virtio-console and the log. */
#ifndef MINNOW_OUT_SINK_H
#define MINNOW_OUT_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OUT_SINK_STALL_MS 1000 /* longest wait for a blocked output per batch */

/* An output. Pipes, terminals and sockets are polled before each write of
 * at most PIPE_BUF bytes, regular files and block devices written at once.
 * A batch (out_sink_batch) may wait OUT_SINK_STALL_MS in all for the output
 * to take bytes; when that runs out the output is stalled: everything is
 * dropped without waiting until a write succeeds again (logged once). A
 * signal that interrupts the wait (a vCPU being kicked at the end of the
 * VM) drops the rest of the write at once. EPIPE means the reader went
 * away: on_gone (when set) is called once, and everything later is dropped;
 * other write errors drop the bytes. Stalls, EPIPE and errors are logged
 * once each, unless quiet. Not thread-safe:
 * the owning device serialises its calls. */
struct out_sink {
	int fd;		  /* -1: everything is dropped; never closed here */
	const char *name; /* for messages, e.g. "uart" */
	void (*on_gone)(void *opaque);
	void *opaque;
	bool quiet; /* says nothing of its own (the log's sink: no messages about itself) */
	/* private to out_sink.c */
	bool poll_first, stalled, stall_logged, error_logged, gone;
	unsigned wait_left_ms;
	unsigned idle_writes;
	uint64_t written, dropped;
};

/* Sets up `s` for fd (-1: none), named `name` in messages; on_gone unset,
 * not quiet. */
void out_sink_init(struct out_sink *s, int fd, const char *name);

/* Starts a batch: the output may be waited for OUT_SINK_STALL_MS again. */
void out_sink_batch(struct out_sink *s);

/* Writes [buf, buf + len) as the policy above allows; returns the bytes
 * written (the rest was dropped and counted). */
size_t out_sink_write(struct out_sink *s, const void *buf, size_t len);

/* Whether the output was stalled (the last batch gave up waiting). */
bool out_sink_stalled(const struct out_sink *s);

#endif
