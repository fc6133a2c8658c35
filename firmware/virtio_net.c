/* virtio_net.c - the virtio-net scenario: MAC from config space, an ARP
 * request for the host's address, then an ICMP echo request and its reply
 * (checksums computed here), each frame behind a 12-byte virtio_net_hdr. */
#include "io.h"
#include "virtio.h"

#define VIRTIO_NET_F_MAC    5
#define VIRTIO_NET_F_STATUS 16
#define NET_HDR_LEN	    12 /* virtio_net_hdr_v1 (num_buffers included) */
#define RX_BUFS		    16
#define RX_LEN		    2048 /* >= 12 + 1514: no MRG_RXBUF, no GSO */
#define ETH_ARP		    0x0806
#define ETH_IP		    0x0800
#define PING_LEN	    32
#define PING_ID		    0x4d4e

struct net {
	struct vdev *d;
	struct virtq *rx, *tx;
	uint8_t *rxbuf[RX_BUFS];
	uint8_t *txbuf;
	uint8_t mac[6], host_mac[6];
	uint8_t ip[4], host_ip[4];
	unsigned frames_seen;
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* The Internet checksum (RFC 1071) over n bytes. */
static uint16_t inet_csum(const uint8_t *p, size_t n)
{
	uint32_t sum = 0;
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xFFFF) + (sum >> 16);
	return (uint16_t)~sum;
}

static void print_mac(const char *what, const uint8_t *m)
{
	fw_printf("minnow-test: %s=%02x:%02x:%02x:%02x:%02x:%02x\n", what, m[0], m[1], m[2], m[3],
		  m[4], m[5]);
}

static bool net_open(struct net *n, struct vdev *d)
{
	n->d = d;
	n->rx = fw_alloc(sizeof(*n->rx), 64);
	n->tx = fw_alloc(sizeof(*n->tx), 64);
	n->txbuf = fw_alloc(RX_LEN, 64);
	if (!virtio_begin(d, VIRTIO_BIT(VIRTIO_NET_F_MAC) | VIRTIO_BIT(VIRTIO_NET_F_STATUS)))
		return false;
	if (!(d->features & VIRTIO_BIT(VIRTIO_NET_F_MAC))) {
		fw_printf("minnow-test: virtio-net VIRTIO_NET_F_MAC not offered\n");
		return false;
	}
	for (unsigned i = 0; i < 6; i++)
		n->mac[i] = vdev_cfg8(d, i);
	if (d->features & VIRTIO_BIT(VIRTIO_NET_F_STATUS))
		fw_printf("minnow-test: virtio-net link status=0x%x\n", vdev_cfg16(d, 6));
	if (!virtq_setup(d, n->rx, 0, 32) || !virtq_setup(d, n->tx, 1, 32))
		return false;
	for (unsigned i = 0; i < RX_BUFS; i++) {
		n->rxbuf[i] = fw_alloc(RX_LEN, 64);
		struct vq_buf b = {(uint64_t)(uintptr_t)n->rxbuf[i], RX_LEN, true};
		virtq_add(n->rx, &b, 1);
	}
	return virtio_driver_ok(d);
}

/* Sends an Ethernet frame of `len` bytes already in txbuf + NET_HDR_LEN. */
static bool net_send(struct net *n, size_t len)
{
	memset(n->txbuf, 0, NET_HDR_LEN);
	if (len < 60) {
		memset(n->txbuf + NET_HDR_LEN + len, 0, 60 - len);
		len = 60;
	}
	struct vq_buf b = {(uint64_t)(uintptr_t)n->txbuf, (uint32_t)(NET_HDR_LEN + len), false};
	return virtq_transact(n->tx, &b, 1, false, VIRTIO_TIMEOUT_US) >= 0;
}

static uint8_t *eth_header(struct net *n, const uint8_t *dst, uint16_t type)
{
	uint8_t *f = n->txbuf + NET_HDR_LEN;
	memcpy(f, dst, 6);
	memcpy(f + 6, n->mac, 6);
	put16(f + 12, type);
	return f + 14;
}

static bool send_arp(struct net *n, uint16_t oper, const uint8_t *dst_mac, const uint8_t *tha,
		     const uint8_t *tpa)
{
	uint8_t *a = eth_header(n, dst_mac, ETH_ARP);
	put16(a, 1);
	put16(a + 2, ETH_IP);
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, oper);
	memcpy(a + 8, n->mac, 6);
	memcpy(a + 14, n->ip, 4);
	memcpy(a + 18, tha, 6);
	memcpy(a + 24, tpa, 4);
	return net_send(n, 14 + 28);
}

static bool send_ping(struct net *n, uint16_t seq)
{
	uint8_t *ip = eth_header(n, n->host_mac, ETH_IP);
	uint8_t *icmp = ip + 20;
	ip[0] = 0x45;
	ip[1] = 0;
	put16(ip + 2, 20 + 8 + PING_LEN);
	put16(ip + 4, seq);
	put16(ip + 6, 0x4000); /* DF */
	ip[8] = 64;
	ip[9] = 1; /* ICMP */
	put16(ip + 10, 0);
	memcpy(ip + 12, n->ip, 4);
	memcpy(ip + 16, n->host_ip, 4);
	put16(ip + 10, inet_csum(ip, 20));
	icmp[0] = 8; /* echo request */
	icmp[1] = 0;
	put16(icmp + 2, 0);
	put16(icmp + 4, PING_ID);
	put16(icmp + 6, seq);
	for (unsigned i = 0; i < PING_LEN; i++)
		icmp[8 + i] = (uint8_t)('a' + i % 26);
	put16(icmp + 2, inet_csum(icmp, 8 + PING_LEN));
	return net_send(n, 14 + 20 + 8 + PING_LEN);
}

enum rx_kind { RX_NONE, RX_ARP_REPLY, RX_PING_REPLY };

/* Looks at one received frame; answers ARP requests for our address. */
static enum rx_kind handle_frame(struct net *n, const uint8_t *f, uint32_t len, uint16_t seq)
{
	n->frames_seen++;
	if (len < 14)
		return RX_NONE;
	uint16_t type = get16(f + 12);
	const uint8_t *p = f + 14;
	if (type == ETH_ARP && len >= 14 + 28 && get16(p) == 1 && get16(p + 2) == ETH_IP) {
		uint16_t oper = get16(p + 6);
		if (oper == 2 && !memcmp(p + 14, n->host_ip, 4)) {
			memcpy(n->host_mac, p + 8, 6);
			return RX_ARP_REPLY;
		}
		if (oper == 1 && !memcmp(p + 24, n->ip, 4)) {
			uint8_t sha[6], spa[4];
			memcpy(sha, p + 8, 6);
			memcpy(spa, p + 14, 4);
			send_arp(n, 2, sha, sha, spa);
			fw_printf("minnow-test: virtio-net answered an ARP request\n");
		}
		return RX_NONE;
	}
	if (type != ETH_IP || len < 14 + 20 + 8 || (p[0] >> 4) != 4)
		return RX_NONE;
	unsigned ihl = (p[0] & 15) * 4u, total = get16(p + 2);
	if (ihl < 20 || total < ihl + 8 || 14 + total > len || p[9] != 1)
		return RX_NONE;
	if (memcmp(p + 12, n->host_ip, 4) || memcmp(p + 16, n->ip, 4))
		return RX_NONE;
	const uint8_t *icmp = p + ihl;
	unsigned ilen = total - ihl;
	if (inet_csum(p, ihl) != 0 || inet_csum(icmp, ilen) != 0) {
		fw_printf("minnow-test: virtio-net bad checksum in an IP/ICMP reply\n");
		return RX_NONE;
	}
	if (icmp[0] != 0 || get16(icmp + 4) != PING_ID || get16(icmp + 6) != seq ||
	    ilen != 8 + PING_LEN)
		return RX_NONE;
	for (unsigned i = 0; i < PING_LEN; i++)
		if (icmp[8 + i] != (uint8_t)('a' + i % 26))
			return RX_NONE;
	return RX_PING_REPLY;
}

/* Receives frames for up to timeout_us; true when one of kind `want`
 * arrived. Every buffer goes back to the device. */
static bool net_receive(struct net *n, enum rx_kind want, uint16_t seq, uint32_t timeout_us)
{
	uint32_t t0 = fw_time_us();
	while (fw_time_us() - t0 < timeout_us) {
		uint16_t head;
		uint32_t len;
		if (!virtq_wait(n->rx, &head, &len, 50000))
			continue;
		if (head >= n->rx->size)
			return false;
		uint8_t *buf = (uint8_t *)(uintptr_t)n->rx->desc[head].addr;
		enum rx_kind k = RX_NONE;
		if (len >= NET_HDR_LEN && len <= RX_LEN)
			k = handle_frame(n, buf + NET_HDR_LEN, len - NET_HDR_LEN, seq);
		else
			fw_printf("minnow-test: virtio-net rx used len %u\n", len);
		struct vq_buf b = {(uint64_t)(uintptr_t)buf, RX_LEN, true};
		virtq_add(n->rx, &b, 1);
		virtq_kick(n->rx);
		if (k == want)
			return true;
	}
	return false;
}

int test_virtio_net(const struct fw_boot_info *bi)
{
	char arg[32];
	struct net n;
	memset(&n, 0, sizeof(n));
	if (!cmdline_value(bi->cmdline, "hostip", arg, sizeof(arg)) ||
	    !parse_ipv4(arg, n.host_ip) ||
	    !cmdline_value(bi->cmdline, "guestip", arg, sizeof(arg)) || !parse_ipv4(arg, n.ip)) {
		fw_printf("minnow-test: virtio-net needs hostip=A.B.C.D guestip=A.B.C.D\n");
		return FW_EXIT_USAGE;
	}
	virtio_start(bi);
	struct vdev *d = virtio_find(VIRTIO_ID_NET, 0);
	if (!d) {
		fw_printf("minnow-test: virtio-net no device\n");
		return FW_EXIT_FAIL;
	}
	if (!net_open(&n, d))
		return FW_EXIT_FAIL;
	print_mac("virtio-net mac", n.mac);

	static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, zero[6] = {0};
	bool arp = false;
	for (unsigned tries = 0; tries < 10 && !arp; tries++) {
		if (!send_arp(&n, 1, bcast, zero, n.host_ip)) {
			fw_printf("minnow-test: virtio-net tx failed\n");
			return FW_EXIT_FAIL;
		}
		arp = net_receive(&n, RX_ARP_REPLY, 0, 1000000);
	}
	if (!arp) {
		fw_printf("minnow-test: virtio-net no ARP reply (frames seen %u)\n", n.frames_seen);
		return FW_EXIT_FAIL;
	}
	print_mac("virtio-net arp reply host mac", n.host_mac);
	bool pong = false;
	for (uint16_t seq = 1; seq <= 10 && !pong; seq++) {
		if (!send_ping(&n, seq)) {
			fw_printf("minnow-test: virtio-net tx failed\n");
			return FW_EXIT_FAIL;
		}
		pong = net_receive(&n, RX_PING_REPLY, seq, 1000000);
	}
	if (!pong) {
		fw_printf("minnow-test: virtio-net no echo reply (frames seen %u)\n",
			  n.frames_seen);
		return FW_EXIT_FAIL;
	}
	fw_printf("minnow-test: ping ok\n");
	return FW_EXIT_OK;
}
