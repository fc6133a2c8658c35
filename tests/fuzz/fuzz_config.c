/* fuzz_config.c - libFuzzer harness: ini text and --set overrides read, printed, read back. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "fuzz.h"

/* Input: ini text; after a NUL byte, NUL-separated --set overrides (then config_load() reads
 * the text from a memfd). Whatever is accepted must print with config_print() and read back
 * to the same configuration; config_parse_size() is checked against a reference. */

#define MAX_OVERRIDES 8

/* ---- A sandbox for the files the config names ----------------------------------
 * config.c opens the kernel, initrd and drive files to validate them. While
 * a parse runs, open() (wrapped at link time: -Wl,--wrap=open) only reaches
 * the few names below; anything else is ENOENT. No file of the host is
 * opened, and runs do not depend on what the host has. */

int __real_open(const char *path, int flags, ...);
int __wrap_open(const char *path, int flags, ...);

struct sandbox_file {
	const char *name; /* as written in the ini file */
	const char *real; /* fixed host path, or NULL for the memfd */
	size_t size;	  /* memfd contents */
	char proc[32];	  /* /proc/self/fd/N of the memfd */
};

static struct sandbox_file files[] = {
    {"vmlinuz", NULL, 4096, ""}, {"initrd.img", NULL, 512, ""},	    {"disk.img", NULL, 65536, ""},
    {"empty.img", NULL, 0, ""},	 {"/dev/null", "/dev/null", 0, ""}, {"dir", "/", 0, ""},
};

static bool sandboxed;

static const char *sandbox_path(const char *path)
{
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if (strcmp(path, files[i].name) == 0)
			return files[i].real ? files[i].real : files[i].proc;
	}
	return NULL;
}

int __wrap_open(const char *path, int flags, ...)
{
	unsigned mode = 0;
	if (flags & (O_CREAT | O_TMPFILE)) {
		va_list ap;
		va_start(ap, flags);
		mode = va_arg(ap, unsigned);
		va_end(ap);
	}
	if (!sandboxed)
		return __real_open(path, flags, mode);
	const char *real = sandbox_path(path);
	if (!real) {
		errno = ENOENT;
		return -1;
	}
	return __real_open(real, flags, mode);
}

/* ---- Harness --------------------------------------------------------------------- */

static int ini_fd = -1;	    /* config_load() reads the ini text from this memfd */
static char ini_path[32];   /* /proc/self/fd/N */
static struct vm_config *a; /* the configuration read from the input */
static struct vm_config *b; /* the same, printed and read back */

static int make_memfd(const char *name, size_t size, char *proc, size_t proclen)
{
	int fd = memfd_create(name, MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)size) < 0)
		abort();
	snprintf(proc, proclen, "/proc/self/fd/%d", fd);
	return fd;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if (!files[i].real)
			(void)make_memfd(files[i].name, files[i].size, files[i].proc,
					 sizeof(files[i].proc));
	}
	ini_fd = make_memfd("fuzz.ini", 0, ini_path, sizeof(ini_path));
	a = malloc(sizeof(*a));
	b = malloc(sizeof(*b));
	if (!a || !b)
		abort();
	return 0;
}

/* config_parse_size() as specified, computed another way. */
static int reference_size(const char *s, uint64_t *out)
{
	unsigned __int128 v = 0;
	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		v = v * 10 + (unsigned)(*s - '0');
		if (v > UINT64_MAX)
			return -1;
	}
	unsigned shift = 0;
	if (*s) {
		switch (*s) {
		case 'k':
		case 'K':
			shift = 10;
			break;
		case 'm':
		case 'M':
			shift = 20;
			break;
		case 'g':
		case 'G':
			shift = 30;
			break;
		case 't':
		case 'T':
			shift = 40;
			break;
		default:
			return -1;
		}
		if (s[1])
			return -1;
	}
	v <<= shift;
	if (v > UINT64_MAX)
		return -1;
	*out = (uint64_t)v;
	return 0;
}

static void check_size(const char *text)
{
	uint64_t got = 0, want = 0;
	int r = config_parse_size(text, &got);
	int w = reference_size(text, &want);
	FUZZ_CHECK(r == w, "config_parse_size(\"%.80s\") = %d, reference %d", text, r, w);
	FUZZ_CHECK(r < 0 || got == want, "config_parse_size(\"%.80s\") = %llu, reference %llu",
		   text, (unsigned long long)got, (unsigned long long)want);
}

static char *print_config(const struct vm_config *cfg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		abort();
	config_print(cfg, f);
	if (fclose(f) != 0)
		abort();
	return buf;
}

#define SAME_STR(field)                                                                            \
	FUZZ_CHECK(strcmp(x->field, y->field) == 0, #field ": '%s' became '%s'", x->field, y->field)
#define SAME(field)                                                                                \
	FUZZ_CHECK(x->field == y->field, #field ": %llu became %llu",                              \
		   (unsigned long long)x->field, (unsigned long long)y->field)

/* Every field config_load() sets, origins aside. */
static void check_same(const struct vm_config *x, const struct vm_config *y)
{
	SAME_STR(name);
	SAME(vcpus);
	SAME(memory);
	SAME(prefault);
	SAME(acpi);
	SAME(boot_timeout_ms);
	SAME_STR(kernel.path);
	SAME_STR(initrd.path);
	SAME_STR(cmdline);
	SAME(format);
	SAME(cmdline_devices);
	SAME(console);
	SAME_STR(console_path.path);
	SAME(console_input);
	SAME(n_drives);
	for (size_t i = 0; i < x->n_drives; i++) {
		SAME_STR(drives[i].name);
		SAME_STR(drives[i].path.path);
		SAME(drives[i].readonly);
		SAME(drives[i].cache);
		SAME_STR(drives[i].serial);
	}
	SAME(n_nets);
	for (size_t i = 0; i < x->n_nets; i++) {
		SAME_STR(nets[i].name);
		SAME_STR(nets[i].tap);
		SAME(nets[i].mac_set);
		FUZZ_CHECK(!x->nets[i].mac_set || memcmp(x->nets[i].mac, y->nets[i].mac, 6) == 0,
			   "nets[%zu].mac changed", i);
	}
	SAME(vsock);
	SAME(vsock_cid);
	SAME_STR(vsock_uds.path);
	SAME(rng);
	SAME(vconsole);
	SAME(vconsole_output);
	SAME_STR(vconsole_path.path);
}

/* The documented shape of an error: one line, starting with the file name,
 * "--set", or the options that reach the config as overrides, as typed
 * (--jail, --uid, --gid, --control, --restore). */
static void check_error(const struct config_error *err, const char *file, bool overrides)
{
	size_t len = strnlen(err->msg, sizeof(err->msg));
	FUZZ_CHECK(len > 0 && len < sizeof(err->msg), "error message empty or unterminated");
	FUZZ_CHECK(
	    strncmp(err->msg, file, strlen(file)) == 0 ||
		(overrides &&
		 (strncmp(err->msg, "--set ", 6) == 0 || strncmp(err->msg, "--jail ", 7) == 0 ||
		  strncmp(err->msg, "--uid ", 6) == 0 || strncmp(err->msg, "--gid ", 6) == 0 ||
		  strncmp(err->msg, "--control ", 10) == 0 ||
		  strncmp(err->msg, "--restore ", 10) == 0)),
	    "error does not start with the file: %s", err->msg);
	FUZZ_CHECK(overrides || !strchr(err->msg, '\n'), "error is not one line: %s", err->msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';

	/* Sizes: the whole text and its first line. */
	check_size(text);
	char *nl = strchr(text, '\n');
	if (nl) {
		*nl = '\0';
		check_size(text);
		*nl = '\n';
	}

	/* Text after the first NUL: overrides, NUL-separated. */
	const char *overrides[MAX_OVERRIDES];
	size_t n_overrides = 0;
	size_t ini_len = strlen(text);
	for (size_t at = ini_len + 1; at <= size && n_overrides < MAX_OVERRIDES;) {
		overrides[n_overrides++] = text + at;
		at += strlen(text + at) + 1;
	}

	struct config_error err;
	const char *file;
	int r;
	sandboxed = true;
	if (n_overrides == 0) {
		file = "fuzz.ini";
		r = config_parse_string(a, file, text, &err);
	} else {
		file = ini_path;
		if (ftruncate(ini_fd, 0) < 0 ||
		    pwrite(ini_fd, text, ini_len, 0) != (ssize_t)ini_len)
			abort();
		r = config_load(a, file, overrides, n_overrides, &err);
	}
	sandboxed = false;
	FUZZ_CHECK(r == 0 || r == -1, "config returned %d", r);
	if (getenv("MINNOW_FUZZ_LOG"))
		fprintf(stderr, "config: %s\n", r < 0 ? err.msg : "accepted");
	if (r < 0) {
		check_error(&err, file, n_overrides > 0);
		free(text);
		return 0;
	}

	char *printed = print_config(a);
	sandboxed = true;
	r = config_parse_string(b, "printed.ini", printed, &err);
	sandboxed = false;
	FUZZ_CHECK(r == 0, "printed configuration does not read back: %s\n--- printed:\n%s",
		   err.msg, printed);
	check_same(a, b);
	char *reprinted = print_config(b);
	FUZZ_CHECK(strcmp(printed, reprinted) == 0, "printed twice differently:\n%s\n---\n%s",
		   printed, reprinted);
	free(reprinted);
	free(printed);
	free(text);
	return 0;
}
