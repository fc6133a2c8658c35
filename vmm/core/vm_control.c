/* vm_control.c - the control socket and the metrics file (vm_control.h). */
#include "vm_control.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "control_proto.h"
#include "log.h"
#include "metrics.h"
#include "snapshot.h"
#include "timing.h"
#include "unix_listener.h"

/* Room for a response: metrics grow with the devices and vCPUs. */
#define REPLY_MAX (64 * 1024)

struct client {
	int fd; /* -1: free */
	size_t len;
	bool pause_waiting;		/* a pause to answer once the vCPUs park */
	bool eof;			/* the client shut its side: answer, then close */
	char pause_id[96];		/* that request's id */
	bool snap_waiting;		/* a snapshot to take once the vCPUs park */
	bool snap_was_paused;		/* the VM was paused when it was asked for */
	struct control_request snap;	/* that request */
	char buf[CONTROL_LINE_MAX + 1]; /* a request line being read */
};

static struct {
	const struct vm_config *cfg;
	struct unix_listener listener; /* fd -1: no control socket */
	char path[PATH_MAX];
	int metrics_fd, timer_fd;
	struct vm *vm; /* while attached */
	struct client clients[CONTROL_MAX_CLIENTS];
} ctl = {.listener = {.fd = -1}, .metrics_fd = -1, .timer_fd = -1};

/* ---- opening, before the VM ---------------------------------------------------- */

/* One line naming where cfg set `key`. */
static void fail_at(const struct config_path *p, const char *key, const char *msg)
{
	if (p->at.file)
		log_error("%s:%d: [vm] %s: %s", p->at.file, p->at.line, key, msg);
	else
		log_error("[vm] %s: %s", key, msg);
}

int vm_control_open(const struct vm_config *cfg)
{
	ctl.cfg = cfg;
	for (size_t i = 0; i < CONTROL_MAX_CLIENTS; i++)
		ctl.clients[i].fd = -1;
	char err[PATH_MAX + 128];
	if (cfg->control_socket.path[0]) {
		if (unix_listener_open(&ctl.listener, cfg->control_socket.path, 0600, err,
				       sizeof(err)) < 0) {
			fail_at(&cfg->control_socket, "control_socket", err);
			return EXIT_CONFIG;
		}
		snprintf(ctl.path, sizeof(ctl.path), "%s", cfg->control_socket.path);
		control_proto_init();
	}
	if (cfg->metrics_file.path[0]) {
		ctl.metrics_fd = open(cfg->metrics_file.path,
				      O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
		if (ctl.metrics_fd < 0) {
			snprintf(err, sizeof(err), "%s: %s", cfg->metrics_file.path,
				 strerror(errno));
			fail_at(&cfg->metrics_file, "metrics_file", err);
			vm_control_close();
			return EXIT_CONFIG;
		}
	}
	return 0;
}

/* ---- answering ------------------------------------------------------------------ */

static void drop_client(struct client *c)
{
	if (c->fd < 0)
		return;
	if (ctl.vm)
		(void)event_loop_remove(&ctl.vm->loop, c->fd);
	close(c->fd);
	c->fd = -1;
	c->len = 0;
	c->pause_waiting = c->eof = c->snap_waiting = false;
}

/* Sends a whole response or drops the client: a client that does not
 * read its answers must not make minnow wait. */
static void send_reply(struct client *c, const char *text, int len)
{
	if (len < 0) {
		log_error("control socket: a response did not fit in %d bytes", REPLY_MAX);
		drop_client(c);
		return;
	}
	ssize_t n = send(c->fd, text, (size_t)len, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n != len)
		drop_client(c);
}

static void reply_error(struct client *c, const char *id, const char *msg)
{
	static char out[REPLY_MAX];
	send_reply(c, out, control_reply_error(out, sizeof(out), id, msg));
}

static void reply_ok(struct client *c, const struct control_request *req, const char *members)
{
	static char out[REPLY_MAX];
	send_reply(c, out, control_reply_ok(out, sizeof(out), req, members));
}

static void reply_status(struct client *c, const struct control_request *req)
{
	struct vm *vm = ctl.vm;
	char members[256];
	uint64_t boot = timing_get(T_BOOT_COMPLETE);
	char boot_text[24] = "null";
	if (boot != UINT64_MAX)
		snprintf(boot_text, sizeof(boot_text), "%" PRIu64, boot);
	snprintf(members, sizeof(members),
		 ",\"state\":\"%s\",\"vcpus\":%u,\"memory_mib\":%" PRIu64 ",\"uptime_us\":%" PRIu64
		 ",\"boot_complete_us\":%s",
		 metrics_state(vm), vm->n_vcpus, vm->cfg->memory >> 20, timing_now_us(), boot_text);
	reply_ok(c, req, members);
}

static void reply_metrics(struct client *c, const struct control_request *req)
{
	char *json = metrics_json(ctl.vm);
	if (!json) {
		reply_error(c, req->id, "out of memory");
		return;
	}
	static char members[REPLY_MAX];
	int n = snprintf(members, sizeof(members), ",\"metrics\":%s", json);
	free(json);
	if (n < 0 || (size_t)n >= sizeof(members))
		reply_error(c, req->id, "the metrics are too large for one response");
	else
		reply_ok(c, req, members);
}

/* Takes the snapshot c asked for (the vCPUs are parked), answers, and
 * leaves the VM as asked. */
static void take_snapshot(struct client *c)
{
	struct vm *vm = ctl.vm;
	const struct control_request *req = &c->snap;
	c->snap_waiting = false;
	char why[PATH_MAX + 200], path[PATH_MAX * 2 + 8], mem[PATH_MAX + 8],
	    mem_text[PATH_MAX * 2 + 8];
	uint64_t t0 = timing_now_us();
	if (snapshot_save(vm, req->path, why, sizeof(why)) < 0) {
		reply_error(c, req->id, why);
	} else {
		uint64_t took = timing_now_us() - t0;
		(void)snapshot_mem_path(req->path, mem, sizeof(mem));
		static char members[5 * PATH_MAX];
		if (control_json_string(req->path, path, sizeof(path)) < 0 ||
		    control_json_string(mem, mem_text, sizeof(mem_text)) < 0)
			snprintf(path, sizeof(path), "null"),
			    snprintf(mem_text, sizeof(mem_text), "null");
		snprintf(members, sizeof(members),
			 ",\"state_file\":%s,\"memory_file\":%s,\"save_us\":%" PRIu64, path,
			 mem_text, took);
		reply_ok(c, req, members);
	}
	enum control_then then = req->then;
	if (then == CONTROL_THEN_AS_BEFORE)
		then = c->snap_was_paused ? CONTROL_THEN_PAUSE : CONTROL_THEN_RESUME;
	if (c->eof)
		drop_client(c);
	if (then == CONTROL_THEN_STOP)
		vm_end(vm, END_STOPPED, EXIT_OK);
	else if (then == CONTROL_THEN_RESUME)
		vm_resume(vm);
}

/* Answers every client waiting for the pause to complete, and takes the
 * snapshots waiting for it (error: the pause did not happen). */
static void answer_pause_waiters(const char *error)
{
	for (size_t i = 0; i < CONTROL_MAX_CLIENTS; i++) {
		struct client *c = &ctl.clients[i];
		if (c->fd >= 0 && c->snap_waiting) {
			if (error) {
				c->snap_waiting = false;
				reply_error(c, c->snap.id, error);
			} else if (vm_paused(ctl.vm)) {
				take_snapshot(c);
			}
			continue;
		}
		if (c->fd < 0 || !c->pause_waiting)
			continue;
		c->pause_waiting = false;
		if (error) {
			reply_error(c, c->pause_id, error);
		} else {
			struct control_request req = {.kind = CONTROL_PAUSE};
			memcpy(req.id, c->pause_id, sizeof(req.id));
			reply_ok(c, &req, ",\"state\":\"paused\"");
		}
		if (c->eof)
			drop_client(c);
	}
}

static void serve(struct client *c, const struct control_request *req)
{
	struct vm *vm = ctl.vm;
	switch (req->kind) {
	case CONTROL_PAUSE:
		if (vm_paused(vm)) {
			reply_ok(c, req, ",\"state\":\"paused\"");
			return;
		}
		c->pause_waiting = true;
		memcpy(c->pause_id, req->id, sizeof(c->pause_id));
		vm_pause(vm); /* answered from on_paused() */
		return;
	case CONTROL_RESUME:
		vm_resume(vm);
		answer_pause_waiters("resumed before every vCPU had paused");
		reply_ok(c, req, ",\"state\":\"running\"");
		return;
	case CONTROL_STATUS:
		reply_status(c, req);
		return;
	case CONTROL_METRICS:
		reply_metrics(c, req);
		return;
	case CONTROL_STOP:
		reply_ok(c, req, "");
		vm_end(vm, END_STOPPED, EXIT_OK);
		return;
	case CONTROL_SHUTDOWN: {
		int r = vm_power_button(vm);
		if (r < 0)
			reply_error(c, req->id,
				    r == -ENODEV ? "no ACPI power button: [vm] acpi is off"
						 : strerror(-r));
		else
			reply_ok(c, req, "");
		return;
	}
	case CONTROL_SNAPSHOT:
		if (!vm->msr_list) {
			reply_error(c, req->id, "snapshots are not available on this host's KVM");
			return;
		}
		c->snap = *req;
		c->snap_waiting = true;
		c->snap_was_paused = atomic_load(&vm->pause_flag);
		if (vm_paused(vm))
			take_snapshot(c);
		else
			vm_pause(vm); /* taken from on_paused() */
		return;
	}
}

/* Serves the complete lines in c->buf. */
static void serve_lines(struct client *c)
{
	size_t start = 0;
	for (;;) {
		char *nl = memchr(c->buf + start, '\n', c->len - start);
		if (!nl)
			break;
		size_t len = (size_t)(nl - (c->buf + start));
		if (len && c->buf[start + len - 1] == '\r')
			len--;
		struct control_request req;
		char why[256];
		if (len == 0)
			; /* blank lines are ignored */
		else if (control_parse(c->buf + start, len, &req, why, sizeof(why)) < 0)
			reply_error(c, req.id, why);
		else
			serve(c, &req);
		if (c->fd < 0)
			return; /* dropped while answering */
		start = (size_t)(nl - c->buf) + 1;
	}
	memmove(c->buf, c->buf + start, c->len - start);
	c->len -= start;
}

static void on_client(void *opaque, uint32_t events)
{
	struct client *c = opaque;
	(void)events;
	ssize_t n = recv(c->fd, c->buf + c->len, CONTROL_LINE_MAX + 1 - c->len, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n == 0 && (c->pause_waiting || c->snap_waiting)) {
		/* Shut for writing only, maybe (socat does): the pause is
		 * still answered. Nothing more is read; the fd leaves the
		 * loop, so that a full close's EPOLLHUP cannot spin it. */
		c->eof = true;
		(void)event_loop_remove(&ctl.vm->loop, c->fd); /* no busy EPOLLHUP */
		return;
	}
	if (n <= 0) {
		drop_client(c); /* EOF or error: a half-read request is forgotten */
		return;
	}
	c->len += (size_t)n;
	serve_lines(c);
	if (c->fd >= 0 && c->len > CONTROL_LINE_MAX) {
		char msg[80];
		snprintf(msg, sizeof(msg), "request line longer than %d bytes", CONTROL_LINE_MAX);
		reply_error(c, "", msg);
		drop_client(c);
	}
}

static void on_listen(void *opaque, uint32_t events)
{
	(void)opaque;
	(void)events;
	int fd = accept4(ctl.listener.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return; /* EAGAIN, or a client gone before we took it */
	struct client *c = NULL;
	for (size_t i = 0; !c && i < CONTROL_MAX_CLIENTS; i++)
		if (ctl.clients[i].fd < 0)
			c = &ctl.clients[i];
	if (!c) {
		static char out[160];
		int len = control_reply_error(out, sizeof(out), "", "too many control clients");
		(void)send(fd, out, (size_t)len, MSG_DONTWAIT | MSG_NOSIGNAL);
		close(fd);
		return;
	}
	*c = (struct client){.fd = fd};
	if (event_loop_add(&ctl.vm->loop, fd, EPOLLIN, on_client, c) < 0) {
		close(fd);
		c->fd = -1;
	}
}

static void on_paused(void *opaque, uint32_t events)
{
	(void)opaque;
	(void)events;
	eventfd_t value;
	(void)eventfd_read(ctl.vm->pause_fd, &value);
	if (vm_paused(ctl.vm))
		answer_pause_waiters(NULL);
}

/* ---- the metrics file ------------------------------------------------------------ */

/* Appends one metrics line; a failure is logged once, the VM goes on. */
static void write_metrics_line(void)
{
	static bool failed;
	char *json = metrics_json(ctl.vm);
	if (!json)
		return;
	size_t len = strlen(json);
	json[len] = '\n'; /* open_memstream keeps a NUL past the end */
	ssize_t n = write(ctl.metrics_fd, json, len + 1);
	if (n != (ssize_t)(len + 1) && !failed) {
		failed = true;
		log_error("[vm] metrics_file %s: %s", ctl.cfg->metrics_file.path,
			  n < 0 ? strerror(errno) : "short write");
	}
	free(json);
}

static void on_timer(void *opaque, uint32_t events)
{
	(void)opaque;
	(void)events;
	uint64_t expirations;
	(void)!read(ctl.timer_fd, &expirations, sizeof(expirations));
	write_metrics_line();
}

/* ---- attaching to the VM ------------------------------------------------------------ */

int vm_control_attach(struct vm *vm)
{
	ctl.vm = vm;
	int r = 0;
	if (ctl.listener.fd >= 0 &&
	    ((r = event_loop_add(&vm->loop, ctl.listener.fd, EPOLLIN, on_listen, NULL)) < 0 ||
	     (r = event_loop_add(&vm->loop, vm->pause_fd, EPOLLIN, on_paused, NULL)) < 0)) {
		log_error("control socket: %s", strerror(-r));
		return EXIT_HOST_FAILURE;
	}
	unsigned ms = ctl.cfg ? ctl.cfg->metrics_interval_ms : 0;
	if (ctl.metrics_fd >= 0 && ms) {
		struct itimerspec its = {.it_interval = {ms / 1000, (long)(ms % 1000) * 1000000}};
		its.it_value = its.it_interval;
		ctl.timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
		if (ctl.timer_fd < 0 || timerfd_settime(ctl.timer_fd, 0, &its, NULL) < 0 ||
		    (r = event_loop_add(&vm->loop, ctl.timer_fd, EPOLLIN, on_timer, NULL)) < 0) {
			log_error("metrics timer: %s", strerror(r < 0 ? -r : errno));
			return EXIT_HOST_FAILURE;
		}
	}
	return 0;
}

void vm_control_detach(struct vm *vm)
{
	if (ctl.vm != vm)
		return;
	if (ctl.metrics_fd >= 0)
		write_metrics_line();
	for (size_t i = 0; i < CONTROL_MAX_CLIENTS; i++)
		drop_client(&ctl.clients[i]);
	if (ctl.listener.fd >= 0) {
		(void)event_loop_remove(&vm->loop, ctl.listener.fd);
		(void)event_loop_remove(&vm->loop, vm->pause_fd);
	}
	if (ctl.timer_fd >= 0) {
		(void)event_loop_remove(&vm->loop, ctl.timer_fd);
		close(ctl.timer_fd);
		ctl.timer_fd = -1;
	}
	ctl.vm = NULL;
}

void vm_control_forget_fds(void)
{
	if (ctl.listener.fd >= 0)
		close(ctl.listener.fd);
	if (ctl.metrics_fd >= 0)
		close(ctl.metrics_fd);
	ctl.listener.fd = ctl.metrics_fd = -1;
}

void vm_control_close(void)
{
	vm_control_forget_fds();
	if (ctl.path[0])
		unix_listener_remove(&ctl.listener, ctl.path);
	ctl.path[0] = '\0';
}
