/* vhost_user.h - the front end of the vhost-user protocol (QEMU's
 * docs/interop/vhost-user.rst): messages over a Unix stream socket, file
 * descriptors alongside (SCM_RIGHTS), through which a back end process
 * (virtiofsd) learns where guest RAM and the rings are and gets each
 * queue's kick and call eventfds, and then serves the virtqueues itself.
 *
 * Every call is synchronous: it sends one message and, when the message
 * has a reply (GET_*) or the back end agreed to acknowledge (protocol
 * feature REPLY_ACK, asked for by vhost_user_handshake()), waits up to
 * vu->timeout_ms for it. Any failure (the socket, a timeout, a malformed or
 * negative reply) returns -errno with one line in vu->err, and the caller
 * treats the back end as gone: nothing here retries. Not thread-safe: one
 * thread talks to one back end. */
#ifndef MINNOW_VHOST_USER_H
#define MINNOW_VHOST_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Requests (front end to back end). */
enum vhost_user_request {
	VHOST_USER_GET_FEATURES = 1,
	VHOST_USER_SET_FEATURES = 2,
	VHOST_USER_SET_OWNER = 3,
	VHOST_USER_RESET_OWNER = 4,
	VHOST_USER_SET_MEM_TABLE = 5,
	VHOST_USER_SET_VRING_NUM = 8,
	VHOST_USER_SET_VRING_ADDR = 9,
	VHOST_USER_SET_VRING_BASE = 10,
	VHOST_USER_GET_VRING_BASE = 11,
	VHOST_USER_SET_VRING_KICK = 12,
	VHOST_USER_SET_VRING_CALL = 13,
	VHOST_USER_SET_VRING_ERR = 14,
	VHOST_USER_GET_PROTOCOL_FEATURES = 15,
	VHOST_USER_SET_PROTOCOL_FEATURES = 16,
	VHOST_USER_GET_QUEUE_NUM = 17,
	VHOST_USER_SET_VRING_ENABLE = 18,
};

#define VHOST_USER_VERSION		0x1u
#define VHOST_USER_FLAG_REPLY		(1u << 2)
#define VHOST_USER_FLAG_NEED_REPLY	(1u << 3)
#define VHOST_USER_HDR_SIZE		12u
#define VHOST_USER_MAX_REGIONS		8u
#define VHOST_USER_MAX_FDS		8u
#define VHOST_USER_VRING_NOFD		(1ull << 8) /* SET_VRING_KICK/CALL: no fd sent */
#define VHOST_USER_F_PROTOCOL_FEATURES	30	    /* a virtio feature bit */
#define VHOST_USER_PROTOCOL_F_REPLY_ACK 3
#define VHOST_USER_TIMEOUT_MS		10000

/* One region of guest RAM as SET_MEM_TABLE describes it. */
struct vhost_user_region {
	uint64_t guest_phys_addr;
	uint64_t memory_size;
	uint64_t userspace_addr; /* where the front end maps it */
	uint64_t mmap_offset;	 /* offset of the region in fd */
	int fd;			 /* the memory's fd (a memfd) */
};

struct vhost_user {
	int fd;			    /* the connected socket; -1: none */
	int timeout_ms;		    /* for each reply */
	uint64_t features;	    /* the back end's virtio features (GET_FEATURES) */
	uint64_t protocol_features; /* the ones both sides use */
	char err[256];		    /* the last failure, one line */
};

/* Takes `fd`, a connected Unix stream socket (closed by vhost_user_close). */
void vhost_user_init(struct vhost_user *vu, int fd);

/* Connects to the back end listening at `path`. 0 or -errno (vu->err). */
int vhost_user_connect(struct vhost_user *vu, const char *path);

/* Closes the socket; safe twice. */
void vhost_user_close(struct vhost_user *vu);

/* The start of every session: GET_FEATURES into vu->features, and when
 * the back end has VHOST_USER_F_PROTOCOL_FEATURES, GET_PROTOCOL_FEATURES
 * and SET_PROTOCOL_FEATURES with the ones minnow uses (REPLY_ACK, when
 * offered); then SET_OWNER. */
int vhost_user_handshake(struct vhost_user *vu);

/* SET_FEATURES: the driver's features; VHOST_USER_F_PROTOCOL_FEATURES is
 * added when the back end offered it. */
int vhost_user_set_features(struct vhost_user *vu, uint64_t features);

/* SET_MEM_TABLE: `n` (1..VHOST_USER_MAX_REGIONS) regions, one fd each. */
int vhost_user_set_mem_table(struct vhost_user *vu, const struct vhost_user_region *r, size_t n);

int vhost_user_set_vring_num(struct vhost_user *vu, unsigned index, unsigned num);
int vhost_user_set_vring_base(struct vhost_user *vu, unsigned index, unsigned base);
/* GET_VRING_BASE: stops the ring; *base is the back end's next avail index. */
int vhost_user_get_vring_base(struct vhost_user *vu, unsigned index, unsigned *base);
/* SET_VRING_ADDR: the rings' addresses in the front end's address space. */
int vhost_user_set_vring_addr(struct vhost_user *vu, unsigned index, uint64_t desc, uint64_t used,
			      uint64_t avail);
/* SET_VRING_KICK / SET_VRING_CALL: an eventfd, or -1 for none. */
int vhost_user_set_vring_kick(struct vhost_user *vu, unsigned index, int fd);
int vhost_user_set_vring_call(struct vhost_user *vu, unsigned index, int fd);
int vhost_user_set_vring_enable(struct vhost_user *vu, unsigned index, bool enable);

/* Whether the back end may acknowledge (REPLY_ACK negotiated). */
bool vhost_user_acks(const struct vhost_user *vu);

#endif
