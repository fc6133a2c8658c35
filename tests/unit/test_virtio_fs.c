/* test_virtio_fs.c - virtio-fs over vhost-user: the front end's messages byte for byte against a
 * fake back end on a socket (replies, acks, refusals, a back end that hangs up or lies), the
 * device handing guest RAM, rings and eventfds to it at DRIVER_OK and stopping the rings at
 * reset, a back end that disconnects (DEVICE_NEEDS_RESET, nothing else), and, where Debian's
 * virtiofsd is installed, one FUSE_INIT through the request queue to the real daemon. */
#include <errno.h>
#include <linux/fuse.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"
#include "test_util.h"
#include "vhost_user.h"
#include "virtio_driver.h"
#include "virtio_fs.h"
#include "virtio_type.h"
#include "virtiofsd.h"

/* ---- A fake back end -------------------------------------------------------------------------
 * Serves one connection on its own thread: records every message (request, flags, payload, the
 * fds it carried, kept open) and answers like libvhost-user: GET_* with the values below, an ack
 * (status `nack` for request `nack_req`) to each NEED_REPLY. It hangs up after `hangup_after`
 * messages (0: never), or answers request `lie_req` with a reply to another request. */

#define MAX_MSGS 64

struct msg {
	uint32_t req, flags, size;
	uint8_t payload[512];
	int fds[8];
	int nfds;
};

struct fake {
	int fd;
	pthread_t thread;
	uint64_t features, protocol_features;
	uint32_t nack_req;
	uint64_t nack;
	uint32_t lie_req;
	int hangup_after;
	pthread_mutex_t lock;
	struct msg msgs[MAX_MSGS];
	int n;
	bool done;
};

#define BACKEND_FEATURES                                                                           \
	(F_VERSION_1 | F_EVENT_IDX | F_INDIRECT | (1ull << VHOST_USER_F_PROTOCOL_FEATURES))

static bool read_all(int fd, void *buf, size_t n, int *fds, int *nfds)
{
	uint8_t *p = buf;
	while (n > 0) {
		union {
			char b[CMSG_SPACE(sizeof(int) * 8)];
			struct cmsghdr a;
		} ctl;
		struct iovec iov = {p, n};
		struct msghdr m = {.msg_iov = &iov,
				   .msg_iovlen = 1,
				   .msg_control = ctl.b,
				   .msg_controllen = sizeof(ctl.b)};
		ssize_t got = recvmsg(fd, &m, 0);
		if (got <= 0)
			return false;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c && fds; c = CMSG_NXTHDR(&m, c)) {
			int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			memcpy(fds + *nfds, CMSG_DATA(c), sizeof(int) * (size_t)k);
			*nfds += k;
		}
		p += got;
		n -= (size_t)got;
	}
	return true;
}

static void reply(int fd, uint32_t req, const void *payload, uint32_t size)
{
	uint32_t h[3] = {req, VHOST_USER_VERSION | VHOST_USER_FLAG_REPLY, size};
	uint8_t buf[64];
	memcpy(buf, h, 12);
	memcpy(buf + 12, payload, size);
	(void)!write(fd, buf, 12 + size);
}

static void *fake_main(void *arg)
{
	struct fake *f = arg;
	for (;;) {
		struct msg m = {.nfds = 0};
		uint32_t h[3];
		if (!read_all(f->fd, h, 12, m.fds, &m.nfds))
			break;
		m.req = h[0];
		m.flags = h[1];
		m.size = h[2];
		if (m.size > sizeof(m.payload) ||
		    !read_all(f->fd, m.payload, m.size, m.fds, &m.nfds))
			break;
		pthread_mutex_lock(&f->lock);
		int n = f->n < MAX_MSGS ? f->n++ : MAX_MSGS - 1;
		f->msgs[n] = m;
		pthread_mutex_unlock(&f->lock);
		if (f->hangup_after && n + 1 >= f->hangup_after)
			break;
		uint32_t req = m.req == f->lie_req ? m.req + 1 : m.req;
		if (m.req == VHOST_USER_GET_FEATURES) {
			reply(f->fd, req, &f->features, 8);
		} else if (m.req == VHOST_USER_GET_PROTOCOL_FEATURES) {
			reply(f->fd, req, &f->protocol_features, 8);
		} else if (m.req == VHOST_USER_GET_VRING_BASE) {
			uint32_t s[2];
			memcpy(s, m.payload, 8);
			s[1] = 42;
			reply(f->fd, req, s, 8);
		} else if (m.flags & VHOST_USER_FLAG_NEED_REPLY) {
			uint64_t status = m.req == f->nack_req ? f->nack : 0;
			reply(f->fd, req, &status, 8);
		}
	}
	shutdown(f->fd, SHUT_RDWR);
	pthread_mutex_lock(&f->lock);
	f->done = true;
	pthread_mutex_unlock(&f->lock);
	return NULL;
}

static void fake_start(struct fake *f, int fd)
{
	f->fd = fd;
	pthread_mutex_init(&f->lock, NULL);
	cr_assert_eq(pthread_create(&f->thread, NULL, fake_main, f), 0);
}

static void fake_join(struct fake *f)
{
	pthread_join(f->thread, NULL);
	close(f->fd);
}

static int fake_count(struct fake *f)
{
	pthread_mutex_lock(&f->lock);
	int n = f->n;
	pthread_mutex_unlock(&f->lock);
	return n;
}

/* The i-th recorded message, asserting that it is `req`. */
static const struct msg *fake_msg(struct fake *f, int i, uint32_t req)
{
	cr_assert(WAIT_UNTIL(fake_count(f) > i, 5000), "no message %d from the front end", i);
	const struct msg *m = &f->msgs[i];
	cr_assert_eq(m->req, req, "message %d: request %u, expected %u", i, m->req, req);
	cr_assert_eq(m->flags & 3, VHOST_USER_VERSION, "message %d: version bits", i);
	return m;
}

static uint64_t u64_at(const struct msg *m, size_t off)
{
	uint64_t v;
	memcpy(&v, m->payload + off, 8);
	return v;
}

static uint32_t u32_at(const struct msg *m, size_t off)
{
	uint32_t v;
	memcpy(&v, m->payload + off, 4);
	return v;
}

/* A front end connected to a fresh fake back end. */
static void pair(struct vhost_user *vu, struct fake *f)
{
	int sv[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	if (!f->features)
		f->features = BACKEND_FEATURES;
	vhost_user_init(vu, sv[0]);
	vu->timeout_ms = 2000;
	fake_start(f, sv[1]);
}

/* ---- The front end's messages ------------------------------------------------------------------
 */

TestSuite(vhost_user, .timeout = 30);

Test(vhost_user, handshake_with_reply_ack)
{
	static struct fake f = {.protocol_features = 0x3f};
	struct vhost_user vu;
	pair(&vu, &f);
	cr_assert_eq(vhost_user_handshake(&vu), 0, "%s", vu.err);
	cr_expect_eq(vu.features, BACKEND_FEATURES);
	cr_expect_eq(vu.protocol_features, 1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK);
	cr_expect(vhost_user_acks(&vu));
	const struct msg *m = fake_msg(&f, 0, VHOST_USER_GET_FEATURES);
	cr_expect_eq(m->size, 0);
	cr_expect_eq(m->flags, VHOST_USER_VERSION);
	fake_msg(&f, 1, VHOST_USER_GET_PROTOCOL_FEATURES);
	m = fake_msg(&f, 2, VHOST_USER_SET_PROTOCOL_FEATURES);
	cr_expect_eq(m->size, 8);
	cr_expect_eq(u64_at(m, 0), 1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK);
	cr_expect_eq(m->flags, VHOST_USER_VERSION, "SET_PROTOCOL_FEATURES is not acked yet");
	m = fake_msg(&f, 3, VHOST_USER_SET_OWNER);
	cr_expect_eq(m->flags, VHOST_USER_VERSION | VHOST_USER_FLAG_NEED_REPLY);

	/* SET_FEATURES adds F_PROTOCOL_FEATURES to the driver's. */
	cr_assert_eq(vhost_user_set_features(&vu, F_VERSION_1 | F_EVENT_IDX), 0, "%s", vu.err);
	m = fake_msg(&f, 4, VHOST_USER_SET_FEATURES);
	cr_expect_eq(u64_at(m, 0),
		     F_VERSION_1 | F_EVENT_IDX | (1ull << VHOST_USER_F_PROTOCOL_FEATURES));
	vhost_user_close(&vu);
	fake_join(&f);
}

Test(vhost_user, no_protocol_features_no_acks)
{
	static struct fake f = {.features = F_VERSION_1 | F_EVENT_IDX | F_INDIRECT};
	struct vhost_user vu;
	pair(&vu, &f);
	cr_assert_eq(vhost_user_handshake(&vu), 0, "%s", vu.err);
	cr_expect_not(vhost_user_acks(&vu));
	fake_msg(&f, 0, VHOST_USER_GET_FEATURES);
	const struct msg *m = fake_msg(&f, 1, VHOST_USER_SET_OWNER);
	cr_expect_eq(m->flags, VHOST_USER_VERSION);
	cr_assert_eq(vhost_user_set_features(&vu, F_VERSION_1), 0);
	cr_expect_eq(u64_at(fake_msg(&f, 2, VHOST_USER_SET_FEATURES), 0), F_VERSION_1);
	vhost_user_close(&vu);
	fake_join(&f);
}

Test(vhost_user, rings_memory_and_fds)
{
	static struct fake f = {.protocol_features = 1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK};
	struct vhost_user vu;
	pair(&vu, &f);
	cr_assert_eq(vhost_user_handshake(&vu), 0, "%s", vu.err);
	int mfd = memfd_create("t", MFD_CLOEXEC), kick = eventfd(0, EFD_CLOEXEC);
	struct vhost_user_region r[2] = {
	    {0, 0x1000, 0x7f0000000000, 0, mfd},
	    {0x100000000, 0x2000, 0x7f0000001000, 0x1000, mfd},
	};
	cr_assert_eq(vhost_user_set_mem_table(&vu, r, 2), 0, "%s", vu.err);
	cr_assert_eq(vhost_user_set_vring_num(&vu, 1, 256), 0);
	cr_assert_eq(vhost_user_set_vring_base(&vu, 1, 0), 0);
	cr_assert_eq(vhost_user_set_vring_addr(&vu, 1, 0x1111, 0x3333, 0x2222), 0);
	cr_assert_eq(vhost_user_set_vring_kick(&vu, 1, kick), 0);
	cr_assert_eq(vhost_user_set_vring_call(&vu, 0, -1), 0);
	cr_assert_eq(vhost_user_set_vring_enable(&vu, 1, true), 0);
	unsigned base = 0;
	cr_assert_eq(vhost_user_get_vring_base(&vu, 1, &base), 0, "%s", vu.err);
	cr_expect_eq(base, 42);

	const struct msg *m = fake_msg(&f, 4, VHOST_USER_SET_MEM_TABLE);
	cr_expect_eq(m->flags, VHOST_USER_VERSION | VHOST_USER_FLAG_NEED_REPLY);
	cr_expect_eq(m->size, 8 + 2 * 32);
	cr_expect_eq(u32_at(m, 0), 2);
	cr_expect_eq(u64_at(m, 8 + 32 + 0), 0x100000000ull, "region 1 guest address");
	cr_expect_eq(u64_at(m, 8 + 32 + 8), 0x2000, "region 1 size");
	cr_expect_eq(u64_at(m, 8 + 32 + 16), 0x7f0000001000ull, "region 1 user address");
	cr_expect_eq(u64_at(m, 8 + 32 + 24), 0x1000, "region 1 mmap offset");
	cr_expect_eq(m->nfds, 2, "one fd per region");
	m = fake_msg(&f, 5, VHOST_USER_SET_VRING_NUM);
	cr_expect_eq(u32_at(m, 0), 1);
	cr_expect_eq(u32_at(m, 4), 256);
	fake_msg(&f, 6, VHOST_USER_SET_VRING_BASE);
	m = fake_msg(&f, 7, VHOST_USER_SET_VRING_ADDR);
	cr_expect_eq(m->size, 40);
	cr_expect_eq(u32_at(m, 0), 1);
	cr_expect_eq(u64_at(m, 8), 0x1111, "desc");
	cr_expect_eq(u64_at(m, 16), 0x3333, "used");
	cr_expect_eq(u64_at(m, 24), 0x2222, "avail");
	m = fake_msg(&f, 8, VHOST_USER_SET_VRING_KICK);
	cr_expect_eq(u64_at(m, 0), 1, "index, an fd attached");
	cr_expect_eq(m->nfds, 1);
	m = fake_msg(&f, 9, VHOST_USER_SET_VRING_CALL);
	cr_expect_eq(u64_at(m, 0), VHOST_USER_VRING_NOFD, "index 0, no fd");
	cr_expect_eq(m->nfds, 0);
	m = fake_msg(&f, 10, VHOST_USER_SET_VRING_ENABLE);
	cr_expect_eq(u32_at(m, 4), 1);
	m = fake_msg(&f, 11, VHOST_USER_GET_VRING_BASE);
	cr_expect_eq(m->flags, VHOST_USER_VERSION, "GET_VRING_BASE has its own reply");

	/* The fd the back end got is the eventfd: a write there is seen here. */
	eventfd_write(f.msgs[8].fds[0], 1);
	eventfd_t v = 0;
	cr_expect_eq(eventfd_read(kick, &v), 0);
	cr_expect_eq(v, 1);
	vhost_user_close(&vu);
	fake_join(&f);
	close(mfd);
	close(kick);
}

Test(vhost_user, refusal_hangup_lie_and_timeout)
{
	static struct fake f = {.protocol_features = 1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK,
				.nack_req = VHOST_USER_SET_VRING_NUM,
				.nack = 1,
				.lie_req = VHOST_USER_GET_VRING_BASE};
	struct vhost_user vu;
	pair(&vu, &f);
	cr_assert_eq(vhost_user_handshake(&vu), 0, "%s", vu.err);
	cr_expect_eq(vhost_user_set_vring_num(&vu, 0, 8), -EIO);
	cr_expect(strstr(vu.err, "SET_VRING_NUM") && strstr(vu.err, "refused"), "%s", vu.err);
	unsigned base;
	cr_expect_eq(vhost_user_get_vring_base(&vu, 0, &base), -EPROTO);
	cr_expect(strstr(vu.err, "bad reply"), "%s", vu.err);
	vhost_user_close(&vu);
	fake_join(&f);

	/* A back end that never answers. */
	int sv[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	vhost_user_init(&vu, sv[0]);
	vu.timeout_ms = 100;
	cr_expect_eq(vhost_user_handshake(&vu), -ETIMEDOUT);
	cr_expect(strstr(vu.err, "GET_FEATURES: no reply within 100 ms"), "%s", vu.err);
	close(sv[1]);
	vhost_user_close(&vu);

	/* One that hangs up after the first message. */
	static struct fake g = {.hangup_after = 1};
	pair(&vu, &g);
	cr_expect_eq(vhost_user_handshake(&vu), -ECONNRESET);
	cr_expect(strstr(vu.err, "closed the connection"), "%s", vu.err);
	vhost_user_close(&vu);
	fake_join(&g);
	/* And a closed front end refuses to send. */
	cr_expect_eq(vhost_user_set_vring_enable(&vu, 0, true), -ENOTCONN);
}

/* ---- The device ------------------------------------------------------------------------------ */

#define RAM_SIZE (4u << 20)
#define RING0	 0x10000
#define RING1	 0x20000
#define QSIZE	 64

static struct event_loop loop;
static struct virtio_mmio t;
static void *dev;
static struct vm_config cfg;
static char dir[64], sock[100];
static int listen_fd = -1;

/* Shared guest RAM, as minnow makes it when a virtio-fs device exists. */
static void shared_ram(void)
{
	ram_unmap();
	cr_assert_eq(guest_mem_map_shared(&guest_ram, RAM_SIZE, false), 0);
}

static void fs_setup(void)
{
	signal(SIGPIPE, SIG_IGN);
	shared_ram();
	make_tmp_dir(dir, sizeof(dir), "fs");
	cr_assert_eq(event_loop_init(&loop), 0);
	cr_assert_eq(event_loop_start(&loop), 0);
	config_defaults(&cfg);
	cfg.n_fs = 1;
	snprintf(cfg.fs[0].name, sizeof(cfg.fs[0].name), "data");
	snprintf(cfg.fs[0].tag, sizeof(cfg.fs[0].tag), "my-tag");
}

static void fs_teardown(void)
{
	event_loop_stop(&loop);
	if (dev)
		virtio_fs_type.destroy(dev);
	dev = NULL;
	virtio_mmio_destroy(&t);
	event_loop_fini(&loop);
	ram_unmap();
	if (listen_fd >= 0)
		close(listen_fd);
	remove_tmp_dir(dir);
}

/* A fake back end listening on `sock`; the device's connection is accepted once create() has
 * connected (the backlog holds it meanwhile). */
static void listen_fake(void)
{
	snprintf(sock, sizeof(sock), "%s/vhost.sock", dir);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock);
	listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert(listen_fd >= 0);
	cr_assert_eq(bind(listen_fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(listen_fd, 1), 0);
	snprintf(cfg.fs[0].socket.path, sizeof(cfg.fs[0].socket.path), "%s", sock);
}

/* Accepts the device's connection and serves it with the fake back end `arg`. */
static void *accept_and_serve(void *arg)
{
	struct fake *f = arg;
	int c = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (c >= 0)
		fake_start(f, c);
	return NULL;
}

/* Creates the device on the fake back end `f` (which answers the handshake) and its transport. */
static void create_on_fake(struct fake *f)
{
	if (!f->features)
		f->features = BACKEND_FEATURES;
	listen_fake();
	pthread_t th;
	cr_assert_eq(pthread_create(&th, NULL, accept_and_serve, f), 0);
	struct device_env env = {.cfg = &cfg, .loop = &loop};
	struct device_error e = {.at = NULL};
	dev = virtio_fs_type.create(&env, 0, &e);
	pthread_join(th, NULL);
	cr_assert_not_null(dev, "%s: %s", e.section, e.msg);
	cr_assert_eq(virtio_mmio_create(&t, &virtio_fs_ops, dev, &guest_ram, -1, &loop, NULL, 0),
		     0);
}

TestSuite(virtio_fs, .init = fs_setup, .fini = fs_teardown, .timeout = 60);

Test(virtio_fs, identity_config_and_features)
{
	static struct fake f = {.protocol_features = 1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK};
	create_on_fake(&f);
	cr_expect_eq(drv_rd(&t, VIRTIO_MMIO_DEVICE_ID), 26);
	char tag[VIRTIO_FS_TAG_SIZE + 1] = {0};
	for (unsigned i = 0; i < VIRTIO_FS_TAG_SIZE; i++)
		tag[i] = (char)drv_cfg(&t, i, 1);
	cr_expect_str_eq(tag, "my-tag");
	cr_expect(all_bytes(tag + 6, VIRTIO_FS_TAG_SIZE - 6, 0), "the tag is NUL-padded");
	cr_expect_eq(drv_cfg(&t, VIRTIO_FS_TAG_SIZE, 4), 1, "num_request_queues");
	cr_expect_eq(drv_device_features(&t), F_VERSION_1 | F_EVENT_IDX | F_INDIRECT);
	drv_wr(&t, VIRTIO_MMIO_QUEUE_SEL, 1);
	cr_expect_eq(drv_rd(&t, VIRTIO_MMIO_QUEUE_NUM_MAX), VIRTIO_FS_QUEUE_SIZE);
	drv_wr(&t, VIRTIO_MMIO_QUEUE_SEL, 2);
	cr_expect_eq(drv_rd(&t, VIRTIO_MMIO_QUEUE_NUM_MAX), 0, "two queues");
	loop_settle(&loop, 2);
	cr_expect_eq(fake_count(&f), 0, "the session starts at DRIVER_OK, not before");
}

/* DRIVER_OK hands the back end RAM, rings and eventfds; a kick reaches it without minnow; the
 * used-buffer bit shows in InterruptStatus; a reset stops the rings. */
Test(virtio_fs, activation_kick_and_reset)
{
	static struct fake f = {.protocol_features = 1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK};
	create_on_fake(&f);
	struct drv_ring r0, r1;
	drv_features_ok(&t, F_VERSION_1 | F_EVENT_IDX);
	drv_ring_init(&r0, &t, 0, QSIZE, RING0, RING0 + 0x1000, RING0 + 0x2000);
	drv_ring_init(&r1, &t, 1, QSIZE, RING1, RING1 + 0x1000, RING1 + 0x2000);
	cr_expect_eq(drv_rd(&t, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	drv_go(&t);
	cr_expect_eq(drv_rd(&t, VIRTIO_MMIO_INTERRUPT_STATUS) & 1, 1,
		     "the back end raises the irqfd: the used-buffer bit always shows");

	fake_msg(&f, 0, VHOST_USER_GET_FEATURES);
	fake_msg(&f, 3, VHOST_USER_SET_OWNER);
	int i = 4; /* after the handshake */
	const struct msg *m = fake_msg(&f, i++, VHOST_USER_SET_FEATURES);
	cr_expect_eq(u64_at(m, 0),
		     F_VERSION_1 | F_EVENT_IDX | (1ull << VHOST_USER_F_PROTOCOL_FEATURES));
	m = fake_msg(&f, i++, VHOST_USER_SET_MEM_TABLE);
	cr_expect_eq(u32_at(m, 0), 1, "one region below 3 GiB");
	cr_expect_eq(u64_at(m, 8), 0);
	cr_expect_eq(u64_at(m, 16), RAM_SIZE);
	cr_expect_eq(u64_at(m, 24), (uint64_t)(uintptr_t)guest_ram.host);
	cr_expect_eq(u64_at(m, 32), 0);
	cr_assert_eq(m->nfds, 1);
	/* The fd is the guest RAM: what the back end maps is what the guest sees. */
	uint8_t *view = mmap(NULL, RAM_SIZE, PROT_READ, MAP_SHARED, m->fds[0], 0);
	cr_assert_neq(view, MAP_FAILED);
	*(uint32_t *)gp(0x5000, 4) = 0xfeedf00d;
	cr_expect_eq(*(uint32_t *)(view + 0x5000), 0xfeedf00d);
	munmap(view, RAM_SIZE);
	int kick_fd[2] = {-1, -1}, call_fd[2] = {-1, -1};
	for (unsigned q = 0; q < 2; q++) {
		gpa_t base = q ? RING1 : RING0;
		m = fake_msg(&f, i++, VHOST_USER_SET_VRING_NUM);
		cr_expect_eq(u32_at(m, 0), q);
		cr_expect_eq(u32_at(m, 4), QSIZE);
		m = fake_msg(&f, i++, VHOST_USER_SET_VRING_BASE);
		cr_expect_eq(u32_at(m, 4), 0);
		m = fake_msg(&f, i++, VHOST_USER_SET_VRING_ADDR);
		cr_expect_eq(u64_at(m, 8), (uint64_t)(uintptr_t)gp(base, 1), "desc of %u", q);
		cr_expect_eq(u64_at(m, 16), (uint64_t)(uintptr_t)gp(base + 0x2000, 1), "used");
		cr_expect_eq(u64_at(m, 24), (uint64_t)(uintptr_t)gp(base + 0x1000, 1), "avail");
		m = fake_msg(&f, i++, VHOST_USER_SET_VRING_CALL);
		cr_expect_eq(u64_at(m, 0), q, "without KVM, a call eventfd of the device's");
		cr_expect_eq(m->nfds, 1);
		call_fd[q] = m->fds[0];
		m = fake_msg(&f, i++, VHOST_USER_SET_VRING_KICK);
		cr_expect_eq(u64_at(m, 0), q);
		cr_assert_eq(m->nfds, 1);
		kick_fd[q] = m->fds[0];
		m = fake_msg(&f, i++, VHOST_USER_SET_VRING_ENABLE);
		cr_expect_eq(u32_at(m, 4), 1);
	}
	/* The transport kicked both queues once at DRIVER_OK, then a guest kick of queue 1. */
	eventfd_t v;
	cr_expect(WAIT_UNTIL(eventfd_read(kick_fd[1], &v) == 0, 2000), "no kick at DRIVER_OK");
	drv_kick(&r1);
	cr_expect(WAIT_UNTIL(eventfd_read(kick_fd[1], &v) == 0, 2000), "the kick did not arrive");
	loop_settle(&loop, 2);
	cr_expect(WAIT_UNTIL(eventfd_read(kick_fd[1], &v) != 0, 10), "minnow read no kick itself");
	/* The back end's call becomes an interrupt (counted: no KVM here). */
	uint64_t before = atomic_load(&t.interrupts);
	eventfd_write(call_fd[1], 1);
	cr_expect(WAIT_UNTIL(atomic_load(&t.interrupts) > before, 2000),
		  "the call was not relayed");

	drv_wr(&t, VIRTIO_MMIO_STATUS, 0);
	for (unsigned q = 0; q < 2; q++) {
		m = fake_msg(&f, i++, VHOST_USER_SET_VRING_ENABLE);
		cr_expect_eq(u32_at(m, 0), q);
		cr_expect_eq(u32_at(m, 4), 0);
		m = fake_msg(&f, i++, VHOST_USER_GET_VRING_BASE);
		cr_expect_eq(u32_at(m, 0), q);
	}
	cr_expect_eq(drv_rd(&t, VIRTIO_MMIO_INTERRUPT_STATUS), 0, "no bit after reset");
	cr_expect_not(drv_needs_reset(&t));
	for (unsigned q = 0; q < 2; q++) {
		close(kick_fd[q]);
		close(call_fd[q]);
	}
}

/* A driver's bring-up of both queues up to DRIVER_OK; true when the
 * device then needs a reset (its back end refused the session). */
static bool bring_up_fails(void)
{
	struct drv_ring r0, r1;
	drv_features_ok(&t, F_VERSION_1);
	drv_ring_at(&r0, &t, 0, QSIZE, RING0);
	drv_ring_at(&r1, &t, 1, QSIZE, RING1);
	drv_driver_ok(&t);
	return drv_needs_reset(&t);
}

/* A back end that goes away: the device needs a reset, and a new activation fails the same
 * way; minnow goes on. */
Test(virtio_fs, backend_disconnect_needs_reset)
{
	static struct fake f = {.protocol_features = 1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK};
	create_on_fake(&f);
	struct drv_ring r0, r1;
	drv_features_ok(&t, F_VERSION_1);
	drv_ring_at(&r0, &t, 0, QSIZE, RING0);
	drv_ring_at(&r1, &t, 1, QSIZE, RING1);
	drv_go(&t);
	fake_msg(&f, 4 + 2 + 12 - 1, VHOST_USER_SET_VRING_ENABLE);
	shutdown(f.fd, SHUT_RDWR);
	cr_expect(WAIT_UNTIL(drv_needs_reset(&t), 5000), "no DEVICE_NEEDS_RESET after a hang-up");
	cr_expect_eq(drv_rd(&t, VIRTIO_MMIO_INTERRUPT_STATUS) & 2, 2, "config-change interrupt");
	/* The driver resets and tries again. */
	cr_expect(bring_up_fails());
	fake_join(&f);
}

/* A back end that refuses SET_MEM_TABLE fails the activation, not minnow. */
Test(virtio_fs, backend_refusal_fails_activation)
{
	static struct fake f = {.protocol_features = 1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK,
				.nack_req = VHOST_USER_SET_MEM_TABLE,
				.nack = 1};
	create_on_fake(&f);
	cr_expect(bring_up_fails());
	fake_join(&f);
}

/* A back end without the ring features minnow offers every guest fails the activation. */
Test(virtio_fs, backend_without_event_idx_refused)
{
	static struct fake f = {.features = F_VERSION_1 | F_INDIRECT};
	create_on_fake(&f);
	cr_expect(bring_up_fails());
	fake_join(&f); /* the back end has read all it was sent */
	cr_expect_eq(fake_count(&f), 2, "GET_FEATURES and SET_OWNER, then nothing");
}

Test(virtio_fs, missing_socket_refused)
{
	snprintf(cfg.fs[0].socket.path, sizeof(cfg.fs[0].socket.path), "%s/nothing", dir);
	struct device_env env = {.cfg = &cfg, .loop = &loop};
	struct device_error e = {.at = NULL};
	dev = virtio_fs_type.create(&env, 0, &e);
	cr_expect_null(dev);
	cr_expect(strstr(e.msg, "No such file or directory"), "%s", e.msg);
}

/* ---- With Debian's virtiofsd
 * --------------------------------------------------------------------- The whole data path but
 * KVM: minnow starts the daemon on a directory, the fake driver sends FUSE requests through the
 * request queue, kicks through the transport (the eventfd the daemon polls), and polls the used
 * ring (no irqfd without KVM). */

#define REQ_AREA 0x40000 /* requests and replies */

static struct drv_ring q0, q1;
static uint64_t unique;

/* Starts virtiofsd on `dir` through the device and brings the device up. False when the daemon
 * is not installed (the caller skips). */
static bool start_virtiofsd(bool readonly)
{
	const char *d = config_virtiofsd();
	if (access(d, X_OK) != 0)
		return false;
	char file[160];
	snprintf(file, sizeof(file), "%s/hello.txt", dir);
	FILE *f = fopen(file, "w");
	cr_assert_not_null(f);
	fputs("hello from the host\n", f);
	fclose(f);
	snprintf(cfg.fs[0].host_dir.path, sizeof(cfg.fs[0].host_dir.path), "%s", dir);
	snprintf(cfg.fs[0].virtiofsd.path, sizeof(cfg.fs[0].virtiofsd.path), "%s", d);
	cfg.fs[0].readonly = readonly;
	struct device_env env = {.cfg = &cfg, .loop = &loop};
	struct device_error e = {.at = NULL};
	dev = virtio_fs_type.create(&env, 0, &e);
	cr_assert_not_null(dev, "%s: %s", e.section, e.msg);
	cr_assert_eq(virtio_mmio_create(&t, &virtio_fs_ops, dev, &guest_ram, -1, &loop, NULL, 0),
		     0);
	drv_features_ok(&t, F_VERSION_1 | F_EVENT_IDX | F_INDIRECT);
	drv_ring_at(&q0, &t, 0, QSIZE, RING0);
	drv_ring_at(&q1, &t, 1, QSIZE, RING1);
	drv_go(&t);
	return true;
}

/* One FUSE request on the request queue: header + `in` (readable), then room for the reply
 * (writable). Returns the reply's error (0 or -errno) and copies its body into `out`. */
static int fuse_call(uint32_t opcode, uint64_t nodeid, const void *in, uint32_t in_len, void *out,
		     uint32_t out_len)
{
	struct fuse_in_header *ih = gp(REQ_AREA, 4096);
	memset(ih, 0, 8192);
	ih->len = (uint32_t)sizeof(*ih) + in_len;
	ih->opcode = opcode;
	ih->unique = ++unique;
	ih->nodeid = nodeid;
	memcpy(ih + 1, in, in_len);
	struct drv_seg s[2] = {
	    {REQ_AREA, ih->len, false},
	    {REQ_AREA + 4096, (uint32_t)sizeof(struct fuse_out_header) + out_len, true}};
	uint16_t want = (uint16_t)(q1.last_used + 1);
	drv_post_chain(&q1, s, 2);
	drv_kick(&q1);
	cr_assert(drv_wait_used(&q1, want, 20000), "no reply to FUSE opcode %u", opcode);
	struct vring_used_elem e = drv_next_used(&q1);
	const struct fuse_out_header *oh = gp(REQ_AREA + 4096, 4096);
	cr_assert_geq(e.len, sizeof(*oh));
	cr_assert_eq(oh->unique, unique);
	if (oh->error == 0 && out_len)
		memcpy(out, oh + 1, out_len);
	return oh->error;
}

static void fuse_init(void)
{
	struct fuse_init_in in = {.major = FUSE_KERNEL_VERSION, .minor = FUSE_KERNEL_MINOR_VERSION};
	struct fuse_init_out out;
	cr_assert_eq(fuse_call(FUSE_INIT, 0, &in, sizeof(in), &out, sizeof(out)), 0);
	cr_expect_eq(out.major, 7);
}

Test(virtio_fs, real_virtiofsd_init_lookup_read)
{
	if (!start_virtiofsd(false))
		cr_skip_test("no %s (apt-get install qemu-system-common)", config_virtiofsd());
	fuse_init();
	struct fuse_entry_out ent;
	cr_assert_eq(fuse_call(FUSE_LOOKUP, FUSE_ROOT_ID, "hello.txt", 10, &ent, sizeof(ent)), 0);
	cr_expect_eq(ent.attr.size, 20);
	struct fuse_open_in oi = {.flags = 0};
	struct fuse_open_out oo;
	cr_assert_eq(fuse_call(FUSE_OPEN, ent.nodeid, &oi, sizeof(oi), &oo, sizeof(oo)), 0);
	struct fuse_read_in ri = {.fh = oo.fh, .offset = 0, .size = 20};
	char data[20];
	cr_assert_eq(fuse_call(FUSE_READ, ent.nodeid, &ri, sizeof(ri), data, sizeof(data)), 0);
	cr_expect_eq(memcmp(data, "hello from the host\n", 20), 0);
	/* A file made through the share is on the host. */
	char create[sizeof(struct fuse_create_in) + 8];
	struct fuse_create_in ci = {.flags = 01 /* O_WRONLY */ | 0100 /* O_CREAT */,
				    .mode = 0100644};
	memcpy(create, &ci, sizeof(ci));
	memcpy(create + sizeof(ci), "new.txt", 8);
	struct {
		struct fuse_entry_out e;
		struct fuse_open_out o;
	} co;
	cr_assert_eq(fuse_call(FUSE_CREATE, FUSE_ROOT_ID, create, sizeof(create), &co, sizeof(co)),
		     0);
	char path[160];
	snprintf(path, sizeof(path), "%s/new.txt", dir);
	struct stat st;
	cr_expect_eq(stat(path, &st), 0, "new.txt is not on the host");
}

Test(virtio_fs, real_virtiofsd_readonly_refuses_writes)
{
	if (!start_virtiofsd(true))
		cr_skip_test("no %s (apt-get install qemu-system-common)", config_virtiofsd());
	fuse_init();
	char create[sizeof(struct fuse_create_in) + 8];
	struct fuse_create_in ci = {.flags = 01 | 0100, .mode = 0100644};
	memcpy(create, &ci, sizeof(ci));
	memcpy(create + sizeof(ci), "new.txt", 8);
	char co[sizeof(struct fuse_entry_out) + sizeof(struct fuse_open_out)];
	cr_expect_eq(fuse_call(FUSE_CREATE, FUSE_ROOT_ID, create, sizeof(create), co, sizeof(co)),
		     -EROFS);
	char path[160];
	snprintf(path, sizeof(path), "%s/new.txt", dir);
	cr_expect_neq(access(path, F_OK), 0, "a read-only share made new.txt");
	struct fuse_entry_out ent;
	cr_expect_eq(fuse_call(FUSE_LOOKUP, FUSE_ROOT_ID, "hello.txt", 10, &ent, sizeof(ent)), 0,
		     "reading still works");
}

/* The daemon that dies: the device needs a reset, and minnow reaps it. */
Test(virtio_fs, real_virtiofsd_killed)
{
	if (!start_virtiofsd(false))
		cr_skip_test("no %s (apt-get install qemu-system-common)", config_virtiofsd());
	fuse_init();
	cr_assert_eq(kill(-virtio_fs_daemon_pid(dev), SIGKILL), 0);
	cr_expect(WAIT_UNTIL(drv_needs_reset(&t), 5000),
		  "no DEVICE_NEEDS_RESET when virtiofsd died");
}

/* A driver reset stops the daemon's rings (GET_VRING_BASE); the next DRIVER_OK starts them again
 * on fresh rings, and requests are served as before. */
Test(virtio_fs, real_virtiofsd_reset_and_again)
{
	if (!start_virtiofsd(false))
		cr_skip_test("no %s (apt-get install qemu-system-common)", config_virtiofsd());
	fuse_init();
	drv_wr(&t, VIRTIO_MMIO_STATUS, 0);
	cr_expect_not(drv_needs_reset(&t));
	drv_features_ok(&t, F_VERSION_1 | F_EVENT_IDX | F_INDIRECT);
	drv_ring_at(&q0, &t, 0, QSIZE, RING0);
	drv_ring_at(&q1, &t, 1, QSIZE, RING1);
	drv_go(&t);
	fuse_init();
	struct fuse_entry_out ent;
	cr_expect_eq(fuse_call(FUSE_LOOKUP, FUSE_ROOT_ID, "hello.txt", 10, &ent, sizeof(ent)), 0);
	cr_expect_not(drv_needs_reset(&t));
}
