#!/bin/sh
# run.sh - boots one L1 Linux host under QEMU TCG with emulated AMD SVM, where kvm-amd gives a working /dev/kvm, and runs the asked parts of the test suite inside it: the guest tier (tests/guest/l1-part.sh) and the Linux tier (tests/linux/l1-part.sh), one boot for all.
#
# Why: a Linux kernel cannot boot on every host's /dev/kvm, and some hosts
# have none (README.md, "Tests"). QEMU's TCG needs no host KVM and emulates
# SVM with nested paging, so inside L1 minnow runs real KVM guests anywhere.
#
# Output: one line per test on stdout, "TEST <tier> <name> PASS|FAIL|SKIP
# <reason>", also collected in $W/results; progress lines ("l1: ...") and
# the end of each failed run's output. Exits 0 when L1 ran (even when tests
# failed: tests/check.sh judges), 1 when it could not be prepared.
# Environment:
#   L1_PARTS        the parts to run, blank-separated: guest linux (default:
#                   linux); "none" for none (with L1_SHELL or L1_EXTRA)
#   LINUX_TESTS     names of the Linux tests to run (default: all)
#   GUEST_FILTER    a Criterion --filter pattern for the guest tier
#   MINNOW          the minnow binary (default ./minnow)
#   GUEST_TESTS     the guest-tier binary (default build/guest-tests)
#   MINNOW_TESTHOOKS  minnow built with its test hooks (default: minnow-testhooks
#                   next to GUEST_TESTS); /bin/minnow-testhooks in L1
#   LINUX_KERNEL    the kernel for L1 and L2 (default: newest /boot/vmlinuz-*-cloud-amd64)
#   L1_TIMEOUT      seconds for the whole L1 run (default 2400)
#   L1_POKE         seconds without console output after which L1 counts as
#                   frozen (default 12; L1 prints a line every 5 s while it
#                   lives): the watchdog presses a key on L1's keyboard,
#                   which revives every frozen L1 seen (README.md, "Tests")
#   L1_KEYS         N: also press a key every N seconds (default 0: never;
#                   the benchmarks use 1, so that a freeze costs a run at
#                   most about that)
#   L1_STALL        seconds without console output after which a frozen L1
#                   that the key press did not revive is sent an NMI
#                   (default 120)
#   L1_NMI_WAIT     seconds a frozen L1 has to speak again after the NMI
#                   (default 60) before it is stopped (so is an L1 silent
#                   a fourth time); the Linux tests that had not reported
#                   then run again in a fresh L1, up to L1_RETRIES
#                   (default 5) times
#   L1_SMP          L1 vCPUs (default 1: see the QEMU command line below)
#   L1_ACCEL, L1_CPU  QEMU's -accel and -cpu for L1 (default tcg,thread=single
#                   and EPYC,+svm,+npt: see below)
#   QEMU            default qemu-system-x86_64
#   GUEST_KERNEL_DIR  where `make guest-kernel` put bzImage and vmlinux
#                   (default build/guest-kernel); its tests skip without them
#   L1_EXTRA        a shell script sourced by L1's init after the parts (for
#                   benchmarks and experiments; it can use the parts' helpers)
#   L1_QEMU         1: put QEMU (its libraries, qboot) in L1 too
#   L1_OUT          a directory: files L1 leaves in /out (e.g. coverage
#                   data) are copied there, through a second virtio disk
#   L1_FILES        more files for L1, blank-separated SRC:DEST pairs
#   L1_ENV          NAME=VALUE words exported in L1 before the parts run
#   L1_SHELL        1: after the parts, an interactive shell in L1 on this
#                   terminal, with examples/linux*.ini ready to run (Ctrl-A x
#                   quits QEMU)
#   L1_DIR          where this run keeps its files (default build/l1)
# Files: $L1_DIR (L1 initrd, L2 images, l1.log: the whole console).
set -eu
cd "$(dirname "$0")/../.."

MINNOW=${MINNOW:-./minnow}
GUEST_TESTS=${GUEST_TESTS:-build/guest-tests}
MINNOW_TESTHOOKS=${MINNOW_TESTHOOKS:-$(dirname "$GUEST_TESTS")/minnow-testhooks}
QEMU=${QEMU:-qemu-system-x86_64}
TIMEOUT=${L1_TIMEOUT:-2400}
SMP=${L1_SMP:-1}
PARTS=${L1_PARTS:-linux}
[ "$PARTS" != none ] || PARTS=
# shellcheck disable=SC2012 # Debian's kernel file names have no blanks
KERNEL=${LINUX_KERNEL:-$(ls /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sort -V | tail -n 1)}
W=${L1_DIR:-build/l1}
FW=build/firmware
PROGS=build/linux

part() { case " $PARTS " in *" $1 "*) return 0 ;; esac; return 1; }

# The L1 host cannot be made here: every asked part is one skipped test.
skip_all() {
	for p in $PARTS; do
		echo "TEST $p all SKIP cannot boot the L1 host: $*"
	done
	exit 0
}

command -v "$QEMU" >/dev/null 2>&1 || skip_all "no $QEMU (apt-get install qemu-system-x86)"
if [ -z "$KERNEL" ] || [ ! -r "$KERNEL" ]; then
	skip_all "no readable /boot/vmlinuz-*-cloud-amd64 (apt-get install linux-image-cloud-amd64)"
fi
command -v busybox >/dev/null 2>&1 || skip_all "no busybox (apt-get install busybox-static)"
command -v cpio >/dev/null 2>&1 || skip_all "no cpio (apt-get install cpio)"
command -v mkfs.ext4 >/dev/null 2>&1 || skip_all "no mkfs.ext4 (apt-get install e2fsprogs)"
need="$MINNOW $FW/minnow-test.elf $FW/minnow-test.bzimage $PROGS/minnow-init $PROGS/vsock-echo $PROGS/pty-run"
! part guest || need="$need $GUEST_TESTS"
for f in $need; do
	[ -e "$f" ] || {
		echo "l1: missing $f (make minnow firmware linux-progs $GUEST_TESTS)" >&2
		exit 1
	}
done
KVER=${KERNEL##*/vmlinuz-}
MODDIR=/lib/modules/$KVER
[ -f "$MODDIR/modules.dep" ] || skip_all "no $MODDIR/modules.dep for $KERNEL"

t0=$(date +%s)
rm -rf "$W"
mkdir -p "$W/l2"

# ---- L2: what minnow boots inside L1 ----------------------------------------
cp "$FW/minnow-test.elf" "$FW/minnow-test.bzimage" "$W/l2/"
if part linux || [ "${L1_SHELL:-0}" = 1 ] || [ -n "${L1_EXTRA:-}" ]; then
	sh firmware/mkinitrd.sh -k "$KVER" -o "$W/l2/initrd.cpio" -a "$PROGS/vsock-echo" >/dev/null
	# Without lz4 (or another decompressor) the ELF and PVH tests skip.
	sh firmware/extract-vmlinux.sh "$KERNEL" "$W/l2/vmlinux" >/dev/null || rm -f "$W/l2/vmlinux"
	sh firmware/mkinitrd.sh -m none -d "$W/rootfs-tree" -a "$PROGS/vsock-echo" >/dev/null
	mkfs.ext4 -q -F -L minnow-root -d "$W/rootfs-tree" "$W/l2/rootfs.ext4" 32M >/dev/null
	rm -rf "$W/rootfs-tree"
	cp "$KERNEL" "$W/l2/bzImage"
	# The small kernel of `make guest-kernel`, when built (else its tests skip).
	GK=${GUEST_KERNEL_DIR:-build/guest-kernel}
	if [ -f "$GK/bzImage" ] && [ -f "$GK/vmlinux" ]; then
		cp "$GK/bzImage" "$W/l2/small-bzImage"
		cp "$GK/vmlinux" "$W/l2/small-vmlinux"
		sh firmware/mkinitrd.sh -m none -o "$W/l2/small-initrd.cpio.gz" \
			-a "$PROGS/vsock-echo" >/dev/null
	fi
fi

# ---- L1: busybox, kvm-amd, tun, loop, minnow, the parts, the L2 files --------
# with_libs FILE DEST: FILE at DEST in L1, with the shared libraries it needs.
extra=
with_libs() {
	extra="$extra -a $1:$2"
	for lib in $(ldd "$1" 2>/dev/null | awk '/=> \// { print $3 } /^\t\// { print $1 }'); do
		case " $extra " in *" -a $lib:$lib "*) ;; *) extra="$extra -a $lib:$lib" ;; esac
	done
}
with_libs "$MINNOW" /bin/minnow
# The seccomp tests' forbidden-call trigger (they fail, saying so, without it).
[ ! -x "$MINNOW_TESTHOOKS" ] || with_libs "$MINNOW_TESTHOOKS" /bin/minnow-testhooks
extra="$extra -a $PROGS/vsock-echo -a $PROGS/pty-run -a tests/l1/lib.sh:/l1/lib.sh"
# minnow exec without a CONFIG (the exec-default-cache test) builds its
# initrd in L1 as on a host: minnow-init and mkinitrd.sh where an installed
# minnow finds them (/bin/../libexec/minnow), GNU cpio (mkinitrd.sh uses
# --quiet, which busybox's lacks), and the L2 modules with modules.dep (the
# kernel itself is linked to /boot below). Debian 12's modules are not
# compressed, so their paths are those modules.dep names.
if part linux; then
	sh firmware/mkinitrd.sh -k "$KVER" -d "$W/l2-mods" >/dev/null
	# shellcheck disable=SC2013 # one path per line, no blanks
	for m in $(cat "$W"/l2-mods/etc/minnow-modules*); do
		extra="$extra -a $W/l2-mods$m:$m"
	done
	extra="$extra -a $MODDIR/modules.dep:$MODDIR/modules.dep"
	extra="$extra -a $MODDIR/modules.builtin:$MODDIR/modules.builtin"
	extra="$extra -a $PROGS/minnow-init:/libexec/minnow/minnow-init"
	extra="$extra -a firmware/mkinitrd.sh:/libexec/minnow/mkinitrd.sh"
	with_libs "$(command -v cpio)" /bin/cpio
	# socat: the snapshot tests' control-socket client (they skip without it).
	! command -v socat >/dev/null 2>&1 || with_libs "$(command -v socat)" /bin/socat
	# virtio-fs (minnow exec --share, [fs.NAME]): Debian's virtiofsd, where
	# minnow looks for it, with its libraries; its tests skip without it.
	[ ! -x /usr/lib/qemu/virtiofsd ] || with_libs /usr/lib/qemu/virtiofsd /usr/lib/qemu/virtiofsd
	# make install's tree in /usr/local (the exec-installed test).
	if MAKEFLAGS='' make -s install DESTDIR="$PWD/$W/inst" PREFIX=/usr/local >"$W/install.log" 2>&1; then
		for f in $(cd "$W/inst" && find . -type f); do
			with_libs "$W/inst/${f#./}" "/${f#./}"
		done
	else
		echo "l1: make install failed (exec-installed will fail): $(tail -n 3 "$W/install.log")" >&2
	fi
fi
if part guest; then
	with_libs "$GUEST_TESTS" /bin/guest-tests
	# iproute2's ip (network namespaces: the virtio-net test), over busybox's.
	with_libs "$(command -v ip)" /bin/ip
	extra="$extra -a tests/guest/l1-part.sh:/l1/guest.sh"
	# minnow batch --slurm (tests/slurm/test.sh): Slurm's daemons, commands
	# and the plugins they load with tests/slurm/cluster.sh's slurm.conf,
	# and munged; without them the test skips.
	if command -v slurmctld >/dev/null 2>&1 && command -v munged >/dev/null 2>&1; then
		for p in slurmctld slurmd slurmstepd munged; do
			with_libs "$(readlink -f "$(command -v $p)")" /usr/sbin/$p
		done
		for p in sbatch squeue scancel scontrol sinfo; do
			with_libs "$(command -v $p)" /usr/bin/$p
		done
		plugdir=$(dirname "$(ldd "$(command -v sbatch)" | awk '/libslurmfull/ { print $3 }')")
		for p in accounting_storage_none acct_gather_energy_none acct_gather_filesystem_none \
			acct_gather_interconnect_none acct_gather_profile_none auth_munge cgroup_v1 \
			core_spec_none cred_munge ext_sensors_none hash_k12 job_container_none \
			jobacct_gather_none jobcomp_none mcs_none mpi_none mpi_pmi2 preempt_none \
			prep_script priority_basic proctrack_linuxproc route_default sched_builtin \
			select_cons_res select_cons_tres select_cray_aries select_linear \
			serializer_json serializer_url_encoded serializer_yaml switch_cray_aries \
			switch_none task_none topology_none; do
			[ ! -f "$plugdir/$p.so" ] || with_libs "$plugdir/$p.so" "$plugdir/$p.so"
		done
		extra="$extra -a tests/slurm/cluster.sh:/l1/slurm/cluster.sh"
		extra="$extra -a tests/slurm/test.sh:/l1/slurm/test.sh"
	fi
fi
! part linux || extra="$extra -a tests/linux/l1-part.sh:/l1/linux.sh"
if [ "${L1_QEMU:-0}" = 1 ]; then
	with_libs "$(command -v "$QEMU")" /usr/bin/qemu-system-x86_64
	for f in qboot.rom bios-microvm.bin linuxboot_dma.bin pvh.bin kvmvapic.bin; do
		[ ! -e "/usr/share/qemu/$f" ] || extra="$extra -a /usr/share/qemu/$f:/usr/share/qemu/$f"
	done
fi
for f in ${L1_FILES:-}; do
	case $f in *:*) ;; *) f="$f:$f" ;; esac
	case $f in /*) ;; *) f="$PWD/$f" ;; esac
	extra="$extra -a $f"
done
for f in "$W"/l2/*; do
	extra="$extra -a $f:/l2/${f##*/}"
done
mods="-M kvm_amd -M tun -M loop"
[ -z "${L1_OUT:-}" ] || mods="$mods -M virtio_pci -M virtio_blk"
# shellcheck disable=SC2086 # $extra and $mods are lists of options
sh firmware/mkinitrd.sh -k "$KVER" -n $mods -i tests/l1/init.sh -d "$W/root" $extra >/dev/null
printf '%s\n' "$PARTS" >"$W/root/etc/l1-parts"
printf '%s\n' "${LINUX_TESTS:-}" >"$W/root/etc/linux-tests"
printf '%s\n' "${GUEST_FILTER:-}" >"$W/root/etc/guest-filter"
[ -z "${L1_EXTRA:-}" ] || cp "$L1_EXTRA" "$W/root/etc/l1-extra.sh"
[ "${L1_SHELL:-0}" != 1 ] || : >"$W/root/etc/l1-shell"
[ -z "${L1_OUT:-}" ] || : >"$W/root/etc/l1-out"
# shellcheck disable=SC2086 # one word per line
printf '%s\n' ${L1_ENV:-} >"$W/root/etc/l1-env"
rm -rf "$W/l2-mods"
if part linux; then
	mkdir -p "$W/root/boot"
	ln -s /l2/bzImage "$W/root/boot/vmlinuz-$KVER"
fi
# The examples run unchanged in L1's /: build/linux/* are the L2 files.
mkdir -p "$W/root/examples" "$W/root/build/linux"
cp examples/*.ini "$W/root/examples/"
mkdir -p "$W/root/build/firmware"
cp build/firmware/minnow-test.elf "$W/root/build/firmware/"
ln -s /l2/bzImage "$W/root/build/linux/vmlinuz"
ln -s /l2/initrd.cpio "$W/root/build/linux/initrd.cpio"
ln -s /l2/rootfs.ext4 "$W/root/build/linux/rootfs.ext4"
# Not compressed: the L1 kernel would decompress it at TCG speed.
(cd "$W/root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$W/l1.cpio"
rm -rf "$W/root"
t1=$(date +%s)
echo "l1: images ready in $((t1 - t0)) s (L1 initrd $(($(wc -c <"$W/l1.cpio") / 1048576)) MiB);" \
	"booting L1 (TCG, $SMP vCPUs) for:${PARTS:- nothing}"

# ---- boot L1 ----------------------------------------------------------------
# 6 GiB: the guest tier boots VMs of up to 4 GiB (host memory is only used
# as touched). One vCPU, one TCG thread: with QEMU 7.2's multi-threaded TCG,
# two vCPUs and nested SVM, about one L1 boot in five froze for good in the
# guest tier under load (5 of 22; QEMU's monitor showed both vCPUs spinning,
# the console silent); single-threaded TCG with two vCPUs never froze (0 of
# 10) but time-slices them 100 ms at a time, which stalls an L2 Linux boot
# spinning on its second CPU for minutes. One vCPU: 0 of 10 froze, and L2
# vCPUs are L1 threads like any other.
QEMU_L1="$QEMU -M pc -accel ${L1_ACCEL:-tcg,thread=single} -cpu ${L1_CPU:-EPYC,+svm,+npt} -m 6144 -smp $SMP -nodefaults
-no-user-config -nographic -serial stdio -kernel $KERNEL -initrd $W/l1.cpio -no-reboot"
if [ -n "${L1_OUT:-}" ]; then
	# A raw disk L1 writes one tar archive to (tests/l1/init.sh).
	truncate -s 512M "$W/out.img"
	QEMU_L1="$QEMU_L1 -drive file=$W/out.img,format=raw,if=virtio"
fi
if [ "${L1_SHELL:-0}" = 1 ]; then
	# shellcheck disable=SC2086 # word splitting wanted
	exec $QEMU_L1 -append "console=ttyS0 quiet panic=-1"
fi
set +e
rm -f "$W/qemu.pid" "$W/l1.log" "$W/monitor.in" "$W/monitor.out" "$W/monitor.log"
: >"$W/l1.log"
# QEMU's monitor on two FIFOs, for a look at a frozen L1's CPU (below).
mkfifo "$W/monitor.in" "$W/monitor.out"
# shellcheck disable=SC2086 # word splitting wanted
timeout -s KILL "$TIMEOUT" $QEMU_L1 -pidfile "$W/qemu.pid" -append "console=ttyS0 quiet panic=-1" \
	-chardev pipe,id=monitor,path="$W/monitor" -mon chardev=monitor \
	</dev/null 2>"$W/qemu.err" |
	sed -u 's/\r//g' | tee "$W/l1.log" | grep --line-buffered -E '^(TEST|BENCH|l1:|---- |  \| )' &
pipeline=$!
# One reader of the monitor's answers for the whole run, into monitor.log
# (without the echo of the commands and the FPU/SSE registers; appended to
# the console at the end: tee owns l1.log's file offset while L1 runs).
# Opened read-write, so that opening waits for no writer.
exec 3<>"$W/monitor.out"
grep --line-buffered -av '^(qemu)\|^FPR\|^XMM\|^FCW' <&3 >>"$W/monitor.log" &
monreader=$!
# The watchdog: an L1 whose console says nothing for L1_POKE seconds has
# frozen (QEMU's TCG with nested SVM does: the whole L1, so that not even
# its own timeouts fire, nor its heartbeat: init.sh). In every freeze seen,
# L1's local APIC held a timer interrupt that TCG never delivered (README.md,
# "Tests"); a key press on L1's PS/2 keyboard raises another interrupt, and
# with it TCG delivers both. So the watchdog records L1's CPU and APIC from
# QEMU's monitor and presses Shift (once L1's heartbeat has begun: L1's
# own boot is not watched this closely). An L1 still silent after L1_STALL
# seconds in all is sent an NMI; one still silent L1_NMI_WAIT seconds
# later, or frozen a fourth time after that, is stopped rather than left
# to TIMEOUT.
# With L1_KEYS=N it also presses Shift every N seconds, whatever L1 does:
# then a freeze costs a benchmark's run at most about N seconds (+1).
POKE=${L1_POKE:-12}
KEYS=${L1_KEYS:-0}
STALL=${L1_STALL:-120}
NMI_WAIT=${L1_NMI_WAIT:-60}
froze=0
nmis=0
pokes=0
poked_at=
size=0
since=$(date +%s)
send() { # COMMAND...: each command to QEMU's monitor
	timeout 5 sh -c 'f=$1; shift; printf "%s\n" "$@" >"$f"' sh "$W/monitor.in" "$@" 2>/dev/null
}
monitor() { # COMMAND...: send, and a second for the answers to reach monitor.log
	send "$@"
	sleep 1
}
record_cpu() { # WHAT: a "---- L1 WHAT" line and what QEMU's monitor shows of L1's CPU, in monitor.log
	echo "---- L1 $1: QEMU's monitor on its CPU" >>"$W/monitor.log"
	monitor "info cpus" "info registers" "info lapic"
}
froze_at() { echo "froze after $(grep -c '^TEST ' "$W/l1.log") test(s), $(date +%T)"; }
stop_l1() { # WHY: says so, records L1's CPU and kills QEMU
	echo "l1: L1 $1; stopping it"
	record_cpu "$1"
	kill -KILL "$(cat "$W/qemu.pid")" 2>/dev/null
	froze=1
}
# What L1's kernel says of the NMI itself, which is no sign of life.
NMI_LINES='NMI received for unknown reason|Dazed and confused|strange power saving mode'
alive=
keys_at=0
while kill -0 "$pipeline" 2>/dev/null; do
	sleep 1
	now_size=$(wc -c <"$W/l1.log")
	[ -n "$alive" ] || ! grep -q '^l1-alive' "$W/l1.log" || alive=1
	if [ "$KEYS" -gt 0 ] && [ -n "$alive" ] && [ $(($(date +%s) - keys_at)) -ge "$KEYS" ]; then
		send "sendkey shift"
		keys_at=$(date +%s)
	fi
	if [ -n "${nmi_at:-}" ]; then
		if tail -c +$((nmi_size + 1)) "$W/l1.log" | grep -Eqav "$NMI_LINES|^[[:space:]]*\$"; then
			echo "l1: L1 speaks again $(($(date +%s) - nmi_at)) s after the NMI"
			nmi_at=
			poked_at=
			size=$now_size
			since=$(date +%s)
		elif [ $(($(date +%s) - nmi_at)) -ge "$NMI_WAIT" ]; then
			stop_l1 "still silent $NMI_WAIT s after the NMI (L1_NMI_WAIT)"
			break
		fi
	elif [ "$now_size" != "$size" ]; then
		[ -z "$poked_at" ] || echo "l1: L1 speaks again $(($(date +%s) - poked_at)) s after the key press"
		poked_at=
		size=$now_size
		since=$(date +%s)
	elif [ -s "$W/qemu.pid" ] && [ -z "$poked_at" ] && [ -n "$alive" ] && [ $(($(date +%s) - since)) -ge "$POKE" ]; then
		pokes=$((pokes + 1))
		echo "l1: L1 printed nothing for $POKE s (L1_POKE): it froze; pressing a key on its keyboard (key press $pokes of this run)"
		record_cpu "$(froze_at), then a key press"
		send "sendkey shift"
		poked_at=$(date +%s)
	elif [ -s "$W/qemu.pid" ] && [ $(($(date +%s) - since)) -ge "$STALL" ]; then
		if [ "$nmis" -ge 3 ]; then
			stop_l1 "silent for $STALL s a fourth time"
			break
		fi
		nmis=$((nmis + 1))
		echo "l1: L1 printed nothing for $STALL s (L1_STALL): it froze; sending it an NMI (NMI $nmis of this run)"
		record_cpu "$(froze_at), then an NMI"
		nmi_size=$now_size
		send nmi
		nmi_at=$(date +%s)
	fi
done
wait "$pipeline"
kill "$monreader" 2>/dev/null
exec 3<&-
[ ! -s "$W/monitor.log" ] || sed 's/\r//g' "$W/monitor.log" >>"$W/l1.log"
set -e
t2=$(date +%s)
grep -v 'TCG doesn.t support requested feature' "$W/qemu.err" >&2 || true

# ---- results ------------------------------------------------------------------
# Linux tests print TEST lines; the guest tier's TAP report comes as
# "GUESTTAP " lines and becomes TEST lines here.
{
	grep '^TEST ' "$W/l1.log" || true
	sed -n 's/^GUESTTAP //p' "$W/l1.log" | awk -v tier=guest -f tests/tap-results.awk
} >"$W/results"
sed -n 's/^GUESTTAP //p' "$W/l1.log" | awk -v tier=guest -f tests/tap-results.awk
missing() { # TIER NAME REASON: a FAIL line for a test that never reported
	echo "TEST $1 $2 FAIL $3" | tee -a "$W/results"
}
stopped="L1 stopped early or timed out after $TIMEOUT s (see $W/l1.log)"
if ! grep -q 'l1: parts:' "$W/l1.log"; then
	for p in $PARTS; do missing "$p" l1-boot "L1 never reached its init (see $W/l1.log)"; done
else
	unrun=
	for t in $(sed -n 's/^PLAN linux //p' "$W/l1.log" | tail -n 1); do
		grep -q "^TEST linux $t " "$W/results" || unrun="$unrun $t"
	done
	retry=${L1_RETRY:-0}
	if [ "$froze" = 1 ] && [ -n "$unrun" ] && [ "$retry" -lt "${L1_RETRIES:-5}" ]; then
		# The Linux tests that had not reported run in a fresh L1
		# (which may retry in turn); the froze line above and this one
		# say so.
		retry=$((retry + 1))
		last=$(grep '^TEST linux ' "$W/results" | tail -n 1 | cut -d' ' -f3)
		echo "l1: it froze after ${last:-no} test; running the Linux tests that had not reported in a fresh L1 (retry $retry of ${L1_RETRIES:-5}):$unrun"
		# The retry rebuilds $W: keep the frozen run's log and results beside it.
		cp "$W/l1.log" "$W.froze$retry.log"
		first=$(cat "$W/results")
		L1_RETRY=$retry L1_PARTS=linux LINUX_TESTS="${unrun# }" sh "$0" || true
		{
			[ -z "$first" ] || printf '%s\n' "$first"
			cat "$W/results"
		} >"$W/results.both"
		mv "$W/results.both" "$W/results"
		echo "l1: the frozen run's console: $W.froze$retry.log"
		unrun=
		for t in $(sed -n 's/^PLAN linux //p' "$W.froze$retry.log" | tail -n 1); do
			grep -q "^TEST linux $t " "$W/results" || unrun="$unrun $t"
		done
	fi
	for t in $unrun; do
		missing linux "$t" "no result: $stopped"
	done
	if part guest && ! grep -q '^TEST guest ' "$W/results"; then
		missing guest tier "no report from the guest tests: $stopped"
	fi
fi
if [ -n "${L1_OUT:-}" ]; then
	mkdir -p "$L1_OUT"
	tar -xf "$W/out.img" -C "$L1_OUT" 2>/dev/null || echo "l1: no files came back from L1 in $W/out.img" >&2
	rm -f "$W/out.img"
fi
echo "l1: L1 run took $((t2 - t1)) s (with preparation $((t2 - t0)) s)"
