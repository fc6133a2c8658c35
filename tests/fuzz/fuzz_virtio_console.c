/* fuzz_virtio_console.c - libFuzzer harness: virtio-mmio registers driving virtio-console,
 * its receiveq filled from host input and its transmitq written to a file. */
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "virtio_console.h"
#include "virtio_fuzz.h"

/* No KVM and no event loop: the device reads its input when the driver kicks receiveq.
 * Input: a u16 count of RAM bytes copied to guest physical 0 and those bytes, a u16 count
 * of host input bytes and those bytes (in a pipe, then its end), then operations as in
 * fuzz_virtio_mmio (bits 0-2 the kind, bits 4-5 the size), without a device bit. Checks
 * beyond the sanitizers: the transport's invariants, the output never longer than the
 * device-readable bytes the guest offered on transmitq chains (at most the queue size times
 * the chain limit times RAM), nothing read from the input past its end, no fd leaked. */

#define RAM_SIZE (1u << 20)

static struct guest_mem mem;
static int out_fd = -1;
static struct vm_config cfg;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	guest_mem_layout(&mem, RAM_SIZE);
	mem.host = aligned_alloc(4096, RAM_SIZE);
	out_fd = memfd_create("fuzz-console-out", MFD_CLOEXEC);
	if (!mem.host || out_fd < 0)
		abort();
	config_defaults(&cfg);
	cfg.vconsole = true;
	cfg.vconsole_output = CONSOLE_FILE;
	snprintf(cfg.vconsole_path.path, sizeof(cfg.vconsole_path.path), "/proc/self/fd/%d",
		 out_fd);
	return 0;
}

static const unsigned sizes[] = {4, 1, 2, 8};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = fuzz_input(data, size);
	int fd_baseline = lowest_free_fd();
	size_t got;
	const uint8_t *contents = fuzz_take(&in, fuzz_u16(&in), &got);
	memset(mem.host, 0, RAM_SIZE);
	memcpy(mem.host, contents, got);
	size_t in_len;
	const uint8_t *input = fuzz_take(&in, fuzz_u16(&in) % 4096, &in_len);
	int p[2];
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0 || write(p[1], input, in_len) != (ssize_t)in_len)
		abort();
	close(p[1]);
	if (ftruncate(out_fd, 0) < 0)
		abort();

	char err[256];
	struct virtio_console *con = virtio_console_create(&cfg, p[0], NULL, err, sizeof(err));
	FUZZ_CHECK(con, "virtio_console_create: %s", err);
	struct virtio_mmio t;
	FUZZ_CHECK(virtio_mmio_create(&t, &virtio_console_ops, con, &mem, -1, NULL, NULL, 0) == 0,
		   "console transport");

	for (unsigned steps = 0; fuzz_more(&in) && steps < 1024; steps++) {
		uint8_t op = fuzz_u8(&in);
		unsigned len = sizes[(op >> 4) & 3];
		uint8_t buf[8];
		switch (op & 7) {
		case 0:
		case 1:
		case 2: {
			uint64_t off = clamp_offset(fuzz_u16(&in), len);
			uint32_t v = fuzz_u32(&in);
			memset(buf, 0, sizeof(buf));
			memcpy(buf, &v, len < 4 ? len : 4);
			virtio_mmio_ops.write(&t, off, buf, len);
			break;
		}
		case 3:
		case 4: {
			uint64_t off = clamp_offset(fuzz_u16(&in), len);
			memset(buf, 0x5a, sizeof(buf));
			virtio_mmio_ops.read(&t, off, buf, len);
			check_read(&t, off, len, buf);
			break;
		}
		case 5: {
			uint32_t gpa = fuzz_u32(&in) % RAM_SIZE;
			size_t n;
			const uint8_t *bytes = fuzz_take(&in, fuzz_u8(&in), &n);
			if (n > RAM_SIZE - gpa)
				n = RAM_SIZE - gpa;
			memcpy(mem.host + gpa, bytes, n);
			break;
		}
		case 6:
			wr32(&t, VIRTIO_MMIO_QUEUE_NOTIFY, fuzz_u8(&in) % 3);
			break;
		case 7: {
			/* Bring up both queues: receiveq (0) as the input says, then
			 * transmitq (1) at its own rings, then DRIVER_OK when the first
			 * part stopped short of it (SETUP_NO_DRIVEROK). */
			virtio_fuzz_setup(&t, &in);
			uint8_t log2 = fuzz_u8(&in) % 9;
			wr32(&t, VIRTIO_MMIO_QUEUE_SEL, 1);
			wr32(&t, VIRTIO_MMIO_QUEUE_NUM, 1u << log2);
			wr32(&t, VIRTIO_MMIO_QUEUE_DESC_LOW, fuzz_u16(&in));
			wr32(&t, VIRTIO_MMIO_QUEUE_AVAIL_LOW, fuzz_u16(&in));
			wr32(&t, VIRTIO_MMIO_QUEUE_USED_LOW, fuzz_u16(&in));
			wr32(&t, VIRTIO_MMIO_QUEUE_READY, 1);
			uint32_t st = rd32(&t, VIRTIO_MMIO_STATUS);
			if ((st & VIRTIO_CONFIG_S_FEATURES_OK) && !(st & VIRTIO_CONFIG_S_DRIVER_OK))
				wr32(&t, VIRTIO_MMIO_STATUS, st | VIRTIO_CONFIG_S_DRIVER_OK);
			break;
		}
		}
		check_transport(&t, &mem, "console");
	}
	if (getenv("MINNOW_FUZZ_LOG"))
		fprintf(stderr, "console: status 0x%x, %llu interrupts, %lld bytes out\n", t.status,
			(unsigned long long)atomic_load(&t.interrupts),
			(long long)lseek(out_fd, 0, SEEK_END));
	virtio_mmio_destroy(&t);
	virtio_console_destroy(con);
	off_t out_len = lseek(out_fd, 0, SEEK_END);
	FUZZ_CHECK(out_len >= 0 &&
		       (uint64_t)out_len <= 1024ULL * VIRTIO_CONSOLE_QUEUE_SIZE * RAM_SIZE,
		   "output of %lld bytes", (long long)out_len);
	close(p[0]);
	FUZZ_CHECK(lowest_free_fd() == fd_baseline, "a file descriptor leaked");
	return 0;
}
