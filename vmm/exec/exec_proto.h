/* exec_proto.h - what `minnow exec` and the guest's minnow-init say to each
 * other over virtio-vsock: the ports, the kernel command-line parameter that
 * turns the exec channel on, and the encoding of the command (argv, env,
 * working directory). Shared by minnow and minnow-init (plain C, libc only).
 *
 * The channel (see vmm/exec/exec_io.h for the host side): minnow-init
 * connects to the host (CID 2) on four ports, in this order:
 *   base + 0  the command and stdin: minnow sends one encoded spec (below),
 *             then CMD's stdin as it comes, then shuts its side down at EOF.
 *             The socket becomes CMD's fd 0 after the spec (with a terminal,
 *             minnow-init copies it to the pty instead).
 *   base + 1  CMD's stdout (its fd 1), guest to host only.
 *   base + 2  CMD's stderr (its fd 2), guest to host only.
 *   base + 3  control, host to guest: records of EXEC_CTL_LEN bytes, a
 *             keepalive every EXEC_KEEPALIVE_MS and the terminal's size
 *             when it changes.
 * With a terminal (the spec's 'T'), CMD runs on a pty in the guest: its
 * stdin, and its stdout and/or stderr as the spec says, are the pty; what
 * the pty prints goes to the host on port 1 when CMD's stdout is the pty,
 * else on port 2. A stream that is not the pty stays a plain socket.
 * When CMD has exited, minnow-init shuts down its sending side of ports 1
 * and 2 and waits for minnow to close them (minnow does after writing every
 * byte to its own stdout and stderr), and only then reports CMD's status
 * through the control device: the VM's end cannot cut off CMD's last bytes.
 * It waits as long as minnow keeps sending keepalives (minnow may be
 * waiting for a slow reader), and at most EXEC_ACK_IDLE_MS after the last
 * one (a host that does not answer).
 *
 * The spec: an 8-byte header, "MNX1" and the payload's length (32 bits,
 * little-endian), then the payload: NUL-terminated strings, each with a
 * one-byte tag: 'A' an argument (argv[0] first, at least one), 'E' an
 * environment entry "K=V", 'C' the working directory (at most one), 'T'
 * a terminal (at most one): "M ROWS COLS" in decimal, M saying which of
 * CMD's stdout (1) and stderr (2) are the pty too (1, 2 or 3), 'M' a
 * virtio-fs share to mount before CMD starts, "ro:TAG:DIR" or "rw:TAG:DIR"
 * (TAG without ':', DIR absolute; minnow-init creates DIR, and syncs and
 * unmounts every share after CMD has exited, before it reports CMD's
 * status). C strings cannot hold NUL, so every other byte passes unchanged:
 * spaces, quotes, newlines, any encoding. */
#ifndef MINNOW_EXEC_PROTO_H
#define MINNOW_EXEC_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define EXEC_VSOCK_PORT	   10000u /* base: stdin + spec */
#define EXEC_PORT_STDIN	   (EXEC_VSOCK_PORT + 0)
#define EXEC_PORT_STDOUT   (EXEC_VSOCK_PORT + 1)
#define EXEC_PORT_STDERR   (EXEC_VSOCK_PORT + 2)
#define EXEC_PORT_CONTROL  (EXEC_VSOCK_PORT + 3)
#define EXEC_PORTS	   4u
#define EXEC_CMDLINE_PARAM "minnow.exec_vsock" /* =BASE_PORT */
#define EXEC_SPEC_MAGIC	   "MNX1"
#define EXEC_SPEC_HDR	   8u
#define EXEC_SPEC_MAX	   (4u << 20) /* longest payload accepted */
#define EXEC_SPEC_MAX_ARGS 65536u     /* arguments and environment entries each */

#define EXEC_TTY_STDOUT 1u /* exec_spec.tty: CMD's stdout is the pty */
#define EXEC_TTY_STDERR 2u /* CMD's stderr is the pty */

/* What CMD runs with. Arrays of NUL-terminated strings; cwd NULL: "/". */
struct exec_spec {
	const char *const *argv; /* argc >= 1 entries */
	size_t argc;
	const char *const *envp; /* "K=V" entries */
	size_t envc;
	const char *cwd;
	unsigned tty;		   /* 0: no pty; else EXEC_TTY_* bits (stdin is the pty) */
	unsigned rows, cols;	   /* the terminal's size (0: unknown), with tty */
	const char *const *mounts; /* "ro:TAG:DIR" / "rw:TAG:DIR" entries */
	size_t mountc;
};

/* Splits a mount entry ("ro:TAG:DIR") in place-free form: *ro, the tag (taglen bytes at
 * *tag) and the directory (*dir, NUL-terminated). Returns 0, or -EINVAL when malformed (no
 * "ro:"/"rw:", an empty tag, a DIR that is not absolute). */
int exec_mount_split(const char *entry, int *ro, const char **tag, size_t *taglen,
		     const char **dir);

/* Encodes `s` (header and payload) into a malloc'd buffer: *out, *len.
 * Returns 0, -EINVAL (no argument, an empty argv[0], an env entry without
 * '=' or starting with it, a malformed mount entry, too many entries, a
 * tty over 3 or a size over 65535, or a payload over EXEC_SPEC_MAX) or
 * -ENOMEM. */
int exec_spec_encode(const struct exec_spec *s, uint8_t **out, size_t *len);

/* Checks an 8-byte header; returns the payload length, or -EPROTO (bad
 * magic) or -E2BIG (over EXEC_SPEC_MAX). */
long exec_spec_header(const uint8_t hdr[EXEC_SPEC_HDR]);

/* Decodes a payload of `len` bytes in place: its strings stay in `payload`,
 * which must outlive `s`; the argv and envp arrays are malloc'd, each
 * NULL-terminated (free them with exec_spec_free). Returns 0, -EPROTO (an
 * unknown tag, a string without its NUL, no argument, an empty argv[0], two
 * working directories or terminals, an env entry without '=', a terminal
 * that is not "M ROWS COLS" within range, a malformed mount entry) or
 * -ENOMEM. */
int exec_spec_decode(uint8_t *payload, size_t len, struct exec_spec *s);

/* Frees what exec_spec_decode allocated (not the strings). */
void exec_spec_free(struct exec_spec *s);

/* Control records (port base + 3, host to guest): EXEC_CTL_LEN bytes, the
 * type first; a window size carries rows and columns as 16-bit
 * little-endian numbers at offsets 2 and 4. Other bytes are zero. */
#define EXEC_CTL_LEN	   8u
#define EXEC_CTL_KEEPALIVE 'K'
#define EXEC_CTL_WINSIZE   'W'
#define EXEC_KEEPALIVE_MS  1000u
#define EXEC_ACK_IDLE_MS   30000u /* minnow-init's wait for the host after its last word */

struct exec_ctl {
	char type; /* EXEC_CTL_* */
	unsigned rows, cols;
};

/* Encodes `c` (rows and cols cut to 16 bits) into out. */
void exec_ctl_encode(const struct exec_ctl *c, uint8_t out[EXEC_CTL_LEN]);

/* Decodes a record; returns 0, or -EPROTO for an unknown type. */
int exec_ctl_decode(const uint8_t in[EXEC_CTL_LEN], struct exec_ctl *c);

#endif
