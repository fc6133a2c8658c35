#!/bin/sh
# l1-part.sh - the guest tier inside the L1 host (sourced by tests/l1/init.sh), for hosts without a usable /dev/kvm: runs build/guest-tests (as /bin/guest-tests) against /bin/minnow and the firmware in /l2, and prints its TAP report as "GUESTTAP " lines, which tests/l1/run.sh turns into one TEST line per test.
#
# Criterion's own progress (--verbose) stays in L1's console log; the run
# is bounded by GUEST_TIER_TIMEOUT seconds (default 1500).

filter=$(cat /etc/guest-filter 2>/dev/null)
echo "l1: guest tier starting (minnow and the firmware on L1's /dev/kvm)"
t0=$(now)
# shellcheck disable=SC2086 # no filter: no option
(cd /tmp && MINNOW=/bin/minnow MINNOW_TESTHOOKS=/bin/minnow-testhooks FIRMWARE_DIR=/l2 timeout -s KILL "${GUEST_TIER_TIMEOUT:-1500}" \
	/bin/guest-tests --jobs 1 --verbose --tap="$W/guest.tap" ${filter:+--filter "$filter"} \
	</dev/null 2>&1 | awk '{ print "  guest| " $0 }')
echo "l1: guest tier ran in $(secs "$t0" "$(now)") s"
[ -s "$W/guest.tap" ] && awk '{ print "GUESTTAP " $0 }' "$W/guest.tap"

# minnow batch --slurm on a one-node cluster in L1 (tests/slurm/test.sh);
# Slurm needs a host name, root in /etc/passwd and /etc/group, an IPv4
# address other than loopback (its getaddrinfo() calls pass AI_ADDRCONFIG,
# which ignores loopback addresses), and slurmd
# cgroup file systems as on a cgroup v1 host (it loads its cgroup/v1
# plugin, though the cluster's slurm.conf asks for no cgroup plugin). With a
# GUEST_FILTER it runs only when the filter names it (e.g. 'slurm').
case $filter in '' | *slurm*)
	hostname minnow-l1
	ip link set lo up && ip addr add 10.254.254.1/32 dev lo
	echo "127.0.0.1 localhost minnow-l1" >/etc/hosts
	grep -q '^root:' /etc/passwd 2>/dev/null || echo 'root:x:0:0:root:/root:/bin/sh' >>/etc/passwd
	grep -q '^root:' /etc/group 2>/dev/null || echo 'root:x:0:' >>/etc/group
	if ! grep -q ' /sys/fs/cgroup ' /proc/mounts; then
		mount -t tmpfs -o mode=755 cgroup /sys/fs/cgroup
		mkdir -p /sys/fs/cgroup/freezer /sys/fs/cgroup/systemd
		mount -t cgroup -o freezer cgroup /sys/fs/cgroup/freezer
		mount -t cgroup -o none,name=systemd cgroup /sys/fs/cgroup/systemd
	fi
	if [ -f /l1/slurm/test.sh ]; then
		sh /l1/slurm/test.sh /bin/minnow /l2 "$W/slurm"
	else
		echo "TEST guest slurm-all SKIP no Slurm on the host that made L1 (apt-get install slurm-wlm munge)"
	fi
	;;
esac
