/* tap.c - opening a TAP with virtio-net headers, its offloads and MTU. */
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* Explains a TUNSETIFF failure in one line naming the interface. */
static void explain_setiff(const char *name, int e, char *err, size_t errlen)
{
	switch (e) {
	case EBUSY:
		snprintf(err, errlen, "%s: busy (in use by another process?)", name);
		break;
	case EPERM:
	case EACCES:
		snprintf(err, errlen,
			 "%s: permission denied (needs CAP_NET_ADMIN or a TAP owned by this user)",
			 name);
		break;
	case EINVAL:
		snprintf(err, errlen,
			 "%s: exists but is not a single-queue TAP (a TUN, a multi-queue TAP or "
			 "another kind of interface?)",
			 name);
		break;
	default:
		snprintf(err, errlen, "%s: cannot attach to the TAP: %s", name, strerror(e));
		break;
	}
}

int tap_open(const char *name, int vnet_hdr_len, char ifname[IFNAMSIZ], char *err, size_t errlen)
{
	if (strlen(name) >= IFNAMSIZ) {
		snprintf(err, errlen, "%s: interface name too long (at most %d characters)", name,
			 IFNAMSIZ - 1);
		return -EINVAL;
	}
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		if (e == ENOENT || e == ENODEV || e == ENXIO)
			snprintf(err, errlen,
				 "%s: /dev/net/tun is missing (no TUN/TAP support: modprobe tun?)",
				 name);
		else
			snprintf(err, errlen, "%s: cannot open /dev/net/tun: %s", name,
				 strerror(e));
		return -e;
	}
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	memcpy(ifr.ifr_name, name, strlen(name));
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int e = errno;
		explain_setiff(name, e, err, errlen);
		close(fd);
		return -e;
	}
	memcpy(ifname, ifr.ifr_name, IFNAMSIZ);
	ifname[IFNAMSIZ - 1] = '\0';
	int e = 0, r;
	const char *what = NULL;
	if (ioctl(fd, TUNSETVNETHDRSZ, &vnet_hdr_len) < 0) {
		e = errno;
		what = "cannot set the virtio-net header size";
	} else if ((r = tap_set_offload(fd, 0)) < 0) {
		e = -r;
		what = "cannot clear the offloads";
	}
	if (what) {
		snprintf(err, errlen, "%s: %s: %s", ifname, what, strerror(e));
		close(fd);
		return -e;
	}
	return fd;
}

int tap_set_offload(int fd, unsigned flags)
{
	if (ioctl(fd, TUNSETOFFLOAD, (unsigned long)flags) < 0)
		return -errno;
	return 0;
}

int tap_mtu(const char *ifname)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	int r = ioctl(s, SIOCGIFMTU, &ifr) < 0 ? -errno : ifr.ifr_mtu;
	close(s);
	return r;
}
