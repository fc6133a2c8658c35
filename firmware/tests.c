/* tests.c - the scenarios other than smp: hello, bootinfo, console-echo,
 * portio, mmio-wild and triple-fault. Each prints "minnow-test: key=value"
 * lines for the guest tests and returns the exit status. */
#include "fw.h"
#include "io.h"
#include "platform.h"

#define E820_RAM 1

int test_hello(const struct fw_boot_info *bi)
{
	fw_printf("minnow-test: hello from %s\n", bi->entry);
	return FW_EXIT_OK;
}

/* ---- bootinfo ---- */

static uint32_t fnv1a(const uint8_t *p, uint64_t n)
{
	uint32_t h = 0x811c9dc5u;
	for (uint64_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x01000193u;
	}
	return h;
}

int test_bootinfo(const struct fw_boot_info *bi)
{
	fw_printf("minnow-test: entry=%s\n", bi->entry);
	fw_printf("minnow-test: cmdline=%s\n", bi->cmdline);
	uint64_t ram = 0;
	for (unsigned i = 0; i < bi->n_mem; i++) {
		const struct fw_mem_entry *e = &bi->mem[i];
		fw_printf("minnow-test: mem addr=0x%lx size=0x%lx type=%u\n", e->addr, e->size,
			  e->type);
		if (e->type == E820_RAM)
			ram += e->size;
	}
	fw_printf("minnow-test: mem entries=%u ram=%lu\n", bi->n_mem, ram);
	if (!bi->initrd_size) {
		fw_printf("minnow-test: initrd none\n");
	} else {
		const uint8_t *p = (const uint8_t *)(uintptr_t)bi->initrd_addr;
		fw_printf("minnow-test: initrd addr=0x%lx size=%lu fnv1a=0x%08x head=",
			  bi->initrd_addr, bi->initrd_size, fnv1a(p, bi->initrd_size));
		for (uint64_t i = 0; i < 16 && i < bi->initrd_size; i++)
			fw_printf("%02x", p[i]);
		fw_printf("\n");
	}
	fw_printf("minnow-test: bootinfo done\n");
	return FW_EXIT_OK;
}

/* ---- console-echo: UART receive interrupts through the IOAPIC ---- */

#define UART_VECTOR	0x30
#define TIMER_VECTOR	0x31
#define ECHO_TIMEOUT_US 20000000u
#define ECHO_MAX	256

#define UART_RBR    0
#define UART_IER    1
#define UART_IIR    2
#define UART_LCR    3
#define UART_MCR    4
#define UART_LSR    5
#define UART_MSR    6
#define UART_LSR_DR 0x01

static char echo_line[ECHO_MAX];
static unsigned echo_len;
static volatile bool echo_done;
static volatile unsigned uart_irqs;

static void uart_irq(unsigned vector)
{
	uart_irqs++;
	while (uart_read(UART_LSR) & UART_LSR_DR) {
		char c = (char)uart_read(UART_RBR);
		if (echo_done)
			continue;
		if (c == '\n') {
			echo_done = true;
		} else if (c != '\r' && echo_len < ECHO_MAX - 1) {
			echo_line[echo_len++] = c;
		}
	}
}

static void timer_irq(unsigned vector)
{
	/* Only wakes the waiting loop so that it can check the time. */
}

int test_console_echo(const struct fw_boot_info *bi)
{
	idt_init(256);
	irq_set_handler(UART_VECTOR, uart_irq);
	irq_set_handler(TIMER_VECTOR, timer_irq);
	lapic_enable();
	lapic_write(0x80, 0); /* TPR: accept every priority */
	/* A wake-up every ~0.2 s (1 GHz APIC bus / 16) to notice a timeout. */
	lapic_timer_periodic(TIMER_VECTOR, 12500000);

	uart_write(UART_LCR, 0x03); /* 8N1, DLAB off */
	uart_write(UART_MCR, 0x0B); /* DTR, RTS, OUT2 (the IRQ gate on PCs) */
	(void)uart_read(UART_LSR);
	(void)uart_read(UART_IIR);
	(void)uart_read(UART_MSR);
	ioapic_route(UART_GSI, UART_VECTOR, true, lapic_id());
	uart_write(UART_IER, 0x01); /* received data available */
	fw_printf("minnow-test: echo ready\n");

	uint32_t t0 = fw_time_us();
	while (!echo_done && fw_time_us() - t0 < ECHO_TIMEOUT_US)
		cpu_wait_irq();
	lapic_write(0x320, 1u << 16); /* mask the timer */
	uart_write(UART_IER, 0);

	echo_line[echo_len] = '\0';
	if (!echo_done) {
		fw_printf("minnow-test: echo timeout irqs=%u lsr=0x%x partial=%s\n", uart_irqs,
			  uart_read(UART_LSR), echo_line);
		return FW_EXIT_FAIL;
	}
	fw_printf("minnow-test: echo=%s\n", echo_line);
	fw_printf("minnow-test: echo irqs=%u\n", uart_irqs);
	return FW_EXIT_OK;
}

/* ---- portio: port I/O has no devices behind it under minnow ---- */

int test_portio(const struct fw_boot_info *bi)
{
	static const uint16_t ports[] = {0x80, 0x3f8, 0x70, 0x64};
	unsigned reads = 0, bad = 0;
	for (unsigned i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
		uint16_t p = ports[i];
		outb(p, 0x5a);
		outw(p, 0x5a5a);
		outl(p, 0x5a5a5a5a);
		uint32_t v8 = inb(p), v16 = inw(p), v32 = inl(p);
		reads += 3;
		if (v8 != 0xff) {
			fw_printf("minnow-test: portio port=0x%x width=8 value=0x%x\n", p, v8);
			bad++;
		}
		if (v16 != 0xffff) {
			fw_printf("minnow-test: portio port=0x%x width=16 value=0x%x\n", p, v16);
			bad++;
		}
		if (v32 != 0xffffffffu) {
			fw_printf("minnow-test: portio port=0x%x width=32 value=0x%x\n", p, v32);
			bad++;
		}
	}
	if (bad) {
		fw_printf("minnow-test: portio bad=%u reads=%u\n", bad, reads);
		return FW_EXIT_FAIL;
	}
	fw_printf("minnow-test: portio ok reads=%u\n", reads);
	return FW_EXIT_OK;
}

/* ---- mmio-wild: unassigned MMIO reads all ones and ignores writes ---- */

static unsigned wild_check(uint64_t addr, unsigned width, uint64_t got, unsigned *bad)
{
	uint64_t want = width == 64 ? ~0ull : (1ull << width) - 1;
	if (got != want) {
		fw_printf("minnow-test: mmio-wild addr=0x%lx width=%u value=0x%lx\n", addr, width,
			  got);
		(*bad)++;
	}
	return 1;
}

int test_mmio_wild(const struct fw_boot_info *bi)
{
	static const uint64_t addrs[] = {0xD00F0000ull, 0xE0000000ull};
	unsigned reads = 0, bad = 0;
	for (unsigned i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		uint64_t a = addrs[i];
		for (int pass = 0; pass < 2; pass++) {
			reads += wild_check(a, 8, mmio_read8(a), &bad);
			reads += wild_check(a + 2, 16, mmio_read16(a + 2), &bad);
			reads += wild_check(a + 4, 32, mmio_read32(a + 4), &bad);
			reads += wild_check(a + 8, 64, mmio_read64(a + 8), &bad);
			/* Writes must be dropped: the second pass reads again. */
			mmio_write8(a, 0x12);
			mmio_write16(a + 2, 0x1234);
			mmio_write32(a + 4, 0x12345678);
			mmio_write64(a + 8, 0x123456789abcdef0ull);
		}
	}
	if (bad) {
		fw_printf("minnow-test: mmio-wild bad=%u reads=%u\n", bad, reads);
		return FW_EXIT_FAIL;
	}
	fw_printf("minnow-test: mmio-wild ok reads=%u\n", reads);
	return FW_EXIT_OK;
}

/* ---- triple-fault ---- */

int test_triple_fault(const struct fw_boot_info *bi)
{
	fw_printf("minnow-test: triple-fault now\n");
	fw_triple_fault();
}
