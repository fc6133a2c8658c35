/* test_guest.c - the minnow-test firmware booted by minnow on /dev/kvm: boot
 * protocols (PVH and bzImage), boot information, memory maps, SMP, exit
 * statuses, console input by interrupt, port I/O, wild MMIO, triple fault. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "harness.h"
#include "platform.h"

#define INITRD_LEN 3000

static const char *image_name(enum fw_image im)
{
	return im == FW_PVH ? "pvh" : "bzimage";
}

/* The run, the outcome and the output, for assertion messages. */
static const char *ctx(const struct guest_result *r)
{
	static char buf[8192];
	snprintf(buf, sizeof(buf), "%s\n--- stdout ---\n%.3000s\n--- stderr ---\n%.3000s", r->desc,
		 r->out ? r->out : "", r->err ? r->err : "");
	return buf;
}

/* Runs the VM (skipping without /dev/kvm) and insists that it ran and
 * finished in time. */
static void run(const struct guest_opts *o, struct guest_result *r)
{
	harness_require_kvm();
	int rc = guest_run(o, r);
	cr_assert_eq(rc, 0, "could not run minnow: %s", r->desc);
	cr_assert(!r->timed_out, "minnow did not finish: %s", ctx(r));
	cr_assert_eq(r->signal, 0, "minnow died: %s", ctx(r));
}

/* ---- boot: hello through both images, with --timings=json ---- */

/* True when `err` holds a {...} object with "boot_complete_us": <number>. */
static bool has_boot_complete_json(const char *err)
{
	const char *key = strstr(err, "\"boot_complete_us\"");
	if (!key)
		return false;
	const char *open = NULL;
	for (const char *p = err; p < key; p++) {
		if (*p == '{')
			open = p;
	}
	const char *p = key + strlen("\"boot_complete_us\"");
	while (*p == ' ')
		p++;
	if (*p++ != ':')
		return false;
	while (*p == ' ')
		p++;
	if (*p < '0' || *p > '9')
		return false;
	return open && strchr(p, '}');
}

static void hello(enum fw_image im)
{
	struct guest_opts o = {.image = im, .cmdline = "test=hello", .timings_json = true};
	struct guest_result r;
	run(&o, &r);
	char want[64], line[256];
	snprintf(want, sizeof(want), "hello from %s", image_name(im));
	cr_expect_eq(r.status, 0, "hello must exit 0: %s", ctx(&r));
	cr_expect(guest_line(r.out, "hello from ", line, sizeof(line)) &&
		      !strcmp(line, image_name(im)),
		  "want 'minnow-test: %s': %s", want, ctx(&r));
	cr_expect(has_boot_complete_json(r.err),
		  "--timings=json: no JSON object with \"boot_complete_us\" on stderr: %s",
		  ctx(&r));
	guest_result_free(&r);
}

Test(boot, hello_pvh)
{
	hello(FW_PVH);
}

Test(boot, hello_bzimage)
{
	hello(FW_BZIMAGE);
}

/* ---- bootinfo: command line and initrd ---- */

static void bootinfo(enum fw_image im)
{
	static const char cmdline[] = "test=bootinfo greeting=\"hello, world!\" path=/a/b-c_d.e "
				      "sum=1+2*3  (p) [b] {c} 100% a:b@c~d^e&f|g 'q'";
	uint8_t data[INITRD_LEN];
	char path[64];
	harness_require_kvm();
	cr_assert_eq(harness_temp_random_file(sizeof(data), path, data), 0, "temp initrd");
	struct guest_opts o = {.image = im, .cmdline = cmdline, .initrd = path};
	struct guest_result r;
	run(&o, &r);
	unlink(path);

	char line[1024];
	cr_expect_eq(r.status, 0, "bootinfo must exit 0: %s", ctx(&r));
	cr_expect(guest_line(r.out, "entry=", line, sizeof(line)) && !strcmp(line, image_name(im)),
		  "entry: %s", ctx(&r));
	cr_expect(guest_line(r.out, "cmdline=", line, sizeof(line)) != NULL, "no cmdline line: %s",
		  ctx(&r));
	/* Verbatim; minnow may append its own words (virtio_mmio.device=...). */
	size_t n = strlen(cmdline);
	cr_expect(!strncmp(line, cmdline, n) && (line[n] == '\0' || line[n] == ' '),
		  "cmdline not verbatim:\n want '%s'\n got  '%s'\n%s", cmdline, line, ctx(&r));

	char want[160];
	snprintf(want, sizeof(want), "size=%d fnv1a=0x%08x head=", INITRD_LEN,
		 harness_fnv1a(data, sizeof(data)));
	for (int i = 0; i < 16; i++)
		snprintf(want + strlen(want), sizeof(want) - strlen(want), "%02x", data[i]);
	cr_assert(guest_line(r.out, "initrd addr=", line, sizeof(line)) != NULL,
		  "no initrd line: %s", ctx(&r));
	unsigned long long addr = strtoull(line, NULL, 16);
	const char *rest = strchr(line, ' ');
	cr_expect(rest && !strcmp(rest + 1, want), "initrd: want '%s', got '%s': %s", want,
		  rest ? rest + 1 : line, ctx(&r));
	cr_expect(addr >= HIGH_MEMORY_START && addr % 4096 == 0 && addr + INITRD_LEN <= (64u << 20),
		  "initrd at 0x%llx: %s", addr, ctx(&r));
	guest_result_free(&r);
}

Test(bootinfo, cmdline_initrd_pvh)
{
	bootinfo(FW_PVH);
}

Test(bootinfo, cmdline_initrd_bzimage)
{
	bootinfo(FW_BZIMAGE);
}

/* ---- memory map ---- */

struct mem_entry {
	unsigned long long addr, size;
	unsigned type;
};

static unsigned parse_mem(const char *out, struct mem_entry *e, unsigned max)
{
	unsigned n = 0;
	for (const char *p = out; (p = strstr(p, "minnow-test: mem addr=")) && n < max; p++) {
		if (sscanf(p, "minnow-test: mem addr=0x%llx size=0x%llx type=%u", &e[n].addr,
			   &e[n].size, &e[n].type) == 3)
			n++;
	}
	return n;
}

static unsigned long long overlap(unsigned long long a, unsigned long long as, unsigned long long b,
				  unsigned long long bs)
{
	unsigned long long lo = a > b ? a : b;
	unsigned long long hi = a + as < b + bs ? a + as : b + bs;
	return hi > lo ? hi - lo : 0;
}

static void memmap(enum fw_image im, const char *memory, unsigned long long bytes)
{
	struct guest_opts o = {.image = im, .cmdline = "test=bootinfo", .memory = memory};
	struct guest_result r;
	run(&o, &r);
	cr_assert_eq(r.status, 0, "bootinfo must exit 0: %s", ctx(&r));

	struct mem_entry e[128];
	unsigned n = parse_mem(r.out, e, 128);
	cr_assert(n > 0, "no memory map: %s", ctx(&r));
	unsigned long long ram = 0, low_reserved = 0;
	bool first_ok = false, one_mib_ok = false, high_ok = bytes <= MMIO_GAP_START;
	for (unsigned i = 0; i < n; i++) {
		cr_expect_eq(
		    overlap(e[i].addr, e[i].size, MMIO_GAP_START, MMIO_GAP_END - MMIO_GAP_START), 0,
		    "entry 0x%llx+0x%llx type %u inside the MMIO gap [3 GiB, 4 GiB): %s", e[i].addr,
		    e[i].size, e[i].type, ctx(&r));
		if (e[i].type == 1) {
			ram += e[i].size;
			cr_expect_eq(overlap(e[i].addr, e[i].size, EBDA_START,
					     HIGH_MEMORY_START - EBDA_START),
				     0, "RAM entry 0x%llx+0x%llx in [0x9F000, 1 MiB): %s",
				     e[i].addr, e[i].size, ctx(&r));
		} else {
			/* RAM that is reserved: the EBDA/ACPI area below 1 MiB. */
			low_reserved += overlap(e[i].addr, e[i].size, EBDA_START,
						HIGH_MEMORY_START - EBDA_START);
		}
		if (e[i].addr == 0 && e[i].size == EBDA_START && e[i].type == 1)
			first_ok = true;
		if (e[i].addr == HIGH_MEMORY_START && e[i].type == 1)
			one_mib_ok = true;
		if (e[i].addr == MMIO_GAP_END && e[i].type == 1 &&
		    e[i].size == bytes - MMIO_GAP_START)
			high_ok = true;
	}
	cr_expect(first_ok, "no usable entry [0, 0x9F000): %s", ctx(&r));
	cr_expect(one_mib_ok, "no usable entry starting at 1 MiB: %s", ctx(&r));
	cr_expect(high_ok, "no entry [4 GiB, 4 GiB + %llu MiB): %s", (bytes - MMIO_GAP_START) >> 20,
		  ctx(&r));
	cr_expect_eq(
	    ram + low_reserved, bytes,
	    "usable RAM 0x%llx + reserved RAM below 1 MiB 0x%llx != memory %s (0x%llx): %s", ram,
	    low_reserved, memory, bytes, ctx(&r));
	char line[128];
	snprintf(line, sizeof(line), "%llu", ram);
	char got[128];
	cr_expect(guest_line(r.out, "mem entries=", got, sizeof(got)) && strstr(got, line),
		  "guest's own RAM total differs from %s: %s", line, ctx(&r));
	guest_result_free(&r);
}

Test(memmap, pvh_64M)
{
	memmap(FW_PVH, "64M", 64ull << 20);
}

Test(memmap, pvh_256M)
{
	memmap(FW_PVH, "256M", 256ull << 20);
}

Test(memmap, pvh_3G)
{
	memmap(FW_PVH, "3G", 3ull << 30);
}

Test(memmap, pvh_4G)
{
	memmap(FW_PVH, "4G", 4ull << 30);
}

Test(memmap, bzimage_64M)
{
	memmap(FW_BZIMAGE, "64M", 64ull << 20);
}

Test(memmap, bzimage_256M)
{
	memmap(FW_BZIMAGE, "256M", 256ull << 20);
}

Test(memmap, bzimage_3G)
{
	memmap(FW_BZIMAGE, "3G", 3ull << 30);
}

Test(memmap, bzimage_4G)
{
	memmap(FW_BZIMAGE, "4G", 4ull << 30);
}

/* ---- smp ---- */

static void smp(unsigned n)
{
	char cmdline[64];
	snprintf(cmdline, sizeof(cmdline), "test=smp cpus=%u", n);
	struct guest_opts o = {.image = FW_PVH, .cmdline = cmdline, .vcpus = n};
	struct guest_result r;
	run(&o, &r);
	cr_expect_eq(r.status, 0, "smp must exit 0: %s", ctx(&r));
	char line[64];
	unsigned m = 0;
	cr_expect(guest_line(r.out, "cpus=", line, sizeof(line)) && sscanf(line, "%u", &m) == 1 &&
		      m == n,
		  "want cpus=%u: %s", n, ctx(&r));
	unsigned seen[64] = {0};
	unsigned lines = 0;
	for (const char *p = r.out; (p = strstr(p, "minnow-test: cpu apic_id=")); p++) {
		unsigned id;
		cr_assert_eq(sscanf(p, "minnow-test: cpu apic_id=%u", &id), 1, "%s", ctx(&r));
		cr_expect(id < n, "APIC ID %u out of range 0..%u: %s", id, n - 1, ctx(&r));
		if (id < 64)
			seen[id]++;
		lines++;
	}
	cr_expect_eq(lines, n, "want %u cpu lines: %s", n, ctx(&r));
	for (unsigned i = 0; i < n; i++)
		cr_expect_eq(seen[i], 1, "APIC ID %u reported %u times: %s", i, seen[i], ctx(&r));
	guest_result_free(&r);
}

Test(smp, vcpus_1)
{
	smp(1);
}

Test(smp, vcpus_2)
{
	smp(2);
}

Test(smp, vcpus_4)
{
	smp(4);
}

/* ---- exit statuses through the control device ---- */

static void exit_status(int n)
{
	char cmdline[32];
	snprintf(cmdline, sizeof(cmdline), "test=exit:%d", n);
	struct guest_opts o = {.image = FW_PVH, .cmdline = cmdline};
	struct guest_result r;
	run(&o, &r);
	cr_expect_eq(r.status, n, "want exit status %d: %s", n, ctx(&r));
	guest_result_free(&r);
}

Test(exit, status_7)
{
	exit_status(7);
}

Test(exit, status_0)
{
	exit_status(0);
}

Test(exit, status_255)
{
	exit_status(255);
}

/* ---- console input: stdin -> UART -> IOAPIC -> LAPIC -> guest ---- */

Test(console, input_echo)
{
	static const char input[] = "hello world\n";
	struct guest_opts o = {.image = FW_PVH,
			       .cmdline = "test=console-echo",
			       .console_input = true,
			       .stdin_data = input,
			       .stdin_len = sizeof(input) - 1};
	struct guest_result r;
	run(&o, &r);
	char line[256];
	cr_expect(guest_line(r.out, "echo=", line, sizeof(line)) && !strcmp(line, "hello world"),
		  "want 'minnow-test: echo=hello world': %s", ctx(&r));
	cr_expect_eq(r.status, 0, "console-echo must exit 0: %s", ctx(&r));
	guest_result_free(&r);
}

/* ---- a guest poking at things that are not there ---- */

Test(robust, portio)
{
	struct guest_opts o = {.image = FW_PVH, .cmdline = "test=portio"};
	struct guest_result r;
	run(&o, &r);
	char line[128];
	cr_expect(guest_line(r.out, "portio ok reads=", line, sizeof(line)) && !strcmp(line, "12"),
		  "want 'portio ok reads=12' (port reads are all ones): %s", ctx(&r));
	cr_expect_eq(r.status, 0, "portio must exit 0: %s", ctx(&r));
	guest_result_free(&r);
}

Test(robust, mmio_wild)
{
	struct guest_opts o = {.image = FW_PVH, .cmdline = "test=mmio-wild"};
	struct guest_result r;
	run(&o, &r);
	char line[128];
	cr_expect(guest_line(r.out, "mmio-wild ok", line, sizeof(line)) != NULL,
		  "want 'mmio-wild ok' (unassigned MMIO reads all ones): %s", ctx(&r));
	cr_expect_eq(r.status, 0, "mmio-wild must exit 0: %s", ctx(&r));
	guest_result_free(&r);
}

Test(robust, triple_fault)
{
	struct guest_opts o = {.image = FW_PVH, .cmdline = "test=triple-fault"};
	struct guest_result r;
	run(&o, &r);
	cr_expect(guest_line(r.out, "triple-fault now", (char[8]){0}, 8) != NULL,
		  "the guest did not get to the fault: %s", ctx(&r));
	cr_expect_eq(r.status, 121, "a triple fault must end minnow with 121: %s", ctx(&r));
	bool said = false;
	for (const char *p = r.err; *p && !said; p++)
		said = !strncasecmp(p, "triple fault", 12);
	cr_expect(said, "stderr should name the triple fault: %s", ctx(&r));
	guest_result_free(&r);
}
