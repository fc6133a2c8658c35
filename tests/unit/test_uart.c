/* test_uart.c - the 16550A MMIO UART driven through its MMIO ops with a fake interrupt line. */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "test_util.h"
#include "uart.h"

/* The fake interrupt controller input: remembers the level and counts calls. */
struct fake_line {
	bool level;
	unsigned calls;
	unsigned redundant; /* calls that did not change the level */
	unsigned last_gsi;
};

static void fake_set_level(void *opaque, unsigned gsi, bool level)
{
	struct fake_line *line = opaque;
	if (line->calls > 0 && line->level == level)
		line->redundant++;
	if (line->calls == 0 && !level)
		line->redundant++; /* the line starts low */
	line->level = level;
	line->calls++;
	line->last_gsi = gsi;
}

static struct uart uart;
static struct fake_line line;
static int out_pipe[2];

static void setup(void)
{
	memset(&line, 0, sizeof(line));
	cr_assert_eq(pipe2(out_pipe, O_CLOEXEC), 0);
	cr_assert_eq(fcntl(out_pipe[0], F_SETFL, O_NONBLOCK), 0);
	struct irq_sink sink = {.set_level = fake_set_level, .opaque = &line};
	cr_assert_eq(uart_init(&uart, out_pipe[1], &sink, 4), 0);
}

static void teardown(void)
{
	uart_fini(&uart);
	close(out_pipe[0]);
	close(out_pipe[1]);
	cr_expect_eq(line.redundant, 0, "set_level called without a level change");
}

TestSuite(uart, .init = setup, .fini = teardown);

static uint8_t rd(unsigned reg)
{
	uint8_t v = 0;
	uart_mmio_ops.read(&uart, reg, &v, 1);
	return v;
}

static void wr(unsigned reg, uint8_t v)
{
	uart_mmio_ops.write(&uart, reg, &v, 1);
}

/* Reads what the UART wrote to the pipe so far. */
static size_t drain_out(char *buf, size_t cap)
{
	ssize_t n = read(out_pipe[0], buf, cap);
	return n < 0 ? 0 : (size_t)n;
}

static bool wake_signalled(void)
{
	uint64_t v = 0;
	ssize_t n = read(uart.wake_fd, &v, sizeof(v));
	return n == (ssize_t)sizeof(v) && v > 0;
}

static void feed(const char *s)
{
	size_t len = strlen(s);
	cr_assert_eq(uart_receive(&uart, (const uint8_t *)s, len), len);
}

Test(uart, reset_state)
{
	cr_expect_eq(rd(UART_REG_IER), 0);
	cr_expect_eq(rd(UART_REG_IIR), UART_IIR_NONE);
	cr_expect_eq(rd(UART_REG_LCR), 0);
	cr_expect_eq(rd(UART_REG_MCR), 0);
	cr_expect_eq(rd(UART_REG_LSR), UART_THRE | UART_TEMT);
	cr_expect_eq(rd(UART_REG_MSR), UART_DCD | UART_DSR | UART_CTS);
	cr_expect_eq(rd(UART_REG_RBR), 0, "empty receiver reads 0");
	cr_expect_eq(line.calls, 0);
	cr_expect_eq(uart_rx_space(&uart), UART_INPUT_BUF);
}

Test(uart, output_reaches_fd)
{
	const char *msg = "hello, minnow\n";
	for (const char *p = msg; *p; p++)
		wr(UART_REG_THR, (uint8_t)*p);
	char buf[64];
	size_t n = drain_out(buf, sizeof(buf));
	cr_assert_eq(n, strlen(msg));
	cr_expect_arr_eq(buf, msg, n);
	cr_expect_eq(rd(UART_REG_LSR) & (UART_THRE | UART_TEMT), UART_THRE | UART_TEMT);
}

Test(uart, output_discarded_without_fd)
{
	struct uart u2;
	cr_assert_eq(uart_init(&u2, -1, NULL, 4), 0);
	uint8_t v = 'x';
	uart_mmio_ops.write(&u2, UART_REG_MCR, &(uint8_t){UART_OUT2}, 1);
	uart_mmio_ops.write(&u2, UART_REG_IER, &(uint8_t){UART_ETBEI}, 1);
	uart_mmio_ops.write(&u2, UART_REG_THR, &v, 1);
	uart_mmio_ops.read(&u2, UART_REG_IIR, &v, 1);
	cr_expect_eq(v, UART_IIR_THRE, "no irq sink is fine too");
	uart_fini(&u2);
}

Test(uart, divisor_latch)
{
	wr(UART_REG_LCR, UART_DLAB | 0x03);
	cr_expect_eq(rd(UART_REG_DLL), 12, "9600 baud at reset");
	cr_expect_eq(rd(UART_REG_DLM), 0);
	wr(UART_REG_DLL, 0x01);
	wr(UART_REG_DLM, 0x02);
	cr_expect_eq(rd(UART_REG_DLL), 0x01);
	cr_expect_eq(rd(UART_REG_DLM), 0x02);
	cr_expect_eq(rd(UART_REG_LCR), UART_DLAB | 0x03);
	char buf[8];
	cr_expect_eq(drain_out(buf, sizeof(buf)), 0, "DLL writes are not output");

	wr(UART_REG_LCR, 0x03);
	cr_expect_eq(rd(UART_REG_IER), 0, "IER untouched by DLM writes");
	wr(UART_REG_THR, 'A');
	wr(UART_REG_IER, UART_ERBFI);
	cr_expect_eq(drain_out(buf, sizeof(buf)), 1);
	cr_expect_eq(buf[0], 'A');

	wr(UART_REG_LCR, UART_DLAB | 0x03);
	cr_expect_eq(rd(UART_REG_DLL), 0x01, "divisor kept across DLAB toggles");
	cr_expect_eq(rd(UART_REG_DLM), 0x02);
	wr(UART_REG_LCR, 0x03);
	cr_expect_eq(rd(UART_REG_IER), UART_ERBFI);
}

Test(uart, scratch_register)
{
	wr(UART_REG_SCR, 0xa5);
	cr_expect_eq(rd(UART_REG_SCR), 0xa5);
	wr(UART_REG_SCR, 0x5a);
	cr_expect_eq(rd(UART_REG_SCR), 0x5a);
}

Test(uart, ier_has_four_bits)
{
	wr(UART_REG_IER, 0xff);
	cr_expect_eq(rd(UART_REG_IER), 0x0f);
	wr(UART_REG_IER, 0);
	cr_expect_eq(rd(UART_REG_IER), 0);
}

Test(uart, iir_priorities)
{
	/* Loopback without FIFOs holds one byte: a second one overruns,
	 * which is the only way to get a line status condition. Entering
	 * loopback also changes every modem status input. */
	wr(UART_REG_MCR, UART_LOOP);
	wr(UART_REG_IER, UART_ERBFI | UART_ETBEI | UART_ELSI | UART_EDSSI);
	wr(UART_REG_THR, 'a');
	wr(UART_REG_THR, 'b');

	cr_expect_eq(rd(UART_REG_IIR), UART_IIR_RLS);
	uint8_t lsr = rd(UART_REG_LSR);
	cr_expect_eq(lsr, UART_OE | UART_DR | UART_THRE | UART_TEMT);
	cr_expect_eq(rd(UART_REG_LSR), UART_DR | UART_THRE | UART_TEMT, "OE cleared by reading");

	cr_expect_eq(rd(UART_REG_IIR), UART_IIR_RDA);
	cr_expect_eq(rd(UART_REG_RBR), 'a');

	cr_expect_eq(rd(UART_REG_IIR), UART_IIR_THRE, "reading IIR acknowledges THRE");
	cr_expect_eq(rd(UART_REG_IIR), UART_IIR_MS);
	cr_expect_eq(rd(UART_REG_MSR), UART_DCTS | UART_DDSR | UART_DDCD);
	cr_expect_eq(rd(UART_REG_IIR), UART_IIR_NONE);
	cr_expect_eq(line.calls, 0, "no interrupt line in loopback");
}

Test(uart, iir_does_not_ack_lower_priority)
{
	wr(UART_REG_MCR, UART_OUT2);
	wr(UART_REG_IER, UART_ERBFI | UART_ETBEI);
	feed("x");
	cr_expect_eq(rd(UART_REG_IIR), UART_IIR_RDA);
	cr_expect_eq(rd(UART_REG_IIR), UART_IIR_RDA, "RDA stays until the data is read");
	cr_expect(line.level);
	cr_expect_eq(rd(UART_REG_RBR), 'x');
	cr_expect_eq(rd(UART_REG_IIR), UART_IIR_THRE, "THRE still pending under RDA");
	cr_expect_eq(rd(UART_REG_IIR), UART_IIR_NONE);
	cr_expect_not(line.level);
}

Test(uart, thre_on_enable_and_after_write)
{
	wr(UART_REG_MCR, UART_OUT2);
	cr_expect_not(line.level);
	wr(UART_REG_IER, UART_ETBEI);
	cr_expect(line.level, "enabling ETBEI with THR empty raises THRE");
	cr_expect_eq(line.last_gsi, 4);
	cr_expect_eq(rd(UART_REG_IIR), UART_IIR_THRE);
	cr_expect_not(line.level, "IIR read acknowledged it");
	cr_expect_eq(rd(UART_REG_IIR), UART_IIR_NONE);

	wr(UART_REG_IER, UART_ETBEI);
	cr_expect_not(line.level, "rewriting the same IER is no transition");

	wr(UART_REG_THR, 'z');
	cr_expect(line.level, "THR empty again after the write");
	cr_expect_eq(rd(UART_REG_IIR), UART_IIR_THRE);
	cr_expect_not(line.level);

	wr(UART_REG_THR, 'z');
	cr_expect(line.level);
	wr(UART_REG_IER, 0);
	cr_expect_not(line.level, "disabling ETBEI drops it");
	cr_expect_eq(rd(UART_REG_IIR), UART_IIR_NONE);
}

/* Linux's 8250 driver probes for UART_BUG_THRE and UART_BUG_TXEN at
 * startup; a working 16550A re-raises THRE on each enable. */
Test(uart, linux_thre_probes)
{
	wr(UART_REG_MCR, UART_OUT2 | UART_DTR | UART_RTS);
	wr(UART_REG_IER, UART_ETBEI);
	uint8_t iir1 = rd(UART_REG_IIR);
	wr(UART_REG_IER, 0);
	wr(UART_REG_IER, UART_ETBEI);
	uint8_t iir2 = rd(UART_REG_IIR);
	wr(UART_REG_IER, 0);
	cr_expect_eq(iir1 & UART_IIR_ID_MASK, UART_IIR_THRE);
	cr_expect_eq(iir2 & UART_IIR_ID_MASK, UART_IIR_THRE);

	wr(UART_REG_IER, UART_ETBEI);
	uint8_t lsr = rd(UART_REG_LSR);
	uint8_t iir = rd(UART_REG_IIR);
	wr(UART_REG_IER, 0);
	cr_expect(lsr & UART_TEMT);
	cr_expect_not(iir & UART_IIR_NONE, "no UART_BUG_TXEN");
	cr_expect_not(line.level);
}

Test(uart, rx_interrupt_until_drained)
{
	wr(UART_REG_MCR, UART_OUT2);
	wr(UART_REG_IER, UART_ERBFI);
	cr_expect_not(line.level);
	feed("ab");
	cr_expect(line.level);
	cr_expect_eq(line.calls, 1);
	cr_expect_eq(rd(UART_REG_IIR), UART_IIR_RDA);
	cr_expect(rd(UART_REG_LSR) & UART_DR);
	cr_expect_eq(rd(UART_REG_RBR), 'a');
	cr_expect(line.level, "still one byte left");
	cr_expect_eq(rd(UART_REG_RBR), 'b');
	cr_expect_not(line.level);
	cr_expect_not(rd(UART_REG_LSR) & UART_DR);
	cr_expect_eq(rd(UART_REG_IIR), UART_IIR_NONE);
	cr_expect_eq(line.calls, 2);
}

Test(uart, rx_without_erbfi_is_polled)
{
	wr(UART_REG_MCR, UART_OUT2);
	feed("q");
	cr_expect_not(line.level);
	cr_expect_eq(rd(UART_REG_IIR), UART_IIR_NONE);
	cr_expect(rd(UART_REG_LSR) & UART_DR);
	wr(UART_REG_IER, UART_ERBFI);
	cr_expect(line.level, "enabling ERBFI with data waiting raises the line");
	cr_expect_eq(rd(UART_REG_RBR), 'q');
	cr_expect_not(line.level);
}

Test(uart, out2_gates_the_line)
{
	wr(UART_REG_IER, UART_ERBFI);
	feed("x");
	cr_expect_eq(rd(UART_REG_IIR), UART_IIR_RDA, "pending, but...");
	cr_expect_eq(line.calls, 0, "...OUT2 is clear");
	wr(UART_REG_MCR, UART_OUT2);
	cr_expect(line.level);
	wr(UART_REG_MCR, UART_OUT2 | UART_DTR);
	cr_expect_eq(line.calls, 1, "no call without a level change");
	wr(UART_REG_MCR, UART_DTR);
	cr_expect_not(line.level);
	cr_expect_eq(line.calls, 2);
	cr_expect_eq(rd(UART_REG_RBR), 'x');
	wr(UART_REG_MCR, UART_OUT2);
	cr_expect_eq(line.calls, 2, "nothing pending any more");
}

Test(uart, loopback)
{
	wr(UART_REG_FCR, UART_FIFOE);
	wr(UART_REG_MCR, UART_LOOP | UART_OUT2 | UART_RTS);
	cr_expect_eq(rd(UART_REG_MSR) & 0xf0, UART_DCD | UART_CTS, "Linux's loop test wants 0x90");
	wr(UART_REG_MCR, UART_LOOP | UART_DTR | UART_OUT1);
	cr_expect_eq(rd(UART_REG_MSR), UART_DSR | UART_RI | UART_DCTS | UART_DDSR | UART_DDCD);
	wr(UART_REG_MCR, UART_LOOP);
	cr_expect_eq(rd(UART_REG_MSR), UART_DDSR | UART_TERI, "RI trailing edge");

	wr(UART_REG_IER, UART_ERBFI);
	wr(UART_REG_MCR, UART_LOOP | UART_OUT2);
	for (unsigned i = 0; i < UART_FIFO_SIZE + 4; i++)
		wr(UART_REG_THR, (uint8_t)('A' + i));
	char buf[32];
	cr_expect_eq(drain_out(buf, sizeof(buf)), 0, "looped bytes do not leave");
	cr_expect_eq(line.calls, 0, "no interrupt line in loopback");
	cr_expect_eq(uart_rx_space(&uart), 0, "host input is held off in loopback");
	cr_expect_eq(uart_receive(&uart, (const uint8_t *)"h", 1), 0);
	cr_expect_eq(rd(UART_REG_LSR), UART_DR | UART_OE | UART_THRE | UART_TEMT,
		     "the FIFO holds 16, the rest overran");
	for (unsigned i = 0; i < UART_FIFO_SIZE; i++)
		cr_expect_eq(rd(UART_REG_RBR), 'A' + i);
	cr_expect_not(rd(UART_REG_LSR) & UART_DR);

	wr(UART_REG_MCR, UART_OUT2);
	cr_expect_eq(rd(UART_REG_MSR) & 0xf0, UART_DCD | UART_DSR | UART_CTS);
	cr_expect(wake_signalled(), "leaving loopback lets input flow again");
	cr_expect_eq(uart_rx_space(&uart), UART_INPUT_BUF);
	wr(UART_REG_THR, '!');
	cr_expect_eq(drain_out(buf, sizeof(buf)), 1);
	cr_expect_eq(buf[0], '!');
}

Test(uart, fcr)
{
	cr_expect_eq(rd(UART_REG_IIR), UART_IIR_NONE);
	wr(UART_REG_FCR, UART_FIFOE | 0x80);
	cr_expect_eq(rd(UART_REG_IIR), UART_IIR_FIFOS | UART_IIR_NONE);
	feed("0123456789");
	cr_expect(rd(UART_REG_LSR) & UART_DR);
	wr(UART_REG_FCR, UART_FIFOE | UART_XMIT_RESET);
	cr_expect(rd(UART_REG_LSR) & UART_DR, "XMIT_RESET leaves the receiver alone");
	wr(UART_REG_FCR, UART_FIFOE | UART_RCVR_RESET);
	cr_expect_not(rd(UART_REG_LSR) & UART_DR, "receiver cleared");
	cr_expect_eq(uart_rx_space(&uart), UART_INPUT_BUF);
	cr_expect_eq(rd(UART_REG_IIR), UART_IIR_FIFOS | UART_IIR_NONE);
	wr(UART_REG_FCR, 0);
	cr_expect_eq(rd(UART_REG_IIR), UART_IIR_NONE);
}

/* The sequence Linux's autoconfig() runs: the port must come out as a
 * plain 16550A (not 8250, 16650, 16750, NatSemi or XScale). */
Test(uart, linux_autoconfig_sees_16550a)
{
	wr(UART_REG_IER, 0);
	uint8_t s2 = rd(UART_REG_IER) & 0x0f;
	wr(UART_REG_IER, 0x0f);
	uint8_t s3 = rd(UART_REG_IER) & 0x0f;
	wr(UART_REG_IER, 0);
	cr_expect(s2 == 0 && s3 == 0x0f, "IER test");

	wr(UART_REG_MCR, UART_LOOP | 0x0a);
	cr_expect_eq(rd(UART_REG_MSR) & 0xf0, 0x90, "LOOP test");
	wr(UART_REG_MCR, 0);

	wr(UART_REG_LCR, 0xbf);
	wr(UART_REG_FCR, 0); /* EFR on chips that have one */
	wr(UART_REG_LCR, 0);
	wr(UART_REG_FCR, UART_FIFOE);
	cr_expect_eq(rd(UART_REG_IIR) >> 6, 3, "16550A FIFO bits");

	wr(UART_REG_LCR, 0x80);
	cr_expect_neq(rd(UART_REG_IIR), 0, "no EFR at LCR=0x80");
	wr(UART_REG_LCR, 0xbf);
	cr_expect_neq(rd(UART_REG_IIR), 0, "no EFR at LCR=0xbf");
	wr(UART_REG_LCR, 0xe0);
	cr_expect_eq(rd(UART_REG_IIR) & UART_LOOP, rd(UART_REG_MCR) & UART_LOOP, "not NatSemi");
	wr(UART_REG_LCR, 0);
	wr(UART_REG_FCR, UART_FIFOE | 0x20);
	uint8_t st1 = rd(UART_REG_IIR) >> 5;
	wr(UART_REG_LCR, 0x80);
	wr(UART_REG_FCR, UART_FIFOE | 0x20);
	uint8_t st2 = rd(UART_REG_IIR) >> 5;
	wr(UART_REG_LCR, 0);
	cr_expect_not(st1 == 6 && st2 == 7, "not a 16750");
	wr(UART_REG_IER, 0x40);
	cr_expect_not(rd(UART_REG_IER) & 0x40, "not an XScale");
	cr_expect_eq(rd(UART_REG_LSR), UART_THRE | UART_TEMT, "LSR safety check passes");
}

Test(uart, rx_space_and_wake)
{
	static uint8_t big[UART_INPUT_BUF + 10];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7);
	cr_expect_eq(uart_receive(&uart, big, 100), 100);
	cr_expect_eq(uart_rx_space(&uart), UART_INPUT_BUF - 100);
	cr_expect_eq(uart_receive(&uart, big + 100, sizeof(big) - 100), UART_INPUT_BUF - 100);
	cr_expect_eq(uart_rx_space(&uart), 0);
	cr_expect_eq(uart_receive(&uart, big, 1), 0);
	cr_expect_not(wake_signalled());

	for (size_t i = 0; i + 1 < UART_INPUT_BUF; i++)
		cr_assert_eq(rd(UART_REG_RBR), big[i], "byte %zu", i);
	cr_expect_not(wake_signalled(), "not before the buffer is drained");
	cr_expect_eq(uart_rx_space(&uart), UART_INPUT_BUF - 1);
	cr_expect_eq(rd(UART_REG_RBR), big[UART_INPUT_BUF - 1]);
	cr_expect(wake_signalled());
	cr_expect_not(wake_signalled(), "once");
	cr_expect_eq(uart_rx_space(&uart), UART_INPUT_BUF);

	/* Wrapped ring, and no wake when the feeder was never refused. */
	feed("wrap");
	cr_expect_eq(rd(UART_REG_RBR), 'w');
	cr_expect_eq(rd(UART_REG_RBR), 'r');
	cr_expect_eq(rd(UART_REG_RBR), 'a');
	cr_expect_eq(rd(UART_REG_RBR), 'p');
	cr_expect_not(wake_signalled());
}

Test(uart, wake_after_fcr_clear)
{
	static uint8_t big[UART_INPUT_BUF];
	cr_expect_eq(uart_receive(&uart, big, sizeof(big)), sizeof(big));
	cr_expect_eq(uart_rx_space(&uart), 0);
	wr(UART_REG_FCR, UART_FIFOE | UART_RCVR_RESET);
	cr_expect(wake_signalled());
}

Test(uart, bad_accesses_are_harmless)
{
	wr(UART_REG_SCR, 0x11);
	wr(UART_REG_IER, UART_ETBEI);
	wr(UART_REG_MCR, UART_OUT2);
	cr_expect_eq(rd(UART_REG_IIR), UART_IIR_THRE);
	unsigned calls = line.calls;

	uint64_t v = 0;
	uart_mmio_ops.read(&uart, 0, &v, 8);
	cr_expect_eq(v, UINT64_MAX);
	uint32_t w = 0;
	uart_mmio_ops.read(&uart, 4, &w, 4);
	cr_expect_eq(w, 0xffffffffu);
	uint16_t h = 0;
	uart_mmio_ops.read(&uart, 2, &h, 2);
	cr_expect_eq(h, 0xffff);
	uint8_t b = 0;
	uart_mmio_ops.read(&uart, 8, &b, 1);
	cr_expect_eq(b, 0xff);
	b = 0;
	uart_mmio_ops.read(&uart, 0xfff, &b, 1);
	cr_expect_eq(b, 0xff);

	uint32_t junk = 0x41414141;
	uart_mmio_ops.write(&uart, 0, &junk, 4);
	uart_mmio_ops.write(&uart, 0, &junk, 2);
	uart_mmio_ops.write(&uart, 7, &v, 8);
	b = 0x42;
	uart_mmio_ops.write(&uart, 8, &b, 1);
	uart_mmio_ops.write(&uart, 0xfff, &b, 1);

	char buf[8];
	cr_expect_eq(drain_out(buf, sizeof(buf)), 0, "nothing was transmitted");
	cr_expect_eq(rd(UART_REG_SCR), 0x11);
	cr_expect_eq(rd(UART_REG_IER), UART_ETBEI);
	cr_expect_eq(rd(UART_REG_MCR), UART_OUT2);
	cr_expect_eq(rd(UART_REG_IIR), UART_IIR_NONE);
	cr_expect_eq(line.calls, calls, "the line did not move");
}

Test(uart, any_byte_sequence_is_survivable)
{
	/* Every value to every register, in every LCR mode. */
	for (unsigned lcr = 0; lcr < 256; lcr += 0x40) {
		for (unsigned reg = 0; reg < UART_NUM_REGS; reg++) {
			for (unsigned val = 0; val < 256; val++) {
				uint8_t v = (uint8_t)val;
				if (reg == UART_REG_MCR)
					v |= UART_LOOP; /* keep the pipe quiet */
				wr(UART_REG_LCR, (uint8_t)lcr);
				wr(reg, v);
				(void)rd(reg);
				(void)rd(UART_REG_IIR);
			}
		}
	}
	wr(UART_REG_LCR, 0);
	cr_expect_eq(rd(UART_REG_IER) & 0xf0, 0);
	cr_expect_eq(rd(UART_REG_MCR) & 0xe0, 0);
}

Test(uart, full_output_pipe_does_not_hang)
{
	/* An out_fd whose reader never reads (a blocking pipe, as a shell
	 * makes stdout): the first stuck byte waits OUT_SINK_STALL_MS at most,
	 * later ones are dropped at once (out_sink.h). */
	char chunk[4096];
	memset(chunk, 'f', sizeof(chunk));
	cr_assert_eq(fcntl(out_pipe[1], F_SETFL, O_NONBLOCK), 0);
	while (write(out_pipe[1], chunk, sizeof(chunk)) > 0)
		;
	cr_assert_eq(fcntl(out_pipe[1], F_SETFL, 0), 0);
	uint64_t t0 = now_ms();
	for (int i = 0; i < 1000; i++)
		wr(UART_REG_THR, 'x');
	uint64_t ms = now_ms() - t0;
	cr_expect_lt(ms, OUT_SINK_STALL_MS + 500, "took %llu ms", (unsigned long long)ms);

	/* Once the reader catches up, output flows again. */
	char sink[65536];
	while (read(out_pipe[0], sink, sizeof(sink)) > 0)
		;
	wr(UART_REG_THR, 'y');
	cr_expect_eq(drain_out(sink, sizeof(sink)), 1);
	cr_expect_eq(sink[0], 'y');
}

struct feeder_arg {
	size_t total;
};

/* The main thread's role: feed a long stream, waiting on wake_fd. */
static void *feeder(void *p)
{
	struct feeder_arg *arg = p;
	size_t sent = 0;
	while (sent < arg->total) {
		uint8_t chunk[512];
		size_t n = arg->total - sent < sizeof(chunk) ? arg->total - sent : sizeof(chunk);
		for (size_t i = 0; i < n; i++)
			chunk[i] = (uint8_t)((sent + i) % 251);
		size_t took = uart_receive(&uart, chunk, n);
		sent += took;
		if (took < n) {
			struct pollfd pfd = {.fd = uart.wake_fd, .events = POLLIN};
			if (poll(&pfd, 1, 5000) != 1)
				return NULL;
			uint64_t v;
			if (read(uart.wake_fd, &v, sizeof(v)) < 0)
				return NULL;
		}
	}
	return NULL;
}

Test(uart, concurrent_feeder_and_reader)
{
	struct feeder_arg arg = {.total = 5 * UART_INPUT_BUF + 123};
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, feeder, &arg), 0);
	size_t got = 0;
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (got < arg.total) {
		if (rd(UART_REG_LSR) & UART_DR) {
			uint8_t b = rd(UART_REG_RBR);
			cr_assert_eq(b, (uint8_t)(got % 251), "byte %zu", got);
			got++;
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		cr_assert_lt(now.tv_sec - start.tv_sec, 10, "stalled after %zu bytes", got);
	}
	pthread_join(t, NULL);
}
