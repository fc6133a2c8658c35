#!/bin/sh
# exec.sh - make bench-exec: in one L1 boot (tests/l1/run.sh, QEMU in L1 too), `minnow exec` next to QEMU microvm doing the same job with the same kernel and initrd, N runs each, interleaved; prints the medians side by side with their ratios and the aims.
#
# The jobs, each timed from the host side by build/bench-stream
# (tests/bench/stream.c: the command's stdout on a pipe; exec to first byte,
# to last byte, to exit):
#   echo hi      exec to CMD's first output byte and to exit; also warm:
#                `minnow exec --snapshot` of the guest saved with
#                --save-snapshot when minnow-init asked for its command
#   dd to stdout dd if=/dev/zero bs=1M count=MIB: the MiB/s that reach the
#                host's stdout (bytes over first to last byte); QEMU's runs
#                write QEMU_MIB (a rate needs no more: its hvc0 moves about
#                0.3 MiB/s inside L1, so 256 MiB would take a quarter hour)
#   dd in guest  the same dd to /dev/null inside minnow's guest, timed there
#                ($EPOCHREALTIME around it): what the guest can produce; and
#                into a pipe read by cat there: what one copy through a pipe
#                costs the guest, the least any stdout path adds
# minnow: `minnow exec CONFIG -- CMD`, CMD's stdout over vsock. QEMU: microvm
# with -accel kvm, the same bzImage and initrd, minnow-init running CMD from
# the kernel command line (minnow.exec=) with its output on a virtio-console
# (hvc0) that is QEMU's stdout, QEMU exiting at the guest's power-off. Under
# QEMU only the bytes after minnow-init's "ready" line count (the kernel's
# console messages come first on hvc0).
# Aims: exec to exit <= 0.5x QEMU's; stdout throughput >= 0.8x the in-guest dd.
# Inside L1 everything runs on nested KVM under QEMU's TCG: the absolute
# figures are not this host's, the ratios are what to read.
# Environment: BENCH_EXEC_RUNS (default 5), BENCH_EXEC_MIB (default 256),
# BENCH_EXEC_QEMU_MIB (default 16, at most MIB), BENCH_EXEC_TIMEOUT (seconds per run, default 300); LINUX_KERNEL as for
# tests/l1/run.sh. Results also in build/bench/exec.json. A benchmark, not a
# test: exits non-zero only when nothing could be measured.
set -eu
cd "$(dirname "$0")/../.."
# shellcheck source=tests/bench/lib.sh
. tests/bench/lib.sh

RUNS=${BENCH_EXEC_RUNS:-5}
MIB=${BENCH_EXEC_MIB:-256}
QEMU_MIB=${BENCH_EXEC_QEMU_MIB:-16}
TIMEOUT=${BENCH_EXEC_TIMEOUT:-300}
positive_ints "BENCH_EXEC_RUNS=$RUNS" "BENCH_EXEC_MIB=$MIB" "BENCH_EXEC_QEMU_MIB=$QEMU_MIB" \
	"BENCH_EXEC_TIMEOUT=$TIMEOUT"
[ "$QEMU_MIB" -le "$MIB" ] || QEMU_MIB=$MIB
mkdir -p build/bench
L1SCRIPT=build/bench/exec-l1.sh
OUT=build/bench/exec.json
RUNS_OUT=build/bench/exec-runs.txt
[ -x build/bench-stream ] || {
	echo "bench-exec: build/bench-stream not built (make build/bench-stream)" >&2
	exit 1
}

# ---- what L1's init runs (sourced by tests/l1/init.sh after tests/linux/l1-part.sh)
{
	echo "RUNS=$RUNS MIB=$MIB QEMU_MIB=$QEMU_MIB TIMEOUT=$TIMEOUT"
	cat <<'EOF'
# Both guests get the words of minnow exec's default command line
# (vmm/exec/exec.c), so that both kernels do the same work.
WORDS="quiet panic=-1 cryptomgr.notests"
cat >"$W/bx.ini" <<INI
[vm]
vcpus = 1
memory = 256M
[kernel]
path = /l2/bzImage
initrd = /l2/initrd.cpio
cmdline = console=ttyS0 $WORDS
INI
DD="dd if=/dev/zero bs=1M count=$MIB"
QDD="dd if=/dev/zero bs=1M count=$QEMU_MIB"
READY='minnow-init: ready\r\n'
# qrun CMD: bench-stream times QEMU microvm running CMD through minnow-init,
# CMD's output on hvc0, only the bytes after the ready line counted.
qrun() {
	bench-stream -a "$READY" timeout -s KILL "$TIMEOUT" qemu-system-x86_64 -L /usr/share/qemu \
		-M microvm,x-option-roms=off,rtc=on,pit=off,pic=off,isa-serial=off,acpi=on \
		-accel kvm -cpu host -m 256M -smp 1 -nodefaults -no-user-config -display none \
		-no-reboot -kernel /l2/bzImage -initrd /l2/initrd.cpio \
		-append "console=hvc0 $WORDS minnow.exec=\"$1\"" \
		-device virtio-serial-device -chardev stdio,id=c0,signal=off \
		-device virtconsole,chardev=c0 </dev/null
}
# mrun CMD ARGS...: bench-stream times minnow exec running CMD.
mrun() { bench-stream timeout -s KILL "$TIMEOUT" /bin/minnow exec "$W/bx.ini" -- "$@" </dev/null; }
# A warm start: the same guest saved when minnow-init asks for its command.
rm -f "$W/bx.warm" "$W/bx.warm.mem"
timeout -s KILL "$TIMEOUT" /bin/minnow exec "$W/bx.ini" --save-snapshot "$W/bx.warm" </dev/null ||
	echo "  | warm: --save-snapshot failed"
wrun() { bench-stream timeout -s KILL "$TIMEOUT" /bin/minnow exec --snapshot "$W/bx.warm" -- "$@" </dev/null; }
# inguest SH: MIB over the time SH takes inside minnow's guest (timed there
# by $EPOCHREALTIME), as "status=0 mib_s=N", or "status=1 mib_s=null".
inguest() {
	timeout -s KILL "$TIMEOUT" /bin/minnow exec "$W/bx.ini" -- \
		sh -c "t0=\$EPOCHREALTIME; $1; echo \$t0 \$EPOCHREALTIME" </dev/null 2>/dev/null |
		awk -v m="$MIB" 'NF == 2 && $2 > $1 { printf "status=0 mib_s=%.1f\n", m / ($2 - $1); ok = 1 }
			END { if (!ok) print "status=1 mib_s=null" }'
}
i=1
while [ "$i" -le "$RUNS" ]; do
	echo "BENCHX minnow echo $i $(mrun echo hi 2>"$W/bx.err")"
	echo "BENCHX warm echo $i $(wrun echo hi 2>>"$W/bx.err")"
	echo "BENCHX qemu echo $i $(qrun "echo hi" 2>"$W/bq.err")"
	# shellcheck disable=SC2086 # DD is words
	echo "BENCHX minnow dd $i $(mrun $DD 2>/dev/null)"
	echo "BENCHX qemu dd $i $(qrun "$QDD" 2>>"$W/bq.err")"
	echo "BENCHX minnow inguest $i $(inguest "$DD of=/dev/null 2>/dev/null")"
	echo "BENCHX minnow inpipe $i $(inguest "$DD 2>/dev/null | cat >/dev/null")"
	i=$((i + 1))
done
tail -n 3 "$W/bq.err" | sed 's/^/  | qemu: /'
EOF
} >"$L1SCRIPT"

echo "bench-exec: $RUNS runs each of minnow exec and QEMU microvm (echo hi; dd of $MIB MiB, QEMU $QEMU_MIB MiB)" \
	"in one L1 boot (TCG: 10 minutes or more)"
L1_PARTS=linux LINUX_TESTS=none L1_EXTRA=$L1SCRIPT L1_QEMU=1 L1_KEYS=1 L1_FILES="build/bench-stream:/bin/bench-stream" \
	L1_TIMEOUT=$((300 + RUNS * 6 * TIMEOUT)) sh tests/l1/run.sh >build/bench/exec-run.log 2>&1 || true
# Every run's line, kept apart from L1's console (the next L1 run rewrites it).
grep '^BENCHX ' build/l1/l1.log >"$RUNS_OUT" 2>/dev/null || true
if [ ! -s "$RUNS_OUT" ]; then
	echo "bench-exec: no measurements; see build/bench/exec-run.log and build/l1/l1.log" >&2
	tail -n 20 build/bench/exec-run.log >&2
	exit 1
fi
LOG=$RUNS_OUT
grep -E '^(BENCHX|  \| )' build/l1/l1.log | sed 's/^BENCHX //; s/^/  /'

# ---- medians over the runs that exited 0 ------------------------------------------
# med TOOL JOB FIELD [SCALE]: the median of FIELD (divided by SCALE), or "-".
med() {
	grep "^BENCHX $1 $2 .* status=0 " "$LOG" | sed -n "s/.* $3=\([0-9.][0-9.]*\).*/\1/p" | sort -n |
		awk -v s="${4:-1}" '{ v[NR] = $1 / s } END {
			if (NR == 0) { print "-"; exit }
			printf "%.1f\n", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# ratio A B: A/B, or "-".
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f", a / b }'; }
# aim R OP LIMIT: "met" or "not met" (or "-").
aim() { awk -v r="$1" -v op="$2" -v l="$3" 'BEGIN { if (r == "-") print "-"; else if (op == "<=" ? r <= l : r >= l) print "met"; else print "NOT met" }'; }
n_ok() { grep -c "^BENCHX $1 $2 .* status=0 " "$LOG" || true; }
# paired JOB FIELD: the median over runs i of minnow's FIELD / QEMU's FIELD in
# run i (interleaved runs see the same moment of a busy machine), or "-".
paired() {
	grep "^BENCHX [a-z]* $1 .* status=0 " "$LOG" | sed -n "s/^BENCHX \([a-z]*\) $1 \([0-9]*\) .* $2=\([0-9.][0-9.]*\).*/\1 \2 \3/p" |
		awk '{ v[$1, $2] = $3; runs[$2] = 1 } END {
			for (i in runs) if ((("minnow", i) in v) && (("qemu", i) in v) && v["qemu", i] > 0)
				print v["minnow", i] / v["qemu", i] }' | sort -n |
		awk '{ v[NR] = $1 } END { if (NR == 0) { print "-"; exit }
			printf "%.2f\n", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

m_first=$(med minnow echo first_us 1000)
q_first=$(med qemu echo first_us 1000)
m_exit=$(med minnow echo exit_us 1000)
q_exit=$(med qemu echo exit_us 1000)
w_first=$(med warm echo first_us 1000)
w_exit=$(med warm echo exit_us 1000)
m_dd=$(med minnow dd mib_s)
q_dd=$(med qemu dd mib_s)
m_in=$(med minnow inguest mib_s)
m_pipe=$(med minnow inpipe mib_s)
r_first=$(ratio "$m_first" "$q_first")
r_exit=$(ratio "$m_exit" "$q_exit")
p_exit=$(paired echo exit_us)
r_dd=$(ratio "$m_dd" "$q_dd")
r_in=$(ratio "$m_dd" "$m_in")
r_pipe=$(ratio "$m_dd" "$m_pipe")
q_in_ratio=$(ratio "$q_dd" "$m_in")

printf '\nbench-exec: medians of %s runs each, interleaved (runs that exited 0: minnow %s/%s/%s, qemu %s/%s)\n' \
	"$RUNS" "$(n_ok minnow echo)" "$(n_ok minnow dd)" "$(n_ok minnow inguest)/$(n_ok minnow inpipe)" "$(n_ok qemu echo)" "$(n_ok qemu dd)"
fmt='%-40s %12s %14s %13s  %s\n'
# shellcheck disable=SC2059 # the format is the table's
printf "$fmt" "" "minnow exec" "qemu microvm" "minnow/qemu" "aim"
# shellcheck disable=SC2059
printf "$fmt" "echo hi: exec to first byte (ms)" "$m_first" "$q_first" "$r_first" ""
# shellcheck disable=SC2059
printf "$fmt" "echo hi: exec to exit (ms)" "$m_exit" "$q_exit" "$r_exit" "<= 0.50x: $(aim "$r_exit" '<=' 0.5)"
# shellcheck disable=SC2059
printf "$fmt" "  the same, median of run-by-run ratios" "" "" "$p_exit" "<= 0.50x: $(aim "$p_exit" '<=' 0.5)"
w_speedup=$(ratio "$m_first" "$w_first")
# shellcheck disable=SC2059
printf "$fmt" "warm (--snapshot): exec to first byte (ms)" "$w_first" "$q_first" "$(ratio "$w_first" "$q_first")" \
	"cold/warm ${w_speedup}x >= 10x: $(aim "$w_speedup" '>=' 10)"
# shellcheck disable=SC2059
printf "$fmt" "warm (--snapshot): exec to exit (ms)" "$w_exit" "$q_exit" "$(ratio "$w_exit" "$q_exit")" \
	"cold/warm $(ratio "$m_exit" "$w_exit")x"
# shellcheck disable=SC2059
printf "$fmt" "dd to host stdout (MiB/s; $MIB, $QEMU_MIB MiB)" "$m_dd" "$q_dd" "$r_dd" ""
# shellcheck disable=SC2059
printf "$fmt" "dd $MIB MiB to /dev/null in guest (MiB/s)" "$m_in" "" "" ""
# shellcheck disable=SC2059
printf "$fmt" "dd $MIB MiB | cat in guest (MiB/s)" "$m_pipe" "" "" ""
# shellcheck disable=SC2059
printf "$fmt" "stdout / in-guest" "$r_in" "$q_in_ratio" "" ">= 0.80x: $(aim "$r_in" '>=' 0.8)"
# shellcheck disable=SC2059
printf "$fmt" "stdout / in-guest pipe" "$r_pipe" "$(ratio "$q_dd" "$m_pipe")" "" ""
j() { [ "$1" = - ] && echo null || echo "$1"; }
printf '{"measured_in":"l1","runs":%s,"mib":%s,"qemu_mib":%s,"echo_first_ms":{"minnow":%s,"warm":%s,"qemu":%s},"echo_exit_ms":{"minnow":%s,"warm":%s,"qemu":%s,"paired_ratio":%s},"stdout_mib_s":{"minnow":%s,"qemu":%s},"inguest_mib_s":%s,"inguest_pipe_mib_s":%s}\n' \
	"$RUNS" "$MIB" "$QEMU_MIB" "$(j "$m_first")" "$(j "$w_first")" "$(j "$q_first")" "$(j "$m_exit")" "$(j "$w_exit")" "$(j "$q_exit")" "$(j "$p_exit")" "$(j "$m_dd")" "$(j "$q_dd")" "$(j "$m_in")" "$(j "$m_pipe")" >"$OUT"
l1_freezes bench-exec build/bench/exec-run.log
echo "bench-exec: inside an L1 host under TCG; compare the ratios. Every run: $LOG; JSON: $OUT"
