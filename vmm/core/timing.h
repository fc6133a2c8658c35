/* timing.h - boot-phase timestamps, in microseconds since minnow started. */
#ifndef MINNOW_TIMING_H
#define MINNOW_TIMING_H

#include <stdint.h>
#include <stdio.h>

#include "exit_table.h"

/* The phases, in the order they happen. */
enum timing_phase {
	T_CONFIG_PARSED,
	T_STATE_READ, /* a restore: the snapshot's state file read and checked */
	T_VM_CREATED,
	T_MEMORY_READY,	       /* a restore: the memory file mapped */
	T_KERNEL_LOADED,       /* a cold boot only */
	T_VCPU_STATE_RESTORED, /* a restore: every vCPU's registers and the clock set */
	T_DEVICES_RESTORED,    /* a restore: devices in their saved state */
	T_FIRST_RUN,
	T_BOOT_COMPLETE,
	T_VM_END,
	T_TORN_DOWN, /* every thread joined, devices and guest RAM freed */
	T_COUNT
};

/* Records time zero. Called first thing in main(). */
void timing_start(void);

/* Microseconds since timing_start(). Thread-safe. */
uint64_t timing_now_us(void);

/* Milliseconds on the monotonic clock (not since timing_start(): for
 * deadlines and rate limits). Thread-safe. */
uint64_t monotonic_ms(void);

/* Records `phase` now, only the first time it is reached. Thread-safe. */
void timing_mark(enum timing_phase phase);

/* The recorded time of `phase`, or UINT64_MAX when it was never reached. */
uint64_t timing_get(enum timing_phase phase);

/* The phase's key, e.g. "boot_complete_us". */
const char *timing_name(enum timing_phase phase);

/* The guest reached mark `n` (1 .. CONTROL_MARKS - 1, platform.h): records
 * now, only the first time. Thread-safe; other n are ignored. */
void timing_guest_mark(unsigned n);

/* When the guest reached mark n, or UINT64_MAX. */
uint64_t timing_get_guest_mark(unsigned n);

/* Prints the phases and the guest's marks as JSON members, each followed
 * by a comma ("config_parsed_us":N,...,"guest_init_us":null,), the way
 * timing_print() begins its object. */
void timing_print_phases_json(FILE *out);

/* What is reported with the timings at the end of a run. */
struct run_report {
	int exit_status;
	const char *exit_reason;	     /* vm_end_reason_name(), or "startup_failed" */
	uint64_t peak_rss_kib;		     /* of the whole minnow process */
	uint64_t guest_touched_kib;	     /* guest RAM resident at the end */
	uint64_t pio_exits;		     /* port I/O exits answered and dropped */
	uint64_t mmio_unclaimed;	     /* MMIO accesses to no device */
	uint64_t exits;			     /* KVM_RUN returns to userspace, all reasons */
	uint64_t mmio_exits;		     /* of which MMIO */
	uint64_t virtio_user_kicks;	     /* queue notifications that reached userspace */
	uint64_t virtio_interrupts;	     /* interrupts raised by virtio devices */
	unsigned n_vcpus;		     /* entries of vcpu_us */
	uint64_t (*vcpu_us)[3];		     /* per vCPU: thread started, first exit, ended */
	const struct exit_table *exit_table; /* NULL: none */
};

/* Prints the phases and the report as aligned text lines, or as one JSON
 * object when json is non-zero (with the exit table's members when
 * rep->exit_table is set, and ending with "vcpu_us":[[started, first
 * exit, ended], ...] when rep->vcpu_us is set). Unreached phases are "-" in text and null
 * in JSON. The guest's marks follow the phases: "guest_init_us" and
 * "guest_command_us" always, "guest_mark_N_us" for other marks reached. */
void timing_print(FILE *out, int json, const struct run_report *rep);

#endif
