#!/bin/sh
# l1-part.sh - the Linux tier, run inside the L1 host (sourced by tests/l1/init.sh): minnow boots real Linux guests (the stock Debian kernel, and the small kernel of `make guest-kernel` when built) and each test prints "TEST linux <name> PASS|FAIL|SKIP <reason>".
#
# /l2 holds bzImage, vmlinux, initrd.cpio, rootfs.ext4 and the small
# kernel's files (tests/l1/run.sh); /etc/linux-tests names the tests to run
# (empty: all). check() evaluates its conditions later, hence the single
# quotes.
# shellcheck disable=SC2016,SC2086,SC2034 # $W (tests/l1/lib.sh) has no blanks; variables read by check()'s eval

ALL="firmware-hello-in-L1 boot-complete guest-marks exit-status console-ttyS0 early-console early-console-quiet smp-2 poweroff elf-vmlinux pvh \
console-hvc0 ext4-root modules-by-device net vsock acpi-off pvpanic pvpanic-off power-button guest-kernel-acpi-off guest-kernel-pvh \
exec-args exec-streams exec-status exec-signal exec-stdin exec-eof exec-binary-out exec-roundtrip-64m exec-tail \
exec-timeout exec-no-init exec-ack-bound exec-slow-reader exec-env-cwd exec-not-found exec-panic exec-sigpipe \
exec-seccomp-io exec-tty exec-tty-size exec-tty-ctrl-c exec-tty-jobs exec-tty-redirect exec-tty-escape exec-rootfs exec-net \
exec-default-cache exec-installed exec-speed exec-share exec-share-ro exec-share-bad fs-ini fs-jail exec-share-speed \
snapshot-restore snapshot-restore-two snapshot-resume snapshot-1g snapshot-blk snapshot-vsock exec-warm vmgenid-rng"
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
initrd = /l2/initrd.cpio
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
# RUN_MINNOW: another minnow binary; RUN_ENV: NAME=VALUE words for it.
run() {
	t0=$(now)
	timeout -s KILL "${RUN_TIMEOUT:-150}" env ${RUN_ENV:-} "${RUN_MINNOW:-/bin/minnow}" run "$W/$1.ini" --timings=json \
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
# WHY and the output. DT is the seconds run() took, or a test's own words
# (which say their units).
check() {
	name=$1
	cond=$2
	shift 2
	wanted "$name" || return 0
	case $DT in '' | *[!0-9.]*) took=$DT ;; *) took="$DT s" ;; esac
	if eval "$cond"; then
		result "$name" PASS "$took (status $ST, $REASON, boot_complete_us=$BOOT)"
	else
		result "$name" FAIL "$* (status $ST, $REASON, boot_complete_us=$BOOT, $took)"
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
	ini boot /l2/bzImage bzimage "$BASE minnow.exec=${Q}echo cpus-online=\$(cat /sys/devices/system/cpu/online); echo tsc-deadline=\$(grep -c tsc_deadline_timer /proc/cpuinfo); echo marker-ttyS0; exit 7${Q}"
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
	# Both vCPUs offer the TSC-deadline timer (KVM has it, minnow sets its bit).
	check smp-2 'has cpus-online=0-1 && has tsc-deadline=2' "expected cpus-online=0-1 and tsc-deadline=2 (tsc_deadline_timer on both CPUs)"
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

# quiet after console=ttyS0, as users write it: minnow moves it before the
# early console, which starts at the quiet level and so does not print the
# log so far (the banner, the memory map: some 700 bytes, two exits each).
if wanted early-console-quiet; then
	CUR=quiet
	ini quiet /l2/bzImage bzimage "console=ttyS0 quiet panic=-1 minnow.exec=${Q}echo quiet-done; exit 4${Q}"
	run quiet
	EXITS=$(sed -n 's/.*"exits":\([0-9]*\).*/\1/p' "$W/quiet.json")
	LINES=$(wc -l <"$W/quiet.out")
	DT="$DT s, $LINES lines, exits=$EXITS"
	check early-console-quiet '[ $ST = 4 ] && has quiet-done && ! has "Linux version" && ! has BIOS-e820' \
		"expected no early lines (banner, memory map) with quiet after console=ttyS0, quiet-done and status 4"
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

# minnow-init loads a device's driver only when the VM has that device
# (mkinitrd.sh's /etc/minnow-modules-virtio-ID and -acpi-HID): with one drive,
# virtio_blk is loaded and the network, vsock and console drivers are not;
# with no virtio device and [vm] pvpanic = off, neither the virtio-mmio
# transport nor pvpanic is, while the power button's driver still is.
if wanted modules-by-device; then
	CUR=mods
	truncate -s 1M $W/mods.img
	ini mods /l2/bzImage bzimage \
		"$BASE minnow.exec=${Q}echo mods: \$(cut -d' ' -f1 /proc/modules | tr '\\n' ' ') :end${Q}" \
		"[drive.data]
path = $W/mods.img"
	run mods
	MODS=$(sed -n 's/^mods: \(.*\) :end\r*$/ \1 /p' "$W/mods.out")
	ST1=$ST
	VM_EXTRA="pvpanic = off" ini mods-none /l2/bzImage bzimage \
		"$BASE minnow.exec=${Q}echo mods: \$(cut -d' ' -f1 /proc/modules | tr '\\n' ' ') :end${Q}"
	run mods-none
	NONE=$(sed -n 's/^mods: \(.*\) :end\r*$/ \1 /p' "$W/mods-none.out")
	DT="$DT s, modules with a drive:$MODS; with no device:$NONE"
	check modules-by-device '[ $ST1 = 0 ] && [ $ST = 0 ] &&
		case "$MODS" in *" virtio_mmio "*) ;; *) false ;; esac &&
		case "$MODS" in *" virtio_blk "*) ;; *) false ;; esac &&
		case "$MODS" in *" pvpanic_mmio "*) ;; *) false ;; esac &&
		case "$MODS" in *" virtio_net "* | *" vsock "* | *" virtio_console "*) false ;; *) true ;; esac &&
		case "$NONE" in *" button "*) ;; *) false ;; esac &&
		case "$NONE" in *" virtio"* | *" pvpanic"*) false ;; *) true ;; esac' \
		"expected virtio_mmio, virtio_blk and pvpanic_mmio loaded and no net, vsock or console driver with a drive; the button and no virtio or pvpanic driver with no device; got:$MODS; and:$NONE"
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

# The power button (issue 11's graceful shutdown): minnow-testhooks presses
# the GED's button 3 s after boot complete (MINNOW_TEST_POWER_BUTTON_MS, as
# the control socket's `shutdown` will); the evged driver runs GED0._EVT,
# the button driver reports KEY_POWER on its evdev, and minnow-init ends the
# idle command (sleep 600) and powers off: status 0, exit_reason poweroff,
# long before the sleep would have ended, without the command's status.
if wanted power-button; then
	CUR=powerbutton
	if [ ! -x /bin/minnow-testhooks ]; then
		REASON=
		BOOT=
		ST=
		DT=0
		check power-button false "no /bin/minnow-testhooks in L1 (make build/minnow-testhooks)"
	else
		ini powerbutton /l2/bzImage bzimage "$BASE minnow.exec=${Q}echo button-wait; sleep 600; echo slept-600${Q}"
		RUN_MINNOW=/bin/minnow-testhooks
		RUN_ENV=MINNOW_TEST_POWER_BUTTON_MS=3000
		run powerbutton
		RUN_MINNOW=
		RUN_ENV=
		# (The kernel's command line, echoed at boot, holds both words.)
		check power-button '[ $ST = 0 ] && [ "$REASON" = poweroff ] &&
			grep -q "^button-wait" $W/powerbutton.out && ! grep -q "^slept-600" $W/powerbutton.out &&
			has "^minnow-init: power button: powering off" &&
			grep -q "test hook: pressing the power button" $W/powerbutton.err &&
			[ "${DT%.*}" -lt 100 ]' \
			"expected minnow-init to power off on the button (status 0, poweroff) well before sleep 600 ends"
	fi
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
initrd = /l2/initrd.cpio
cmdline = console=ttyS0 quiet panic=-1
EOF
xrun() {
	CUR=$1
	shift
	t0=$(now)
	timeout -s KILL "${RUN_TIMEOUT:-150}" /bin/minnow exec ${XCONF-$W/exec.ini} "$@" \
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

# CMD's status is minnow's: 0, 1 and 7 (7 also checked as guest_exit).
if wanted exec-status; then
	xrun status0 -- true
	st0=$ST
	xrun status1 -- false
	st1=$ST
	xrun status --timings=json -- sh -c 'exit 7'
	DT="$DT s; true: $st0, false: $st1, exit 7: $ST"
	check exec-status '[ $st0 = 0 ] && [ $st1 = 1 ] && [ $ST = 7 ] && [ "$REASON" = guest_exit ]' \
		"expected statuses 0, 1 and 7 (guest_exit)"
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

# EOF: an empty stdin ends cat and wc at once; after stdin's EOF the
# command goes on (the shell runs its next command).
if wanted exec-eof; then
	xrun eof-empty -- cat
	st1=$ST
	n1=$(wc -c <"$W/eof-empty.out")
	xrun eof-wc -- wc -c
	wc=$(tr -d ' ' <"$W/eof-wc.out")
	printf 'line one\nno newline at the end' >"$W/eof.data"
	XIN=$W/eof.data xrun eof -- sh -c 'cat; echo; echo after-eof'
	printf 'line one\nno newline at the end\nafter-eof\n' >"$W/eof.want"
	DT="$DT s; cat </dev/null: status $st1, $n1 bytes; wc -c: '$wc'"
	check exec-eof '[ $st1 = 0 ] && [ "$n1" = 0 ] && [ "$wc" = 0 ] && [ $ST = 0 ] && cmp -s "$W/eof.want" "$W/eof.out"' \
		"expected empty output from cat, 0 from wc -c, and the command to go on after stdin's EOF"
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

# 64 MiB of random bytes in through stdin and out through stdout.
if wanted exec-roundtrip-64m; then
	head -c 67108864 /dev/urandom >"$W/rt64.data" # busybox head: no M suffix
	XIN=$W/rt64.data RUN_TIMEOUT=300 xrun rt64 -- cat
	want=$(xsum "$W/rt64.data")
	got=$(xsum "$W/rt64.out")
	bytes=$(wc -c <"$W/rt64.out")
	rm -f "$W/rt64.data"
	DT="$DT s; $bytes bytes, sha256 $got"
	check exec-roundtrip-64m '[ $ST = 0 ] && [ "$bytes" = 67108864 ] && [ "$got" = "$want" ] && [ ! -s "$W/rt64.err" ]' \
		"expected the 67108864 bytes back intact (sha256 $want)"
	rm -f "$W/rt64.out"
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
	xrun timeout --timeout 20s --timings=json -- sleep 100
	lines=$(grep -c timeout "$W/timeout.err")
	check exec-timeout '[ $ST = 124 ] && [ "$REASON" = timeout ] && [ "$lines" = 2 ] &&
		[ -n "$BOOT" ] && [ "$BOOT" != null ] &&
		grep -q "^minnow: timeout: the command did not finish within 20s" "$W/timeout.err"' \
		"expected status 124 (timeout) after the boot and one line saying so (plus the JSON)"
fi

# An initrd whose /init is not minnow-init (it sleeps): exec does not wait
# forever for the command to be asked for, but [vm] boot_timeout (60 s
# unset; 8 s here), and says what is likely wrong in one line.
if wanted exec-no-init; then
	rm -rf "$W/sleepy"
	mkdir -p "$W/sleepy/bin"
	cp /bin/busybox "$W/sleepy/bin/busybox"
	printf '#!/bin/busybox sh\nexec /bin/busybox sleep 1000\n' >"$W/sleepy/init"
	chmod 755 "$W/sleepy/init"
	(cd "$W/sleepy" && find . | cpio -o -H newc --quiet) >"$W/sleepy.cpio"
	xrun noinit --initrd "$W/sleepy.cpio" --set vm.boot_timeout=8s --timings=json -- true
	lines=$(grep -vc '^{' "$W/noinit.err")
	check exec-no-init '[ $ST = 124 ] && [ "$REASON" = boot_timeout ] && [ "$lines" = 1 ] &&
		grep -q "did not ask for the command within 8s: is its /init minnow-init" "$W/noinit.err"' \
		"expected 124 (boot_timeout) and one line naming minnow-init"
fi

# A host that takes CMD's output and never acknowledges it (nor sends
# keepalives): minnow-init reports the status anyway after EXEC_ACK_IDLE_MS
# (30 s). minnow run with [vsock] and the exec parameter; vsock-echo plays
# the host: the command on port 10000, then silence on all four ports.
if wanted exec-ack-bound; then
	CUR=ackbound
	printf 'MNX1\012\000\000\000Aecho\000Ahi\000' >"$W/ackbound.spec"
	pids=
	for p in 10000 10001 10002 10003; do
		f=-
		[ $p != 10000 ] || f=$W/ackbound.spec
		vsock-echo -t 140 uds-hold "$W/ackbound.sock_$p" "$f" >"$W/ackbound.$p" 2>&1 &
		pids="$pids $!"
	done
	ini ackbound /l2/bzImage bzimage "$BASE minnow.exec_vsock=10000" "[vsock]
uds_path = $W/ackbound.sock"
	run ackbound
	kill $pids 2>/dev/null
	wait
	held=$(cat "$W/ackbound.10001")
	DT="$DT s, port 10001: $held"
	check exec-ack-bound '[ $ST = 0 ] && [ "$REASON" = guest_exit ] && has "no word from the host for 30 s" &&
		[ "$held" = "held: 3 bytes" ] && awk -v d="${DT%% *}" "BEGIN { exit !(d >= 30) }"' \
		"expected status 0 after 30 s without the host's acknowledgement, said on the console"
fi

# A reader that waits 40 s before reading: minnow-init waits for the
# acknowledgement as long as minnow's keepalives come, and nothing is lost.
if wanted exec-slow-reader; then
	CUR=slow
	REASON=
	BOOT=
	t0=$(now)
	(
		timeout -s KILL 150 /bin/minnow exec "$W/exec.ini" --log "$W/slow.log" -- \
			sh -c 'head -c 100000 /dev/zero; echo END' 2>"$W/slow.err" </dev/null
		echo $? >"$W/slow.st"
	) | {
		sleep 40
		wc -c
	} >"$W/slow.out"
	ST=$(cat "$W/slow.st")
	DT=$(secs "$t0" "$(now)")
	n=$(tr -d ' ' <"$W/slow.out")
	DT="$DT s, $n bytes"
	check exec-slow-reader '[ $ST = 0 ] && [ "$n" = 100004 ] && ! grep -q "no word from the host" "$W/slow.log"' \
		"expected 100004 bytes and status 0, minnow-init waiting for the slow reader"
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

# seccomp on exec's output thread (the "io" kind; every other exec test runs
# under the default filters): minnow-testhooks' trigger makes that thread
# call sysinfo once its filter is in. kill: one line naming thread and
# call, status 159; log: the call goes through and CMD's output arrives.
if wanted exec-seccomp-io; then
	CUR=seccomp-io
	if [ ! -x /bin/minnow-testhooks ]; then
		REASON= BOOT= ST= DT=0
		check exec-seccomp-io false "no /bin/minnow-testhooks in L1 (make build/minnow-testhooks)"
	else
		timeout -s KILL 150 env MINNOW_TEST_FORBIDDEN_SYSCALL=io /bin/minnow-testhooks exec \
			"$W/exec.ini" -- echo seccomp-io-out >"$W/seccomp-io.out" 2>"$W/seccomp-io.err" </dev/null
		ST=$?
		timeout -s KILL 150 env MINNOW_TEST_FORBIDDEN_SYSCALL=io /bin/minnow-testhooks exec \
			"$W/exec.ini" --set security.seccomp=log -- echo seccomp-io-out \
			>"$W/seccomp-io-log.out" 2>"$W/seccomp-io-log.err" </dev/null
		st_log=$?
		REASON= BOOT= DT="kill: $ST, log: $st_log"
		want="minnow: seccomp: thread io made forbidden syscall sysinfo ("
		check exec-seccomp-io '[ $ST = 159 ] && grep -qF "$want" "$W/seccomp-io.err" &&
			[ $st_log = 0 ] && [ "$(cat "$W/seccomp-io-log.out")" = seccomp-io-out ] &&
			! grep -q seccomp "$W/seccomp-io-log.err"' \
			"expected status 159 and '$want...' on stderr with kill; status 0 and CMD's output with log"
	fi
fi

# ---- minnow exec with a terminal: pty-run (tests/linux/pty-run.c) gives
# minnow a pty of the given size and types into it. prun NAME PTY-RUN-ARGS...:
# the pty's output in $W/NAME.out, pty-run's own lines in $W/NAME.err.
prun() {
	CUR=$1
	shift
	REASON=
	BOOT=
	t0=$(now)
	timeout -s KILL 150 pty-run -t 120 "$@" >"$W/$CUR.out" 2>"$W/$CUR.err" </dev/null
	ST=$?
	DT=$(secs "$t0" "$(now)")
	echo "l1: $CUR: status $ST in $DT s"
}
X="/bin/minnow exec $W/exec.ini"

# CMD's stdin, stdout and stderr are a pty; minnow's terminal is restored.
# --no-tty: no pty.
if wanted exec-tty; then
	prun notty -- $X --no-tty -- tty
	st1=$ST
	notty=$(tr -d '\r' <"$W/notty.out")
	prun tty -c -- $X -- sh -c 'tty; [ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo all-three-ttys; echo "TERM=$TERM"'
	DT="$DT s; --no-tty: status $st1, '$notty'"
	check exec-tty '[ $ST = 0 ] && grep -q "^/dev/pts/[0-9]" "$W/tty.out" && has all-three-ttys &&
		grep -q "termios restored" "$W/tty.err" && [ $st1 = 1 ] && [ "$notty" = "not a tty" ]' \
		"expected a /dev/pts tty for stdin, stdout and stderr, the host terminal restored, and no tty with --no-tty"
fi

# The window size at the start, then a resize: SIGWINCH and the new size.
if wanted exec-tty-size; then
	prun ttysize -s 37x91 -w READY -z 50x120 -w '50 120' -i '\003' -- \
		$X -- sh -c 'trap "stty size" WINCH; stty size; echo READY; while :; do sleep 1; done'
	check exec-tty-size '[ $ST = 130 ] && has "37 91" && has "50 120"' \
		"expected '37 91', then '50 120' after the resize (and ^C to end it)"
fi

# ^C typed on the host's terminal is CMD's SIGINT: 130, from the guest.
if wanted exec-tty-ctrl-c; then
	prun ctrlc -e "$W/ctrlc.stderr" -w started -i '\003' -- \
		$X --timings=json -- sh -c 'echo started; exec sleep 100'
	REASON=$(sed -n 's/.*"exit_reason":"\([^"]*\)".*/\1/p' "$W/ctrlc.stderr")
	check exec-tty-ctrl-c '[ $ST = 130 ] && [ "$REASON" = guest_exit ]' \
		"expected 130 from the guest (guest_exit) after ^C"
fi

# Job control: CMD leads its session and is the terminal's foreground
# process group; an interactive shell stops a job on ^Z.
if wanted exec-tty-jobs; then
	prun jobs1 -- $X -- sh -c 'read -r _ _ _ _ pgrp sid _ tpgid _ </proc/self/stat
		echo "pid=$$ pgrp=$pgrp sid=$sid tpgid=$tpgid"'
	ids=$(tr -d '\r' <"$W/jobs1.out" | grep '^pid=')
	pid=${ids%% *}
	pid=${pid#pid=}
	want="pid=$pid pgrp=$pid sid=$pid tpgid=$pid"
	prun jobs -w started -i '\032' -- $X -- sh -ic '(echo started; exec sleep 100); echo after-stop $?; jobs'
	DT="$DT s; $ids"
	check exec-tty-jobs '[ -n "$pid" ] && [ "$ids" = "$want" ] && [ $ST = 0 ] && has "after-stop 148" && has Stopped &&
		! has "job control turned off"' \
		"expected CMD to lead its session in the foreground, and ^Z to stop sh -i's job"
fi

# A redirected stream stays a stream of its own, byte for byte: stderr to
# a file (stdout on the pty), then stdout to a file (stderr on the pty).
if wanted exec-tty-redirect; then
	prun ttyerr -e "$W/ttyerr.stderr" -- $X -- sh -c 'echo to-out; echo to-err >&2; [ -t 2 ] || echo stderr-not-a-tty'
	st1=$ST
	okerr=no
	if [ "$(cat "$W/ttyerr.stderr")" = to-err ] && grep -q stderr-not-a-tty "$W/ttyerr.out" &&
		grep -q to-out "$W/ttyerr.out" && ! grep -q to-err "$W/ttyerr.out"; then okerr=yes; fi
	prun ttyout -o "$W/ttyout.stdout" -- $X -- sh -c 'echo to-out; echo to-err >&2; [ -t 0 ] && [ -t 2 ] && echo in-and-err-ttys >&2'
	printf 'to-out\n' >"$W/ttyout.want"
	DT="$DT s; stderr apart: $okerr (status $st1)"
	check exec-tty-redirect '[ $st1 = 0 ] && [ $okerr = yes ] && [ $ST = 0 ] && cmp -s "$W/ttyout.want" "$W/ttyout.stdout" &&
		has to-err && has in-and-err-ttys' \
		"expected a redirected stderr, then stdout, apart and exact, the other streams on the pty"
fi

# Ctrl-A x quits as in minnow run (130, exit_reason signal; the terminal
# restored); Ctrl-A Ctrl-A reaches CMD as one Ctrl-A.
if wanted exec-tty-escape; then
	prun ctla -w started -i '\001\001\n' -- $X -- sh -c 'echo started; head -c 1 | od -An -tx1'
	st1=$ST
	prun quit -c -e "$W/quit.stderr" -w started -i '\001x' -- $X --timings=json -- sh -c 'echo started; sleep 100'
	REASON=$(sed -n 's/.*"exit_reason":"\([^"]*\)".*/\1/p' "$W/quit.stderr")
	DT="$DT s; Ctrl-A Ctrl-A: status $st1"
	check exec-tty-escape '[ $st1 = 0 ] && tr -d "\r" <"$W/ctla.out" | grep -q "^ 01$" && [ $ST = 130 ] && [ "$REASON" = signal ] &&
		grep -q "quit requested (Ctrl-A x)" "$W/quit.stderr" && grep -q "termios restored" "$W/quit.err"' \
		"expected Ctrl-A Ctrl-A to reach CMD as 01, and Ctrl-A x to quit with 130 (signal)"
fi

# --rootfs: CMD runs in an ext4 image (the test rootfs, plus a marker put
# in on the L1 host) with /proc, /sys and /dev; what it writes stays in the
# image (read back by a second, read-only run, and on the L1 host). A
# missing image: one line, status 2.
if wanted exec-rootfs; then
	CUR=rootfs
	cp /l2/rootfs.ext4 "$W/xroot.ext4"
	if mount -o loop -t ext4 "$W/xroot.ext4" /mnt; then
		echo marker-in-the-image >/mnt/marker
		umount /mnt
	fi
	xrun rootfs --rootfs "$W/xroot.ext4" -- sh -c 'cat /marker; echo written-by-cmd >/written
		[ -r /proc/self/stat ] && [ -c /dev/null ] && [ -d /sys/class/block ] && echo mounts-ok'
	st1=$ST
	out1=$(cat "$W/rootfs.out")
	xrun rootfs-ro --rootfs "$W/xroot.ext4:ro" -- sh -c 'cat /written; touch /x 2>/dev/null || echo read-only'
	st2=$ST
	out2=$(cat "$W/rootfs-ro.out")
	got=
	if mount -o loop,ro -t ext4 "$W/xroot.ext4" /mnt; then
		got=$(cat /mnt/written 2>/dev/null)
		umount /mnt
	fi
	xrun rootfs-missing --rootfs "$W/no-such.img" -- true
	lines=$(wc -l <"$W/rootfs-missing.err")
	DT="$DT s; run 1: $st1, run 2 (ro): $st2, missing image: $ST, $lines line(s); /written on L1: '$got'"
	check exec-rootfs '[ $st1 = 0 ] && [ "$out1" = "marker-in-the-image${NL}mounts-ok" ] &&
		[ $st2 = 0 ] && [ "$out2" = "written-by-cmd${NL}read-only" ] && [ "$got" = written-by-cmd ] &&
		[ $ST = 2 ] && [ "$lines" = 1 ] && grep -q "^minnow exec: --rootfs $W/no-such.img: No such file" "$W/rootfs-missing.err"' \
		"expected the marker, the mounts, the write kept in the image, a read-only second run, and status 2 for a missing image"
	rm -f "$W/xroot.ext4"
fi

# --net TAP,ip=,gw=: eth0 up with the address and the default route; the
# guest pings L1 over the TAP. A missing TAP and a busy one: one line each,
# naming it.
if wanted exec-net; then
	CUR=xnet
	tunctl -t xtap0 >/dev/null
	ip addr add 172.31.0.1/24 dev xtap0
	ip link set xtap0 up
	xrun xnet --net xtap0,ip=172.31.0.2/24,gw=172.31.0.1 -- sh -c 'ping -c 2 -w 30 172.31.0.1 && ip route'
	st1=$ST
	xrun xnet-missing --net nosuchtap7 -- true
	st2=$ST
	l2=$(wc -l <"$W/xnet-missing.err")
	timeout -s KILL 150 /bin/minnow exec "$W/exec.ini" --net xtap0 -- sleep 100 </dev/null >/dev/null 2>&1 &
	holder=$!
	sleep 2
	xrun xnet-busy --net xtap0 -- true
	kill $holder 2>/dev/null
	wait $holder
	l3=$(wc -l <"$W/xnet-busy.err")
	CUR=xnet
	DT="$DT s; ping: $st1; missing TAP: $st2, $l2 line(s); busy TAP: $ST, $l3 line(s)"
	check exec-net '[ $st1 = 0 ] && has "bytes from 172.31.0.1" && has "default via 172.31.0.1" &&
		[ $st2 = 2 ] && [ "$l2" = 1 ] && grep -q "^minnow exec: --net nosuchtap7: no such network interface" "$W/xnet-missing.err" &&
		[ $ST = 2 ] && [ "$l3" = 1 ] && grep -q "xtap0: busy" "$W/xnet-busy.err"' \
		"expected a ping over the TAP with the default route, and one line with status 2 for a missing TAP and for a busy one"
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
	f1=$(ls -l --full-time "$W"/cache/minnow/exec/initrd-*.cpio 2>/dev/null)
	XDG_CACHE_HOME=$W/cache timeout -s KILL 150 /bin/minnow exec -- sh -c 'echo second; cat /proc/cmdline' \
		>>"$W/default.out" 2>>"$W/default.err" </dev/null
	ST=$?
	t2=$(now)
	f2=$(ls -l --full-time "$W"/cache/minnow/exec/initrd-*.cpio 2>/dev/null)
	n=$(find "$W"/cache/minnow/exec -type f | wc -l)
	DT="first run $(secs "$t0" "$t1") s (builds), second $(secs "$t1" "$t2") s; ${f2##*/}"
	# The default command line (vmm/exec/exec.c), as minnow passes it on.
	want_cmdline="quiet console=uart8250,mmio,0xd0000000 panic=-1 cryptomgr.notests"
	check exec-default-cache '[ $st1 = 0 ] && [ $ST = 0 ] && [ "$(head -n 2 "$W/default.out")" = "first${NL}second" ] &&
		sed -n 3p "$W/default.out" | grep -qF "$want_cmdline" && [ "$(head -c 6 "$W"/cache/minnow/exec/initrd-*.cpio)" = 070701 ] &&
		[ -n "$f1" ] && [ "$f1" = "$f2" ] && [ "$n" = 1 ]' \
		"expected both runs to print, the second the default command line ($want_cmdline), one cached initrd (a plain newc archive), untouched by the second run"
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

# ---- virtio-fs: minnow exec --share and [fs.NAME] ----------------------------
psum() { sha256sum | cut -d' ' -f1; } # of stdin
# virtiofsd (Debian's qemu-system-common) is in L1 when the host had it
# (run.sh copies it with its libraries); without it these tests skip.
VIRTIOFSD=/usr/lib/qemu/virtiofsd
NOFSD="no $VIRTIOFSD in L1 (apt-get install qemu-system-common on the host)"
fsd_skip() { # NAME...: SKIP each wanted one when virtiofsd is missing; true then
	[ -x "$VIRTIOFSD" ] && return 1
	for n in "$@"; do wanted "$n" && result "$n" SKIP "$NOFSD"; done
	return 0
}

# CMD reads a host file and writes files (a large one last, right before it
# exits) in a share; after minnow exits every byte is on the host. GUEST_DIR
# does not exist in the initrd (minnow-init makes it) and --cwd is inside it.
if wanted exec-share && ! fsd_skip exec-share; then
	rm -rf "$W/share"
	mkdir -p "$W/share"
	head -c 3000000 /dev/urandom >"$W/share/in.dat"
	xrun share --share "$W/share:/mnt/host/share" --cwd /mnt/host/share -- sh -c '
		sha256sum <in.dat | cut -d" " -f1 >in.sum
		mkdir -p sub/dir && echo nested >sub/dir/n.txt
		printf small >small.txt
		head -c 12000000 /dev/urandom >/tmp/big
		sha256sum </tmp/big | cut -d" " -f1 >&2
		cat /tmp/big >big.bin; printf LAST >>big.bin'
	want_big=$(printf '%s' "$(cat "$W/share.err")")
	got_big=$(head -c 12000000 "$W/share/big.bin" | psum)
	DT="$DT s; big.bin $(wc -c <"$W/share/big.bin" 2>/dev/null) bytes, sha256 $got_big (guest: $want_big)"
	check exec-share '[ $ST = 0 ] && [ "$(cat "$W/share/in.sum")" = "$(xsum "$W/share/in.dat")" ] &&
		[ "$(cat "$W/share/small.txt")" = small ] && [ "$(cat "$W/share/sub/dir/n.txt")" = nested ] &&
		[ "$(wc -c <"$W/share/big.bin")" = 12000004 ] && [ "$(tail -c 4 "$W/share/big.bin")" = LAST ] &&
		[ -n "$want_big" ] && [ "$got_big" = "$want_big" ]' \
		"expected in.sum, small.txt, sub/dir/n.txt and all of big.bin (ending LAST) on the host"
fi

# :ro: the guest's write fails (EROFS), and still fails after the guest
# remounts it read-write (virtiofsd sees a read-only bind mount); nothing on
# the host changes.
if wanted exec-share-ro && ! fsd_skip exec-share-ro; then
	rm -rf "$W/ro"
	mkdir -p "$W/ro"
	echo keep >"$W/ro/keep.txt"
	before=$(ls -lA --full-time "$W/ro" | psum)
	xrun ro --share "$W/ro:/ro:ro" -- sh -c '
		cat /ro/keep.txt
		if echo x >/ro/new.txt; then exit 0; fi
		mount -o remount,rw /ro && echo remounted
		if echo y >/ro/new2.txt; then exit 1; fi
		exit 3'
	after=$(ls -lA --full-time "$W/ro" | psum)
	DT="$DT s; $(tr '\n' ' ' <"$W/ro.out")"
	check exec-share-ro '[ $ST = 3 ] && [ "$(head -n 1 "$W/ro.out")" = keep ] &&
		grep -q "Read-only file system" "$W/ro.err" && [ "$before" = "$after" ]' \
		"expected keep, EROFS twice (status 3) and the host directory unchanged"
fi

# Bad --share input: status 2, one line on stderr naming the problem, nothing
# on stdout, and no VM (no --timings report is printed).
if wanted exec-share-bad; then
	CUR=sharebad
	REASON=
	BOOT=
	mkdir -p "$W/share" "$W/rofs"
	: >"$W/afile"
	mount -t tmpfs -o ro tmpfs "$W/rofs" 2>/dev/null
	bad=
	n=0
	t0=$(now)
	# shellcheck disable=SC2034 # read by eval
	for c in "$W/nonexistent:/x|No such file or directory" \
		"$W/afile:/x|not a directory" \
		"$W/share:relative|must be absolute" \
		"$W/share:/x:rw|one ':' too many" \
		"$W/share:/x:ro:y|one ':' too many" \
		"$W/rofs:/x|not writable" \
		"$W/share:/|cannot be / itself" \
		"MINNOW_VIRTIOFSD=/no/virtiofsd $W/share:/x|qemu-system-common"; do
		spec=${c%%|*}
		want=${c#*|}
		envv=
		case $spec in MINNOW_VIRTIOFSD=*) envv=${spec%% *}; spec=${spec#* } ;; esac
		env $envv timeout -s KILL 60 /bin/minnow exec "$W/exec.ini" --timings=json --share "$spec" -- true \
			>"$W/sharebad.out" 2>"$W/sharebad.err" </dev/null
		st=$?
		n=$((n + 1))
		if [ $st != 2 ] || [ -s "$W/sharebad.out" ] || [ "$(wc -l <"$W/sharebad.err")" != 1 ] ||
			! grep -q -- "$want" "$W/sharebad.err" || ! grep -q '^minnow exec: ' "$W/sharebad.err"; then
			bad="$bad [$spec: status $st, stderr: $(head -c 200 "$W/sharebad.err")]"
		fi
	done
	# The same checks for minnow run's [fs.NAME]: minnow check refuses.
	printf '[kernel]\npath = /l2/bzImage\n[fs.data]\nhost_dir = %s/nonexistent\n' "$W" >"$W/fsbad.ini"
	/bin/minnow check "$W/fsbad.ini" >"$W/sharebad.out" 2>"$W/sharebad.err"
	st=$?
	n=$((n + 1))
	if [ $st != 2 ] || ! grep -q "fsbad.ini:4: \[fs.data\] host_dir: No such file or directory" "$W/sharebad.err"; then
		bad="$bad [fs.data: status $st, stderr: $(head -c 200 "$W/sharebad.err")]"
	fi
	ST=0
	DT="$n cases in $(secs "$t0" "$(now)") s"
	umount "$W/rofs" 2>/dev/null
	check exec-share-bad '[ -z "$bad" ]' "refused wrongly:$bad"
fi

# minnow run: [fs.NAME] with host_dir (minnow starts virtiofsd) and with
# socket (a virtiofsd started here); the guest mounts both by their tags.
if wanted fs-ini && ! fsd_skip fs-ini; then
	CUR=fsini
	rm -rf "$W/fsa" "$W/fsb"
	mkdir -p "$W/fsa" "$W/fsb"
	echo from-a >"$W/fsa/a.txt"
	echo from-b >"$W/fsb/b.txt"
	rm -f "$W/fsb.sock"
	"$VIRTIOFSD" --socket-path="$W/fsb.sock" -o source="$W/fsb" -o sandbox=chroot \
		>"$W/fsb.log" 2>&1 &
	fsd=$!
	i=0
	while [ ! -S "$W/fsb.sock" ] && [ $i -lt 100 ]; do usleep 100000; i=$((i + 1)); done
	ini fsini /l2/bzImage bzimage "$BASE minnow.exec=${Q}mkdir -p /a /b && mount -t virtiofs data /a && mount -t virtiofs ext-b /b && cat /a/a.txt /b/b.txt && echo written >/a/w.txt && echo written >/b/w.txt && umount /a /b${Q}" \
		"[fs.data]
host_dir = $W/fsa

[share.b]
tag = ext-b
socket = $W/fsb.sock"
	run fsini
	/bin/minnow check "$W/fsini.ini" >"$W/fsini.check" 2>&1
	# The external virtiofsd ends when minnow disconnects (10 s at most).
	i=0
	while kill -0 $fsd 2>/dev/null && [ $i -lt 100 ]; do usleep 100000; i=$((i + 1)); done
	kill $fsd 2>/dev/null
	wait $fsd
	fst=$?
	DT="$DT s; the external virtiofsd exited with $fst"
	check fs-ini '[ $ST = 0 ] && has from-a && has from-b && [ "$(cat "$W/fsa/w.txt")" = written ] &&
		[ "$(cat "$W/fsb/w.txt")" = written ] && grep -q "^\[fs.b\]" "$W/fsini.check" &&
		grep -q "^socket = $W/fsb.sock" "$W/fsini.check" && grep -q "^tag = data" "$W/fsini.check"' \
		"expected both shares read and written, and minnow check printing [fs.data] and [fs.b]"
fi

# [fs.NAME] in a jail: virtiofsd is started (and connected) before the VMM
# confines itself, so the jailed VMM, which cannot see the shared directory,
# still serves it to the guest; the guest's write lands on the host, and the
# supervisor leaves nothing mounted or running behind.
if wanted fs-jail && ! fsd_skip fs-jail; then
	CUR=fsjail
	rm -rf "$W/fsj" "$W/jail-fs"
	mkdir -p "$W/fsj" "$W/jail-fs"
	chmod 755 "$W/jail-fs"
	echo from-host >"$W/fsj/in.txt"
	ini fsjail /l2/bzImage bzimage "$BASE minnow.exec=${Q}mkdir -p /s && mount -t virtiofs data /s && cat /s/in.txt && echo jailed >/s/out.txt && umount /s${Q}" \
		"[fs.data]
host_dir = $W/fsj

[jail]
dir = $W/jail-fs"
	run fsjail
	left=$(find "$W/jail-fs" -mindepth 1 | head -n 3)
	procs=$(pgrep -f "source=$W/fsj" | head -n 3)
	DT="$DT s; left in DIR: '${left}'; daemons left: '${procs}'"
	check fs-jail '[ $ST = 0 ] && has from-host && [ "$(cat "$W/fsj/out.txt")" = jailed ] &&
		[ -z "$left" ] && [ -z "$procs" ]' \
		"expected the share read and written from the jailed VM, DIR empty and no virtiofsd left"
fi

# Numbers for the report (fails only if a run fails): exec-to-exit of true
# with and without one share (medians of 3), and 64 MiB through the share
# (dd write, cat read) next to the guest's tmpfs.
if wanted exec-share-speed && ! fsd_skip exec-share-speed; then
	CUR=sharespeed
	REASON=
	BOOT=
	rm -rf "$W/speed"
	mkdir -p "$W/speed"
	head -c 67108864 /dev/zero >"$W/speed/read.bin"
	ns=
	ss=
	fails=0
	for i in 1 2 3; do
		t0=$(now)
		/bin/minnow exec "$W/exec.ini" -- true >/dev/null 2>&1 </dev/null || fails=$((fails + 1))
		ns="$ns $(secs "$t0" "$(now)")"
		t0=$(now)
		/bin/minnow exec "$W/exec.ini" --share "$W/speed:/s" -- true >/dev/null 2>&1 </dev/null || fails=$((fails + 1))
		ss="$ss $(secs "$t0" "$(now)")"
	done
	nmed=$(printf '%s\n' $ns | sort -n | sed -n 2p)
	smed=$(printf '%s\n' $ss | sort -n | sed -n 2p)
	# In the guest: seconds (from /proc/uptime) for each transfer.
	xrun sharespeed --memory 512M --share "$W/speed:/s" -- sh -c '
		t() { cut -d" " -f1 /proc/uptime; }
		a=$(t); dd if=/dev/zero of=/s/w.bin bs=1M count=64 2>/dev/null; sync; b=$(t)
		dd if=/dev/zero of=/tmp/w.bin bs=1M count=64 2>/dev/null; sync; c=$(t)
		cat /s/read.bin >/dev/null; d=$(t)
		cat /tmp/w.bin >/dev/null; e=$(t)
		echo "write-share $a $b write-tmpfs $b $c read-share $c $d read-tmpfs $d $e"'
	[ $ST = 0 ] || fails=$((fails + 1))
	nums=$(awk '{ printf "dd write 64 MiB: share %.2f s, tmpfs %.2f s; cat 64 MiB: share %.2f s, tmpfs %.2f s",
		$3 - $2, $6 - $5, $9 - $8, $12 - $11 }' "$W/sharespeed.out")
	echo "l1: exec-share-speed: exec -- true:$ns (median $nmed s); with --share:$ss (median $smed s); $nums"
	ST=0
	DT="exec true median $nmed s, with one share $smed s; $nums; wrote $(wc -c <"$W/speed/w.bin" 2>/dev/null) bytes"
	check exec-share-speed '[ $fails = 0 ] && [ "$(wc -c <"$W/speed/w.bin")" = 67108864 ]' "$fails runs failed"
fi

# ---- snapshots of Linux guests ----------------------------------------------
# A guest is snapshotted through its control socket (socat, from the host,
# when L1 has it) and restored with --restore. The guests print numbered
# lines; the restored copy must carry on from the number it was at: the
# output of the snapshotted run followed by the restored run's is one
# unbroken sequence (joined byte for byte, so a line cut by the snapshot
# still counts once).

# start NAME ARGS...: minnow run $W/NAME.ini ARGS in the background (output as
# run()'s); sets PID_NAME and T0_NAME (its start).
start() {
	n=$1
	shift
	rm -f "$W/$n.out" "$W/$n.err" "$W/$n.json"
	eval "T0_$n=\$(now)"
	timeout -s KILL "${RUN_TIMEOUT:-300}" /bin/minnow run "$W/$n.ini" --timings=json "$@" \
		>"$W/$n.out" 2>"$W/$n.err" </dev/null &
	eval "PID_$n=\$!"
}

# finish NAME: waits for the minnow of start NAME; sets ST, DT, REASON and
# BOOT as run() does.
finish() {
	eval "wait \$PID_$1"
	ST=$?
	DT=$(eval "secs \$T0_$1 \$(now)")
	grep '^{' "$W/$1.err" | tail -n 1 >"$W/$1.json"
	REASON=$(sed -n 's/.*"exit_reason":"\([^"]*\)".*/\1/p' "$W/$1.json")
	BOOT=$(sed -n 's/.*"boot_complete_us":\([0-9a-z]*\).*/\1/p' "$W/$1.json")
	echo "l1: $1: status $ST ($REASON) in $DT s"
	tail -n 40 "$W/$1.out" | awk -v p="  > $1: " '{ print p $0 }'
}

# await FILE PATTERN SECONDS: waits until FILE has a line matching the
# extended regular expression PATTERN; prints the seconds (since the epoch,
# EPOCHREALTIME) when it saw it; fails after SECONDS.
await() {
	end=$(($(date +%s) + $3))
	while [ "$(date +%s)" -lt "$end" ]; do
		if tr -d '\r' <"$1" 2>/dev/null | grep -Eq -- "$2"; then
			now
			return 0
		fi
		usleep 20000
	done
	return 1
}

# ctl SOCKET JSON: one request on minnow's control socket; the answer in
# CTL (empty when none came within 300 s). socat waits for the answer (-t),
# and is ended once it has it: minnow keeps the connection open.
ctl() {
	rm -f "$W/ctl.reply"
	echo "$2" | socat -t 300 - "UNIX-CONNECT:$1" >"$W/ctl.reply" 2>&1 &
	cp=$!
	i=0
	while [ $i -lt 3000 ] && kill -0 $cp 2>/dev/null && ! grep -q '}' "$W/ctl.reply"; do
		usleep 100000
		i=$((i + 1))
	done
	kill $cp 2>/dev/null
	wait $cp 2>/dev/null
	CTL=$(head -n 1 "$W/ctl.reply")
	echo "l1: ctl $1 $2 -> $CTL"
}

# seq_ok WORD FILE...: the FILEs joined hold "WORD N" lines numbered 1, 2, 3...
# without a gap or a repeat, at least MIN_AFTER of them from the last FILE;
# sets SEQ (the last number) and FIRST_AFTER (the last file's first one).
seq_ok() {
	w=$1
	shift
	last=
	for f in "$@"; do last=$f; done
	SEQ=$(cat "$@" | tr -d '\r' | awk -v w="$w" '$1 == w && $2 ~ /^[0-9]+$/ && NF == 2 {
		if ($2 != n + 1) { print "bad:" n "->" $2; exit } n = $2 } END { print n }')
	FIRST_AFTER=$(tr -d '\r' <"$last" | awk -v w="$w" '$1 == w && NF == 2 { print $2; exit }')
	nafter=$(tr -d '\r' <"$last" | grep -c "^$w [0-9]*\$")
	echo "l1: seq $w in $*: last $SEQ, first in $last $FIRST_AFTER, $nafter there"
	case $SEQ in '' | bad*) return 1 ;; esac
	[ -n "$FIRST_AFTER" ] && [ "$nafter" -ge "${MIN_AFTER:-3}" ]
}

# json_num FILE KEY: the number KEY has in FILE's JSON.
json_num() { sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p" "$1" | head -n 1; }

# mapped_kib PID FILE: the KiB of minnow PID's (or its child minnow's: PID may
# be timeout's) mappings of FILE that are in its page tables (smaps "Rss")
# and, after a slash, those of them it wrote (its own copies, "Anonymous":
# not "Private_Dirty", which counts tmpfs pages, always dirty, too).
# For a restored VM, whose RAM is FILE mapped privately, that is the guest
# RAM the guest has touched so far (guest_touched_kib reads the same Rss,
# at the run's end).
mapped_kib() {
	mp=$1
	if [ "$(cat /proc/$mp/comm 2>/dev/null)" != minnow ]; then
		for d in /proc/[0-9]*; do
			[ "$(cut -d' ' -f4 $d/stat 2>/dev/null)" = "$mp" ] &&
				[ "$(cat $d/comm 2>/dev/null)" = minnow ] && mp=${d#/proc/} && break
		done
	fi
	awk -v f="$2" '/^[0-9a-f]+-[0-9a-f]+ / { m = ($NF == f) }
		m && $1 == "Rss:" { r += $2 } m && $1 == "Anonymous:" { d += $2 }
		END { printf "%d/%d", r, d }' /proc/$mp/smaps 2>/dev/null
}

SNAPWANT=
for t in snapshot-restore snapshot-restore-two snapshot-resume snapshot-1g snapshot-blk snapshot-vsock vmgenid-rng; do
	wanted $t && SNAPWANT="$SNAPWANT $t"
done
if [ -n "$SNAPWANT" ] && ! command -v socat >/dev/null 2>&1; then
	for t in $SNAPWANT; do
		result $t SKIP "no socat in L1 (the host needs it: apt-get install socat)"
	done
	SNAPWANT=
fi
snapwanted() { case " $SNAPWANT " in *" $1 "*) return 0 ;; esac; return 1; }
TICKS='i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.2; done'

# snapshot-restore: a guest counting on the console is snapshotted at tick
# 5 or so (then stop), restored, carries on counting from there and powers
# off on the control socket's shutdown (the ACPI power button: minnow-init).
# The numbers: cold boot to the first tick vs restore to the first tick
# (both from minnow's start), the memory file's pages the restored run read
# (guest_touched_kib) and the snapshot's save time and size on disk.
# snapshot-restore-two: two VMs restored at once from that snapshot both
# carry on from it (and both stop on `stop`).
# shellcheck disable=SC2154 # PID_NAME: set by start() through eval
if snapwanted snapshot-restore || snapwanted snapshot-restore-two; then
	CUR=snapa
	ini snapa /l2/bzImage bzimage "$BASE minnow.exec=${Q}$TICKS${Q}"
	sed -i 's/^memory = .*/memory = 128M/' "$W/snapa.ini"
	rm -f "$W/snapa.sock" "$W/snapa.state" "$W/snapa.state.mem"
	start snapa --control "$W/snapa.sock"
	T1=$(await "$W/snapa.out" '^tick 1$' 200)
	ok=0
	CTL=
	if [ -n "$T1" ] && await "$W/snapa.out" '^tick 5$' 60 >/dev/null; then
		ctl "$W/snapa.sock" "{\"request\":\"snapshot\",\"path\":\"$W/snapa.state\",\"then\":\"stop\"}"
		ok=1
	fi
	[ $ok = 1 ] || kill $PID_snapa 2>/dev/null
	finish snapa
	COLD=$(eval "secs \$T0_snapa $T1" 2>/dev/null)
	SAVE_US=$(echo "$CTL" | sed -n 's/.*"save_us":\([0-9]*\).*/\1/p')
	DU=$(du -k "$W/snapa.state.mem" 2>/dev/null | cut -f1)
	STSZ=$(wc -c <"$W/snapa.state" 2>/dev/null)
	SNAP_ST=$ST SNAP_REASON=$REASON
	SNAP_OK=0
	[ $ok = 1 ] && [ $ST = 0 ] && [ "$REASON" = stopped ] && case $CTL in *'"ok":true'*) true ;; *) false ;; esac &&
		[ -s "$W/snapa.state" ] && [ -f "$W/snapa.state.mem" ] && SNAP_OK=1
	echo "l1: snapshot: ok=$SNAP_OK cold boot to tick 1 $COLD s, save_us=$SAVE_US, memory file $DU KiB on disk, state $STSZ bytes"

	if snapwanted snapshot-restore; then
		CUR=snapr
		cp "$W/snapa.ini" "$W/snapr.ini"
		rm -f "$W/snapr.sock"
		RT1=
		if [ $SNAP_OK = 1 ]; then
			start snapr --restore "$W/snapa.state" --control "$W/snapr.sock"
			RT1=$(await "$W/snapr.out" '^tick [0-9]+$' 120)
			n0=$(tr -d '\r' <"$W/snapr.out" | awk '$1 == "tick" { n = $2 } END { print n + 0 }')
			if [ -n "$RT1" ] && await "$W/snapr.out" "^tick $((n0 + 5))\$" 60 >/dev/null; then
				MAPPED=$(mapped_kib $PID_snapr "$W/snapa.state.mem")
				ctl "$W/snapr.sock" '{"request":"shutdown"}'
			else
				kill $PID_snapr 2>/dev/null
			fi
			finish snapr
		else
			ST='' REASON='' DT=0
		fi
		WARM=$(eval "secs \$T0_snapr $RT1" 2>/dev/null)
		TOUCHED=$(json_num "$W/snapr.json" guest_touched_kib)
		SPEEDUP=$(awk -v c="$COLD" -v w="$WARM" 'BEGIN { if (w > 0) printf "%.1f", c / w }')
		MIN_AFTER=5
		seqok=0
		seq_ok tick "$W/snapa.out" "$W/snapr.out" && seqok=1
		MIN_AFTER=
		BOOT=n/a
		FRUN=$(json_num "$W/snapr.json" first_run_us)
		DT="cold boot to tick 1 $COLD s, restore to the next tick $WARM s (${SPEEDUP}x, first KVM_RUN at $FRUN us); restored guest touched/wrote ${MAPPED:-?} KiB of 131072 KiB after 5 ticks (smaps; guest_touched_kib $TOUCHED); snapshot of 128 MiB: save_us=$SAVE_US, memory file $DU KiB on disk, state file $STSZ bytes; ticks $((FIRST_AFTER - 1)) -> $FIRST_AFTER..$SEQ; $DT s"
		# The clock: a restored KVM clock that jumped would show as soft
		# lockup or RCU stall warnings (printed even with quiet).
		check snapshot-restore '[ $SNAP_OK = 1 ] && [ $seqok = 1 ] && [ "$ST" = 0 ] && [ "$REASON" = poweroff ] &&
			has "^minnow-init: power button: powering off" && ! grep -qiE "soft lockup|rcu.*stall" "$W/snapr.out"' \
			"expected the snapshot (status $SNAP_ST, $SNAP_REASON, reply $CTL), ticks carrying on after restore with no soft lockup or RCU stall warning, then poweroff on shutdown"
		# The aim (restoring at least 10 times faster than booting) is
		# reported, not judged: under TCG the timings are noisy.
		rm -f "$W/snapr.sock"
	fi

	if snapwanted snapshot-restore-two; then
		CUR=snapb
		cp "$W/snapa.ini" "$W/snapb.ini"
		cp "$W/snapa.ini" "$W/snapc.ini"
		rm -f "$W/snapb.sock" "$W/snapc.sock"
		if [ $SNAP_OK = 1 ]; then
			start snapb --restore "$W/snapa.state" --control "$W/snapb.sock"
			start snapc --restore "$W/snapa.state" --control "$W/snapc.sock"
			await "$W/snapb.out" '^tick [0-9]+$' 120 >/dev/null
			await "$W/snapc.out" '^tick [0-9]+$' 120 >/dev/null
			# Both run at once: five more ticks each, then stop both.
			for v in snapb snapc; do
				n0=$(tr -d '\r' <"$W/$v.out" | awk '$1 == "tick" { n = $2 } END { print n + 0 }')
				await "$W/$v.out" "^tick $((n0 + 5))\$" 60 >/dev/null
			done
			ctl "$W/snapb.sock" '{"request":"stop"}'
			CTLB=$CTL
			ctl "$W/snapc.sock" '{"request":"stop"}'
			finish snapb
			STB=$ST RB=$REASON
			finish snapc
		else
			ST='' REASON='' STB='' RB='' DT=0
		fi
		seqb=0
		seqc=0
		seq_ok tick "$W/snapa.out" "$W/snapb.out" && seqb=1
		FB=$FIRST_AFTER SB=$SEQ
		seq_ok tick "$W/snapa.out" "$W/snapc.out" && seqc=1
		BOOT=n/a
		DT="VM 1 ticks $FB..$SB, VM 2 ticks $FIRST_AFTER..$SEQ; $DT s"
		check snapshot-restore-two '[ $SNAP_OK = 1 ] && [ $seqb = 1 ] && [ $seqc = 1 ] &&
			[ "$STB" = 0 ] && [ "$RB" = stopped ] && [ "$ST" = 0 ] && [ "$REASON" = stopped ]' \
			"expected both restored VMs to carry on from the snapshot's tick and end on stop (status $STB/$RB and $ST/$REASON)"
	fi
fi

# snapshot-resume: a snapshot with then = resume leaves the guest running
# (its ticks go on without a gap or a repeat) and a copy restored from it
# while the original still runs carries on from the tick the snapshot
# caught: one after the last tick seen before the request at the earliest,
# one after the last seen after the answer at the latest. Both stop on stop.
# shellcheck disable=SC2154 # PID_NAME: set by start() through eval
if snapwanted snapshot-resume; then
	CUR=snapo
	ini snapo /l2/bzImage bzimage "$BASE minnow.exec=${Q}$TICKS${Q}"
	sed -i 's/^memory = .*/memory = 128M/' "$W/snapo.ini"
	cp "$W/snapo.ini" "$W/snapk.ini"
	rm -f "$W/snapo.sock" "$W/snapk.sock" "$W/snapo.state" "$W/snapo.state.mem"
	start snapo --control "$W/snapo.sock"
	CTL=
	NB='' NA='' FK='' SK='' STK='' RK='' CK=''
	lastn() { tr -d '\r' <"$1" | awk '$1 == "tick" && NF == 2 { n = $2 } END { print n + 0 }'; }
	if await "$W/snapo.out" '^tick 3$' 200 >/dev/null; then
		NB=$(lastn "$W/snapo.out")
		ctl "$W/snapo.sock" "{\"request\":\"snapshot\",\"path\":\"$W/snapo.state\",\"then\":\"resume\"}"
		NA=$(lastn "$W/snapo.out")
		case $CTL in *'"ok":true'*)
			start snapk --restore "$W/snapo.state" --control "$W/snapk.sock"
			await "$W/snapk.out" '^tick [0-9]+$' 120 >/dev/null
			for v in snapo snapk; do
				n0=$(lastn "$W/$v.out")
				await "$W/$v.out" "^tick $((n0 + 5))\$" 60 >/dev/null
			done
			ctl "$W/snapk.sock" '{"request":"stop"}'
			CK=$CTL
			finish snapk
			STK=$ST RK=$REASON
			;;
		esac
	fi
	ctl "$W/snapo.sock" '{"request":"stop"}'
	finish snapo
	seqo=0
	seqk=0
	MIN_AFTER=10
	seq_ok tick "$W/snapo.out" && seqo=1
	SO=$SEQ
	MIN_AFTER=5
	# The copy's ticks alone, numbered on from FK.
	FK=$(tr -d '\r' <"$W/snapk.out" 2>/dev/null | awk '$1 == "tick" && NF == 2 { print $2; exit }')
	SK=$(tr -d '\r' <"$W/snapk.out" 2>/dev/null | awk -v f="$FK" '$1 == "tick" && NF == 2 {
		if ($2 != f + k) { print "bad:" $2; exit } k++ } END { if (k >= 5) print f + k - 1 }')
	MIN_AFTER=
	BOOT=n/a
	DT="original ticks 1..$SO, snapshot between ticks $NB and $NA, copy ticks $FK..$SK; $DT s"
	check snapshot-resume '[ $seqo = 1 ] && [ "$ST" = 0 ] && [ "$REASON" = stopped ] &&
		[ -n "$FK" ] && [ "$FK" -ge $((NB + 1)) ] && [ "$FK" -le $((NA + 1)) ] &&
		case $SK in "" | bad*) false ;; *) true ;; esac && [ "$STK" = 0 ] && [ "$RK" = stopped ]' \
		"expected the original to tick on (status $ST, $REASON) and the copy to carry on from the snapshot (status $STK, $RK)"
fi

# snapshot-1g: the save time and size on disk of a 1 GiB guest's snapshot
# (the 128 MiB one's are in snapshot-restore), and its restore.
# shellcheck disable=SC2154 # PID_NAME: set by start() through eval
if snapwanted snapshot-1g; then
	CUR=snapg
	ini snapg /l2/bzImage bzimage "$BASE minnow.exec=${Q}$TICKS${Q}"
	sed -i 's/^memory = .*/memory = 1G/' "$W/snapg.ini"
	rm -f "$W/snapg.sock" "$W/snapg.state" "$W/snapg.state.mem"
	start snapg --control "$W/snapg.sock"
	T1=$(await "$W/snapg.out" '^tick 1$' 200)
	CTL=
	if [ -n "$T1" ] && await "$W/snapg.out" '^tick 3$' 60 >/dev/null; then
		ctl "$W/snapg.sock" "{\"request\":\"snapshot\",\"path\":\"$W/snapg.state\",\"then\":\"stop\"}"
	else
		kill $PID_snapg 2>/dev/null
	fi
	finish snapg
	COLD=$(eval "secs \$T0_snapg $T1" 2>/dev/null)
	G_ST=$ST G_REASON=$REASON
	SAVE_US=$(echo "$CTL" | sed -n 's/.*"save_us":\([0-9]*\).*/\1/p')
	DU=$(du -k "$W/snapg.state.mem" 2>/dev/null | cut -f1)
	SIZE=$(wc -c <"$W/snapg.state.mem" 2>/dev/null)
	rm -f "$W/snapgr.sock"
	cp "$W/snapg.ini" "$W/snapgr.ini"
	RT1=
	if [ -n "$SAVE_US" ]; then
		start snapgr --restore "$W/snapg.state" --control "$W/snapgr.sock"
		RT1=$(await "$W/snapgr.out" '^tick [0-9]+$' 120)
		await "$W/snapgr.out" '^tick' 1 >/dev/null && sleep 2
		MAPPED=$(mapped_kib $PID_snapgr "$W/snapg.state.mem")
		ctl "$W/snapgr.sock" '{"request":"stop"}'
		finish snapgr
	else
		ST='' REASON=''
	fi
	WARM=$(eval "secs \$T0_snapgr $RT1" 2>/dev/null)
	TOUCHED=$(json_num "$W/snapgr.json" guest_touched_kib)
	seqok=0
	seq_ok tick "$W/snapg.out" "$W/snapgr.out" && seqok=1
	BOOT=n/a
	DT="snapshot of 1 GiB: save_us=$SAVE_US, memory file $DU KiB on disk ($SIZE bytes long); cold boot to tick 1 $COLD s, restore to the next tick $WARM s, restored guest touched/wrote ${MAPPED:-?} KiB of 1048576 KiB after 2 s (smaps; guest_touched_kib $TOUCHED); restored run for $DT s"
	check snapshot-1g '[ "$G_ST" = 0 ] && [ "$G_REASON" = stopped ] && [ -n "$SAVE_US" ] && [ "$SIZE" = 1073741824 ] &&
		[ $seqok = 1 ] && [ "$ST" = 0 ] && [ "$REASON" = stopped ]' \
		"expected a 1 GiB snapshot (status $G_ST, $G_REASON, reply $CTL) whose restore carries on counting"
fi

# snapshot-blk and snapshot-vsock, one guest: a loop writes 64 KiB of random
# data to a raw virtio-blk drive (O_DIRECT, at a slot that moves on each
# round), reads it back, and reads back the previous round's slot too,
# comparing checksums kept in guest memory: "blk-ok N" (else "blk-bad N").
# Across the snapshot the round after it reads what the round before it
# wrote, so the restored memory and the drive agree. vsock: before the
# snapshot the guest holds a connection to the host (vsock-echo to a host
# that never answers); after the restore the device's TRANSPORT_RESET must
# end it ("held-ended=1"), and new connections must work both ways: guest
# to host ("reply: ack:guest-after") and host to guest (the guest's
# listener on port 5000, which was listening when saved).
# shellcheck disable=SC2154 # PID_NAME: set by start() through eval
if snapwanted snapshot-blk || snapwanted snapshot-vsock; then
	CUR=snapd
	truncate -s 8M "$W/snapd.img"
	# (minnow.exec holds no '"': x$VAR compares values that may be empty.)
	BLK='i=0; while true; do i=$((i+1)); o=$((i%64*16)); dd if=/dev/urandom of=/tmp/b bs=4k count=16 2>/dev/null; s=$(md5sum </tmp/b | cut -c1-32); dd if=/tmp/b of=/dev/vda bs=4k count=16 seek=$o oflag=direct conv=fsync 2>/dev/null; r=$(dd if=/dev/vda bs=4k count=16 skip=$o iflag=direct 2>/dev/null | md5sum | cut -c1-32); q=$ps; [ $i -gt 1 ] && q=$(dd if=/dev/vda bs=4k count=16 skip=$po iflag=direct 2>/dev/null | md5sum | cut -c1-32); if [ x$r = x$s ] && [ x$q = x$ps ]; then echo blk-ok $i; else echo blk-bad $i; fi; ps=$s; po=$o; sleep 0.1; done'
	VS='(while true; do vsock-echo -t 900 listen 5000; done) & vsock-echo -t 900 connect 2 1234 held; echo held-ended=$?; vsock-echo -t 60 -r connect 2 1235 guest-after; echo guest-after=$?; sleep 900'
	ini snapd /l2/bzImage bzimage "$BASE minnow.exec=${Q}($BLK) & $VS${Q}" \
		"[drive.data]
path = $W/snapd.img
[vsock]
cid = 3
uds_path = $W/snapd.vs"
	sed -i 's/^memory = .*/memory = 128M/' "$W/snapd.ini"
	echo "l1: snapd: kernel command line $(grep -c . "$W/snapd.ini") lines, minnow.exec of $(echo "($BLK) & $VS" | wc -c) bytes"
	rm -f "$W/snapd.sock" "$W/snapd.state" "$W/snapd.state.mem" "$W/snapd.vs" "$W/snapd.vs_1234"
	vsock-echo -t 600 uds-hold "$W/snapd.vs_1234" - >"$W/snapd-hold.out" 2>&1 &
	ph=$!
	start snapd --control "$W/snapd.sock"
	ok=0
	CONNS=
	CTL=
	if await "$W/snapd.out" '^blk-ok 5$' 240 >/dev/null; then
		# The held connection is open (the device's metrics say so).
		ctl "$W/snapd.sock" '{"request":"metrics"}'
		CONNS=$(echo "$CTL" | sed -n 's/.*"connections":\([0-9]*\).*/\1/p')
		ctl "$W/snapd.sock" "{\"request\":\"snapshot\",\"path\":\"$W/snapd.state\",\"then\":\"stop\"}"
		case $CTL in *'"ok":true'*) ok=1 ;; esac
	fi
	[ $ok = 1 ] || kill $PID_snapd 2>/dev/null
	finish snapd
	D_ST=$ST D_REASON=$REASON D_CTL=$CTL
	kill $ph 2>/dev/null
	wait $ph 2>/dev/null
	# The restored VM: the same image (untouched since the snapshot), new
	# vsock sockets.
	sed "s|^uds_path = .*|uds_path = $W/snapdr.vs|" "$W/snapd.ini" >"$W/snapdr.ini"
	rm -f "$W/snapdr.sock" "$W/snapdr.vs" "$W/snapdr.vs_1235"
	HOSTC=
	if [ $ok = 1 ] && [ "$D_ST" = 0 ] && [ "$D_REASON" = stopped ]; then
		vsock-echo -t 200 uds-listen "$W/snapdr.vs_1235" >"$W/snapdr-listen.out" 2>&1 &
		pl=$!
		start snapdr --restore "$W/snapd.state" --control "$W/snapdr.sock"
		await "$W/snapdr.out" '^blk-(ok|bad) [0-9]+$' 120 >/dev/null
		await "$W/snapdr.out" '^guest-after=' 120 >/dev/null
		vsock-echo -t 60 -r uds-connect "$W/snapdr.vs" 5000 host-after >"$W/snapdr-connect.out" 2>&1
		HOSTC=$?
		n0=$(tr -d '\r' <"$W/snapdr.out" | awk '$1 == "blk-ok" { n = $2 } END { print n + 0 }')
		await "$W/snapdr.out" "^blk-ok $((n0 + 5))\$" 120 >/dev/null
		MAPPED=$(mapped_kib $PID_snapdr "$W/snapd.state.mem")
		ctl "$W/snapdr.sock" '{"request":"stop"}'
		finish snapdr
		kill $pl 2>/dev/null
		wait $pl 2>/dev/null
		cat "$W/snapdr-listen.out" "$W/snapdr-connect.out" | awk '{ print "  > snapdr host: " $0 }'
	else
		ST='' REASON='' DT=0
	fi
	CUR=snapdr
	BOOT=n/a
	MIN_AFTER=5
	seqok=0
	seq_ok blk-ok "$W/snapd.out" "$W/snapdr.out" && seqok=1
	MIN_AFTER=
	BAD=$(cat "$W/snapd.out" "$W/snapdr.out" 2>/dev/null | grep -c '^blk-bad')
	TOUCHED=$(json_num "$W/snapdr.json" guest_touched_kib)
	SDT=$DT
	DT="rounds $((FIRST_AFTER - 1)) -> $FIRST_AFTER..$SEQ, $BAD bad; snapshot save_us=$(echo "$D_CTL" | sed -n 's/.*"save_us":\([0-9]*\).*/\1/p'); restored guest touched/wrote ${MAPPED:-?} KiB of 131072 KiB (smaps; guest_touched_kib $TOUCHED); $SDT"
	check snapshot-blk '[ $ok = 1 ] && [ "$D_ST" = 0 ] && [ "$D_REASON" = stopped ] && [ $seqok = 1 ] && [ $BAD = 0 ] &&
		[ "$ST" = 0 ] && [ "$REASON" = stopped ]' \
		"expected blk-ok rounds carrying on across the snapshot, none bad (snapshot: status $D_ST, $D_REASON, reply $D_CTL)"
	DT="connections open when saved: $CONNS; $SDT"
	check snapshot-vsock '[ $ok = 1 ] && [ "$CONNS" = 1 ] && has "^held-ended=1" && has "^guest-after=0" &&
		has "^reply: ack:guest-after" && grep -q "got: guest-after" "$W/snapdr-listen.out" &&
		[ "$HOSTC" = 0 ] && grep -q "reply: ack:host-after" "$W/snapdr-connect.out" && has "^got: host-after" &&
		! grep -q "^held-ended" "$W/snapd.out"' \
		"expected the held connection open when saved (connections $CONNS) and ended after restore, new guest->host and host->guest (status $HOSTC) connections"
fi

# exec-warm: `minnow exec --save-snapshot` boots exec.ini's guest until
# minnow-init asks for its command and saves it; `minnow exec --snapshot`
# runs commands in copies of it: streams apart and the status (7), stdin to
# its EOF (sha256), --env and --cwd, two copies at once. The numbers: exec
# to exit of `echo hi`, cold against warm (medians of 3).
if wanted exec-warm; then
	rm -f "$W/warm" "$W/warm.mem"
	xrun warm-save --save-snapshot "$W/warm" --timings=json
	SAVE_ST=$ST SAVE_REASON=$REASON
	XCONF= xrun warm7 --snapshot "$W/warm" --timings=json -- sh -c 'echo out; echo err >&2; exit 7'
	W7=$ST W7_REASON=$REASON
	W7_OUT=$(cat "$W/warm7.out") W7_ERR=$(grep -v '^{' "$W/warm7.err")
	head -c 3000000 /dev/urandom >"$W/warm.data"
	XIN=$W/warm.data XCONF= xrun warm-stdin --snapshot "$W/warm" -- sha256sum
	W_SUM=$(cut -d' ' -f1 "$W/warm-stdin.out")
	XCONF= xrun warm-env --snapshot "$W/warm" --env A=1 --cwd /tmp -- sh -c 'echo "$A $(pwd)"'
	W_ENV=$(cat "$W/warm-env.out")
	pids=
	for i in 1 2; do
		timeout -s KILL 150 /bin/minnow exec --snapshot "$W/warm" -- sh -c "echo copy $i" \
			>"$W/warm-two$i.out" 2>&1 &
		pids="$pids $!"
	done
	for p in $pids; do wait $p; done
	cold= warm=
	for i in 1 2 3; do
		xrun warm-cold -- echo hi
		cold="$cold $DT"
		XCONF= xrun warm-hi --snapshot "$W/warm" -- echo hi
		warm="$warm $DT"
	done
	med() { echo "$@" | tr ' ' '\n' | sort -n | sed -n 2p; }
	MC=$(med $cold) MW=$(med $warm)
	DU=$(du -k "$W/warm.mem" 2>/dev/null | cut -f1)
	echo "l1: exec-warm: echo hi cold:$cold s (median $MC), warm:$warm s (median $MW); memory file $DU KiB on disk"
	DT="echo hi: cold $MC s, warm $MW s (medians of 3); snapshot memory file $DU KiB on disk"
	check exec-warm '[ "$SAVE_ST" = 0 ] && [ "$SAVE_REASON" = stopped ] && [ -s "$W/warm" ] &&
		[ "$W7" = 7 ] && [ "$W7_REASON" = guest_exit ] && [ "$W7_OUT" = out ] && [ "$W7_ERR" = err ] &&
		[ "$W_SUM" = "$(xsum "$W/warm.data")" ] && [ "$W_ENV" = "1 /tmp" ] &&
		[ "$(cat "$W/warm-two1.out")" = "copy 1" ] && [ "$(cat "$W/warm-two2.out")" = "copy 2" ] &&
		[ "$(cat "$W/warm-hi.out")" = hi ]' \
		"expected the save (status $SAVE_ST, $SAVE_REASON), then status 7 with out/err apart (got $W7, $W7_REASON, '$W7_OUT'/'$W7_ERR'), stdin's sha256, '1 /tmp' (got '$W_ENV') and both copies"
fi

# vmgenid-rng: the small kernel (make guest-kernel, with the vmgenid driver)
# prints 8 bytes of /dev/urandom every 0.3 s; it is snapshotted and two
# copies restored at once. Each copy gets a new generation ID, on which the
# driver reseeds the kernel's RNG (the kernel logs it: one reseed "due to
# virtual machine fork" in each copy) and the copies' numbers after the
# restore differ.
# shellcheck disable=SC2154 # PID_NAME: set by start() through eval
if snapwanted vmgenid-rng; then
	CUR=vmg
	if [ ! -f /l2/small-initrd.cpio.gz ]; then
		result vmgenid-rng SKIP "no build/guest-kernel/{bzImage,vmlinux} on the host (make guest-kernel)"
	else
		RND='echo vmgenid-bound=$(ls /sys/bus/acpi/drivers/vmgenid | grep -c :); while true; do echo rnd $(head -c 8 /dev/urandom | md5sum | cut -c1-16) forks=$(dmesg | grep -c machine.fork); sleep 0.3; done'
		ini vmg /l2/small-vmlinux pvh "console=ttyS0 quiet panic=-1 minnow.exec=${Q}$RND${Q}"
		sed -i 's|^initrd = .*|initrd = /l2/small-initrd.cpio.gz|' "$W/vmg.ini"
		cp "$W/vmg.ini" "$W/vmg1.ini"
		cp "$W/vmg.ini" "$W/vmg2.ini"
		rm -f "$W/vmg.sock" "$W/vmg1.sock" "$W/vmg2.sock" "$W/vmg.state" "$W/vmg.state.mem"
		start vmg --control "$W/vmg.sock"
		CTL=
		if await "$W/vmg.out" '^rnd ' 120 >/dev/null; then
			sleep 1
			ctl "$W/vmg.sock" "{\"request\":\"snapshot\",\"path\":\"$W/vmg.state\",\"then\":\"stop\"}"
		fi
		finish vmg
		n1=0 n2=0 saved=0
		case $CTL in *'"ok":true'*)
			saved=1
			start vmg1 --restore "$W/vmg.state" --control "$W/vmg1.sock"
			start vmg2 --restore "$W/vmg.state" --control "$W/vmg2.sock"
			i=0
			while [ $i -lt 300 ]; do
				n1=$(tr -d '\r' <"$W/vmg1.out" | grep -c '^rnd ')
				n2=$(tr -d '\r' <"$W/vmg2.out" | grep -c '^rnd ')
				[ "$n1" -lt 5 ] || [ "$n2" -lt 5 ] || break
				usleep 100000
				i=$((i + 1))
			done
			ctl "$W/vmg1.sock" '{"request":"stop"}'
			ctl "$W/vmg2.sock" '{"request":"stop"}'
			finish vmg1
			finish vmg2
			;;
		esac
		# The last three numbers of each copy: none in common.
		for v in vmg1 vmg2; do
			tr -d '\r' <"$W/$v.out" | sed -n 's/^rnd \([0-9a-f]*\) .*/\1/p' | tail -n 3 | sort >"$W/$v.rnd"
		done
		common=$(comm -12 "$W/vmg1.rnd" "$W/vmg2.rnd" | wc -l)
		# The kernel says "crng reseeded due to virtual machine fork" once per
		# restore: one line more in each copy's log than in the original's
		# (whose count has the command line's own pattern, printed at boot).
		f0=$(tr -d '\r' <"$W/vmg.out" | sed -n 's/^rnd .* forks=//p' | tail -n 1)
		f1=$(tr -d '\r' <"$W/vmg1.out" | sed -n 's/^rnd .* forks=//p' | tail -n 1)
		f2=$(tr -d '\r' <"$W/vmg2.out" | sed -n 's/^rnd .* forks=//p' | tail -n 1)
		DT="copies printed $n1 and $n2 numbers after the restore, $common of the last three in common; log lines matching machine.fork: original $f0, copies $f1 and $f2"
		check vmgenid-rng 'has "^vmgenid-bound=1" && [ $saved = 1 ] && [ -n "$f0" ] && [ "$f1" = $((f0 + 1)) ] &&
			[ "$f2" = $((f0 + 1)) ] && [ "$n1" -ge 5 ] && [ "$n2" -ge 5 ] && [ "$common" = 0 ]' \
			"expected the driver bound (vmgenid-bound=1 in $W/vmg.out), the snapshot, and two copies whose numbers differ"
	fi
fi
