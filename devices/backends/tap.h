/* tap.h - host TAP interfaces for virtio-net: attach to (or create) a TAP
 * that carries a virtio-net header before every frame, set its offloads,
 * read its MTU. */
#ifndef MINNOW_TAP_H
#define MINNOW_TAP_H

#include <net/if.h>
#include <stddef.h>

/* Attaches to the TAP named `name` through /dev/net/tun with IFF_TAP |
 * IFF_NO_PI | IFF_VNET_HDR, single queue; the kernel creates the TAP if no
 * interface has that name (it then lasts as long as the fd). Sets the
 * header size to `vnet_hdr_len` (TUNSETVNETHDRSZ) and clears every offload
 * (TUNSETOFFLOAD 0). The fd is O_NONBLOCK and O_CLOEXEC. On success copies
 * the interface's name (as the kernel reports it) into ifname and returns
 * the fd. On failure returns -errno and writes one line naming the
 * interface into err: "/dev/net/tun" missing, busy (EBUSY: attached to
 * another fd), permission denied (EPERM), not a TAP (EINVAL), ... */
int tap_open(const char *name, int vnet_hdr_len, char ifname[IFNAMSIZ], char *err, size_t errlen);

/* TUNSETOFFLOAD: the TUN_F_* offloads the reader of `fd` accepts in the
 * packets it reads. Returns 0 or -errno. */
int tap_set_offload(int fd, unsigned flags);

/* The MTU of interface `ifname` (SIOCGIFMTU), or -errno. */
int tap_mtu(const char *ifname);

#endif
