/* bus.h - the MMIO bus: non-overlapping address ranges, each owned by a
 * device that answers reads and writes. */
#ifndef MINNOW_BUS_H
#define MINNOW_BUS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* A device's MMIO handlers. `offset` is relative to the range's base; `len`
 * is the access size (1, 2, 4 or 8); `data` holds `len` bytes in guest
 * (little-endian) order. Handlers run on vCPU threads and must never trust
 * offset/len beyond what the bus guarantees: offset + len <= range size. */
struct mmio_ops {
	void (*read)(void *opaque, uint64_t offset, void *data, unsigned len);
	void (*write)(void *opaque, uint64_t offset, const void *data, unsigned len);
};

#define BUS_MAX_RANGES 64

struct bus_range {
	uint64_t base;
	uint64_t size;
	const struct mmio_ops *ops;
	void *opaque;
	const char *name;
};

/* Ranges sorted by base. Registration happens before vCPUs run; lookups
 * afterwards are lock-free reads of an immutable table. Next to it, the
 * accesses dispatched to each range (each one a vCPU exit), counted by any
 * thread and read with bus_counts(). */
struct bus {
	struct bus_range ranges[BUS_MAX_RANGES];
	size_t count;
	_Atomic uint64_t reads[BUS_MAX_RANGES], writes[BUS_MAX_RANGES];
	_Atomic uint64_t coalesced[BUS_MAX_RANGES]; /* writes replayed from KVM's ring */
};

/* Empties the bus. */
void bus_init(struct bus *bus);

/* Adds [base, base + size). Returns 0, -EINVAL for size 0 or a range that
 * wraps past 2^64, -EEXIST when it overlaps a registered range, -ENOSPC when
 * the table is full. */
int bus_register(struct bus *bus, uint64_t base, uint64_t size, const struct mmio_ops *ops,
		 void *opaque, const char *name);

/* Finds the range holding all of [addr, addr + len), or NULL. */
const struct bus_range *bus_find(const struct bus *bus, uint64_t addr, unsigned len);

/* Dispatches an access and counts it against its range. Returns 0, or -1
 * when no range holds it (reads then see all-ones bytes; nothing counted). */
int bus_read(struct bus *bus, uint64_t addr, void *data, unsigned len);
int bus_write(struct bus *bus, uint64_t addr, const void *data, unsigned len);

/* Dispatches a write that KVM queued in its coalesced MMIO ring instead of
 * exiting (coalesced_mmio.h): as bus_write(), counted apart from exits. */
int bus_write_coalesced(struct bus *bus, uint64_t addr, const void *data, unsigned len);

/* The reads and writes dispatched so far to ranges[i] (i < count), and of
 * those writes, how many came from KVM's coalesced ring (no exit). */
void bus_counts(const struct bus *bus, size_t i, uint64_t *reads, uint64_t *writes);
uint64_t bus_coalesced(const struct bus *bus, size_t i);

#endif
