/* test_virtio_mmio.c - the virtio-mmio register file driven through its MMIO
 * ops with no KVM (vm_fd = -1), a fake device and fake guest RAM; an rng
 * round trip with the shared fake driver; and the device event loop. */
#include <criterion/criterion.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "event_loop.h"
#include "guest_mem.h"
#include "ioapic.h"
#include "test_util.h"
#include "virtio_driver.h"
#include "virtio_mmio.h"
#include "virtio_rng.h"

#define RAM_SIZE  (16ULL << 20)
#define DESC_GPA  0x10000ULL
#define AVAIL_GPA 0x20000ULL
#define USED_GPA  0x30000ULL
#define BUF_GPA	  0x100000ULL

#define F_DEV0 (1ULL << 0)
#define F_DEV5 (1ULL << 5)

/* ---- A fake device ------------------------------------------------------------ */

struct fake_dev {
	uint8_t config[8];
	unsigned activations, resets, config_writes;
	unsigned notifies[2];
	int activate_result;
	struct event_loop *loop;
	bool notified_on_loop_thread;
	unsigned ops_off_loop; /* with a loop: ops that ran on another thread */
};

/* Counts an op that ran off the loop thread, when the device has a loop. */
static void fake_check_thread(struct fake_dev *f)
{
	if (f->loop && !event_loop_on_thread(f->loop))
		f->ops_off_loop++;
}

static void fake_config_read(void *dev, uint32_t offset, void *data, unsigned len)
{
	struct fake_dev *f = dev;
	fake_check_thread(f);
	memcpy(data, f->config + offset, len);
}

static void fake_config_write(void *dev, uint32_t offset, const void *data, unsigned len)
{
	struct fake_dev *f = dev;
	fake_check_thread(f);
	memcpy(f->config + offset, data, len);
	f->config_writes++;
}

static int fake_activate(void *dev, struct virtio_mmio *t)
{
	struct fake_dev *f = dev;
	fake_check_thread(f);
	f->activations++;
	return f->activate_result;
}

static void fake_queue_notify(void *dev, struct virtio_mmio *t, unsigned queue)
{
	struct fake_dev *f = dev;
	cr_assert_lt(queue, 2);
	__atomic_add_fetch(&f->notifies[queue], 1, __ATOMIC_SEQ_CST);
	if (f->loop && event_loop_on_thread(f->loop))
		f->notified_on_loop_thread = true;
}

static void fake_reset(void *dev)
{
	struct fake_dev *f = dev;
	fake_check_thread(f);
	f->resets++;
}

static const struct virtio_device_ops fake_ops = {
    .name = "fake",
    .device_id = 42,
    .num_queues = 2,
    .queue_max = 16,
    .features = F_DEV0 | F_DEV5,
    .config_size = sizeof(((struct fake_dev *)0)->config),
    .config_read = fake_config_read,
    .config_write = fake_config_write,
    .activate = fake_activate,
    .queue_notify = fake_queue_notify,
    .reset = fake_reset,
};

static struct virtio_mmio t;
static struct fake_dev fake;

static void setup(void)
{
	ram_map(RAM_SIZE);
	memset(&fake, 0, sizeof(fake));
	for (unsigned i = 0; i < sizeof(fake.config); i++)
		fake.config[i] = (uint8_t)(i + 1);
	cr_assert_eq(virtio_mmio_create(&t, &fake_ops, &fake, &guest_ram, -1, NULL, NULL, 0), 0);
}

static void teardown(void)
{
	virtio_mmio_destroy(&t);
	ram_unmap();
}

TestSuite(virtio_mmio, .init = setup, .fini = teardown);

/* Queue q of `t` with its rings at the file's addresses. */
static void setup_queue(unsigned q, uint32_t size)
{
	drv_queue_setup(&t, q, size, DESC_GPA + q * 0x1000, AVAIL_GPA + q * 0x1000,
			USED_GPA + q * 0x1000);
}

/* ---- The register page a guest reads without exits ------------------------------- */

/* Every word of t's register page below the config space, and every config
 * byte, equals what a read through the exit path returns, at `when`. */
static void expect_page_matches(const char *when)
{
	for (uint64_t off = 0; off < VIRTIO_MMIO_CONFIG; off += 4) {
		uint32_t page;
		memcpy(&page, t.regs + off, 4);
		uint32_t read = drv_rd(&t, off);
		cr_expect_eq(page, read, "%s: register 0x%03llx: page 0x%x, read 0x%x", when,
			     (unsigned long long)off, page, read);
	}
	for (uint64_t off = VIRTIO_MMIO_CONFIG; off < VIRTIO_MMIO_CONFIG + 16; off++) {
		uint8_t read;
		virtio_mmio_ops.read(&t, off, &read, 1);
		cr_expect_eq(t.regs[off], read, "%s: config byte 0x%03llx: page 0x%x, read 0x%x",
			     when, (unsigned long long)off, t.regs[off], read);
	}
}

/* The page follows every change a driver or the device makes: selectors,
 * features, queue set-up, status, interrupts and their ack, a config
 * change, a failure, a reset. */
Test(virtio_mmio, register_page_reads_as_the_registers)
{
	expect_page_matches("created");
	drv_wr(&t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	expect_page_matches("DeviceFeaturesSel 1");
	drv_negotiate(&t, F_VERSION_1 | F_DEV0);
	expect_page_matches("features negotiated");
	setup_queue(1, 8);
	expect_page_matches("queue 1 set up");
	drv_wr(&t, VIRTIO_MMIO_QUEUE_SEL, 0);
	expect_page_matches("QueueSel 0");
	drv_wr(&t, VIRTIO_MMIO_QUEUE_SEL, 7);
	expect_page_matches("QueueSel 7 (no such queue)");
	setup_queue(0, 4);
	drv_driver_ok(&t);
	expect_page_matches("DRIVER_OK");
	virtio_mmio_lock(&t);
	virtio_mmio_signal(&t, VIRTIO_MMIO_INT_VRING);
	virtio_mmio_config_changed(&t);
	virtio_mmio_unlock(&t);
	expect_page_matches("interrupts raised, config changed");
	drv_wr(&t, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	expect_page_matches("used-buffer bit acknowledged");
	virtio_mmio_lock(&t);
	virtio_mmio_fail(&t, "test");
	virtio_mmio_unlock(&t);
	expect_page_matches("failed");
	drv_wr(&t, VIRTIO_MMIO_STATUS, 0);
	expect_page_matches("reset");
}

/* ---- Identification and features ------------------------------------------------ */

Test(virtio_mmio, identification)
{
	cr_assert_eq(drv_rd(&t, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	cr_assert_eq(drv_rd(&t, VIRTIO_MMIO_VERSION), 2);
	cr_assert_eq(drv_rd(&t, VIRTIO_MMIO_DEVICE_ID), 42);
	cr_assert_eq(drv_rd(&t, VIRTIO_MMIO_VENDOR_ID), VIRTIO_MMIO_VENDOR);
	cr_assert_eq(t.base, 0xd0010000ULL);
	cr_assert_eq(t.gsi, 5);
}

Test(virtio_mmio, device_features_words)
{
	drv_wr(&t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	uint32_t low = drv_rd(&t, VIRTIO_MMIO_DEVICE_FEATURES);
	cr_assert_eq(low, (uint32_t)(F_DEV0 | F_DEV5 | F_EVENT_IDX | F_INDIRECT));
	drv_wr(&t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	cr_assert_eq(drv_rd(&t, VIRTIO_MMIO_DEVICE_FEATURES), 1u, "VERSION_1 is bit 32");
	drv_wr(&t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
	cr_assert_eq(drv_rd(&t, VIRTIO_MMIO_DEVICE_FEATURES), 0);
}

Test(virtio_mmio, features_ok_accepted)
{
	uint64_t want = F_VERSION_1 | F_EVENT_IDX | F_DEV5;
	uint32_t status = drv_negotiate(&t, want);
	cr_assert_eq(status, S_ACK | S_DRIVER | S_FEATURES_OK);
	cr_assert_eq(virtio_mmio_features(&t), want);
}

Test(virtio_mmio, refuses_unoffered_feature)
{
	uint32_t status = drv_negotiate(&t, F_VERSION_1 | (1ULL << 3));
	cr_assert_eq(status & S_FEATURES_OK, 0);
	cr_assert_eq(status, S_ACK | S_DRIVER);
}

Test(virtio_mmio, refuses_unoffered_high_feature)
{
	uint32_t status =
	    drv_negotiate(&t, F_VERSION_1 | (1ULL << 34)); /* RING_PACKED: not offered */
	cr_assert_eq(status & S_FEATURES_OK, 0);
}

Test(virtio_mmio, refuses_missing_version_1)
{
	uint32_t status = drv_negotiate(&t, F_DEV0 | F_EVENT_IDX);
	cr_assert_eq(status & S_FEATURES_OK, 0);
}

Test(virtio_mmio, features_frozen_after_features_ok)
{
	drv_negotiate(&t, F_VERSION_1);
	drv_wr(&t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	drv_wr(&t, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)F_DEV0);
	cr_assert_eq(virtio_mmio_features(&t), F_VERSION_1);
}

Test(virtio_mmio, driver_ok_without_features_ok)
{
	drv_wr(&t, VIRTIO_MMIO_STATUS, S_ACK | S_DRIVER);
	drv_wr(&t, VIRTIO_MMIO_STATUS, S_ACK | S_DRIVER | S_DRIVER_OK);
	cr_assert(drv_needs_reset(&t));
	cr_assert_eq(drv_rd(&t, VIRTIO_MMIO_STATUS) & S_DRIVER_OK, 0);
	cr_assert_eq(fake.activations, 0);
	cr_assert_eq(drv_rd(&t, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG,
		     VIRTIO_MMIO_INT_CONFIG);
}

Test(virtio_mmio, status_bits_cannot_be_cleared)
{
	drv_negotiate(&t, F_VERSION_1);
	drv_wr(&t, VIRTIO_MMIO_STATUS, S_ACK);
	cr_assert_eq(drv_rd(&t, VIRTIO_MMIO_STATUS), S_ACK | S_DRIVER | S_FEATURES_OK);
}

Test(virtio_mmio, driver_cannot_set_needs_reset)
{
	drv_wr(&t, VIRTIO_MMIO_STATUS, S_ACK | S_NEEDS_RESET);
	cr_assert_eq(drv_rd(&t, VIRTIO_MMIO_STATUS), S_ACK);
}

/* ---- Queues ------------------------------------------------------------------------- */

Test(virtio_mmio, queue_setup_and_readback)
{
	drv_negotiate(&t, F_VERSION_1);
	drv_wr(&t, VIRTIO_MMIO_QUEUE_SEL, 1);
	cr_assert_eq(drv_rd(&t, VIRTIO_MMIO_QUEUE_NUM_MAX), 16);
	cr_assert_eq(drv_rd(&t, VIRTIO_MMIO_QUEUE_READY), 0);
	setup_queue(1, 8);
	cr_assert_eq(drv_rd(&t, VIRTIO_MMIO_QUEUE_READY), 1);
	cr_assert_eq(drv_rd(&t, VIRTIO_MMIO_QUEUE_DESC_LOW), DESC_GPA + 0x1000);
	cr_assert_eq(drv_rd(&t, VIRTIO_MMIO_QUEUE_DESC_HIGH), 0);
	cr_assert_not(drv_needs_reset(&t));
	struct virtq *vq = virtio_mmio_queue(&t, 1);
	cr_assert(vq->ready);
	cr_assert_eq(vq->size, 8);
	cr_assert_eq(vq->used_gpa, USED_GPA + 0x1000);
	cr_assert_null(virtio_mmio_queue(&t, 2));
	drv_wr(&t, VIRTIO_MMIO_QUEUE_READY, 0);
	cr_assert_eq(drv_rd(&t, VIRTIO_MMIO_QUEUE_READY), 0, "QueueReady=0 stops the queue");
	cr_assert_not(drv_needs_reset(&t));
}

Test(virtio_mmio, queue_ready_bad_size)
{
	drv_negotiate(&t, F_VERSION_1);
	setup_queue(0, 6);
	cr_assert(drv_needs_reset(&t));
	cr_assert_eq(drv_rd(&t, VIRTIO_MMIO_QUEUE_READY), 0);
}

Test(virtio_mmio, queue_ready_size_above_max)
{
	drv_negotiate(&t, F_VERSION_1);
	setup_queue(0, 32);
	cr_assert(drv_needs_reset(&t));
}

Test(virtio_mmio, queue_ready_rings_outside_ram)
{
	drv_negotiate(&t, F_VERSION_1);
	drv_queue_setup(&t, 0, 8, DESC_GPA, AVAIL_GPA, RAM_SIZE - 16);
	cr_assert(drv_needs_reset(&t));
	cr_assert_eq(drv_rd(&t, VIRTIO_MMIO_QUEUE_READY), 0);
}

Test(virtio_mmio, queue_ready_misaligned_ring)
{
	drv_negotiate(&t, F_VERSION_1);
	drv_queue_setup(&t, 0, 8, DESC_GPA + 4, AVAIL_GPA, USED_GPA);
	cr_assert(drv_needs_reset(&t));
}

Test(virtio_mmio, queue_ready_before_features_ok)
{
	drv_wr(&t, VIRTIO_MMIO_STATUS, S_ACK | S_DRIVER);
	setup_queue(0, 8);
	cr_assert(drv_needs_reset(&t));
}

Test(virtio_mmio, queue_sel_out_of_range)
{
	drv_negotiate(&t, F_VERSION_1);
	drv_wr(&t, VIRTIO_MMIO_QUEUE_SEL, 2);
	cr_assert_eq(drv_rd(&t, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	cr_assert_eq(drv_rd(&t, VIRTIO_MMIO_QUEUE_READY), 0);
	drv_wr(&t, VIRTIO_MMIO_QUEUE_NUM, 8);
	drv_wr(&t, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x1000);
	drv_wr(&t, VIRTIO_MMIO_QUEUE_READY, 1);
	cr_assert_eq(drv_rd(&t, VIRTIO_MMIO_QUEUE_READY), 0);
	drv_wr(&t, VIRTIO_MMIO_QUEUE_SEL, 0xffffffffu);
	cr_assert_eq(drv_rd(&t, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	drv_wr(&t, VIRTIO_MMIO_QUEUE_READY, 1);
	cr_assert_not(drv_needs_reset(&t), "writes to a missing queue are ignored");
	cr_assert_eq(virtio_mmio_queue(&t, 0)->desc_gpa, 0);
}

Test(virtio_mmio, queue_write_while_ready)
{
	drv_negotiate(&t, F_VERSION_1);
	setup_queue(0, 8);
	drv_wr(&t, VIRTIO_MMIO_QUEUE_NUM, 4);
	cr_assert(drv_needs_reset(&t));
	cr_assert_eq(virtio_mmio_queue(&t, 0)->size, 8);
}

Test(virtio_mmio, queue_address_write_after_driver_ok)
{
	drv_negotiate(&t, F_VERSION_1);
	setup_queue(0, 8);
	drv_driver_ok(&t);
	cr_assert_not(drv_needs_reset(&t));
	drv_wr(&t, VIRTIO_MMIO_QUEUE_SEL, 1);
	drv_wr(&t, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x5000);
	cr_assert(drv_needs_reset(&t));
	cr_assert_eq(virtio_mmio_queue(&t, 1)->desc_gpa, 0);
	cr_assert_not(virtio_mmio_active(&t));
}

Test(virtio_mmio, queue_enable_after_driver_ok)
{
	drv_negotiate(&t, F_VERSION_1);
	drv_driver_ok(&t);
	drv_wr(&t, VIRTIO_MMIO_QUEUE_SEL, 0);
	drv_wr(&t, VIRTIO_MMIO_QUEUE_READY, 1);
	cr_assert(drv_needs_reset(&t));
}

/* ---- Activation, notifications, failure ----------------------------------------- */

Test(virtio_mmio, driver_ok_activates_and_kicks_ready_queues)
{
	drv_negotiate(&t, F_VERSION_1);
	setup_queue(0, 8);
	drv_wr(&t, VIRTIO_MMIO_QUEUE_NOTIFY, 0); /* before DRIVER_OK: not delivered */
	cr_assert_eq(fake.notifies[0], 0);
	drv_driver_ok(&t);
	cr_assert(virtio_mmio_active(&t));
	cr_assert_eq(fake.activations, 1);
	cr_assert_eq(fake.notifies[0], 1, "buffers posted before DRIVER_OK get looked at");
	cr_assert_eq(fake.notifies[1], 0);
	drv_wr(&t, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	cr_assert_eq(fake.notifies[0], 2);
	cr_assert_eq(atomic_load(&t.user_kicks), 2);
}

Test(virtio_mmio, notify_not_ready_queue_is_harmless)
{
	drv_negotiate(&t, F_VERSION_1);
	setup_queue(0, 8);
	drv_driver_ok(&t);
	drv_wr(&t, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	drv_wr(&t, VIRTIO_MMIO_QUEUE_NOTIFY, 2);
	drv_wr(&t, VIRTIO_MMIO_QUEUE_NOTIFY, 0xffffffffu);
	cr_assert_eq(fake.notifies[1], 0);
	cr_assert_not(drv_needs_reset(&t));
	cr_assert(virtio_mmio_active(&t));
}

Test(virtio_mmio, activate_failure_needs_reset)
{
	fake.activate_result = -EIO;
	drv_negotiate(&t, F_VERSION_1);
	setup_queue(0, 8);
	drv_driver_ok(&t);
	cr_assert(drv_needs_reset(&t));
	cr_assert_not(virtio_mmio_active(&t));
	cr_assert_eq(fake.notifies[0], 0);
}

Test(virtio_mmio, fail_stops_processing_until_reset)
{
	drv_negotiate(&t, F_VERSION_1);
	setup_queue(0, 8);
	drv_driver_ok(&t);
	uint64_t irqs = atomic_load(&t.interrupts);
	virtio_mmio_lock(&t);
	virtio_mmio_fail(&t, "test failure %d", 1);
	virtio_mmio_fail(&t, "second failure");
	virtio_mmio_unlock(&t);
	cr_assert(drv_needs_reset(&t));
	cr_assert_eq(atomic_load(&t.interrupts), irqs + 1, "one config interrupt");
	cr_assert_eq(drv_rd(&t, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	unsigned before = fake.notifies[0];
	drv_wr(&t, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	cr_assert_eq(fake.notifies[0], before);
	/* The driver resets and starts over. */
	drv_wr(&t, VIRTIO_MMIO_STATUS, 0);
	cr_assert_eq(drv_rd(&t, VIRTIO_MMIO_STATUS), 0);
	cr_assert_eq(drv_negotiate(&t, F_VERSION_1) & S_FEATURES_OK, S_FEATURES_OK);
	setup_queue(0, 8);
	drv_driver_ok(&t);
	cr_assert(virtio_mmio_active(&t));
}

Test(virtio_mmio, reset_clears_everything)
{
	drv_negotiate(&t, F_VERSION_1 | F_EVENT_IDX);
	setup_queue(0, 8);
	setup_queue(1, 4);
	drv_driver_ok(&t);
	virtio_mmio_lock(&t);
	virtio_mmio_config_changed(&t);
	virtio_mmio_unlock(&t);
	cr_assert_neq(drv_rd(&t, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	drv_wr(&t, VIRTIO_MMIO_STATUS, 0);
	cr_assert_eq(fake.resets, 2, "one reset in drv_negotiate(&t, ), one here");
	cr_assert_eq(drv_rd(&t, VIRTIO_MMIO_STATUS), 0);
	cr_assert_eq(drv_rd(&t, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	cr_assert_eq(virtio_mmio_features(&t), 0);
	for (unsigned q = 0; q < 2; q++) {
		drv_wr(&t, VIRTIO_MMIO_QUEUE_SEL, q);
		cr_assert_eq(drv_rd(&t, VIRTIO_MMIO_QUEUE_READY), 0);
		cr_assert_eq(drv_rd(&t, VIRTIO_MMIO_QUEUE_NUM), 16);
		cr_assert_eq(drv_rd(&t, VIRTIO_MMIO_QUEUE_DESC_LOW), 0);
		cr_assert_eq(drv_rd(&t, VIRTIO_MMIO_QUEUE_NUM_MAX), 16);
	}
	cr_assert_not(virtio_mmio_active(&t));
	drv_wr(&t, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	cr_assert_eq(fake.notifies[0], 1, "only the activation kick");
}

Test(virtio_mmio, interrupt_status_and_ack)
{
	virtio_mmio_lock(&t);
	uint32_t gen = t.config_generation;
	virtio_mmio_config_changed(&t);
	virtio_mmio_unlock(&t);
	/* Moved before and after the register page's copy of the config. */
	cr_assert_eq(drv_rd(&t, VIRTIO_MMIO_CONFIG_GENERATION), gen + 2);
	cr_assert_eq(drv_rd(&t, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	cr_assert_eq(atomic_load(&t.interrupts), 1);
	drv_wr(&t, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	cr_assert_eq(drv_rd(&t, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	drv_wr(&t, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_CONFIG);
	cr_assert_eq(drv_rd(&t, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
}

/* ---- Access sizes and config space -------------------------------------------------- */

Test(virtio_mmio, wrong_size_and_unaligned_accesses)
{
	uint16_t v16 = 0;
	virtio_mmio_ops.read(&t, VIRTIO_MMIO_MAGIC_VALUE, &v16, 2);
	cr_assert_eq(v16, 0xffff);
	uint64_t v64 = 0;
	virtio_mmio_ops.read(&t, VIRTIO_MMIO_MAGIC_VALUE, &v64, 8);
	cr_assert_eq(v64, UINT64_MAX);
	uint32_t v32 = 0;
	virtio_mmio_ops.read(&t, VIRTIO_MMIO_MAGIC_VALUE + 1, &v32, 4);
	cr_assert_eq(v32, 0xffffffffu);
	uint8_t b = S_ACK;
	virtio_mmio_ops.write(&t, VIRTIO_MMIO_STATUS, &b, 1);
	cr_assert_eq(drv_rd(&t, VIRTIO_MMIO_STATUS), 0);
	v32 = S_ACK;
	virtio_mmio_ops.write(&t, VIRTIO_MMIO_STATUS + 2, &v32, 4);
	cr_assert_eq(drv_rd(&t, VIRTIO_MMIO_STATUS), 0);
	v64 = S_ACK;
	virtio_mmio_ops.write(&t, VIRTIO_MMIO_STATUS, &v64, 8);
	cr_assert_eq(drv_rd(&t, VIRTIO_MMIO_STATUS), 0);
}

Test(virtio_mmio, write_only_and_unknown_registers)
{
	cr_assert_eq(drv_rd(&t, VIRTIO_MMIO_QUEUE_NOTIFY), 0xffffffffu);
	cr_assert_eq(drv_rd(&t, VIRTIO_MMIO_INTERRUPT_ACK), 0xffffffffu);
	cr_assert_eq(drv_rd(&t, 0x0f0), 0xffffffffu);
	cr_assert_eq(drv_rd(&t, VIRTIO_MMIO_SHM_LEN_LOW), 0xffffffffu, "no shared memory region");
	drv_wr(&t, VIRTIO_MMIO_MAGIC_VALUE, 0);
	drv_wr(&t, VIRTIO_MMIO_INTERRUPT_STATUS, 3);
	drv_wr(&t, VIRTIO_MMIO_CONFIG_GENERATION, 7);
	cr_assert_eq(drv_rd(&t, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	cr_assert_eq(drv_rd(&t, VIRTIO_MMIO_CONFIG_GENERATION), 0);
}

Test(virtio_mmio, config_space_sizes)
{
	uint8_t b = 0;
	uint16_t h = 0;
	uint32_t w = 0;
	virtio_mmio_ops.read(&t, VIRTIO_MMIO_CONFIG + 3, &b, 1);
	cr_assert_eq(b, 4);
	virtio_mmio_ops.read(&t, VIRTIO_MMIO_CONFIG + 2, &h, 2);
	cr_assert_eq(h, 0x0403);
	virtio_mmio_ops.read(&t, VIRTIO_MMIO_CONFIG + 4, &w, 4);
	cr_assert_eq(w, 0x08070605);
	virtio_mmio_ops.read(&t, VIRTIO_MMIO_CONFIG + 1, &h, 2);
	cr_assert_eq(h, 0xffff, "misaligned");
	virtio_mmio_ops.read(&t, VIRTIO_MMIO_CONFIG + 6, &w, 4);
	cr_assert_eq(w, 0xffffffffu, "misaligned");
	virtio_mmio_ops.read(&t, VIRTIO_MMIO_CONFIG + 8, &b, 1);
	cr_assert_eq(b, 0xff, "beyond config_size");
	uint64_t q = 0;
	virtio_mmio_ops.read(&t, VIRTIO_MMIO_CONFIG, &q, 8);
	cr_assert_eq(q, UINT64_MAX, "8-byte access");
	w = 0xaabbccdd;
	virtio_mmio_ops.write(&t, VIRTIO_MMIO_CONFIG + 4, &w, 4);
	cr_assert_eq(fake.config_writes, 1);
	cr_assert_eq(fake.config[4], 0xdd);
	virtio_mmio_ops.write(&t, VIRTIO_MMIO_CONFIG + 7, &w, 4);
	cr_assert_eq(fake.config_writes, 1, "past the end: dropped");
}

Test(virtio_mmio, read_only_config_space)
{
	struct virtio_rng rng;
	struct virtio_mmio r;
	virtio_rng_init(&rng);
	cr_assert_eq(virtio_mmio_create(&r, &virtio_rng_ops, &rng, &guest_ram, -1, NULL, NULL, 3),
		     0);
	uint32_t w = 0;
	virtio_mmio_ops.read(&r, VIRTIO_MMIO_CONFIG, &w, 4);
	cr_assert_eq(w, 0xffffffffu);
	virtio_mmio_ops.write(&r, VIRTIO_MMIO_CONFIG, &w, 4);
	cr_assert_eq(drv_rd(&r, VIRTIO_MMIO_DEVICE_ID), 4);
	virtio_mmio_destroy(&r);
}

/* ---- Creation, command line, resample hook ------------------------------------------- */

Test(virtio_mmio, create_rejects_bad_arguments)
{
	struct virtio_mmio m;
	cr_assert_eq(virtio_mmio_create(&m, &fake_ops, &fake, &guest_ram, -1, NULL, NULL, 19),
		     -EINVAL);
	struct virtio_device_ops bad = fake_ops;
	bad.queue_max = 12;
	cr_assert_eq(virtio_mmio_create(&m, &bad, &fake, &guest_ram, -1, NULL, NULL, 1), -EINVAL);
	bad = fake_ops;
	bad.config_size = VIRTIO_MMIO_CONFIG_MAX + 1;
	cr_assert_eq(virtio_mmio_create(&m, &bad, &fake, &guest_ram, -1, NULL, NULL, 1), -EINVAL);
	bad = fake_ops;
	bad.config_read = NULL;
	cr_assert_eq(virtio_mmio_create(&m, &bad, &fake, &guest_ram, -1, NULL, NULL, 1), -EINVAL);
	bad = fake_ops;
	bad.queue_notify = NULL;
	cr_assert_eq(virtio_mmio_create(&m, &bad, &fake, &guest_ram, -1, NULL, NULL, 1), -EINVAL);
	virtio_mmio_destroy(&m); /* safe after a failed create */
}

Test(virtio_mmio, cmdline_fragment)
{
	char buf[64];
	cr_assert_eq(virtio_mmio_cmdline(0, buf, sizeof(buf)), 35);
	cr_assert_str_eq(buf, " virtio_mmio.device=4K@0xd0010000:5");
	cr_assert_gt(virtio_mmio_cmdline(18, buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, " virtio_mmio.device=4K@0xd0022000:23");
	cr_assert_eq(virtio_mmio_cmdline(19, buf, sizeof(buf)), -EINVAL);
	cr_assert_eq(virtio_mmio_cmdline(0, buf, 10), -ENOSPC);
	cr_assert_eq(virtio_mmio_slot_base(2), 0xd0012000ULL);
	cr_assert_eq(virtio_mmio_slot_gsi(2), 7);
}

Test(virtio_mmio, resample_hook_registered)
{
	struct ioapic io;
	struct virtio_mmio m;
	cr_assert_eq(ioapic_init(&io, -1), 0);
	cr_assert_eq(virtio_mmio_create(&m, &fake_ops, &fake, &guest_ram, -1, NULL, &io, 4), 0);
	cr_assert_not_null(io.resample[9]);
	cr_assert_eq(io.resample_opaque[9], &m);
	io.resample[9](io.resample_opaque[9]); /* no irqfd: harmless */
	virtio_mmio_destroy(&m);
	cr_assert_null(io.resample[9]);
}

/* ---- virtio-rng round trip ------------------------------------------------------------- */

/* Brings up an rng on slot 1 with queue 0 of size 8 at DESC/AVAIL/USED. */
static void rng_up(struct virtio_mmio *m, struct virtio_rng *rng, struct event_loop *loop,
		   uint64_t features, struct drv_ring *r)
{
	virtio_rng_init(rng);
	cr_assert_eq(virtio_mmio_create(m, &virtio_rng_ops, rng, &guest_ram, -1, loop, NULL, 1), 0);
	cr_assert_eq(drv_rd(m, VIRTIO_MMIO_DEVICE_ID), 4);
	drv_features_ok(m, features);
	drv_ring_init(r, m, 0, 8, DESC_GPA, AVAIL_GPA, USED_GPA);
	drv_go(m);
}

Test(virtio_mmio, rng_round_trip)
{
	struct virtio_mmio m;
	struct virtio_rng rng;
	struct drv_ring r;
	rng_up(&m, &rng, NULL, F_VERSION_1, &r);
	uint8_t *buf = gp(BUF_GPA, 64);
	memset(buf, 0, 64);
	r.desc[2] = (struct vring_desc){BUF_GPA, 64, VRING_DESC_F_WRITE, 0};
	drv_post(&r, 2);
	drv_kick(&r);
	cr_assert_eq(drv_used_idx(&r), 1);
	cr_assert_eq(r.used->ring[0].id, 2);
	cr_assert_eq(r.used->ring[0].len, 64);
	cr_assert_not(all_bytes(buf, 64, 0), "random bytes written");
	cr_assert_eq(rng.bytes_served, 64);
	cr_assert_eq(drv_rd(&m, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	cr_assert_eq(atomic_load(&m.interrupts), 1);
	drv_wr(&m, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	cr_assert_eq(drv_rd(&m, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	virtio_mmio_destroy(&m);
}

Test(virtio_mmio, rng_round_trip_indirect_event_idx)
{
	struct virtio_mmio m;
	struct virtio_rng rng;
	struct drv_ring r;
	rng_up(&m, &rng, NULL, F_VERSION_1 | F_EVENT_IDX | F_INDIRECT, &r);
	struct vring_desc *table = gp(BUF_GPA + 0x1000, 32);
	table[0] = (struct vring_desc){BUF_GPA, 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1};
	table[1] = (struct vring_desc){BUF_GPA + 0x100, 16, VRING_DESC_F_WRITE, 0};
	r.desc[0] = (struct vring_desc){BUF_GPA + 0x1000, 32, VRING_DESC_F_INDIRECT, 0};
	drv_set_used_event(&r, 0); /* interrupt after the first entry */
	drv_post(&r, 0);
	drv_kick(&r);
	cr_assert_eq(drv_used_idx(&r), 1);
	cr_assert_eq(r.used->ring[0].len, 32);
	cr_assert_eq(atomic_load(&m.interrupts), 1);
	cr_assert_eq(drv_avail_event(&r), 1, "kick me when entry 1 is made available");
	/* used_event still 0: the next buffer is returned without an interrupt. */
	drv_post(&r, 0);
	drv_kick(&r);
	cr_assert_eq(drv_used_idx(&r), 2);
	cr_assert_eq(atomic_load(&m.interrupts), 1);
	virtio_mmio_destroy(&m);
}

Test(virtio_mmio, rng_hostile_chain_needs_reset)
{
	struct virtio_mmio m;
	struct virtio_rng rng;
	struct drv_ring r;
	rng_up(&m, &rng, NULL, F_VERSION_1, &r);
	r.desc[0] = (struct vring_desc){RAM_SIZE - 8, 64, VRING_DESC_F_WRITE, 0};
	drv_post(&r, 0);
	drv_kick(&r);
	cr_assert_eq(drv_used_idx(&r), 0);
	cr_assert(drv_rd(&m, VIRTIO_MMIO_STATUS) & S_NEEDS_RESET);
	cr_assert(drv_rd(&m, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
	virtio_mmio_destroy(&m);
}

Test(virtio_mmio, rng_round_trip_through_event_loop)
{
	struct event_loop loop;
	cr_assert_eq(event_loop_init(&loop), 0);
	cr_assert_eq(event_loop_start(&loop), 0);
	struct virtio_mmio m;
	struct virtio_rng rng;
	struct drv_ring r;
	rng_up(&m, &rng, &loop, F_VERSION_1, &r);
	uint8_t *buf = gp(BUF_GPA, 4096);
	memset(buf, 0, 4096);
	r.desc[5] = (struct vring_desc){BUF_GPA, 4096, VRING_DESC_F_WRITE, 0};
	drv_post(&r, 5);
	drv_kick(&r);
	cr_assert(drv_wait_used(&r, 1, 2000), "the loop thread served the kick");
	cr_assert_eq(r.used->ring[0].id, 5);
	cr_assert_eq(r.used->ring[0].len, 4096);
	cr_assert_not(all_bytes(buf, 4096, 0));
	virtio_mmio_destroy(&m);
	event_loop_fini(&loop);
}

Test(virtio_mmio, notify_runs_on_loop_thread)
{
	struct event_loop loop;
	struct virtio_mmio m;
	cr_assert_eq(event_loop_init(&loop), 0);
	cr_assert_eq(event_loop_start(&loop), 0);
	fake.loop = &loop;
	cr_assert_eq(virtio_mmio_create(&m, &fake_ops, &fake, &guest_ram, -1, &loop, NULL, 2), 0);
	drv_negotiate(&m, F_VERSION_1);
	drv_queue_setup(&m, 0, 8, DESC_GPA, AVAIL_GPA, USED_GPA);
	drv_driver_ok(&m);
	drv_wr(&m, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	WAIT_UNTIL(__atomic_load_n(&fake.notifies[0], __ATOMIC_SEQ_CST) >= 1, 2000);
	virtio_mmio_destroy(&m);
	event_loop_fini(&loop);
	cr_assert_geq(fake.notifies[0], 1);
	cr_assert(fake.notified_on_loop_thread);
}

/* The loop thread owns the device: config space and Status writes made
 * on another thread (a vCPU's) run there, and the access waits for them. */
Test(virtio_mmio, device_ops_run_on_the_loop_thread)
{
	struct event_loop loop;
	struct virtio_mmio m;
	cr_assert_eq(event_loop_init(&loop), 0);
	cr_assert_eq(event_loop_start(&loop), 0);
	fake.loop = &loop;
	cr_assert_eq(virtio_mmio_create(&m, &fake_ops, &fake, &guest_ram, -1, &loop, NULL, 2), 0);
	drv_negotiate(&m, F_VERSION_1);
	drv_queue_setup(&m, 0, 8, DESC_GPA, AVAIL_GPA, USED_GPA);
	drv_driver_ok(&m);
	cr_assert_eq(fake.activations, 1, "the Status write returned before activate ran");
	cr_assert_eq(drv_rd(&m, VIRTIO_MMIO_CONFIG + 4), 0x08070605u);
	uint8_t b = 0xab;
	virtio_mmio_ops.write(&m, VIRTIO_MMIO_CONFIG + 1, &b, 1);
	cr_assert_eq(fake.config_writes, 1);
	cr_assert_eq(fake.config[1], 0xab);
	unsigned resets = fake.resets;
	drv_wr(&m, VIRTIO_MMIO_STATUS, 0);
	cr_assert_eq(fake.resets, resets + 1, "the reset returned before the device's reset ran");
	cr_assert_eq(fake.ops_off_loop, 0, "%u device ops ran off the loop thread",
		     fake.ops_off_loop);
	event_loop_stop(&loop);
	/* The run is over (the VM is ending): accesses are dropped, not run
	 * on this thread. */
	uint32_t v;
	virtio_mmio_ops.read(&m, VIRTIO_MMIO_CONFIG, &v, 4);
	cr_assert_eq(v, 0xffffffffu);
	drv_wr(&m, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	cr_assert_eq(fake.ops_off_loop, 0);
	virtio_mmio_destroy(&m);
	event_loop_fini(&loop);
}
