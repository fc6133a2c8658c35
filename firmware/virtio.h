/* virtio.h - the minnow-test virtio-mmio driver: slot discovery, the device
 * initialisation of virtio 1.x section 3.1.1, split virtqueues with direct
 * and indirect descriptor chains, used-ring polling or interrupts through
 * the IOAPIC, config space reads, plus a page allocator for rings and
 * buffers and the scenarios built on it. */
#ifndef FW_VIRTIO_H
#define FW_VIRTIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fw.h"

/* ---- virtio-mmio register offsets (virtio 1.x section 4.2.2) ---- */
#define VIRTIO_MMIO_MAGIC_VALUE		0x000
#define VIRTIO_MMIO_VERSION		0x004
#define VIRTIO_MMIO_DEVICE_ID		0x008
#define VIRTIO_MMIO_VENDOR_ID		0x00c
#define VIRTIO_MMIO_DEVICE_FEATURES	0x010
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014
#define VIRTIO_MMIO_DRIVER_FEATURES	0x020
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024
#define VIRTIO_MMIO_QUEUE_SEL		0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX	0x034
#define VIRTIO_MMIO_QUEUE_NUM		0x038
#define VIRTIO_MMIO_QUEUE_READY		0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY	0x050
#define VIRTIO_MMIO_INTERRUPT_STATUS	0x060
#define VIRTIO_MMIO_INTERRUPT_ACK	0x064
#define VIRTIO_MMIO_STATUS		0x070
#define VIRTIO_MMIO_QUEUE_DESC_LOW	0x080
#define VIRTIO_MMIO_QUEUE_DESC_HIGH	0x084
#define VIRTIO_MMIO_QUEUE_AVAIL_LOW	0x090
#define VIRTIO_MMIO_QUEUE_AVAIL_HIGH	0x094
#define VIRTIO_MMIO_QUEUE_USED_LOW	0x0a0
#define VIRTIO_MMIO_QUEUE_USED_HIGH	0x0a4
#define VIRTIO_MMIO_CONFIG_GENERATION	0x0fc
#define VIRTIO_MMIO_CONFIG		0x100

#define VIRTIO_MMIO_MAGIC 0x74726976u /* "virt" */

/* Status bits. */
#define VIRTIO_S_ACKNOWLEDGE 0x01
#define VIRTIO_S_DRIVER	     0x02
#define VIRTIO_S_DRIVER_OK   0x04
#define VIRTIO_S_FEATURES_OK 0x08
#define VIRTIO_S_NEEDS_RESET 0x40
#define VIRTIO_S_FAILED	     0x80

/* Transport feature bits. */
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX     29
#define VIRTIO_F_VERSION_1     32
#define VIRTIO_BIT(n)	       (1ull << (n))

/* Device IDs. */
#define VIRTIO_ID_NET	  1
#define VIRTIO_ID_BLOCK	  2
#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_ID_RNG	  4
#define VIRTIO_ID_VSOCK	  19

/* Descriptor flags. */
#define VRING_DESC_F_NEXT     1
#define VRING_DESC_F_WRITE    2
#define VRING_DESC_F_INDIRECT 4

struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};
_Static_assert(sizeof(struct vring_desc) == 16, "vring_desc");

struct vring_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[]; /* size entries, then used_event */
};

struct vring_used_elem {
	uint32_t id;
	uint32_t len;
};

struct vring_used {
	uint16_t flags;
	uint16_t idx;
	struct vring_used_elem ring[]; /* size entries, then avail_event */
};

/* One virtio-mmio device found by virtio_scan(). */
struct vdev {
	uint64_t base;	    /* register page */
	unsigned slot;	    /* 0 .. VIRTIO_MMIO_SLOTS - 1 */
	unsigned gsi;	    /* IOAPIC pin */
	uint32_t device_id; /* VIRTIO_ID_* */
	uint64_t offered;   /* device feature bits (read by virtio_begin) */
	uint64_t features;  /* bits the driver accepted */
	/* Interrupt bookkeeping (virtio_irq_enable). */
	volatile uint32_t isr_bits; /* InterruptStatus bits seen and acknowledged */
	volatile unsigned irqs;	    /* interrupts taken */
};

#define VQ_MAX_SIZE 256 /* the most descriptors a driver queue uses */

/* One buffer of a chain: guest physical (== virtual) address and length. */
struct vq_buf {
	uint64_t addr;
	uint32_t len;
	bool write; /* device-writable */
};

/* The driver side of a split virtqueue. */
struct virtq {
	struct vdev *dev;
	unsigned index;
	uint16_t size;
	volatile struct vring_desc *desc;
	volatile struct vring_avail *avail;
	volatile struct vring_used *used;
	uint16_t free_head; /* first free descriptor (list through .next) */
	uint16_t num_free;
	uint16_t avail_idx;		 /* next avail ring index to publish */
	uint16_t last_used;		 /* next used ring entry to consume */
	uint16_t kicked_idx;		 /* avail_idx at the last notification decision */
	uint16_t chain_len[VQ_MAX_SIZE]; /* descriptors held by each head */
	uint64_t indirect;		 /* VQ_MAX_SIZE tables of VQ_INDIRECT_MAX */
	bool event_idx;			 /* VIRTIO_F_EVENT_IDX negotiated */
	unsigned kicks;			 /* QueueNotify writes */
	unsigned kicks_saved;		 /* notifications suppressed by avail_event */
};

#define VQ_INDIRECT_MAX 16 /* descriptors in one indirect table */

/* ---- memory ---- */

/* Sets the page pool: from the end of the image up to the end of the RAM
 * entry holding it (at most `limit` bytes). Fresh pages are zero (guest RAM
 * starts zeroed and the pool never reuses memory). */
void fw_pool_init(const struct fw_boot_info *bi);
/* `bytes` from the pool, aligned to `align` (a power of two); never fails
 * silently: exits with FW_EXIT_FAIL when the pool is exhausted. */
void *fw_alloc(uint64_t bytes, uint64_t align);
/* First byte past the pool (for checks against RAM). */
uint64_t fw_ram_end(void);

/* ---- discovery and registers ---- */

#define VIRTIO_MAX_DEVS 19

/* What every virtio scenario does first: fw_pool_init() and a verbose
 * virtio_scan(). */
void virtio_start(const struct fw_boot_info *bi);

/* Scans every slot for MagicValue and a non-zero DeviceID; prints one
 * "minnow-test: virtio slot=N id=D version=V" line per device when
 * `verbose`. Returns how many were found (kept in a table). */
unsigned virtio_scan(bool verbose);
/* The `nth` (0-based) device with `device_id`, or NULL. */
struct vdev *virtio_find(uint32_t device_id, unsigned nth);

uint32_t vdev_read(const struct vdev *d, unsigned reg);
void vdev_write(const struct vdev *d, unsigned reg, uint32_t v);
uint32_t vdev_status(const struct vdev *d);

/* Config space reads at `off` (from 0x100), with the ConfigGeneration
 * retry loop of spec 4.2.2.2 for the 64-bit read. */
uint8_t vdev_cfg8(const struct vdev *d, unsigned off);
uint16_t vdev_cfg16(const struct vdev *d, unsigned off);
uint32_t vdev_cfg32(const struct vdev *d, unsigned off);
uint64_t vdev_cfg64(const struct vdev *d, unsigned off);

/* ---- initialisation (spec 3.1.1) ---- */

/* Reset (and check Status reads 0), ACKNOWLEDGE, DRIVER, read the offered
 * features, accept (want & offered) | VERSION_1, FEATURES_OK and read it
 * back. Prints the reason and returns false on any failure. */
bool virtio_begin(struct vdev *d, uint64_t want);
/* Sets up queue `index`: QueueSel, QueueNumMax (0: missing), QueueNum =
 * min(max, want), fresh rings from the pool, addresses, QueueReady = 1.
 * Returns false (with a message) on failure. */
bool virtq_setup(struct vdev *d, struct virtq *q, unsigned index, uint16_t want);
/* Sets DRIVER_OK and checks that it stuck without NEEDS_RESET. */
bool virtio_driver_ok(struct vdev *d);
/* Writes 0 to Status and checks that it reads back 0. */
bool virtio_reset(struct vdev *d);

/* ---- queues ---- */

/* Adds a chain of `n` buffers (readable ones first), publishes it in the
 * avail ring (not notified yet). Returns the head, or -1 when there are
 * not enough free descriptors. */
int virtq_add(struct virtq *q, const struct vq_buf *bufs, unsigned n);
/* The same through one indirect descriptor (n <= VQ_INDIRECT_MAX); needs
 * VIRTIO_F_INDIRECT_DESC. */
int virtq_add_indirect(struct virtq *q, const struct vq_buf *bufs, unsigned n);
/* Publishes a raw head index in the avail ring (for the malicious cases:
 * no checks, no descriptor bookkeeping). */
void virtq_publish_raw(struct virtq *q, uint16_t head);
/* Notifies the device (QueueNotify) unless EVENT_IDX says it need not. */
void virtq_kick(struct virtq *q);
/* Takes one used element if there is one: true with head and len, and the
 * chain's descriptors freed. */
bool virtq_get(struct virtq *q, uint16_t *head, uint32_t *len);
/* virtq_get() polling until `timeout_us` passes. */
bool virtq_wait(struct virtq *q, uint16_t *head, uint32_t *len, uint32_t timeout_us);
/* Adds, kicks and waits for one chain; returns the used length or -1
 * (timeout, or the device answered another head). */
int64_t virtq_transact(struct virtq *q, const struct vq_buf *bufs, unsigned n, bool indirect,
		       uint32_t timeout_us);

/* ---- interrupts ---- */

/* Sets up the IDT (256 vectors), the LAPIC, and routes d's IOAPIC pin
 * (edge, to this CPU) to vector 0x40 + slot; the handler acknowledges
 * InterruptStatus and accumulates it in d->isr_bits. */
void virtio_irq_enable(struct vdev *d);
/* Waits (hlt) until d->isr_bits has one of `bits` (then clears them) or
 * `timeout_us` passes; a LAPIC timer wakes the CPU periodically. */
bool virtio_irq_wait(struct vdev *d, uint32_t bits, uint32_t timeout_us);

/* ---- small helpers ---- */

/* A full memory barrier (lock add; mfence is SSE2). */
static inline void mb(void)
{
	__asm__ volatile("lock addl $0, (%%rsp)" : : : "memory", "cc");
}

/* Prints `n` bytes as hex. */
void print_hex(const void *p, size_t n);
/* Parses dotted-quad IPv4 into network-order bytes. */
bool parse_ipv4(const char *s, uint8_t ip[4]);

#define VIRTIO_TIMEOUT_US 5000000u

/* ---- virtio-blk (virtio_blk.c) ---- */

#define VIRTIO_BLK_F_SIZE_MAX	  1
#define VIRTIO_BLK_F_SEG_MAX	  2
#define VIRTIO_BLK_F_RO		  5
#define VIRTIO_BLK_F_BLK_SIZE	  6
#define VIRTIO_BLK_F_FLUSH	  9
#define VIRTIO_BLK_F_DISCARD	  13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

#define VIRTIO_BLK_T_IN		  0
#define VIRTIO_BLK_T_OUT	  1
#define VIRTIO_BLK_T_FLUSH	  4
#define VIRTIO_BLK_T_GET_ID	  8
#define VIRTIO_BLK_T_DISCARD	  11
#define VIRTIO_BLK_T_WRITE_ZEROES 13

#define VIRTIO_BLK_S_OK	    0
#define VIRTIO_BLK_S_IOERR  1
#define VIRTIO_BLK_S_UNSUPP 2

struct virtio_blk_req_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

/* A driven virtio-blk device with one request queue. */
struct blk {
	struct vdev *d;
	struct virtq *q;
	uint64_t capacity; /* 512-byte sectors */
	uint32_t blk_size, seg_max, size_max;
	bool ro;
	struct virtio_blk_req_hdr *hdr; /* scratch request header */
	volatile uint8_t *status;	/* scratch status byte */
};

/* Initialises `d` as virtio-blk (features `want` on top of the usual
 * RO/SIZE_MAX/SEG_MAX/BLK_SIZE/FLUSH/DISCARD/WRITE_ZEROES) with a queue of
 * up to `qsize` entries and DRIVER_OK. Returns false with a message. */
bool blk_open(struct blk *b, struct vdev *d, uint64_t want, uint16_t qsize);
/* One request: header, `nbufs` data buffers (device-writable for IN and
 * GET_ID), status. Returns the status byte or -1 (no answer). */
int blk_request(struct blk *b, uint32_t type, uint64_t sector, const struct vq_buf *data,
		unsigned nbufs, bool indirect);
/* Reads / writes `n` sectors at `sector` from / to buf as one buffer. */
int blk_rw(struct blk *b, uint32_t type, uint64_t sector, void *buf, uint32_t n);
/* The 64-bit word `i` of the test pattern of sector `s` (the host test
 * computes the same). */
uint64_t blk_pattern(uint64_t s, unsigned i);
/* Fills / checks `n` sectors of pattern starting at sector `s`; check
 * returns the index of the first bad word or -1. */
void blk_fill(uint64_t *buf, uint64_t s, uint32_t n);
int64_t blk_check(const uint64_t *buf, uint64_t s, uint32_t n);

/* ---- scenarios (virtio_tests.c, virtio_net.c, virtio_vsock.c,
 * virtio_evil.c, blk_bench.c) ---- */

int test_virtio_rng(const struct fw_boot_info *bi);
int test_virtio_blk(const struct fw_boot_info *bi);
int test_virtio_console(const struct fw_boot_info *bi);
int test_virtio_multi(const struct fw_boot_info *bi);
int test_virtio_net(const struct fw_boot_info *bi);
int test_virtio_vsock(const struct fw_boot_info *bi);
/* test=vsock-peer-gone (virtio_vsock.c): the host end of a connection vanishes. */
int test_vsock_peer_gone(const struct fw_boot_info *bi);
/* test=evil-NAME: `name` is what follows "evil-". */
int test_virtio_evil(const struct fw_boot_info *bi, const char *name);
int test_blk_bench(const struct fw_boot_info *bi);
/* test=exit-cost (exit_cost.c): nanoseconds per access of each way a VMM
 * serves one (in KVM, ioeventfd, VMM exits for MMIO and port I/O). */
int test_exit_cost(const struct fw_boot_info *bi);
int test_blk_ioerr(const struct fw_boot_info *bi);
/* test=blk-flush (blk_flush.c): writes, FLUSH, "blk-flush flushed", then halts for good. */
int test_blk_flush(const struct fw_boot_info *bi);
/* test=blk-last-words (blk_flush.c): the same writes kicked at once, then exit 0 without waiting.
 */
int test_blk_last_words(const struct fw_boot_info *bi);
/* test=blk-ticks (blk_flush.c): write, read back, check, for ever; a line every 32 rounds. */
int test_blk_ticks(const struct fw_boot_info *bi);
/* test=blk-truncated, test=net-gone (faults.c): host faults under a running VM. */
int test_blk_truncated(const struct fw_boot_info *bi);
int test_net_gone(const struct fw_boot_info *bi);

#endif
