/* control.c - the minnow control device (MAGIC, BOOT_DONE, EXIT, TIME_US),
 * time keeping, and the two ways the unikernel ends. */
#include "fw.h"
#include "io.h"
#include "platform.h"

static bool present;
static uint32_t tsc_mhz;

static uint32_t control_read(unsigned reg)
{
	return mmio_read32(CONTROL_MMIO_BASE + reg);
}

static void control_write(unsigned reg, uint32_t v)
{
	mmio_write32(CONTROL_MMIO_BASE + reg, v);
}

bool control_probe(void)
{
	present = control_read(CONTROL_REG_MAGIC) == CONTROL_MAGIC;
	return present;
}

bool control_present(void)
{
	return present;
}

void control_boot_done(void)
{
	if (present)
		control_write(CONTROL_REG_BOOT_DONE, 1);
}

void control_mark(uint32_t mark)
{
	if (present)
		control_write(CONTROL_REG_MARK, mark);
}

/* The TSC rate from CPUID leaf 0x16 (base MHz) when offered, else a guess:
 * only used when the control device is absent (under other VMMs). */
static uint32_t guess_tsc_mhz(void)
{
	uint32_t a, b, c, d;
	cpuid(0, 0, &a, &b, &c, &d);
	if (a >= 0x16) {
		cpuid(0x16, 0, &a, &b, &c, &d);
		if (a >= 100 && a < 100000)
			return a;
	}
	return 2000;
}

uint32_t fw_time_us(void)
{
	if (present)
		return control_read(CONTROL_REG_TIME_US);
	if (!tsc_mhz)
		tsc_mhz = guess_tsc_mhz();
	return (uint32_t)(rdtsc() / tsc_mhz);
}

void fw_delay_us(uint32_t us)
{
	uint32_t t0 = fw_time_us();
	while (fw_time_us() - t0 < us)
		barrier();
}

void fw_exit(int status)
{
	if (present) {
		control_write(CONTROL_REG_EXIT, (uint32_t)status & 0xff);
		/* minnow stops every vCPU; should it not, stay put. */
		cpu_halt_forever();
	}
	fw_printf("minnow-test: exit status=%d (no control device: triple fault)\n", status);
	fw_triple_fault();
}

void fw_triple_fault(void)
{
	/* An IDT of limit 0: the #GP from a non-canonical access cannot be
	 * delivered (#DF), neither can the #DF: shutdown. */
	static const struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} empty_idt = {0, 0};
	__asm__ volatile("cli\n\t"
			 "lidt %0\n\t"
			 "movabsq $0x8000000000000000, %%rax\n\t"
			 "movq (%%rax), %%rax\n\t"
			 :
			 : "m"(empty_idt)
			 : "rax", "memory");
	cpu_halt_forever();
}
