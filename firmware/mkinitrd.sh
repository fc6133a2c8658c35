#!/bin/sh
# mkinitrd.sh - builds a newc initrd for minnow's Linux guests (uncompressed, or gzip-compressed when its name ends in .gz): busybox, minnow-init as /init, the kernel's virtio/vsock/ext4/pvpanic/button/evdev/virtiofs modules. Each device's modules (with their dependencies, in dependency order) are listed on their own: a platform device's in /etc/minnow-modules-acpi-HID (HID its ACPI _HID), a virtio device's in /etc/minnow-modules-virtio-ID (ID its virtio device ID), those every guest needs in /etc/minnow-modules; minnow-init loads a device's list only when the guest has such a device (each module loaded costs a Linux boot tens of milliseconds under nested virtualization).
#
# usage: firmware/mkinitrd.sh [-k KVER] [-m MODDIR] [-i INIT] [-o OUT | -d DIR]
#                             [-a SRC[:DEST]]... [-n] [-M MODULE]...
#   -k KVER   kernel version whose modules to take (default: the newest
#             /boot/vmlinuz-*-cloud-amd64, else `uname -r`)
#   -m DIR    modules directory (default /lib/modules/KVER); -m none: no modules
#             (for a kernel with everything built in)
#   -i INIT   the init program (default build/linux/minnow-init)
#   -o OUT    output file (default build/linux/initrd.cpio); gzip -9 when
#             OUT ends in .gz, else left uncompressed: the kernel unpacks a
#             plain archive faster than it can gunzip one
#   -d DIR    write the tree to DIR instead (emptied first; e.g. for
#             mkfs.ext4 -d to make a root file system)
#   -a SRC[:DEST]  add a file (default DEST: /bin/NAME), repeatable
#   -M NAME[:ID|@HID]  add one more module (with its dependencies),
#             repeatable; with :ID, loaded only when there is a virtio device
#             of that ID, with @HID only when there is an ACPI device of that
#             _HID
#   -n        none of the default modules (only those given with -M)
# Needs: busybox (busybox-static), cpio; gzip for a .gz OUT or gzip-compressed
# modules, xz/zstd for modules compressed so.
set -eu

KVER=
MODDIR=
INIT=build/linux/minnow-init
OUT=build/linux/initrd.cpio
DIR=
EXTRA=
MORE_MODS=
DEFAULT_MODS=yes
# NAME@HID: only with an ACPI device of that _HID. virtio_mmio is the
# virtio-mmio transport (LNRO0005; minnow-init also loads it for
# virtio_mmio.device= on the command line); pvpanic_mmio (QEMU0001) reports
# a panic to minnow; button (the power button, PNP0C0C) and evdev (its
# /dev/input/event*) let minnow-init power off on minnow's power button.
# NAME:ID: only with a virtio device of ID (1 net, 2 block, 3 console,
# 4 entropy, 19 vsock, 26 fs); ext4 and crc32c_generic (its metadata
# checksums) serve a root file system on a virtio drive; virtiofs (with
# fuse) mounts minnow exec --share's directories.
MODS="virtio_mmio@LNRO0005 pvpanic_mmio@QEMU0001 button@PNP0C0C evdev@PNP0C0C
virtio_net:1 virtio_blk:2 ext4:2 crc32c_generic:2 virtio_console:3 virtio_rng:4
vmw_vsock_virtio_transport:19 virtiofs:26"

usage() {
	sed -n '3,23s/^# \{0,1\}//p' "$0" >&2
	exit 2
}

while getopts k:m:i:o:d:a:M:nh opt; do
	case $opt in
	k) KVER=$OPTARG ;;
	m) MODDIR=$OPTARG ;;
	i) INIT=$OPTARG ;;
	o) OUT=$OPTARG ;;
	d) DIR=$OPTARG ;;
	a) EXTRA="$EXTRA
$OPTARG" ;;
	M) MORE_MODS="$MORE_MODS $OPTARG" ;;
	n) DEFAULT_MODS=no ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 0 ] || usage
[ "$DEFAULT_MODS" = yes ] || MODS=
MODS="$MODS $MORE_MODS"

die() {
	echo "mkinitrd: $*" >&2
	exit 1
}

for m in $MODS; do
	case $m in
	*:*)
		case ${m#*:} in
		[1-9] | [1-9][0-9]) ;;
		*) die "module $m: the ID after ':' must be a virtio device ID (1..99)" ;;
		esac
		;;
	*@*)
		printf '%s\n' "${m#*@}" | grep -Eqx '[A-Z0-9]{7,8}' ||
			die "module $m: the ID after '@' must be an ACPI _HID (7 or 8 of A-Z, 0-9)"
		;;
	esac
done

if [ -z "$KVER" ] && [ "$MODDIR" != none ]; then
	k=$(ls /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sort -V | tail -n 1)
	if [ -n "$k" ]; then
		KVER=${k#/boot/vmlinuz-}
	else
		KVER=$(uname -r)
	fi
fi
[ -n "$MODDIR" ] || MODDIR=/lib/modules/$KVER
BUSYBOX=$(command -v busybox) || die "no busybox (apt-get install busybox-static)"
# Under busybox's own sh (minnow exec in a busybox system) applets are
# builtins: `command -v` says "busybox", not where it is.
case $BUSYBOX in /*) ;; *) BUSYBOX=$(which busybox) || die "no busybox on PATH" ;; esac
! ldd "$BUSYBOX" >/dev/null 2>&1 || die "$BUSYBOX is dynamically linked (apt-get install busybox-static)"
[ -x "$INIT" ] || die "no init program $INIT (make build/linux/minnow-init)"
command -v cpio >/dev/null || die "no cpio (apt-get install cpio)"
case $OUT in
*.gz)
	compress='gzip -9'
	command -v gzip >/dev/null || die "no gzip for $OUT (apt-get install gzip)"
	;;
*) compress='cat' ;;
esac
[ "$MODDIR" = none ] || [ -f "$MODDIR/modules.dep" ] || die "no $MODDIR/modules.dep"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root
mkdir -p "$root/bin" "$root/sbin" "$root/etc" "$root/proc" "$root/sys" "$root/dev" \
	"$root/tmp" "$root/root" "$root/newroot" "$root/usr/bin" "$root/usr/sbin"
cp "$BUSYBOX" "$root/bin/busybox"
for a in $("$BUSYBOX" --list); do
	case $a in busybox | init | linuxrc) continue ;; esac
	ln -s busybox "$root/bin/$a"
done
cp "$INIT" "$root/init"
chmod 755 "$root/init"

# Extra files: SRC[:DEST], DEST defaulting to /bin/NAME.
printf '%s\n' "$EXTRA" | while IFS= read -r spec; do
	[ -n "$spec" ] || continue
	src=${spec%%:*}
	if [ "$src" = "$spec" ]; then dest=/bin/$(basename "$src"); else dest=${spec#*:}; fi
	[ -e "$src" ] || die "extra file $src does not exist"
	mkdir -p "$root$(dirname "$dest")"
	rm -f "$root$dest" # a busybox link: replace it, not busybox
	cp -L "$src" "$root$dest"
done

# Modules: each wanted one that exists (matched by name, '-' and '_' alike),
# its dependencies first, each once in its list (a device's list leaves out
# what the common list loads, and a virtio device's what the virtio-mmio
# transport's loads); built-in ones need nothing.
: >"$root/etc/minnow-modules"
if [ "$MODDIR" != none ]; then
	dep=$MODDIR/modules.dep
	order=$tmp/order # lines: LIST PATH; LIST "-" for the common one, @HID or a virtio ID
	: >"$order"
	# Prints the path of module NAME listed in FILE (modules.dep or
	# modules.builtin), or nothing.
	modpath() {
		awk -F: -v n="$(printf '%s' "$1" | tr - _)" '{ p = $1; b = p; sub(/.*\//, "", b);
			sub(/\.ko(\.[a-z]+)?$/, "", b); gsub(/-/, "_", b);
			if (b == n) { print p; exit } }' "$2"
	}
	# Whether PATH is in LIST (or in one loaded before it) already.
	listed() {
		case $2 in
		[0-9]*) grep -qxF -e "- $1" -e "@LNRO0005 $1" -e "$2 $1" "$order" ;;
		*) grep -qxF -e "- $1" -e "$2 $1" "$order" ;;
		esac
	}
	# Appends PATH to LIST in $order, its dependencies first, depth first.
	add() {
		listed "$1" "$2" && return 0
		for d in $(awk -F: -v p="$1" '$1 == p { print $2; exit }' "$dep"); do
			add "$d" "$2"
		done
		listed "$1" "$2" || echo "$2 $1" >>"$order"
	}
	# The common modules first, then the platform devices', then the virtio
	# devices', so that each list can leave out what one before it loads.
	for m in $MODS; do case $m in *[:@]*) ;; *) echo "$m:-" ;; esac; done >"$tmp/wanted"
	for m in $MODS; do case $m in *@*) echo "${m%%@*}:@${m#*@}" ;; esac; done >>"$tmp/wanted"
	for m in $MODS; do case $m in *:*) echo "$m" ;; esac; done >>"$tmp/wanted"
	while IFS=: read -r m list; do
		p=$(modpath "$m" "$dep")
		if [ -n "$p" ]; then
			add "$p" "$list"
		elif [ -z "$(modpath "$m" "$MODDIR/modules.builtin" 2>/dev/null)" ]; then
			echo "mkinitrd: note: module $m not found in $MODDIR (skipped)" >&2
		fi
	done <"$tmp/wanted"
	while read -r list p; do
		src=$MODDIR/$p
		dest=/lib/modules/$KVER/$p
		mkdir -p "$root$(dirname "$dest")"
		case $p in
		*.ko.xz) xz -dc "$src" >"$root${dest%.xz}"; dest=${dest%.xz} ;;
		*.ko.zst) zstd -qdc "$src" >"$root${dest%.zst}"; dest=${dest%.zst} ;;
		*.ko.gz) gzip -dc "$src" >"$root${dest%.gz}"; dest=${dest%.gz} ;;
		*) cp "$src" "$root$dest" ;;
		esac
		case $list in
		-) echo "$dest" >>"$root/etc/minnow-modules" ;;
		@*) echo "$dest" >>"$root/etc/minnow-modules-acpi-${list#@}" ;;
		*) echo "$dest" >>"$root/etc/minnow-modules-virtio-$list" ;;
		esac
	done <"$order"
fi

if [ -n "$DIR" ]; then
	rm -rf "$DIR"
	mkdir -p "$(dirname "$DIR")"
	cp -a "$root" "$DIR"
	echo "mkinitrd: tree in $DIR"
	exit 0
fi
mkdir -p "$(dirname "$OUT")"
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | $compress >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "mkinitrd: $OUT ($(wc -c <"$OUT") bytes, $(sort -u "$root"/etc/minnow-modules* | wc -l) modules${KVER:+ from $KVER})"
