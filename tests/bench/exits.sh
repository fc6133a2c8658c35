#!/bin/sh
# exits.sh - make bench-exits: where a Linux boot's exits go, minnow next to QEMU microvm, in one L1 boot (tests/l1/run.sh, QEMU in L1 too), counted by L1's KVM itself (its kvm_exit and kvm_userspace_exit trace events), with what each kind costs.
#
# The guest: the stock Debian kernel and minnow's initrd, 2 vCPUs, 256M,
# minnow-init running `true` and powering off, twice: with `console=ttyS0`
# (minnow's MMIO UART; QEMU's legacy port-I/O UART) and with no console.
# Both VMMs get the same kernel, initrd and command line. For each run, the
# trace events L1's KVM emits while it runs: every exit of the guest by its
# hardware reason (SVM's: npf is a nested page fault, i.e. MMIO or a page
# KVM maps in; io is port I/O; msr, hlt, intr, vintr...), and the exits
# that reached the VMM's own process (KVM_EXIT_MMIO, KVM_EXIT_IO...). For
# minnow, its own --timings exit table too, and the ttyS0 boot once more
# with `[console] coalesce = off` (every UART write an exit; mode
# tty-uncoalesced), then timed both ways by minnow bench. Then test=exit-cost of the
# unikernel under minnow in L1: nanoseconds per access served in KVM, by an
# ioeventfd, and by an exit to minnow (MMIO, port I/O), which gives each
# kind's estimated share of the boot.
# Inside L1 everything runs at TCG speed: compare counts and ratios.
# Environment: BENCH_EXITS_RUNS (default 3), BENCH_EXITS_TIMEOUT (seconds per
# run, default 150), LINUX_KERNEL (see tests/l1/run.sh). A benchmark, not a
# test: exits non-zero only when nothing could be measured.
set -eu
cd "$(dirname "$0")/../.."
# shellcheck source=tests/bench/lib.sh
. tests/bench/lib.sh

RUNS=${BENCH_EXITS_RUNS:-3}
TIMEOUT=${BENCH_EXITS_TIMEOUT:-150}
positive_ints "BENCH_EXITS_RUNS=$RUNS" "BENCH_EXITS_TIMEOUT=$TIMEOUT"
mkdir -p build/bench
L1SCRIPT=build/bench/exits-l1.sh
LOG=build/l1/l1.log
[ -f build/firmware/minnow-test.elf ] || {
	echo "bench-exits: build/firmware/minnow-test.elf not built (make firmware)" >&2
	exit 1
}

# ---- what L1's init runs (sourced by tests/l1/init.sh after tests/linux/l1-part.sh)
{
	echo "RUNS=$RUNS TIMEOUT=$TIMEOUT"
	cat <<'EOF'
T=/sys/kernel/tracing
[ -d "$T/events/kvm" ] || mount -t tracefs none "$T" 2>/dev/null || true
if [ ! -d "$T/events/kvm" ]; then
	echo "BENCHE none: no kvm trace events in L1 ($T)"
else
echo 262144 >"$T/buffer_size_kb"
# traced NAME CMD...: runs CMD with L1's KVM exit events recorded, then
# prints one BENCHE line per counted kind: all exits by reason, and the
# exits to the VMM by KVM_EXIT_* reason.
traced() {
	name=$1
	shift
	echo 0 >"$T/tracing_on"
	: >"$T/trace"
	echo 1 >"$T/events/kvm/kvm_exit/enable"
	echo 1 >"$T/events/kvm/kvm_userspace_exit/enable"
	echo 1 >"$T/tracing_on"
	timeout -s KILL "$TIMEOUT" "$@" </dev/null >"$W/ex.out" 2>"$W/ex.err" || true
	echo 0 >"$T/tracing_on"
	echo 0 >"$T/events/kvm/kvm_exit/enable"
	echo 0 >"$T/events/kvm/kvm_userspace_exit/enable"
	awk -v n="$name" '
		/ kvm_exit: / { for (i = 1; i < NF; i++) if ($i == "reason") { k[$(i + 1)]++; all++; break } }
		/ kvm_userspace_exit: / { for (i = 1; i < NF; i++) if ($i == "reason") { u[$(i + 1)]++; user++; break } }
		END {
			printf "BENCHE %s all %d\n", n, all
			for (r in k) printf "BENCHE %s kvm:%s %d\n", n, r, k[r]
			printf "BENCHE %s user %d\n", n, user
			for (r in u) printf "BENCHE %s user:%s %d\n", n, r, u[r]
		}' "$T/trace"
	grep -q 'lost events' "$T/trace" && echo "BENCHE $name lost-events 1"
	grep -h '^{' "$W/ex.err" | tail -n 1 | sed "s/^/BENCHJ $name /"
}
CONSOLE_OUT=none
ini exits-tty /l2/bzImage bzimage "console=ttyS0 minnow.exec=true"
ini exits-none /l2/bzImage bzimage "minnow.exec=true"
Q="qemu-system-x86_64 -L /usr/share/qemu -accel kvm -cpu host -m 256M -smp 2 -nodefaults -no-user-config -display none -no-reboot -kernel /l2/bzImage -initrd /l2/initrd.cpio"
QM="microvm,x-option-roms=off,rtc=on,pit=off,pic=off,acpi=on"
i=1
while [ "$i" -le "$RUNS" ]; do
	traced "minnow tty $i" /bin/minnow run "$W/exits-tty.ini" --timings=json
	traced "minnow tty-uncoalesced $i" /bin/minnow run "$W/exits-tty.ini" --set console.coalesce=off --timings=json
	traced "qemu tty $i" $Q -M "$QM" -serial null -append "console=ttyS0 minnow.exec=true"
	traced "minnow none $i" /bin/minnow run "$W/exits-none.ini" --timings=json
	traced "qemu none $i" $Q -M "$QM,isa-serial=off" -append "minnow.exec=true"
	i=$((i + 1))
done
fi
# The console's cost in time: the ttyS0 boot with the UART's transmit
# writes through KVM's coalesced ring (the default) against every write an
# exit, interleaved.
/bin/minnow bench "$W/exits-tty.ini" -n "$RUNS" --timeout "$TIMEOUT" \
	--compare "/bin/minnow run $W/exits-tty.ini --set console.coalesce=off" </dev/null 2>&1 |
	sed 's/^/BENCHT /'
# What each way of serving an access costs here (the unikernel, n each).
truncate -s 1M "$W/ec.img"
cat >"$W/ec.ini" <<INI
[vm]
memory = 64M
[kernel]
path = /fw/minnow-test.elf
cmdline = test=exit-cost n=20000
[drive.d]
path = $W/ec.img
INI
timeout -s KILL "$TIMEOUT" /bin/minnow run "$W/ec.ini" </dev/null 2>&1 | sed -n 's/^minnow-test: exit-cost \([a-z_]*\) n=[0-9]* ns=\([0-9]*\).*/BENCHC \1 \2/p'
EOF
} >"$L1SCRIPT"

echo "bench-exits: exits of a Linux boot under minnow and QEMU microvm ($RUNS runs each, with and without a console), in one L1 boot (TCG: minutes)"
L1_PARTS=linux LINUX_TESTS=none L1_EXTRA=$L1SCRIPT L1_QEMU=1 L1_KEYS=1 \
	L1_FILES="build/firmware/minnow-test.elf:/fw/minnow-test.elf" \
	L1_TIMEOUT=$((300 + RUNS * 4 * TIMEOUT)) sh tests/l1/run.sh >build/bench/exits-run.log 2>&1 || true
grep -E '^BENCH[ECJT] ' "$LOG" >build/bench/exits-runs.txt 2>/dev/null || true
if ! grep -q '^BENCHE .* all [1-9]' build/bench/exits-runs.txt; then
	echo "bench-exits: no measurements; see build/bench/exits-run.log and $LOG" >&2
	grep '^BENCHE none' build/bench/exits-runs.txt >&2 || tail -n 20 build/bench/exits-run.log >&2
	exit 1
fi
tests/bench/exits-table.sh build/bench/exits-runs.txt
echo
echo "== console: ttyS0, minnow with the UART's writes coalesced (default) against coalesce = off (minnow bench, exec to exit)"
sed -n 's/^BENCHT //p' build/bench/exits-runs.txt
l1_freezes bench-exits build/bench/exits-run.log
