/* test_guest_mem.c - the guest memory gate: layout around the MMIO gap and
 * range checks at every edge. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "guest_mem.h"
#include "platform.h"

static struct guest_mem fake(uint64_t size)
{
	/* The gate only does arithmetic on host; any non-NULL base works for
	 * range checks as long as nothing is dereferenced. */
	struct guest_mem m;
	guest_mem_layout(&m, size);
	m.host = (uint8_t *)(uintptr_t)0x10000000;
	return m;
}

Test(guest_mem, layout_small)
{
	struct guest_mem m;
	guest_mem_layout(&m, 64ULL << 20);
	cr_assert_eq(m.low_size, 64ULL << 20);
	cr_assert_eq(m.high_size, 0);
}

Test(guest_mem, layout_splits_at_gap)
{
	struct guest_mem m;
	guest_mem_layout(&m, 4ULL << 30);
	cr_assert_eq(m.low_size, MMIO_GAP_START);
	cr_assert_eq(m.high_size, (4ULL << 30) - MMIO_GAP_START);
	struct guest_region r[2];
	cr_assert_eq(guest_mem_regions(&m, r), 2);
	cr_assert_eq(r[1].gpa, HIGH_RAM_START);
	cr_assert_eq(r[0].size + r[1].size, 4ULL << 30);
}

Test(guest_mem, zero_length)
{
	struct guest_mem m = fake(64ULL << 20);
	cr_assert_not_null(guest_ptr(&m, 0, 0));
	cr_assert_not_null(guest_ptr(&m, m.low_size, 0), "end of RAM with length 0");
	cr_assert_null(guest_ptr(&m, m.low_size + 1, 0));
}

Test(guest_mem, exact_top_of_ram)
{
	struct guest_mem m = fake(64ULL << 20);
	uint8_t *p = guest_ptr(&m, m.low_size - 4, 4);
	cr_assert_eq(p, m.host + m.low_size - 4);
	cr_assert_null(guest_ptr(&m, m.low_size - 4, 5));
	cr_assert_null(guest_ptr(&m, m.low_size, 1));
	cr_assert_not_null(guest_ptr(&m, 0, m.low_size));
	cr_assert_null(guest_ptr(&m, 0, m.low_size + 1));
}

Test(guest_mem, wrap_around)
{
	struct guest_mem m = fake(64ULL << 20);
	cr_assert_null(guest_ptr(&m, UINT64_MAX, 2));
	cr_assert_null(guest_ptr(&m, 16, UINT64_MAX));
	cr_assert_null(guest_ptr(&m, UINT64_MAX - 3, 4));
}

Test(guest_mem, high_region_and_gap)
{
	struct guest_mem m = fake(5ULL << 30);
	cr_assert_null(guest_ptr(&m, MMIO_GAP_START, 1), "gap is not RAM");
	cr_assert_null(guest_ptr(&m, MMIO_GAP_START - 1, 2), "range crossing into the gap");
	cr_assert_null(guest_ptr(&m, HIGH_RAM_START - 1, 2), "range crossing out of the gap");
	uint8_t *p = guest_ptr(&m, HIGH_RAM_START, 8);
	cr_assert_eq(p, m.host + m.low_size);
	uint64_t top = HIGH_RAM_START + m.high_size;
	cr_assert_not_null(guest_ptr(&m, top - 8, 8));
	cr_assert_null(guest_ptr(&m, top - 8, 9));
}

Test(guest_mem, unmapped_refuses_everything)
{
	struct guest_mem m;
	guest_mem_layout(&m, 64ULL << 20);
	cr_assert_null(guest_ptr(&m, 0, 1));
}

Test(guest_mem, map_and_touch)
{
	struct guest_mem m;
	cr_assert_eq(guest_mem_map(&m, 16ULL << 20, false), 0);
	uint32_t *p = guest_ptr(&m, 0x1000, 4);
	cr_assert_not_null(p);
	*p = 0xdeadbeef;
	cr_assert_eq(*(uint32_t *)(m.host + 0x1000), 0xdeadbeef);
	guest_mem_unmap(&m);
	cr_assert_null(m.host);
}

/* RAM starts 2 MiB aligned in minnow as in the guest, private or shared, so
 * that KVM can map it with huge pages; nothing of the reservation is left
 * mapped around it. */
Test(guest_mem, ram_is_aligned_for_huge_pages)
{
	for (int shared = 0; shared < 2; shared++) {
		struct guest_mem m;
		const uint64_t size = 6ULL << 20;
		int r =
		    shared ? guest_mem_map_shared(&m, size, false) : guest_mem_map(&m, size, false);
		cr_assert_eq(r, 0, "shared %d: %s", shared, strerror(-r));
		cr_expect_eq((uintptr_t)m.host % (2u << 20), 0, "shared %d: RAM at %p", shared,
			     (void *)m.host);
		long page = sysconf(_SC_PAGESIZE);
		unsigned char vec;
		cr_expect_eq(mincore(m.host - page, (size_t)page, &vec), -1,
			     "a page is still mapped below the RAM");
		cr_expect_eq(mincore(m.host + size, (size_t)page, &vec), -1,
			     "a page is still mapped above the RAM");
		guest_mem_unmap(&m);
	}
}

/* AnonHugePages of the mapping that holds `addr`, in KiB (-1: not found). */
static long anon_huge_kib(const void *addr)
{
	FILE *f = fopen("/proc/self/smaps", "re");
	cr_assert_not_null(f);
	char line[256];
	bool in = false;
	long kib = -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long start, end;
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2 &&
		    strchr(line, '-') < strchr(line, ' '))
			in = start <= (unsigned long)addr && (unsigned long)addr < end;
		else if (in && sscanf(line, "AnonHugePages: %ld kB", &kib) == 1)
			break;
	}
	fclose(f);
	return kib;
}

/* prefault = on: every page resident before the guest runs, and with the
 * huge-page advice already given, so that prefaulted RAM gets huge pages
 * where the host allows them. */
Test(guest_mem, prefault_populates_with_huge_pages)
{
	const uint64_t size = 64ULL << 20;
	struct guest_mem m;
	cr_assert_eq(guest_mem_map(&m, size, true), 0);
	long page = sysconf(_SC_PAGESIZE);
	unsigned char vec[(64 << 20) / 4096];
	cr_assert_eq(mincore(m.host, size, vec), 0);
	size_t resident = 0;
	for (size_t i = 0; i < size / (size_t)page; i++)
		resident += vec[i] & 1;
	cr_expect_eq(resident, size / (size_t)page, "%zu of %llu pages resident", resident,
		     (unsigned long long)(size / (size_t)page));
	char thp[128] = "";
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "re");
	if (f) {
		if (!fgets(thp, sizeof(thp), f))
			thp[0] = '\0';
		fclose(f);
	}
	long kib = anon_huge_kib(m.host);
	guest_mem_unmap(&m);
	if (!strstr(thp, "[always]") && !strstr(thp, "[madvise]"))
		cr_skip_test("transparent huge pages are off on this host (%s)", thp);
	cr_expect_gt(kib, 0, "no huge pages in prefaulted RAM (AnonHugePages %ld kB)", kib);
}
