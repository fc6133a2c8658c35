/* coalesced_mmio.c - replaying the writes KVM queued in its coalesced MMIO
 * ring (coalesced_mmio.h). */
#include "coalesced_mmio.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "log.h"

void coalesced_mmio_clear(struct coalesced_mmio *c)
{
	memset(c, 0, sizeof(*c));
	c->timer_fd = -1;
}

int coalesced_mmio_init(struct coalesced_mmio *c, int kvm_fd, int vcpu_fd)
{
	coalesced_mmio_clear(c);
	int page_offset = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_COALESCED_MMIO);
	if (page_offset <= 0)
		return -EOPNOTSUPP;
	long page = sysconf(_SC_PAGESIZE);
	if (page <= (long)sizeof(struct kvm_coalesced_mmio_ring))
		return -EINVAL;
	void *map = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu_fd,
			 (off_t)page_offset * page);
	if (map == MAP_FAILED)
		return -errno;
	c->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	int err = c->timer_fd < 0 ? errno : pthread_mutex_init(&c->lock, NULL);
	if (err) {
		if (c->timer_fd >= 0)
			close(c->timer_fd);
		munmap(map, (size_t)page);
		coalesced_mmio_clear(c);
		return -err;
	}
	c->ring = map;
	c->page = (size_t)page;
	c->max = (uint32_t)(((size_t)page - sizeof(struct kvm_coalesced_mmio_ring)) /
			    sizeof(struct kvm_coalesced_mmio));
	return 0;
}

static int register_zone(struct coalesced_mmio *c)
{
	struct kvm_coalesced_mmio_zone zone = {.addr = c->zone_addr, .size = c->zone_size};
	if (ioctl(c->vm_fd, KVM_REGISTER_COALESCED_MMIO, &zone) < 0)
		return -errno;
	atomic_store(&c->zone_on, true);
	return 0;
}

int coalesced_mmio_add_zone(struct coalesced_mmio *c, int vm_fd, uint64_t addr, uint32_t size,
			    uint64_t dev_base, uint64_t dev_size, uint64_t after)
{
	if (!c->ring)
		return -EOPNOTSUPP;
	c->vm_fd = vm_fd;
	c->zone_addr = addr;
	c->zone_size = size;
	c->zone_after = after;
	c->dev_base = dev_base;
	c->dev_size = dev_size;
	return after ? 0 : register_zone(c);
}

/* KVM publishes an entry and then moves `last` (release); minnow reads
 * `last` (acquire), then the entries before it, and hands their slots back
 * by moving `first` (release). */
static bool ring_empty(const struct coalesced_mmio *c)
{
	return __atomic_load_n(&c->ring->first, __ATOMIC_RELAXED) ==
	       __atomic_load_n(&c->ring->last, __ATOMIC_ACQUIRE);
}

unsigned coalesced_mmio_drain(struct coalesced_mmio *c, struct bus *bus)
{
	if (!c->ring || ring_empty(c))
		return 0;
	unsigned n = 0;
	pthread_mutex_lock(&c->lock);
	uint32_t first = __atomic_load_n(&c->ring->first, __ATOMIC_RELAXED);
	uint32_t last = __atomic_load_n(&c->ring->last, __ATOMIC_ACQUIRE);
	while (first != last && first < c->max && last < c->max) {
		struct kvm_coalesced_mmio e = c->ring->coalesced_mmio[first];
		if (!e.pio && e.len >= 1 && e.len <= sizeof(e.data))
			(void)bus_write_coalesced(bus, e.phys_addr, e.data, e.len);
		first = (first + 1) % c->max;
		__atomic_store_n(&c->ring->first, first, __ATOMIC_RELEASE);
		n++;
		if (first == last)
			last = __atomic_load_n(&c->ring->last, __ATOMIC_ACQUIRE);
	}
	pthread_mutex_unlock(&c->lock);
	return n;
}

static void arm(struct coalesced_mmio *c)
{
	struct itimerspec its = {.it_value = {0, (long)COALESCED_FLUSH_NS},
				 .it_interval = {0, (long)COALESCED_FLUSH_NS}};
	(void)timerfd_settime(c->timer_fd, 0, &its, NULL);
}

void coalesced_mmio_touch(struct coalesced_mmio *c, uint64_t addr, bool is_write)
{
	if (!c->ring || addr - c->dev_base >= c->dev_size)
		return;
	if (!atomic_load(&c->zone_on)) {
		/* Exactly one vCPU makes the zone's `zone_after`th write exit
		 * and registers it; if KVM refuses, every write keeps exiting,
		 * as without a ring. The next write may be queued: the timer
		 * starts now. */
		if (!is_write || addr - c->zone_addr >= c->zone_size ||
		    atomic_fetch_add(&c->zone_writes, 1) + 1 != c->zone_after)
			return;
		int r = register_zone(c);
		if (r < 0) {
			log_debug("coalesced MMIO: the zone at 0x%llx stays off: %s",
				  (unsigned long long)c->zone_addr, strerror(-r));
			return;
		}
	}
	atomic_fetch_add(&c->touches, 1);
	if (!atomic_exchange(&c->armed, true))
		arm(c);
}

void coalesced_mmio_on_timer(struct coalesced_mmio *c, struct bus *bus)
{
	uint64_t ticks;
	(void)!read(c->timer_fd, &ticks, sizeof(ticks));
	unsigned drained = coalesced_mmio_drain(c, bus);
	uint64_t touches = atomic_load(&c->touches);
	if (drained > 0 || touches != c->touches_seen) {
		c->touches_seen = touches;
		c->idle_ticks = 0;
		return; /* the periodic timer runs on */
	}
	if (++c->idle_ticks < COALESCED_LINGER_TICKS)
		return;
	c->idle_ticks = 0;
	/* Stop, unless a vCPU touched the device meanwhile: it either saw
	 * `armed` still true (its count, added before, is then seen by the
	 * check after this store) or sees it false and arms. */
	struct itimerspec stop = {0};
	(void)timerfd_settime(c->timer_fd, 0, &stop, NULL);
	atomic_store(&c->armed, false);
	if ((!ring_empty(c) || atomic_load(&c->touches) != c->touches_seen) &&
	    !atomic_exchange(&c->armed, true))
		arm(c);
}

void coalesced_mmio_fini(struct coalesced_mmio *c)
{
	if (!c->ring)
		return;
	munmap(c->ring, c->page);
	if (c->timer_fd >= 0)
		close(c->timer_fd);
	pthread_mutex_destroy(&c->lock);
	coalesced_mmio_clear(c);
}
