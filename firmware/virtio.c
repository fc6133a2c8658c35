/* virtio.c - the minnow-test virtio-mmio driver: page pool, slot discovery,
 * device initialisation (spec 3.1.1), split virtqueues, interrupts. */
#include "virtio.h"

#include "io.h"
#include "platform.h"

#define E820_RAM	       1
#define VIRTIO_VECTOR	       0x40 /* + slot */
#define WAKE_VECTOR	       0x31 /* LAPIC timer: lets the waits see the time */
#define LAPIC_TPR	       0x80
#define LAPIC_LVT_TMR	       0x320
#define VRING_USED_F_NO_NOTIFY 1

extern char _end[];

/* ---- page pool ---- */

static uint64_t pool_next, pool_end;

void fw_pool_init(const struct fw_boot_info *bi)
{
	uint64_t start = ((uint64_t)(uintptr_t)_end + 0xFFF) & ~0xFFFull;
	uint64_t end = start + (16ull << 20); /* a guess when there is no map */
	for (unsigned i = 0; i < bi->n_mem; i++) {
		const struct fw_mem_entry *e = &bi->mem[i];
		if (e->type == E820_RAM && e->addr <= start && start < e->addr + e->size)
			end = e->addr + e->size;
	}
	if (end > MMIO_GAP_START)
		end = MMIO_GAP_START;
	pool_next = start;
	pool_end = end;
}

void *fw_alloc(uint64_t bytes, uint64_t align)
{
	uint64_t p = (pool_next + align - 1) & ~(align - 1);
	if (!pool_end || p + bytes > pool_end || p + bytes < p) {
		fw_printf("minnow-test: out of memory (want %lu bytes, pool 0x%lx..0x%lx)\n", bytes,
			  pool_next, pool_end);
		fw_exit(FW_EXIT_FAIL);
	}
	pool_next = p + bytes;
	return (void *)(uintptr_t)p;
}

uint64_t fw_ram_end(void)
{
	return pool_end;
}

/* ---- discovery and registers ---- */

/* Slot layout: minnow's (platform.h) unless the command line says
 * virtio_mmio=BASE,STRIDE,SLOTS,GSI_BASE (hex; for running the scenarios
 * under other VMMs, e.g. QEMU microvm: 0xfeb00000,0x200,8,5). */
static uint64_t slot_base = VIRTIO_MMIO_BASE, slot_stride = VIRTIO_MMIO_STRIDE;
static unsigned slot_count = VIRTIO_MMIO_SLOTS, gsi_base = VIRTIO_GSI_BASE;

/* Set by virtio_scan() before use: kept out of .bss (zeroing is slow here). */
static struct vdev devs[VIRTIO_MAX_DEVS] __attribute__((section(".noinit")));
static struct vdev *by_slot[VIRTIO_MMIO_SLOTS] __attribute__((section(".noinit")));
static unsigned n_devs;

uint32_t vdev_read(const struct vdev *d, unsigned reg)
{
	return mmio_read32(d->base + reg);
}

void vdev_write(const struct vdev *d, unsigned reg, uint32_t v)
{
	mmio_write32(d->base + reg, v);
}

uint32_t vdev_status(const struct vdev *d)
{
	return vdev_read(d, VIRTIO_MMIO_STATUS);
}

unsigned virtio_scan(bool verbose)
{
	n_devs = 0;
	for (unsigned slot = 0; slot < VIRTIO_MMIO_SLOTS; slot++)
		by_slot[slot] = 0;
	for (unsigned slot = 0; slot < slot_count && n_devs < VIRTIO_MAX_DEVS; slot++) {
		uint64_t base = slot_base + slot * slot_stride;
		if (mmio_read32(base + VIRTIO_MMIO_MAGIC_VALUE) != VIRTIO_MMIO_MAGIC)
			continue;
		uint32_t id = mmio_read32(base + VIRTIO_MMIO_DEVICE_ID);
		uint32_t version = mmio_read32(base + VIRTIO_MMIO_VERSION);
		if (id == 0)
			continue;
		struct vdev *d = &devs[n_devs++];
		d->base = base;
		d->slot = slot;
		d->gsi = gsi_base + slot;
		d->device_id = id;
		d->offered = d->features = 0;
		d->isr_bits = 0;
		d->irqs = 0;
		by_slot[slot] = d;
		if (verbose)
			fw_printf("minnow-test: virtio slot=%u id=%u version=%u\n", slot, id,
				  version);
		if (version != 2)
			fw_printf("minnow-test: virtio slot=%u: version %u, want 2\n", slot,
				  version);
	}
	return n_devs;
}

static const char *parse_hex(const char *s, uint64_t *v)
{
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	*v = 0;
	for (;; s++) {
		unsigned d;
		if (*s >= '0' && *s <= '9')
			d = (unsigned)(*s - '0');
		else if (*s >= 'a' && *s <= 'f')
			d = (unsigned)(*s - 'a' + 10);
		else if (*s >= 'A' && *s <= 'F')
			d = (unsigned)(*s - 'A' + 10);
		else
			return s;
		*v = *v << 4 | d;
	}
}

static void layout_from_cmdline(const char *cmdline)
{
	char arg[80];
	uint64_t v[4];
	if (!cmdline_value(cmdline, "virtio_mmio", arg, sizeof(arg)))
		return;
	const char *p = arg;
	for (int i = 0; i < 4; i++) {
		p = parse_hex(p, &v[i]);
		if (*p != (i < 3 ? ',' : '\0')) {
			fw_printf("minnow-test: bad virtio_mmio=%s (want BASE,STRIDE,SLOTS,GSI)\n",
				  arg);
			return;
		}
		p++;
	}
	slot_base = v[0];
	slot_stride = v[1];
	slot_count = v[2] < VIRTIO_MMIO_SLOTS ? (unsigned)v[2] : VIRTIO_MMIO_SLOTS;
	gsi_base = (unsigned)v[3];
}

void virtio_start(const struct fw_boot_info *bi)
{
	fw_pool_init(bi);
	layout_from_cmdline(bi->cmdline);
	virtio_scan(true);
}

struct vdev *virtio_find(uint32_t device_id, unsigned nth)
{
	for (unsigned i = 0; i < n_devs; i++) {
		if (devs[i].device_id == device_id && nth-- == 0)
			return &devs[i];
	}
	return 0;
}

uint8_t vdev_cfg8(const struct vdev *d, unsigned off)
{
	return mmio_read8(d->base + VIRTIO_MMIO_CONFIG + off);
}

uint16_t vdev_cfg16(const struct vdev *d, unsigned off)
{
	return mmio_read16(d->base + VIRTIO_MMIO_CONFIG + off);
}

uint32_t vdev_cfg32(const struct vdev *d, unsigned off)
{
	return mmio_read32(d->base + VIRTIO_MMIO_CONFIG + off);
}

uint64_t vdev_cfg64(const struct vdev *d, unsigned off)
{
	for (;;) {
		uint32_t gen = vdev_read(d, VIRTIO_MMIO_CONFIG_GENERATION);
		uint64_t lo = vdev_cfg32(d, off);
		uint64_t hi = vdev_cfg32(d, off + 4);
		if (vdev_read(d, VIRTIO_MMIO_CONFIG_GENERATION) == gen)
			return lo | hi << 32;
	}
}

/* ---- initialisation ---- */

bool virtio_reset(struct vdev *d)
{
	vdev_write(d, VIRTIO_MMIO_STATUS, 0);
	uint32_t s = vdev_status(d);
	if (s != 0) {
		fw_printf("minnow-test: virtio slot=%u: Status reads 0x%x after reset\n", d->slot,
			  s);
		return false;
	}
	return true;
}

bool virtio_begin(struct vdev *d, uint64_t want)
{
	if (!virtio_reset(d))
		return false;
	vdev_write(d, VIRTIO_MMIO_STATUS, VIRTIO_S_ACKNOWLEDGE);
	vdev_write(d, VIRTIO_MMIO_STATUS, VIRTIO_S_ACKNOWLEDGE | VIRTIO_S_DRIVER);
	vdev_write(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	uint64_t lo = vdev_read(d, VIRTIO_MMIO_DEVICE_FEATURES);
	vdev_write(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	uint64_t hi = vdev_read(d, VIRTIO_MMIO_DEVICE_FEATURES);
	d->offered = lo | hi << 32;
	if (!(d->offered & VIRTIO_BIT(VIRTIO_F_VERSION_1))) {
		fw_printf("minnow-test: virtio slot=%u: VERSION_1 not offered (0x%lx)\n", d->slot,
			  d->offered);
		vdev_write(d, VIRTIO_MMIO_STATUS, VIRTIO_S_FAILED);
		return false;
	}
	d->features = (want & d->offered) | VIRTIO_BIT(VIRTIO_F_VERSION_1);
	vdev_write(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	vdev_write(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)d->features);
	vdev_write(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	vdev_write(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(d->features >> 32));
	uint32_t s = VIRTIO_S_ACKNOWLEDGE | VIRTIO_S_DRIVER | VIRTIO_S_FEATURES_OK;
	vdev_write(d, VIRTIO_MMIO_STATUS, s);
	uint32_t got = vdev_status(d);
	if (got != s) {
		fw_printf("minnow-test: virtio slot=%u: FEATURES_OK refused (status 0x%x, "
			  "features 0x%lx)\n",
			  d->slot, got, d->features);
		vdev_write(d, VIRTIO_MMIO_STATUS, got | VIRTIO_S_FAILED);
		return false;
	}
	return true;
}

bool virtq_setup(struct vdev *d, struct virtq *q, unsigned index, uint16_t want)
{
	vdev_write(d, VIRTIO_MMIO_QUEUE_SEL, index);
	if (vdev_read(d, VIRTIO_MMIO_QUEUE_READY) != 0) {
		fw_printf("minnow-test: virtio slot=%u queue %u: ready before setup\n", d->slot,
			  index);
		return false;
	}
	uint32_t max = vdev_read(d, VIRTIO_MMIO_QUEUE_NUM_MAX);
	if (max == 0) {
		fw_printf("minnow-test: virtio slot=%u queue %u: QueueNumMax 0\n", d->slot, index);
		return false;
	}
	uint32_t size = want;
	if (size > max)
		size = max;
	if (size > VQ_MAX_SIZE)
		size = VQ_MAX_SIZE;
	q->dev = d;
	q->index = index;
	q->size = (uint16_t)size;
	q->desc = fw_alloc(16ull * size, 4096);
	q->avail = fw_alloc(6 + 2ull * size, 64);
	q->used = fw_alloc(6 + 8ull * size, 64);
	q->avail->flags = 0;
	q->avail->idx = 0;
	q->used->flags = 0;
	q->used->idx = 0;
	for (uint32_t i = 0; i < size; i++) {
		q->desc[i].next = (uint16_t)(i + 1);
		q->chain_len[i] = 0;
	}
	q->free_head = 0;
	q->num_free = (uint16_t)size;
	q->avail_idx = q->last_used = q->kicked_idx = 0;
	q->indirect = 0;
	q->event_idx = d->features & VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
	q->kicks = q->kicks_saved = 0;

	uint64_t desc = (uint64_t)(uintptr_t)q->desc;
	uint64_t avail = (uint64_t)(uintptr_t)q->avail;
	uint64_t used = (uint64_t)(uintptr_t)q->used;
	vdev_write(d, VIRTIO_MMIO_QUEUE_NUM, size);
	vdev_write(d, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
	vdev_write(d, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
	vdev_write(d, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)avail);
	vdev_write(d, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, (uint32_t)(avail >> 32));
	vdev_write(d, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)used);
	vdev_write(d, VIRTIO_MMIO_QUEUE_USED_HIGH, (uint32_t)(used >> 32));
	vdev_write(d, VIRTIO_MMIO_QUEUE_READY, 1);
	if (vdev_read(d, VIRTIO_MMIO_QUEUE_READY) != 1) {
		fw_printf("minnow-test: virtio slot=%u queue %u: QueueReady did not stick "
			  "(status 0x%x)\n",
			  d->slot, index, vdev_status(d));
		return false;
	}
	return true;
}

bool virtio_driver_ok(struct vdev *d)
{
	uint32_t s = VIRTIO_S_ACKNOWLEDGE | VIRTIO_S_DRIVER | VIRTIO_S_FEATURES_OK;
	vdev_write(d, VIRTIO_MMIO_STATUS, s | VIRTIO_S_DRIVER_OK);
	uint32_t got = vdev_status(d);
	if (got != (s | VIRTIO_S_DRIVER_OK)) {
		fw_printf("minnow-test: virtio slot=%u: status 0x%x after DRIVER_OK\n", d->slot,
			  got);
		return false;
	}
	return true;
}

/* ---- queues ---- */

static void publish(struct virtq *q, uint16_t head)
{
	q->avail->ring[q->avail_idx & (q->size - 1)] = head;
	barrier(); /* x86 keeps stores in order; the compiler must too */
	q->avail_idx++;
	q->avail->idx = q->avail_idx;
}

void virtq_publish_raw(struct virtq *q, uint16_t head)
{
	publish(q, head);
}

int virtq_add(struct virtq *q, const struct vq_buf *bufs, unsigned n)
{
	if (n == 0 || n > q->num_free)
		return -1;
	uint16_t head = q->free_head, i = head, last = head;
	for (unsigned k = 0; k < n; k++) {
		volatile struct vring_desc *dsc = &q->desc[i];
		uint16_t next = dsc->next;
		dsc->addr = bufs[k].addr;
		dsc->len = bufs[k].len;
		dsc->flags = (uint16_t)((bufs[k].write ? VRING_DESC_F_WRITE : 0) |
					(k + 1 < n ? VRING_DESC_F_NEXT : 0));
		last = i;
		i = next;
	}
	(void)last;
	q->free_head = i;
	q->num_free = (uint16_t)(q->num_free - n);
	q->chain_len[head] = (uint16_t)n;
	publish(q, head);
	return head;
}

int virtq_add_indirect(struct virtq *q, const struct vq_buf *bufs, unsigned n)
{
	if (n == 0 || n > VQ_INDIRECT_MAX || q->num_free == 0)
		return -1;
	if (!q->indirect)
		q->indirect = (uint64_t)(uintptr_t)fw_alloc(
		    (uint64_t)q->size * VQ_INDIRECT_MAX * sizeof(struct vring_desc), 16);
	uint16_t head = q->free_head;
	volatile struct vring_desc *table =
	    (volatile struct vring_desc *)(uintptr_t)(q->indirect +
						      (uint64_t)head * VQ_INDIRECT_MAX * 16);
	for (unsigned k = 0; k < n; k++) {
		table[k].addr = bufs[k].addr;
		table[k].len = bufs[k].len;
		table[k].flags = (uint16_t)((bufs[k].write ? VRING_DESC_F_WRITE : 0) |
					    (k + 1 < n ? VRING_DESC_F_NEXT : 0));
		table[k].next = (uint16_t)(k + 1);
	}
	volatile struct vring_desc *dsc = &q->desc[head];
	q->free_head = dsc->next;
	q->num_free--;
	dsc->addr = (uint64_t)(uintptr_t)table;
	dsc->len = n * 16;
	dsc->flags = VRING_DESC_F_INDIRECT;
	q->chain_len[head] = 1;
	publish(q, head);
	return head;
}

void virtq_kick(struct virtq *q)
{
	uint16_t old = q->kicked_idx, now = q->avail_idx;
	q->kicked_idx = now;
	mb(); /* the avail idx store before reading the device's suppression */
	bool need;
	if (q->event_idx) {
		volatile uint16_t *avail_event =
		    (volatile uint16_t *)((uintptr_t)q->used + 4 + 8u * q->size);
		uint16_t ev = *avail_event;
		need = (uint16_t)(now - ev - 1) < (uint16_t)(now - old);
	} else {
		need = !(q->used->flags & VRING_USED_F_NO_NOTIFY);
	}
	if (!need) {
		q->kicks_saved++;
		return;
	}
	q->kicks++;
	vdev_write(q->dev, VIRTIO_MMIO_QUEUE_NOTIFY, q->index);
}

bool virtq_get(struct virtq *q, uint16_t *head, uint32_t *len)
{
	if (q->used->idx == q->last_used)
		return false;
	barrier(); /* loads stay in order on x86 */
	volatile struct vring_used_elem *e = &q->used->ring[q->last_used & (q->size - 1)];
	uint32_t id = e->id;
	*len = e->len;
	q->last_used++;
	if (q->event_idx) {
		volatile uint16_t *used_event = &q->avail->ring[q->size];
		*used_event = q->last_used;
	}
	if (id >= q->size || q->chain_len[id] == 0) {
		fw_printf("minnow-test: virtio slot=%u queue %u: used id %u is not a chain "
			  "head\n",
			  q->dev->slot, q->index, id);
		*head = 0xFFFF;
		return true;
	}
	uint16_t n = q->chain_len[id], i = (uint16_t)id;
	q->chain_len[id] = 0;
	for (uint16_t k = 1; k < n; k++)
		i = q->desc[i].next;
	q->desc[i].next = q->free_head;
	q->free_head = (uint16_t)id;
	q->num_free = (uint16_t)(q->num_free + n);
	*head = (uint16_t)id;
	return true;
}

bool virtq_wait(struct virtq *q, uint16_t *head, uint32_t *len, uint32_t timeout_us)
{
	uint32_t t0 = fw_time_us();
	for (;;) {
		for (unsigned i = 0; i < 64; i++) {
			if (virtq_get(q, head, len))
				return true;
			__asm__ volatile("pause");
		}
		if (fw_time_us() - t0 > timeout_us)
			return false;
	}
}

int64_t virtq_transact(struct virtq *q, const struct vq_buf *bufs, unsigned n, bool indirect,
		       uint32_t timeout_us)
{
	int head = indirect ? virtq_add_indirect(q, bufs, n) : virtq_add(q, bufs, n);
	if (head < 0) {
		fw_printf("minnow-test: virtio slot=%u queue %u: no free descriptors\n",
			  q->dev->slot, q->index);
		return -1;
	}
	virtq_kick(q);
	uint16_t got;
	uint32_t len;
	if (!virtq_wait(q, &got, &len, timeout_us)) {
		fw_printf("minnow-test: virtio slot=%u queue %u: no answer within %u us "
			  "(status 0x%x)\n",
			  q->dev->slot, q->index, timeout_us, vdev_status(q->dev));
		return -1;
	}
	if (got != head) {
		fw_printf("minnow-test: virtio slot=%u queue %u: used head %u, want %d\n",
			  q->dev->slot, q->index, got, head);
		return -1;
	}
	return len;
}

/* ---- interrupts ---- */

static bool irq_ready;

static void virtio_irq(unsigned vector)
{
	unsigned slot = vector - VIRTIO_VECTOR;
	struct vdev *d = slot < VIRTIO_MMIO_SLOTS ? by_slot[slot] : 0;
	if (!d)
		return;
	uint32_t bits = vdev_read(d, VIRTIO_MMIO_INTERRUPT_STATUS);
	if (bits)
		vdev_write(d, VIRTIO_MMIO_INTERRUPT_ACK, bits);
	d->isr_bits |= bits;
	d->irqs++;
}

static void wake_irq(unsigned vector)
{
	/* Only wakes the waiting loop so that it can check the time. */
}

void virtio_irq_enable(struct vdev *d)
{
	if (!irq_ready) {
		idt_init(256);
		lapic_enable();
		lapic_write(LAPIC_TPR, 0);
		irq_set_handler(WAKE_VECTOR, wake_irq);
		irq_ready = true;
	}
	irq_set_handler(VIRTIO_VECTOR + d->slot, virtio_irq);
	ioapic_route(d->gsi, VIRTIO_VECTOR + d->slot, false, lapic_id());
}

bool virtio_irq_wait(struct vdev *d, uint32_t bits, uint32_t timeout_us)
{
	uint32_t t0 = fw_time_us();
	bool ok = false;
	lapic_timer_periodic(WAKE_VECTOR, 1250000); /* ~20 ms */
	for (;;) {
		cpu_cli();
		if (d->isr_bits & bits) {
			d->isr_bits &= ~bits;
			ok = true;
			break;
		}
		if (fw_time_us() - t0 > timeout_us)
			break;
		cpu_wait_irq();
	}
	lapic_write(LAPIC_LVT_TMR, 1u << 16); /* masked */
	return ok;
}

/* ---- helpers ---- */

void print_hex(const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		fw_printf("%02x", b[i]);
}

bool parse_ipv4(const char *s, uint8_t ip[4])
{
	for (int i = 0; i < 4; i++) {
		unsigned v = 0, digits = 0;
		while (*s >= '0' && *s <= '9' && digits < 4) {
			v = v * 10 + (unsigned)(*s++ - '0');
			digits++;
		}
		if (!digits || v > 255)
			return false;
		ip[i] = (uint8_t)v;
		if (i < 3 && *s++ != '.')
			return false;
	}
	return *s == '\0';
}
