/* ioapic.c - userspace IOAPIC whose redirection entries are KVM MSI routes. */
#include "ioapic.h"

#include <errno.h>
#include <linux/kvm.h>
#include <string.h>

#include "kvm.h"
#include "log.h"

#define IOAPIC_VERSION 0x11

static struct log_limit bad_access_limit = {.burst = 5};

void ioapic_rte_to_msi(uint64_t rte, uint32_t *address, uint32_t *data)
{
	uint32_t dest = (uint32_t)(rte >> 56);
	uint32_t dest_logical = (uint32_t)(rte >> 11) & 1;
	uint32_t vector = (uint32_t)rte & 0xff;
	uint32_t delivery = (uint32_t)(rte >> 8) & 7;
	uint32_t level = (rte & IOAPIC_RTE_LEVEL) ? 1 : 0;
	*address = 0xfee00000u | (dest << 12) | (dest_logical << 2);
	/* Level-triggered messages carry the trigger bit (15) and assert (14):
	 * KVM then exits to us on the EOI of that vector. */
	*data = vector | (delivery << 8) | (level << 15) | (1u << 14);
}

/* What KVM's route for an entry is made of: nothing while masked, else
 * the MSI it sends. Entries with the same key need no new routing. */
static uint64_t route_key(uint64_t rte)
{
	if (rte & IOAPIC_RTE_MASKED)
		return 0;
	uint32_t address, data;
	ioapic_rte_to_msi(rte, &address, &data);
	return (uint64_t)address << 32 | data;
}

/* Rebuilds KVM's GSI routing: one MSI route per unmasked pin. Lock held. */
static void update_routes(struct ioapic *io)
{
	io->route_updates++;
	if (io->vm_fd < 0)
		return;
	struct {
		struct kvm_irq_routing hdr;
		struct kvm_irq_routing_entry e[IOAPIC_PINS];
	} table;
	memset(&table, 0, sizeof(table));
	unsigned n = 0;
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
		if (io->redir[pin] & IOAPIC_RTE_MASKED)
			continue;
		struct kvm_irq_routing_entry *e = &table.e[n++];
		e->gsi = pin;
		e->type = KVM_IRQ_ROUTING_MSI;
		ioapic_rte_to_msi(io->redir[pin], &e->u.msi.address_lo, &e->u.msi.data);
	}
	table.hdr.nr = n;
	(void)KVM_IOCTL(io->vm_fd, KVM_SET_GSI_ROUTING, &table);
}

/* Sends pin's interrupt now. Lock held. */
static void deliver(struct ioapic *io, unsigned pin)
{
	uint64_t rte = io->redir[pin];
	io->delivered++;
	if (rte & IOAPIC_RTE_LEVEL)
		io->redir[pin] |= IOAPIC_RTE_REMOTE_IRR;
	if (io->vm_fd < 0)
		return;
	struct kvm_msi msi;
	memset(&msi, 0, sizeof(msi));
	ioapic_rte_to_msi(rte, &msi.address_lo, &msi.data);
	(void)KVM_IOCTL(io->vm_fd, KVM_SIGNAL_MSI, &msi);
}

/* Delivers pin's pending interrupt if the entry allows it. Lock held. */
static void service(struct ioapic *io, unsigned pin)
{
	uint64_t rte = io->redir[pin];
	if (rte & IOAPIC_RTE_MASKED)
		return;
	if (rte & IOAPIC_RTE_LEVEL) {
		if (io->line[pin] && !(rte & IOAPIC_RTE_REMOTE_IRR))
			deliver(io, pin);
	} else if (io->edge_pending[pin]) {
		io->edge_pending[pin] = false;
		deliver(io, pin);
	}
}

int ioapic_init(struct ioapic *io, int vm_fd)
{
	memset(io, 0, sizeof(*io));
	pthread_mutex_init(&io->lock, NULL);
	io->vm_fd = vm_fd;
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++)
		io->redir[pin] = IOAPIC_RTE_MASKED;
	return 0;
}

void ioapic_get_state(struct ioapic *io, struct ioapic_state *s)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_lock(&io->lock);
	s->id = io->id;
	s->ioregsel = io->ioregsel;
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
		s->redir[pin] = io->redir[pin];
		s->line[pin] = io->line[pin];
		s->edge_pending[pin] = io->edge_pending[pin];
	}
	pthread_mutex_unlock(&io->lock);
}

void ioapic_set_state(struct ioapic *io, const struct ioapic_state *s)
{
	pthread_mutex_lock(&io->lock);
	io->id = s->id;
	io->ioregsel = s->ioregsel;
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
		io->redir[pin] = s->redir[pin];
		io->line[pin] = s->line[pin] != 0;
		io->edge_pending[pin] = s->edge_pending[pin] != 0;
	}
	update_routes(io);
	pthread_mutex_unlock(&io->lock);
}

void ioapic_set_level(struct ioapic *io, unsigned gsi, bool level)
{
	if (gsi >= IOAPIC_PINS)
		return;
	pthread_mutex_lock(&io->lock);
	bool rising = level && !io->line[gsi];
	io->line[gsi] = level;
	if (rising && !(io->redir[gsi] & IOAPIC_RTE_LEVEL))
		io->edge_pending[gsi] = true;
	service(io, gsi);
	pthread_mutex_unlock(&io->lock);
}

static void sink_set_level(void *opaque, unsigned gsi, bool level)
{
	ioapic_set_level(opaque, gsi, level);
}

struct irq_sink ioapic_irq_sink(struct ioapic *io)
{
	return (struct irq_sink){sink_set_level, io};
}

void ioapic_eoi(struct ioapic *io, uint8_t vector)
{
	pthread_mutex_lock(&io->lock);
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
		uint64_t rte = io->redir[pin];
		if ((rte & 0xff) != vector || !(rte & IOAPIC_RTE_LEVEL))
			continue;
		io->redir[pin] &= ~IOAPIC_RTE_REMOTE_IRR;
		service(io, pin);
	}
	pthread_mutex_unlock(&io->lock);
}

void ioapic_set_resample(struct ioapic *io, unsigned gsi, void (*fn)(void *), void *opaque)
{
	if (gsi >= IOAPIC_PINS)
		return;
	pthread_mutex_lock(&io->lock);
	io->resample[gsi] = fn;
	io->resample_opaque[gsi] = opaque;
	pthread_mutex_unlock(&io->lock);
}

static uint32_t read_register(struct ioapic *io)
{
	uint32_t reg = io->ioregsel;
	switch (reg) {
	case IOAPIC_REG_ID:
		return io->id;
	case IOAPIC_REG_VERSION:
		return ((IOAPIC_PINS - 1) << 16) | IOAPIC_VERSION;
	case IOAPIC_REG_ARB:
		return io->id;
	default:
		if (reg >= IOAPIC_REG_REDIR && reg < IOAPIC_REG_REDIR + 2 * IOAPIC_PINS) {
			unsigned pin = (reg - IOAPIC_REG_REDIR) / 2;
			uint64_t rte = io->redir[pin];
			return (reg & 1) ? (uint32_t)(rte >> 32) : (uint32_t)rte;
		}
		return 0xffffffffu;
	}
}

/* Writes the selected register; returns the pin to resample, or -1. */
static int write_register(struct ioapic *io, uint32_t value)
{
	uint32_t reg = io->ioregsel;
	if (reg == IOAPIC_REG_ID) {
		io->id = value & 0x0f000000u;
		return -1;
	}
	if (reg < IOAPIC_REG_REDIR || reg >= IOAPIC_REG_REDIR + 2 * IOAPIC_PINS)
		return -1;
	unsigned pin = (reg - IOAPIC_REG_REDIR) / 2;
	uint64_t old = io->redir[pin];
	uint64_t rte;
	const uint64_t ro = IOAPIC_RTE_REMOTE_IRR | IOAPIC_RTE_DELIVERY_STATUS;
	if (reg & 1)
		rte = (old & 0xffffffffULL) | ((uint64_t)value << 32);
	else
		rte = (old & 0xffffffff00000000ULL) | value;
	rte = (rte & ~ro) | (old & ro);
	if (!(rte & IOAPIC_RTE_LEVEL))
		rte &= ~IOAPIC_RTE_REMOTE_IRR;
	io->redir[pin] = rte;
	if (route_key(rte) != route_key(old))
		update_routes(io);
	bool unmasked = (old & IOAPIC_RTE_MASKED) && !(rte & IOAPIC_RTE_MASKED);
	if (!(rte & IOAPIC_RTE_MASKED))
		service(io, pin);
	return unmasked ? (int)pin : -1;
}

static void ioapic_read(void *opaque, uint64_t offset, void *data, unsigned len)
{
	struct ioapic *io = opaque;
	uint32_t value = 0xffffffffu;
	if (len != 4) {
		log_limited(&bad_access_limit, "ioapic: %u-byte read at 0x%llx ignored", len,
			    (unsigned long long)offset);
		memset(data, 0xff, len);
		return;
	}
	pthread_mutex_lock(&io->lock);
	if (offset == IOAPIC_MMIO_SELECT)
		value = io->ioregsel;
	else if (offset == IOAPIC_MMIO_WINDOW)
		value = read_register(io);
	pthread_mutex_unlock(&io->lock);
	memcpy(data, &value, 4);
}

static void ioapic_write(void *opaque, uint64_t offset, const void *data, unsigned len)
{
	struct ioapic *io = opaque;
	uint32_t value;
	if (len != 4) {
		log_limited(&bad_access_limit, "ioapic: %u-byte write at 0x%llx ignored", len,
			    (unsigned long long)offset);
		return;
	}
	memcpy(&value, data, 4);
	int resample_pin = -1;
	pthread_mutex_lock(&io->lock);
	if (offset == IOAPIC_MMIO_SELECT)
		io->ioregsel = value & 0xff;
	else if (offset == IOAPIC_MMIO_WINDOW)
		resample_pin = write_register(io, value);
	pthread_mutex_unlock(&io->lock);
	if (offset == IOAPIC_MMIO_EOI)
		ioapic_eoi(io, (uint8_t)value);
	if (resample_pin >= 0) {
		void (*fn)(void *) = io->resample[resample_pin];
		if (fn)
			fn(io->resample_opaque[resample_pin]);
	}
}

const struct mmio_ops ioapic_mmio_ops = {
    .read = ioapic_read,
    .write = ioapic_write,
};
