/* test_config.c - the ini config: defaults, every key and section, --set overrides, the
 * config_print() round trip, sizes, and one exact error message per kind of mistake. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "config.h"
#include "test_util.h"

/* Fixture files; the tests run from the top of the source tree. */
#define DIR	"tests/unit/configs/"
#define KERNEL	DIR "vmlinuz"
#define INITRD	DIR "initrd.img"
#define DISK	DIR "disk.img"
#define KSECT	"[kernel]\npath = " KERNEL "\n"
#define MINIMAL DIR "minimal.ini"
#define FULL	DIR "full.ini"

static struct vm_config cfg, cfg2; /* big: keep them off the stack */
static struct config_error err;

static void in_source_tree(void)
{
	cr_assert_eq(access(KERNEL, R_OK), 0,
		     "run the unit tests from the top of the source tree (no %s here)", KERNEL);
}

TestSuite(config, .init = in_source_tree);
TestSuite(config_bad, .init = in_source_tree);

static int parse(const char *text)
{
	return config_parse_string(&cfg, "vm.ini", text, &err);
}

static void expect_ok(const char *text)
{
	int r = parse(text);
	cr_assert_eq(r, 0, "unexpected error: %s", err.msg);
}

static void expect_error(const char *text, const char *msg)
{
	cr_assert_eq(parse(text), -1, "accepted:\n%s", text);
	cr_assert_str_eq(err.msg, msg);
}

/* Every value field (origins aside) equal. */
static void assert_same(const struct vm_config *a, const struct vm_config *b)
{
	cr_assert_str_eq(a->name, b->name);
	cr_assert_eq(a->vcpus, b->vcpus);
	cr_assert_eq(a->memory, b->memory);
	cr_assert_eq(a->prefault, b->prefault);
	cr_assert_eq(a->acpi, b->acpi);
	cr_assert_eq(a->pvpanic, b->pvpanic);
	cr_assert_eq(a->boot_timeout_ms, b->boot_timeout_ms);
	cr_assert_str_eq(a->control_socket.path, b->control_socket.path);
	cr_assert_str_eq(a->metrics_file.path, b->metrics_file.path);
	cr_assert_eq(a->metrics_interval_ms, b->metrics_interval_ms);
	cr_assert_str_eq(a->restore.path, b->restore.path);
	cr_assert_str_eq(a->kernel.path, b->kernel.path);
	cr_assert_str_eq(a->initrd.path, b->initrd.path);
	cr_assert_str_eq(a->cmdline, b->cmdline);
	cr_assert_eq(a->format, b->format);
	cr_assert_eq(a->decompress, b->decompress);
	cr_assert_eq(a->cmdline_devices, b->cmdline_devices);
	cr_assert_eq(a->console, b->console);
	cr_assert_str_eq(a->console_path.path, b->console_path.path);
	cr_assert_eq(a->console_input, b->console_input);
	cr_assert_eq(a->n_drives, b->n_drives);
	for (size_t i = 0; i < a->n_drives; i++) {
		cr_assert_str_eq(a->drives[i].name, b->drives[i].name);
		cr_assert_str_eq(a->drives[i].path.path, b->drives[i].path.path);
		cr_assert_eq(a->drives[i].readonly, b->drives[i].readonly);
		cr_assert_eq(a->drives[i].cache, b->drives[i].cache);
		cr_assert_eq(a->drives[i].io, b->drives[i].io);
		cr_assert_str_eq(a->drives[i].serial, b->drives[i].serial);
		cr_assert_arr_eq(&a->drives[i].limit, &b->drives[i].limit,
				 sizeof(a->drives[i].limit));
	}
	cr_assert_eq(a->n_nets, b->n_nets);
	for (size_t i = 0; i < a->n_nets; i++) {
		cr_assert_str_eq(a->nets[i].name, b->nets[i].name);
		cr_assert_str_eq(a->nets[i].tap, b->nets[i].tap);
		cr_assert_arr_eq(&a->nets[i].rx, &b->nets[i].rx, sizeof(a->nets[i].rx));
		cr_assert_arr_eq(&a->nets[i].tx, &b->nets[i].tx, sizeof(a->nets[i].tx));
		cr_assert_eq(a->nets[i].mac_set, b->nets[i].mac_set);
		cr_assert_arr_eq(a->nets[i].mac, b->nets[i].mac, 6);
	}
	cr_assert_eq(a->vsock, b->vsock);
	cr_assert_eq(a->vsock_cid, b->vsock_cid);
	cr_assert_str_eq(a->vsock_uds.path, b->vsock_uds.path);
	cr_assert_eq(a->rng, b->rng);
	cr_assert_eq(a->vconsole, b->vconsole);
	cr_assert_eq(a->vconsole_output, b->vconsole_output);
	cr_assert_str_eq(a->vconsole_path.path, b->vconsole_path.path);
	cr_assert_eq(a->seccomp, b->seccomp);
}

/* config_print(cfg) parsed back gives the same configuration. */
static void assert_round_trip(void)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	cr_assert_not_null(f);
	config_print(&cfg, f);
	cr_assert_eq(fclose(f), 0);
	int r = config_parse_string(&cfg2, "printed.ini", text, &err);
	cr_assert_eq(r, 0, "config_print output rejected: %s\n%s", err.msg, text);
	assert_same(&cfg, &cfg2);
	free(text);
}

/* ---- good configurations --------------------------------------------------- */

Test(config, minimal_file_has_defaults)
{
	cr_assert_eq(config_load(&cfg, MINIMAL, NULL, 0, &err), 0, "%s", err.msg);
	cr_assert_str_eq(cfg.file, MINIMAL);
	cr_assert_str_eq(cfg.name, "minnow");
	cr_assert_eq(cfg.vcpus, 1);
	cr_assert_eq(cfg.memory, 128ULL << 20);
	cr_assert_not(cfg.prefault);
	cr_assert(cfg.acpi);
	cr_assert(cfg.pvpanic);
	cr_assert_eq(cfg.boot_timeout_ms, 0);
	cr_assert_str_eq(cfg.kernel.path, KERNEL);
	cr_assert_str_eq(cfg.kernel.at.file, MINIMAL);
	cr_assert_eq(cfg.kernel.at.line, 4);
	cr_assert_str_eq(cfg.initrd.path, "");
	cr_assert_str_eq(cfg.cmdline, "");
	cr_assert_eq(cfg.format, KERNEL_AUTO);
	cr_assert_eq(cfg.decompress, DECOMPRESS_AUTO);
	cr_assert(cfg.cmdline_devices);
	cr_assert_eq(cfg.console, CONSOLE_STDIO);
	cr_assert(cfg.console_input);
	cr_assert_eq(cfg.n_drives, 0);
	cr_assert_eq(cfg.n_nets, 0);
	cr_assert_not(cfg.vsock);
	cr_assert_not(cfg.rng);
	cr_assert_not(cfg.vconsole);
	assert_round_trip();
}

Test(config, full_file)
{
	cr_assert_eq(config_load(&cfg, FULL, NULL, 0, &err), 0, "%s", err.msg);
	cr_assert_str_eq(cfg.name, "full-vm");
	cr_assert_eq(cfg.vcpus, 4);
	cr_assert_eq(cfg.memory, 1ULL << 30);
	cr_assert(cfg.prefault);
	cr_assert_not(cfg.acpi);
	cr_assert_not(cfg.pvpanic);
	cr_assert_eq(cfg.boot_timeout_ms, 2500);
	cr_assert_str_eq(cfg.initrd.path, INITRD);
	cr_assert_eq(cfg.initrd.at.line, 13);
	cr_assert_str_eq(cfg.cmdline, "console=ttyS0 root=/dev/vda rw init=/sbin/init");
	cr_assert_eq(cfg.format, KERNEL_BZIMAGE);
	cr_assert_eq(cfg.decompress, DECOMPRESS_GUEST);
	cr_assert_not(cfg.cmdline_devices);
	cr_assert_eq(cfg.console, CONSOLE_FILE);
	cr_assert_str_eq(cfg.console_path.path, "/tmp/minnow-console.log");
	cr_assert_not(cfg.console_input);

	cr_assert_eq(cfg.n_drives, 2);
	cr_assert_str_eq(cfg.drives[0].name, "root");
	cr_assert_str_eq(cfg.drives[0].path.path, DISK);
	cr_assert(cfg.drives[0].readonly);
	cr_assert_eq(cfg.drives[0].cache, CACHE_NONE);
	cr_assert_eq(cfg.drives[0].io, DRIVE_IO_SYNC);
	cr_assert_str_eq(cfg.drives[0].serial, "ROOT-0001");
	cr_assert_eq(cfg.drives[0].at.line, 24);
	cr_assert_str_eq(cfg.drives[1].name, "scratch");
	cr_assert_not(cfg.drives[1].readonly);
	cr_assert_eq(cfg.drives[1].cache, CACHE_WRITEBACK);
	cr_assert_eq(cfg.drives[1].io, DRIVE_IO_AUTO);
	cr_assert_str_eq(cfg.drives[1].serial, "");

	cr_assert_eq(cfg.n_nets, 2);
	cr_assert_str_eq(cfg.nets[0].name, "eth0");
	cr_assert_str_eq(cfg.nets[0].tap, "tap0");
	cr_assert(cfg.nets[0].mac_set);
	const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
	cr_assert_arr_eq(cfg.nets[0].mac, mac, 6);
	cr_assert_str_eq(cfg.nets[1].tap, "tap1");
	cr_assert_not(cfg.nets[1].mac_set);

	cr_assert(cfg.vsock);
	cr_assert_eq(cfg.vsock_cid, 42);
	cr_assert_str_eq(cfg.vsock_uds.path, "/tmp/minnow-vsock.sock");
	cr_assert(cfg.rng);
	cr_assert(cfg.vconsole);
	cr_assert_eq(cfg.vconsole_output, CONSOLE_STDIO);
	assert_round_trip();
}

Test(config, every_device_section)
{
	expect_ok("[kernel]\npath=" KERNEL "\n"
		  "[console]\noutput=none\n"
		  "[drive.a]\npath=" DISK "\nreadonly=true\n"
		  "[drive.b.c_d-e]\npath=" DISK "\n"
		  "[net.n]\ntap=tap9\nmac=02:00:00:00:00:01\n"
		  "[vsock]\nuds_path=v.sock\n"
		  "[rng]\nenabled=off\n"
		  "[vconsole]\noutput=file\npath=out.log\n");
	cr_assert_eq(cfg.console, CONSOLE_NONE);
	cr_assert_eq(cfg.n_drives, 2);
	cr_assert_str_eq(cfg.drives[1].name, "b.c_d-e");
	cr_assert_eq(cfg.n_nets, 1);
	cr_assert(cfg.vsock);
	cr_assert_eq(cfg.vsock_cid, 3);
	cr_assert_str_eq(cfg.vsock_uds.path, "v.sock");
	cr_assert_not(cfg.rng);
	cr_assert(cfg.vconsole);
	cr_assert_eq(cfg.vconsole_output, CONSOLE_FILE);
	cr_assert_str_eq(cfg.vconsole_path.path, "out.log");
	assert_round_trip();
}

Test(config, empty_sections_enable_devices)
{
	expect_ok(KSECT "[rng]\n[console]\noutput = none\n[vconsole]\n");
	cr_assert(cfg.rng);
	cr_assert(cfg.vconsole);
	cr_assert_eq(cfg.vconsole_output, CONSOLE_STDIO);
}

Test(config, value_starting_with_semicolon_is_a_comment)
{
	expect_ok(KSECT "cmdline = ; no arguments\n");
	cr_assert_str_eq(cfg.cmdline, "");
	expect_ok(KSECT "cmdline = a;b ; c\n");
	cr_assert_str_eq(cfg.cmdline, "a;b");
	assert_round_trip();
}

Test(config, syntax_variants)
{
	/* BOM, comments, "key: value", inline comments, blank lines, spaces, CRLF */
	expect_ok("\xEF\xBB\xBF; comment\r\n# comment\r\n\r\n  [ vm ]  \r\n"
		  "vcpus: 3 ; three\r\nname=a.b_c-D9\r\nmemory = 64m\r\n" KSECT);
	cr_assert_eq(cfg.vcpus, 3);
	cr_assert_str_eq(cfg.name, "a.b_c-D9");
	cr_assert_eq(cfg.memory, 64ULL << 20);
}

Test(config, booleans)
{
	static const char *const yes[] = {"on", "true", "yes", "1", "ON", "True"};
	static const char *const no[] = {"off", "false", "no", "0", "OFF", "No"};
	char text[256];
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		snprintf(text, sizeof(text), "[vm]\nprefault=%s\nacpi=%s\n" KSECT, yes[i], no[i]);
		expect_ok(text);
		cr_assert(cfg.prefault, "%s", yes[i]);
		cr_assert_not(cfg.acpi, "%s", no[i]);
	}
}

Test(config, durations)
{
	static const struct {
		const char *text;
		unsigned ms;
	} cases[] = {{"0", 0}, {"1500", 1500}, {"1500ms", 1500}, {"3s", 3000}, {"0s", 0}};
	char text[256];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "[vm]\nboot_timeout = %s\n" KSECT, cases[i].text);
		expect_ok(text);
		cr_assert_eq(cfg.boot_timeout_ms, cases[i].ms, "%s", cases[i].text);
		assert_round_trip();
	}
}

Test(config, limits_accepted)
{
	expect_ok("[vm]\nvcpus = 64\nmemory = 16M\n" KSECT);
	cr_assert_eq(cfg.vcpus, 64);
	expect_ok("[vm]\nmemory = 1T\n" KSECT);
	cr_assert_eq(cfg.memory, 1ULL << 40);
	expect_ok("[vm]\nmemory = 1536M\n" KSECT);
	cr_assert_eq(cfg.memory, 1536ULL << 20);
	expect_ok("[vm]\nmemory = 134217728\n" KSECT);
	cr_assert_eq(cfg.memory, 128ULL << 20);
	expect_ok(KSECT "[vsock]\ncid = 0xFFFFFFFE\nuds_path = s\n");
	cr_assert_eq(cfg.vsock_cid, 0xFFFFFFFEu);
	expect_ok(KSECT "[drive.d]\npath=" DISK "\nserial = 12345678901234567890\n");
	cr_assert_str_eq(cfg.drives[0].serial, "12345678901234567890");
	expect_ok(KSECT "[net.n]\ntap = abcdefghijklmno\n");
	cr_assert_str_eq(cfg.nets[0].tap, "abcdefghijklmno");
}

Test(config, longest_values)
{
	/* A 4095-byte command line and a 63-byte drive name: longer than inih's own limits. */
	static char text[8192];
	char cmdline[CONFIG_CMDLINE_MAX], name[CONFIG_NAME_MAX];
	memset(cmdline, 'x', sizeof(cmdline) - 1);
	cmdline[sizeof(cmdline) - 1] = '\0';
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	snprintf(text, sizeof(text),
		 KSECT "cmdline = %s\n[drive.%s]\npath = " DISK "\n[drive.%.50sother]\npath = " DISK
		       "\n",
		 cmdline, name, name);
	expect_ok(text);
	cr_assert_str_eq(cfg.cmdline, cmdline);
	cr_assert_eq(cfg.n_drives, 2);
	cr_assert_str_eq(cfg.drives[0].name, name);
	cr_assert_eq(strlen(cfg.drives[1].name), 55);
	assert_round_trip();
}

Test(config, origins_record_lines)
{
	expect_ok("[vm]\n\n\nmemory = 256M\n[kernel]\n\npath = " KERNEL "\n[drive.x]\npath = " DISK
		  "\n");
	cr_assert_str_eq(cfg.kernel.at.file, "vm.ini");
	cr_assert_eq(cfg.kernel.at.line, 7);
	cr_assert_eq(cfg.drives[0].at.line, 8);
	cr_assert_eq(cfg.drives[0].path.at.line, 9);
}

Test(config, set_overrides_a_value_and_adds_a_section)
{
	const char *sets[] = {"vm.memory=512M", "rng.enabled=on", " drive.root.path = " DISK " ",
			      "drive.root.readonly=on", "vm.memory=1G"};
	cr_assert_eq(config_load(&cfg, FULL, sets, 5, &err), 0, "%s", err.msg);
	cr_assert_eq(cfg.memory, 1ULL << 30, "the last override wins");
	cr_assert(cfg.rng);
	cr_assert_eq(cfg.n_drives, 2);
	cr_assert(cfg.drives[0].readonly);

	const char *more[] = {"vm.memory=512M", "rng.enabled=on", "drive.data.path=" DISK,
			      "kernel.cmdline=console=ttyS0 quiet"};
	cr_assert_eq(config_load(&cfg, MINIMAL, more, 4, &err), 0, "%s", err.msg);
	cr_assert_eq(cfg.memory, 512ULL << 20);
	cr_assert(cfg.rng);
	cr_assert_eq(cfg.n_drives, 1);
	cr_assert_str_eq(cfg.drives[0].name, "data");
	cr_assert_str_eq(cfg.drives[0].path.at.file, "--set");
	cr_assert_eq(cfg.drives[0].path.at.line, 3);
	cr_assert_str_eq(cfg.cmdline, "console=ttyS0 quiet");
	assert_round_trip();
}

Test(config, print_format)
{
	char *text = NULL;
	size_t len = 0;
	expect_ok("[vm]\nmemory = 3072M\nboot_timeout = 1500\n" KSECT
		  "[net.a]\ntap = t0\nmac = 0A:0b:0C:0d:0E:0f\n");
	FILE *f = open_memstream(&text, &len);
	config_print(&cfg, f);
	fclose(f);
	cr_assert_not_null(strstr(text, "[vm]\nname = minnow\nvcpus = 1\nmemory = 3G\n"), "%s",
			   text);
	cr_assert_not_null(strstr(text, "boot_timeout = 1500ms\n"), "%s", text);
	cr_assert_not_null(strstr(text, "\n[kernel]\npath = " KERNEL "\n"), "%s", text);
	cr_assert_not_null(strstr(text, "\n[net.a]\ntap = t0\nmac = 0a:0b:0c:0d:0e:0f\n"), "%s",
			   text);
	cr_assert_not_null(strstr(text, "\n[rng]\nenabled = off\n"), "%s", text);
	free(text);
}

Test(config, parse_size)
{
	static const struct {
		const char *text;
		uint64_t bytes;
	} good[] = {
	    {"64M", 64ULL << 20},   {"3G", 3ULL << 30},
	    {"1T", 1ULL << 40},	    {"4096", 4096},
	    {"512K", 512ULL << 10}, {"0", 0},
	    {"2g", 2ULL << 30},	    {"16777215T", 16777215ULL << 40},
	};
	static const char *const bad[] = {"",	 "M",	 "12Q",	 "-1",	"99999999999T",
					  "1 M", " 1M",	 "1M ",	 "1 2", "+1",
					  "1MB", "0x10", "1.5G", "K1",	"18446744073709551616"};
	uint64_t v;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		cr_assert_eq(config_parse_size(good[i].text, &v), 0, "%s", good[i].text);
		cr_assert_eq(v, good[i].bytes, "%s", good[i].text);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(config_parse_size(bad[i], &v), -1, "'%s' accepted", bad[i]);
}

/* ---- [security] seccomp ------------------------------------------------------ */

Test(config, seccomp_defaults_to_kill)
{
	expect_ok(KSECT);
	cr_assert_eq(cfg.seccomp, SECCOMP_KILL);
}

Test(config, seccomp_takes_kill_log_off_and_round_trips)
{
	static const struct {
		const char *value;
		enum seccomp_mode mode;
	} cases[] = {{"kill", SECCOMP_KILL},
		     {"log", SECCOMP_LOG},
		     {"off", SECCOMP_OFF},
		     {"LOG", SECCOMP_LOG}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[256];
		snprintf(text, sizeof(text), KSECT "[security]\nseccomp = %s\n", cases[i].value);
		expect_ok(text);
		cr_assert_eq(cfg.seccomp, cases[i].mode, "seccomp = %s", cases[i].value);
		assert_round_trip();
	}
}

Test(config, seccomp_printed)
{
	expect_ok(KSECT "[security]\nseccomp = log\n");
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	cr_assert_not_null(f);
	config_print(&cfg, f);
	cr_assert_eq(fclose(f), 0);
	cr_assert_not_null(strstr(text, "\n[security]\nseccomp = log\n"), "%s", text);
	free(text);
}

/* ---- bad configurations: the exact message ----------------------------------- */

#define BAD(id, text, msg)                                                                         \
	Test(config_bad, id)                                                                       \
	{                                                                                          \
		expect_error(text, msg);                                                           \
	}

BAD(unknown_section, KSECT "[disk]\npath = x\n",
    "vm.ini:3: [disk]: unknown section (known: vm, kernel, console, drive.NAME, net.NAME, fs.NAME, "
    "vsock, rng, vconsole, jail, security)")
BAD(unnamed_section_with_name, "[vm.big]\n" KSECT,
    "vm.ini:1: [vm.big]: unknown section (known: vm, kernel, console, drive.NAME, net.NAME, "
    "fs.NAME, vsock, rng, vconsole, jail, security)")
BAD(seccomp_bad_value, KSECT "[security]\nseccomp = strict\n",
    "vm.ini:4: [security] seccomp: bad value 'strict' (expected one of: kill, log, off)")
BAD(seccomp_empty, KSECT "[security]\nseccomp =\n",
    "vm.ini:4: [security] seccomp: bad value '' (expected one of: kill, log, off)")
BAD(security_unknown_key, KSECT "[security]\nfilter = kill\n",
    "vm.ini:4: [security] filter: unknown key (known: seccomp)")
BAD(drive_without_name, KSECT "[drive]\npath = " DISK "\n",
    "vm.ini:3: [drive]: needs a name, as in [drive.NAME]")
BAD(bad_drive_name, KSECT "[drive.my disk]\npath = " DISK "\n",
    "vm.ini:3: [drive.my disk]: bad name 'my disk' (1-63 characters of A-Z a-z 0-9 . _ -)")
BAD(unknown_key, "[vm]\nname = a\nmem = 1G\n" KSECT,
    "vm.ini:3: [vm] mem: unknown key (known: name, vcpus, memory, prefault, acpi, pvpanic, "
    "boot_timeout, control_socket, metrics_file, metrics_interval, restore)")
BAD(duplicate_key, "[vm]\nvcpus = 1\n\nvcpus = 2\n" KSECT,
    "vm.ini:4: [vm] vcpus: duplicate key (first at line 2)")
BAD(duplicate_section, "[vm]\nvcpus = 2\n" KSECT "[vm]\nmemory = 1G\n",
    "vm.ini:5: [vm]: duplicate section (first at line 1)")
BAD(duplicate_drive, KSECT "[drive.a]\npath = " DISK "\n[drive.a]\nreadonly = on\n",
    "vm.ini:5: [drive.a]: duplicate section (first at line 3)")
BAD(key_before_section, "memory = 1G\n" KSECT, "vm.ini:1: memory: key before the first [section]")
BAD(syntax_no_equals, "[vm]\nmemory 1G\n" KSECT,
    "vm.ini:2: syntax error: expected [section] or key = value")
BAD(syntax_no_bracket, "[vm\nmemory = 1G\n" KSECT,
    "vm.ini:1: syntax error: [section] header without ']'")
BAD(continuation_line, "[kernel]\npath = " KERNEL "\ncmdline = a\n  b\n",
    "vm.ini:4: syntax error: expected [section] or key = value")
BAD(name_bad_char, "[vm]\nname = my/vm\n" KSECT,
    "vm.ini:2: [vm] name: bad name 'my/vm' (1-63 characters of A-Z a-z 0-9 . _ -)")
BAD(name_too_long,
    "[vm]\nname = 1234567890123456789012345678901234567890123456789012345678901234\n" KSECT,
    "vm.ini:2: [vm] name: bad name "
    "'1234567890123456789012345678901234567890123456789012345678901234' "
    "(1-63 characters of A-Z a-z 0-9 . _ -)")
BAD(vcpus_not_a_number, "[vm]\nvcpus = two\n" KSECT, "vm.ini:2: [vm] vcpus: bad number 'two'")
BAD(vcpus_zero, "[vm]\nvcpus = 0\n" KSECT, "vm.ini:2: [vm] vcpus: out of range: 0 (allowed 1..64)")
BAD(vcpus_too_many, "[vm]\nvcpus = 65\n" KSECT,
    "vm.ini:2: [vm] vcpus: out of range: 65 (allowed 1..64)")
BAD(vcpus_negative, "[vm]\nvcpus = -1\n" KSECT, "vm.ini:2: [vm] vcpus: bad number '-1'")
BAD(memory_bad_suffix, "[vm]\nmemory = 12Q\n" KSECT,
    "vm.ini:2: [vm] memory: bad size suffix 'Q' (expected K, M, G or T)")
BAD(memory_no_number, "[vm]\nmemory = M\n" KSECT,
    "vm.ini:2: [vm] memory: bad size 'M' (expected a number with an optional K, M, G or T suffix)")
BAD(memory_empty, "[vm]\nmemory =\n" KSECT,
    "vm.ini:2: [vm] memory: bad size '' (expected a number with an optional K, M, G or T suffix)")
BAD(memory_space_inside, "[vm]\nmemory = 1 G\n" KSECT,
    "vm.ini:2: [vm] memory: bad size '1 G' (no spaces allowed)")
BAD(memory_overflow, "[vm]\nmemory = 99999999999T\n" KSECT,
    "vm.ini:2: [vm] memory: size '99999999999T' is too large")
BAD(memory_too_small, "[vm]\nmemory = 8M\n" KSECT,
    "vm.ini:2: [vm] memory: out of range: 8M (allowed 16M..1T)")
BAD(memory_too_large, "[vm]\nmemory = 2T\n" KSECT,
    "vm.ini:2: [vm] memory: out of range: 2T (allowed 16M..1T)")
BAD(memory_not_mib_multiple, "[vm]\nmemory = 16385K\n" KSECT,
    "vm.ini:2: [vm] memory: 16385K is not a multiple of 1M")
BAD(bad_bool, "[vm]\nprefault = maybe\n" KSECT,
    "vm.ini:2: [vm] prefault: bad boolean 'maybe' (expected on/off, true/false, yes/no or 1/0)")
BAD(bad_duration, "[vm]\nboot_timeout = 5m\n" KSECT,
    "vm.ini:2: [vm] boot_timeout: bad duration '5m' (expected milliseconds, or a number with "
    "suffix ms or s)")
BAD(duration_overflow, "[vm]\nboot_timeout = 4294968s\n" KSECT,
    "vm.ini:2: [vm] boot_timeout: out of range: '4294968s' (at most 4294967295ms)")
BAD(bad_format, KSECT "format = zimage\n",
    "vm.ini:3: [kernel] format: bad value 'zimage' (expected one of: auto, bzimage, elf, pvh)")
BAD(bad_decompress, KSECT "decompress = yes\n",
    "vm.ini:3: [kernel] decompress: bad value 'yes' (expected one of: auto, guest, host)")
BAD(bad_console_output, KSECT "[console]\noutput = tty\n",
    "vm.ini:4: [console] output: bad value 'tty' (expected one of: stdio, file, none)")
BAD(bad_cache, KSECT "[drive.d]\npath = " DISK "\ncache = writethrough\n",
    "vm.ini:5: [drive.d] cache: bad value 'writethrough' (expected one of: writeback, none)")
BAD(bad_drive_io, KSECT "[drive.d]\npath = " DISK "\nio = aio\n",
    "vm.ini:5: [drive.d] io: bad value 'aio' (expected one of: auto, io_uring, sync)")
BAD(no_kernel_section, "[vm]\nmemory = 1G\n", "vm.ini: [kernel] path: missing (required)")
BAD(no_kernel_path, "[vm]\nmemory = 1G\n\n[kernel]\ncmdline = quiet\n",
    "vm.ini:4: [kernel] path: missing (required)")
BAD(kernel_not_found, "[kernel]\npath = /nonexistent/vmlinuz\n",
    "vm.ini:2: [kernel] path: No such file or directory: /nonexistent/vmlinuz")
BAD(kernel_is_directory, "[kernel]\npath = " DIR "\n",
    "vm.ini:2: [kernel] path: not a regular file: " DIR)
BAD(kernel_empty_path, "[kernel]\npath =\n", "vm.ini:2: [kernel] path: empty path")
BAD(initrd_not_found, KSECT "initrd = " DIR "no-initrd\n",
    "vm.ini:3: [kernel] initrd: No such file or directory: " DIR "no-initrd")
BAD(drive_no_path, KSECT "[drive.d]\nreadonly = on\n",
    "vm.ini:3: [drive.d] path: missing (required)")
BAD(drive_not_found, KSECT "[drive.d]\npath = " DIR "no-disk.img\n",
    "vm.ini:4: [drive.d] path: No such file or directory: " DIR "no-disk.img")
BAD(drive_is_directory, KSECT "[drive.d]\npath = /\n",
    "vm.ini:4: [drive.d] path: Is a directory: /")
BAD(serial_too_long, KSECT "[drive.d]\npath = " DISK "\nserial = 123456789012345678901\n",
    "vm.ini:5: [drive.d] serial: value too long (21 bytes, at most 20)")
BAD(serial_not_ascii, KSECT "[drive.d]\npath = " DISK "\nserial = caf\xc3\xa9\n",
    "vm.ini:5: [drive.d] serial: not printable ASCII")
BAD(too_many_drives,
    KSECT "[drive.a]\npath=" DISK "\n[drive.b]\npath=" DISK "\n[drive.c]\npath=" DISK
	  "\n[drive.d]\npath=" DISK "\n[drive.e]\npath=" DISK "\n[drive.f]\npath=" DISK
	  "\n[drive.g]\npath=" DISK "\n[drive.h]\npath=" DISK "\n[drive.i]\npath=" DISK "\n",
    "vm.ini:19: [drive.i]: too many [drive.NAME] sections (at most 8)")
BAD(net_no_tap, KSECT "[net.n]\nmac = 02:00:00:00:00:01\n",
    "vm.ini:3: [net.n] tap: missing (required)")
BAD(tap_too_long, KSECT "[net.n]\ntap = abcdefghijklmnop\n",
    "vm.ini:4: [net.n] tap: bad interface name 'abcdefghijklmnop' (1-15 characters, no '/', ':' "
    "or spaces)")
BAD(tap_used_twice, KSECT "[net.a]\ntap = tap0\n[net.b]\ntap = tap0\n",
    "vm.ini:6: [net.b] tap: 'tap0' is already used by [net.a]")
BAD(bad_mac, KSECT "[net.n]\ntap = t\nmac = 52:54:00:12:34\n",
    "vm.ini:5: [net.n] mac: bad MAC address '52:54:00:12:34' (expected xx:xx:xx:xx:xx:xx)")
BAD(bad_mac_digit, KSECT "[net.n]\ntap = t\nmac = 52:54:00:12:34:5g\n",
    "vm.ini:5: [net.n] mac: bad MAC address '52:54:00:12:34:5g' (expected xx:xx:xx:xx:xx:xx)")
BAD(multicast_mac, KSECT "[net.n]\ntap = t\nmac = 01:00:5e:00:00:01\n",
    "vm.ini:5: [net.n] mac: multicast MAC address '01:00:5e:00:00:01' (the low bit of the first "
    "octet must be 0)")
BAD(vsock_cid_reserved, KSECT "[vsock]\ncid = 2\nuds_path = v.sock\n",
    "vm.ini:4: [vsock] cid: out of range: 2 (allowed 3..4294967294)")
BAD(vsock_cid_too_large, KSECT "[vsock]\ncid = 0xFFFFFFFF\nuds_path = v.sock\n",
    "vm.ini:4: [vsock] cid: out of range: 0xFFFFFFFF (allowed 3..4294967294)")
BAD(vsock_no_uds, KSECT "\n[vsock]\ncid = 5\n", "vm.ini:4: [vsock] uds_path: missing (required)")
BAD(rng_bad_bool, KSECT "[rng]\nenabled = perhaps\n",
    "vm.ini:4: [rng] enabled: bad boolean 'perhaps' (expected on/off, true/false, yes/no or 1/0)")
BAD(console_file_without_path, KSECT "[console]\noutput = file\n",
    "vm.ini:3: [console] path: missing (required with output = file)")
BAD(console_path_without_file, KSECT "[console]\npath = out.log\n",
    "vm.ini:4: [console] path: only allowed with output = file (output is stdio)")
BAD(stdio_twice, KSECT "[console]\noutput = stdio\n[vconsole]\noutput = stdio\n",
    "vm.ini:6: [vconsole] output: stdio is already the output of [console]; set one of them to "
    "file or none")
BAD(stdio_twice_by_default, KSECT "[vconsole]\n",
    "vm.ini:3: [vconsole] output: stdio is already the output of [console]; set one of them to "
    "file or none")
BAD(vconsole_file_without_path, KSECT "[console]\noutput=none\n[vconsole]\noutput = file\n",
    "vm.ini:5: [vconsole] path: missing (required with output = file)")
BAD(cmdline_control_char, KSECT "cmdline = a\tb\n",
    "vm.ini:3: [kernel] cmdline: contains a control character")

Test(config_bad, cmdline_too_long_4096)
{
	static char text[8192];
	char cmdline[CONFIG_CMDLINE_MAX + 1];
	memset(cmdline, 'x', sizeof(cmdline) - 1);
	cmdline[sizeof(cmdline) - 1] = '\0';
	snprintf(text, sizeof(text), KSECT "cmdline = %s\n", cmdline);
	expect_error(text, "vm.ini:3: [kernel] cmdline: value too long (4096 bytes, at most 4095)");
}

Test(config_bad, line_too_long)
{
	static char text[CONFIG_LINE_MAX + 64];
	int n = snprintf(text, sizeof(text), KSECT "cmdline = ");
	memset(text + n, 'x', CONFIG_LINE_MAX);
	expect_error(text, "vm.ini:3: line too long (at most 8192 bytes)");
}

/* A 108-byte path (one more than sun_path holds) between `before` and
 * `after`. */
static void expect_socket_path_too_long(const char *before, const char *after, const char *msg)
{
	static char text[512];
	char path[109];
	memset(path, 'p', sizeof(path) - 1);
	path[sizeof(path) - 1] = '\0';
	snprintf(text, sizeof(text), "%s%s%s", before, path, after);
	expect_error(text, msg);
}

Test(config_bad, vsock_uds_path_too_long)
{
	expect_socket_path_too_long(KSECT "[vsock]\nuds_path = ", "\n",
				    "vm.ini:4: [vsock] uds_path: too long for a unix socket (108 "
				    "bytes, at most 107)");
}

Test(config_bad, vconsole_socket_path_too_long)
{
	expect_socket_path_too_long(KSECT "[vconsole]\noutput = socket\npath = ", "\n",
				    "vm.ini:5: [vconsole] path: too long for a unix socket (108 "
				    "bytes, at most 107)");
}

Test(config_bad, control_socket_path_too_long)
{
	expect_socket_path_too_long(
	    "[vm]\ncontrol_socket = ", "\n" KSECT,
	    "vm.ini:2: [vm] control_socket: too long for a unix socket (108 "
	    "bytes, at most 107)");
}

BAD(metrics_interval_too_short, "[vm]\nmetrics_interval = 50ms\n" KSECT,
    "vm.ini:2: [vm] metrics_interval: too short: '50ms' (at least 100ms, or 0)")

/* The control keys and --control, and what check prints of them. */
Test(config, control_socket_and_metrics)
{
	expect_ok("[vm]\ncontrol_socket = /run/vm.sock\nmetrics_file = /tmp/m.jsonl\n"
		  "metrics_interval = 2s\n" KSECT);
	cr_expect_str_eq(cfg.control_socket.path, "/run/vm.sock");
	cr_expect_str_eq(cfg.metrics_file.path, "/tmp/m.jsonl");
	cr_expect_eq(cfg.metrics_interval_ms, 2000);
	expect_ok("[vm]\nmetrics_interval = 0\n" KSECT);
	cr_expect_eq(cfg.metrics_interval_ms, 0, "0: a line only at exit");
	expect_ok(KSECT);
	cr_expect_eq(cfg.metrics_interval_ms, 60000, "default 60 s");
	cr_expect_str_eq(cfg.control_socket.path, "");
	const char *sets[] = {"--control /tmp/c.sock"};
	cr_assert_eq(config_load(&cfg, DIR "minimal.ini", sets, 1, &err), 0, "%s", err.msg);
	cr_expect_str_eq(cfg.control_socket.path, "/tmp/c.sock");
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	config_print(&cfg, f);
	fclose(f);
	cr_expect(strstr(text, "control_socket = /tmp/c.sock\nmetrics_interval = 60000ms\n"), "%s",
		  text);
	free(text);
}

Test(config_bad, ini_file_not_found)
{
	cr_assert_eq(config_load(&cfg, DIR "no-such.ini", NULL, 0, &err), -1);
	cr_assert_str_eq(err.msg, DIR "no-such.ini: cannot open: No such file or directory");
}

Test(config_bad, errors_in_files_name_the_file)
{
	cr_assert_eq(config_load(&cfg, DIR "bad-memory.ini", NULL, 0, &err), -1);
	cr_assert_str_eq(err.msg, DIR "bad-memory.ini:3: [vm] memory: bad size suffix 'Q' "
				      "(expected K, M, G or T)");
	cr_assert_eq(config_load(&cfg, DIR "bad-no-kernel.ini", NULL, 0, &err), -1);
	cr_assert_str_eq(err.msg, DIR "bad-no-kernel.ini: [kernel] path: missing (required)");
}

/* ---- bad overrides --------------------------------------------------------------- */

/* --set overrides of minimal.ini that config_load() refuses, with the exact message. */
static const struct {
	const char *name;
	const char *sets[2];
	size_t n;
	const char *msg;
} bad_sets[] = {
    {"bad value",
     {"vm.vcpus=2", "vm.memory=12Q"},
     2,
     "--set vm.memory=12Q: [vm] memory: bad size suffix 'Q' (expected K, M, G or T)"},
    {"without '='", {"vm.memory"}, 1, "--set vm.memory: expected section.key=value"},
    {"without '.'", {"memory=1G"}, 1, "--set memory=1G: expected section.key=value"},
    {"unknown section",
     {"disk.path=x"},
     1,
     "--set disk.path=x: [disk]: unknown section (known: vm, kernel, console, drive.NAME, "
     "net.NAME, fs.NAME, vsock, rng, vconsole, jail, security)"},
    {"unknown key",
     {"kernel.args=quiet"},
     1,
     "--set kernel.args=quiet: [kernel] args: unknown key (known: path, initrd, cmdline, "
     "format, decompress, cmdline_devices)"},
    {"incomplete new section",
     {"rng.enabled=on", "drive.data.readonly=on"},
     2,
     "--set drive.data.readonly=on: [drive.data] path: missing (required)"},
    {"missing file",
     {"kernel.initrd=/nonexistent/initrd"},
     1,
     "--set kernel.initrd=/nonexistent/initrd: [kernel] initrd: No such file or directory: "
     "/nonexistent/initrd"},
    {"inline comment",
     {"kernel.cmdline=quiet ;x"},
     1,
     "--set kernel.cmdline=quiet ;x: [kernel] cmdline: ';' at the start or after a space would "
     "start a comment in an ini file"},
    {"value starting with ';'",
     {"kernel.cmdline=;x"},
     1,
     "--set kernel.cmdline=;x: [kernel] cmdline: ';' at the start or after a space would start "
     "a comment in an ini file"},
};

TABLE_TEST(config_bad, set, bad_sets, c)
{
	cr_assert_eq(config_load(&cfg, MINIMAL, c->sets, c->n, &err), -1, "%s: accepted", c->name);
	cr_assert_str_eq(err.msg, c->msg, "%s", c->name);
}

/* ---- {i}: the instance number of a VM in a batch ----------------------------------- */

static const struct {
	const char *set;
	long index;
	const char *name; /* [vm] name afterwards */
} index_ok[] = {
    {"vm.name=vm{i}", 5, "vm5"},
    {"vm.name={i}-{i+3}-{i}", 0, "0-3-0"},
    {"vm.name=n{i+2147483647}", 2147483647, "n4294967294"},
    {"vm.name=plain", -1, "plain"},
};

TABLE_TEST(config_index, expands, index_ok, c)
{
	const char *sets[] = {c->set};
	cr_assert_eq(config_load_index(&cfg, MINIMAL, sets, 1, c->index, &err), 0, "%s: %s", c->set,
		     err.msg);
	cr_assert_str_eq(cfg.name, c->name, "%s", c->set);
}

Test(config_index, number_keys_and_cids)
{
	const char *sets[] = {"vm.vcpus={i+1}", "vsock.cid={i+3}", "vsock.uds_path=/tmp/v{i}.sock",
			      "kernel.cmdline=a={i} b={j} c={}"};
	cr_assert_eq(config_load_index(&cfg, MINIMAL, sets, 4, 4, &err), 0, "%s", err.msg);
	cr_assert_str_eq(cfg.cmdline, "a=4 b={j} c={}");
	cr_assert_eq(cfg.vcpus, 5);
	cr_assert_eq(cfg.vsock_cid, 7);
	cr_assert_str_eq(cfg.vsock_uds.path, "/tmp/v4.sock");
}

static const struct {
	const char *set;
	long index;
	const char *msg;
} index_bad[] = {
    {"vm.name=vm{i}", -1,
     "--set vm.name=vm{i}: [vm] name: {i} needs an instance number (minnow batch, or minnow run "
     "--index N)"},
    {"vm.name=vm{i+2}", -1,
     "--set vm.name=vm{i+2}: [vm] name: {i+2} needs an instance number (minnow batch, or minnow "
     "run --index N)"},
    {"vm.name={ix}", 1,
     "--set vm.name={ix}: [vm] name: '{ix}': the instance number is written {i} "
     "or {i+N}"},
    {"vm.name={i+}", 1,
     "--set vm.name={i+}: [vm] name: '{i+}': the instance number is written {i} "
     "or {i+N}"},
    {"vm.name={i-1}", 1,
     "--set vm.name={i-1}: [vm] name: '{i-1}': the instance number is written "
     "{i} or {i+N}"},
    {"vm.name={i", 1,
     "--set vm.name={i: [vm] name: '{i': the instance number is written {i} or "
     "{i+N}"},
};

TABLE_TEST(config_index, refuses, index_bad, c)
{
	const char *sets[] = {c->set};
	cr_assert_eq(config_load_index(&cfg, MINIMAL, sets, 1, c->index, &err), -1, "%s: accepted",
		     c->set);
	cr_assert_str_eq(err.msg, c->msg, "%s", c->set);
}

Test(config_index, too_long_once_replaced)
{
	static char set[CONFIG_LINE_MAX];
	int n = snprintf(set, sizeof(set), "kernel.cmdline=");
	while ((size_t)n + 3 < CONFIG_LINE_MAX - 40)
		n += snprintf(set + n, sizeof(set) - (size_t)n, "{i}");
	const char *sets[] = {set};
	cr_assert_eq(config_load_index(&cfg, MINIMAL, sets, 1, 1234567, &err), -1);
	cr_assert(strstr(err.msg, "value too long once {i} is replaced"), "%s", err.msg);
}

/* ---- [fs.NAME]: virtio-fs shares ---------------------------------------------------------- */

/* virtiofsd = /bin/sh: any executable will do for the checks (nothing is run). */
#define FSD "virtiofsd = /bin/sh\n"

Test(config, fs_sections)
{
	char dir[64], sock[100], text[512];
	make_tmp_dir(dir, sizeof(dir), "cfgfs");
	snprintf(sock, sizeof(sock), "%s/v.sock", dir);
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock);
	cr_assert_eq(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	snprintf(text, sizeof(text),
		 KSECT "[fs.data]\nhost_dir = " DIR "\nreadonly = on\ncache = always\n" FSD
		       "[share.ext]\ntag = my-tag\nsocket = %s\n[fs.w]\nhost_dir = %s\n" FSD,
		 sock, dir);
	expect_ok(text);
	cr_assert_eq(cfg.n_fs, 3);
	cr_expect_str_eq(cfg.fs[0].name, "data");
	cr_expect_str_eq(cfg.fs[0].tag, "data", "the tag defaults to the name");
	cr_expect(cfg.fs[0].readonly);
	cr_expect_eq(cfg.fs[0].cache, FS_CACHE_ALWAYS);
	cr_expect_str_eq(cfg.fs[0].host_dir.path, DIR);
	cr_expect_eq(cfg.fs[0].host_dir.at.line, 4);
	cr_expect_str_eq(cfg.fs[1].tag, "my-tag");
	cr_expect_str_eq(cfg.fs[1].socket.path, sock);
	cr_expect_str_eq(cfg.fs[1].host_dir.path, "");
	cr_expect_not(cfg.fs[2].readonly);
	cr_expect_eq(cfg.fs[2].cache, FS_CACHE_AUTO);

	/* minnow check prints them, and what it prints reads back the same. */
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	config_print(&cfg, f);
	fclose(f);
	cr_expect_not_null(strstr(out, "\n[fs.data]\ntag = data\nhost_dir = " DIR
				       "\nreadonly = on\ncache = always\nvirtiofsd = /bin/sh\n"),
			   "%s", out);
	snprintf(text, sizeof(text), "\n[fs.ext]\ntag = my-tag\nsocket = %s\n", sock);
	cr_expect_not_null(strstr(out, text), "%s", out);
	cr_assert_eq(config_parse_string(&cfg2, "printed.ini", out, &err), 0, "%s", err.msg);
	cr_assert_eq(cfg2.n_fs, 3);
	for (size_t i = 0; i < 3; i++) {
		cr_expect_str_eq(cfg2.fs[i].tag, cfg.fs[i].tag);
		cr_expect_str_eq(cfg2.fs[i].host_dir.path, cfg.fs[i].host_dir.path);
		cr_expect_str_eq(cfg2.fs[i].socket.path, cfg.fs[i].socket.path);
		cr_expect_eq(cfg2.fs[i].readonly, cfg.fs[i].readonly);
		cr_expect_eq(cfg2.fs[i].cache, cfg.fs[i].cache);
	}
	free(out);
	close(s);
	remove_tmp_dir(dir);
}

Test(config, fs_share_dir_checks)
{
	char why[256];
	cr_expect_eq(config_check_share_dir(DIR, false, why, sizeof(why)), 0, "%s", why);
	cr_expect_eq(config_check_share_dir("/nonexistent", true, why, sizeof(why)), -1);
	cr_expect_str_eq(why, "No such file or directory: /nonexistent");
	cr_expect_eq(config_check_share_dir(DISK, true, why, sizeof(why)), -1);
	cr_expect_str_eq(why, "not a directory: " DISK);
	cr_expect(config_valid_fs_tag("a"));
	cr_expect(config_valid_fs_tag("123456789012345678901234567890123456"));
	cr_expect_not(config_valid_fs_tag("1234567890123456789012345678901234567"));
	cr_expect_not(config_valid_fs_tag(""));
	cr_expect_not(config_valid_fs_tag("a b"));
	cr_expect_not(config_valid_fs_tag("a,b"));
	cr_expect_not(config_valid_fs_tag("a:b"));
	cr_expect_not(config_valid_fs_tag("\xc3\xa9"));
	setenv("MINNOW_VIRTIOFSD", "/opt/v", 1);
	cr_expect_str_eq(config_virtiofsd(), "/opt/v");
	setenv("MINNOW_VIRTIOFSD", "", 1);
	cr_expect_str_eq(config_virtiofsd(), CONFIG_VIRTIOFSD);
}

BAD(fs_without_backend, KSECT "[fs.d]\nreadonly = on\n",
    "vm.ini:3: [fs.d]: host_dir (minnow starts virtiofsd on it) or socket (a running vhost-user "
    "back end) is required")
BAD(fs_dir_and_socket, KSECT "[fs.d]\nhost_dir = " DIR "\nsocket = /run/v.sock\n",
    "vm.ini:5: [fs.d] socket: not with host_dir (either minnow starts virtiofsd on host_dir, or "
    "it uses the back end listening on socket)")
BAD(fs_socket_readonly, KSECT "[fs.d]\nsocket = /run/v.sock\nreadonly = on\n",
    "vm.ini:5: [fs.d] readonly: only with host_dir (a back end given by socket runs with its own "
    "options)")
BAD(fs_bad_tag, KSECT "[fs.d]\ntag = my tag\n",
    "vm.ini:4: [fs.d] tag: bad tag 'my tag' (1-36 bytes of printable ASCII, no blank, ',' or ':')")
BAD(fs_tag_too_long, KSECT "[fs.d]\ntag = 1234567890123456789012345678901234567\n",
    "vm.ini:4: [fs.d] tag: bad tag '1234567890123456789012345678901234567' (1-36 bytes of "
    "printable ASCII, no blank, ',' or ':')")
BAD(fs_default_tag_too_long,
    KSECT "[fs.a234567890123456789012345678901234567]\nhost_dir = " DIR "\n" FSD,
    "vm.ini:3: [fs.a234567890123456789012345678901234567] tag: the default, the section's name, "
    "is longer than 36 bytes: set one")
BAD(fs_duplicate_tag,
    KSECT "[fs.a]\nhost_dir = " DIR "\n" FSD "[share.b]\ntag = a\nhost_dir = " DIR "\n" FSD,
    "vm.ini:6: [fs.b]: tag 'a' is already the tag of [fs.a]")
BAD(fs_dir_missing, KSECT "[fs.d]\nhost_dir = /nonexistent\n" FSD,
    "vm.ini:4: [fs.d] host_dir: No such file or directory: /nonexistent")
BAD(fs_dir_is_file, KSECT "[fs.d]\nhost_dir = " DISK "\n" FSD,
    "vm.ini:4: [fs.d] host_dir: not a directory: " DISK)
BAD(fs_no_virtiofsd, KSECT "[fs.d]\nhost_dir = " DIR "\nvirtiofsd = /nonexistent/virtiofsd\n",
    "vm.ini:5: [fs.d] virtiofsd: No such file or directory: /nonexistent/virtiofsd (apt-get "
    "install qemu-system-common, or name the daemon with virtiofsd = PATH or "
    "MINNOW_VIRTIOFSD=PATH)")
BAD(fs_socket_not_socket, KSECT "[fs.d]\nsocket = " DISK "\n",
    "vm.ini:4: [fs.d] socket: not a unix socket: " DISK)
BAD(fs_socket_missing, KSECT "[fs.d]\nsocket = /nonexistent.sock\n",
    "vm.ini:4: [fs.d] socket: No such file or directory: /nonexistent.sock")
BAD(fs_bad_cache, KSECT "[fs.d]\nhost_dir = " DIR "\ncache = writeback\n",
    "vm.ini:5: [fs.d] cache: bad value 'writeback' (expected one of: auto, always, none)")
BAD(fs_too_many, KSECT "[fs.a]\n[fs.b]\n[fs.c]\n[fs.d]\n[fs.e]\n[fs.f]\n[fs.g]\n[fs.h]\n[fs.i]\n",
    "vm.ini:11: [fs.i]: too many [fs.NAME] sections (at most 8)")

/* ---- rate limits ---------------------------------------------------------------------------- */

Test(config, rate_limits)
{
	expect_ok(KSECT "[drive.d]\npath=" DISK "\nbandwidth = 16M\nbandwidth_burst = 1G\n"
			"iops = 500\niops_burst = 100\n"
			"[net.n]\ntap=tap9\nrx_bandwidth=1M\nrx_pps=1000\ntx_bandwidth=125000\n"
			"tx_bandwidth_burst=64K\ntx_pps=10\ntx_pps_burst=5\nrx_pps_burst=7\n"
			"rx_bandwidth_burst=2K\n");
	const struct rate_limit_config *l = &cfg.drives[0].limit;
	cr_assert_eq(l->bandwidth, 16u << 20);
	cr_assert_eq(l->bandwidth_burst, 1u << 30);
	cr_assert_eq(l->ops, 500);
	cr_assert_eq(l->ops_burst, 100);
	const struct net_config *n = &cfg.nets[0];
	cr_assert_eq(n->rx.bandwidth, 1u << 20);
	cr_assert_eq(n->rx.bandwidth_burst, 2048);
	cr_assert_eq(n->rx.ops, 1000);
	cr_assert_eq(n->rx.ops_burst, 7);
	cr_assert_eq(n->tx.bandwidth, 125000);
	cr_assert_eq(n->tx.bandwidth_burst, 65536);
	cr_assert_eq(n->tx.ops, 10);
	cr_assert_eq(n->tx.ops_burst, 5);
	assert_round_trip();
}

Test(config, rate_limits_default_to_none)
{
	expect_ok(KSECT "[drive.d]\npath=" DISK "\n[net.n]\ntap=tap9\n");
	const struct rate_limit_config zero = {0};
	cr_assert_arr_eq(&cfg.drives[0].limit, &zero, sizeof(zero));
	cr_assert_arr_eq(&cfg.nets[0].rx, &zero, sizeof(zero));
	cr_assert_arr_eq(&cfg.nets[0].tx, &zero, sizeof(zero));
}

Test(config_bad, rate_limits)
{
	expect_error(KSECT "[drive.d]\npath=" DISK "\nbandwidth = 16Q\n",
		     "vm.ini:5: [drive.d] bandwidth: bad size suffix 'Q' (expected K, M, G or T)");
	expect_error(KSECT "[drive.d]\npath=" DISK "\niops = -1\n",
		     "vm.ini:5: [drive.d] iops: bad number '-1'");
	expect_error(KSECT "[drive.d]\npath=" DISK "\niops = 2000000000\n",
		     "vm.ini:5: [drive.d] iops: out of range: 2000000000 (allowed 0..1000000000)");
	expect_error(KSECT "[drive.d]\npath=" DISK "\niops_burst = 10\n",
		     "vm.ini:5: [drive.d] iops_burst: needs iops (a burst of a bucket with no rate "
		     "limits nothing)");
	expect_error(KSECT "[net.n]\ntap=t\n\ntx_bandwidth_burst = 1M\n",
		     "vm.ini:6: [net.n] tx_bandwidth_burst: needs tx_bandwidth (a burst of a "
		     "bucket with no rate limits nothing)");
	expect_error(KSECT "[net.n]\ntap=t\nrx_pps = 1x\n",
		     "vm.ini:5: [net.n] rx_pps: bad number '1x'");
}
