/* vhost_user.c - the vhost-user front end (vhost_user.h): message encoding, fds over
 * SCM_RIGHTS, replies with a deadline. All integers are little-endian on the wire; minnow
 * runs on x86-64, so the structs below are the wire format as they are. */
#include "vhost_user.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

struct vu_hdr {
	uint32_t request;
	uint32_t flags;
	uint32_t size;
};

struct vu_state {
	uint32_t index;
	uint32_t num;
};

struct vu_addr {
	uint32_t index;
	uint32_t flags;
	uint64_t desc_user_addr;
	uint64_t used_user_addr;
	uint64_t avail_user_addr;
	uint64_t log_guest_addr;
};

struct vu_mem_region {
	uint64_t guest_phys_addr;
	uint64_t memory_size;
	uint64_t userspace_addr;
	uint64_t mmap_offset;
};

struct vu_mem {
	uint32_t nregions;
	uint32_t padding;
	struct vu_mem_region regions[VHOST_USER_MAX_REGIONS];
};

_Static_assert(sizeof(struct vu_hdr) == VHOST_USER_HDR_SIZE, "header");
_Static_assert(sizeof(struct vu_addr) == 40, "vring address");
_Static_assert(sizeof(struct vu_mem_region) == 32, "memory region");

static int fail(struct vhost_user *vu, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct vhost_user *vu, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(vu->err, sizeof(vu->err), fmt, ap);
	va_end(ap);
	return -err;
}

static const char *request_name(uint32_t req)
{
	static const char *const names[] = {
	    [VHOST_USER_GET_FEATURES] = "GET_FEATURES",
	    [VHOST_USER_SET_FEATURES] = "SET_FEATURES",
	    [VHOST_USER_SET_OWNER] = "SET_OWNER",
	    [VHOST_USER_RESET_OWNER] = "RESET_OWNER",
	    [VHOST_USER_SET_MEM_TABLE] = "SET_MEM_TABLE",
	    [VHOST_USER_SET_VRING_NUM] = "SET_VRING_NUM",
	    [VHOST_USER_SET_VRING_ADDR] = "SET_VRING_ADDR",
	    [VHOST_USER_SET_VRING_BASE] = "SET_VRING_BASE",
	    [VHOST_USER_GET_VRING_BASE] = "GET_VRING_BASE",
	    [VHOST_USER_SET_VRING_KICK] = "SET_VRING_KICK",
	    [VHOST_USER_SET_VRING_CALL] = "SET_VRING_CALL",
	    [VHOST_USER_SET_VRING_ERR] = "SET_VRING_ERR",
	    [VHOST_USER_GET_PROTOCOL_FEATURES] = "GET_PROTOCOL_FEATURES",
	    [VHOST_USER_SET_PROTOCOL_FEATURES] = "SET_PROTOCOL_FEATURES",
	    [VHOST_USER_GET_QUEUE_NUM] = "GET_QUEUE_NUM",
	    [VHOST_USER_SET_VRING_ENABLE] = "SET_VRING_ENABLE",
	};
	return req < sizeof(names) / sizeof(names[0]) && names[req] ? names[req] : "request";
}

void vhost_user_init(struct vhost_user *vu, int fd)
{
	memset(vu, 0, sizeof(*vu));
	vu->fd = fd;
	vu->timeout_ms = VHOST_USER_TIMEOUT_MS;
}

int vhost_user_connect(struct vhost_user *vu, const char *path)
{
	vhost_user_init(vu, -1);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(a.sun_path))
		return fail(vu, ENAMETOOLONG, "socket path too long: %s", path);
	strcpy(a.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail(vu, errno, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int e = errno;
		close(fd);
		return fail(vu, e, "connect to %s: %s", path, strerror(e));
	}
	vu->fd = fd;
	return 0;
}

void vhost_user_close(struct vhost_user *vu)
{
	if (vu->fd >= 0)
		close(vu->fd);
	vu->fd = -1;
}

bool vhost_user_acks(const struct vhost_user *vu)
{
	return vu->protocol_features & (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK);
}

/* Sends one message: header, `size` bytes of payload, `nfds` fds. */
static int send_msg(struct vhost_user *vu, uint32_t req, uint32_t flags, const void *payload,
		    uint32_t size, const int *fds, size_t nfds)
{
	if (vu->fd < 0)
		return fail(vu, ENOTCONN, "%s: not connected", request_name(req));
	struct vu_hdr h = {.request = req, .flags = VHOST_USER_VERSION | flags, .size = size};
	struct iovec iov[2] = {{&h, sizeof(h)}, {(void *)payload, size}};
	union {
		char buf[CMSG_SPACE(sizeof(int) * VHOST_USER_MAX_FDS)];
		struct cmsghdr align;
	} ctl;
	struct msghdr m = {.msg_iov = iov, .msg_iovlen = size ? 2 : 1};
	if (nfds) {
		memset(&ctl, 0, sizeof(ctl));
		m.msg_control = ctl.buf;
		m.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	size_t total = sizeof(h) + size;
	ssize_t n;
	do
		n = sendmsg(vu->fd, &m, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return fail(vu, errno, "%s: %s", request_name(req), strerror(errno));
	if ((size_t)n != total) /* a Unix stream socket sends small messages whole */
		return fail(vu, EIO, "%s: short write", request_name(req));
	return 0;
}

static long ms_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Reads exactly n bytes before the deadline. Fds sent with a reply are refused (none of
 * minnow's requests asks for one) and closed. */
static int read_full(struct vhost_user *vu, uint32_t req, void *buf, size_t n,
		     const struct timespec *t0)
{
	uint8_t *p = buf;
	while (n > 0) {
		long left = vu->timeout_ms - ms_since(t0);
		struct pollfd pfd = {.fd = vu->fd, .events = POLLIN};
		int r = left > 0 ? poll(&pfd, 1, (int)left) : 0;
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return fail(vu, errno, "%s: poll: %s", request_name(req), strerror(errno));
		if (r == 0)
			return fail(vu, ETIMEDOUT, "%s: no reply within %d ms", request_name(req),
				    vu->timeout_ms);
		union {
			char buf[CMSG_SPACE(sizeof(int) * VHOST_USER_MAX_FDS)];
			struct cmsghdr align;
		} ctl;
		struct iovec iov = {p, n};
		struct msghdr m = {.msg_iov = &iov,
				   .msg_iovlen = 1,
				   .msg_control = ctl.buf,
				   .msg_controllen = sizeof(ctl.buf)};
		ssize_t got = recvmsg(vu->fd, &m, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
		if (got < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (got < 0)
			return fail(vu, errno, "%s: %s", request_name(req), strerror(errno));
		if (got == 0)
			return fail(vu, ECONNRESET, "%s: the back end closed the connection",
				    request_name(req));
		bool had_fds = false;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
			if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
				continue;
			size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (size_t i = 0; i < k; i++) {
				int fd;
				memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
				close(fd);
			}
			had_fds = true;
		}
		if (had_fds)
			return fail(vu, EPROTO, "%s: the reply carried file descriptors",
				    request_name(req));
		p += got;
		n -= (size_t)got;
	}
	return 0;
}

/* Receives the reply to `req`: a header with the REPLY flag and exactly `size` bytes. */
static int recv_reply(struct vhost_user *vu, uint32_t req, void *payload, uint32_t size)
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct vu_hdr h;
	int r = read_full(vu, req, &h, sizeof(h), &t0);
	if (r < 0)
		return r;
	if (h.request != req || (h.flags & 0x3) != VHOST_USER_VERSION ||
	    !(h.flags & VHOST_USER_FLAG_REPLY) || h.size != size)
		return fail(vu, EPROTO,
			    "%s: bad reply (request %u, flags 0x%x, size %u; expected request %u "
			    "with %u bytes)",
			    request_name(req), h.request, h.flags, h.size, req, size);
	return read_full(vu, req, payload, size, &t0);
}

/* A request without a reply of its own: acknowledged when REPLY_ACK is on. */
static int request(struct vhost_user *vu, uint32_t req, const void *payload, uint32_t size,
		   const int *fds, size_t nfds)
{
	bool ack = vhost_user_acks(vu);
	int r = send_msg(vu, req, ack ? VHOST_USER_FLAG_NEED_REPLY : 0, payload, size, fds, nfds);
	if (r < 0 || !ack)
		return r;
	uint64_t status;
	r = recv_reply(vu, req, &status, sizeof(status));
	if (r == 0 && status != 0)
		return fail(vu, EIO, "%s: the back end refused it (status %llu)", request_name(req),
			    (unsigned long long)status);
	return r;
}

static int get_u64(struct vhost_user *vu, uint32_t req, uint64_t *out)
{
	int r = send_msg(vu, req, 0, NULL, 0, NULL, 0);
	return r < 0 ? r : recv_reply(vu, req, out, sizeof(*out));
}

int vhost_user_handshake(struct vhost_user *vu)
{
	vu->protocol_features = 0;
	int r = get_u64(vu, VHOST_USER_GET_FEATURES, &vu->features);
	if (r < 0)
		return r;
	if (vu->features & (1ull << VHOST_USER_F_PROTOCOL_FEATURES)) {
		uint64_t offered;
		r = get_u64(vu, VHOST_USER_GET_PROTOCOL_FEATURES, &offered);
		if (r < 0)
			return r;
		uint64_t want = offered & (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK);
		/* Not acknowledged: REPLY_ACK is not on until the back end has it. */
		r = send_msg(vu, VHOST_USER_SET_PROTOCOL_FEATURES, 0, &want, sizeof(want), NULL, 0);
		if (r < 0)
			return r;
		vu->protocol_features = want;
	}
	return request(vu, VHOST_USER_SET_OWNER, NULL, 0, NULL, 0);
}

int vhost_user_set_features(struct vhost_user *vu, uint64_t features)
{
	if (vu->features & (1ull << VHOST_USER_F_PROTOCOL_FEATURES))
		features |= 1ull << VHOST_USER_F_PROTOCOL_FEATURES;
	return request(vu, VHOST_USER_SET_FEATURES, &features, sizeof(features), NULL, 0);
}

int vhost_user_set_mem_table(struct vhost_user *vu, const struct vhost_user_region *r, size_t n)
{
	if (n == 0 || n > VHOST_USER_MAX_REGIONS)
		return fail(vu, EINVAL, "SET_MEM_TABLE: %zu regions", n);
	struct vu_mem m;
	int fds[VHOST_USER_MAX_REGIONS];
	memset(&m, 0, sizeof(m));
	m.nregions = (uint32_t)n;
	for (size_t i = 0; i < n; i++) {
		m.regions[i] = (struct vu_mem_region){r[i].guest_phys_addr, r[i].memory_size,
						      r[i].userspace_addr, r[i].mmap_offset};
		fds[i] = r[i].fd;
	}
	/* As QEMU sends it: the regions in use only. */
	uint32_t size = (uint32_t)(8 + n * sizeof(struct vu_mem_region));
	return request(vu, VHOST_USER_SET_MEM_TABLE, &m, size, fds, n);
}

static int set_state(struct vhost_user *vu, uint32_t req, unsigned index, unsigned num)
{
	struct vu_state s = {index, num};
	return request(vu, req, &s, sizeof(s), NULL, 0);
}

int vhost_user_set_vring_num(struct vhost_user *vu, unsigned index, unsigned num)
{
	return set_state(vu, VHOST_USER_SET_VRING_NUM, index, num);
}

int vhost_user_set_vring_base(struct vhost_user *vu, unsigned index, unsigned base)
{
	return set_state(vu, VHOST_USER_SET_VRING_BASE, index, base);
}

int vhost_user_set_vring_enable(struct vhost_user *vu, unsigned index, bool enable)
{
	return set_state(vu, VHOST_USER_SET_VRING_ENABLE, index, enable);
}

int vhost_user_get_vring_base(struct vhost_user *vu, unsigned index, unsigned *base)
{
	struct vu_state s = {index, 0};
	int r = send_msg(vu, VHOST_USER_GET_VRING_BASE, 0, &s, sizeof(s), NULL, 0);
	if (r == 0)
		r = recv_reply(vu, VHOST_USER_GET_VRING_BASE, &s, sizeof(s));
	if (r == 0 && s.index != index)
		r = fail(vu, EPROTO, "GET_VRING_BASE: reply for ring %u, not %u", s.index, index);
	if (r == 0)
		*base = s.num;
	return r;
}

int vhost_user_set_vring_addr(struct vhost_user *vu, unsigned index, uint64_t desc, uint64_t used,
			      uint64_t avail)
{
	struct vu_addr a = {.index = index,
			    .desc_user_addr = desc,
			    .used_user_addr = used,
			    .avail_user_addr = avail};
	return request(vu, VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), NULL, 0);
}

static int set_vring_fd(struct vhost_user *vu, uint32_t req, unsigned index, int fd)
{
	uint64_t v = (index & 0xffu) | (fd < 0 ? VHOST_USER_VRING_NOFD : 0);
	return request(vu, req, &v, sizeof(v), fd < 0 ? NULL : &fd, fd < 0 ? 0 : 1);
}

int vhost_user_set_vring_kick(struct vhost_user *vu, unsigned index, int fd)
{
	return set_vring_fd(vu, VHOST_USER_SET_VRING_KICK, index, fd);
}

int vhost_user_set_vring_call(struct vhost_user *vu, unsigned index, int fd)
{
	return set_vring_fd(vu, VHOST_USER_SET_VRING_CALL, index, fd);
}
