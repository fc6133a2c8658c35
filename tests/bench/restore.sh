#!/bin/sh
# restore.sh - the restore part of `make bench`: the hello firmware's
# test=warm-hello is booted, snapshotted while it waits (then = stop), and
# `minnow bench` restores it BENCH_RUNS times (the new generation ID wakes
# it: it says hello and exits 0), each run followed by a cold boot of the
# hello VM under minnow and under QEMU's microvm. first_run_us is restore to
# the guest running again; wall_us is exec to exit of a restored hello next
# to a cold one. Snapshot files in build/bench/restore/ (removed first).
#
# Environment: what bench.sh passes (MINNOW, QEMU_CMD, RUNS, TIMEOUT, CONFIG,
# PVH). Needs socat for the snapshot request.
set -u
cd "$(dirname "$0")/../.." || exit 1

DIR=build/bench/restore
if ! command -v socat >/dev/null 2>&1; then
	echo "bench: restore part skipped: socat not found in PATH (Debian package socat)"
	exit 0
fi
rm -rf "$DIR" && mkdir -p "$DIR" || exit 1
SOCK=$DIR/c.sock
"$MINNOW" run "$CONFIG" --set kernel.path="$PVH" --set kernel.cmdline=test=warm-hello \
	--control "$SOCK" >"$DIR/boot.out" 2>&1 &
pid=$!
i=0
until grep -q "warm-hello ready" "$DIR/boot.out" 2>/dev/null && [ -S "$SOCK" ]; do
	i=$((i + 1))
	if [ $i -gt 500 ] || ! kill -0 $pid 2>/dev/null; then
		echo "bench: restore part: the warm-hello VM never got ready:" >&2
		cat "$DIR/boot.out" >&2
		kill $pid 2>/dev/null
		exit 1
	fi
	sleep 0.02
done
reply=$(echo '{"request":"snapshot","path":"'"$DIR"'/s","then":"stop"}' |
	socat -t 30 - UNIX-CONNECT:"$SOCK")
wait $pid
case $reply in
*'"ok":true'*) ;;
*)
	echo "bench: restore part: the snapshot failed: $reply" >&2
	exit 1
	;;
esac
save=$(echo "$reply" | sed -n 's/.*"save_us":\([0-9]*\).*/\1/p')
echo
echo "== restore: a hello VM restored from a snapshot (saved in $save us), against a cold" \
	"boot of the same firmware"
"$MINNOW" bench "$CONFIG" --set kernel.path="$PVH" --set vm.restore="$DIR/s" -n "$RUNS" \
	--timeout "$TIMEOUT" --compare "$MINNOW run $CONFIG --set kernel.path=$PVH" "$@" \
	--json build/bench/restore.jsonl
