#!/usr/bin/env python3
"""make_seeds.py - writes the seed corpora tests/fuzz/corpus/<harness>/ in the
input formats the harnesses read (see the comment at the top of each
fuzz_*.c). Run from anywhere; rerun after changing an input format."""
import gzip
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")


def put(harness, name, data):
    d = os.path.join(CORPUS, harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def u8(v):
    return struct.pack("<B", v)


def u16(v):
    return struct.pack("<H", v)


def u32(v):
    return struct.pack("<I", v)


def u64(v):
    return struct.pack("<Q", v)


class Ram:
    """Guest RAM contents built at fixed guest physical addresses."""

    def __init__(self):
        self.b = bytearray()

    def at(self, gpa, data):
        if len(self.b) < gpa + len(data):
            self.b.extend(b"\0" * (gpa + len(data) - len(self.b)))
        self.b[gpa:gpa + len(data)] = data

    def bytes(self):
        return bytes(self.b)


NEXT, WRITE, INDIRECT = 1, 2, 4


def desc(addr, length, flags=0, nxt=0):
    return u64(addr) + u32(length) + u16(flags) + u16(nxt)


def avail(idx, ring, size):
    ring = list(ring) + [0] * (size - len(ring))
    return u16(0) + u16(idx) + b"".join(u16(r) for r in ring) + u16(0)


# ---- config: ini text, then optional NUL-separated --set overrides ----------

put("fuzz_config", "minimal.ini", b"[kernel]\npath = vmlinuz\n")
put("fuzz_config", "full.ini", b"""; every section
[vm]
name = fuzz-vm
vcpus = 2
memory = 256M
prefault = off
acpi = on
boot_timeout = 2s

[kernel]
path = vmlinuz
initrd = initrd.img
cmdline = console=ttyS0 quiet
format = bzimage
cmdline_devices = yes

[console]
output = none
input = off

[drive.root]
path = disk.img
readonly = false
cache = none
serial = root-disk

[net.eth0]
tap = tap0
mac = 52:54:00:12:34:56

[vsock]
cid = 42
uds_path = /run/vsock.sock

[rng]
enabled = on

[vconsole]
output = stdio
""")
put("fuzz_config", "overrides.ini",
    b"[kernel]\npath: vmlinuz\n\0vm.memory=1G\0drive.data.path=disk.img\0"
    b"drive.data.readonly=on\0kernel.cmdline = root=/dev/vda")
put("fuzz_config", "size.txt", b"512K")

# ---- loader: u8 flags, u16 cmdline length, u32 initrd size, the image ----------

AUTO, BZIMAGE, ELF, PVH = 0, 1, 2, 3
F_INITRD, F_RSDP = 0x04, 0x08


def loader_input(flags, cmdline_len, initrd_size, image):
    return u8(flags) + u16(cmdline_len) + u32(initrd_size) + image


def bzimage():
    code = 0x210
    img = bytearray(1024 + code)

    def w(off, data):
        img[off:off + len(data)] = data

    w(0x1F1, u8(1))  # setup_sects
    w(0x1F4, u32(code // 16))  # syssize
    w(0x1FE, u16(0xAA55))
    w(0x200, b"\xeb\x6a")  # jump: header ends at 0x26c
    w(0x202, b"HdrS")
    w(0x206, u16(0x020F))
    w(0x211, u8(0x01))  # LOADED_HIGH
    w(0x22C, u32(0x7FFFFFFF))  # initrd_addr_max
    w(0x230, u32(0x200000))  # kernel_alignment
    w(0x234, u8(1))  # relocatable_kernel
    w(0x236, u16(0x0001))  # XLF_KERNEL_64
    w(0x238, u32(2047))  # cmdline_size
    w(0x258, u64(0x1000000))  # pref_address
    w(0x260, u32(0x100000))  # init_size
    w(1024 + 0x200, b"\x0f\x0b")  # ud2 at the 64-bit entry
    return bytes(img)


def pvh_note(entry):
    return u32(4) + u32(4) + u32(18) + b"Xen\0" + u32(entry)


def elf64(entry, pvh, note_in_section=False):
    phnum = 2 if pvh and not note_in_section else 1
    code_off = 0x100
    note_off = 0xC0
    eh = (b"\x7fELF" + bytes([2, 1, 1]) + b"\0" * 9 + u16(2) + u16(62) + u32(1) +
          u64(entry) + u64(64) + u64(0x120 if note_in_section else 0) + u32(0) +
          u16(64) + u16(56) + u16(phnum) + u16(64) + u16(1 if note_in_section else 0) +
          u16(0))
    ph = u32(1) + u32(5) + u64(code_off) + u64(0xFFFFFFFF81000000) + u64(0x100000) + \
        u64(16) + u64(0x2000) + u64(0x1000)
    if pvh and not note_in_section:
        ph += u32(4) + u32(4) + u64(note_off) + u64(0) + u64(0) + u64(20) + u64(20) + u64(4)
    img = bytearray(eh + ph)
    img.extend(b"\0" * (0x200 - len(img)))
    if pvh:
        img[note_off:note_off + 20] = pvh_note(0x100000)
    img[code_off:code_off + 16] = b"\xf4" * 16  # hlt
    if note_in_section:
        sh = u32(0) + u32(7) + u64(0) + u64(0) + u64(note_off) + u64(20) + u32(0) + \
            u32(0) + u64(4) + u64(0)
        img[0x120:0x120 + 64] = sh
    return bytes(img)


def elf32_pvh():
    eh = (b"\x7fELF" + bytes([1, 1, 1]) + b"\0" * 9 + u16(2) + u16(3) + u32(1) +
          u32(0x100000) + u32(52) + u32(0) + u32(0) + u16(52) + u16(32) + u16(2) +
          u16(40) + u16(0) + u16(0))
    ph = u32(1) + u32(0x100) + u32(0x100000) + u32(0x100000) + u32(16) + u32(0x1000) + \
        u32(5) + u32(0x1000)
    ph += u32(4) + u32(0xC0) + u32(0) + u32(0) + u32(20) + u32(20) + u32(4) + u32(4)
    img = bytearray(eh + ph)
    img.extend(b"\0" * (0x110 - len(img)))
    img[0xC0:0xC0 + 20] = pvh_note(0x100000)
    img[0x100:0x110] = b"\xf4" * 16
    return bytes(img)


put("fuzz_loader", "bzimage", loader_input(AUTO | F_INITRD, 16, 4096, bzimage()))
put("fuzz_loader", "bzimage-explicit", loader_input(BZIMAGE | F_RSDP, 2047, 0, bzimage()))
put("fuzz_loader", "elf64-vmlinux", loader_input(ELF | F_INITRD, 32, 70000, elf64(
    0xFFFFFFFF81000000, False)))
put("fuzz_loader", "elf64-pvh", loader_input(AUTO | F_INITRD | F_RSDP, 8, 4097, elf64(
    0x100000, True)))
put("fuzz_loader", "elf64-pvh-section", loader_input(PVH, 0, 0, elf64(
    0x100000, True, note_in_section=True)))
put("fuzz_loader", "elf32-pvh", loader_input(PVH | F_INITRD, 100, 12, elf32_pvh()))

# ---- virtqueue: header, then RAM (copied to low RAM and to high RAM) -----------

F_EVENT_IDX, F_INDIRECT, F_DESC_HIGH, F_AVAIL_HI, F_USED_HI = 1, 2, 4, 8, 16
F_UNPOP, F_WRITE = 0x20, 0x40
HIGH = 1 << 32


def vq_input(flags, max_log2, qsize, seg_cap, d, a, u, ram):
    return u8(flags) + u8(max_log2) + u16(qsize) + u8(seg_cap) + u16(d) + u16(a) + \
        u16(u) + ram


def vq_ram(base):
    r = Ram()
    r.at(0x000, desc(base + 0x200, 16, NEXT, 1) + desc(base + 0x280, 64, WRITE) +
         desc(base + 0x100, 32, INDIRECT) + desc(base + 0x2C0, 8, NEXT, 4) +
         desc(base + 0x2D0, 8, WRITE | NEXT, 5) + desc(base + 0x2E0, 8, WRITE))
    r.at(0x080, avail(3, [0, 2, 3], 8))
    r.at(0x0A0, b"\0" * (6 + 8 * 8))
    r.at(0x100, desc(base + 0x240, 8, NEXT, 1) + desc(base + 0x248, 24, WRITE))
    r.at(0x200, bytes(range(0xC0)))
    r.at(0x2C0, b"\xee" * 0x30)
    return r.bytes()


put("fuzz_virtqueue", "chains", vq_input(F_EVENT_IDX | F_INDIRECT | F_WRITE | F_UNPOP, 3, 8,
                                         16, 0x000, 0x080, 0x0A0, vq_ram(0)))
put("fuzz_virtqueue", "high", vq_input(F_INDIRECT | F_WRITE | F_DESC_HIGH | F_USED_HI, 4, 8,
                                       4, 0x000, 0x080, 0x0A0, vq_ram(HIGH)))
loop = Ram()
loop.at(0, desc(0x200, 8, NEXT, 1) + desc(0x208, 8, NEXT, 0))
loop.at(0x80, avail(1, [0], 2))
put("fuzz_virtqueue", "loop", vq_input(0, 1, 2, 8, 0x000, 0x080, 0x0A0, loop.bytes()))

# ---- virtio-mmio: u8 flags, u16 RAM length, RAM, operations ----------------------

OP_WRITE, OP_READ, OP_RAM, OP_KICK, OP_SETUP = 0, 3, 5, 6, 7
DEV_RNG, DEV_BLK = 0, 8
SZ4, SZ1, SZ2, SZ8 = 0x00, 0x10, 0x20, 0x30


def mmio_input(flags, ram, ops):
    return u8(flags) + u16(len(ram)) + ram + ops


def setup(dev, what, log2, d, a, u):
    return u8(OP_SETUP | dev) + u8(what) + u8(log2) + u16(d) + u16(a) + u16(u)


def blk_hdr(t, sector):
    return u32(t) + u32(0) + u64(sector)


r = Ram()
# rng: queue at 0x000/0x100/0x200, one 64-byte writable buffer.
r.at(0x000, desc(0x300, 64, WRITE))
r.at(0x100, avail(1, [0], 8))
# blk: 16-entry queue at 0x400/0x500/0x600, requests from 0x700.
d = [
    desc(0x700, 16, NEXT, 1), desc(0x800, 512, WRITE | NEXT, 2), desc(0x710, 1, WRITE),  # IN
    desc(0x720, 16, NEXT, 4), desc(0xA00, 512, NEXT, 5), desc(0x730, 1, WRITE),  # OUT
    desc(0x740, 16, NEXT, 7), desc(0x750, 1, WRITE),  # FLUSH
    desc(0x760, 16, NEXT, 9), desc(0x770, 20, WRITE | NEXT, 10), desc(0x790, 1, WRITE),  # GET_ID
    desc(0x7A0, 16, NEXT, 12), desc(0x7C0, 16, NEXT, 13), desc(0x7D0, 1, WRITE),  # DISCARD
    desc(0x3C0, 48, INDIRECT),  # WRITE_ZEROES through an indirect table
]
r.at(0x400, b"".join(d))
r.at(0x3C0, desc(0x7E0, 16, NEXT, 1) + desc(0x7F0, 16, NEXT, 2) + desc(0x7FF, 1, WRITE))
r.at(0x500, avail(6, [0, 3, 6, 8, 11, 14], 16))
r.at(0x700, blk_hdr(0, 1))
r.at(0x720, blk_hdr(1, 2))
r.at(0x740, blk_hdr(4, 0))
r.at(0x760, blk_hdr(8, 0))
r.at(0x7A0, blk_hdr(11, 0))
r.at(0x7C0, u64(4) + u32(2) + u32(0))
r.at(0x7E0, blk_hdr(13, 0))
r.at(0x7F0, u64(8) + u32(3) + u32(1))
r.at(0xA00, b"W" * 512)
ram = r.bytes()

ops = (setup(DEV_RNG, 0x03, 3, 0x000, 0x100, 0x200) + u8(OP_KICK | DEV_RNG) + u8(0) +
       setup(DEV_BLK, 0x07, 4, 0x400, 0x500, 0x600) + u8(OP_KICK | DEV_BLK) + u8(0) +
       u8(OP_READ | DEV_BLK | SZ4) + u16(0x100) +  # capacity
       u8(OP_READ | DEV_BLK | SZ1) + u16(0x114) +
       u8(OP_READ | DEV_BLK | SZ4) + u16(0x070) +  # Status
       u8(OP_READ | DEV_BLK | SZ4) + u16(0x060) +  # InterruptStatus
       u8(OP_WRITE | DEV_BLK | SZ4) + u16(0x064) + u32(3) +  # InterruptACK
       u8(OP_RAM) + u32(0x502) + u8(2) + u16(7) +  # one more avail entry
       u8(OP_KICK | DEV_BLK) + u8(0) +
       u8(OP_WRITE | DEV_BLK | SZ4) + u16(0x070) + u32(0))  # reset
put("fuzz_virtio_mmio", "rng-blk", mmio_input(0, ram, ops))
put("fuzz_virtio_mmio", "blk-readonly", mmio_input(1, ram, ops))
put("fuzz_virtio_mmio", "blk-direct", mmio_input(2, ram, ops))
# cache = none with a misaligned read buffer: the O_DIRECT bounce path.
r.at(0x400 + 16, desc(0x801, 512, WRITE | NEXT, 2))
put("fuzz_virtio_mmio", "blk-direct-bounce", mmio_input(2, r.bytes(), ops))

# A driver that programs the registers one by one (rng, 8-entry queue).
regs = b""
for off, val in [(0x070, 0), (0x070, 1), (0x070, 3), (0x014, 1), (0x024, 1), (0x020, 1),
                 (0x024, 0), (0x020, 0), (0x070, 0xB), (0x030, 0), (0x038, 8),
                 (0x080, 0x000), (0x084, 0), (0x090, 0x100), (0x094, 0), (0x0A0, 0x200),
                 (0x0A4, 0), (0x044, 1), (0x070, 0xF), (0x050, 0)]:
    regs += u8(OP_WRITE | DEV_RNG | SZ4) + u16(off) + u32(val)
for off in (0x000, 0x004, 0x008, 0x00C, 0x010, 0x034, 0x044, 0x0FC):
    regs += u8(OP_READ | DEV_RNG | SZ4) + u16(off)
put("fuzz_virtio_mmio", "rng-registers", mmio_input(0, ram[:0x400], regs))

# ---- uart: u8 output selector, then (kind, register/argument[, value]) --------------

W, R, RECV, SPACE, BAD, DRAIN = 0, 2, 4, 5, 6, 7


def uw(reg, val):
    return u8(W) + u8(reg) + u8(val)


def ur(reg):
    return u8(R) + u8(reg)


uart = (u8(1) + uw(3, 0x80) + uw(0, 1) + uw(1, 0) + ur(0) + ur(1) + uw(3, 0x03) + uw(2, 0x07) +
        uw(1, 0x0F) + uw(4, 0x0B) + u8(RECV) + u8(5) + b"hello" + ur(2) + ur(5) +
        b"".join(ur(0) for _ in range(6)) + uw(0, 0x41) + ur(2) + uw(4, 0x1B) +
        b"".join(uw(0, c) for c in b"loopback-overrun!!") + ur(5) + ur(2) + ur(0) + ur(6) +
        u8(SPACE) + u8(0) + u8(RECV) + u8(255) + uw(4, 0x0B) + u8(DRAIN) + u8(0) +
        u8(RECV) + u8(255) + u8(SPACE) + u8(0) + uw(2, 0x03) + uw(7, 0x5A) + ur(7) +
        u8(BAD) + u8(0x01) + u8(BAD) + u8(0x0B))
put("fuzz_uart", "session", uart)

# ---- fuzz_virtio_console ----
# receiveq (0): 8 entries at 0x000/0x100/0x200, two 16-byte writable buffers;
# transmitq (1): 8 entries at 0x400/0x500/0x600, "hello" and a 2-segment chain.
r = Ram()
r.at(0x000, desc(0x300, 16, WRITE) + desc(0x310, 16, WRITE))
r.at(0x100, avail(2, [0, 1], 8))
r.at(0x400, desc(0x700, 5) + desc(0x710, 3, NEXT, 2) + desc(0x720, 4))
r.at(0x500, avail(2, [0, 1], 8))
r.at(0x700, b"hello")
r.at(0x710, b"abc")
r.at(0x720, b"defg")
ram = r.bytes()
host_input = b"typed on the host\n"
con_ops = (u8(7) + u8(0x0B) + u8(3) + u16(0x000) + u16(0x100) + u16(0x200) +  # receiveq
           u8(3) + u16(0x400) + u16(0x500) + u16(0x600) +  # transmitq
           u8(6) + u8(1) + u8(6) + u8(0) +  # kick transmitq, receiveq
           u8(3) + u16(0x100) +  # config: cols
           u8(3) + u16(0x060) +  # InterruptStatus
           u8(0) + u16(0x064) + u32(1) +  # InterruptACK
           u8(5) + u32(0x102) + u8(2) + u16(3) +  # avail idx 3 on receiveq: a bad entry
           u8(6) + u8(0) +
           u8(0) + u16(0x070) + u32(0))  # reset
put("fuzz_virtio_console", "rx-tx", u16(len(ram)) + ram + u16(len(host_input)) + host_input + con_ops)
put("fuzz_virtio_console", "no-input", u16(len(ram)) + ram + u16(0) + con_ops)

# ---- fuzz_virtio_net ----
# receiveq (0): 8 entries at 0x000/0x100/0x200, two 2 KiB writable buffers and one of
# 12 bytes split over two descriptors; transmitq (1): 8 entries at 0x400/0x500/0x600, a
# header + 60-byte frame in two descriptors, then a chain with a device-writable descriptor.
NET_WRITE, NET_READ, NET_RAM, NET_KICK, NET_UP, NET_HOST, NET_POLL, NET_DRAIN = 0, 3, 4, 5, 6, 7, 8, 9
r = Ram()
r.at(0x000, desc(0x10000, 2048, WRITE) + desc(0x10800, 2048, WRITE) +
     desc(0x11000, 6, WRITE | NEXT, 3) + desc(0x11008, 6, WRITE))
r.at(0x100, avail(3, [0, 1, 2], 8))
r.at(0x400, desc(0x700, 12, NEXT, 1) + desc(0x710, 60) + desc(0x800, 20, WRITE))
r.at(0x500, avail(1, [0], 8))
r.at(0x710, bytes(range(60)))
ram = r.bytes()


def net_up(what, mask):
    return (u8(NET_UP) + u8(what) + u32(mask) + u8(3) + u16(0x000) + u16(0x100) + u16(0x200) +
            u8(3) + u16(0x400) + u16(0x500) + u16(0x600))


def net_host(length, hdr=bytes(12), seed=0):
    return u8(NET_HOST) + u32(length) + hdr + u8(seed)


net_ops = (net_up(0, 0xffffffff) +
           u8(NET_KICK) + u8(1) + u8(NET_DRAIN) +  # one frame out
           net_host(72) + net_host(1000, seed=7) + u8(NET_POLL) +  # two in
           net_host(1500) + net_host(5) + net_host(65562) + u8(NET_POLL) +  # short, huge
           u8(NET_READ) + u16(0x100) + u8(NET_READ) + u16(0x060) +  # mac, InterruptStatus
           u8(NET_RAM) + u32(0x502) + u8(2) + u16(2) + u8(NET_RAM) + u32(0x504) + u8(2) +
           u16(2) + u8(NET_KICK) + u8(1) +  # the writable chain: NEEDS_RESET
           u8(NET_READ) + u16(0x070) + u8(NET_WRITE) + u16(0x070) + u32(0))  # reset
put("fuzz_virtio_net", "rx-tx", u16(len(ram)) + ram + net_ops)
put("fuzz_virtio_net", "no-features", u16(len(ram)) + ram + net_up(0x03, 0) + net_ops)
put("fuzz_virtio_net", "mrg-rxbuf", u16(len(ram)) + ram + net_up(0, 1 << 15) +
    net_host(3000) + net_host(100) + u8(NET_POLL) + u8(NET_KICK) + u8(0) + u8(NET_POLL))
csum = u8(1) + u8(0) + u16(0) + u16(0) + u16(14) + u16(16) + u16(0)  # NEEDS_CSUM
put("fuzz_virtio_net", "offloads", u16(len(ram)) + ram + net_up(0, 0x1 | 0x2 | 0x80) +
    net_host(200, csum) + net_host(200, u8(0) + u8(1) + bytes(10)) + u8(NET_POLL))

# ---- fuzz_virtio_vsock ----
# No RAM contents: the harness posts the guest's packets and buffers itself. Rings of 16
# entries: rx at 0x0000/0x1000/0x2000, tx at 0x3000/..., the event queue at 0x6000/...
(VS_WRITE, VS_READ, VS_RAM, VS_KICK, VS_UP, VS_PKT, VS_RXBUF, VS_EVBUF, VS_CONNECT, VS_HWRITE,
 VS_HREAD, VS_HCLOSE, VS_ACCEPT, VS_TIME, VS_RESET) = 0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
REQUEST, RESPONSE, RST, SHUTDOWN, RW, CREDIT_UPDATE, CREDIT_REQUEST = 1, 2, 3, 4, 5, 6, 7
HOSTPORT0 = 0x80  # the first host port the device gives host connections


def vs_up(what=0):
    return u8(VS_UP) + u8(what) + b"".join(
        u8(4) + u16(0x3000 * q) + u16(0x3000 * q + 0x1000) + u16(0x3000 * q + 0x2000)
        for q in range(3))


def vs_pkt(op, src=0, dst=HOSTPORT0, length=0, variant=0, buf_alloc=65536, fwd_cnt=0,
           flags=0, seed=0):
    return (u8(VS_PKT) + u8(op) + u8(variant) + u8(src) + u8(dst) + u32(buf_alloc) +
            u32(fwd_cnt) + u32(flags) + u16(length) + u8(seed))


def vs_bufs(count=8, length=4096):
    return u8(VS_RXBUF) + u8(count) + u16(length) + u8(VS_EVBUF) + u8(4) + u16(8)


host_initiated = (vs_up() + vs_bufs() +
                  u8(VS_CONNECT) + u8(0) +  # CONNECT 1000
                  vs_pkt(RESPONSE) + u8(VS_HREAD) + u8(0) +  # "OK <port>"
                  u8(VS_HWRITE) + u8(0) + u16(100) + u8(1) +  # RW to the guest
                  vs_pkt(RW, length=50, seed=3) + u8(VS_HREAD) + u8(0) +
                  vs_pkt(CREDIT_UPDATE, fwd_cnt=100) + vs_pkt(CREDIT_REQUEST) +
                  u8(VS_HWRITE) + u8(0) + u16(5000) + u8(2) + u8(VS_RXBUF) + u8(4) + u16(44) +
                  vs_pkt(SHUTDOWN, flags=3) + u8(VS_HCLOSE) + u8(0) + u8(2) + vs_pkt(RST))
put("fuzz_virtio_vsock", "host-initiated", u16(0) + host_initiated)
guest_initiated = (vs_up(1) + vs_bufs() +
                   vs_pkt(REQUEST, src=1, dst=1) + u8(VS_ACCEPT) +  # to <uds>_1
                   u8(VS_HWRITE) + u8(0) + u16(300) + u8(9) + vs_pkt(RW, 1, 1, 40) +
                   u8(VS_HREAD) + u8(0) + vs_pkt(REQUEST, src=2, dst=3) +  # nothing listens
                   u8(VS_HCLOSE) + u8(0) + u8(0) + vs_pkt(SHUTDOWN, 1, 1, flags=1) +
                   u8(VS_CONNECT) + u8(3) + u8(VS_TIME) + u16(3000) +  # REQUEST times out
                   vs_pkt(RST, 1, 1))
put("fuzz_virtio_vsock", "guest-initiated", u16(0) + guest_initiated)
bad = (vs_up() + vs_bufs(2) + vs_pkt(RW, length=10, variant=0x08) +  # wrong src_cid
       vs_pkt(RW, length=10, variant=0x04) + vs_pkt(RW, length=10, variant=0x02) +  # type, len
       vs_pkt(REQUEST, variant=0x10) + vs_pkt(0) + vs_pkt(8) +  # not the host's cid, bad ops
       vs_pkt(REQUEST, dst=1, variant=0x01) + vs_pkt(RW, dst=1, length=20, variant=0x40) +
       vs_pkt(REQUEST, variant=0x20) + u32(0xffffffff) + u32(1) +  # raw ports
       u8(VS_CONNECT) + u8(1) + u8(12) + b"CONNECT x\n\0\0" +  # a bad command
       u8(VS_CONNECT) + u8(2) + u8(VS_RXBUF) + u8(1) + u16(10))  # a buffer under the header
put("fuzz_virtio_vsock", "bad-packets", u16(0) + bad)
put("fuzz_virtio_vsock", "reset-midflight", u16(0) + vs_up() + vs_bufs() + u8(VS_CONNECT) +
    u8(0) + vs_pkt(RESPONSE) + u8(VS_HWRITE) + u8(0) + u16(100) + u8(1) + u8(VS_RESET) +
    u8(VS_HREAD) + u8(0) + vs_up() + vs_bufs() + u8(VS_CONNECT) + u8(3) + vs_pkt(RESPONSE, 1))

# ---- fuzz_kernel_unpack: bzImages whose payload is LZ4 legacy frames, gzip, xz ----


def packed_bzimage(payload):
    setup, off = 4, 0x40
    b = bytearray((setup + 1) * 512 + off)
    b[0x1F1] = setup
    b[0x202:0x206] = b"HdrS"
    b[0x206:0x208] = u16(0x020F)
    b[0x248:0x250] = u32(off) + u32(len(payload))
    return bytes(b) + payload


def lz4_literals(data):
    """One LZ4 block of literals only (valid: the last sequence has no match)."""
    n, out = len(data), bytearray()
    if n >= 15:
        out.append(0xF0)
        r = n - 15
        while r >= 255:
            out.append(255)
            r -= 255
        out.append(r)
    else:
        out.append(n << 4)
    return bytes(out) + data


KERNEL = b"\x7fELF" + bytes((i * 7) & 0xFF for i in range(600))
BLOCK = lz4_literals(KERNEL)
put("fuzz_kernel_unpack", "lz4", packed_bzimage(u32(0x184C2102) + u32(len(BLOCK)) + BLOCK +
                                                u32(len(KERNEL))))
put("fuzz_kernel_unpack", "gzip", packed_bzimage(gzip.compress(KERNEL, 9, mtime=0)))
put("fuzz_kernel_unpack", "xz", packed_bzimage(b"\xfd7zXZ\x00" + bytes(20)))
