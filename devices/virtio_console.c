/* virtio_console.c - placeholder until the device model lands: refuses configs
 * that ask for it, with a clear message. */
#include "virtio_console.h"

#include <stdio.h>

const struct virtio_device_ops virtio_console_ops = {.name = "virtio-console"};

struct virtio_console *virtio_console_create(const struct vm_config *cfg, int in_fd, struct event_loop *loop, char *err, size_t errlen)
{
	(void)cfg; (void)in_fd; (void)loop;
	snprintf(err, errlen, "virtio-console is not available in this build yet");
	return NULL;
}

void virtio_console_destroy(struct virtio_console *dev)
{
	(void)dev;
}
