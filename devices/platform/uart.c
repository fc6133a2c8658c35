/* uart.c - a 16550A-compatible MMIO UART: register file, interrupt priority, output to an fd. */
#include "uart.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"

#define UART_IER_MASK	(UART_ERBFI | UART_ETBEI | UART_ELSI | UART_EDSSI)
#define UART_MCR_MASK	(UART_DTR | UART_RTS | UART_OUT1 | UART_OUT2 | UART_LOOP)
#define UART_FCR_KEEP	0xc9 /* FCR bits that stick: FIFOE, DMA mode, trigger level */
#define UART_MSR_DELTAS (UART_DCTS | UART_DDSR | UART_TERI | UART_DDCD)

/* MSR line bits when not in loopback: a connected line (no ring). */
#define UART_MSR_CONNECTED (UART_DCD | UART_DSR | UART_CTS)

static struct log_limit bad_access_limit = {.burst = 5};

static bool in_loopback(const struct uart *u)
{
	return u->mcr & UART_LOOP;
}

/* The modem status inputs (MSR bits 4-7): fixed outside loopback, wired
 * from MCR inside it (DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD). */
static uint8_t msr_lines(const struct uart *u)
{
	if (!in_loopback(u))
		return UART_MSR_CONNECTED;
	uint8_t lines = 0;
	if (u->mcr & UART_DTR)
		lines |= UART_DSR;
	if (u->mcr & UART_RTS)
		lines |= UART_CTS;
	if (u->mcr & UART_OUT1)
		lines |= UART_RI;
	if (u->mcr & UART_OUT2)
		lines |= UART_DCD;
	return lines;
}

/* The highest-priority pending interrupt, as an IIR id. */
static uint8_t pending_id(const struct uart *u)
{
	if ((u->ier & UART_ELSI) && u->lsr_err)
		return UART_IIR_RLS;
	if ((u->ier & UART_ERBFI) && u->in_len > 0)
		return UART_IIR_RDA;
	if ((u->ier & UART_ETBEI) && u->thr_irq_pending)
		return UART_IIR_THRE;
	if ((u->ier & UART_EDSSI) && (u->msr & UART_MSR_DELTAS))
		return UART_IIR_MS;
	return UART_IIR_NONE;
}

/* Recomputes the interrupt line. On a PC the INTR pin reaches the
 * interrupt controller only through OUT2, and loopback disconnects OUT2
 * from its pin, so the line is also quiet in loopback. */
static void update_irq(struct uart *u)
{
	bool level = pending_id(u) != UART_IIR_NONE && (u->mcr & UART_OUT2) && !in_loopback(u);
	if (level == u->irq_level)
		return;
	u->irq_level = level;
	if (u->irq.set_level)
		u->irq.set_level(u->irq.opaque, u->gsi, level);
}

/* Tells the feeder that it may send input again, once it was told there
 * was no room and the guest has emptied the buffer. */
static void maybe_wake(struct uart *u)
{
	if (!u->input_blocked || u->in_len > 0 || in_loopback(u))
		return;
	u->input_blocked = false;
	uint64_t one = 1;
	ssize_t n;
	do {
		n = write(u->wake_fd, &one, sizeof(one));
	} while (n < 0 && errno == EINTR);
	/* EAGAIN means the counter is already huge: the feeder is awake. */
}

static size_t rx_space_locked(struct uart *u)
{
	size_t space = in_loopback(u) ? 0 : UART_INPUT_BUF - u->in_len;
	if (space == 0)
		u->input_blocked = true;
	return space;
}

static void rx_push(struct uart *u, uint8_t byte)
{
	u->in[(u->in_head + u->in_len) % UART_INPUT_BUF] = byte;
	u->in_len++;
}

static uint8_t rx_pop(struct uart *u)
{
	if (u->in_len == 0)
		return 0;
	uint8_t byte = u->in[u->in_head];
	u->in_head = (u->in_head + 1) % UART_INPUT_BUF;
	u->in_len--;
	maybe_wake(u);
	return byte;
}

static void rx_clear(struct uart *u)
{
	u->in_head = 0;
	u->in_len = 0;
	maybe_wake(u);
}

static void write_thr(struct uart *u, uint8_t val)
{
	u->thr_irq_pending = false;
	if (in_loopback(u)) {
		size_t cap = (u->fcr & UART_FIFOE) ? UART_FIFO_SIZE : 1;
		if (u->in_len < cap)
			rx_push(u, val);
		else
			u->lsr_err |= UART_OE;
	} else {
		out_sink_batch(&u->out);
		out_sink_write(&u->out, &val, 1);
	}
	/* The byte left at once: THR is empty again. */
	u->thr_irq_pending = true;
}

static void write_ier(struct uart *u, uint8_t val)
{
	uint8_t old = u->ier;
	u->ier = val & UART_IER_MASK;
	/* Enabling ETBEI while THR is empty (always, here) raises THRE. */
	if ((u->ier & UART_ETBEI) && !(old & UART_ETBEI))
		u->thr_irq_pending = true;
	else if (!(u->ier & UART_ETBEI))
		u->thr_irq_pending = false;
}

static void write_fcr(struct uart *u, uint8_t val)
{
	/* Data is never held for transmission, so XMIT_RESET has nothing to
	 * clear. Toggling FIFOE does not clear the input: the host-side
	 * buffer is not the chip's FIFO and keeping typed input is kinder. */
	if (val & UART_RCVR_RESET)
		rx_clear(u);
	u->fcr = val & UART_FCR_KEEP;
}

static void write_mcr(struct uart *u, uint8_t val)
{
	uint8_t before = msr_lines(u);
	u->mcr = val & UART_MCR_MASK;
	uint8_t after = msr_lines(u);
	uint8_t changed = before ^ after;
	if (changed & UART_CTS)
		u->msr |= UART_DCTS;
	if (changed & UART_DSR)
		u->msr |= UART_DDSR;
	if ((before & UART_RI) && !(after & UART_RI))
		u->msr |= UART_TERI;
	if (changed & UART_DCD)
		u->msr |= UART_DDCD;
	u->msr = (u->msr & UART_MSR_DELTAS) | after;
	maybe_wake(u); /* leaving loopback may make room for input */
}

static uint8_t read_reg(struct uart *u, unsigned reg)
{
	uint8_t val;
	switch (reg) {
	case UART_REG_RBR:
		return (u->lcr & UART_DLAB) ? u->dll : rx_pop(u);
	case UART_REG_IER:
		return (u->lcr & UART_DLAB) ? u->dlm : u->ier;
	case UART_REG_IIR:
		val = pending_id(u);
		if (val == UART_IIR_THRE)
			u->thr_irq_pending = false;
		if (u->fcr & UART_FIFOE)
			val |= UART_IIR_FIFOS;
		return val;
	case UART_REG_LCR:
		return u->lcr;
	case UART_REG_MCR:
		return u->mcr;
	case UART_REG_LSR:
		val = UART_THRE | UART_TEMT | u->lsr_err;
		if (u->in_len > 0)
			val |= UART_DR;
		u->lsr_err = 0;
		return val;
	case UART_REG_MSR:
		val = u->msr;
		u->msr &= (uint8_t)~UART_MSR_DELTAS;
		return val;
	case UART_REG_SCR:
		return u->scr;
	}
	return 0xff;
}

static void write_reg(struct uart *u, unsigned reg, uint8_t val)
{
	switch (reg) {
	case UART_REG_THR:
		if (u->lcr & UART_DLAB)
			u->dll = val;
		else
			write_thr(u, val);
		break;
	case UART_REG_IER:
		if (u->lcr & UART_DLAB)
			u->dlm = val;
		else
			write_ier(u, val);
		break;
	case UART_REG_FCR:
		write_fcr(u, val);
		break;
	case UART_REG_LCR:
		u->lcr = val;
		break;
	case UART_REG_MCR:
		write_mcr(u, val);
		break;
	case UART_REG_LSR:
	case UART_REG_MSR:
		break; /* read-only (factory test writes are ignored) */
	case UART_REG_SCR:
		u->scr = val;
		break;
	}
}

static void uart_mmio_read(void *opaque, uint64_t offset, void *data, unsigned len)
{
	struct uart *u = opaque;
	if (len != 1 || offset >= UART_NUM_REGS) {
		memset(data, 0xff, len);
		log_limited(&bad_access_limit, "uart: ignored %u-byte read at offset 0x%" PRIx64,
			    len, offset);
		return;
	}
	pthread_mutex_lock(&u->lock);
	*(uint8_t *)data = read_reg(u, (unsigned)offset);
	update_irq(u);
	pthread_mutex_unlock(&u->lock);
}

static void uart_mmio_write(void *opaque, uint64_t offset, const void *data, unsigned len)
{
	struct uart *u = opaque;
	if (len != 1 || offset >= UART_NUM_REGS) {
		log_limited(&bad_access_limit, "uart: ignored %u-byte write at offset 0x%" PRIx64,
			    len, offset);
		return;
	}
	pthread_mutex_lock(&u->lock);
	write_reg(u, (unsigned)offset, *(const uint8_t *)data);
	update_irq(u);
	pthread_mutex_unlock(&u->lock);
}

const struct mmio_ops uart_mmio_ops = {
    .read = uart_mmio_read,
    .write = uart_mmio_write,
};

int uart_init(struct uart *u, int out_fd, const struct irq_sink *irq, unsigned gsi)
{
	memset(u, 0, sizeof(*u));
	out_sink_init(&u->out, out_fd, "uart");
	u->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (u->wake_fd < 0)
		return -errno;
	int err = pthread_mutex_init(&u->lock, NULL);
	if (err != 0) {
		close(u->wake_fd);
		u->wake_fd = -1;
		return -err;
	}
	if (irq)
		u->irq = *irq;
	u->gsi = gsi;
	u->dll = 12; /* 9600 baud from the PC's 1.8432 MHz clock */
	u->msr = msr_lines(u);
	return 0;
}

void uart_fini(struct uart *u)
{
	if (u->wake_fd >= 0)
		close(u->wake_fd);
	u->wake_fd = -1;
	pthread_mutex_destroy(&u->lock);
}

size_t uart_rx_space(struct uart *u)
{
	pthread_mutex_lock(&u->lock);
	size_t space = rx_space_locked(u);
	pthread_mutex_unlock(&u->lock);
	return space;
}

size_t uart_receive(struct uart *u, const uint8_t *buf, size_t len)
{
	pthread_mutex_lock(&u->lock);
	size_t space = rx_space_locked(u);
	size_t take = len;
	if (len > space) {
		take = space;
		u->input_blocked = true;
	}
	for (size_t i = 0; i < take; i++)
		rx_push(u, buf[i]);
	update_irq(u);
	pthread_mutex_unlock(&u->lock);
	return take;
}

void uart_get_state(struct uart *u, struct uart_state *s)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_lock(&u->lock);
	s->ier = u->ier;
	s->lcr = u->lcr;
	s->mcr = u->mcr;
	s->scr = u->scr;
	s->dll = u->dll;
	s->dlm = u->dlm;
	s->fcr = u->fcr;
	s->msr = u->msr;
	s->lsr_err = u->lsr_err;
	s->thr_irq_pending = u->thr_irq_pending;
	s->in_len = u->in_len;
	for (size_t i = 0; i < u->in_len; i++)
		s->in[i] = u->in[(u->in_head + i) % UART_INPUT_BUF];
	pthread_mutex_unlock(&u->lock);
}

void uart_set_state(struct uart *u, const struct uart_state *s)
{
	pthread_mutex_lock(&u->lock);
	u->ier = s->ier;
	u->lcr = s->lcr;
	u->mcr = s->mcr;
	u->scr = s->scr;
	u->dll = s->dll;
	u->dlm = s->dlm;
	u->fcr = s->fcr;
	u->msr = s->msr;
	u->lsr_err = s->lsr_err;
	u->thr_irq_pending = s->thr_irq_pending != 0;
	u->in_head = 0;
	u->in_len = s->in_len < UART_INPUT_BUF ? (size_t)s->in_len : UART_INPUT_BUF;
	memcpy(u->in, s->in, u->in_len);
	u->irq_level = false;
	update_irq(u);
	pthread_mutex_unlock(&u->lock);
}
