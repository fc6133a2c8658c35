#!/bin/sh
# l1-part.sh - the Linux tier, run inside the L1 host (sourced by tests/l1/init.sh): minnow boots real Linux guests (the stock Debian kernel, and the small kernel of `make guest-kernel` when built) and each test prints "TEST linux <name> PASS|FAIL|SKIP <reason>".
#
# /l2 holds bzImage, vmlinux, initrd.cpio.gz, rootfs.ext4 and the small
# kernel's files (tests/l1/run.sh); /etc/linux-tests names the tests to run
# (empty: all). check() evaluates its conditions later, hence the single
# quotes.
# shellcheck disable=SC2016,SC2086,SC2034 # $W (tests/l1/lib.sh) has no blanks; variables read by check()'s eval

ALL="firmware-hello-in-L1 boot-complete guest-marks exit-status console-ttyS0 early-console smp-2 poweroff elf-vmlinux pvh \
console-hvc0 ext4-root net vsock acpi-off pvpanic pvpanic-off guest-kernel-acpi-off guest-kernel-pvh \
exec-args exec-streams exec-status exec-signal exec-stdin exec-binary-out exec-tail exec-timeout \
exec-env-cwd exec-not-found exec-panic exec-sigpipe exec-default-cache exec-installed exec-speed"
WANT=$(cat /etc/linux-tests 2>/dev/null)
[ -n "$WANT" ] || WANT=$ALL
[ "$WANT" != none ] || WANT=
# shellcheck disable=SC2086,SC2116 # one line, single blanks
printf 'PLAN linux %s\n' "$(echo $WANT)"

wanted() { case " $WANT " in *" $1 "*) return 0 ;; esac; return 1; }
result() { echo "TEST linux $1 $2 $3"; }

# ---- running minnow -------------------------------------------------------
# ini NAME KERNEL FORMAT CMDLINE [EXTRA_INI]: writes $W/NAME.ini for a 2-vCPU,
# 256M guest with the test initrd and a boot timeout.
ini() {
	cat >"$W/$1.ini" <<EOF
[vm]
vcpus = 2
memory = 256M
boot_timeout = ${BOOT_TIMEOUT:-60s}
${VM_EXTRA:-}

[kernel]
path = $2
initrd = /l2/initrd.cpio.gz
format = $3
cmdline = $4

[console]
output = ${CONSOLE_OUT:-stdio}
input = off

${5:-}
EOF
}

# run NAME: runs minnow on $W/NAME.ini (stdout $W/NAME.out, stderr
# $W/NAME.err, JSON timings in $W/NAME.json); sets ST (exit status), DT
# (seconds), REASON (exit_reason), BOOT (boot_complete_us or null).
run() {
	t0=$(now)
	timeout -s KILL "${RUN_TIMEOUT:-150}" /bin/minnow run "$W/$1.ini" --timings=json \
		>"$W/$1.out" 2>"$W/$1.err" </dev/null
	ST=$?
	DT=$(secs "$t0" "$(now)")
	grep '^{' "$W/$1.err" | tail -n 1 >"$W/$1.json"
	REASON=$(sed -n 's/.*"exit_reason":"\([^"]*\)".*/\1/p' "$W/$1.json")
	BOOT=$(sed -n 's/.*"boot_complete_us":\([0-9a-z]*\).*/\1/p' "$W/$1.json")
	echo "l1: $1: status $ST ($REASON) in $DT s, boot_complete_us=$BOOT"
	# For build/l1/l1.log (run.sh shows only failures on the terminal).
	tail -n 40 "$W/$1.out" | awk -v p="  > $1: " '{ print p $0 }'
}

# check NAME COND WHY...: PASS when the shell condition holds, else FAIL with
# WHY and the output.
check() {
	name=$1
	cond=$2
	shift 2
	wanted "$name" || return 0
	if eval "$cond"; then
		result "$name" PASS "$DT s (status $ST, $REASON, boot_complete_us=$BOOT)"
	else
		result "$name" FAIL "$* (status $ST, $REASON, boot_complete_us=$BOOT, $DT s)"
		dump "$W/$CUR.out" "$W/$CUR.err"
	fi
}

has() { grep -q -- "$1" "$W/$CUR.out"; }
Q='"'
BASE="console=ttyS0 quiet panic=-1"

# ---- the tests ------------------------------------------------------------

if wanted firmware-hello-in-L1; then
	CUR=hello
	cat >"$W/hello.ini" <<EOF
[vm]
memory = 64M
[kernel]
path = /l2/minnow-test.elf
cmdline = test=hello
[console]
input = off
EOF
	run hello
	check firmware-hello-in-L1 '[ $ST = 0 ] && has "hello from pvh"' "no hello or bad status"
fi

# One boot of the stock bzImage serves four tests.
if wanted boot-complete || wanted guest-marks || wanted exit-status || wanted console-ttyS0 || wanted smp-2; then
	CUR=boot
	ini boot /l2/bzImage bzimage "$BASE minnow.exec=${Q}echo cpus-online=\$(cat /sys/devices/system/cpu/online); echo marker-ttyS0; exit 7${Q}"
	run boot
	check boot-complete '[ -n "$BOOT" ] && [ "$BOOT" != null ]' "no boot-complete signal from minnow-init"
	# minnow-init marks its start and the command's (control device MARK):
	# first run < init < boot complete < command.
	GINIT=$(sed -n 's/.*"guest_init_us":\([0-9]*\).*/\1/p' "$W/boot.json")
	GCMD=$(sed -n 's/.*"guest_command_us":\([0-9]*\).*/\1/p' "$W/boot.json")
	FIRST=$(sed -n 's/.*"first_run_us":\([0-9]*\).*/\1/p' "$W/boot.json")
	check guest-marks '[ -n "$GINIT" ] && [ -n "$GCMD" ] && [ "$FIRST" -lt "$GINIT" ] && [ "$GINIT" -lt "$BOOT" ] && [ "$BOOT" -le "$GCMD" ]' \
		"expected first_run < guest_init ($GINIT) < boot_complete < guest_command ($GCMD)"
	check exit-status '[ $ST = 7 ] && [ "$REASON" = guest_exit ]' "expected status 7 (guest_exit)"
	check console-ttyS0 'has marker-ttyS0' "the guest's echo did not reach minnow's stdout via ttyS0"
	check smp-2 'has cpus-online=0-1' "expected cpus-online=0-1"
fi

# console=ttyS0 as users write it: minnow binds it to the MMIO UART from
# the kernel's first message (vmm/boot/cmdline.h), so nothing goes to the legacy
# COM1 port: the first line is the banner and port I/O exits stay few.
if wanted early-console; then
	CUR=early
	ini early /l2/bzImage bzimage "console=ttyS0 panic=-1 minnow.exec=${Q}echo early-done; exit 4${Q}"
	run early
	PIO=$(sed -n 's/.*"pio_exits":\([0-9]*\).*/\1/p' "$W/early.json")
	FIRST=$(grep -m1 . "$W/early.out")
	LINES=$(wc -l <"$W/early.out")
	DT="$DT s, $LINES lines, pio_exits=$PIO, first line: ${FIRST%%\(*}"
	check early-console '[ $ST = 4 ] && has early-done && [ -n "$PIO" ] && [ "$PIO" -lt 100 ] &&
		case "$FIRST" in *"Linux version"*) true ;; *) false ;; esac' \
		"expected the banner first, early-done, status 4 and under 100 port I/O exits"
fi

if wanted poweroff; then
	CUR=poweroff
	ini poweroff /l2/bzImage bzimage "$BASE minnow.exec=${Q}poweroff -f${Q}"
	run poweroff
	check poweroff '[ $ST = 0 ] && [ "$REASON" = poweroff ] && [ "$BOOT" != null ]' "expected status 0 (poweroff)"
fi

# vmlinux: extracted from the bzImage on the host by extract-vmlinux.sh.
NOVMLINUX="no vmlinux: extracting it from the bzImage failed on the host (apt-get install lz4)"
if wanted elf-vmlinux && [ ! -f /l2/vmlinux ]; then
	result elf-vmlinux SKIP "$NOVMLINUX"
elif wanted elf-vmlinux; then
	CUR=elf
	ini elf /l2/vmlinux elf "$BASE minnow.exec=${Q}echo marker-elf; exit 3${Q}"
	run elf
	check elf-vmlinux '[ $ST = 3 ] && has marker-elf && [ "$BOOT" != null ]' "expected marker-elf and status 3"
fi

if wanted pvh && [ ! -f /l2/vmlinux ]; then
	result pvh SKIP "$NOVMLINUX"
elif wanted pvh; then
	CUR=pvh
	ini pvh /l2/vmlinux pvh "$BASE minnow.exec=${Q}echo marker-pvh; exit 4${Q}"
	run pvh
	check pvh '[ $ST = 4 ] && has marker-pvh && [ "$BOOT" != null ]' "expected marker-pvh and status 4"
fi

if wanted console-hvc0; then
	CUR=hvc
	CONSOLE_OUT=none
	ini hvc /l2/bzImage bzimage \
		"console=hvc0 quiet panic=-1 minnow.exec=${Q}echo marker-hvc0 \$(cat /sys/class/tty/console/active)${Q}" \
		"[vconsole]
output = stdio"
	CONSOLE_OUT=
	run hvc
	check console-hvc0 '[ $ST = 0 ] && has "marker-hvc0 hvc0"' "expected 'marker-hvc0 hvc0' on the virtio console"
fi

if wanted ext4-root; then
	CUR=ext4
	cp /l2/rootfs.ext4 $W/rootfs.ext4
	ini ext4 /l2/bzImage bzimage \
		"$BASE minnow.root=/dev/vda minnow.exec=${Q}echo minnow-was-here >/hello.txt; sync; poweroff -f${Q}" \
		"[drive.root]
path = $W/rootfs.ext4"
	run ext4
	got=
	if mount -o loop -t ext4 $W/rootfs.ext4 /mnt; then
		got=$(cat /mnt/hello.txt 2>/dev/null)
		umount /mnt
	fi
	echo "l1: ext4: /hello.txt in the image: '$got'"
	check ext4-root '[ $ST = 0 ] && [ "$got" = minnow-was-here ]' "expected /hello.txt = minnow-was-here in the image, got '$got'"
fi

if wanted net; then
	CUR=net
	tunctl -t tap0 >/dev/null
	ip addr add 172.30.0.1/24 dev tap0
	ip link set tap0 up
	ini net /l2/bzImage bzimage \
		"$BASE minnow.exec=${Q}ip link set eth0 up && ip addr add 172.30.0.2/24 dev eth0 && ping -c 2 -w 30 172.30.0.1${Q}" \
		"[net.eth0]
tap = tap0"
	run net
	check net '[ $ST = 0 ] && has "bytes from 172.30.0.1"' "the guest could not ping L1 over tap0"
fi

if wanted vsock; then
	CUR=vsock
	rm -f $W/vsock.sock $W/vsock.sock_1234
	vsock-echo -t 140 uds-listen $W/vsock.sock_1234 >$W/vsock-host-listen.out 2>&1 &
	p1=$!
	ini vsock /l2/bzImage bzimage \
		"$BASE minnow.exec=${Q}vsock-echo -t 60 -r connect 2 1234 guest-hello && vsock-echo -t 60 listen 5000${Q}" \
		"[vsock]
cid = 3
uds_path = $W/vsock.sock"
	vsock-echo -t 140 -r uds-connect $W/vsock.sock 5000 host-hello >$W/vsock-host-connect.out 2>&1 &
	p2=$!
	run vsock
	# The host ends finish their exchange and exit: wait up to 10 s.
	i=0
	while [ $i -lt 100 ] && { kill -0 $p1 || kill -0 $p2; } 2>/dev/null; do
		usleep 100000
		i=$((i + 1))
	done
	kill $p1 $p2 2>/dev/null
	wait
	cat $W/vsock-host-listen.out $W/vsock-host-connect.out >>$W/vsock.out
	check vsock '[ $ST = 0 ] && has "reply: ack:guest-hello" && has "got: host-hello" &&
		grep -q "got: guest-hello" $W/vsock-host-listen.out &&
		grep -q "reply: ack:host-hello" $W/vsock-host-connect.out' \
		"expected guest->host and host->guest exchanges"
fi

# With acpi = off the stock kernel (no CONFIG_X86_MPPARSE, devices only
# through ACPI) boots deaf and blind on one CPU: no console, no devices, but
# its init still reports the CPU count through the control device (status
# 100 + CPUs). minnow must neither hang nor fake a second CPU.
if wanted acpi-off; then
	CUR=acpioff
	BOOT_TIMEOUT=30s
	VM_EXTRA="acpi = off"
	ini acpioff /l2/bzImage bzimage "$BASE minnow.exec=${Q}exit \$((100 + \$(grep -c ^processor /proc/cpuinfo)))${Q}"
	BOOT_TIMEOUT=
	VM_EXTRA=
	run acpioff
	check acpi-off '[ $ST = 101 ] && [ "$REASON" = guest_exit ]' \
		"expected status 101 (guest_exit: booted on 1 CPU without ACPI)"
fi

# pvpanic: the initrd loads the stock kernel's pvpanic-mmio driver, which
# binds to QEMU0001 in the DSDT. A panic writes PANICKED from the panic
# notifiers, before panic=-1 reboots, so minnow ends with 126 (guest_crash),
# not 120 (reset). With [vm] pvpanic = off the reboot is all minnow sees.
if wanted pvpanic; then
	CUR=pvpanic
	ini pvpanic /l2/bzImage bzimage "$BASE minnow.exec=${Q}echo pvpanic-cap=\$(cat /sys/bus/platform/devices/QEMU0001:00/capability); echo c >/proc/sysrq-trigger${Q}"
	run pvpanic
	check pvpanic '[ $ST = 126 ] && [ "$REASON" = guest_crash ] && has pvpanic-cap=3 &&
		grep -q "panicked (pvpanic" $W/pvpanic.err' \
		"expected pvpanic-cap=3, status 126 (guest_crash) and minnow's message"
fi

if wanted pvpanic-off; then
	CUR=pvpanicoff
	VM_EXTRA="pvpanic = off"
	ini pvpanicoff /l2/bzImage bzimage "$BASE minnow.exec=${Q}echo c >/proc/sysrq-trigger${Q}"
	VM_EXTRA=
	run pvpanicoff
	check pvpanic-off '[ $ST = 120 ] && [ "$REASON" = reset ]' \
		"expected status 120 (reset: without pvpanic, panic=-1 reboots)"
fi

# The small kernel of `make guest-kernel` (everything built in, no initrd
# modules). With acpi = off it finds the CPUs in the MP table and the devices
# on the command line (virtio_mmio.device=, appended by minnow); without ACPI
# the 8250 driver cannot find the MMIO UART, so the console is hvc0. Through
# PVH with ACPI it finds everything through ACPI, the console on ttyS0.
small() { # NAME KERNEL FORMAT CONSOLE_PARAM VM_EXTRA CONSOLE_OUT EXTRA_INI
	CUR=$1
	if [ ! -f /l2/small-initrd.cpio.gz ]; then
		result "$1" SKIP "no build/guest-kernel/{bzImage,vmlinux} on the host (make guest-kernel)"
		return 0
	fi
	VM_EXTRA=$5
	CONSOLE_OUT=$6
	ini "$1" "$2" "$3" "$4 quiet panic=-1 minnow.exec=${Q}echo small cpus=\$(cat /sys/devices/system/cpu/online) vda=\$(cat /sys/block/vda/size); exit 9${Q}" \
		"[drive.root]
path = /l2/rootfs.ext4
readonly = on
$7"
	VM_EXTRA=
	CONSOLE_OUT=
	sed -i 's|^initrd = .*|initrd = /l2/small-initrd.cpio.gz|' "$W/$1.ini"
	run "$1"
	check "$1" '[ $ST = 9 ] && has "small cpus=0-1 vda=65536"' "expected 'small cpus=0-1 vda=65536' and status 9"
}
wanted guest-kernel-acpi-off && small guest-kernel-acpi-off /l2/small-bzImage bzimage \
	"console=hvc0" "acpi = off" none "[vconsole]
output = stdio"
wanted guest-kernel-pvh && small guest-kernel-pvh /l2/small-vmlinux pvh "console=ttyS0" "" stdio ""

# ---- minnow exec ----------------------------------------------------------
# The test initrd carries the minnow-init of this build. xrun NAME ARGS...
# runs `minnow exec $W/exec.ini ARGS...` with stdin from $XIN (default
# /dev/null): stdout $W/NAME.out, stderr $W/NAME.err; sets ST and DT, and
# REASON/BOOT from --timings=json when ARGS ask for it.
cat >"$W/exec.ini" <<EOF
[vm]
memory = 256M
[kernel]
path = /l2/bzImage
initrd = /l2/initrd.cpio.gz
cmdline = console=ttyS0 quiet panic=-1
EOF
xrun() {
	CUR=$1
	shift
	t0=$(now)
	timeout -s KILL "${RUN_TIMEOUT:-150}" /bin/minnow exec "$W/exec.ini" "$@" \
		>"$W/$CUR.out" 2>"$W/$CUR.err" <"${XIN:-/dev/null}"
	ST=$?
	DT=$(secs "$t0" "$(now)")
	grep '^{' "$W/$CUR.err" | tail -n 1 >"$W/$CUR.json"
	REASON=$(sed -n 's/.*"exit_reason":"\([^"]*\)".*/\1/p' "$W/$CUR.json")
	BOOT=$(sed -n 's/.*"boot_complete_us":\([0-9a-z]*\).*/\1/p' "$W/$CUR.json")
	echo "l1: $CUR: status $ST ($REASON) in $DT s, $(wc -c <"$W/$CUR.out") bytes out, $(wc -c <"$W/$CUR.err") err"
}
xsum() { sha256sum <"$1" | cut -d' ' -f1; }
NL='
'

# Arguments with blanks, quotes, newlines, globs, an empty one: each
# arrives as itself (printf shows them one per line in brackets).
if wanted exec-args; then
	xrun args -- printf '[%s]\n' "a b" 'c"d' "e'f" "g${NL}h" '' '$HOME *' '\n' '  '
	printf '[%s]\n' "a b" 'c"d' "e'f" "g${NL}h" '' '$HOME *' '\n' '  ' >"$W/args.want"
	check exec-args '[ $ST = 0 ] && cmp -s "$W/args.want" "$W/args.out" && [ ! -s "$W/args.err" ]' \
		"expected each argument intact on stdout and an empty stderr"
fi

# Interleaved writes to both streams: each gets exactly its own bytes.
if wanted exec-streams; then
	xrun streams -- sh -c 'for i in 1 2 3; do echo out$i; echo err$i >&2; done; printf tail-out; printf tail-err >&2'
	printf 'out1\nout2\nout3\ntail-out' >"$W/streams.wo"
	printf 'err1\nerr2\nerr3\ntail-err' >"$W/streams.we"
	check exec-streams '[ $ST = 0 ] && cmp -s "$W/streams.wo" "$W/streams.out" && cmp -s "$W/streams.we" "$W/streams.err"' \
		"expected stdout and stderr separated byte for byte"
fi

if wanted exec-status; then
	xrun status --timings=json -- sh -c 'exit 7'
	check exec-status '[ $ST = 7 ] && [ "$REASON" = guest_exit ]' "expected status 7 (guest_exit)"
fi

# Killed by a signal: 128 + N, as a shell reports it.
if wanted exec-signal; then
	xrun signal -- sh -c 'kill -TERM $$'
	st1=$ST
	xrun signal9 -- sh -c 'kill -KILL $$'
	DT="SIGTERM: $st1, SIGKILL: $ST"
	check exec-signal '[ $st1 = 143 ] && [ $ST = 137 ]' "expected 143 and 137"
fi

# stdin streams in; its EOF ends sha256sum and wc.
if wanted exec-stdin; then
	head -c 4000000 /dev/urandom >"$W/stdin.data"
	XIN=$W/stdin.data xrun stdin -- sha256sum
	got=$(cut -d' ' -f1 "$W/stdin.out")
	XIN=$W/stdin.data xrun stdin-wc -- wc -c
	wc=$(tr -d ' ' <"$W/stdin-wc.out")
	# A pipe, not a file: read through the event loop.
	# shellcheck disable=SC2002 # a pipe is the point
	cat "$W/stdin.data" | timeout -s KILL 150 /bin/minnow exec "$W/exec.ini" -- sha256sum >"$W/stdin-pipe.out" 2>&1
	piped=$(cut -d' ' -f1 "$W/stdin-pipe.out")
	want=$(xsum "$W/stdin.data")
	DT="$DT s; file: $got, pipe: $piped, wc: $wc"
	check exec-stdin '[ "$got" = "$want" ] && [ "$piped" = "$want" ] && [ "$wc" = 4000000 ]' \
		"expected sha256 $want of 4000000 bytes"
fi

# Binary output: random bytes made in the guest, their sha256 on stderr;
# and a round trip through cat.
if wanted exec-binary-out; then
	xrun binout -- sh -c 'head -c 6000000 /dev/urandom >/tmp/r && sha256sum </tmp/r | cut -d" " -f1 >&2 && cat /tmp/r'
	want=$(cat "$W/binout.err")
	got=$(xsum "$W/binout.out")
	bytes=$(wc -c <"$W/binout.out")
	head -c 8000000 /dev/urandom >"$W/rt.data"
	XIN=$W/rt.data xrun roundtrip -- cat
	DT="$DT s; guest $want, host $got"
	check exec-binary-out '[ $ST = 0 ] && [ "$got" = "$want" ] && [ "$bytes" = 6000000 ] &&
		[ "$(xsum "$W/roundtrip.out")" = "$(xsum "$W/rt.data")" ]' \
		"expected the guest's 6000000 bytes and the 8000000-byte round trip intact"
fi

# The last bytes written just before exit, on both streams, with no newline.
if wanted exec-tail; then
	xrun tail -- sh -c 'head -c 2000000 /dev/zero; printf END; printf LAST >&2; exit 3'
	end=$(tail -c 3 "$W/tail.out")
	check exec-tail '[ $ST = 3 ] && [ "$end" = END ] && [ "$(wc -c <"$W/tail.out")" = 2000003 ] &&
		[ "$(cat "$W/tail.err")" = LAST ]' "expected 2000003 bytes ending in END, stderr LAST, status 3"
fi

if wanted exec-timeout; then
	# Long enough for the guest to boot (boot_complete_us set) and start CMD.
	xrun timeout --timeout 12s --timings=json -- sleep 100
	lines=$(grep -c timeout "$W/timeout.err")
	check exec-timeout '[ $ST = 124 ] && [ "$REASON" = timeout ] && [ "$lines" = 2 ] &&
		[ -n "$BOOT" ] && [ "$BOOT" != null ] &&
		grep -q "^minnow: timeout: the command did not finish within 12s" "$W/timeout.err"' \
		"expected status 124 (timeout) after the boot and one line saying so (plus the JSON)"
fi

if wanted exec-env-cwd; then
	xrun envcwd --env 'FOO=a b' --env HOME=/tmp --env 'EQ=x=y' --cwd /proc -- \
		sh -c 'printf "%s|%s|%s|%s\n" "$FOO" "$HOME" "$EQ" "$(pwd)"'
	check exec-env-cwd '[ $ST = 0 ] && [ "$(cat "$W/envcwd.out")" = "a b|/tmp|x=y|/proc" ]' \
		"expected 'a b|/tmp|x=y|/proc'"
fi

if wanted exec-not-found; then
	xrun notfound -- no-such-command-here
	st1=$ST
	xrun badcwd --cwd /no/such/dir -- true
	DT="not found: $st1, bad cwd: $ST"
	check exec-not-found '[ $st1 = 127 ] && [ $ST = 125 ] && grep -q no-such-command-here "$W/notfound.err"' \
		"expected 127 for a missing command (named on stderr) and 125 for a bad --cwd"
fi

# A guest that panics: minnow's own status (126, guest_crash), no hang.
if wanted exec-panic; then
	xrun panic --timings=json -- sh -c 'echo c >/proc/sysrq-trigger'
	check exec-panic '[ $ST = 126 ] && [ "$REASON" = guest_crash ]' "expected 126 (guest_crash)"
fi

# stdout's reader goes away: the VM ends as CMD would on SIGPIPE.
if wanted exec-sigpipe; then
	CUR=sigpipe
	REASON=
	BOOT=
	t0=$(now)
	(
		timeout -s KILL 150 /bin/minnow exec "$W/exec.ini" -- yes 2>"$W/sigpipe.err" </dev/null
		echo $? >"$W/sigpipe.st"
	) | head -n 1 >"$W/sigpipe.out"
	ST=$(cat "$W/sigpipe.st")
	DT=$(secs "$t0" "$(now)")
	check exec-sigpipe '[ $ST = 141 ] && [ "$(cat "$W/sigpipe.out")" = y ]' "expected 141 after head took one line"
fi

# No CONFIG: the newest /boot/vmlinuz-*-cloud-amd64 (run.sh links it) and an
# initrd built by mkinitrd.sh into the cache, reused by the second run.
if wanted exec-default-cache; then
	CUR=default
	REASON=
	BOOT=
	rm -rf "$W/cache"
	t0=$(now)
	XDG_CACHE_HOME=$W/cache timeout -s KILL 300 /bin/minnow exec -- echo first \
		>"$W/default.out" 2>"$W/default.err" </dev/null
	st1=$?
	t1=$(now)
	f1=$(ls -l --full-time "$W"/cache/minnow/exec/initrd-*.cpio.gz 2>/dev/null)
	XDG_CACHE_HOME=$W/cache timeout -s KILL 150 /bin/minnow exec -- echo second \
		>>"$W/default.out" 2>>"$W/default.err" </dev/null
	ST=$?
	t2=$(now)
	f2=$(ls -l --full-time "$W"/cache/minnow/exec/initrd-*.cpio.gz 2>/dev/null)
	n=$(find "$W"/cache/minnow/exec -type f | wc -l)
	DT="first run $(secs "$t0" "$t1") s (builds), second $(secs "$t1" "$t2") s; ${f2##*/}"
	check exec-default-cache '[ $st1 = 0 ] && [ $ST = 0 ] && [ "$(cat "$W/default.out")" = "first${NL}second" ] &&
		[ -n "$f1" ] && [ "$f1" = "$f2" ] && [ "$n" = 1 ]' \
		"expected both runs to print, one cached initrd, untouched by the second run"
fi

# The tree of `make install DESTDIR=... PREFIX=/usr/local` (tests/l1/run.sh
# puts it in L1's /usr/local): its minnow, run from an unrelated directory
# with MINNOW_LIBEXEC unset, finds /usr/local/libexec/minnow and the kernel
# under /boot (its initrd is the cached one of exec-default-cache when that
# ran: same minnow-init, mkinitrd.sh, busybox and modules).
if wanted exec-installed; then
	CUR=installed
	REASON=
	BOOT=
	mkdir -p "$W/elsewhere"
	t0=$(now)
	(cd "$W/elsewhere" && env -u MINNOW_LIBEXEC XDG_CACHE_HOME="$W/cache" \
		timeout -s KILL 300 /usr/local/bin/minnow exec -- echo hi) \
		>"$W/installed.out" 2>"$W/installed.err" </dev/null
	ST=$?
	DT=$(secs "$t0" "$(now)")
	check exec-installed '[ $ST = 0 ] && [ "$(cat "$W/installed.out")" = hi ] && [ ! -s "$W/installed.err" ]' \
		"expected 'hi' and status 0 from /usr/local/bin/minnow exec -- echo hi in $W/elsewhere"
fi

# minnow exec -- true next to minnow run of the same kernel and initrd
# (minnow.exec=true): three runs each, the medians (numbers for the report;
# fails only when exec is more than twice as slow).
if wanted exec-speed; then
	CUR=speed
	CONSOLE_OUT=none
	ini speed /l2/bzImage bzimage "$BASE minnow.exec=true"
	CONSOLE_OUT=
	sed -i 's/^vcpus = 2/vcpus = 1/' "$W/speed.ini"
	rs=
	xs=
	for i in 1 2 3; do
		t0=$(now)
		/bin/minnow run "$W/speed.ini" >/dev/null 2>&1 </dev/null
		rs="$rs $(secs "$t0" "$(now)")"
		t0=$(now)
		/bin/minnow exec "$W/exec.ini" -- true >/dev/null 2>&1 </dev/null
		xs="$xs $(secs "$t0" "$(now)")"
	done
	rmed=$(printf '%s\n' $rs | sort -n | sed -n 2p)
	xmed=$(printf '%s\n' $xs | sort -n | sed -n 2p)
	echo "l1: exec-speed: minnow run:$rs (median $rmed s); minnow exec -- true:$xs (median $xmed s)"
	ST=0
	REASON=
	BOOT=
	DT="run median $rmed s, exec median $xmed s"
	check exec-speed 'awk -v r="$rmed" -v x="$xmed" "BEGIN { exit !(x <= 2 * r) }"' \
		"exec more than twice as slow as run"
fi
