/* ioapic.h - a userspace IOAPIC for KVM's split irqchip. Each unmasked
 * redirection entry becomes an MSI route for its GSI, so an irqfd bound to
 * that GSI reaches the LAPIC with no exit to userspace. Lines driven from
 * userspace (ioapic_set_level) are injected with KVM_SIGNAL_MSI; level
 * triggered entries get remote IRR and are re-checked on EOI exits. */
#ifndef MINNOW_IOAPIC_H
#define MINNOW_IOAPIC_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "bus.h"
#include "irq.h"
#include "platform.h"

struct ioapic {
	pthread_mutex_t lock;
	int vm_fd; /* -1: no KVM (unit tests): deliveries are only counted */
	uint32_t id;
	uint32_t ioregsel;
	uint64_t redir[IOAPIC_PINS];
	bool line[IOAPIC_PINS];		/* level of userspace-driven lines */
	bool edge_pending[IOAPIC_PINS]; /* edge raised while masked */
	/* Called when a pin is unmasked, so that an irqfd source can re-signal
	 * an interrupt the guest may have missed while the pin was masked. */
	void (*resample[IOAPIC_PINS])(void *opaque);
	void *resample_opaque[IOAPIC_PINS];
	uint64_t delivered; /* interrupts injected from userspace */
	uint64_t route_updates;
};

/* What a snapshot keeps of the IOAPIC (the guest-visible registers and
 * line state). */
struct ioapic_state {
	uint32_t id, ioregsel;
	uint64_t redir[IOAPIC_PINS];
	uint8_t line[IOAPIC_PINS], edge_pending[IOAPIC_PINS];
};

/* Registers and bits of a redirection entry. */
#define IOAPIC_REG_ID		   0x00
#define IOAPIC_REG_VERSION	   0x01
#define IOAPIC_REG_ARB		   0x02
#define IOAPIC_REG_REDIR	   0x10
#define IOAPIC_MMIO_SELECT	   0x00
#define IOAPIC_MMIO_WINDOW	   0x10
#define IOAPIC_MMIO_EOI		   0x40
#define IOAPIC_RTE_MASKED	   (1ULL << 16)
#define IOAPIC_RTE_LEVEL	   (1ULL << 15)
#define IOAPIC_RTE_REMOTE_IRR	   (1ULL << 14)
#define IOAPIC_RTE_DELIVERY_STATUS (1ULL << 12)

/* MMIO handlers (opaque = struct ioapic); 4-byte accesses only. */
extern const struct mmio_ops ioapic_mmio_ops;

/* Resets every entry to masked. vm_fd may be -1 for tests. Returns 0. */
int ioapic_init(struct ioapic *io, int vm_fd);

/* An irq_sink that drives IOAPIC pins (set_level() below). */
struct irq_sink ioapic_irq_sink(struct ioapic *io);

/* Copies the registers and line state out (snapshot). Thread-safe. */
void ioapic_get_state(struct ioapic *io, struct ioapic_state *s);

/* Puts them back and rebuilds KVM's routes for the unmasked pins
 * (restore, before any vCPU runs). */
void ioapic_set_state(struct ioapic *io, const struct ioapic_state *s);

/* Drives userspace line `gsi` (< IOAPIC_PINS) to `level`. Thread-safe. */
void ioapic_set_level(struct ioapic *io, unsigned gsi, bool level);

/* The guest signalled EOI for `vector` (KVM_EXIT_IOAPIC_EOI): clears remote
 * IRR of level entries using it and re-delivers lines still asserted. */
void ioapic_eoi(struct ioapic *io, uint8_t vector);

/* Sets the hook run when pin `gsi` is unmasked (for irqfd sources). */
void ioapic_set_resample(struct ioapic *io, unsigned gsi, void (*fn)(void *), void *opaque);

/* Computes the MSI address/data that redirection entry `rte` sends. */
void ioapic_rte_to_msi(uint64_t rte, uint32_t *address, uint32_t *data);

#endif
