# testbed/lib.sh - helpers of the `ddns testbed` tests (sourced after
# ../lib.sh). Every process is stopped by PID; waits poll a condition.
: "${top_builddir:=$(cd "$here/../../.." && pwd)}"
DDNS=${DDNS:-$top_builddir/ddns}
DDNSD=${DDNSD:-$top_builddir/ddnsd}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
[ -x "$DDNS" ] && [ -x "$DDNSD" ] || fail "build ddns and ddnsd first"

# pids_gone FILE: none of the PIDs listed in FILE (one a line) is alive.
pids_gone() {
	for p in $(cat "$1"); do
		kill -0 "$p" 2>/dev/null && return 1
	done
	return 0
}

# cleanup_pids FILE: stop (by PID) whatever a failed test left running.
cleanup_pids() {
	[ -f "$1" ] || return 0
	for p in $(cat "$1"); do
		kill -TERM "$p" 2>/dev/null
	done
	wait_until 10 pids_gone "$1" || for p in $(cat "$1"); do kill -KILL "$p" 2>/dev/null; done
}
