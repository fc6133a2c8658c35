#!/bin/sh
# distro-image.sh - make bench-distro's guest: a Debian bookworm root file system (debootstrap minbase with systemd) on an ext4 image, and an initramfs-tools initrd for the kernel KVER, built once and cached; prints the cache directory.
#
# usage: sh tests/bench/distro-image.sh KVER
# The cache: ${XDG_CACHE_HOME:-$HOME/.cache}/minnow/distro/KEY/ with
# rootfs.img and initrd.img, KEY a hash of this script (the package list
# and the image's configuration are in it) and KVER. Concurrent runs wait on
# a lock (flock); the image is built in KEY.work and renamed at the end, so
# a KEY directory is always complete. Needs root (debootstrap), network
# (deb.debian.org), mkinitramfs (initramfs-tools) and /lib/modules/KVER.
# The guest boots to multi-user.target, where bench-done.service prints
# "BENCHDISTRO multi-user uptime=SECONDS" (CLOCK_BOOTTIME, /proc/uptime) on
# /dev/console and powers off; no getty, no network.
set -eu
KVER=$1
PKGS=systemd,systemd-sysv,udev,dbus,kmod
MIRROR=http://deb.debian.org/debian

KEY=$( (cat "$0" && echo "$KVER") | sha256sum | cut -c1-16)
TOP=${XDG_CACHE_HOME:-$HOME/.cache}/minnow/distro
C=$TOP/$KEY
mkdir -p "$TOP"
exec 9>"$TOP/$KEY.lock"
flock 9
if [ -f "$C/rootfs.img" ] && [ -f "$C/initrd.img" ]; then
	echo "$C"
	exit 0
fi
[ -d "/lib/modules/$KVER" ] || {
	echo "distro-image: no /lib/modules/$KVER" >&2
	exit 1
}
command -v debootstrap >/dev/null 2>&1 || apt-get install -y debootstrap >&2
command -v mkinitramfs >/dev/null 2>&1 || apt-get install -y initramfs-tools >&2

WK=$TOP/$KEY.work
rm -rf "$WK"
mkdir -p "$WK"
R=$WK/root
echo "distro-image: debootstrap bookworm ($PKGS) into $R (a few minutes)" >&2
debootstrap --variant=minbase --include=$PKGS bookworm "$R" "$MIRROR" >"$WK/debootstrap.log" 2>&1 || {
	tail -n 20 "$WK/debootstrap.log" >&2
	exit 1
}

# ---- the guest's configuration ------------------------------------------------
echo "/dev/vda / ext4 rw,relatime 0 0" >"$R/etc/fstab"
echo bench >"$R/etc/hostname"
# A fixed machine ID: an empty one makes the boot a first boot
# (systemd-firstboot prompts on the console, presets run).
echo 5d1e7a0c3f2b4e6a9c8d7b6a5f4e3d2c >"$R/etc/machine-id"
for u in serial-getty@ttyS0.service getty@tty1.service getty.target systemd-firstboot.service; do
	ln -sf /dev/null "$R/etc/systemd/system/$u"
done
cat >"$R/usr/local/sbin/bench-done" <<'EOF'
#!/bin/sh
# At multi-user.target: the guest's uptime (CLOCK_BOOTTIME) on the console, then power off.
echo "BENCHDISTRO multi-user uptime=$(cut -d' ' -f1 /proc/uptime)" >/dev/console
exec systemctl --no-block poweroff
EOF
chmod 755 "$R/usr/local/sbin/bench-done"
cat >"$R/etc/systemd/system/bench-done.service" <<'EOF'
[Unit]
Description=make bench-distro: report multi-user.target and power off
After=multi-user.target

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/bench-done

[Install]
WantedBy=multi-user.target
EOF
mkdir -p "$R/etc/systemd/system/multi-user.target.wants"
ln -sf ../bench-done.service "$R/etc/systemd/system/multi-user.target.wants/bench-done.service"
rm -rf "$R"/var/cache/apt/archives/*.deb "$R"/var/lib/apt/lists/*

# ---- the initrd: this host's initramfs-tools, with the guest's drivers -------
cp -r /etc/initramfs-tools "$WK/initramfs-tools"
printf '%s\n' virtio_mmio virtio_blk ext4 >>"$WK/initramfs-tools/modules"
mkinitramfs -d "$WK/initramfs-tools" -o "$WK/initrd.img" "$KVER" >&2

# ---- the image: the tree and 128 MiB to spare --------------------------------
mib=$(($(du -sm "$R" | cut -f1) + 128))
mkfs.ext4 -q -F -L bench-root -d "$R" "$WK/rootfs.img" "${mib}M" >&2
rm -rf "$R" "$WK/initramfs-tools"
mv "$WK" "$C"
echo "distro-image: built $C (rootfs.img ${mib} MiB)" >&2
echo "$C"
