/* virtio_vsock_internal.h - what the three parts of virtio-vsock share: virtio_vsock.c (device
 * ops, creation), vsock_queues.c (rx and tx packets) and vsock_host.c (the Unix sockets and
 * the table of connections). Not for the rest of the VMM.
 *
 * Everything here runs on the event loop's thread, which owns the device (event_loop.h):
 * device ops, socket, wake and timer callbacks alike. Work started from a socket or timer
 * callback takes the transport lock first (vsock_lock), because vCPU threads change queue
 * registers under it. */
#ifndef MINNOW_VIRTIO_VSOCK_INTERNAL_H
#define MINNOW_VIRTIO_VSOCK_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>

#include "log.h"
#include "timing.h"
#include "virtio_mmio.h"
#include "virtio_vsock.h"
#include "virtqueue.h"
#include "vsock_conn.h"

#define VSOCK_RX_QUEUE	     0
#define VSOCK_TX_QUEUE	     1
#define VSOCK_EVENT_QUEUE    2
#define VSOCK_QUEUE_SIZE     256
#define VSOCK_MAX_SEGS	     VSOCK_QUEUE_SIZE /* segments per chain we accept */
#define VSOCK_TX_BUDGET	     64		      /* tx chains served per event-loop turn */
#define VSOCK_MAX_CONNS	     64
#define VSOCK_MAX_ORPHANS    256	  /* queued RSTs for packets without a connection */
#define VSOCK_MAX_RW	     (64u * 1024) /* payload per RW packet to the guest */
#define VSOCK_READS_PER_CALL 16
#define VSOCK_REQUEST_MS     2000	/* the guest must answer our REQUEST by then */
#define VSOCK_CLOSE_MS	     2000	/* and our SHUTDOWN(both) with RST */
#define VSOCK_FIRST_PORT     (1u << 30) /* host ports for host-initiated connections */
#define HDR_SIZE	     sizeof(struct virtio_vsock_hdr)

/* An RST owed to the guest for a packet or connection that is gone. */
struct orphan_rst {
	uint64_t src_cid;
	uint32_t src_port, dst_port;
};

struct virtio_vsock {
	struct virtio_mmio *transport; /* known from the first activation */
	struct event_loop *loop;
	uint64_t guest_cid;
	char uds_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t uds_dev;
	ino_t uds_ino;
	int listen_fd, wake_fd, timer_fd;
	bool rx_starved; /* the rx queue ran dry: wait for the driver's kick */
	bool rx_pushed;	 /* rx chains pushed since the last settle */
	struct vsock_conn *conns;
	unsigned n_conns;
	uint64_t conns_total; /* connections ever made, both ways (metrics) */
	uint32_t next_port;
	struct orphan_rst orphans[VSOCK_MAX_ORPHANS];
	unsigned n_orphans;
	uint64_t timer_at; /* deadline the timerfd is armed for, 0: disarmed */
	struct virtq_seg rx_segs[VSOCK_MAX_SEGS], tx_segs[VSOCK_MAX_SEGS];
	struct iovec rx_iov[VSOCK_MAX_SEGS], tx_iov[VSOCK_MAX_SEGS];
	struct log_limit log_limit;
};

/* Unless said otherwise, call the functions below on the loop thread with the transport lock
 * held once there is a transport: from a device op, or between vsock_lock() and
 * vsock_unlock(). */

/* ---- Locking and state (virtio_vsock.c) ------------------------------------------- */

/* For work started from a socket or timer callback: takes the transport lock, once there is
 * a transport. */
void vsock_lock(struct virtio_vsock *vs);

/* Releases what vsock_lock() took. */
void vsock_unlock(struct virtio_vsock *vs);

/* Whether there is a transport and it is active (DRIVER_OK, no NEEDS_RESET). */
bool vsock_active(struct virtio_vsock *vs);

/* Whether packets can go to the guest now: active and the rx queue not run dry. */
bool vsock_can_send(struct virtio_vsock *vs);

/* ---- Packets to and from the guest (vsock_queues.c) -------------------------------- */

/* Moves host data of connection `c` (established, its socket readable or parked) to the
 * guest for a while, control packets first. May end `c` (vsock_apply()). */
void vsock_read_host(struct virtio_vsock *vs, struct vsock_conn *c);

/* Pops up to VSOCK_TX_BUDGET tx chains of transport `t` (the rest is served on a later
 * event-loop turn, see serve_queue()), hands each guest packet to its connection (or
 * answers it with an RST), pushes the chains back and notifies the driver; fails the device
 * for a bad chain. */
void vsock_process_tx(struct virtio_vsock *vs, struct virtio_mmio *t);

/* Sends what is pending, sets each socket's epoll events to match its state, arms the
 * timer and raises the rx queue's used-buffer interrupt. Call after every piece of work. */
void vsock_settle(struct virtio_vsock *vs);

/* ---- Host sockets and connections (vsock_host.c) ----------------------------------- */

/* Has the loop read parked sockets soon (vsock_on_wake()), rather than from inside the work
 * that unparks them. */
void vsock_wake(struct virtio_vsock *vs);

/* The connection a guest packet from guest_port to host_port belongs to: one the guest
 * knows of (not waiting for CONNECT, REQUEST sent if host-initiated). NULL if none. */
struct vsock_conn *vsock_find_conn(struct virtio_vsock *vs, uint32_t guest_port,
				   uint32_t host_port);

/* Forgets a connection without telling the guest: takes its socket off the loop, closes it
 * and frees `c`. */
void vsock_drop_conn(struct virtio_vsock *vs, struct vsock_conn *c);

/* Queues an RST to the guest from (src_cid, src_port) to its dst_port; dropped (and logged)
 * when VSOCK_MAX_ORPHANS are already waiting. */
void vsock_queue_rst(struct virtio_vsock *vs, uint64_t src_cid, uint32_t src_port,
		     uint32_t dst_port);

/* Ends a connection with an RST to the guest (if the guest knows of it) and closes the host
 * socket; `c` is freed. */
void vsock_reset_conn(struct virtio_vsock *vs, struct vsock_conn *c);

/* Logs (rate-limited, one line) that the host socket of established connection `c` failed
 * with errno `err` (0: read it from SO_ERROR): its peer vanished, the guest gets an RST. */
void vsock_log_host_error(struct virtio_vsock *vs, const struct vsock_conn *c, int err);

/* Carries out what the connection's state machine asked for: VSOCK_RESET and VSOCK_CLOSE
 * end `c`; VSOCK_KEEP in CLOSING closes the host socket and starts the close timeout. */
void vsock_apply(struct virtio_vsock *vs, struct vsock_conn *c, enum vsock_action act);

/* A guest REQUEST (header `h`, little-endian) to host port P: connects to "<uds_path>_P" and
 * queues RESPONSE, or queues an RST when nothing listens there or there are too many
 * connections. */
void vsock_guest_connect(struct virtio_vsock *vs, const struct virtio_vsock_hdr *h);

/* Binds and listens on vs->uds_path, replacing a stale socket file; records its device and
 * inode for destroy. 0, or -errno with a one-line reason in `err`. No lock needed. */
int vsock_listen_uds(struct virtio_vsock *vs, char *err, size_t errlen);

/* Event-loop callbacks (no lock held; `opaque` is the device): a connection on the listener,
 * vs->wake_fd (read parked sockets), vs->timer_fd (REQUEST and CLOSING timeouts). Each takes
 * vsock_lock(). */
void vsock_on_listen(void *opaque, uint32_t events);
void vsock_on_wake(void *opaque, uint32_t events);
void vsock_on_timer(void *opaque, uint32_t events);

#endif
