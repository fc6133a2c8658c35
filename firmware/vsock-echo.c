/* vsock-echo.c - exchanges one line each way over vsock, for the Linux tests:
 * the guest side speaks AF_VSOCK, the host side speaks minnow's vsock Unix
 * socket protocol (Firecracker's: "CONNECT PORT\n" -> "OK N\n" on uds_path for
 * host-initiated connections, guest-initiated ones arrive on uds_path_PORT).
 *
 *   vsock-echo listen PORT                 guest: accept one, answer "ack:LINE"
 *   vsock-echo connect CID PORT MSG        guest: send MSG, print the answer
 *   vsock-echo uds-listen PATH             host: like listen, on a Unix socket
 *   vsock-echo uds-connect PATH PORT MSG   host: CONNECT PORT, then like connect
 *   vsock-echo uds-hold PATH FILE          host: accept one on a Unix socket, send
 *                                          FILE's bytes ("-": none), then read and
 *                                          never close, until the limit (a host that
 *                                          never answers; prints "held: N bytes" at
 *                                          the peer's EOF)
 * A server prints "got: LINE", a client prints "reply: LINE". Options before
 * the mode: -t SECONDS overall limit (default 30); -r retry a refused connect
 * every 100 ms until the limit. Exit status 0 on success, 1 on any failure. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#define LINE_MAX_LEN 1024

static bool retry;

static void usage(void)
{
	fprintf(stderr, "usage: vsock-echo [-t SECONDS] [-r] listen PORT\n"
			"       vsock-echo [-t SECONDS] [-r] connect CID PORT MSG\n"
			"       vsock-echo [-t SECONDS] [-r] uds-listen PATH\n"
			"       vsock-echo [-t SECONDS] [-r] uds-connect PATH PORT MSG\n"
			"       vsock-echo [-t SECONDS] uds-hold PATH FILE\n");
	exit(1);
}

static unsigned long number(const char *s)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end)
		usage();
	return v;
}

static void die(const char *what)
{
	fprintf(stderr, "vsock-echo: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Reads one line (without its newline) into buf; returns its length or -1 at
 * EOF before any newline. */
static int read_line(int fd, char *buf, size_t len)
{
	size_t n = 0;
	for (;;) {
		char c;
		ssize_t r = read(fd, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return n ? (int)n : -1;
		if (c == '\n')
			break;
		if (n + 1 < len)
			buf[n++] = c;
	}
	buf[n] = '\0';
	return (int)n;
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			die("write");
		p += w;
		n -= (size_t)w;
	}
}

static void serve(int lfd)
{
	int fd;
	while ((fd = accept(lfd, NULL, NULL)) < 0)
		if (errno != EINTR)
			die("accept");
	char line[LINE_MAX_LEN], reply[LINE_MAX_LEN + 8];
	if (read_line(fd, line, sizeof(line)) < 0) {
		fprintf(stderr, "vsock-echo: connection closed before a line\n");
		exit(1);
	}
	printf("got: %s\n", line);
	fflush(stdout);
	int n = snprintf(reply, sizeof(reply), "ack:%s\n", line);
	write_all(fd, reply, (size_t)n);
	/* close() would not wait for the reply to leave: a guest that powers
	 * off right after could lose it in its own send queue. The client
	 * closes once it has the reply, so its EOF says the reply arrived. */
	shutdown(fd, SHUT_WR);
	char rest[64];
	ssize_t r;
	while ((r = read(fd, rest, sizeof(rest))) > 0 || (r < 0 && errno == EINTR))
		;
	close(fd);
}

static void client(int fd, const char *msg)
{
	char line[LINE_MAX_LEN];
	write_all(fd, msg, strlen(msg));
	write_all(fd, "\n", 1);
	if (read_line(fd, line, sizeof(line)) < 0) {
		fprintf(stderr, "vsock-echo: connection closed before the reply\n");
		exit(1);
	}
	printf("reply: %s\n", line);
	fflush(stdout);
	close(fd);
}

/* connect(), retried on refusal (the peer not listening yet) when -r. */
static int connect_retry(int domain, const struct sockaddr *sa, socklen_t len)
{
	for (;;) {
		int fd = socket(domain, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			die("socket");
		if (connect(fd, sa, len) == 0)
			return fd;
		int e = errno;
		close(fd);
		errno = e;
		if (!retry || (e != ECONNREFUSED && e != ENOENT && e != ECONNRESET &&
			       e != ETIMEDOUT && e != EINTR))
			die("connect");
		struct timespec ts = {0, 100000000L};
		nanosleep(&ts, NULL);
	}
}

static void uds_addr(struct sockaddr_un *sa, const char *path)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path)) {
		fprintf(stderr, "vsock-echo: path too long: %s\n", path);
		exit(1);
	}
	strcpy(sa->sun_path, path);
}

/* Host side of a host-initiated connection: CONNECT PORT on minnow's socket.
 * With -r a refusal (minnow closes the socket: nobody listens in the guest
 * yet) is retried. */
static int uds_connect(const char *path, unsigned long port)
{
	struct sockaddr_un sa;
	uds_addr(&sa, path);
	for (;;) {
		int fd = connect_retry(AF_UNIX, (struct sockaddr *)&sa, sizeof(sa));
		char req[64], line[LINE_MAX_LEN];
		int n = snprintf(req, sizeof(req), "CONNECT %lu\n", port);
		write_all(fd, req, (size_t)n);
		if (read_line(fd, line, sizeof(line)) >= 0 && !strncmp(line, "OK ", 3))
			return fd;
		close(fd);
		if (!retry) {
			fprintf(stderr, "vsock-echo: CONNECT %lu refused\n", port);
			exit(1);
		}
		struct timespec ts = {0, 100000000L};
		nanosleep(&ts, NULL);
	}
}

int main(int argc, char **argv)
{
	unsigned timeout = 30;
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-r"))
			retry = true;
		else if (!strcmp(argv[i], "-t") && i + 1 < argc)
			timeout = (unsigned)number(argv[++i]);
		else
			usage();
	}
	if (i >= argc)
		usage();
	alarm(timeout); /* SIGALRM ends a stuck exchange with a failure */
	const char *mode = argv[i];
	int left = argc - i - 1;
	char **a = argv + i + 1;

	if (!strcmp(mode, "listen") && left == 1) {
		struct sockaddr_vm sa = {.svm_family = AF_VSOCK,
					 .svm_cid = VMADDR_CID_ANY,
					 .svm_port = (unsigned)number(a[0])};
		int lfd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (lfd < 0)
			die("socket(AF_VSOCK)");
		if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 1))
			die("bind/listen");
		serve(lfd);
	} else if (!strcmp(mode, "connect") && left == 3) {
		struct sockaddr_vm sa = {.svm_family = AF_VSOCK,
					 .svm_cid = (unsigned)number(a[0]),
					 .svm_port = (unsigned)number(a[1])};
		client(connect_retry(AF_VSOCK, (struct sockaddr *)&sa, sizeof(sa)), a[2]);
	} else if (!strcmp(mode, "uds-listen") && left == 1) {
		struct sockaddr_un sa;
		uds_addr(&sa, a[0]);
		unlink(a[0]);
		int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (lfd < 0)
			die("socket(AF_UNIX)");
		if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 1))
			die("bind/listen");
		serve(lfd);
		unlink(a[0]);
	} else if (!strcmp(mode, "uds-hold") && left == 2) {
		struct sockaddr_un sa;
		uds_addr(&sa, a[0]);
		unlink(a[0]);
		int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (lfd < 0)
			die("socket(AF_UNIX)");
		if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 1))
			die("bind/listen");
		int fd;
		while ((fd = accept(lfd, NULL, NULL)) < 0)
			if (errno != EINTR)
				die("accept");
		char buf[4096];
		ssize_t n;
		FILE *f = strcmp(a[1], "-") ? fopen(a[1], "rb") : NULL;
		while (f && (n = (ssize_t)fread(buf, 1, sizeof(buf), f)) > 0)
			write_all(fd, buf, (size_t)n);
		unsigned long long held = 0;
		while ((n = read(fd, buf, sizeof(buf))) != 0)
			if (n > 0)
				held += (unsigned long long)n;
			else if (errno != EINTR)
				break;
		printf("held: %llu bytes\n", held);
		fflush(stdout);
		unlink(a[0]);
		for (;;) /* the connection stays open until the limit */
			pause();
	} else if (!strcmp(mode, "uds-connect") && left == 3) {
		client(uds_connect(a[0], number(a[1])), a[2]);
	} else {
		usage();
	}
	return 0;
}
