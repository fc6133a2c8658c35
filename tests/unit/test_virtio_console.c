/* test_virtio_console.c - virtio-console driven through the virtio-mmio transport with
 * fake guest RAM and no KVM: transmitq to a file, receiveq from a pipe, guest errors. */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_console.h>
#include <linux/virtio_ids.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "event_loop.h"
#include "guest_mem.h"
#include "test_util.h"
#include "virtio_console.h"
#include "virtio_driver.h"
#include "virtio_mmio.h"

#define RAM_SIZE (16ULL << 20)
#define QSIZE	 8
#define RX	 0
#define TX	 1
#define BUF_GPA	 0x100000ULL /* guest buffers: 4 KiB each from here */

static struct event_loop loop;
static bool loop_on;
static struct virtio_mmio t;
static bool t_on;
static struct virtio_console *con;
static struct vm_config cfg;
static char dir[128];
static char out_path[160];
static int pipe_fds[2] = {-1, -1};
static uint64_t driver_features; /* what driver_up() accepts */

static void setup(void)
{
	ram_map(RAM_SIZE);
	memset(&cfg, 0, sizeof(cfg));
	cfg.vconsole = true;
	cfg.vconsole_output = CONSOLE_FILE;
	make_tmp_dir(dir, sizeof(dir), "vcon");
	snprintf(out_path, sizeof(out_path), "%s/out", dir);
	snprintf(cfg.vconsole_path.path, sizeof(cfg.vconsole_path.path), "%s", out_path);
	cr_assert_eq(pipe2(pipe_fds, O_CLOEXEC), 0);
	driver_features = F_VERSION_1;
}

static void teardown(void)
{
	/* The order minnow uses: loop stopped, transport, then the device. */
	if (loop_on)
		event_loop_stop(&loop);
	if (t_on)
		virtio_mmio_destroy(&t);
	virtio_console_destroy(con);
	con = NULL;
	if (loop_on)
		event_loop_fini(&loop);
	loop_on = t_on = false;
	for (int i = 0; i < 2; i++) {
		if (pipe_fds[i] >= 0)
			close(pipe_fds[i]);
		pipe_fds[i] = -1;
	}
	remove_tmp_dir(dir);
	ram_unmap();
}

TestSuite(virtio_console, .init = setup, .fini = teardown);

/* ---- A driver --------------------------------------------------------------- */

static struct drv_ring rxq, txq;

/* Negotiates driver_features, sets up both queues (rings cleared), DRIVER_OK. */
static void driver_up(void)
{
	drv_features_ok(&t, driver_features);
	drv_ring_init(&rxq, &t, RX, QSIZE, 0x10000 + RX * 0x1000, 0x20000 + RX * 0x1000,
		      0x30000 + RX * 0x1000);
	drv_ring_init(&txq, &t, TX, QSIZE, 0x10000 + TX * 0x1000, 0x20000 + TX * 0x1000,
		      0x30000 + TX * 0x1000);
	drv_go(&t);
}

/* Creates the device (output per cfg, input in_fd) on slot 0, with the
 * event loop running when with_loop, and brings the driver up. */
static void device_up(int in_fd, bool with_loop)
{
	char err[256] = "";
	if (with_loop) {
		cr_assert_eq(event_loop_init(&loop), 0);
		cr_assert_eq(event_loop_start(&loop), 0);
		loop_on = true;
	}
	con = virtio_console_create(&cfg, in_fd, with_loop ? &loop : NULL, err, sizeof(err));
	cr_assert_not_null(con, "create: %s", err);
	cr_assert_eq(virtio_mmio_create(&t, &virtio_console_ops, con, &guest_ram, -1,
					with_loop ? &loop : NULL, NULL, 0),
		     0);
	t_on = true;
	cr_assert_eq(drv_rd(&t, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_CONSOLE);
	driver_up();
}

/* One buffer at gpa with `len` bytes: text copied in for TX, zeroed for RX. */
static uint16_t post_one(struct drv_ring *q, gpa_t gpa, const char *text, uint32_t len)
{
	uint8_t *p = gp(gpa, len);
	if (text)
		memcpy(p, text, len);
	else
		memset(p, 0, len);
	struct drv_seg seg = {gpa, len, q == &rxq};
	return drv_post_chain(q, &seg, 1);
}

/* Bytes waiting in the input pipe. */
static int pipe_pending(void)
{
	int n = -1;
	cr_assert_eq(ioctl(pipe_fds[0], FIONREAD, &n), 0);
	return n;
}

static void pipe_put(const char *s)
{
	cr_assert_eq(write(pipe_fds[1], s, strlen(s)), (ssize_t)strlen(s));
}

static size_t file_read(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
	ssize_t n = read(fd, buf, size - 1);
	close(fd);
	cr_assert_geq(n, 0);
	buf[n] = 0;
	return (size_t)n;
}

/* Collects what receiveq used entries [from, to) wrote, in order. */
static size_t rx_collect(uint16_t from, uint16_t to, char *buf, size_t size)
{
	size_t off = 0;
	for (uint16_t i = from; i != to; i++) {
		struct vring_used_elem *e = &rxq.used->ring[i % QSIZE];
		const struct vring_desc *d = &rxq.desc[e->id];
		cr_assert_leq(e->len, d->len);
		cr_assert_lt(off + e->len, size);
		memcpy(buf + off, gp(d->addr, e->len), e->len);
		off += e->len;
	}
	buf[off] = 0;
	return off;
}

/* Used entries [from, to) of the receiveq brought exactly `want`. */
static void expect_rx(uint16_t from, uint16_t to, const char *want)
{
	char buf[128];
	rx_collect(from, to, buf, sizeof(buf));
	cr_assert_str_eq(buf, want);
}

/* ---- Identification -------------------------------------------------------------- */

Test(virtio_console, identification_and_config)
{
	device_up(-1, false);
	drv_wr(&t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	uint32_t low = drv_rd(&t, VIRTIO_MMIO_DEVICE_FEATURES);
	cr_assert_eq(low & 0xffffff, 0, "no device feature bits (no SIZE, no MULTIPORT)");
	drv_wr(&t, VIRTIO_MMIO_QUEUE_SEL, 0);
	cr_assert_eq(drv_rd(&t, VIRTIO_MMIO_QUEUE_NUM_MAX), VIRTIO_CONSOLE_QUEUE_SIZE);
	drv_wr(&t, VIRTIO_MMIO_QUEUE_SEL, 2);
	cr_assert_eq(drv_rd(&t, VIRTIO_MMIO_QUEUE_NUM_MAX), 0, "two queues only");
	cr_assert_eq(drv_cfg(&t, 4, 4), 1, "max_nr_ports");
	cr_assert_eq(drv_cfg(&t, 0, 2), 0, "cols");
}

Test(virtio_console, file_open_error)
{
	char err[256] = "";
	snprintf(cfg.vconsole_path.path, sizeof(cfg.vconsole_path.path), "%s/no/such/dir", dir);
	con = virtio_console_create(&cfg, -1, NULL, err, sizeof(err));
	cr_assert_null(con);
	char want[300];
	snprintf(want, sizeof(want), "%s/no/such/dir: %s", dir, strerror(ENOENT));
	cr_assert_str_eq(err, want);
}

Test(virtio_console, file_output_truncates)
{
	int fd = open(out_path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "old contents", 12), 12);
	close(fd);
	device_up(-1, false);
	char buf[64];
	cr_assert_eq(file_read(out_path, buf, sizeof(buf)), 0);
}

/* ---- transmitq ----------------------------------------------------------------- */

Test(virtio_console, tx_in_order_across_chains)
{
	device_up(-1, true);
	post_one(&txq, BUF_GPA, "first line\n", 11);
	/* one chain of three readable buffers */
	struct drv_seg g[3] = {{BUF_GPA + 0x1000, 4, false},
			       {BUF_GPA + 0x2000, 1, false},
			       {BUF_GPA + 0x3000, 6, false}};
	memcpy(gp(g[0].gpa, 4), "seco", 4);
	memcpy(gp(g[1].gpa, 1), "n", 1);
	memcpy(gp(g[2].gpa, 6), "d two\n", 6);
	drv_post_chain(&txq, g, 3);
	post_one(&txq, BUF_GPA + 0x4000, "third\n", 6);
	drv_kick(&txq);
	cr_assert(drv_wait_used(&txq, 3, 3000));
	for (unsigned i = 0; i < 3; i++)
		cr_assert_eq(txq.used->ring[i].len, 0, "transmit buffers come back with 0");
	post_one(&txq, BUF_GPA + 0x5000, "fourth\n", 7);
	drv_kick(&txq);
	cr_assert(drv_wait_used(&txq, 4, 3000));
	char buf[256];
	file_read(out_path, buf, sizeof(buf));
	cr_assert_str_eq(buf, "first line\nsecond two\nthird\nfourth\n");
	cr_assert_not(drv_needs_reset(&t));
	cr_assert_geq(atomic_load(&t.interrupts), 1);
}

Test(virtio_console, tx_large_chain)
{
	device_up(-1, false);
	uint32_t len = 3 * 4096;
	uint8_t *p = gp(BUF_GPA, len);
	for (uint32_t i = 0; i < len; i++)
		p[i] = (uint8_t)('a' + i % 26);
	drv_post_chain(&txq, &(struct drv_seg){BUF_GPA, len, false}, 1);
	drv_kick(&txq);
	cr_assert_eq(drv_used_idx(&txq), 1);
	static char buf[4 * 4096];
	cr_assert_eq(file_read(out_path, buf, sizeof(buf)), len);
	cr_assert_eq(memcmp(buf, p, len), 0);
}

Test(virtio_console, tx_writable_segment_needs_reset)
{
	device_up(-1, false);
	post_one(&txq, BUF_GPA, "good\n", 5);
	drv_kick(&txq);
	cr_assert_eq(drv_used_idx(&txq), 1);
	struct drv_seg g[2] = {{BUF_GPA + 0x1000, 4, false}, {BUF_GPA + 0x2000, 4, true}};
	memcpy(gp(g[0].gpa, 4), "bad\n", 4);
	drv_post_chain(&txq, g, 2);
	drv_kick(&txq);
	cr_assert(drv_needs_reset(&t));
	cr_assert_eq(drv_used_idx(&txq), 1, "the bad chain is not returned");
	char buf[64];
	file_read(out_path, buf, sizeof(buf));
	cr_assert_str_eq(buf, "good\n", "nothing of the bad chain is written");
	/* Further kicks are ignored until reset. */
	post_one(&txq, BUF_GPA + 0x3000, "later\n", 6);
	drv_kick(&txq);
	cr_assert_eq(drv_used_idx(&txq), 1);
	/* After a reset (driver_up() starts with one) the device works again. */
	driver_up();
	cr_assert_not(drv_needs_reset(&t));
	post_one(&txq, BUF_GPA, "again\n", 6);
	drv_kick(&txq);
	cr_assert_eq(drv_used_idx(&txq), 1);
	file_read(out_path, buf, sizeof(buf));
	cr_assert_str_eq(buf, "good\nagain\n");
}

Test(virtio_console, tx_looped_chain_needs_reset)
{
	device_up(-1, false);
	txq.desc[0] = (struct vring_desc){BUF_GPA, 4, VRING_DESC_F_NEXT, 1};
	txq.desc[1] = (struct vring_desc){BUF_GPA, 4, VRING_DESC_F_NEXT, 0};
	txq.avail->ring[0] = 0;
	__atomic_store_n(&txq.avail->idx, 1, __ATOMIC_RELEASE);
	drv_kick(&txq);
	cr_assert(drv_needs_reset(&t));
	cr_assert_eq(drv_used_idx(&txq), 0);
}

Test(virtio_console, output_none_discards)
{
	cfg.vconsole_output = CONSOLE_NONE;
	device_up(-1, false);
	post_one(&txq, BUF_GPA, "into the void\n", 14);
	post_one(&txq, BUF_GPA + 0x1000, "again\n", 6);
	drv_kick(&txq);
	cr_assert_eq(drv_used_idx(&txq), 2);
	cr_assert_eq(txq.used->ring[0].len, 0);
	cr_assert_not(drv_needs_reset(&t));
	struct stat st;
	cr_assert_neq(stat(out_path, &st), 0, "no file is created");
}

/* stdout a pipe that nobody reads: the batch gives up after the stall
 * budget, later output is dropped at once, and output resumes when the
 * pipe drains. Criterion runs each test in its own process, so stdout may
 * be replaced here. */
Test(virtio_console, blocked_stdout_does_not_wedge)
{
	int p[2];
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	cr_assert_geq(dup2(p[1], STDOUT_FILENO), 0);
	close(p[1]);
	/* Fill the pipe (non-blocking for that), then make it blocking again. */
	int fl = fcntl(STDOUT_FILENO, F_GETFL);
	cr_assert_eq(fcntl(STDOUT_FILENO, F_SETFL, fl | O_NONBLOCK), 0);
	static char junk[4096];
	memset(junk, 'j', sizeof(junk));
	size_t filled = 0;
	ssize_t n;
	while ((n = write(STDOUT_FILENO, junk, sizeof(junk))) > 0)
		filled += (size_t)n;
	cr_assert_eq(fcntl(STDOUT_FILENO, F_SETFL, fl & ~O_NONBLOCK), 0);
	cfg.vconsole_output = CONSOLE_STDIO;
	device_up(-1, true);
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	post_one(&txq, BUF_GPA, "lost 1\n", 7);
	drv_kick(&txq);
	cr_assert(drv_wait_used(&txq, 1, 3000), "the blocked write gives up");
	post_one(&txq, BUF_GPA + 0x1000, "lost 2\n", 7);
	drv_kick(&txq);
	cr_assert(drv_wait_used(&txq, 2, 3000));
	clock_gettime(CLOCK_MONOTONIC, &b);
	long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	cr_assert_lt(ms, OUT_SINK_STALL_MS + 1500, "took %ld ms", ms);
	cr_assert_not(drv_needs_reset(&t));
	/* Drain the pipe: output flows again. */
	static char sink[1 << 17];
	size_t drained = 0;
	while (drained < filled) {
		n = read(p[0], sink, sizeof(sink));
		cr_assert_gt(n, 0);
		drained += (size_t)n;
	}
	post_one(&txq, BUF_GPA + 0x2000, "back\n", 5);
	drv_kick(&txq);
	cr_assert(drv_wait_used(&txq, 3, 3000));
	char got[16] = "";
	cr_assert_eq(read(p[0], got, sizeof(got) - 1), 5);
	cr_assert_str_eq(got, "back\n");
	close(p[0]);
}

/* ---- receiveq --------------------------------------------------------------------- */

Test(virtio_console, rx_from_pipe)
{
	device_up(pipe_fds[0], true);
	post_one(&rxq, BUF_GPA, NULL, 64);
	post_one(&rxq, BUF_GPA + 0x1000, NULL, 64);
	drv_kick(&rxq);
	pipe_put("hello\n");
	cr_assert(drv_wait_used(&rxq, 1, 3000));
	cr_assert_eq(rxq.used->ring[0].len, 6);
	cr_assert_eq(memcmp(gp(BUF_GPA, 6), "hello\n", 6), 0);
	pipe_put("world\n");
	cr_assert(drv_wait_used(&rxq, 2, 3000));
	expect_rx(0, 2, "hello\nworld\n");
	cr_assert_not(drv_needs_reset(&t));
}

Test(virtio_console, rx_buffers_posted_after_data_no_loss)
{
	device_up(pipe_fds[0], true);
	/* No buffers: the bytes are read ahead (the pipe drains) and kept. */
	pipe_put("0123456789");
	cr_assert(WAIT_UNTIL(pipe_pending() == 0, 3000), "the device read the pipe");
	/* More arrives while the device holds pending input: it stays in
	 * the pipe, behind what is pending. */
	pipe_put("abcdef");
	loop_settle(&loop, 2);
	cr_assert_eq(pipe_pending(), 6, "not read while input is pending");
	/* One small buffer: the start of what is pending. */
	post_one(&rxq, BUF_GPA, NULL, 4);
	drv_kick(&rxq);
	cr_assert(drv_wait_used(&rxq, 1, 3000));
	cr_assert_eq(rxq.used->ring[0].len, 4);
	/* More small buffers, one kick: the rest of pending, then the pipe. */
	for (unsigned i = 1; i < QSIZE; i++)
		post_one(&rxq, BUF_GPA + i * 0x1000, NULL, 3);
	drv_kick(&rxq);
	char buf[128] = "";
	WAIT_UNTIL(rx_collect(0, drv_used_idx(&rxq), buf, sizeof(buf)) >= 16, 3000);
	cr_assert_str_eq(buf, "0123456789abcdef");
	cr_assert_not(drv_needs_reset(&t));
}

Test(virtio_console, rx_data_before_driver)
{
	pipe_put("early bytes");
	device_up(pipe_fds[0], true);
	post_one(&rxq, BUF_GPA, NULL, 64);
	drv_kick(&rxq);
	cr_assert(drv_wait_used(&rxq, 1, 3000));
	expect_rx(0, 1, "early bytes");
}

Test(virtio_console, rx_readable_segment_needs_reset)
{
	device_up(pipe_fds[0], true);
	post_one(&rxq, BUF_GPA, NULL, 16);
	rxq.desc[0].flags = 0; /* device-readable on receiveq */
	drv_kick(&rxq);
	pipe_put("x");
	cr_assert(WAIT_UNTIL(drv_needs_reset(&t), 3000));
	cr_assert_eq(drv_used_idx(&rxq), 0);
}

Test(virtio_console, rx_eof_stops_input)
{
	device_up(pipe_fds[0], true);
	post_one(&rxq, BUF_GPA, NULL, 64);
	drv_kick(&rxq);
	pipe_put("last");
	close(pipe_fds[1]);
	pipe_fds[1] = -1;
	cr_assert(drv_wait_used(&rxq, 1, 3000));
	loop_settle(&loop, 2); /* the device sees the end of input */
	post_one(&rxq, BUF_GPA + 0x1000, NULL, 64);
	drv_kick(&rxq);
	loop_settle(&loop, 2);
	cr_assert_eq(drv_used_idx(&rxq), 1, "nothing after the end of input");
	/* The device still transmits. */
	post_one(&txq, BUF_GPA + 0x2000, "tx ok\n", 6);
	drv_kick(&txq);
	cr_assert(drv_wait_used(&txq, 1, 3000));
	cr_assert_not(drv_needs_reset(&t));
}

Test(virtio_console, reset_drops_pending_input)
{
	device_up(pipe_fds[0], true);
	post_one(&rxq, BUF_GPA, NULL, 2);
	drv_kick(&rxq);
	pipe_put("dropped");
	cr_assert(drv_wait_used(&rxq, 1, 3000));
	cr_assert(WAIT_UNTIL(pipe_pending() == 0, 3000));
	/* Reset with "opped" pending, then bring the driver up again. */
	driver_up();
	post_one(&rxq, BUF_GPA, NULL, 64);
	drv_kick(&rxq);
	loop_settle(&loop, 2);
	cr_assert_eq(drv_used_idx(&rxq), 0, "pending input did not survive the reset");
	pipe_put("fresh");
	cr_assert(drv_wait_used(&rxq, 1, 3000));
	expect_rx(0, 1, "fresh");
}

Test(virtio_console, rx_without_loop_reads_on_kick)
{
	device_up(pipe_fds[0], false);
	pipe_put("no loop");
	post_one(&rxq, BUF_GPA, NULL, 4);
	post_one(&rxq, BUF_GPA + 0x1000, NULL, 4);
	drv_kick(&rxq);
	cr_assert_eq(drv_used_idx(&rxq), 2);
	expect_rx(0, 2, "no loop");
	post_one(&rxq, BUF_GPA + 0x2000, NULL, 4);
	drv_kick(&rxq);
	cr_assert_eq(drv_used_idx(&rxq), 2, "an empty pipe does not block");
}

Test(virtio_console, rx_from_regular_file)
{
	/* epoll refuses regular files: they are read on kicks. */
	char in_path[160];
	snprintf(in_path, sizeof(in_path), "%s/in", dir);
	int fd = open(in_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	cr_assert_geq(fd, 0);
	static char data[6000];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (char)('A' + i % 26);
	cr_assert_eq(write(fd, data, sizeof(data)), (ssize_t)sizeof(data));
	cr_assert_eq(lseek(fd, 0, SEEK_SET), 0);
	device_up(fd, true);
	post_one(&rxq, BUF_GPA, NULL, 4096);
	post_one(&rxq, BUF_GPA + 0x1000, NULL, 4096);
	drv_kick(&rxq);
	cr_assert(drv_wait_used(&rxq, 2, 3000));
	static char buf[8192];
	cr_assert_eq(rx_collect(0, 2, buf, sizeof(buf)), sizeof(data));
	cr_assert_eq(memcmp(buf, data, sizeof(data)), 0);
	cr_assert_not(drv_needs_reset(&t));
	unlink(in_path);
	/* fd is closed by teardown's order: device first, then us. */
	if (loop_on)
		event_loop_stop(&loop);
	virtio_mmio_destroy(&t);
	t_on = false;
	virtio_console_destroy(con);
	con = NULL;
	close(fd);
}

/* ---- VIRTIO_CONSOLE_F_SIZE ---------------------------------------------------------- */

static uint16_t config16(uint32_t offset)
{
	return (uint16_t)drv_cfg(&t, offset, 2);
}

/* Makes stdout a pty of cols x rows; returns the master (drain it). */
static int stdout_pty(unsigned short cols, unsigned short rows)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	cr_assert_geq(m, 0);
	cr_assert_eq(grantpt(m), 0);
	cr_assert_eq(unlockpt(m), 0);
	int s = open(ptsname(m), O_RDWR | O_NOCTTY | O_CLOEXEC);
	cr_assert_geq(s, 0);
	struct winsize ws = {.ws_row = rows, .ws_col = cols};
	cr_assert_eq(ioctl(s, TIOCSWINSZ, &ws), 0);
	cr_assert_geq(dup2(s, STDOUT_FILENO), 0);
	close(s);
	return m;
}

static void resize_stdout(unsigned short cols, unsigned short rows)
{
	struct winsize ws = {.ws_row = rows, .ws_col = cols};
	cr_assert_eq(ioctl(STDOUT_FILENO, TIOCSWINSZ, &ws), 0);
}

static bool config_irq_pending(void)
{
	return drv_rd(&t, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG;
}

/* Criterion runs each test in its own process: stdout may be replaced. */
Test(virtio_console, size_from_terminal)
{
	int m = stdout_pty(100, 40);
	cfg.vconsole_output = CONSOLE_STDIO;
	driver_features = F_VERSION_1 | (1ULL << VIRTIO_CONSOLE_F_SIZE);
	device_up(-1, false);
	drv_wr(&t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	cr_assert_eq(drv_rd(&t, VIRTIO_MMIO_DEVICE_FEATURES) & 0xffffff,
		     1u << VIRTIO_CONSOLE_F_SIZE);
	cr_assert_eq(config16(0), 100);
	cr_assert_eq(config16(2), 40);
	cr_assert_not(config_irq_pending(), "not before the first transmit batch");
	uint32_t gen = drv_rd(&t, VIRTIO_MMIO_CONFIG_GENERATION);
	post_one(&txq, BUF_GPA, "a\n", 2);
	drv_kick(&txq);
	cr_assert_eq(drv_used_idx(&txq), 1);
	cr_assert(config_irq_pending(), "the first batch tells the driver the size");
	cr_assert_neq(drv_rd(&t, VIRTIO_MMIO_CONFIG_GENERATION), gen);
	drv_wr(&t, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_CONFIG | VIRTIO_MMIO_INT_VRING);
	post_one(&txq, BUF_GPA, "b\n", 2);
	drv_kick(&txq);
	cr_assert_eq(drv_used_idx(&txq), 2);
	cr_assert_not(config_irq_pending(), "same size: no interrupt");
	resize_stdout(120, 50);
	post_one(&txq, BUF_GPA, "c\n", 2);
	drv_kick(&txq);
	cr_assert_eq(drv_used_idx(&txq), 3);
	cr_assert(config_irq_pending(), "a resize is reported");
	cr_assert_eq(config16(0), 120);
	cr_assert_eq(config16(2), 50);
	cr_assert_not(drv_needs_reset(&t));
	char buf[64];
	cr_assert_gt(read(m, buf, sizeof(buf)), 0, "the output reached the terminal");
	close(m);
}

Test(virtio_console, size_not_negotiated)
{
	int m = stdout_pty(80, 24);
	cfg.vconsole_output = CONSOLE_STDIO;
	device_up(-1, false);
	post_one(&txq, BUF_GPA, "a\n", 2);
	drv_kick(&txq);
	cr_assert_eq(drv_used_idx(&txq), 1);
	cr_assert_not(config_irq_pending());
	close(m);
}

Test(virtio_console, size_not_offered_for_zero_sized_terminal)
{
	int m = stdout_pty(0, 0);
	cfg.vconsole_output = CONSOLE_STDIO;
	device_up(-1, false);
	drv_wr(&t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	cr_assert_eq(drv_rd(&t, VIRTIO_MMIO_DEVICE_FEATURES) & 0xffffff, 0);
	cr_assert_eq(config16(0), 0);
	close(m);
}
