#!/bin/sh
# l1-part.sh - the guest tier inside the L1 host (sourced by tests/l1/init.sh), for hosts without a usable /dev/kvm: runs build/guest-tests (as /bin/guest-tests) against /bin/minnow and the firmware in /l2, and prints its TAP report as "GUESTTAP " lines, which tests/l1/run.sh turns into one TEST line per test.
#
# Criterion's own progress (--verbose) stays in L1's console log; the run
# is bounded by GUEST_TIER_TIMEOUT seconds (default 1500).

filter=$(cat /etc/guest-filter 2>/dev/null)
echo "l1: guest tier starting (minnow and the firmware on L1's /dev/kvm)"
t0=$(now)
# shellcheck disable=SC2086 # no filter: no option
(cd /tmp && MINNOW=/bin/minnow FIRMWARE_DIR=/l2 timeout -s KILL "${GUEST_TIER_TIMEOUT:-1500}" \
	/bin/guest-tests --jobs 1 --verbose --tap="$W/guest.tap" ${filter:+--filter "$filter"} \
	</dev/null 2>&1 | awk '{ print "  guest| " $0 }')
echo "l1: guest tier ran in $(secs "$t0" "$(now)") s"
[ -s "$W/guest.tap" ] && awk '{ print "GUESTTAP " $0 }' "$W/guest.tap"
