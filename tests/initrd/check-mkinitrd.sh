#!/bin/sh
# check-mkinitrd.sh - firmware/mkinitrd.sh's module lists and archive format (run by tests/check.sh in the unit tier): on a made-up modules directory, each device's modules land in its own list (/etc/minnow-modules-acpi-HID, /etc/minnow-modules-virtio-ID) in dependency order, a list leaves out what one loaded before it has, a bad :ID or @HID is refused in one line, status 1, and -o writes a plain newc archive unless its name ends in .gz.
#
# Usage: sh tests/initrd/check-mkinitrd.sh [TIER] (default unit). Prints
# "TEST <tier> initrd::<name> PASS|FAIL|SKIP <reason>" lines; exits 0.
# Needs busybox (static) and cpio, as mkinitrd.sh does; no kernel.
set -u
cd "$(dirname "$0")/../.." || exit 1
TIER=${1:-unit}

result() {
	r_name=$1 r_status=$2
	shift 2
	echo "TEST $TIER initrd::$r_name $r_status${*:+ $*}"
}

missing=
command -v busybox >/dev/null 2>&1 || missing="$missing busybox (busybox-static)"
command -v cpio >/dev/null 2>&1 || missing="$missing cpio"
if [ -n "$missing" ]; then
	for t in module_lists extra_modules archive_format bad_module_tags; do
		result $t SKIP "mkinitrd.sh needs$missing"
	done
	exit 0
fi

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
M=$tmp/modules
# A kernel's modules.dep in miniature: virtio_blk and virtio_net need the
# virtio core that the transport's list loads; virtio_net also needs two
# modules of its own; ext4 is built in.
while read -r line; do
	mkdir -p "$M/$(dirname "${line%%:*}")"
	: >"$M/${line%%:*}"
	echo "$line" >>"$M/modules.dep"
done <<'EOF'
kernel/drivers/virtio/virtio_ring.ko:
kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/virtio/virtio_mmio.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/misc/pvpanic/pvpanic.ko:
kernel/drivers/misc/pvpanic/pvpanic-mmio.ko: kernel/drivers/misc/pvpanic/pvpanic.ko
kernel/drivers/acpi/button.ko:
kernel/drivers/input/evdev.ko:
kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/net/core/failover.ko:
kernel/drivers/net/net_failover.ko: kernel/net/core/failover.ko
kernel/drivers/net/virtio_net.ko: kernel/drivers/net/net_failover.ko kernel/net/core/failover.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/char/hw_random/virtio-rng.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/misc/extra.ko: kernel/drivers/input/evdev.ko
EOF
echo kernel/fs/ext4/ext4.ko >"$M/modules.builtin"
INIT=$tmp/init
printf '#!/bin/sh\n' >"$INIT"
chmod 755 "$INIT"

# lists DIR: every list of DIR's initrd tree, one line each: "NAME: m1 m2 ...".
lists() {
	for f in "$1"/etc/minnow-modules*; do
		printf '%s:' "${f##*/}"
		sed 's|.*/||; s|\.ko$||' "$f" | tr '\n' ' ' | sed 's/ $//; s/^/ /'
		echo
	done
}

# ---- the default lists ------------------------------------------------------------
T=$tmp/tree
if ! sh firmware/mkinitrd.sh -k test -m "$M" -i "$INIT" -d "$T" >"$tmp/out" 2>&1; then
	result module_lists FAIL "mkinitrd.sh failed: $(tail -n 2 "$tmp/out" | tr '\n' ' ')"
else
	lists "$T" >"$tmp/got"
	cat >"$tmp/want" <<'EOF'
minnow-modules:
minnow-modules-acpi-LNRO0005: virtio_ring virtio virtio_mmio
minnow-modules-acpi-PNP0C0C: button evdev
minnow-modules-acpi-QEMU0001: pvpanic pvpanic-mmio
minnow-modules-virtio-1: failover net_failover virtio_net
minnow-modules-virtio-2: virtio_blk
minnow-modules-virtio-4: virtio-rng
EOF
	paths_ok=true
	for f in "$T"/etc/minnow-modules-*; do
		while read -r p; do [ -f "$T$p" ] || paths_ok=false; done <"$f"
	done
	if cmp -s "$tmp/got" "$tmp/want" && $paths_ok; then
		result module_lists PASS "$(wc -l <"$tmp/want") lists as expected, every module in the tree"
	else
		result module_lists FAIL "lists: $(tr '\n' ';' <"$tmp/got") (want $(tr '\n' ';' <"$tmp/want"); files present: $paths_ok)"
	fi
fi

# ---- -M: untagged to the common list, @HID to that device's ---------------------------
T2=$tmp/tree2
if ! sh firmware/mkinitrd.sh -k test -m "$M" -i "$INIT" -d "$T2" -n -M virtio_blk \
	-M extra@ABCD0001 >"$tmp/out" 2>&1; then
	result extra_modules FAIL "mkinitrd.sh -n -M failed: $(tail -n 2 "$tmp/out" | tr '\n' ' ')"
else
	got=$(lists "$T2" | tr '\n' ';')
	want="minnow-modules: virtio_ring virtio virtio_blk;minnow-modules-acpi-ABCD0001: evdev extra;"
	if [ "$got" = "$want" ]; then
		result extra_modules PASS "$got"
	else
		result extra_modules FAIL "lists: $got (want $want)"
	fi
fi

# ---- the archive: plain newc, gzip only when the name ends in .gz -------------------
# magic FILE: the first six bytes of FILE, as hex.
magic() { od -An -tx1 -N6 "$1" | tr -d ' \n'; }
# has_init CMD: CMD's output is a newc archive listing /init.
has_init() { "$@" | cpio -it --quiet 2>/dev/null | grep -qx init; }
plain=$tmp/i.cpio
packed=$tmp/i.cpio.gz
if ! sh firmware/mkinitrd.sh -k test -m "$M" -i "$INIT" -o "$plain" >"$tmp/out" 2>&1 ||
	! sh firmware/mkinitrd.sh -k test -m "$M" -i "$INIT" -o "$packed" >>"$tmp/out" 2>&1; then
	result archive_format FAIL "mkinitrd.sh -o failed: $(tail -n 2 "$tmp/out" | tr '\n' ' ')"
elif [ "$(magic "$plain")" != 303730373031 ] || ! has_init cat "$plain"; then
	result archive_format FAIL "${plain##*/} starts with $(magic "$plain"), not a newc archive (070701) with /init"
elif [ "$(magic "$packed" | cut -c1-4)" != 1f8b ] || ! has_init gzip -dc "$packed"; then
	result archive_format FAIL "${packed##*/} starts with $(magic "$packed"), not gzip (1f8b) of an archive with /init"
else
	result archive_format PASS "i.cpio a plain newc archive ($(wc -c <"$plain") bytes), i.cpio.gz gzip ($(wc -c <"$packed") bytes), both with /init"
fi

# ---- a bad tag: one line, status 1, no tree ------------------------------------------
bad=
for tag in virtio_blk:0 virtio_blk:100 virtio_blk:x button@pnp0c0c button@ABC button@ABCDEFGHI; do
	rm -rf "$tmp/t3"
	sh firmware/mkinitrd.sh -k test -m "$M" -i "$INIT" -d "$tmp/t3" -M "$tag" >"$tmp/out" 2>&1
	st=$?
	lines=$(grep -c . "$tmp/out")
	if [ $st -ne 1 ] || [ "$lines" -ne 1 ] || ! grep -q "module $tag: the ID after" "$tmp/out" ||
		[ -e "$tmp/t3" ]; then
		bad="$bad $tag (status $st, $lines lines: $(tr '\n' ' ' <"$tmp/out"));"
	fi
done
if [ -z "$bad" ]; then
	result bad_module_tags PASS "six bad :ID and @HID tags refused, one line and status 1 each"
else
	result bad_module_tags FAIL "$bad"
fi
exit 0
