/* virtio_blk_type.c - virtio-blk as the VM sees it (virtio_type.h): one
 * drive per [drive.NAME] section, its thread started with the others, its
 * counters in the metrics. */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>

#include "virtio_blk_internal.h"
#include "virtio_type.h"

static size_t blk_count(const struct vm_config *cfg)
{
	return cfg->n_drives;
}

static void *blk_type_create(const struct device_env *env, size_t i, struct device_error *e)
{
	const struct drive_config *d = &env->cfg->drives[i];
	snprintf(e->section, sizeof(e->section), "drive.%s", d->name);
	e->at = &d->at;
	return virtio_blk_create(d, env->loop, e->msg, sizeof(e->msg));
}

static void blk_type_destroy(void *dev)
{
	virtio_blk_destroy(dev);
}

static void blk_metrics(void *dev, FILE *out)
{
	struct virtio_blk *blk = dev;
	struct blk_stats *s = &blk->stats;
	fprintf(out,
		",\"name\":\"drive.%s\",\"reads\":%" PRIu64 ",\"writes\":%" PRIu64
		",\"flushes\":%" PRIu64 ",\"read_bytes\":%" PRIu64 ",\"write_bytes\":%" PRIu64
		",\"errors\":%" PRIu64 ",\"throttles\":%" PRIu64 ",\"io\":\"%s\"",
		blk->name, atomic_load(&s->reads), atomic_load(&s->writes),
		atomic_load(&s->flushes), atomic_load(&s->read_bytes), atomic_load(&s->write_bytes),
		atomic_load(&s->errors), atomic_load(&s->throttles),
		virtio_blk_uring(blk) ? "io_uring" : "sync");
}

static int blk_type_start(void *dev, char *err, size_t errlen)
{
	return virtio_blk_start(dev, err, errlen);
}

const struct virtio_type virtio_blk_type = {
    .name = "virtio-blk",
    .ops = &virtio_blk_ops,
    .count = blk_count,
    .create = blk_type_create,
    .destroy = blk_type_destroy,
    .metrics = blk_metrics,
    .start = blk_type_start,
};
