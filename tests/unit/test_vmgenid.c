/* test_vmgenid.c - the VM generation ID: where it lives (reserved low
 * memory, 8-byte aligned, one page), that each new ID is random and
 * differs from the last, marked as a version-4 GUID, written to guest RAM
 * and nowhere else, refused outside RAM, and that a restore's new ID
 * raises the GED's vmgenid event. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdatomic.h>
#include <string.h>

#include "ged.h"
#include "platform.h"
#include "test_util.h"
#include "virtio_driver.h"
#include "vmgenid.h"

static void setup(void)
{
	ram_map(64ULL << 20);
}

TestSuite(vmgenid, .init = setup, .fini = ram_unmap);

static const uint8_t *ram_id(void)
{
	return gp(VMGENID_ADDR, VMGENID_SIZE);
}

Test(vmgenid, lives_in_reserved_low_memory_aligned_in_one_page)
{
	cr_assert_eq(VMGENID_SIZE, 16);
	cr_assert_eq(VMGENID_ADDR % 8, 0, "8-byte aligned");
	cr_assert_eq(VMGENID_ADDR / 4096, (VMGENID_ADDR + VMGENID_SIZE - 1) / 4096, "in one page");
	/* e820 reserves [EBDA_START, 1 MiB): the guest OS never uses it. */
	cr_assert_geq(VMGENID_ADDR, EBDA_START);
	cr_assert_leq(VMGENID_ADDR + VMGENID_SIZE, HIGH_MEMORY_START);
	cr_assert(VMGENID_ADDR + VMGENID_SIZE <= MPTABLE_ADDR ||
		  VMGENID_ADDR >= MPTABLE_ADDR + MPTABLE_SIZE);
	cr_assert(VMGENID_ADDR + VMGENID_SIZE <= ACPI_TABLES_ADDR ||
		  VMGENID_ADDR >= ACPI_TABLES_ADDR + ACPI_TABLES_SIZE);
}

Test(vmgenid, random_ids_differ_and_are_version_4_guids)
{
	uint8_t a[VMGENID_SIZE], b[VMGENID_SIZE], zero[VMGENID_SIZE] = {0};
	cr_assert_eq(vmgenid_random(a), 0);
	cr_assert_eq(vmgenid_random(b), 0);
	cr_assert_neq(memcmp(a, b, sizeof(a)), 0, "two IDs alike");
	cr_assert_neq(memcmp(a, zero, sizeof(a)), 0);
	/* Every bit other than the six fixed ones varies over a few IDs. */
	uint8_t or [VMGENID_SIZE] = {0}, and[VMGENID_SIZE];
	memset(and, 0xff, sizeof(and));
	for (int i = 0; i < 64; i++) {
		uint8_t id[VMGENID_SIZE];
		cr_assert_eq(vmgenid_random(id), 0);
		cr_assert_eq(id[7] >> 4, 4, "version 4 in the high nibble of byte 7");
		cr_assert_eq(id[8] >> 6, 2, "RFC 4122 variant in the top bits of byte 8");
		for (size_t j = 0; j < VMGENID_SIZE; j++) {
			or [j] |= id[j];
			and[j] &= id[j];
		}
	}
	for (size_t j = 0; j < VMGENID_SIZE; j++) {
		uint8_t fixed = j == 7 ? 0xF0 : j == 8 ? 0xC0 : 0;
		cr_expect_eq((uint8_t)(or [j] & ~fixed), (uint8_t)~fixed,
			     "byte %zu: a bit never set", j);
		cr_expect_eq((uint8_t)(and[j] & ~fixed), 0, "byte %zu: a bit always set", j);
	}
}

Test(vmgenid, generate_writes_the_id_at_its_address_and_nothing_else)
{
	struct vmgenid v;
	memset(&v, 0, sizeof(v));
	cr_assert_eq(vmgenid_generate(&v, &guest_ram), 0);
	cr_assert_eq(memcmp(ram_id(), v.id, VMGENID_SIZE), 0, "the kept ID is the one in RAM");
	uint8_t first[VMGENID_SIZE];
	memcpy(first, v.id, sizeof(first));
	cr_assert_eq(vmgenid_generate(&v, &guest_ram), 0);
	cr_assert_neq(memcmp(first, v.id, sizeof(first)), 0, "a new ID each time");
	cr_assert_eq(memcmp(ram_id(), v.id, VMGENID_SIZE), 0);
	ram_expect_zero(VMGENID_ADDR - 0x1000, 0x1000, "below the ID");
	ram_expect_zero(VMGENID_ADDR + VMGENID_SIZE, 0x1000, "above the ID");
}

Test(vmgenid, refused_when_its_address_is_not_ram)
{
	ram_map(4096); /* one page of RAM, far below the ID */
	struct vmgenid v;
	memset(&v, 0xAA, sizeof(v));
	cr_assert_eq(vmgenid_generate(&v, &guest_ram), -EFAULT);
	for (size_t i = 0; i < VMGENID_SIZE; i++)
		cr_assert_eq(v.id[i], 0xAA, "the kept ID is unchanged");
	struct ged g;
	ged_init(&g, NULL, GED_GSI);
	cr_assert_eq(vmgenid_restored(&v, &guest_ram, &g), -EFAULT);
	cr_assert_eq(atomic_load(&g.events), 0, "no event without a new ID");
}

static unsigned rises;

static void count_rises(void *opaque, unsigned gsi, bool level)
{
	(void)opaque;
	cr_assert_eq(gsi, GED_GSI);
	if (level)
		rises++;
}

Test(vmgenid, a_restore_writes_a_new_id_and_raises_the_ged_event)
{
	struct vmgenid v;
	memset(&v, 0, sizeof(v));
	cr_assert_eq(vmgenid_generate(&v, &guest_ram), 0);
	uint8_t before[VMGENID_SIZE];
	memcpy(before, ram_id(), sizeof(before));
	struct ged g;
	struct irq_sink sink = {count_rises, NULL};
	ged_init(&g, &sink, GED_GSI);
	atomic_store(&g.events, GED_EVENT_POWER_BUTTON); /* a saved press stays pending */
	cr_assert_eq(vmgenid_restored(&v, &guest_ram, &g), 0);
	cr_assert_neq(memcmp(before, ram_id(), sizeof(before)), 0, "the restore's ID is new");
	cr_assert_eq(memcmp(ram_id(), v.id, VMGENID_SIZE), 0);
	cr_assert_eq(atomic_load(&g.events), GED_EVENT_POWER_BUTTON | GED_EVENT_VMGENID);
	cr_assert_eq(rises, 1, "one edge");
}

Test(vmgenid, hex_is_memory_order_lower_case)
{
	uint8_t id[VMGENID_SIZE];
	for (size_t i = 0; i < sizeof(id); i++)
		id[i] = (uint8_t)(i * 0x11);
	id[15] = 0xA5;
	char hex[2 * VMGENID_SIZE + 1];
	memset(hex, 'x', sizeof(hex));
	vmgenid_hex(id, hex);
	cr_assert_str_eq(hex, "00112233445566778899aabbccddeea5");
}
