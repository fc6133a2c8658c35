/* test_ged.c - the Generic Event Device: a power-button press sets its bit
 * and sends one edge; the guest reads the pending events and acknowledges
 * them by writing 1s; every other access is ignored (rate-limited log), and
 * presses from one thread race safely with a vCPU's acknowledgements. */
#include <criterion/criterion.h>

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "ged.h"
#include "ioapic.h"
#include "platform.h"
#include "test_util.h"

static struct ged dev;

/* The interrupt line as the device drives it. */
static struct {
	_Atomic unsigned calls, rises, bad_gsi;
	_Atomic bool level;
} line;

static void set_level(void *opaque, unsigned gsi, bool level)
{
	cr_assert_eq(opaque, &line);
	if (gsi != GED_GSI)
		line.bad_gsi++;
	line.calls++;
	if (level && !atomic_exchange(&line.level, level))
		line.rises++;
	atomic_store(&line.level, level);
}

static void setup(void)
{
	memset(&line, 0, sizeof(line));
	struct irq_sink sink = {set_level, &line};
	ged_init(&dev, &sink, GED_GSI);
}

TestSuite(ged, .init = setup);

static void wr(uint64_t offset, uint64_t value, unsigned len)
{
	mmio_wr(&ged_mmio_ops, &dev, offset, value, len);
}

static uint64_t rd(uint64_t offset, unsigned len)
{
	return mmio_rd(&ged_mmio_ops, &dev, offset, len);
}

static uint64_t events(void)
{
	return rd(GED_REG_EVENTS, 4);
}

Test(ged, nothing_pending_at_start)
{
	cr_assert_eq(events(), 0);
	cr_assert_eq(line.calls, 0, "no interrupt before a press");
	cr_assert_eq(GED_EVENT_POWER_BUTTON, 1u, "bit 0, as GED0._EVT tests it");
}

Test(ged, a_press_sets_the_bit_and_sends_one_edge)
{
	cr_assert_eq(ged_power_button(&dev), 1);
	cr_assert_eq(events(), GED_EVENT_POWER_BUTTON);
	cr_assert_eq(line.rises, 1);
	cr_assert_not(line.level, "an edge: the line is released again");
	cr_assert_eq(line.bad_gsi, 0, "on GED_GSI");
	/* Reading has no side effect. */
	cr_assert_eq(events(), GED_EVENT_POWER_BUTTON);
	cr_assert_eq(line.rises, 1);
}

Test(ged, a_second_press_while_pending_sends_another_edge)
{
	cr_assert_eq(ged_power_button(&dev), 1);
	cr_assert_eq(ged_power_button(&dev), 0, "already pending");
	cr_assert_eq(events(), GED_EVENT_POWER_BUTTON);
	cr_assert_eq(line.rises, 2);
	cr_assert_not(line.level);
}

Test(ged, raise_sets_each_event_independently)
{
	cr_assert_eq(GED_EVENT_VMGENID, 2u, "bit 1, as GED0._EVT tests it");
	cr_assert_eq(ged_raise(&dev, GED_EVENT_VMGENID), GED_EVENT_VMGENID);
	cr_assert_eq(events(), GED_EVENT_VMGENID);
	cr_assert_eq(line.rises, 1);
	cr_assert_not(line.level, "an edge: the line is released again");
	cr_assert_eq(ged_power_button(&dev), 1, "the power button is another bit");
	cr_assert_eq(events(), GED_EVENTS);
	cr_assert_eq(line.rises, 2);
	cr_assert_eq(ged_raise(&dev, GED_EVENTS), 0, "both still pending");
	cr_assert_eq(line.rises, 3, "still a new edge");
	/* Acknowledging one leaves the other pending. */
	wr(GED_REG_EVENTS, GED_EVENT_POWER_BUTTON, 4);
	cr_assert_eq(events(), GED_EVENT_VMGENID);
	cr_assert_eq(ged_raise(&dev, GED_EVENTS), GED_EVENT_POWER_BUTTON);
	wr(GED_REG_EVENTS, GED_EVENTS, 4);
	cr_assert_eq(events(), 0);
}

Test(ged, raising_no_event_bit_does_nothing)
{
	cr_assert_eq(ged_raise(&dev, 0), 0);
	cr_assert_eq(ged_raise(&dev, ~GED_EVENTS), 0);
	cr_assert_eq(events(), 0, "bits that are no event are not set");
	cr_assert_eq(line.calls, 0, "and no edge");
	cr_assert_eq(ged_raise(&dev, 0xffffffffu), GED_EVENTS, "only the event bits");
	cr_assert_eq(events(), GED_EVENTS);
}

Test(ged, writing_one_acknowledges)
{
	ged_power_button(&dev);
	wr(GED_REG_EVENTS, 0, 4);
	cr_assert_eq(events(), GED_EVENT_POWER_BUTTON, "writing 0 clears nothing");
	wr(GED_REG_EVENTS, ~(uint64_t)GED_EVENT_POWER_BUTTON & 0xffffffffu, 4);
	cr_assert_eq(events(), GED_EVENT_POWER_BUTTON, "other bits clear nothing");
	wr(GED_REG_EVENTS, GED_EVENT_POWER_BUTTON, 4);
	cr_assert_eq(events(), 0);
	/* What _EVT does: write back what it read. */
	ged_power_button(&dev);
	wr(GED_REG_EVENTS, events(), 4);
	cr_assert_eq(events(), 0);
	cr_assert_eq(line.rises, 2, "acknowledging raises nothing");
	/* A press after the acknowledgement is a new event. */
	cr_assert_eq(ged_power_button(&dev), 1);
	cr_assert_eq(events(), GED_EVENT_POWER_BUTTON);
}

Test(ged, other_sizes_and_offsets_read_all_ones_and_write_nothing)
{
	ged_power_button(&dev);
	cr_assert_eq(rd(GED_REG_EVENTS, 1), 0xff);
	cr_assert_eq(rd(GED_REG_EVENTS, 2), 0xffff);
	cr_assert_eq(rd(GED_REG_EVENTS, 8), UINT64_MAX);
	cr_assert_eq(rd(1, 1), 0xff);
	cr_assert_eq(rd(4, 4), 0xffffffffu);
	cr_assert_eq(rd(GED_MMIO_SIZE - 4, 4), 0xffffffffu);
	wr(GED_REG_EVENTS, GED_EVENT_POWER_BUTTON, 1);
	wr(GED_REG_EVENTS, GED_EVENT_POWER_BUTTON, 2);
	wr(GED_REG_EVENTS, GED_EVENT_POWER_BUTTON, 8);
	wr(1, GED_EVENT_POWER_BUTTON, 1);
	wr(4, GED_EVENT_POWER_BUTTON, 4);
	wr(GED_MMIO_SIZE - 4, 0xffffffffu, 4);
	cr_assert_eq(events(), GED_EVENT_POWER_BUTTON, "still pending");
	cr_assert_eq(line.rises, 1, "no access raises the line");
}

Test(ged, bad_accesses_are_logged_rate_limited)
{
	char path[PATH_MAX];
	int saved = stderr_capture_begin(path, sizeof(path));
	for (int i = 0; i < 100; i++) {
		wr(8, 1, 4);
		(void)rd(GED_REG_EVENTS, 1);
	}
	char *log = stderr_capture_end(saved, path);
	unsigned lines = count_lines(log);
	cr_expect(lines >= 1 && lines <= 10, "a few lines, not 200: %u\n%s", lines, log);
	cr_expect(strstr(log, "ged: 4-byte write at 0x8 ignored"), "%s", log);
	free(log);
	/* A proper acknowledgement is not logged. */
	ged_power_button(&dev);
	saved = stderr_capture_begin(path, sizeof(path));
	wr(GED_REG_EVENTS, GED_EVENT_POWER_BUTTON, 4);
	(void)events();
	log = stderr_capture_end(saved, path);
	cr_expect_eq(log[0], '\0', "'%s'", log);
	free(log);
}

Test(ged, without_a_line_a_press_still_sets_the_bit)
{
	ged_init(&dev, NULL, GED_GSI);
	cr_assert_eq(ged_power_button(&dev), 1);
	cr_assert_eq(events(), GED_EVENT_POWER_BUTTON);
}

/* ---- presses on one thread, a vCPU acknowledging on another ---- */

#define RACE_PRESSES 200000

static _Atomic bool presser_done;
static _Atomic unsigned newly_set;

static void *presser(void *arg)
{
	(void)arg;
	for (int i = 0; i < RACE_PRESSES; i++)
		newly_set += (unsigned)ged_power_button(&dev);
	atomic_store(&presser_done, true);
	return NULL;
}

Test(ged, presses_race_safely_with_acknowledgements)
{
	/* Only the guest clears the bit, and only after reading it set: each
	 * press that found it clear is then matched by exactly one ack (or is
	 * still pending at the end). A lost update on either side breaks it. */
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, presser, NULL), 0);
	unsigned acks = 0;
	while (!atomic_load(&presser_done)) {
		if (events() & GED_EVENT_POWER_BUTTON) {
			wr(GED_REG_EVENTS, GED_EVENT_POWER_BUTTON, 4);
			acks++;
		}
	}
	pthread_join(t, NULL);
	unsigned pending = (events() & GED_EVENT_POWER_BUTTON) ? 1 : 0;
	cr_assert_eq(newly_set, acks + pending, "%u newly set, %u acknowledged, %u pending",
		     newly_set, acks, pending);
	cr_assert_gt(acks, 0, "the two threads did overlap");
	cr_assert_eq(line.rises, RACE_PRESSES, "one edge per press");
	cr_assert_not(line.level);
}

Test(ged, on_the_bus_at_its_platform_address)
{
	struct bus bus;
	bus_init(&bus);
	cr_assert_eq(bus_register(&bus, GED_MMIO_BASE, GED_MMIO_SIZE, &ged_mmio_ops, &dev, "ged"),
		     0);
	ged_power_button(&dev);
	uint32_t v = 0;
	cr_assert_eq(bus_read(&bus, GED_MMIO_BASE + GED_REG_EVENTS, &v, 4), 0);
	cr_assert_eq(v, GED_EVENT_POWER_BUTTON);
	cr_assert_eq(bus_write(&bus, GED_MMIO_BASE + GED_REG_EVENTS, &v, 4), 0);
	cr_assert_eq(bus_read(&bus, GED_MMIO_BASE + GED_REG_EVENTS, &v, 4), 0);
	cr_assert_eq(v, 0);
	cr_assert_eq(GED_MMIO_BASE % 0x1000, 0, "page-aligned");
}

/* Through minnow's IOAPIC (no KVM): a press while the guest has the pin
 * masked is delivered when it unmasks it, once; a press on an unmasked
 * edge pin is delivered at once. */
Test(ged, through_the_ioapic_an_early_press_waits_for_the_unmask)
{
	struct ioapic io;
	cr_assert_eq(ioapic_init(&io, -1), 0);
	struct irq_sink sink = ioapic_irq_sink(&io);
	ged_init(&dev, &sink, GED_GSI);
	ged_power_button(&dev);
	cr_assert_eq(io.delivered, 0, "masked: nothing delivered yet");
	uint32_t sel = IOAPIC_REG_REDIR + 2 * GED_GSI, low = 0x40; /* vector 0x40, edge */
	mmio_wr(&ioapic_mmio_ops, &io, IOAPIC_MMIO_SELECT, sel, 4);
	mmio_wr(&ioapic_mmio_ops, &io, IOAPIC_MMIO_WINDOW, low, 4);
	cr_assert_eq(io.delivered, 1, "the early press arrives at the unmask");
	ged_power_button(&dev);
	cr_assert_eq(io.delivered, 2, "and a later one at once");
}
