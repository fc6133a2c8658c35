/* fuzz_virtio_mmio.c - libFuzzer harness: virtio-mmio registers driving virtio-rng and -blk. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "config.h"
#include "virtio_fuzz.h"
#include "guest_mem.h"
#include "virtio_blk.h"
#include "virtio_mmio.h"
#include "virtio_rng.h"

/* No KVM and no event loop: guest RAM and a sequence of register accesses come from the
 * input, so that queue setup and QueueNotify drive both devices; the transport's state is
 * checked after every access. */

#define RAM_SIZE   (1u << 20)
#define IMAGE_SIZE (64u << 10)
#define NDEV	   2 /* 0: rng, 1: blk */

/* ---- Host calls made deterministic ------------------------------------------------
 * Linked with -Wl,--wrap=getrandom,--wrap=fdatasync: the rng's bytes land
 * in guest RAM, where the guest may read them as ring contents, so they
 * must be the same on every run; fdatasync would only make runs slow. */

ssize_t __wrap_getrandom(void *buf, size_t len, unsigned flags);
int __wrap_fdatasync(int fd);

static uint64_t rng_state;

ssize_t __wrap_getrandom(void *buf, size_t len, unsigned flags)
{
	(void)flags;
	uint8_t *p = buf;
	for (size_t i = 0; i < len; i++) {
		rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
		p[i] = (uint8_t)(rng_state >> 56);
	}
	return (ssize_t)len;
}

int __wrap_fdatasync(int fd)
{
	return fcntl(fd, F_GETFD) < 0 ? -1 : 0;
}

/* ---- Harness state ------------------------------------------------------------------ */

static struct guest_mem mem;
static int image_fd = -1;
static char image_path[32];
static uint8_t image_pattern[IMAGE_SIZE];
static bool direct_ok; /* the image's file system takes O_DIRECT */

static struct drive_config drive(bool readonly, bool direct)
{
	struct drive_config d;
	memset(&d, 0, sizeof(d));
	snprintf(d.name, sizeof(d.name), "fuzz");
	snprintf(d.path.path, sizeof(d.path.path), "%s", image_path);
	d.readonly = readonly;
	d.cache = direct ? CACHE_NONE : CACHE_WRITEBACK;
	snprintf(d.serial, sizeof(d.serial), "fuzz-serial-01234567");
	return d;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	guest_mem_layout(&mem, RAM_SIZE);
	mem.host = aligned_alloc(4096, RAM_SIZE); /* ASan sees accesses past the end */
	if (!mem.host)
		abort();

	/* The drive's image: an unlinked file on a real file system (so that
	 * O_DIRECT can work), reached through /proc/self/fd. */
	const char *tmp = getenv("TMPDIR");
	char dir[512];
	snprintf(dir, sizeof(dir), "%s/minnow-fuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		abort();
	char file[600];
	snprintf(file, sizeof(file), "%s/image", dir);
	image_fd = open(file, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (image_fd < 0 || unlink(file) < 0 || rmdir(dir) < 0)
		abort();
	snprintf(image_path, sizeof(image_path), "/proc/self/fd/%d", image_fd);
	for (size_t i = 0; i < IMAGE_SIZE; i++)
		image_pattern[i] = (uint8_t)(i * 7 + i / 512);
	if (pwrite(image_fd, image_pattern, IMAGE_SIZE, 0) != IMAGE_SIZE)
		abort();

	char err[512];
	struct drive_config d = drive(false, true);
	struct virtio_blk *probe = virtio_blk_create(&d, NULL, err, sizeof(err));
	direct_ok = probe != NULL;
	virtio_blk_destroy(probe);
	if (!direct_ok)
		fprintf(stderr, "fuzz_virtio_mmio: no O_DIRECT in %s: %s\n", dir, err);
	return 0;
}

/* ---- Operations ----------------------------------------------------------------------
 * A flags byte (bit 0: read-only drive, bit 1: cache = none), a little-endian
 * u16 count of RAM bytes copied to guest physical 0, those bytes, then
 * operations, each a kind byte and its arguments. Bit 3 of the kind byte
 * picks the device, bits 4-5 the access size. */
enum op {
	OP_WRITE,  /* u16 offset, u32 value */
	OP_WRITE2, /* same, more likely */
	OP_WRITE3,
	OP_READ, /* u16 offset */
	OP_READ2,
	OP_RAM,	  /* u32 gpa, u8 n, n bytes */
	OP_KICK,  /* u8 queue: a 4-byte QueueNotify write */
	OP_SETUP, /* u8 what, u8 log2 size, u16 desc, u16 avail, u16 used: a driver's bring-up */
};

struct dev {
	struct virtio_mmio t;
	const char *name;
};

static const unsigned sizes[] = {4, 1, 2, 8};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = fuzz_input(data, size);
	int fd_baseline = lowest_free_fd();
	uint8_t flags = fuzz_u8(&in);
	size_t got;
	const uint8_t *contents = fuzz_take(&in, fuzz_u16(&in), &got);
	memset(mem.host, 0, RAM_SIZE);
	memcpy(mem.host, contents, got);
	rng_state = 0;
	if (ftruncate(image_fd, IMAGE_SIZE) < 0 ||
	    pwrite(image_fd, image_pattern, IMAGE_SIZE, 0) != IMAGE_SIZE)
		abort();

	struct virtio_rng rng;
	virtio_rng_init(&rng);
	struct drive_config d = drive(flags & 1, (flags & 2) && direct_ok);
	char err[512];
	struct virtio_blk *blk = virtio_blk_create(&d, NULL, err, sizeof(err));
	FUZZ_CHECK(blk, "virtio_blk_create: %s", err);
	struct dev devs[NDEV] = {{.name = "rng"}, {.name = "blk"}};
	FUZZ_CHECK(virtio_mmio_create(&devs[0].t, &virtio_rng_ops, &rng, &mem, -1, NULL, NULL, 0) ==
		       0,
		   "rng transport");
	FUZZ_CHECK(virtio_mmio_create(&devs[1].t, &virtio_blk_ops, blk, &mem, -1, NULL, NULL, 1) ==
		       0,
		   "blk transport");

	for (unsigned steps = 0; fuzz_more(&in) && steps < 1024; steps++) {
		uint8_t op = fuzz_u8(&in);
		struct dev *dev = &devs[(op >> 3) & 1];
		struct virtio_mmio *t = &dev->t;
		unsigned len = sizes[(op >> 4) & 3];
		uint8_t buf[8];
		switch (op & 7) {
		case OP_WRITE:
		case OP_WRITE2:
		case OP_WRITE3: {
			uint64_t off = clamp_offset(fuzz_u16(&in), len);
			uint32_t v = fuzz_u32(&in);
			memset(buf, 0, sizeof(buf));
			memcpy(buf, &v, len < 4 ? len : 4);
			virtio_mmio_ops.write(t, off, buf, len);
			break;
		}
		case OP_READ:
		case OP_READ2: {
			uint64_t off = clamp_offset(fuzz_u16(&in), len);
			memset(buf, 0x5a, sizeof(buf));
			virtio_mmio_ops.read(t, off, buf, len);
			check_read(t, off, len, buf);
			break;
		}
		case OP_RAM: {
			uint32_t gpa = fuzz_u32(&in) % RAM_SIZE;
			size_t n;
			const uint8_t *bytes = fuzz_take(&in, fuzz_u8(&in), &n);
			if (n > RAM_SIZE - gpa)
				n = RAM_SIZE - gpa;
			memcpy(mem.host + gpa, bytes, n);
			break;
		}
		case OP_KICK:
			wr32(t, VIRTIO_MMIO_QUEUE_NOTIFY, fuzz_u8(&in) % 2);
			break;
		case OP_SETUP:
			virtio_fuzz_setup(t, &in);
			break;
		}
		check_transport(t, &mem, dev->name);
	}

	if (getenv("MINNOW_FUZZ_LOG")) {
		for (unsigned i = 0; i < NDEV; i++)
			fprintf(stderr, "%s: status 0x%x, %llu interrupts, %llu kicks\n",
				devs[i].name, devs[i].t.status,
				(unsigned long long)atomic_load(&devs[i].t.interrupts),
				(unsigned long long)atomic_load(&devs[i].t.user_kicks));
		fprintf(stderr, "rng: %llu requests, %llu bytes\n",
			(unsigned long long)rng.requests, (unsigned long long)rng.bytes_served);
	}
	for (unsigned i = 0; i < NDEV; i++)
		virtio_mmio_destroy(&devs[i].t);
	virtio_blk_destroy(blk);
	FUZZ_CHECK(lowest_free_fd() == fd_baseline, "a file descriptor leaked");
	return 0;
}
