/* virtio_vsock.c - virtio socket device (virtio 1.x 5.10) with Firecracker's host protocol:
 * the device ops, locking, creation and teardown. The rx/tx packets are in vsock_queues.c,
 * the Unix sockets and the table of connections in vsock_host.c, and each connection's
 * state in vsock_conn.c. */
#include "unix_listener.h"
#include "virtio_vsock_internal.h"

#include <assert.h>
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/virtio_ids.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include "virtio_type.h"

/* ---- Locking ------------------------------------------------------------------ */

void vsock_lock(struct virtio_vsock *vs)
{
	if (vs->transport)
		virtio_mmio_lock(vs->transport);
}

void vsock_unlock(struct virtio_vsock *vs)
{
	if (vs->transport)
		virtio_mmio_unlock(vs->transport);
}

bool vsock_active(struct virtio_vsock *vs)
{
	return vs->transport && virtio_mmio_active(vs->transport);
}

bool vsock_can_send(struct virtio_vsock *vs)
{
	return vsock_active(vs) && !vs->rx_starved;
}

/* ---- Device ops (transport lock held) ------------------------------------------------------ */

static void vsock_config_read(void *dev, uint32_t offset, void *data, unsigned len)
{
	struct virtio_vsock *vs = dev;
	uint64_t cid = htole64(vs->guest_cid);
	memcpy(data, (const uint8_t *)&cid + offset, len);
}

static int vsock_activate(void *dev, struct virtio_mmio *t)
{
	struct virtio_vsock *vs = dev;
	assert(t->loop == vs->loop); /* one thread owns the device: our loop's */
	vs->transport = t;
	vs->rx_starved = false;
	return 0; /* the transport now kicks every queue: pending packets go out */
}

static void vsock_queue_notify(void *dev, struct virtio_mmio *t, unsigned queue)
{
	struct virtio_vsock *vs = dev;
	if (queue == VSOCK_RX_QUEUE)
		vs->rx_starved = false; /* parked sockets get woken by settle */
	else if (queue == VSOCK_TX_QUEUE)
		vsock_process_tx(vs, t);
	/* The event queue: its buffers wait for an event we never send. */
	vsock_settle(vs);
}

/* Every connection the guest knows of ends (the host sees its socket
 * close); host connections still waiting to reach the guest stay. */
static void vsock_reset(void *dev)
{
	struct virtio_vsock *vs = dev;
	struct vsock_conn *next;
	for (struct vsock_conn *c = vs->conns; c; c = next) {
		next = c->next;
		if (c->state == VSOCK_HOST_CMD || (c->state == VSOCK_REQUEST && !c->request_sent))
			continue;
		vsock_drop_conn(vs, c);
	}
	vs->n_orphans = 0;
	vs->rx_starved = false;
}

/* After a restore the host ends of the guest's connections are gone, and
 * the guest may be a clone: the TRANSPORT_RESET event (virtio 1.x 5.10.6.7)
 * makes it drop every connection and read its CID again. */
static void vsock_restored(void *dev, struct virtio_mmio *t)
{
	struct virtio_vsock *vs = dev;
	struct virtq *vq = virtio_mmio_queue(t, VSOCK_EVENT_QUEUE);
	struct virtq_seg segs[4];
	struct virtq_chain chain;
	virtq_chain_init(&chain, segs, 4);
	if (virtq_pop(vq, &chain) != 1) {
		log_limited(&vs->log_limit, "vsock: no event buffer for the transport reset");
		return;
	}
	uint32_t id = htole32(VIRTIO_VSOCK_EVENT_TRANSPORT_RESET);
	uint32_t len = virtq_chain_write(&chain, 0, &id, sizeof(id)) == 0 ? sizeof(id) : 0;
	(void)virtq_push(vq, chain.head, len);
	virtio_mmio_notify_used(t, VSOCK_EVENT_QUEUE);
}

const struct virtio_device_ops virtio_vsock_ops = {
    .name = "virtio-vsock",
    .device_id = VIRTIO_ID_VSOCK,
    .num_queues = 3,
    .queue_max = VSOCK_QUEUE_SIZE,
    .features = 0, /* stream sockets only: no SEQPACKET */
    .config_size = sizeof(struct virtio_vsock_config),
    .config_read = vsock_config_read,
    .activate = vsock_activate,
    .restored = vsock_restored,
    .queue_notify = vsock_queue_notify,
    .reset = vsock_reset,
};

/* ---- Creation and teardown ----------------------------------------------------------- */

struct virtio_vsock *virtio_vsock_create(uint32_t guest_cid, const char *uds_path,
					 struct event_loop *loop, char *err, size_t errlen)
{
	if (guest_cid < 3 || guest_cid == UINT32_MAX) {
		snprintf(err, errlen, "guest cid %u is reserved (use 3 .. 4294967294)", guest_cid);
		return NULL;
	}
	if (!uds_path || !*uds_path || !loop) {
		snprintf(err, errlen, "uds_path is required");
		return NULL;
	}
	struct virtio_vsock *vs = calloc(1, sizeof(*vs));
	if (!vs) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	vs->listen_fd = vs->wake_fd = vs->timer_fd = -1;
	if (strlen(uds_path) >= sizeof(vs->uds_path)) {
		snprintf(err, errlen, "%s: longer than %zu bytes", uds_path,
			 sizeof(vs->uds_path) - 1);
		free(vs);
		return NULL;
	}
	strcpy(vs->uds_path, uds_path);
	vs->loop = loop;
	vs->guest_cid = guest_cid;
	vs->next_port = VSOCK_FIRST_PORT;
	vs->log_limit.burst = 5;
	if (vsock_listen_uds(vs, err, errlen) < 0)
		goto fail;
	vs->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	vs->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	int r = vs->wake_fd < 0 || vs->timer_fd < 0 ? -errno : 0;
	if (r == 0)
		r = event_loop_add(loop, vs->listen_fd, EPOLLIN, vsock_on_listen, vs);
	if (r == 0)
		r = event_loop_add(loop, vs->wake_fd, EPOLLIN, vsock_on_wake, vs);
	if (r == 0)
		r = event_loop_add(loop, vs->timer_fd, EPOLLIN, vsock_on_timer, vs);
	if (r < 0) {
		snprintf(err, errlen, "%s: event loop: %s", vs->uds_path, strerror(-r));
		goto fail;
	}
	return vs;
fail:
	virtio_vsock_destroy(vs);
	return NULL;
}

static void close_watched(struct event_loop *loop, int fd)
{
	if (fd < 0)
		return;
	(void)event_loop_remove(loop, fd);
	close(fd);
}

static void free_list(struct event_loop *loop, struct vsock_conn *c)
{
	while (c) {
		struct vsock_conn *next = c->next;
		if (c->watched)
			(void)event_loop_remove(loop, c->fd);
		vsock_conn_free(c);
		c = next;
	}
}

void virtio_vsock_destroy(struct virtio_vsock *vs)
{
	if (!vs)
		return;
	close_watched(vs->loop, vs->listen_fd);
	close_watched(vs->loop, vs->wake_fd);
	close_watched(vs->loop, vs->timer_fd);
	free_list(vs->loop, vs->conns);
	unix_listener_remove(&(struct unix_listener){.dev = vs->uds_dev, .ino = vs->uds_ino},
			     vs->uds_path);
	free(vs);
}

/* ---- The device type ----------------------------------------------------------------- */

static size_t vsock_count(const struct vm_config *cfg)
{
	return cfg->vsock;
}

static void *vsock_type_create(const struct device_env *env, size_t i, struct device_error *e)
{
	(void)i;
	snprintf(e->section, sizeof(e->section), "vsock");
	e->at = &env->cfg->vsock_uds.at;
	return virtio_vsock_create(env->cfg->vsock_cid, env->cfg->vsock_uds.path, env->loop, e->msg,
				   sizeof(e->msg));
}

static void vsock_type_destroy(void *dev)
{
	virtio_vsock_destroy(dev);
}

static void vsock_metrics(void *dev, FILE *out)
{
	struct virtio_vsock *vs = dev;
	vsock_lock(vs);
	fprintf(out, ",\"cid\":%" PRIu64 ",\"connections\":%u,\"connections_total\":%" PRIu64,
		vs->guest_cid, vs->n_conns, vs->conns_total);
	vsock_unlock(vs);
}

const struct virtio_type virtio_vsock_type = {
    "virtio-vsock",	&virtio_vsock_ops, vsock_count, vsock_type_create,
    vsock_type_destroy, vsock_metrics,	   NULL};
