/* virtio_blk.c - virtio-blk requests for minnow-test and the virtio-blk
 * scenario: config, GET_ID, patterned writes (direct, multi-segment and
 * indirect chains), FLUSH, read-back, DISCARD, WRITE_ZEROES, a request past
 * the end, and writes to a read-only drive. */
#include "io.h"
#include "virtio.h"

#define SECTOR			512u
#define CFG_CAP			0
#define CFG_SIZEMAX		8
#define CFG_SEGMAX		12
#define CFG_BLKSIZE		20
#define CFG_MAX_DISCARD_SECTORS 36
#define CFG_MAX_WZ_SECTORS	48

bool blk_open(struct blk *b, struct vdev *d, uint64_t want, uint16_t qsize)
{
	want |= VIRTIO_BIT(VIRTIO_BLK_F_RO) | VIRTIO_BIT(VIRTIO_BLK_F_SIZE_MAX) |
		VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) | VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE) |
		VIRTIO_BIT(VIRTIO_BLK_F_FLUSH) | VIRTIO_BIT(VIRTIO_BLK_F_DISCARD) |
		VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES);
	b->d = d;
	if (!virtio_begin(d, want))
		return false;
	b->capacity = vdev_cfg64(d, CFG_CAP);
	b->size_max =
	    d->features & VIRTIO_BIT(VIRTIO_BLK_F_SIZE_MAX) ? vdev_cfg32(d, CFG_SIZEMAX) : 0;
	b->seg_max = d->features & VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) ? vdev_cfg32(d, CFG_SEGMAX) : 0;
	b->blk_size =
	    d->features & VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE) ? vdev_cfg32(d, CFG_BLKSIZE) : SECTOR;
	b->ro = d->features & VIRTIO_BIT(VIRTIO_BLK_F_RO);
	if (!b->q)
		b->q = fw_alloc(sizeof(*b->q), 64);
	if (!b->hdr)
		b->hdr = fw_alloc(sizeof(*b->hdr), 16);
	if (!b->status)
		b->status = fw_alloc(1, 1);
	if (!virtq_setup(d, b->q, 0, qsize))
		return false;
	return virtio_driver_ok(d);
}

int blk_request(struct blk *b, uint32_t type, uint64_t sector, const struct vq_buf *data,
		unsigned nbufs, bool indirect)
{
	struct vq_buf bufs[VQ_INDIRECT_MAX];
	if (nbufs + 2 > VQ_INDIRECT_MAX)
		return -1;
	b->hdr->type = type;
	b->hdr->reserved = 0;
	b->hdr->sector = sector;
	*b->status = 0xEE; /* no status written yet */
	bufs[0] = (struct vq_buf){(uint64_t)(uintptr_t)b->hdr, sizeof(*b->hdr), false};
	for (unsigned i = 0; i < nbufs; i++)
		bufs[1 + i] = data[i];
	bufs[1 + nbufs] = (struct vq_buf){(uint64_t)(uintptr_t)b->status, 1, true};
	if (virtq_transact(b->q, bufs, nbufs + 2, indirect, VIRTIO_TIMEOUT_US) < 0)
		return -1;
	return *b->status;
}

int blk_rw(struct blk *b, uint32_t type, uint64_t sector, void *buf, uint32_t n)
{
	struct vq_buf data = {(uint64_t)(uintptr_t)buf, n * SECTOR, type == VIRTIO_BLK_T_IN};
	return blk_request(b, type, sector, &data, 1, false);
}

uint64_t blk_pattern(uint64_t s, unsigned i)
{
	return (s * 0x9E3779B97F4A7C15ull) ^ ((uint64_t)i * 0xC2B2AE3D27D4EB4Full) ^
	       0x6d696e6e6f772121ull;
}

void blk_fill(uint64_t *buf, uint64_t s, uint32_t n)
{
	for (uint32_t k = 0; k < n; k++)
		for (unsigned i = 0; i < SECTOR / 8; i++)
			buf[k * (SECTOR / 8) + i] = blk_pattern(s + k, i);
}

int64_t blk_check(const uint64_t *buf, uint64_t s, uint32_t n)
{
	for (uint32_t k = 0; k < n; k++)
		for (unsigned i = 0; i < SECTOR / 8; i++)
			if (buf[k * (SECTOR / 8) + i] != blk_pattern(s + k, i))
				return (int64_t)(k * (SECTOR / 8) + i);
	return -1;
}

static void fill_words(uint64_t *buf, uint64_t v, uint32_t sectors)
{
	for (uint32_t i = 0; i < sectors * (SECTOR / 8); i++)
		buf[i] = v;
}

static int64_t check_zero(const uint64_t *buf, uint32_t sectors)
{
	for (uint32_t i = 0; i < sectors * (SECTOR / 8); i++)
		if (buf[i])
			return i;
	return -1;
}

static const char *status_name(int st)
{
	switch (st) {
	case VIRTIO_BLK_S_OK:
		return "ok";
	case VIRTIO_BLK_S_IOERR:
		return "ioerr";
	case VIRTIO_BLK_S_UNSUPP:
		return "unsupp";
	case -1:
		return "none";
	default:
		return "bad";
	}
}

/* ---- the scenario ---- */

#define MAX_SECTORS 16 /* the largest transfer below: 8 KiB */

struct wr {
	uint64_t sector; /* (uint64_t)-1: the last sector, -2: the middle */
	uint32_t n;
	unsigned split; /* data descriptors */
	bool indirect;
};

static const struct wr writes[] = {
    {0, 1, 1, false},
    {5, 4, 4, false},
    {33, 8, 2, true},
    {200, 16, 3, true},
    {(uint64_t)-2, 1, 1, false},
    {(uint64_t)-1, 1, 1, false},
};

static uint64_t wr_sector(const struct blk *b, const struct wr *w)
{
	if (w->sector == (uint64_t)-1)
		return b->capacity - 1;
	if (w->sector == (uint64_t)-2)
		return b->capacity / 2;
	return w->sector;
}

/* A transfer of w->n sectors in w->split buffers. */
static int rw_split(struct blk *b, uint32_t type, uint64_t sector, uint64_t *buf,
		    const struct wr *w)
{
	struct vq_buf data[4];
	uint32_t total = w->n * SECTOR, per = total / w->split, off = 0;
	for (unsigned i = 0; i < w->split; i++) {
		uint32_t len = i + 1 == w->split ? total - off : per;
		data[i] =
		    (struct vq_buf){(uint64_t)(uintptr_t)buf + off, len, type == VIRTIO_BLK_T_IN};
		off += len;
	}
	bool ind = w->indirect && (b->d->features & VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC));
	return blk_request(b, type, sector, data, w->split, ind);
}

/* DISCARD or WRITE_ZEROES of [first, first + n) after writing a pattern
 * there; reads back zeros. Returns false on failure. */
static bool zero_range(struct blk *b, uint32_t type, uint64_t first, uint32_t n, uint64_t *buf,
		       const char *name)
{
	blk_fill(buf, first, n);
	int st = blk_rw(b, VIRTIO_BLK_T_OUT, first, buf, n);
	if (st != VIRTIO_BLK_S_OK) {
		fw_printf("minnow-test: virtio-blk %s: pattern write status=%s\n", name,
			  status_name(st));
		return false;
	}
	struct {
		uint64_t sector;
		uint32_t num_sectors;
		uint32_t flags;
	} *seg = fw_alloc(16, 16);
	seg->sector = first;
	seg->num_sectors = n;
	seg->flags = 0;
	struct vq_buf data = {(uint64_t)(uintptr_t)seg, 16, false};
	st = blk_request(b, type, 0, &data, 1, false);
	fw_printf("minnow-test: virtio-blk %s first=%lu n=%u status=%s\n", name, first, n,
		  status_name(st));
	if (st != VIRTIO_BLK_S_OK)
		return false;
	fill_words(buf, 0xA5A5A5A5A5A5A5A5ull, n);
	st = blk_rw(b, VIRTIO_BLK_T_IN, first, buf, n);
	int64_t bad = check_zero(buf, n);
	if (st != VIRTIO_BLK_S_OK || bad >= 0) {
		fw_printf("minnow-test: virtio-blk %s read-back status=%s first nonzero word=%ld\n",
			  name, status_name(st), bad);
		return false;
	}
	return true;
}

static bool blk_rw_checks(struct blk *b)
{
	uint64_t *buf = fw_alloc(MAX_SECTORS * SECTOR, 4096);
	bool ok = true;

	/* GET_ID */
	char *id = fw_alloc(21, 16);
	struct vq_buf idb = {(uint64_t)(uintptr_t)id, 20, true};
	int st = blk_request(b, VIRTIO_BLK_T_GET_ID, 0, &idb, 1, false);
	id[20] = '\0';
	fw_printf("minnow-test: virtio-blk slot=%u get_id status=%s serial=%s\n", b->d->slot,
		  status_name(st), st == VIRTIO_BLK_S_OK ? id : "");

	if (b->capacity < 256) {
		fw_printf("minnow-test: virtio-blk capacity %lu too small (want >= 256)\n",
			  b->capacity);
		return false;
	}
	for (unsigned i = 0; i < sizeof(writes) / sizeof(writes[0]); i++) {
		const struct wr *w = &writes[i];
		uint64_t s = wr_sector(b, w);
		blk_fill(buf, s, w->n);
		st = rw_split(b, VIRTIO_BLK_T_OUT, s, buf, w);
		fw_printf("minnow-test: virtio-blk write sector=%lu n=%u segs=%u indirect=%u "
			  "status=%s\n",
			  s, w->n, w->split, w->indirect, status_name(st));
		ok &= st == VIRTIO_BLK_S_OK;
	}
	if (b->d->features & VIRTIO_BIT(VIRTIO_BLK_F_FLUSH)) {
		st = blk_request(b, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false);
		fw_printf("minnow-test: virtio-blk flush status=%s\n", status_name(st));
		ok &= st == VIRTIO_BLK_S_OK;
	} else {
		fw_printf("minnow-test: virtio-blk flush not offered\n");
	}
	for (unsigned i = 0; i < sizeof(writes) / sizeof(writes[0]); i++) {
		const struct wr *w = &writes[i];
		uint64_t s = wr_sector(b, w);
		fill_words(buf, 0x5A5A5A5A5A5A5A5Aull, w->n);
		st = rw_split(b, VIRTIO_BLK_T_IN, s, buf, w);
		int64_t bad = st == VIRTIO_BLK_S_OK ? blk_check(buf, s, w->n) : -1;
		fw_printf("minnow-test: virtio-blk read sector=%lu n=%u status=%s %s\n", s, w->n,
			  status_name(st), bad >= 0 ? "mismatch" : "match");
		if (bad >= 0)
			fw_printf("minnow-test: virtio-blk word %ld: got 0x%lx want 0x%lx\n", bad,
				  buf[bad],
				  blk_pattern(s + (uint64_t)bad / 64, (unsigned)(bad % 64)));
		ok &= st == VIRTIO_BLK_S_OK && bad < 0;
	}

	if (b->d->features & VIRTIO_BIT(VIRTIO_BLK_F_DISCARD)) {
		fw_printf("minnow-test: virtio-blk max_discard_sectors=%u\n",
			  vdev_cfg32(b->d, CFG_MAX_DISCARD_SECTORS));
		ok &= zero_range(b, VIRTIO_BLK_T_DISCARD, 64, 16, buf, "discard");
	} else {
		fw_printf("minnow-test: virtio-blk discard not offered\n");
	}
	if (b->d->features & VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES)) {
		fw_printf("minnow-test: virtio-blk max_write_zeroes_sectors=%u\n",
			  vdev_cfg32(b->d, CFG_MAX_WZ_SECTORS));
		ok &= zero_range(b, VIRTIO_BLK_T_WRITE_ZEROES, 96, 16, buf, "write-zeroes");
	} else {
		fw_printf("minnow-test: virtio-blk write-zeroes not offered\n");
	}

	/* Past the end: one sector at capacity, two straddling the end. */
	int st1 = blk_rw(b, VIRTIO_BLK_T_IN, b->capacity, buf, 1);
	int st2 = blk_rw(b, VIRTIO_BLK_T_IN, b->capacity - 1, buf, 2);
	int st3 = blk_rw(b, VIRTIO_BLK_T_OUT, b->capacity, buf, 1);
	fw_printf("minnow-test: virtio-blk beyond-capacity read=%s straddle=%s write=%s\n",
		  status_name(st1), status_name(st2), status_name(st3));
	ok &= st1 == VIRTIO_BLK_S_IOERR && st2 == VIRTIO_BLK_S_IOERR && st3 == VIRTIO_BLK_S_IOERR;
	uint32_t status = vdev_status(b->d);
	if (status & VIRTIO_S_NEEDS_RESET) {
		fw_printf("minnow-test: virtio-blk status 0x%x: needs reset after I/O errors\n",
			  status);
		ok = false;
	}
	return ok;
}

static uint32_t fnv1a(const uint8_t *p, uint64_t n)
{
	uint32_t h = 0x811c9dc5u;
	for (uint64_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x01000193u;
	}
	return h;
}

static bool blk_ro_checks(struct blk *b)
{
	uint64_t *buf = fw_alloc(SECTOR, 4096);
	int st = blk_rw(b, VIRTIO_BLK_T_IN, 0, buf, 1);
	fw_printf("minnow-test: virtio-blk ro slot=%u read status=%s sector0 fnv1a=0x%08x\n",
		  b->d->slot, status_name(st), fnv1a((const uint8_t *)buf, SECTOR));
	blk_fill(buf, 0, 1);
	int w = blk_rw(b, VIRTIO_BLK_T_OUT, 0, buf, 1);
	fw_printf("minnow-test: virtio-blk ro write status=%s\n", status_name(w));
	return st == VIRTIO_BLK_S_OK && (w == VIRTIO_BLK_S_IOERR || w == VIRTIO_BLK_S_UNSUPP);
}

int test_virtio_blk(const struct fw_boot_info *bi)
{
	virtio_start(bi);
	unsigned rw = 0, ro = 0;
	bool ok = true;
	struct vdev *d;
	for (unsigned n = 0; (d = virtio_find(VIRTIO_ID_BLOCK, n)) != 0; n++) {
		struct blk *b = fw_alloc(sizeof(*b), 64);
		if (!blk_open(b, d, VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC), 64)) {
			ok = false;
			continue;
		}
		fw_printf("minnow-test: virtio-blk slot=%u capacity=%lu blk_size=%u seg_max=%u "
			  "size_max=%u ro=%u features=0x%lx\n",
			  d->slot, b->capacity, b->blk_size, b->seg_max, b->size_max, b->ro,
			  d->features);
		if (b->ro) {
			ro++;
			ok &= blk_ro_checks(b);
		} else {
			rw++;
			ok &= blk_rw_checks(b);
		}
	}
	fw_printf("minnow-test: virtio-blk drives rw=%u ro=%u\n", rw, ro);
	if (!rw)
		ok = false;
	fw_printf("minnow-test: virtio-blk %s\n", ok ? "ok" : "FAILED");
	return ok ? FW_EXIT_OK : FW_EXIT_FAIL;
}

/* ---- blk-ioerr: the host's file system fills up under the drive ---- */

#define IOERR_HOST_SECTORS 128u /* the host's data at the start: 64 KiB */
#define IOERR_FIRST	   256u /* the writes start here, past that data */
#define IOERR_CHUNK	   128u /* sectors per write: 64 KiB */

/* Reads the host's data; its FNV-1a in *hash. Returns the status. */
static int ioerr_read_host(struct blk *b, uint64_t *buf, uint32_t *hash)
{
	int st = blk_rw(b, VIRTIO_BLK_T_IN, 0, buf, IOERR_HOST_SECTORS);
	*hash = fnv1a((const uint8_t *)buf, IOERR_HOST_SECTORS * SECTOR);
	return st;
}

/* Writes patterned 64 KiB chunks until one fails (the image lies on a full
 * file system: VIRTIO_BLK_S_IOERR), then checks that the device still
 * works: no NEEDS_RESET, the host's data and the first chunk read back. */
int test_blk_ioerr(const struct fw_boot_info *bi)
{
	virtio_start(bi);
	struct vdev *d = virtio_find(VIRTIO_ID_BLOCK, 0);
	if (!d) {
		fw_printf("minnow-test: blk-ioerr no virtio-blk device\n");
		return FW_EXIT_FAIL;
	}
	struct blk *b = fw_alloc(sizeof(*b), 64);
	if (!blk_open(b, d, 0, 16))
		return FW_EXIT_FAIL;
	uint64_t *buf = fw_alloc(IOERR_CHUNK * SECTOR, 4096);
	uint32_t before, after;
	int st1 = ioerr_read_host(b, buf, &before);
	fw_printf("minnow-test: blk-ioerr before status=%s fnv1a=0x%08x\n", status_name(st1),
		  before);

	unsigned good = 0;
	int wst = VIRTIO_BLK_S_OK;
	uint64_t s = IOERR_FIRST;
	for (; s + IOERR_CHUNK <= b->capacity; s += IOERR_CHUNK) {
		blk_fill(buf, s, IOERR_CHUNK);
		wst = blk_rw(b, VIRTIO_BLK_T_OUT, s, buf, IOERR_CHUNK);
		if (wst != VIRTIO_BLK_S_OK)
			break;
		good++;
	}
	fw_printf("minnow-test: blk-ioerr write sector=%lu status=%s after %u good writes\n", s,
		  status_name(wst), good);
	uint32_t status = vdev_status(d);
	fw_printf("minnow-test: blk-ioerr device status=0x%x needs_reset=%u\n", status,
		  (status & VIRTIO_S_NEEDS_RESET) ? 1 : 0);

	int st2 = ioerr_read_host(b, buf, &after);
	fw_printf("minnow-test: blk-ioerr after status=%s fnv1a=0x%08x\n", status_name(st2), after);
	bool first_ok = true;
	if (good) {
		fill_words(buf, 0x5A5A5A5A5A5A5A5Aull, IOERR_CHUNK);
		int st3 = blk_rw(b, VIRTIO_BLK_T_IN, IOERR_FIRST, buf, IOERR_CHUNK);
		first_ok = st3 == VIRTIO_BLK_S_OK && blk_check(buf, IOERR_FIRST, IOERR_CHUNK) < 0;
		fw_printf("minnow-test: blk-ioerr first-write status=%s %s\n", status_name(st3),
			  first_ok ? "match" : "mismatch");
	}
	bool ok = st1 == VIRTIO_BLK_S_OK && wst == VIRTIO_BLK_S_IOERR && st2 == VIRTIO_BLK_S_OK &&
		  before == after && first_ok && (status & VIRTIO_S_DRIVER_OK) &&
		  !(status & VIRTIO_S_NEEDS_RESET);
	fw_printf("minnow-test: blk-ioerr %s\n", ok ? "ok" : "FAILED");
	return ok ? FW_EXIT_OK : FW_EXIT_FAIL;
}
