/* main.c - the common main of minnow-test: announces the boot, picks the
 * console, installs exception handlers and runs the scenario named by
 * test= on the command line (default hello). */
#include "fw.h"
#include "io.h"
#include "platform.h"
#include "virtio.h"

/* Vectors covered by the IDT in every scenario: the exceptions. */
#define IDT_EXCEPTIONS 32

struct scenario {
	const char *name;
	int (*run)(const struct fw_boot_info *bi);
};

static const struct scenario scenarios[] = {
    {"hello", test_hello},
    {"bootinfo", test_bootinfo},
    {"smp", test_smp},
    {"smp-end", test_smp_end},
    {"console-echo", test_console_echo},
    {"portio", test_portio},
    {"triple-fault", test_triple_fault},
    {"mmio-wild", test_mmio_wild},
    {"panic", test_panic},
    {"pvpanic-probe", test_pvpanic_probe},
    {"power-button", test_power_button},
    {"virtio-rng", test_virtio_rng},
    {"virtio-blk", test_virtio_blk},
    {"virtio-console", test_virtio_console},
    {"virtio-multi", test_virtio_multi},
    {"virtio-net", test_virtio_net},
    {"virtio-vsock", test_virtio_vsock},
    {"blk-bench", test_blk_bench},
    {"exit-cost", test_exit_cost},
    {"blk-ioerr", test_blk_ioerr},
    {"blk-flush", test_blk_flush},
    {"blk-last-words", test_blk_last_words},
    {"blk-ticks", test_blk_ticks},
    {"blk-truncated", test_blk_truncated},
    {"net-gone", test_net_gone},
    {"vsock-peer-gone", test_vsock_peer_gone},
    {"idle", test_idle},
    {"ticks", test_ticks},
    {"vmgenid-ticks", test_vmgenid_ticks},
    {"warm-hello", test_warm_hello},
    {"uart-flood", test_uart_flood},
    {"boot-hang", test_boot_hang},
    {"acpi-reset", test_acpi_reset},
    {"acpi-poweroff", test_acpi_poweroff},
    {"exec-mmio", test_exec_mmio},
    {"mmio-crc32", test_mmio_crc32},
};

bool cmdline_value(const char *cmdline, const char *key, char *buf, size_t len)
{
	size_t klen = strlen(key);
	const char *p = cmdline;
	while (*p) {
		while (*p == ' ')
			p++;
		const char *word = p;
		while (*p && *p != ' ')
			p++;
		if ((size_t)(p - word) > klen && word[klen] == '=' && !strncmp(word, key, klen)) {
			size_t n = (size_t)(p - word) - klen - 1;
			if (n >= len)
				n = len - 1;
			memcpy(buf, word + klen + 1, n);
			buf[n] = '\0';
			return true;
		}
	}
	return false;
}

bool parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

/* test=exit:N */
static int run_exit(const char *arg)
{
	uint64_t n;
	if (!parse_u64(arg, &n) || n > 255) {
		fw_printf("minnow-test: bad exit status '%s' (want 0..255)\n", arg);
		return FW_EXIT_USAGE;
	}
	fw_printf("minnow-test: exit:%d\n", (int)n);
	return (int)n;
}

void fw_main(const struct fw_boot_info *bi)
{
	char name[32];
	if (!cmdline_value(bi->cmdline, "test", name, sizeof(name)))
		memcpy(name, "hello", 6);
	bool ctl = control_probe();
	control_mark(CONTROL_MARK_INIT);
	/* test=boot-hang never says it booted: [vm] boot_timeout must end it. */
	if (strcmp(name, "boot-hang") != 0)
		control_boot_done();
	console_init(ctl);
	idt_init(IDT_EXCEPTIONS);

	if (bi->error) {
		fw_printf("minnow-test: boot error: %s\n", bi->error);
		fw_exit(FW_EXIT_USAGE);
	}
	control_mark(CONTROL_MARK_COMMAND);
	if (!strncmp(name, "exit:", 5))
		fw_exit(run_exit(name + 5));
	if (!strncmp(name, "evil-", 5))
		fw_exit(test_virtio_evil(bi, name + 5));
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
		if (!strcmp(name, scenarios[i].name))
			fw_exit(scenarios[i].run(bi));
	}
	fw_printf("minnow-test: unknown test=%s\n", name);
	fw_exit(FW_EXIT_USAGE);
}
