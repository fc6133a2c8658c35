/* virtio_console.h - virtio console (device id 3), port 0 only. */
#ifndef MINNOW_VIRTIO_CONSOLE_H
#define MINNOW_VIRTIO_CONSOLE_H

#include <stddef.h>

#include "config.h"
#include "event_loop.h"
#include "out_sink.h"
#include "virtio_mmio.h"

#define VIRTIO_CONSOLE_QUEUE_SIZE 256  /* QueueNumMax of receiveq and transmitq */
#define VIRTIO_CONSOLE_MAX_SEGS	  64   /* segments accepted in one chain */
#define VIRTIO_CONSOLE_PENDING	  4096 /* input read ahead of the guest's buffers */
#define VIRTIO_CONSOLE_TX_BUDGET  64   /* transmitq chains per event-loop turn */

struct virtio_console;

/* The device model for virtio_mmio_create(); dev is a struct virtio_console.
 *
 * One port (0), no MULTIPORT, no EMERG_WRITE. VIRTIO_CONSOLE_F_SIZE is
 * offered only when the output is stdio and stdout is a terminal with a
 * non-zero size. A driver that takes it gets a configuration-change
 * interrupt after the first transmitq chain after DRIVER_OK (Linux reads
 * cols/rows on those interrupts only, and only once its port 0 exists),
 * and another whenever the terminal's size is found changed, which is
 * looked at after each transmitq batch (no SIGWINCH needed). Config
 * space (struct virtio_console_config, 12 bytes, read-only) reads
 * cols/rows (0 when F_SIZE is not offered), max_nr_ports = 1, emerg_wr = 0.
 *
 * Queue 0, receiveq (host to guest): every chain must be device-writable
 * only; input bytes fill chains in order and each goes back used with the
 * number of bytes written. Queue 1, transmitq (guest to host): every chain
 * must be device-readable only; all its bytes go to the output in order and
 * it goes back used with length 0. A readable segment on receiveq, a
 * writable one on transmitq, a chain of more than VIRTIO_CONSOLE_MAX_SEGS
 * segments, or a bad chain is a guest error: DEVICE_NEEDS_RESET.
 *
 * Output goes through an out_sink (out_sink.h: bounded waits, then
 * dropped while stalled; EPIPE ends it), one batch per transmitq turn of
 * at most VIRTIO_CONSOLE_TX_BUDGET chains (the rest is served on a later
 * turn, after other devices').
 * minnow ignores SIGPIPE: a closed pipe gives EPIPE.
 *
 * Input. With a loop, in_fd is watched on it while the device is active
 * and the guest has receive buffers; each readiness event reads up to
 * VIRTIO_CONSOLE_PENDING bytes, and whatever does not fit the posted
 * buffers waits in the device (the fd is then no longer watched) until the
 * driver kicks receiveq. Files epoll refuses (regular files, /dev/null),
 * and every fd when there is no loop, are read when the driver kicks
 * receiveq, as long as poll() says they are readable and buffers remain.
 * A read of 0 bytes ends the input (on a terminal only together with a
 * hang-up, so that ^D does not end it); so does a read error (logged).
 * Reset drops what waits in the device; the fd keeps what was not read. */
extern const struct virtio_device_ops virtio_console_ops;

/* Port 0's output goes where cfg->vconsole_output / vconsole_path say
 * (stdio: stdout, which is never closed; file: the path opened with
 * O_WRONLY|O_CREAT|O_TRUNC|O_APPEND|O_CLOEXEC, mode 0644; none: dropped;
 * socket: a Unix stream socket connected to the path, which is also the
 * input when in_fd is -1); its input comes from `in_fd` (-1 for none, e.g.
 * stdin when the UART does not take it; never closed by the device), served on `loop` (NULL: see
 * above). `loop` must outlive the device. Returns the device, or NULL with
 * a one-line reason in err ("PATH: strerror" when the file cannot be
 * opened). */
struct virtio_console *virtio_console_create(const struct vm_config *cfg, int in_fd,
					     struct event_loop *loop, char *err, size_t errlen);

/* Calls gone(opaque) once when the output's reader goes away (EPIPE; see
 * out_sink.h). Call before the device is active. */
void virtio_console_on_gone(struct virtio_console *con, void (*gone)(void *), void *opaque);

/* Stops watching in_fd and frees the device (closes a file it opened);
 * NULL is fine. Call with the loop stopped, or else while the transport
 * still exists and without its lock held (an input callback may be
 * waited for). */
void virtio_console_destroy(struct virtio_console *con);

#endif
