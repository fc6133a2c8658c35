/* vsock_conn.h - one virtio-vsock stream connection between a guest port and
 * a host Unix socket: its state, credit accounting (virtio 1.x 5.10.6.3),
 * the guest->host byte buffer and its reaction to each packet the guest
 * sends. No locks, no event loop, no virtqueues: the device (vsock_host.c,
 * vsock_queues.c) drives it and sends the control packets it asks for
 * (`pending`). */
#ifndef MINNOW_VSOCK_CONN_H
#define MINNOW_VSOCK_CONN_H

#include <linux/virtio_vsock.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define VSOCK_HOST_CID 2u
/* Measured in L1 (make bench-exec's guest, Linux 6.1): the guest keeps at
 * most 256 KiB unacknowledged whatever buf_alloc says, so a larger window
 * gains nothing, and a credit-update threshold past 256 KiB of unacknowledged
 * data stalls the stream (the guest waits for an update that never comes). */
#define VSOCK_CONN_BUF_ALLOC   (256u * 1024) /* our buf_alloc, per connection */
#define VSOCK_CREDIT_THRESHOLD (VSOCK_CONN_BUF_ALLOC / 2)
#define VSOCK_CMD_MAX	       32u /* longest "CONNECT <port>\n" line accepted */

enum vsock_state {
	VSOCK_HOST_CMD,	   /* accepted on the listener, reading "CONNECT <port>\n" */
	VSOCK_REQUEST,	   /* host-initiated: REQUEST queued or sent, awaiting RESPONSE */
	VSOCK_ESTABLISHED, /* data flows, each direction until it is shut down */
	VSOCK_CLOSING,	   /* host socket closed, SHUTDOWN sent: awaiting the guest's RST */
};

/* Control packets waiting for an rx buffer, sent in this bit order. */
enum {
	VSOCK_PEND_REQUEST = 1u << 0,
	VSOCK_PEND_RESPONSE = 1u << 1,
	VSOCK_PEND_CREDIT_UPDATE = 1u << 2,
	VSOCK_PEND_CREDIT_REQUEST = 1u << 3,
	VSOCK_PEND_SHUTDOWN = 1u << 4,
};

/* What the device must do after vsock_conn_on_packet(). */
enum vsock_action {
	VSOCK_KEEP,  /* nothing more (pending packets may have been added) */
	VSOCK_RESET, /* protocol violation or host error: RST the guest, close */
	VSOCK_CLOSE, /* the guest reset the connection: close, send nothing */
};

struct vsock_conn {
	struct vsock_conn *next;
	void *owner;	 /* the device, for the fd's event-loop callback */
	int fd;		 /* host Unix socket, -1 once closed */
	uint32_t events; /* epoll events registered for fd */
	bool watched;	 /* fd is in the event loop */
	bool parked;	 /* taken out of the loop after EPOLLHUP while unable to read */
	enum vsock_state state;
	uint64_t guest_cid;
	uint32_t guest_port, host_port;
	bool request_sent;	 /* our REQUEST reached the guest */
	uint64_t deadline_ms;	 /* REQUEST or CLOSING timeout (monotonic), 0: none */
	unsigned pending;	 /* VSOCK_PEND_* */
	uint32_t shutdown_flags; /* for the pending SHUTDOWN */
	/* The guest's receive side, as it told us. */
	uint32_t peer_buf_alloc, peer_fwd_cnt;
	uint32_t tx_cnt;	/* RW bytes we sent to the guest */
	uint32_t peer_shutdown; /* SHUTDOWN flags received */
	bool credit_requested;	/* CREDIT_REQUEST sent, no update since */
	/* Our receive side. */
	uint32_t rx_cnt;      /* RW bytes accepted from the guest */
	uint32_t fwd_cnt;     /* of those, written to the host socket */
	uint32_t adv_fwd_cnt; /* fwd_cnt as last told to the guest */
	bool host_eof;	      /* read() returned 0: the host sends no more */
	bool host_hup;	      /* the host closed both directions */
	bool host_shut_wr;    /* we shut down our writing side */
	uint8_t *out;	      /* ring of rx_cnt - fwd_cnt bytes not yet written */
	uint32_t out_head, out_len;
	char cmd[VSOCK_CMD_MAX];
	unsigned cmd_len;
};

/* A connection in `state` on host socket fd (owned from now on). NULL
 * without memory. */
struct vsock_conn *vsock_conn_new(void *owner, int fd, enum vsock_state state, uint64_t guest_cid);

/* Closes fd (the caller has taken it out of the loop) and frees; NULL ok. */
void vsock_conn_free(struct vsock_conn *c);

/* Closes the host socket (already out of the event loop); keeps c. */
void vsock_conn_close_fd(struct vsock_conn *c);

/* Bytes we may still send the guest: peer_buf_alloc - (tx_cnt -
 * peer_fwd_cnt), 0 if the guest shrank its buffer below what is in flight. */
uint32_t vsock_conn_credit(const struct vsock_conn *c);

/* Whether RW data should be read from the host socket now (state, shutdown
 * flags, EOF and credit; not rx buffers, which the device knows). */
bool vsock_conn_wants_read(const struct vsock_conn *c);

/* The epoll events the host socket needs in the current state (reading per
 * vsock_conn_wants_read() and `can_send`, EPOLLOUT while bytes wait). */
uint32_t vsock_conn_events(const struct vsock_conn *c, bool can_send);

/* Fills an outgoing header of `op` (len 0; SHUTDOWN takes shutdown_flags)
 * with our buf_alloc and fwd_cnt, and notes the fwd_cnt as advertised. */
void vsock_conn_header(struct vsock_conn *c, struct virtio_vsock_hdr *h, uint16_t op);

/* An RW packet of n bytes went to the guest: counts it and, when the
 * guest's credit is used up, asks it for an update (once). */
void vsock_conn_sent(struct vsock_conn *c, uint32_t n);

/* Reads the host's "CONNECT <port>\n" without consuming anything after the
 * newline. Returns 1 with *port, 0 when more is needed, -EPROTO for a bad
 * line, -ECONNRESET on EOF, or -errno from recv. */
int vsock_conn_read_command(struct vsock_conn *c, uint32_t *port);

/* Applies a packet the guest sent on this connection (its header already
 * checked: cids, type, op known, len within the chain); `iov` holds the
 * len payload bytes. Updates the peer's credit, moves the state machine,
 * writes RW data to the host socket (buffering what does not fit), and
 * adds pending control packets. */
enum vsock_action vsock_conn_on_packet(struct vsock_conn *c, const struct virtio_vsock_hdr *h,
				       const struct iovec *iov, int iovcnt);

/* The host socket is writable: writes buffered bytes. Returns VSOCK_KEEP
 * or VSOCK_RESET (write error, or the guest's full shutdown is complete). */
enum vsock_action vsock_conn_on_writable(struct vsock_conn *c);

/* The host sent EOF (hup: it closed both directions): queues SHUTDOWN to
 * the guest. Returns VSOCK_KEEP or VSOCK_RESET when buffered guest data
 * can no longer be delivered. */
enum vsock_action vsock_conn_on_host_eof(struct vsock_conn *c, bool hup);

#endif
