/* fuzz_uart.c - libFuzzer harness: MMIO 16550A register accesses and uart_receive(). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "platform.h"
#include "uart.h"

/* Reads and writes of any size and offset and host input, checked against a model of the
 * receive buffer, the line status, the divisor latch and the wake-up eventfd. */

/* One operation: a kind byte, then its arguments. */
enum op {
	OP_WRITE,    /* reg, value */
	OP_WRITE2,   /* same, twice as likely */
	OP_READ,     /* reg */
	OP_READ2,    /* same */
	OP_RECEIVE,  /* n, n bytes (n = 255: 4096 bytes of 'x') */
	OP_RX_SPACE, /* - */
	OP_BAD,	     /* size selector, offset: accesses the UART must ignore */
	OP_DRAIN,    /* read the wake-up eventfd */
};

struct line {
	bool level;
	unsigned calls;
};

/* What the guest should see, kept by the harness. */
struct model {
	uint8_t in[UART_INPUT_BUF];
	size_t head, len;
	uint8_t lcr, mcr, fcr, ier, scr, dll, dlm;
	bool overrun;
	bool blocked; /* the feeder was told there is no room */
};

static int null_fd = -1;
static uint8_t big[UART_INPUT_BUF];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (null_fd < 0)
		abort();
	memset(big, 'x', sizeof(big));
	return 0;
}

static void set_level(void *opaque, unsigned gsi, bool level)
{
	struct line *l = opaque;
	FUZZ_CHECK(gsi == UART_GSI, "gsi %u", gsi);
	FUZZ_CHECK(level != l->level, "set_level(%d) without a change", level);
	l->level = level;
	l->calls++;
}

static bool loopback(const struct model *m)
{
	return m->mcr & UART_LOOP;
}

static void push(struct model *m, uint8_t b)
{
	m->in[(m->head + m->len) % UART_INPUT_BUF] = b;
	m->len++;
}

static void model_write(struct model *m, unsigned reg, uint8_t v)
{
	bool dlab = m->lcr & UART_DLAB;
	switch (reg) {
	case UART_REG_THR:
		if (dlab) {
			m->dll = v;
		} else if (loopback(m)) {
			if (m->len < (m->fcr & UART_FIFOE ? UART_FIFO_SIZE : 1u))
				push(m, v);
			else
				m->overrun = true;
		}
		break;
	case UART_REG_IER:
		if (dlab)
			m->dlm = v;
		else
			m->ier = v & 0x0f;
		break;
	case UART_REG_FCR:
		if (v & UART_RCVR_RESET)
			m->head = m->len = 0;
		m->fcr = v & 0xc9;
		break;
	case UART_REG_LCR:
		m->lcr = v;
		break;
	case UART_REG_MCR:
		m->mcr = v & 0x1f;
		break;
	case UART_REG_SCR:
		m->scr = v;
		break;
	}
}

static void model_read(struct model *m, unsigned reg, uint8_t got)
{
	bool dlab = m->lcr & UART_DLAB;
	uint8_t want;
	switch (reg) {
	case UART_REG_RBR:
		if (dlab) {
			want = m->dll;
		} else if (m->len == 0) {
			want = 0;
		} else {
			want = m->in[m->head];
			m->head = (m->head + 1) % UART_INPUT_BUF;
			m->len--;
		}
		FUZZ_CHECK(got == want, "RBR/DLL 0x%02x, expected 0x%02x", got, want);
		break;
	case UART_REG_IER:
		want = dlab ? m->dlm : m->ier;
		FUZZ_CHECK(got == want, "IER/DLM 0x%02x, expected 0x%02x", got, want);
		break;
	case UART_REG_IIR:
		FUZZ_CHECK((got & UART_IIR_FIFOS) == (m->fcr & UART_FIFOE ? UART_IIR_FIFOS : 0),
			   "IIR FIFO bits 0x%02x", got);
		if ((m->ier & UART_ELSI) && m->overrun)
			want = UART_IIR_RLS;
		else if ((m->ier & UART_ERBFI) && m->len)
			want = UART_IIR_RDA;
		else
			want = (got & UART_IIR_ID_MASK) == UART_IIR_RDA ||
				       (got & UART_IIR_ID_MASK) == UART_IIR_RLS
				   ? 0xff
				   : got & UART_IIR_ID_MASK;
		FUZZ_CHECK((got & UART_IIR_ID_MASK) == want, "IIR 0x%02x, expected id 0x%02x", got,
			   want);
		break;
	case UART_REG_LCR:
		FUZZ_CHECK(got == m->lcr, "LCR 0x%02x, expected 0x%02x", got, m->lcr);
		break;
	case UART_REG_MCR:
		FUZZ_CHECK(got == m->mcr, "MCR 0x%02x, expected 0x%02x", got, m->mcr);
		break;
	case UART_REG_LSR:
		want = UART_THRE | UART_TEMT | (m->overrun ? UART_OE : 0) | (m->len ? UART_DR : 0);
		FUZZ_CHECK(got == want, "LSR 0x%02x, expected 0x%02x", got, want);
		m->overrun = false;
		break;
	case UART_REG_MSR:
		break; /* modem lines: covered by the unit tests */
	case UART_REG_SCR:
		FUZZ_CHECK(got == m->scr, "SCR 0x%02x, expected 0x%02x", got, m->scr);
		break;
	}
}

/* uart_rx_space()'s contract: once the feeder was told "no room", the
 * UART signals wake_fd when the guest has emptied the buffer. */
static void check_wake(struct uart *u, struct model *m)
{
	if (!m->blocked || m->len > 0 || loopback(m))
		return;
	uint64_t count = 0;
	ssize_t n = read(u->wake_fd, &count, sizeof(count));
	FUZZ_CHECK(n == sizeof(count) && count > 0, "no wake-up after the buffer drained");
	m->blocked = false;
}

static unsigned reg_of(uint8_t b)
{
	return b & 0x80 ? b : b % UART_NUM_REGS; /* mostly real registers */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = fuzz_input(data, size);
	struct line line = {false, 0};
	struct irq_sink sink = {.set_level = set_level, .opaque = &line};
	struct uart u;
	FUZZ_CHECK(uart_init(&u, fuzz_u8(&in) & 1 ? null_fd : -1, &sink, UART_GSI) == 0, "init");
	struct model *m = calloc(1, sizeof(*m));
	if (!m)
		abort();
	m->dll = 12;

	for (unsigned steps = 0; fuzz_more(&in) && steps < 4096; steps++) {
		uint8_t op = fuzz_u8(&in) % 8;
		uint8_t b = fuzz_u8(&in), v, buf[8];
		unsigned reg = reg_of(b);
		switch (op) {
		case OP_WRITE:
		case OP_WRITE2:
			v = fuzz_u8(&in);
			uart_mmio_ops.write(&u, reg, &v, 1);
			if (reg < UART_NUM_REGS)
				model_write(m, reg, v);
			break;
		case OP_READ:
		case OP_READ2:
			memset(buf, 0, sizeof(buf));
			uart_mmio_ops.read(&u, reg, buf, 1);
			if (reg < UART_NUM_REGS)
				model_read(m, reg, buf[0]);
			else
				FUZZ_CHECK(buf[0] == 0xff, "read beyond the registers: 0x%02x",
					   buf[0]);
			break;
		case OP_RECEIVE: {
			size_t n = b, got = b;
			const uint8_t *bytes = big;
			if (b == 255)
				n = got = sizeof(big);
			else
				bytes = fuzz_take(&in, n, &got);
			size_t space = loopback(m) ? 0 : UART_INPUT_BUF - m->len;
			size_t want = got < space ? got : space;
			size_t took = uart_receive(&u, bytes, got);
			FUZZ_CHECK(took == want, "uart_receive took %zu of %zu, expected %zu", took,
				   got, want);
			for (size_t i = 0; i < took; i++)
				push(m, bytes[i]);
			if (space == 0 || got > space)
				m->blocked = true;
			break;
		}
		case OP_RX_SPACE: {
			size_t space = loopback(m) ? 0 : UART_INPUT_BUF - m->len;
			size_t got = uart_rx_space(&u);
			FUZZ_CHECK(got == space, "uart_rx_space %zu, expected %zu", got, space);
			if (space == 0)
				m->blocked = true;
			break;
		}
		case OP_BAD: {
			static const unsigned sizes[] = {2, 4, 8, 1};
			unsigned len = sizes[b & 3];
			uint64_t off =
			    len == 1 ? UART_NUM_REGS + (b >> 2) : (b >> 2) % UART_NUM_REGS;
			memset(buf, 0, sizeof(buf));
			uart_mmio_ops.read(&u, off, buf, len);
			for (unsigned i = 0; i < len; i++)
				FUZZ_CHECK(buf[i] == 0xff, "bad read returned 0x%02x", buf[i]);
			uart_mmio_ops.write(&u, off, buf, len);
			break;
		}
		case OP_DRAIN: {
			uint64_t count;
			(void)!read(u.wake_fd, &count, sizeof(count));
			break;
		}
		}
		check_wake(&u, m);
	}
	uart_fini(&u);
	free(m);
	return 0;
}
