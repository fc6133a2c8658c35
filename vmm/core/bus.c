/* bus.c - MMIO range table with overlap and wrap-around rejection. */
#include "bus.h"

#include <errno.h>
#include <string.h>

void bus_init(struct bus *bus)
{
	memset(bus, 0, sizeof(*bus));
}

int bus_register(struct bus *bus, uint64_t base, uint64_t size, const struct mmio_ops *ops,
		 void *opaque, const char *name)
{
	if (size == 0 || base + size < base || base + size == 0)
		return -EINVAL;
	if (bus->count == BUS_MAX_RANGES)
		return -ENOSPC;
	size_t i = 0;
	while (i < bus->count && bus->ranges[i].base < base)
		i++;
	if (i > 0) {
		const struct bus_range *prev = &bus->ranges[i - 1];
		if (prev->base + prev->size > base)
			return -EEXIST;
	}
	if (i < bus->count && base + size > bus->ranges[i].base)
		return -EEXIST;
	/* Before any access: the counters of the ranges moved are still 0. */
	memmove(&bus->ranges[i + 1], &bus->ranges[i], (bus->count - i) * sizeof(bus->ranges[0]));
	bus->ranges[i] = (struct bus_range){base, size, ops, opaque, name};
	bus->count++;
	return 0;
}

const struct bus_range *bus_find(const struct bus *bus, uint64_t addr, unsigned len)
{
	size_t lo = 0, hi = bus->count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct bus_range *r = &bus->ranges[mid];
		if (addr < r->base) {
			hi = mid;
		} else if (addr - r->base >= r->size) {
			lo = mid + 1;
		} else {
			if (len > r->size - (addr - r->base))
				return NULL;
			return r;
		}
	}
	return NULL;
}

int bus_read(struct bus *bus, uint64_t addr, void *data, unsigned len)
{
	const struct bus_range *r = bus_find(bus, addr, len);
	if (r)
		atomic_fetch_add_explicit(&bus->reads[r - bus->ranges], 1, memory_order_relaxed);
	if (!r || !r->ops->read) {
		memset(data, 0xff, len);
		return r ? 0 : -1;
	}
	r->ops->read(r->opaque, addr - r->base, data, len);
	return 0;
}

static int write_counted(struct bus *bus, _Atomic uint64_t *counts, uint64_t addr, const void *data,
			 unsigned len)
{
	const struct bus_range *r = bus_find(bus, addr, len);
	if (!r)
		return -1;
	atomic_fetch_add_explicit(&counts[r - bus->ranges], 1, memory_order_relaxed);
	if (r->ops->write)
		r->ops->write(r->opaque, addr - r->base, data, len);
	return 0;
}

int bus_write(struct bus *bus, uint64_t addr, const void *data, unsigned len)
{
	return write_counted(bus, bus->writes, addr, data, len);
}

int bus_write_coalesced(struct bus *bus, uint64_t addr, const void *data, unsigned len)
{
	return write_counted(bus, bus->coalesced, addr, data, len);
}

void bus_counts(const struct bus *bus, size_t i, uint64_t *reads, uint64_t *writes)
{
	*reads = atomic_load_explicit(&bus->reads[i], memory_order_relaxed);
	*writes = atomic_load_explicit(&bus->writes[i], memory_order_relaxed);
}

uint64_t bus_coalesced(const struct bus *bus, size_t i)
{
	return atomic_load_explicit(&bus->coalesced[i], memory_order_relaxed);
}
