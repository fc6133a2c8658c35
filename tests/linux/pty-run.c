/* pty-run.c - runs a command on a new pseudo-terminal and plays a script
 * against it, for the Linux tests of `minnow exec` with a terminal (run
 * inside the L1 host, which has neither script(1) nor python). Static.
 *
 * usage: pty-run [-s ROWSxCOLS] [-o FILE] [-e FILE] [-t SECS] [-c] [STEP]... -- CMD [ARGS]
 *   -s RxC    the pty's size at the start (default 24x80)
 *   -o FILE   CMD's stdout to FILE instead of the pty; -e FILE its stderr
 *   -t SECS   overall limit (default 120): CMD is killed, pty-run exits 124
 *   -c        after CMD's exit, say whether the pty's settings are those it
 *             started with ("pty-run: termios restored" or "... changed")
 * Steps, played in order once CMD runs:
 *   -w TEXT   wait until TEXT appears in what the pty prints (after the
 *             previous match)
 *   -i TEXT   type TEXT; C escapes \n \r \t \\ \NNN (octal) \xHH
 *   -z RxC    resize the pty (CMD gets SIGWINCH)
 *   -p MS     pause
 * Everything the pty prints is copied to stdout; pty-run's own lines go to
 * stderr. Exits with CMD's status (128+N when signal N killed it), or 124
 * when the limit passed. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define MAX_STEPS 64
#define OUT_MAX	  (4u << 20)

struct step {
	char op; /* w i z p */
	char text[256];
	size_t len;
	unsigned a, b;
};

static struct step steps[MAX_STEPS];
static int n_steps;
static char out[OUT_MAX];
static size_t out_len;

static void die(const char *msg)
{
	fprintf(stderr, "pty-run: %s\n", msg);
	exit(2);
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int parse_size(const char *s, unsigned *r, unsigned *c)
{
	return sscanf(s, "%ux%u", r, c) == 2 ? 0 : -1;
}

/* C escapes into st->text. */
static void unescape(const char *s, struct step *st)
{
	size_t n = 0;
	while (*s && n < sizeof(st->text)) {
		char ch = *s++;
		if (ch == '\\' && *s) {
			char e = *s++;
			if (e == 'n')
				ch = '\n';
			else if (e == 'r')
				ch = '\r';
			else if (e == 't')
				ch = '\t';
			else if (e == 'x') {
				unsigned v = 0;
				for (int i = 0; i < 2 && strchr("0123456789abcdefABCDEF", *s) && *s;
				     i++)
					v = v * 16 +
					    (unsigned)(*s <= '9' ? *s - '0' : (*s | 32) - 'a' + 10),
					s++;
				ch = (char)v;
			} else if (e >= '0' && e <= '7') {
				unsigned v = (unsigned)(e - '0');
				for (int i = 0; i < 2 && *s >= '0' && *s <= '7'; i++)
					v = v * 8 + (unsigned)(*s++ - '0');
				ch = (char)v;
			} else
				ch = e;
		}
		st->text[n++] = ch;
	}
	st->len = n;
}

static void take(int master)
{
	char buf[4096];
	for (;;) {
		ssize_t n = read(master, buf, sizeof(buf));
		if (n <= 0)
			return;
		(void)!write(STDOUT_FILENO, buf, (size_t)n);
		if (out_len + (size_t)n <= sizeof(out)) {
			memcpy(out + out_len, buf, (size_t)n);
			out_len += (size_t)n;
		}
	}
}

int main(int argc, char **argv)
{
	unsigned rows = 24, cols = 80, limit = 120;
	const char *out_file = NULL, *err_file = NULL;
	int check = 0, opt;
	while ((opt = getopt(argc, argv, "+s:o:e:t:cw:i:z:p:")) != -1) {
		struct step *st = &steps[n_steps];
		switch (opt) {
		case 's':
			if (parse_size(optarg, &rows, &cols))
				die("bad -s");
			break;
		case 'o':
			out_file = optarg;
			break;
		case 'e':
			err_file = optarg;
			break;
		case 't':
			limit = (unsigned)atoi(optarg);
			break;
		case 'c':
			check = 1;
			break;
		case 'w':
		case 'i':
		case 'z':
		case 'p':
			if (n_steps == MAX_STEPS)
				die("too many steps");
			st->op = (char)opt;
			if (opt == 'w')
				snprintf(st->text, sizeof(st->text), "%s", optarg),
				    st->len = strlen(st->text);
			else if (opt == 'i')
				unescape(optarg, st);
			else if (opt == 'z' && parse_size(optarg, &st->a, &st->b))
				die("bad -z");
			else if (opt == 'p')
				st->a = (unsigned)atoi(optarg);
			n_steps++;
			break;
		default:
			die("usage: pty-run [-s RxC] [-o FILE] [-e FILE] [-t SECS] [-c] [-w TEXT | "
			    "-i TEXT "
			    "| -z RxC | -p MS]... -- CMD [ARGS]");
		}
	}
	if (optind >= argc)
		die("no command");

	int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0 || grantpt(master) || unlockpt(master))
		die("cannot open a pty");
	const char *name = ptsname(master);
	int slave = name ? open(name, O_RDWR | O_NOCTTY | O_CLOEXEC) : -1;
	if (slave < 0)
		die("cannot open the pty's slave");
	struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
	ioctl(master, TIOCSWINSZ, &ws);
	struct termios before;
	tcgetattr(slave, &before);

	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		setsid();
		if (ioctl(slave, TIOCSCTTY, 0))
			_exit(125);
		for (int i = 0; i < 3; i++)
			dup2(slave, i);
		if (out_file && (opt = open(out_file, O_WRONLY | O_CREAT | O_TRUNC, 0644)) >= 0)
			dup2(opt, 1);
		if (err_file && (opt = open(err_file, O_WRONLY | O_CREAT | O_TRUNC, 0644)) >= 0)
			dup2(opt, 2);
		execvp(argv[optind], argv + optind);
		_exit(127);
	}
	fcntl(master, F_SETFL, O_NONBLOCK);

	long deadline = now_ms() + (long)limit * 1000, pause_until = 0;
	size_t matched = 0;
	int cur = 0, status = -1;
	while (status < 0) {
		struct pollfd p = {master, POLLIN, 0};
		(void)poll(&p, 1, 50);
		take(master);
		int ws_;
		if (waitpid(pid, &ws_, WNOHANG) == pid)
			status = WIFEXITED(ws_) ? WEXITSTATUS(ws_) : 128 + WTERMSIG(ws_);
		if (status < 0 && now_ms() > deadline) {
			fprintf(stderr, "pty-run: limit of %u s passed (at step %d); killing CMD\n",
				limit, cur + 1);
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			take(master);
			return 124;
		}
		while (status < 0 && cur < n_steps) {
			struct step *st = &steps[cur];
			if (st->op == 'w') {
				char *hit =
				    memmem(out + matched, out_len - matched, st->text, st->len);
				if (!hit)
					break;
				matched = (size_t)(hit - out) + st->len;
			} else if (st->op == 'i') {
				(void)!write(master, st->text, st->len);
			} else if (st->op == 'z') {
				struct winsize z = {.ws_row = (unsigned short)st->a,
						    .ws_col = (unsigned short)st->b};
				ioctl(master, TIOCSWINSZ, &z);
			} else if (st->op == 'p') {
				if (!pause_until)
					pause_until = now_ms() + st->a;
				if (now_ms() < pause_until)
					break;
				pause_until = 0;
			}
			cur++;
		}
	}
	usleep(100000);
	take(master);
	if (cur < n_steps)
		fprintf(stderr, "pty-run: CMD exited before step %d (-%c %s)\n", cur + 1,
			steps[cur].op, steps[cur].op == 'w' ? steps[cur].text : "");
	if (check) {
		struct termios after;
		tcgetattr(slave, &after);
		int same = before.c_iflag == after.c_iflag && before.c_oflag == after.c_oflag &&
			   before.c_lflag == after.c_lflag && before.c_cflag == after.c_cflag &&
			   !memcmp(before.c_cc, after.c_cc, sizeof(before.c_cc));
		fprintf(stderr, "pty-run: termios %s\n", same ? "restored" : "changed");
	}
	return status;
}
