/* snapshot_file.c - the state file's container (snapshot_file.h). */
#include "snapshot_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

struct header {
	char magic[8];
	uint32_t version;
	uint32_t reserved;
	uint64_t payload_len;
	uint32_t crc;
	uint32_t pad;
};

struct section {
	uint32_t tag, index;
	uint64_t len;
};

/* The longest payload read back: far above any VM's state. */
#define PAYLOAD_MAX (64u << 20)

/* Each section's bytes are followed by zeros up to a multiple of 8, so that
 * every section starts 8-byte aligned in the (malloc'ed) payload and its
 * fields can be read in place. */
static uint64_t padded(uint64_t len)
{
	return (len + 7) & ~(uint64_t)7;
}

static void append(struct snap_writer *w, const void *data, size_t len)
{
	if (w->error)
		return;
	if (w->len + len > w->cap) {
		size_t cap = w->cap ? w->cap : 65536;
		while (cap < w->len + len)
			cap *= 2;
		uint8_t *p = realloc(w->buf, cap);
		if (!p) {
			w->error = -ENOMEM;
			return;
		}
		w->buf = p;
		w->cap = cap;
	}
	memcpy(w->buf + w->len, data, len);
	w->len += len;
}

void snap_add(struct snap_writer *w, uint32_t tag, uint32_t index, const void *data, size_t len)
{
	struct section s = {.tag = tag, .index = index, .len = len};
	static const uint8_t zeros[8];
	append(w, &s, sizeof(s));
	append(w, data, len);
	append(w, zeros, padded(len) - len);
}

static uint32_t checksum(const uint8_t *p, size_t len)
{
	uLong crc = crc32(0L, Z_NULL, 0);
	while (len) {
		uInt n = len > (1u << 30) ? (1u << 30) : (uInt)len;
		crc = crc32(crc, p, n);
		p += n;
		len -= n;
	}
	return (uint32_t)crc;
}

static int write_all(int fd, const void *p, size_t len)
{
	const uint8_t *b = p;
	while (len) {
		ssize_t n = write(fd, b, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		b += n;
		len -= (size_t)n;
	}
	return 0;
}

int snap_write_fd(struct snap_writer *w, int fd)
{
	int r = w->error;
	if (r == 0) {
		struct header h = {.version = SNAPSHOT_VERSION, .payload_len = w->len};
		memcpy(h.magic, SNAPSHOT_MAGIC, sizeof(h.magic));
		h.crc = checksum(w->buf, w->len);
		r = write_all(fd, &h, sizeof(h));
		if (r == 0)
			r = write_all(fd, w->buf, w->len);
		if (r == 0 && fsync(fd) != 0)
			r = -errno;
	}
	free(w->buf);
	*w = (struct snap_writer){0};
	return r;
}

int snap_read_bytes(struct snap_reader *r, const void *data, size_t len, char *why, size_t whylen)
{
	*r = (struct snap_reader){0};
	struct header h;
	if (len < sizeof(h)) {
		snprintf(why, whylen, "not a minnow snapshot (%zu bytes, shorter than its header)",
			 len);
		return -1;
	}
	memcpy(&h, data, sizeof(h));
	if (memcmp(h.magic, SNAPSHOT_MAGIC, sizeof(h.magic)) != 0) {
		snprintf(why, whylen, "not a minnow snapshot (no magic)");
		return -1;
	}
	if (h.version != SNAPSHOT_VERSION) {
		snprintf(why, whylen, "snapshot format version %u; this minnow reads version %u",
			 h.version, SNAPSHOT_VERSION);
		return -1;
	}
	if (h.payload_len != len - sizeof(h)) {
		snprintf(why, whylen,
			 "truncated or padded: %zu bytes of state, the header says %llu",
			 len - sizeof(h), (unsigned long long)h.payload_len);
		return -1;
	}
	const uint8_t *payload = (const uint8_t *)data + sizeof(h);
	if (checksum(payload, h.payload_len) != h.crc) {
		snprintf(why, whylen, "checksum mismatch: the file is damaged");
		return -1;
	}
	/* The sections must tile the payload exactly. */
	for (size_t off = 0; off < h.payload_len;) {
		struct section s;
		if (h.payload_len - off < sizeof(s)) {
			snprintf(why, whylen, "a section header is cut off at byte %zu", off);
			return -1;
		}
		memcpy(&s, payload + off, sizeof(s));
		off += sizeof(s);
		if (s.len > h.payload_len - off || padded(s.len) > h.payload_len - off) {
			snprintf(why, whylen, "section %u.%u runs past the end", s.tag, s.index);
			return -1;
		}
		off += padded(s.len);
	}
	r->buf = malloc(h.payload_len ? h.payload_len : 1);
	if (!r->buf) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	memcpy(r->buf, payload, h.payload_len);
	r->len = h.payload_len;
	return 0;
}

int snap_read_file(struct snap_reader *r, const char *path, char *why, size_t whylen)
{
	*r = (struct snap_reader){0};
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		snprintf(why, whylen, "%s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > PAYLOAD_MAX + sizeof(struct header)) {
		snprintf(why, whylen,
			 S_ISREG(st.st_mode) ? "too large for a state file" : "not a regular file");
		close(fd);
		return -1;
	}
	size_t len = (size_t)st.st_size;
	uint8_t *data = malloc(len ? len : 1);
	size_t got = 0;
	while (data && got < len) {
		ssize_t n = read(fd, data + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (!data || got != len) {
		snprintf(why, whylen, "%s", data ? "cannot read it whole" : "out of memory");
		free(data);
		return -1;
	}
	int rc = snap_read_bytes(r, data, len, why, whylen);
	free(data);
	return rc;
}

const void *snap_find(const struct snap_reader *r, uint32_t tag, uint32_t index, size_t *len)
{
	for (size_t off = 0; off < r->len;) {
		struct section s;
		memcpy(&s, r->buf + off, sizeof(s));
		off += sizeof(s);
		if (s.tag == tag && s.index == index) {
			*len = s.len;
			return r->buf + off;
		}
		off += padded(s.len);
	}
	return NULL;
}

void snap_reader_free(struct snap_reader *r)
{
	free(r->buf);
	*r = (struct snap_reader){0};
}
