/* virtio_fs.c - the virtio-fs device and its vhost-user back end (virtio_fs.h). */
#include "virtio_fs.h"

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "log.h"
#include "vhost_user.h"
#include "virtio_type.h"
#include "virtiofsd.h"

#define STOP_MS 5000 /* how long virtiofsd may take to exit */

struct virtio_fs {
	const struct fs_config *cfg;
	struct event_loop *loop;
	struct virtio_mmio *t; /* known from the first activation */
	struct vhost_user vu;
	struct virtiofsd daemon;
	bool watching;	 /* vu.fd is on the loop */
	bool broken;	 /* the back end is gone: the device fails every activation */
	bool handshaken; /* vhost_user_handshake() done */
	bool started[VIRTIO_FS_QUEUES];
	int call_fd; /* without an irqfd (no KVM): the back end's calls, relayed; else -1 */
	uint8_t config[VIRTIO_FS_CONFIG_SIZE];
};

/* The back end's reason, with virtiofsd's own last words when it is ours. */
static void describe(struct virtio_fs *fs, const char *what, char *out, size_t n)
{
	char tail[200];
	virtiofsd_tail(&fs->daemon, tail, sizeof(tail));
	snprintf(out, n, "%s%s%s", what, tail[0] ? "; virtiofsd said: " : "", tail);
}

/* The back end went away or broke the protocol: no more talking to it. With `fail`, the
 * device needs a reset (the caller holds no transport lock). */
static void backend_lost(struct virtio_fs *fs, const char *why, bool fail)
{
	if (fs->watching)
		(void)event_loop_remove(fs->loop, fs->vu.fd);
	fs->watching = false;
	vhost_user_close(&fs->vu);
	bool first = !fs->broken;
	fs->broken = true;
	memset(fs->started, 0, sizeof(fs->started));
	char msg[512];
	describe(fs, why, msg, sizeof(msg));
	if (first)
		log_error("[fs.%s] vhost-user back end: %s", fs->cfg->name, msg);
	if (fail && fs->t) {
		virtio_mmio_lock(fs->t);
		virtio_mmio_fail(fs->t, "vhost-user back end: %s", why);
		virtio_mmio_unlock(fs->t);
	}
}

/* The socket became readable or hung up while no request was waiting for a reply: the back
 * end closed it, or sent something minnow never asked for. Either way it is lost. */
static void on_backend(void *opaque, uint32_t events)
{
	struct virtio_fs *fs = opaque;
	char c;
	ssize_t n = recv(fs->vu.fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR) && !(events & (EPOLLHUP | EPOLLERR)))
		return; /* a reply read meanwhile by a request */
	backend_lost(fs, n > 0 ? "unexpected message" : "disconnected", true);
}

/* Without KVM there is no irqfd for the back end to signal (and libvhost-user gives up on a
 * ring without a call fd): its calls come here and become the transport's interrupt. */
static void on_call(void *opaque, uint32_t events)
{
	struct virtio_fs *fs = opaque;
	eventfd_t n;
	(void)events;
	if (eventfd_read(fs->call_fd, &n) == 0 && fs->t)
		virtio_mmio_signal(fs->t, VIRTIO_MMIO_INT_VRING);
}

/* The fd the back end signals: the slot's irqfd, else (no KVM) one of the device's own. */
static int call_fd(struct virtio_fs *fs, struct virtio_mmio *t)
{
	int fd = virtio_mmio_irq_fd(t);
	if (fd >= 0 || fs->call_fd >= 0 || !fs->loop)
		return fd >= 0 ? fd : fs->call_fd;
	fs->call_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fs->call_fd >= 0 && event_loop_add(fs->loop, fs->call_fd, EPOLLIN, on_call, fs) < 0) {
		close(fs->call_fd);
		fs->call_fd = -1;
	}
	return fs->call_fd;
}

/* ---- Device ops (transport lock held) ----------------------------------------------------- */

static void fs_config_read(void *dev, uint32_t offset, void *data, unsigned len)
{
	struct virtio_fs *fs = dev;
	memcpy(data, fs->config + offset, len);
}

/* Hands guest RAM and the ready rings to the back end. */
static int start_backend(struct virtio_fs *fs, struct virtio_mmio *t)
{
	const struct guest_mem *mem = t->mem;
	struct vhost_user *vu = &fs->vu;
	if (!mem->shared) {
		snprintf(vu->err, sizeof(vu->err), "guest RAM is not shared memory");
		return -EINVAL;
	}
	int r = vhost_user_set_features(vu, virtio_mmio_features(t));
	if (r < 0)
		return r;
	struct guest_region regions[2];
	struct vhost_user_region vr[2];
	size_t n = guest_mem_regions(mem, regions);
	uint64_t offset = 0;
	for (size_t i = 0; i < n; i++) {
		vr[i] = (struct vhost_user_region){
		    .guest_phys_addr = regions[i].gpa,
		    .memory_size = regions[i].size,
		    .userspace_addr = (uint64_t)(uintptr_t)(mem->host + offset),
		    .mmap_offset = offset,
		    .fd = mem->fd,
		};
		offset += regions[i].size;
	}
	r = vhost_user_set_mem_table(vu, vr, n);
	for (unsigned q = 0; r == 0 && q < VIRTIO_FS_QUEUES; q++) {
		struct virtq *vq = virtio_mmio_queue(t, q);
		if (!vq->ready)
			continue;
		fs->started[q] = true;
		r = vhost_user_set_vring_num(vu, q, vq->size);
		if (r == 0)
			r = vhost_user_set_vring_base(vu, q, 0);
		if (r == 0)
			r = vhost_user_set_vring_addr(vu, q, (uint64_t)(uintptr_t)vq->desc,
						      (uint64_t)(uintptr_t)vq->used,
						      (uint64_t)(uintptr_t)vq->avail);
		if (r == 0)
			r = vhost_user_set_vring_call(vu, q, call_fd(fs, t));
		if (r == 0)
			r = vhost_user_set_vring_kick(vu, q, virtio_mmio_kick_fd(t, q));
		if (r == 0)
			r = vhost_user_set_vring_enable(vu, q, true);
	}
	return r;
}

/* The start of the session, at the first activation: by then a virtiofsd minnow started has
 * had the guest's boot to get ready. The back end must have the ring features the transport
 * offers every guest. */
static int handshake(struct virtio_fs *fs)
{
	int r = vhost_user_handshake(&fs->vu);
	uint64_t need = VIRTIO_MMIO_TRANSPORT_FEATURES;
	if (r == 0 && (fs->vu.features & need) != need) {
		snprintf(fs->vu.err, sizeof(fs->vu.err),
			 "the back end lacks virtio features minnow offers the guest (has 0x%llx, "
			 "needs 0x%llx)",
			 (unsigned long long)fs->vu.features, (unsigned long long)need);
		r = -ENOTSUP;
	}
	fs->handshaken = r == 0;
	return r;
}

static int fs_activate(void *dev, struct virtio_mmio *t)
{
	struct virtio_fs *fs = dev;
	fs->t = t;
	if (fs->broken)
		return -ENOTCONN;
	int r = fs->handshaken ? 0 : handshake(fs);
	if (r == 0)
		r = start_backend(fs, t);
	if (r < 0) {
		char why[300];
		snprintf(why, sizeof(why), "%s", fs->vu.err);
		backend_lost(fs, why, false); /* the transport sets NEEDS_RESET */
	}
	return r;
}

/* Nothing to do: the back end reads the kick eventfd itself. */
static void fs_queue_notify(void *dev, struct virtio_mmio *t, unsigned queue)
{
	(void)dev;
	(void)t;
	(void)queue;
}

static void fs_reset(void *dev)
{
	struct virtio_fs *fs = dev;
	for (unsigned q = 0; q < VIRTIO_FS_QUEUES && !fs->broken; q++) {
		if (!fs->started[q])
			continue;
		unsigned base;
		int r = 0;
		if (fs->vu.features & (1ull << VHOST_USER_F_PROTOCOL_FEATURES))
			r = vhost_user_set_vring_enable(&fs->vu, q, false);
		if (r == 0)
			r = vhost_user_get_vring_base(&fs->vu, q, &base);
		if (r < 0) {
			char why[300];
			snprintf(why, sizeof(why), "%s", fs->vu.err);
			backend_lost(fs, why, false);
		}
	}
	memset(fs->started, 0, sizeof(fs->started));
}

const struct virtio_device_ops virtio_fs_ops = {
    .name = "virtio-fs",
    .device_id = VIRTIO_FS_ID,
    .num_queues = VIRTIO_FS_QUEUES,
    .queue_max = VIRTIO_FS_QUEUE_SIZE,
    .features = 0,
    .config_size = VIRTIO_FS_CONFIG_SIZE,
    .backend_queues = true,
    .config_read = fs_config_read,
    .activate = fs_activate,
    .queue_notify = fs_queue_notify,
    .reset = fs_reset,
};

/* ---- The device type ----------------------------------------------------------------- */

static size_t fs_count(const struct vm_config *cfg)
{
	return cfg->n_fs;
}

static void fs_destroy(void *dev)
{
	struct virtio_fs *fs = dev;
	if (!fs)
		return;
	if (fs->watching)
		(void)event_loop_remove(fs->loop, fs->vu.fd);
	fs->watching = false;
	if (fs->call_fd >= 0) {
		(void)event_loop_remove(fs->loop, fs->call_fd);
		close(fs->call_fd);
	}
	/* Closing the connection ends virtiofsd; it has answered every request the guest
	 * saw answered, so what the guest wrote is in the host's files once it is gone. */
	vhost_user_close(&fs->vu);
	if (fs->daemon.pid > 0) {
		int st = virtiofsd_stop(&fs->daemon, STOP_MS);
		if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			log_debug("[fs.%s] virtiofsd ended with status 0x%x", fs->cfg->name, st);
	}
	virtiofsd_stop(&fs->daemon, 0);
	free(fs);
}

static void *fs_create(const struct device_env *env, size_t i, struct device_error *e)
{
	const struct fs_config *c = &env->cfg->fs[i];
	snprintf(e->section, sizeof(e->section), "fs.%s", c->name);
	e->at = &c->at;
	struct virtio_fs *fs = calloc(1, sizeof(*fs));
	if (!fs) {
		snprintf(e->msg, sizeof(e->msg), "%s", strerror(ENOMEM));
		e->host_failure = true;
		return NULL;
	}
	fs->cfg = c;
	fs->loop = env->loop;
	vhost_user_init(&fs->vu, -1);
	fs->daemon.log_fd = -1;
	fs->call_fd = -1;
	memcpy(fs->config, c->tag, strnlen(c->tag, VIRTIO_FS_TAG_SIZE));
	uint32_t nreq = htole32(1);
	memcpy(fs->config + VIRTIO_FS_TAG_SIZE, &nreq, 4);

	int r;
	if (c->host_dir.path[0]) {
		static const char *const cache[] = {"auto", "always", "none"};
		struct virtiofsd_options o = {
		    .path = c->virtiofsd.path,
		    .dir = c->host_dir.path,
		    .cache = cache[c->cache],
		    .readonly = c->readonly,
		    .debug = getenv("MINNOW_VIRTIOFSD_DEBUG") != NULL,
		};
		r = virtiofsd_start(&fs->daemon, &o, e->msg, sizeof(e->msg));
		if (r < 0) {
			e->host_failure = true;
			goto fail;
		}
		vhost_user_init(&fs->vu, r);
	} else if ((r = vhost_user_connect(&fs->vu, c->socket.path)) < 0) {
		snprintf(e->msg, sizeof(e->msg), "socket: %s", fs->vu.err);
		goto fail;
	}
	/* The session starts at the first DRIVER_OK (handshake()): meanwhile virtiofsd gets
	 * ready while the guest boots, and a daemon that dies is seen hanging up. */
	if (fs->loop) {
		r = event_loop_add(fs->loop, fs->vu.fd, EPOLLIN | EPOLLRDHUP, on_backend, fs);
		if (r < 0) {
			snprintf(e->msg, sizeof(e->msg), "event loop: %s", strerror(-r));
			e->host_failure = true;
			goto fail;
		}
		fs->watching = true;
	}
	return fs;
fail:
	fs_destroy(fs);
	return NULL;
}

pid_t virtio_fs_daemon_pid(const void *dev)
{
	return ((const struct virtio_fs *)dev)->daemon.pid;
}

const struct virtio_type virtio_fs_type = {"virtio-fs", &virtio_fs_ops, fs_count, fs_create,
					   fs_destroy,	NULL,		NULL};
