/* test_guest.c - the minnow-test firmware booted by minnow on /dev/kvm: boot
 * protocols (PVH and bzImage), boot information, the exact command line
 * the guest gets, memory maps, SMP, every way the VM ends (exit status and
 * exit_reason), console input by interrupt, port I/O, wild MMIO.
 * Cases that differ only in their data are rows of a table, run as one
 * ParameterizedTest each; every assertion names its row. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <linux/kvm.h>
#include <signal.h>
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

static const enum fw_image images[] = {FW_PVH, FW_BZIMAGE};

/* ---- boot: hello through both images, with --timings=json ---- */

ParameterizedTestParameters(boot, hello)
{
	HARNESS_ROWS(images);
}

ParameterizedTest(int *row, boot, hello)
{
	enum fw_image im = images[*row];
	struct guest_opts o = {.image = im, .cmdline = "test=hello", .timings = TIMINGS_JSON};
	struct guest_result r;
	guest_run_ok(&o, &r);
	char line[256], v[32];
	cr_expect_eq(r.status, 0, "%s: hello must exit 0: %s", image_name(im), guest_ctx(&r));
	cr_expect(guest_line(r.out, "hello from ", line, sizeof(line)) &&
		      !strcmp(line, image_name(im)),
		  "%s: want 'minnow-test: hello from %s': %s", image_name(im), image_name(im),
		  guest_ctx(&r));
	cr_expect(guest_json(r.err, "boot_complete_us", v, sizeof(v)) && v[0] >= '0' && v[0] <= '9',
		  "%s: --timings=json: no number \"boot_complete_us\" on stderr: %s",
		  image_name(im), guest_ctx(&r));
	/* The firmware marks its main (init) before it says it booted, and its
	 * test (command) after; both between the first KVM_RUN and the end. */
	const char *order[] = {"first_run_us", "guest_init_us", "boot_complete_us",
			       "guest_command_us", "vm_end_us"};
	unsigned long long prev = 0;
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		cr_assert(guest_json(r.err, order[i], v, sizeof(v)) && v[0] >= '0' && v[0] <= '9',
			  "%s: no number \"%s\": %s", image_name(im), order[i], guest_ctx(&r));
		unsigned long long t = strtoull(v, NULL, 10);
		cr_assert_geq(t, prev, "%s: %s (%llu) before the phase ahead of it (%llu)",
			      image_name(im), order[i], t, prev);
		prev = t;
	}
	guest_result_free(&r);
}

/* [kernel] decompress = host on a bzImage whose payload minnow cannot
 * decompress (the test firmware's is not compressed): one line naming the
 * file and why, status 2, nothing run; under auto (boot/hello) the same
 * image boots as a bzImage. */
Test(boot, decompress_host_refuses_what_it_cannot_read)
{
	const char *sets[] = {"kernel.decompress=host", NULL};
	struct guest_opts o = {.image = FW_BZIMAGE, .cmdline = "test=hello", .sets = sets};
	struct guest_result r;
	guest_run(&o, &r);
	cr_expect_eq(r.status, 2, "%s", guest_ctx(&r));
	cr_expect(strstr(r.err, harness_firmware(FW_BZIMAGE)) &&
		      strstr(r.err, ": cannot decompress it on the host: ") &&
		      strchr(r.err, '\n') == r.err + strlen(r.err) - 1,
		  "want one line naming the image: %s", guest_ctx(&r));
	cr_expect(!strstr(r.out, "hello from"), "nothing may run: %s", guest_ctx(&r));
	guest_result_free(&r);
}

/* ---- bootinfo: command line and initrd ---- */

ParameterizedTestParameters(bootinfo, cmdline_initrd)
{
	HARNESS_ROWS(images);
}

ParameterizedTest(int *row, bootinfo, cmdline_initrd)
{
	enum fw_image im = images[*row];
	const char *name = image_name(im);
	static const char cmdline[] = "test=bootinfo greeting=\"hello, world!\" path=/a/b-c_d.e "
				      "sum=1+2*3  (p) [b] {c} 100% a:b@c~d^e&f|g 'q'";
	uint8_t *data;
	char path[4096];
	harness_require_kvm();
	harness_temp_file(NULL, "initrd", INITRD_LEN, path, sizeof(path), &data);
	struct guest_opts o = {.image = im, .cmdline = cmdline, .initrd = path};
	struct guest_result r;
	guest_run_ok(&o, &r);
	unlink(path);

	char line[1024];
	cr_expect_eq(r.status, 0, "%s: bootinfo must exit 0: %s", name, guest_ctx(&r));
	cr_expect(guest_line(r.out, "entry=", line, sizeof(line)) && !strcmp(line, name),
		  "%s: entry: %s", name, guest_ctx(&r));
	cr_expect(guest_line(r.out, "cmdline=", line, sizeof(line)) != NULL,
		  "%s: no cmdline line: %s", name, guest_ctx(&r));
	/* Verbatim; what minnow appends is test cmdline::exact's business. */
	size_t n = strlen(cmdline);
	cr_expect(!strncmp(line, cmdline, n) && (line[n] == '\0' || line[n] == ' '),
		  "%s: cmdline not verbatim:\n want '%s'\n got  '%s'\n%s", name, cmdline, line,
		  guest_ctx(&r));

	char want[160];
	snprintf(want, sizeof(want), "size=%d fnv1a=0x%08x head=", INITRD_LEN,
		 harness_fnv1a(data, INITRD_LEN));
	for (int i = 0; i < 16; i++)
		snprintf(want + strlen(want), sizeof(want) - strlen(want), "%02x", data[i]);
	cr_assert(guest_line(r.out, "initrd addr=", line, sizeof(line)) != NULL,
		  "%s: no initrd line: %s", name, guest_ctx(&r));
	unsigned long long addr = strtoull(line, NULL, 16);
	const char *rest = strchr(line, ' ');
	cr_expect(rest && !strcmp(rest + 1, want), "%s: initrd: want '%s', got '%s': %s", name,
		  want, rest ? rest + 1 : line, guest_ctx(&r));
	cr_expect(addr >= HIGH_MEMORY_START && addr % 4096 == 0 && addr + INITRD_LEN <= (64u << 20),
		  "%s: initrd at 0x%llx: %s", name, addr, guest_ctx(&r));
	free(data);
	guest_result_free(&r);
}

/* ---- the exact command line: the config's plus minnow's additions ---- */

/* vmm/core/vm.c build_cmdline(): the config's cmdline, then one
 * " virtio_mmio.device=4K@<slot base>:<gsi>" per device in slot order
 * (drives, nets, vconsole, rng, vsock) unless cmdline_devices = off, then
 * " reboot=acpi" when ACPI is on and the config's cmdline has no reboot=,
 * then " pci=noearly" unless it has a pci= option. */
struct cmdline_case {
	const char *name;
	const char *cmdline;
	bool devices; /* a [drive] (slot 0) and [rng] (slot 1) */
	const char *set;
	const char *want;
};

#define DEV0 "virtio_mmio.device=4K@0xd0010000:5"
#define DEV1 "virtio_mmio.device=4K@0xd0011000:6"

static const struct cmdline_case cmdline_cases[] = {
    {"no devices", "test=bootinfo", false, NULL, "test=bootinfo reboot=acpi pci=noearly"},
    {"two devices", "test=bootinfo", true, NULL,
     "test=bootinfo " DEV0 " " DEV1 " reboot=acpi pci=noearly"},
    {"cmdline_devices = off", "test=bootinfo", true, "kernel.cmdline_devices=off",
     "test=bootinfo reboot=acpi pci=noearly"},
    {"acpi = off", "test=bootinfo", true, "vm.acpi=off",
     "test=bootinfo " DEV0 " " DEV1 " pci=noearly"},
    {"own reboot= method", "test=bootinfo reboot=t", false, NULL,
     "test=bootinfo reboot=t pci=noearly"},
    {"own pci= option", "test=bootinfo pci=nomsi", false, NULL,
     "test=bootinfo pci=nomsi reboot=acpi"},
    {"console=ttyS0 on the MMIO UART", "test=bootinfo console=ttyS0,115200", false, NULL,
     "test=bootinfo console=uart8250,mmio,0xd0000000,115200 reboot=acpi pci=noearly"},
};

ParameterizedTestParameters(cmdline, exact)
{
	HARNESS_ROWS(cmdline_cases);
}

ParameterizedTest(int *row, cmdline, exact)
{
	const struct cmdline_case *c = &cmdline_cases[*row];
	harness_require_kvm();
	char img[4096], ini[4200] = "";
	if (c->devices) {
		harness_temp_file(NULL, "cmdline", 64 * 1024, img, sizeof(img), NULL);
		snprintf(ini, sizeof(ini), "[drive.d0]\npath = %s\n\n[rng]\n", img);
	}
	const char *sets[] = {c->set, NULL};
	struct guest_opts o = {.cmdline = c->cmdline, .extra_ini = ini, .sets = sets};
	struct guest_result r;
	guest_run_ok(&o, &r);
	if (c->devices)
		unlink(img);
	char line[1024];
	cr_expect_eq(r.status, 0, "%s: bootinfo must exit 0: %s", c->name, guest_ctx(&r));
	cr_assert(guest_line(r.out, "cmdline=", line, sizeof(line)) != NULL,
		  "%s: no cmdline line: %s", c->name, guest_ctx(&r));
	cr_expect_str_eq(line, c->want, "%s: the guest's command line:\n want '%s'\n got  '%s'\n%s",
			 c->name, c->want, line, guest_ctx(&r));
	guest_result_free(&r);
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

struct memmap_case {
	enum fw_image image;
	const char *memory;
	unsigned long long bytes;
};

static const struct memmap_case memmap_cases[] = {
    {FW_PVH, "64M", 64ull << 20},     {FW_PVH, "256M", 256ull << 20},
    {FW_PVH, "3G", 3ull << 30},	      {FW_PVH, "4G", 4ull << 30},
    {FW_BZIMAGE, "64M", 64ull << 20}, {FW_BZIMAGE, "256M", 256ull << 20},
    {FW_BZIMAGE, "3G", 3ull << 30},   {FW_BZIMAGE, "4G", 4ull << 30},
};

ParameterizedTestParameters(memmap, e820)
{
	HARNESS_ROWS(memmap_cases);
}

ParameterizedTest(int *row, memmap, e820)
{
	const struct memmap_case *c = &memmap_cases[*row];
	const char *im = image_name(c->image);
	unsigned long long bytes = c->bytes;
	struct guest_opts o = {.image = c->image, .cmdline = "test=bootinfo", .memory = c->memory};
	struct guest_result r;
	guest_run_ok(&o, &r);
	cr_assert_eq(r.status, 0, "%s %s: bootinfo must exit 0: %s", im, c->memory, guest_ctx(&r));

	struct mem_entry e[128];
	unsigned n = parse_mem(r.out, e, 128);
	cr_assert(n > 0, "%s %s: no memory map: %s", im, c->memory, guest_ctx(&r));
	unsigned long long ram = 0, low_reserved = 0;
	bool first_ok = false, one_mib_ok = false, high_ok = bytes <= MMIO_GAP_START;
	for (unsigned i = 0; i < n; i++) {
		cr_expect_eq(
		    overlap(e[i].addr, e[i].size, MMIO_GAP_START, MMIO_GAP_END - MMIO_GAP_START), 0,
		    "%s %s: entry 0x%llx+0x%llx type %u inside the MMIO gap [3 GiB, 4 GiB): %s", im,
		    c->memory, e[i].addr, e[i].size, e[i].type, guest_ctx(&r));
		if (e[i].type == 1) {
			ram += e[i].size;
			cr_expect_eq(overlap(e[i].addr, e[i].size, EBDA_START,
					     HIGH_MEMORY_START - EBDA_START),
				     0, "%s %s: RAM entry 0x%llx+0x%llx in [0x9F000, 1 MiB): %s",
				     im, c->memory, e[i].addr, e[i].size, guest_ctx(&r));
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
	cr_expect(first_ok, "%s %s: no usable entry [0, 0x9F000): %s", im, c->memory,
		  guest_ctx(&r));
	cr_expect(one_mib_ok, "%s %s: no usable entry starting at 1 MiB: %s", im, c->memory,
		  guest_ctx(&r));
	cr_expect(high_ok, "%s %s: no entry [4 GiB, 4 GiB + %llu MiB): %s", im, c->memory,
		  (bytes - MMIO_GAP_START) >> 20, guest_ctx(&r));
	cr_expect_eq(ram + low_reserved, bytes,
		     "%s %s: usable RAM 0x%llx + reserved RAM below 1 MiB 0x%llx != 0x%llx: %s", im,
		     c->memory, ram, low_reserved, bytes, guest_ctx(&r));
	char want[32], got[128];
	snprintf(want, sizeof(want), "%llu", ram);
	cr_expect(guest_line(r.out, "mem entries=", got, sizeof(got)) && strstr(got, want),
		  "%s %s: guest's own RAM total differs from %s: %s", im, c->memory, want,
		  guest_ctx(&r));
	guest_result_free(&r);
}

/* ---- smp ---- */

static const unsigned smp_cpus[] = {1, 2, 4};

ParameterizedTestParameters(smp, vcpus)
{
	HARNESS_ROWS(smp_cpus);
}

ParameterizedTest(int *row, smp, vcpus)
{
	unsigned n = smp_cpus[*row];
	char cmdline[64];
	snprintf(cmdline, sizeof(cmdline), "test=smp cpus=%u", n);
	struct guest_opts o = {.image = FW_PVH, .cmdline = cmdline, .vcpus = n};
	struct guest_result r;
	guest_run_ok(&o, &r);
	cr_expect_eq(r.status, 0, "%u vCPUs: smp must exit 0: %s", n, guest_ctx(&r));
	char line[64];
	unsigned m = 0;
	cr_expect(guest_line(r.out, "cpus=", line, sizeof(line)) && sscanf(line, "%u", &m) == 1 &&
		      m == n,
		  "%u vCPUs: want cpus=%u: %s", n, n, guest_ctx(&r));
	unsigned seen[64] = {0};
	unsigned lines = 0;
	for (const char *p = r.out; (p = strstr(p, "minnow-test: cpu apic_id=")); p++) {
		unsigned id;
		cr_assert_eq(sscanf(p, "minnow-test: cpu apic_id=%u", &id), 1, "%s", guest_ctx(&r));
		cr_expect(id < n, "%u vCPUs: APIC ID %u out of range: %s", n, id, guest_ctx(&r));
		if (id < 64)
			seen[id]++;
		lines++;
	}
	cr_expect_eq(lines, n, "%u vCPUs: want %u cpu lines: %s", n, n, guest_ctx(&r));
	for (unsigned i = 0; i < n; i++)
		cr_expect_eq(seen[i], 1, "%u vCPUs: APIC ID %u reported %u times: %s", n, i,
			     seen[i], guest_ctx(&r));
	guest_result_free(&r);
}

/* Every vCPU writes the EXIT register at the same moment, many times over:
 * the first one ends the VM, the others' vm_end() calls and kicks race the
 * main thread's joins (run it under --enable-sanitizers or --enable-tsan
 * too). Each run must end with the guest's status, never a crash. */
#define SMP_END_RUNS 25

Test(smp, all_cpus_end_the_vm_at_once)
{
	for (int i = 0; i < SMP_END_RUNS; i++) {
		struct guest_opts o = {.image = FW_PVH,
				       .cmdline = "test=smp-end cpus=4",
				       .vcpus = 4,
				       .timings = TIMINGS_JSON};
		struct guest_result r;
		guest_run_ok(&o, &r);
		char reason[32] = "";
		guest_json(r.err, "exit_reason", reason, sizeof(reason));
		cr_assert(guest_has_line(&r, "smp-end cpus=4"),
			  "run %d: not all 4 CPUs came up: %s", i + 1, guest_ctx(&r));
		cr_assert_eq(r.status, 42, "run %d: want the guest's status 42: %s", i + 1,
			     guest_ctx(&r));
		cr_assert_str_eq(reason, "guest_exit", "run %d: %s", i + 1, guest_ctx(&r));
		cr_assert(r.err[0] == '{' && strchr(r.err, '\n') == r.err + r.err_len - 1,
			  "run %d: want only the timings on stderr: %s", i + 1, guest_ctx(&r));
		guest_result_free(&r);
	}
}

/* ---- every way the VM ends: exit status and exit_reason ---- */

/* README.md "Exit status". 1 (host error) and 128+N (signals) are in
 * test_lifecycle.c, 2 (configuration) in the unit tier; 123 (KVM refused
 * to enter) cannot be caused by a guest. */
struct end_case {
	const char *name;
	const char *cmdline;
	const char *set;
	int status;
	const char *reason;
	const char *out; /* a "minnow-test: " line the guest printed first */
	const char *err; /* what minnow's stderr must say (case-insensitive) */
};

static const struct end_case end_cases[] = {
    {"guest exit 0", "test=exit:0", NULL, 0, "guest_exit", "exit:0", NULL},
    {"guest exit 7", "test=exit:7", NULL, 7, "guest_exit", "exit:7", NULL},
    {"guest exit 255", "test=exit:255", NULL, 255, "guest_exit", "exit:255", NULL},
    {"ACPI S5 (poweroff)", "test=acpi-poweroff", NULL, 0, "poweroff",
     "acpi: sleep control register at 0x", NULL},
    {"ACPI reset register", "test=acpi-reset", NULL, 120, "reset", "acpi: reset register at 0x",
     NULL},
    {"triple fault", "test=triple-fault", NULL, 121, "triple_fault", "triple-fault now",
     "triple fault"},
    /* Code fetched from MMIO with nothing behind it: KVM has no bytes to
     * run or emulate (KVM_EXIT_INTERNAL_ERROR); minnow names the rip. */
    {"emulation failure", "test=exec-mmio", NULL, 122, "emulation_failure",
     "exec-mmio calling 0xe0000000", "at rip 0xe0000000; instruction bytes: unavailable"},
    /* An MMIO access by an instruction KVM's emulator lacks (crc32): the
     * bytes are known and printed. */
    {"emulation failure, bytes", "test=mmio-crc32", NULL, 122, "emulation_failure",
     "mmio-crc32 reading 0xe0000000", "instruction bytes: f2 0f 38 f0"},
    {"boot timeout", "test=boot-hang", "vm.boot_timeout=300ms", 124, "boot_timeout", "boot-hang",
     "boot timeout: no boot-complete signal from the guest within 300 ms"},
    /* The timeout is about booting only: a guest that said it booted may
     * run past it. */
    {"boot timeout after boot", "test=idle ms=1200", "vm.boot_timeout=300ms", 0, "guest_exit",
     "idle done", NULL},
};

static bool contains_nocase(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	for (const char *p = hay; *p; p++)
		if (!strncasecmp(p, needle, n))
			return true;
	return false;
}

ParameterizedTestParameters(exit, status)
{
	HARNESS_ROWS(end_cases);
}

ParameterizedTest(int *row, exit, status)
{
	const struct end_case *c = &end_cases[*row];
	const char *sets[] = {c->set, NULL};
	struct guest_opts o = {.cmdline = c->cmdline, .sets = sets, .timings = TIMINGS_JSON};
	struct guest_result r;
	guest_run_ok(&o, &r);
	char reason[64] = "";
	cr_expect(guest_has_line(&r, c->out), "%s: the guest did not get to '%s': %s", c->name,
		  c->out, guest_ctx(&r));
	cr_expect_eq(r.status, c->status, "%s: want exit status %d: %s", c->name, c->status,
		     guest_ctx(&r));
	cr_expect(guest_json(r.err, "exit_reason", reason, sizeof(reason)) &&
		      !strcmp(reason, c->reason),
		  "%s: want exit_reason \"%s\", got \"%s\": %s", c->name, c->reason, reason,
		  guest_ctx(&r));
	char status[16] = "", want[16];
	snprintf(want, sizeof(want), "%d", c->status);
	cr_expect(guest_json(r.err, "exit_status", status, sizeof(status)) && !strcmp(status, want),
		  "%s: want exit_status %s in the JSON, got %s: %s", c->name, want, status,
		  guest_ctx(&r));
	if (c->err)
		cr_expect(contains_nocase(r.err, c->err), "%s: stderr should say '%s': %s", c->name,
			  c->err, guest_ctx(&r));
	guest_result_free(&r);
}

/* A boot timeout says where each vCPU was: the boot vCPU halted in the
 * firmware (its rip in the image, interrupts off, its last exit the UART
 * it printed on), the second never started (the firmware starts no AP). */
Test(exit, boot_timeout_reports_each_vcpu)
{
	const char *sets[] = {"vm.boot_timeout=300ms", "vm.vcpus=2", NULL};
	struct guest_opts o = {.cmdline = "test=boot-hang", .sets = sets};
	struct guest_result r;
	guest_run_ok(&o, &r);
	cr_assert_eq(r.status, 124, "want the boot timeout's status: %s", guest_ctx(&r));
	const char *v0 = strstr(r.err, "vCPU 0: rip 0x");
	const char *v1 = strstr(r.err, "vCPU 1: rip 0x");
	cr_assert(v0 && v1 && v0 < v1, "want a line per vCPU, in order: %s", guest_ctx(&r));
	cr_expect(strstr(v0, "(interrupts off), halted;") &&
		      strstr(v0, "exits to minnow, the last"),
		  "vCPU 0 halted with interrupts off after exits: %s", guest_ctx(&r));
	cr_expect(strstr(v1, "not started") && strstr(v1, "no exit to minnow yet"),
		  "vCPU 1 never started: %s", guest_ctx(&r));
	guest_result_free(&r);
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
	guest_run_ok(&o, &r);
	char line[256];
	cr_expect(guest_line(r.out, "echo=", line, sizeof(line)) && !strcmp(line, "hello world"),
		  "want 'minnow-test: echo=hello world': %s", guest_ctx(&r));
	cr_expect_eq(r.status, 0, "console-echo must exit 0: %s", guest_ctx(&r));
	guest_result_free(&r);
}

/* ---- a guest poking at things that are not there ---- */

struct absent_case {
	const char *name;
	const char *cmdline;
	const char *line; /* the guest's verdict: "minnow-test: " line + value */
	const char *value;
};

/* Port I/O: no devices, reads all ones. MMIO: unassigned addresses read
 * all ones and drop writes. */
static const struct absent_case absent_cases[] = {
    {"port I/O", "test=portio", "portio ok reads=", "12"},
    {"unassigned MMIO", "test=mmio-wild", "mmio-wild ok reads=", "16"},
};

ParameterizedTestParameters(robust, absent)
{
	HARNESS_ROWS(absent_cases);
}

ParameterizedTest(int *row, robust, absent)
{
	const struct absent_case *c = &absent_cases[*row];
	struct guest_opts o = {.cmdline = c->cmdline};
	struct guest_result r;
	guest_run_ok(&o, &r);
	char line[64];
	cr_expect(guest_line(r.out, c->line, line, sizeof(line)) && !strcmp(line, c->value),
		  "%s: want 'minnow-test: %s%s' (reads all ones): %s", c->name, c->line, c->value,
		  guest_ctx(&r));
	cr_expect_eq(r.status, 0, "%s: must exit 0: %s", c->name, guest_ctx(&r));
	guest_result_free(&r);
}

/* ---- the exit table of --timings=json ---- */

/* The number after "key": in json (0 when absent, which the checks catch). */
static unsigned long long json_u64(const char *json, const char *key)
{
	char v[32];
	return guest_json(json, key, v, sizeof(v)) ? strtoull(v, NULL, 10) : 0;
}

struct exit_counts {
	unsigned long long exits, mmio_exits, unclaimed, kinds_sum, range_sum;
	unsigned long long uart_writes, uart_coalesced, control_writes;
};

/* Reads the exit table (and the totals it must add up to) of a run. */
static void read_exit_table(const char *err, struct exit_counts *c)
{
	static const char *const kinds[] = {"mmio", "pio", "ioapic_eoi", "intr", "hlt", "other"};
	memset(c, 0, sizeof(*c));
	c->exits = json_u64(err, "exits");
	c->mmio_exits = json_u64(err, "mmio_exits");
	c->unclaimed = json_u64(err, "mmio_unclaimed");
	const char *k = strstr(err, "\"exit_kinds\":{");
	cr_assert_not_null(k, "no exit_kinds in --timings=json: %s", err);
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		char v[32];
		cr_assert_not_null(guest_json(k, kinds[i], v, sizeof(v)), "no exit kind %s",
				   kinds[i]);
		c->kinds_sum += strtoull(v, NULL, 10);
	}
	const char *p = strstr(err, "\"mmio_ranges\":[");
	cr_assert_not_null(p, "no mmio_ranges in --timings=json: %s", err);
	char name[32];
	unsigned long long base, reads, writes, coalesced;
	int used;
	for (p = strchr(p, '[') + 1; sscanf(p,
					    "{\"name\":\"%31[^\"]\",\"base\":%llu,\"reads\":%llu,"
					    "\"writes\":%llu,\"coalesced\":%llu}%n",
					    name, &base, &reads, &writes, &coalesced, &used) == 5;
	     p += used + (p[used] == ',')) {
		c->range_sum += reads + writes;
		if (!strcmp(name, "uart")) {
			c->uart_writes = writes;
			c->uart_coalesced = coalesced;
		}
		if (!strcmp(name, "control"))
			c->control_writes = writes;
	}
	cr_assert_eq(*p, ']', "mmio_ranges does not parse at: %.80s", p);
}

/* Every exit is in exactly one kind, every MMIO exit in one range or unclaimed; each
 * console byte of the unikernel is one UART write exit (through KVM's coalesced
 * ring only after 4 KiB: counted apart, not an exit); mmio-wild's 32 accesses to
 * nothing are unclaimed, on top of what hello's boot leaves unclaimed. */
Test(timings, exit_table_adds_up)
{
	struct exit_counts c[2];
	static const char *const cmdlines[] = {"test=hello", "test=mmio-wild"};
	for (int i = 0; i < 2; i++) {
		struct guest_opts o = {.cmdline = cmdlines[i], .timings = TIMINGS_JSON};
		struct guest_result r;
		guest_run_ok(&o, &r);
		cr_assert_eq(r.status, 0, "%s: %s", cmdlines[i], guest_ctx(&r));
		read_exit_table(r.err, &c[i]);
		cr_expect_gt(c[i].exits, 0, "%s: %s", cmdlines[i], r.err);
		cr_expect_eq(c[i].kinds_sum, c[i].exits,
			     "%s: exit kinds add up to %llu, exits %llu", cmdlines[i],
			     c[i].kinds_sum, c[i].exits);
		cr_expect_eq(c[i].range_sum + c[i].unclaimed, c[i].mmio_exits,
			     "%s: ranges %llu + unclaimed %llu != MMIO exits %llu", cmdlines[i],
			     c[i].range_sum, c[i].unclaimed, c[i].mmio_exits);
		cr_expect_geq(c[i].uart_writes + c[i].uart_coalesced, strlen(r.out),
			      "%s: %llu UART writes (%llu through the ring) for %zu bytes",
			      cmdlines[i], c[i].uart_writes + c[i].uart_coalesced,
			      c[i].uart_coalesced, strlen(r.out));
		cr_expect_geq(c[i].control_writes, 2, "%s: boot done and exit are control writes",
			      cmdlines[i]);
		/* Less than 4 KiB printed: the coalesced zone, which costs
		 * each VM's teardown, is never registered. */
		cr_expect_eq(c[i].uart_coalesced, 0, "%s: %llu writes through the ring",
			     cmdlines[i], c[i].uart_coalesced);
		guest_result_free(&r);
	}
	cr_expect_eq(c[1].unclaimed - c[0].unclaimed, 32,
		     "mmio-wild: %llu unclaimed, hello %llu: want 32 more", c[1].unclaimed,
		     c[0].unclaimed);
}

/* ---- the UART's transmit register through KVM's coalesced MMIO ring ---- */

struct coalesce_case {
	const char *set; /* [console] coalesce */
	bool ring;	 /* THR writes through the ring (when KVM has one) */
};

static const struct coalesce_case coalesce_cases[] = {
    {"console.coalesce=on", true},
    {"console.coalesce=off", false},
};

ParameterizedTestParameters(uart, flood_arrives_whole_and_in_order)
{
	HARNESS_ROWS(coalesce_cases);
}

/* 64 KiB of numbered lines, then "flood done" and a halt for good: every
 * line arrives once, in order, byte-exact, and the last bytes too, though
 * the guest never exits again after writing them (through the ring, the
 * flush timer delivers them). With the ring, THR writes after the first
 * 4 KiB are not exits: the exit table counts them apart, one per byte;
 * without it, each is an exit. */
ParameterizedTest(int *row, uart, flood_arrives_whole_and_in_order)
{
	const struct coalesce_case *c = &coalesce_cases[*row];
	harness_require_kvm();
	const char *sets[] = {c->set, NULL};
	struct guest_opts o = {.cmdline = "test=uart-flood kib=64",
			       .sets = sets,
			       .timings = TIMINGS_JSON,
			       .timeout_ms = 120000};
	struct guest_result r;
	cr_assert_eq(guest_start(&o, &r), 0, "%s", r.desc);
	bool done = guest_wait_output(&r, "minnow-test: flood done\n", 100000);
	kill(r.pid, SIGTERM);
	guest_wait(&r);
	cr_assert(done, "%s: no 'flood done' line: %s", c->set, guest_ctx(&r));
	const char *p = strstr(r.out, "minnow-test: flood 0000000000 ");
	cr_assert_not_null(p, "%s: no first flood line: %s", c->set, guest_ctx(&r));
	unsigned long i = 0;
	for (;; i++) {
		char want[80];
		int n =
		    snprintf(want, sizeof(want),
			     "minnow-test: flood %010lu .................................\n", i);
		if (strncmp(p, want, (size_t)n))
			break;
		p += n;
	}
	cr_expect_eq(i, 64 * 16, "%s: %lu lines in order, then: %.80s", c->set, i, p);
	cr_expect_str_eq(p, "minnow-test: flood done\n", "%s: after the lines", c->set);
	struct exit_counts e;
	read_exit_table(r.err, &e);
	size_t bytes = r.out_len;
	if (c->ring && harness_kvm_has(KVM_CAP_COALESCED_MMIO)) {
		/* The first 4096 bytes exit; the zone is registered then. */
		cr_expect_geq(e.uart_coalesced + e.uart_writes, bytes,
			      "%s: %llu writes through the ring and %llu exits for %zu bytes",
			      c->set, e.uart_coalesced, e.uart_writes, bytes);
		cr_expect_geq(e.uart_coalesced, bytes - 4096 - 64,
			      "%s: %llu writes through the ring for %zu bytes", c->set,
			      e.uart_coalesced, bytes);
		cr_expect_leq(e.uart_writes, 4096 + 64, "%s: %llu UART write exits", c->set,
			      e.uart_writes);
	} else {
		cr_expect_eq(e.uart_coalesced, 0, "%s: %llu writes through the ring", c->set,
			     e.uart_coalesced);
		cr_expect_geq(e.uart_writes, bytes, "%s: %llu UART write exits for %zu bytes",
			      c->set, e.uart_writes, bytes);
	}
	guest_result_free(&r);
}
