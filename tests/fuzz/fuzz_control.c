/* fuzz_control.c - libFuzzer harness: the control device's registers. */
#include <string.h>

#include "control.h"
#include "fuzz.h"
#include "platform.h"

/* Input: accesses, each an offset byte (times 4 when bit 7 of the kind is
 * clear), a kind byte (bit 0: write, bits 1-2: size 4, 1, 2 or 8) and a u32
 * value. Checks: BOOT_DONE's hook runs once whatever is written, EXIT's
 * hook gets the low byte of each 4-byte EXIT write, accesses of other sizes
 * change nothing and read all-ones, MAGIC and VERSION read their constants. */

static unsigned boot_done_calls, exit_calls;
static int last_status;

static void on_boot_done(void *opaque)
{
	(void)opaque;
	boot_done_calls++;
}

static void on_guest_exit(void *opaque, int status)
{
	(void)opaque;
	exit_calls++;
	last_status = status;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = fuzz_input(data, size);
	static const unsigned sizes[] = {4, 1, 2, 8};
	struct control c;
	const struct control_hooks hooks = {on_boot_done, on_guest_exit, NULL};
	control_init(&c, &hooks);
	boot_done_calls = exit_calls = 0;
	unsigned want_exits = 0;
	bool booted = false;
	for (unsigned steps = 0; fuzz_more(&in) && steps < 4096; steps++) {
		uint8_t off8 = fuzz_u8(&in), kind = fuzz_u8(&in);
		uint64_t off = (kind & 0x80) ? off8 : (uint64_t)off8 * 4;
		unsigned len = sizes[(kind >> 1) & 3];
		uint32_t v = fuzz_u32(&in);
		uint8_t buf[8];
		memset(buf, 0, sizeof(buf));
		memcpy(buf, &v, 4);
		if (kind & 1) {
			control_mmio_ops.write(&c, off, buf, len);
			if (len == 4 && off == CONTROL_REG_BOOT_DONE)
				booted = true;
			if (len == 4 && off == CONTROL_REG_EXIT) {
				want_exits++;
				FUZZ_CHECK(last_status == (int)(v & 0xff),
					   "exit status %d for 0x%x", last_status, v);
			}
		} else {
			memset(buf, 0x5a, sizeof(buf));
			control_mmio_ops.read(&c, off, buf, len);
			uint32_t got;
			memcpy(&got, buf, 4);
			if (len != 4) {
				for (unsigned i = 0; i < len; i++)
					FUZZ_CHECK(buf[i] == 0xff,
						   "%u-byte read at 0x%llx returned data", len,
						   (unsigned long long)off);
			} else if (off == CONTROL_REG_MAGIC) {
				FUZZ_CHECK(got == CONTROL_MAGIC, "magic 0x%x", got);
			} else if (off == CONTROL_REG_VERSION) {
				FUZZ_CHECK(got == CONTROL_VERSION, "version %u", got);
			}
		}
		FUZZ_CHECK(boot_done_calls == (booted ? 1u : 0u), "boot_done ran %u times",
			   boot_done_calls);
		FUZZ_CHECK(exit_calls == want_exits, "exit ran %u times, want %u", exit_calls,
			   want_exits);
	}
	return 0;
}
