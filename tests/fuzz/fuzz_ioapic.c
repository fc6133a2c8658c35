/* fuzz_ioapic.c - libFuzzer harness: the userspace IOAPIC's registers, lines and EOIs
 * against a model of what a guest may rely on. */
#include <string.h>

#include "fuzz.h"
#include "ioapic.h"

/* No KVM (vm_fd -1): deliveries are only counted, which is what the model
 * checks. Input: operations, each a kind byte and its arguments:
 *   0 select (u8 register), 1 window write (u32), 2 window read,
 *   3 EOI register write (u32), 4 line (u8 pin, u8 level), 5 EOI exit (u8 vector),
 *   6 an access of a bad size or offset (u8 offset, u8 size), 7 window write low
 *   then high of one entry (u8 pin, u32, u32). */

#define RO_BITS (IOAPIC_RTE_REMOTE_IRR | IOAPIC_RTE_DELIVERY_STATUS)

struct model {
	uint64_t rte[IOAPIC_PINS]; /* what the guest wrote (read-only bits aside) */
	bool line[IOAPIC_PINS];
	uint32_t id;
};

static void wr(struct ioapic *io, uint64_t off, uint32_t v)
{
	ioapic_mmio_ops.write(io, off, &v, 4);
}

static uint32_t rd(struct ioapic *io, uint64_t off)
{
	uint32_t v;
	ioapic_mmio_ops.read(io, off, &v, 4);
	return v;
}

/* The model's view of the writable bits, checked against the device. */
static void check_entries(struct ioapic *io, const struct model *m)
{
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
		uint64_t r = io->redir[pin];
		FUZZ_CHECK((r & ~RO_BITS) == (m->rte[pin] & ~RO_BITS),
			   "pin %u: entry 0x%llx, guest wrote 0x%llx", pin, (unsigned long long)r,
			   (unsigned long long)m->rte[pin]);
		FUZZ_CHECK(!(r & IOAPIC_RTE_REMOTE_IRR) || (r & IOAPIC_RTE_LEVEL),
			   "pin %u: remote IRR on an edge entry 0x%llx", pin,
			   (unsigned long long)r);
		FUZZ_CHECK(!(r & IOAPIC_RTE_DELIVERY_STATUS), "pin %u: delivery status set", pin);
	}
}

/* A line change: how many interrupts it must deliver. */
static unsigned expected_deliveries(const struct ioapic *io, unsigned pin, bool level, bool was)
{
	uint64_t r = io->redir[pin];
	if (r & IOAPIC_RTE_MASKED)
		return 0;
	if (r & IOAPIC_RTE_LEVEL)
		return level && !(r & IOAPIC_RTE_REMOTE_IRR);
	return level && !was;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = fuzz_input(data, size);
	static struct ioapic io;
	ioapic_init(&io, -1);
	struct model m;
	memset(&m, 0, sizeof(m));
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++)
		m.rte[pin] = IOAPIC_RTE_MASKED;

	for (unsigned steps = 0; fuzz_more(&in) && steps < 4096; steps++) {
		uint8_t op = fuzz_u8(&in);
		switch (op % 8) {
		case 0:
			wr(&io, IOAPIC_MMIO_SELECT, fuzz_u8(&in));
			break;
		case 1:
		case 7: {
			uint32_t sel = io.ioregsel;
			if (op % 8 == 7) {
				sel = IOAPIC_REG_REDIR + 2 * (fuzz_u8(&in) % IOAPIC_PINS);
				wr(&io, IOAPIC_MMIO_SELECT, sel);
			}
			uint32_t v = fuzz_u32(&in);
			uint64_t before = io.delivered;
			bool was_masked = true;
			unsigned pin = 0;
			bool is_entry =
			    sel >= IOAPIC_REG_REDIR && sel < IOAPIC_REG_REDIR + 2 * IOAPIC_PINS;
			if (is_entry) {
				pin = (sel - IOAPIC_REG_REDIR) / 2;
				was_masked = io.redir[pin] & IOAPIC_RTE_MASKED;
			}
			wr(&io, IOAPIC_MMIO_WINDOW, v);
			if (sel == IOAPIC_REG_ID)
				m.id = v & 0x0f000000u;
			if (is_entry) {
				if (sel & 1)
					m.rte[pin] = (m.rte[pin] & 0xffffffffULL) | (uint64_t)v
											<< 32;
				else
					m.rte[pin] = (m.rte[pin] & ~0xffffffffULL) | v;
				/* Unmasking an asserted level line (IRR clear) delivers it now. */
				uint64_t r = io.redir[pin];
				bool owed = was_masked && !(r & IOAPIC_RTE_MASKED) &&
					    (r & IOAPIC_RTE_LEVEL) && m.line[pin];
				FUZZ_CHECK(io.delivered - before <= 1, "one write delivered %llu",
					   (unsigned long long)(io.delivered - before));
				if (owed && !(r & IOAPIC_RTE_REMOTE_IRR))
					FUZZ_CHECK(io.delivered == before + 1 ||
						       (r & IOAPIC_RTE_REMOTE_IRR),
						   "pin %u unmasked with its level line up: "
						   "nothing delivered",
						   pin);
			} else {
				FUZZ_CHECK(io.delivered == before, "a non-entry write delivered");
			}
			if (op % 8 == 7) {
				wr(&io, IOAPIC_MMIO_SELECT, sel + 1);
				uint32_t hi = fuzz_u32(&in);
				wr(&io, IOAPIC_MMIO_WINDOW, hi);
				m.rte[pin] = (m.rte[pin] & 0xffffffffULL) | (uint64_t)hi << 32;
			}
			break;
		}
		case 2: {
			uint32_t sel = io.ioregsel, v = rd(&io, IOAPIC_MMIO_WINDOW);
			if (sel == IOAPIC_REG_VERSION)
				FUZZ_CHECK(v == (((IOAPIC_PINS - 1) << 16) | 0x11), "version 0x%x",
					   v);
			else if (sel == IOAPIC_REG_ID)
				FUZZ_CHECK(v == m.id, "id 0x%x, written 0x%x", v, m.id);
			else if (sel >= IOAPIC_REG_REDIR &&
				 sel < IOAPIC_REG_REDIR + 2 * IOAPIC_PINS) {
				uint64_t r = io.redir[(sel - IOAPIC_REG_REDIR) / 2];
				FUZZ_CHECK(v == ((sel & 1) ? (uint32_t)(r >> 32) : (uint32_t)r),
					   "entry read 0x%x", v);
			} else if (sel != IOAPIC_REG_ARB)
				FUZZ_CHECK(v == 0xffffffffu, "register 0x%x read 0x%x", sel, v);
			break;
		}
		case 3: {
			uint64_t before = io.delivered;
			wr(&io, IOAPIC_MMIO_EOI, fuzz_u32(&in));
			FUZZ_CHECK(io.delivered - before <= IOAPIC_PINS,
				   "EOI register delivered %llu",
				   (unsigned long long)(io.delivered - before));
			break;
		}
		case 4: {
			unsigned pin = fuzz_u8(&in) % (IOAPIC_PINS + 2); /* a few past the end */
			bool level = fuzz_u8(&in) & 1;
			uint64_t before = io.delivered;
			if (pin >= IOAPIC_PINS) {
				ioapic_set_level(&io, pin, level);
				FUZZ_CHECK(io.delivered == before, "pin %u past the end delivered",
					   pin);
				break;
			}
			unsigned want = expected_deliveries(&io, pin, level, m.line[pin]);
			bool irr_before = io.redir[pin] & IOAPIC_RTE_REMOTE_IRR;
			ioapic_set_level(&io, pin, level);
			m.line[pin] = level;
			FUZZ_CHECK(
			    io.delivered - before == want,
			    "pin %u to %d (entry 0x%llx, IRR was %d): %llu deliveries, want %u",
			    pin, level, (unsigned long long)io.redir[pin], irr_before,
			    (unsigned long long)(io.delivered - before), want);
			break;
		}
		case 5: {
			uint8_t vector = fuzz_u8(&in);
			ioapic_eoi(&io, vector);
			for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
				uint64_t r = io.redir[pin];
				if ((r & 0xff) != vector || !(r & IOAPIC_RTE_LEVEL))
					continue;
				/* Cleared, unless re-delivered at once (line still up, unmasked).
				 */
				bool again = m.line[pin] && !(r & IOAPIC_RTE_MASKED);
				FUZZ_CHECK(!(r & IOAPIC_RTE_REMOTE_IRR) || again,
					   "pin %u: remote IRR survived the EOI of its vector",
					   pin);
			}
			break;
		}
		case 6: {
			uint8_t off = fuzz_u8(&in);
			unsigned len = 1u << (fuzz_u8(&in) % 4);
			if (len == 4 && (off == IOAPIC_MMIO_SELECT || off == IOAPIC_MMIO_WINDOW ||
					 off == IOAPIC_MMIO_EOI))
				len = 2;
			uint8_t buf[8];
			memset(buf, 0x5a, sizeof(buf));
			ioapic_mmio_ops.read(&io, off, buf, len);
			uint8_t w[8] = {0};
			ioapic_mmio_ops.write(&io, off, w, len);
			break;
		}
		}
		check_entries(&io, &m);
	}
	pthread_mutex_destroy(&io.lock);
	return 0;
}
