/* metrics.h - a running VM's counters as one JSON object: what the control
 * socket's "metrics" request returns and [vm] metrics_file records. Times
 * are microseconds since minnow started (timing.h), now_us included. */
#ifndef MINNOW_METRICS_H
#define MINNOW_METRICS_H

#include <stdio.h>

#include "exit_table.h"
#include "vm.h"

/* Sums the vCPUs' exits by kind and reads the bus's per-range counters
 * into `t`. Any thread; the counts are read while the vCPUs run. */
void metrics_exit_table(struct vm *vm, struct exit_table *t);

/* "running", "pausing" (asked, not every vCPU parked yet), "paused" or
 * "ended". */
const char *metrics_state(struct vm *vm);

/* Writes the metrics object (one line of JSON, no newline):
 *   {"state":"running","boot":{phases and guest marks,"now_us":N},
 *    "exits":N,"pio_exits":N,"exit_kinds":{...},"mmio_ranges":[...],
 *    "vcpus":[{"id":0,"exit_kinds":{...}},...],
 *    "devices":[{"slot":0,"type":"virtio-blk","kicks":N,"user_kicks":N,
 *                "interrupts":N, ...the device's own counters},...]}
 * On the event loop's thread (it owns the device models) or with the loop
 * stopped. */
void metrics_print(FILE *out, struct vm *vm);

/* metrics_print() into a malloc'd string (the caller frees it), or NULL
 * when out of memory. */
char *metrics_json(struct vm *vm);

#endif
