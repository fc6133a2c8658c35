/* exit_table.h - where a VM's exits to userspace went: by kind (the KVM exit
 * reason) and, for MMIO, by device range, for the --timings report. */
#ifndef MINNOW_EXIT_TABLE_H
#define MINNOW_EXIT_TABLE_H

#include <stdint.h>
#include <stdio.h>

#include "bus.h"

/* The kinds of exit a vCPU counts (vcpu.h exit_kinds). */
enum exit_kind {
	EXIT_KIND_MMIO,	 /* KVM_EXIT_MMIO: a device register, or an empty address */
	EXIT_KIND_PIO,	 /* KVM_EXIT_IO: port I/O, answered and dropped */
	EXIT_KIND_EOI,	 /* KVM_EXIT_IOAPIC_EOI: a level-triggered line's EOI */
	EXIT_KIND_INTR,	 /* KVM_EXIT_INTR: a signal (a kick) interrupted KVM_RUN */
	EXIT_KIND_HLT,	 /* KVM_EXIT_HLT */
	EXIT_KIND_OTHER, /* system events, shutdown, failures */
	EXIT_KIND_COUNT
};

/* One MMIO range of the bus and the accesses dispatched to it. */
struct exit_range {
	const char *name; /* the device ("uart", "virtio-blk", ...) */
	uint64_t base;
	uint64_t reads, writes;
	uint64_t coalesced; /* writes KVM queued in its ring: no exit (coalesced_mmio.h) */
};

struct exit_table {
	uint64_t kinds[EXIT_KIND_COUNT]; /* summed over the vCPUs */
	uint64_t unclaimed;		 /* MMIO exits no range held */
	size_t n_ranges;
	struct exit_range ranges[BUS_MAX_RANGES]; /* in address order */
};

/* The key of `kind` ("mmio", "pio", "ioapic_eoi", "intr", "hlt", "other"). */
const char *exit_kind_name(enum exit_kind kind);

/* Fills the ranges of `t` from the bus's counters (the kinds are the caller's). */
void exit_table_from_bus(struct exit_table *t, const struct bus *bus);

/* Prints `t`: as text, two lines ("  exits by kind: mmio N, ...", "  MMIO exits by
 * device: NAME@BASE R reads/W writes (+C coalesced), ..., unclaimed N"; ranges never
 * accessed are left out, and "(+C coalesced)" when C is 0); as JSON, the members
 * "exit_kinds":{...},"mmio_ranges":[{"name":...,"base":N,"reads":N,"writes":N,
 * "coalesced":N},...] (every range), with no surrounding braces and no leading or
 * trailing comma. */
void exit_table_print(FILE *out, int json, const struct exit_table *t);

#endif
