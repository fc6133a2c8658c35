/* virtio_fs.h - virtio-fs (virtio 1.x section 5.11, device id 26) with a
 * vhost-user back end: minnow owns the register file and config space (the
 * tag and one request queue); a back end process (virtiofsd, started by
 * minnow on [fs.NAME] host_dir, or one already listening on [fs.NAME]
 * socket) serves the two virtqueues, hiprio (0) and requests (1), straight
 * from guest RAM, which must then be shared (guest_mem_map_shared()).
 *
 * minnow starts virtiofsd when it creates the device but talks to it only
 * at the first DRIVER_OK (GET_FEATURES, protocol features with REPLY_ACK,
 * SET_OWNER): the daemon gets ready while the guest boots.
 *
 * The data path never enters minnow: at DRIVER_OK the device hands the
 * back end guest RAM (SET_MEM_TABLE with the memfd), each ready ring's
 * size, base and addresses, the queue's QueueNotify ioeventfd as its kick
 * fd and the slot's irqfd as its call fd. A guest kick wakes the back end
 * directly; the back end's call raises the guest interrupt through KVM
 * directly; and since minnow cannot see those calls, InterruptStatus shows
 * the used-buffer bit whenever the device is live (virtio_mmio.h,
 * backend_queues): a config-change interrupt then also makes the driver
 * look at its queues, which costs it nothing but a check. The alternative,
 * a call eventfd of minnow's relayed by the event loop, costs every
 * completion a wake-up of minnow's main thread and two system calls.
 *
 * A back end that disconnects or fails a request puts the device in
 * DEVICE_NEEDS_RESET; minnow and the other devices carry on. A reset by
 * the driver stops the rings (SET_VRING_ENABLE 0, GET_VRING_BASE). */
#ifndef MINNOW_VIRTIO_FS_H
#define MINNOW_VIRTIO_FS_H

#include "virtio_mmio.h"

#define VIRTIO_FS_ID	      26 /* VIRTIO_ID_FS */
#define VIRTIO_FS_QUEUES      2	 /* hiprio + one request queue */
#define VIRTIO_FS_QUEUE_SIZE  1024
#define VIRTIO_FS_TAG_SIZE    36
#define VIRTIO_FS_CONFIG_SIZE (VIRTIO_FS_TAG_SIZE + 4)

#include <sys/types.h>

extern const struct virtio_device_ops virtio_fs_ops;

/* The virtiofsd minnow started for device `dev` (virtio_fs_type), or 0. For tests. */
pid_t virtio_fs_daemon_pid(const void *dev);

#endif
