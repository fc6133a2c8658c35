/* coalesced_mmio.h - KVM's coalesced MMIO ring: the guest's writes to a
 * registered zone (the UART's transmit register) do not exit; KVM queues them
 * in a page shared with minnow, and minnow replays them on the bus, in order,
 * before it handles any exit and from a short timer while the device is in
 * use. A zone holds only registers whose writes have no effect the guest can
 * see before its next exit (its next read of the device exits, and drains
 * the ring first).
 *
 * The zone is registered only once the guest has made a number of write
 * exits to it: a VM whose KVM I/O bus changed pays for it when it is
 * destroyed (about 14 ms on this project's test host), which a guest that
 * prints a line or two must not. */
#ifndef MINNOW_COALESCED_MMIO_H
#define MINNOW_COALESCED_MMIO_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "bus.h"

/* The flush timer's period: how long a queued write may wait for it after
 * the device's last exit; it stops after COALESCED_LINGER_TICKS periods in
 * which the device had no exit and the ring stayed empty. */
#define COALESCED_FLUSH_NS     5000000ull /* 5 ms */
#define COALESCED_LINGER_TICKS 40	  /* 200 ms */

struct coalesced_mmio {
	struct kvm_coalesced_mmio_ring *ring; /* NULL: not in use */
	size_t page;			      /* bytes mapped (one page) */
	uint32_t max;			      /* entries in the ring */
	pthread_mutex_t lock;		      /* one drainer at a time */
	int timer_fd;			      /* the flush timer, on the main loop */
	_Atomic bool armed;		      /* timer_fd is running */
	_Atomic uint64_t touches;	      /* the device's exits so far */
	uint64_t touches_seen;		      /* by the timer (main loop only) */
	unsigned idle_ticks;		      /* periods with no touch or write */
	uint64_t dev_base, dev_size;	      /* the device whose exits start the timer */
	int vm_fd;			      /* for the zone's registration */
	uint64_t zone_addr;
	uint32_t zone_size;
	uint64_t zone_after;	      /* write exits to the zone before it is registered */
	_Atomic uint64_t zone_writes; /* write exits to the zone so far */
	_Atomic bool zone_on;	      /* registered: writes go through the ring */
};

/* Zeroes `c` (not in use: every call below is then a no-op). */
void coalesced_mmio_clear(struct coalesced_mmio *c);

/* Maps KVM's ring through vcpu_fd (any vCPU: the ring is the VM's) and makes
 * the flush timer. Returns 0, -EOPNOTSUPP when KVM has no coalesced MMIO
 * (KVM_CAP_COALESCED_MMIO), or -errno. */
int coalesced_mmio_init(struct coalesced_mmio *c, int kvm_fd, int vcpu_fd);

/* Queues the guest's writes of [addr, addr + size) in the ring
 * (KVM_REGISTER_COALESCED_MMIO) once `after` of them have exited (0: from
 * now on; later, the vCPU making the last of those exits registers it); exits
 * to [dev_base, dev_base + dev_size) start the flush timer. One zone per
 * ring. Returns 0 or -errno (only when registering now). */
int coalesced_mmio_add_zone(struct coalesced_mmio *c, int vm_fd, uint64_t addr, uint32_t size,
			    uint64_t dev_base, uint64_t dev_size, uint64_t after);

/* Replays every queued write on `bus` (bus_write_coalesced), oldest first,
 * and frees its slot. Any thread; drainers take turns. Returns how many. */
unsigned coalesced_mmio_drain(struct coalesced_mmio *c, struct bus *bus);

/* A vCPU exited on an access at `addr`: when it is the zone's device, the
 * flush timer runs (so a write queued after this exit is replayed within
 * COALESCED_FLUSH_NS even if the guest then exits no more); a write to the
 * zone before it is registered counts towards registering it. vCPU
 * threads. */
void coalesced_mmio_touch(struct coalesced_mmio *c, uint64_t addr, bool is_write);

/* The flush timer fired (the main loop, timer_fd readable): drains, and keeps
 * the timer running while writes come or the device exits, and for
 * COALESCED_LINGER_TICKS periods after. */
void coalesced_mmio_on_timer(struct coalesced_mmio *c, struct bus *bus);

/* Unmaps the ring and closes the timer (after the last drain). */
void coalesced_mmio_fini(struct coalesced_mmio *c);

#endif
