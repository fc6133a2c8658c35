/* virtio_type.h - a virtio device type as the VM sees it: which config
 * sections ask for it, how one is made from its section and freed. Each
 * device file defines its type; vm_devices.c lists them in slot order and
 * does the rest (transport, bus, ACPI and command-line descriptions, which
 * are the same for every virtio device). */
#ifndef MINNOW_VIRTIO_TYPE_H
#define MINNOW_VIRTIO_TYPE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "config.h"
#include "event_loop.h"
#include "virtio_mmio.h"

/* What a device may use of the VM it is made for. */
struct device_env {
	const struct vm_config *cfg;
	struct event_loop *loop; /* serves the device's fds; its thread owns the device */
	int console_in_fd;	 /* virtio-console's input: -1 (none), or an fd it reads */
	/* Called when a console's stdout reader goes away (out_sink.h). */
	void (*console_gone)(void *opaque);
	void *opaque;
};

/* Why create() failed: the config section and where it was set, a
 * one-line reason, and whether the host failed (minnow exits 1) rather
 * than the back end the config names (exit 2). */
struct device_error {
	char section[CONFIG_NAME_MAX + 8];
	const struct config_origin *at; /* NULL: not from a file */
	char msg[PATH_MAX + 200];
	bool host_failure;
};

struct virtio_type {
	const char *name; /* for logs and the bus, e.g. "virtio-blk" */
	const struct virtio_device_ops *ops;
	/* How many devices of this type the config asks for. */
	size_t (*count)(const struct vm_config *cfg);
	/* Makes the i-th one (i < count); NULL with *e filled in when its
	 * back end cannot be set up. */
	void *(*create)(const struct device_env *env, size_t i, struct device_error *e);
	/* Frees what create() returned; on the loop thread or with the loop
	 * not running. */
	void (*destroy)(void *dev);
	/* Optional: the device's own counters as JSON members, each with a
	 * leading comma (e.g. ,"read_bytes":N), for the control socket's
	 * metrics. On the loop thread. */
	void (*metrics)(void *dev, FILE *out);
	/* Optional: starts the device's own threads, which install their
	 * seccomp filters before it returns. Main thread, after
	 * seccomp_prepare() and before the vCPUs start. Returns 0, or -1
	 * with a one-line reason in err. */
	int (*start)(void *dev, char *err, size_t errlen);
};

extern const struct virtio_type virtio_blk_type;
extern const struct virtio_type virtio_net_type;
extern const struct virtio_type virtio_console_type;
extern const struct virtio_type virtio_rng_type;
extern const struct virtio_type virtio_vsock_type;
extern const struct virtio_type virtio_fs_type;

#endif
