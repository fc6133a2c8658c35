/* virtio_mmio_mirror.c - the register page as the guest reads it. Every
 * register and config byte sits at its offset in one page of minnow's
 * memory, kept current by the transport; KVM maps the page read-only at
 * the slot's address, so a read (InterruptStatus above all: once per
 * interrupt) is served from memory without an exit, and a write exits as
 * before. A register that depends on a selector (DeviceFeatures on
 * DeviceFeaturesSel, the queue registers on QueueSel) is rewritten when the
 * selector's write exits, before the writing vCPU runs again. */
#include "virtio_mmio_internal.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "kvm.h"

/* Stores one 4-byte register; a guest reading at the same time sees the
 * old or the new value, never a mix. */
static void put_word(struct virtio_mmio *t, uint64_t offset, uint32_t value)
{
	atomic_store_explicit((_Atomic uint32_t *)(t->regs + offset), value, memory_order_release);
}

static void first_config_copy(void *arg)
{
	vmmio_mirror_config(arg, false);
}

int vmmio_mirror_create(struct virtio_mmio *t)
{
	void *p = mmap(NULL, VIRTIO_MMIO_STRIDE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	t->regs = p;
	memset(t->regs, 0xff, VIRTIO_MMIO_STRIDE);
	t->interrupt_status = (_Atomic uint32_t *)(t->regs + VIRTIO_MMIO_INTERRUPT_STATUS);
	atomic_store(t->interrupt_status, 0);
	vmmio_mirror_registers(t);
	/* The device model belongs to the loop's thread once that runs. */
	if (!t->loop || !event_loop_running(t->loop) ||
	    event_loop_call(t->loop, first_config_copy, t) < 0)
		first_config_copy(t);
	return 0;
}

static int map_memslot(struct virtio_mmio *t)
{
	struct kvm_userspace_memory_region region = {
	    .slot = VIRTIO_MMIO_MEMSLOT_BASE + t->slot,
	    .flags = KVM_MEM_READONLY,
	    .guest_phys_addr = t->base,
	    .memory_size = VIRTIO_MMIO_STRIDE,
	    .userspace_addr = (uint64_t)(uintptr_t)t->regs,
	};
	return KVM_IOCTL(t->vm_fd, KVM_SET_USER_MEMORY_REGION, &region);
}

void vmmio_mirror_map(struct virtio_mmio *t)
{
	if (t->vm_fd < 0 || t->ops->backend_queues ||
	    ioctl(t->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_READONLY_MEM) <= 0)
		return;
	(void)map_memslot(t); /* on failure reads exit, as without the capability */
}

void vmmio_mirror_destroy(struct virtio_mmio *t)
{
	/* The memslot stays: no vCPU runs any more, the VM goes with it, and
	 * unmapping the page takes it out of KVM's page tables (the main
	 * thread's filter has no KVM_SET_USER_MEMORY_REGION for teardown). */
	if (t->regs)
		munmap(t->regs, VIRTIO_MMIO_STRIDE);
	t->regs = NULL;
	t->interrupt_status = NULL;
}

void vmmio_mirror_registers(struct virtio_mmio *t)
{
	for (uint64_t offset = 0; offset < VIRTIO_MMIO_CONFIG; offset += 4) {
		if (offset != VIRTIO_MMIO_INTERRUPT_STATUS)
			put_word(t, offset, vmmio_register_value(t, offset));
	}
}

void vmmio_mirror_config(struct virtio_mmio *t, bool changed)
{
	size_t size = t->ops->config_size;
	if (changed)
		put_word(t, VIRTIO_MMIO_CONFIG_GENERATION, ++t->config_generation);
	if (size) {
		uint8_t buf[VIRTIO_MMIO_CONFIG_MAX];
		t->ops->config_read(t->dev, 0, buf, (unsigned)size);
		/* Word by word where the words are whole, so that no aligned
		 * 4-byte read sees half of an update. */
		size_t i = 0;
		for (; i + 4 <= size; i += 4) {
			uint32_t w;
			memcpy(&w, buf + i, 4);
			put_word(t, VIRTIO_MMIO_CONFIG + i, w);
		}
		for (; i < size; i++)
			atomic_store_explicit((_Atomic uint8_t *)(t->regs + VIRTIO_MMIO_CONFIG + i),
					      buf[i], memory_order_release);
	}
	if (changed)
		put_word(t, VIRTIO_MMIO_CONFIG_GENERATION, ++t->config_generation);
}
