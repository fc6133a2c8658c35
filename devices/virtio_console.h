/* virtio_console.h - virtio console (device id 3), port 0 only. */
#ifndef MINNOW_VIRTIO_CONSOLE_H
#define MINNOW_VIRTIO_CONSOLE_H

#include <stddef.h>

#include "config.h"
#include "event_loop.h"
#include "virtio_mmio.h"

struct virtio_console;

/* The device model for virtio_mmio_create(); dev is a struct virtio_console. */
extern const struct virtio_device_ops virtio_console_ops;

/* Port 0's output goes where cfg->vconsole_output / vconsole_path say
 * (stdio, a file, none); its input comes from `in_fd` (-1 for none, e.g.
 * stdin when the UART does not take it), served on `loop`. Returns the
 * device, or NULL with a one-line reason in err. */
struct virtio_console *virtio_console_create(const struct vm_config *cfg, int in_fd,
					     struct event_loop *loop, char *err, size_t errlen);

/* Frees the device (closes a file it opened); NULL is fine. */
void virtio_console_destroy(struct virtio_console *con);

#endif
