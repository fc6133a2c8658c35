/* timing.h - boot-phase timestamps, in microseconds since minnow started. */
#ifndef MINNOW_TIMING_H
#define MINNOW_TIMING_H

#include <stdint.h>
#include <stdio.h>

/* The phases, in the order they happen. */
enum timing_phase {
	T_CONFIG_PARSED,
	T_VM_CREATED,
	T_MEMORY_READY,
	T_KERNEL_LOADED,
	T_FIRST_RUN,
	T_BOOT_COMPLETE,
	T_VM_END,
	T_COUNT
};

/* Records time zero. Called first thing in main(). */
void timing_start(void);

/* Microseconds since timing_start(). Thread-safe. */
uint64_t timing_now_us(void);

/* Records `phase` now, only the first time it is reached. Thread-safe. */
void timing_mark(enum timing_phase phase);

/* The recorded time of `phase`, or UINT64_MAX when it was never reached. */
uint64_t timing_get(enum timing_phase phase);

/* The phase's key, e.g. "boot_complete_us". */
const char *timing_name(enum timing_phase phase);

/* Prints the phases as aligned text lines, or as one JSON object (with the
 * exit status and reason added) when json is non-zero. Unreached phases are
 * "-" in text and null in JSON. */
void timing_print(FILE *out, int json, int exit_status, const char *exit_reason);

#endif
