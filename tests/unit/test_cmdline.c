/* test_cmdline.c - console=ttyS0 bound to the MMIO UART from the first
 * message, with the log level set before it starts, unless the command
 * line already decides. */
#include <errno.h>
#include <string.h>

#include "cmdline.h"
#include "test_util.h"

#define BASE 0xd0000000ULL

struct console_case {
	const char *name, *in, *want;
};

static const struct console_case console_cases[] = {
    {"plain", "console=ttyS0 panic=-1", "console=uart8250,mmio,0xd0000000 panic=-1"},
    {"quiet moves before the console", "console=ttyS0 quiet panic=-1",
     "quiet console=uart8250,mmio,0xd0000000 panic=-1"},
    {"every log level word, in order", "a console=ttyS0 loglevel=3 b debug console=ttyS0 quiet",
     "a loglevel=3 debug quiet console=uart8250,mmio,0xd0000000 b "
     "console=uart8250,mmio,0xd0000000"},
    {"before the console stays", "quiet console=ttyS0,115200 x",
     "quiet console=uart8250,mmio,0xd0000000,115200 x"},
    {"not init's, not quoted, not lookalikes",
     "console=ttyS0 minnow.exec=\"quiet\" quietly loglevel -- quiet",
     "console=uart8250,mmio,0xd0000000 minnow.exec=\"quiet\" quietly loglevel -- quiet"},
    {"nothing moves when the line decides", "earlycon console=ttyS0 quiet",
     "earlycon console=ttyS0 quiet"},
    {"options kept", "root=/dev/vda console=ttyS0,115200n8",
     "root=/dev/vda console=uart8250,mmio,0xd0000000,115200n8"},
    {"every ttyS0 console", "console=ttyS0 console=hvc0 console=ttyS0",
     "console=uart8250,mmio,0xd0000000 console=hvc0 console=uart8250,mmio,0xd0000000"},
    {"other consoles untouched", "console=hvc0 console=ttyS1 console=ttyS01",
     "console=hvc0 console=ttyS1 console=ttyS01"},
    {"earlycon decides", "earlycon console=ttyS0", "earlycon console=ttyS0"},
    {"earlycon= decides", "console=ttyS0 earlycon=uart,io,0x3f8",
     "console=ttyS0 earlycon=uart,io,0x3f8"},
    {"console=uart decides", "console=uart,mmio,0xd0000000 console=ttyS0",
     "console=uart,mmio,0xd0000000 console=ttyS0"},
    {"quoted words untouched", "minnow.exec=\"echo console=ttyS0\" console=ttyS0",
     "minnow.exec=\"echo console=ttyS0\" console=uart8250,mmio,0xd0000000"},
    {"init's arguments untouched", "console=ttyS0 -- console=ttyS0 earlycon",
     "console=uart8250,mmio,0xd0000000 -- console=ttyS0 earlycon"},
    {"blanks kept", "  a\tconsole=ttyS0  b ", "  a\tconsole=uart8250,mmio,0xd0000000  b "},
    {"empty", "", ""},
};

TABLE_TEST(cmdline, early_console, console_cases, c)
{
	char out[512];
	cr_assert_eq(cmdline_early_console(c->in, out, sizeof(out), BASE), 0, "%s", c->name);
	cr_expect_str_eq(out, c->want, "%s: from '%s'", c->name, c->in);
}

Test(cmdline, too_small_is_refused)
{
	const char *in = "console=ttyS0";
	const char *want = "console=uart8250,mmio,0xd0000000";
	char out[64];
	cr_expect_eq(cmdline_early_console(in, out, strlen(want), BASE), -ENOSPC);
	cr_expect_eq(cmdline_early_console(in, out, strlen(want) + 1, BASE), 0);
	cr_expect_str_eq(out, want);
	cr_expect_eq(cmdline_early_console("abc", out, 3, BASE), -ENOSPC);
	cr_expect_eq(cmdline_early_console("", out, 0, BASE), -ENOSPC);
}
