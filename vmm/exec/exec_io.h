/* exec_io.h - the host side of `minnow exec`'s streams (the protocol is in
 * exec_proto.h): Unix listeners at "<uds_path>_<port>" where the vsock
 * device connects the guest's three connections, the spec and minnow's
 * stdin sent on the first, CMD's stdout and stderr copied from the others
 * to minnow's own.
 *
 * Why this split: stdin is read on the VM's event loop (a read after
 * EPOLLIN never blocks; sends to our own non-blocking socket never do;
 * stdin that epoll refuses, a regular file or /dev/null, is read when the
 * socket can take more), so no thread is left blocked on a terminal at the
 * end. stdout and stderr each get a thread doing blocking read() and
 * write(): writing minnow's stdout must wait for a slow reader without ever
 * dropping a byte and without blocking the loop that serves the devices,
 * and without setting O_NONBLOCK on a file description minnow shares with
 * its parent (the terminal). A thread that reaches EOF has written every
 * byte; it then shuts its socket down, which is the acknowledgement
 * minnow-init waits for before it reports CMD's status. */
#ifndef MINNOW_EXEC_IO_H
#define MINNOW_EXEC_IO_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/un.h>

#include "event_loop.h"
#include "exec_proto.h"

#define EXEC_IO_BUF (64u * 1024)

struct exec_io;

/* One of CMD's outputs: a socket copied to minnow's fd by a thread. */
struct exec_out {
	struct exec_io *io;
	int fd;	  /* STDOUT_FILENO or STDERR_FILENO */
	int sock; /* accepted, blocking; -1 before */
	pthread_t thread;
	bool started;
	_Atomic bool done; /* the thread finished (EOF or error) */
	_Atomic uint64_t bytes;
};

/* A listener's callback argument. */
struct exec_listener {
	struct exec_io *io;
	int stream; /* 0 stdin, 1 stdout, 2 stderr, 3 control */
};

#define EXEC_IO_CTL_QUEUE 16 /* control records waiting for room */

struct exec_io {
	bool ready; /* exec_io_init set the fds (fini's guard) */
	struct event_loop *loop;
	void (*on_gone)(void *opaque); /* minnow's stdout/stderr reader went away */
	void *opaque;
	char paths[4][sizeof(((struct sockaddr_un *)0)->sun_path)];
	int listen_fd[4]; /* -1 once accepted */
	struct exec_listener lst[4];
	unsigned connected; /* bit per stream accepted */
	/* stdin is a terminal in raw mode: Ctrl-A x calls on_quit, Ctrl-A
	 * Ctrl-A sends one Ctrl-A, Ctrl-A and anything else sends nothing */
	bool escapes;
	bool escape; /* the last byte was Ctrl-A */
	void (*on_quit)(void *quit_opaque);
	void *quit_opaque;
	/* Set after exec_io_init(): called instead of sending the spec when
	 * the guest connects for its command, which is then left waiting
	 * (minnow exec --save-snapshot). */
	void (*on_asked)(void *asked_opaque);
	void *asked_opaque;
	/* the control connection (exec_proto.h): records to the guest */
	int ctl_sock; /* -1 before, and once the guest closed it */
	uint8_t ctl_out[EXEC_IO_CTL_QUEUE * EXEC_CTL_LEN];
	size_t ctl_len;
	/* the spec, then stdin */
	int in_sock;	 /* -1 before, and once the guest closed it */
	int in_fd;	 /* minnow's stdin */
	bool in_watched; /* in_fd is on the loop */
	bool in_unpollable;
	bool in_eof;
	bool in_shut; /* in_sock shut down for writing */
	uint8_t *spec;
	size_t spec_len, spec_off;
	uint8_t buf[EXEC_IO_BUF];
	size_t len, off;
	struct exec_out out[2];
};

/* Listens on "<uds_base>_<port>" for the four ports of exec_proto.h (a
 * stale socket file there is replaced) and adds the listeners to `loop`.
 * `spec` (exec_spec_encode's buffer, owned from now on) is sent first on the
 * stdin connection. on_gone(opaque) is called, from an output thread, when
 * writing minnow's stdout or stderr fails with EPIPE. Returns 0 or -errno,
 * with one line in err. Call exec_io_fini() either way. */
int exec_io_init(struct exec_io *io, struct event_loop *loop, const char *uds_base, uint8_t *spec,
		 size_t spec_len, void (*on_gone)(void *), void *opaque, char *err, size_t errlen);

/* Whether the guest connected all four streams (CMD was started). */
bool exec_io_started(const struct exec_io *io);

/* Whether the guest has asked for the command (connected stream 0). */
bool exec_io_asked(const struct exec_io *io);

/* Queues a control record for the guest (dropped before the control
 * connection exists, after it closed, or when EXEC_IO_CTL_QUEUE records
 * already wait). On the loop's thread. */
void exec_io_control(struct exec_io *io, const struct exec_ctl *c);

/* After the VM ended and the loop stopped: lets each output thread write
 * what its socket still holds (up to `wait_ms`, then it is left behind)
 * and joins it; takes everything off the loop, closes the sockets and
 * removes the socket files. Safe on a zero-filled exec_io and twice. */
void exec_io_fini(struct exec_io *io, unsigned wait_ms);

#endif
