# bench/lib.sh - shell helpers shared by the bench/*.sh scripts (sourced).

# Stop every PID given: SIGTERM, then SIGKILL after 15 s; each reaped.
bench_stop() {
	for p in "$@"; do
		kill -TERM "$p" 2>/dev/null || :
	done
	for p in "$@"; do
		i=0
		while kill -0 "$p" 2>/dev/null && [ $i -lt 150 ]; do
			sleep 0.1; i=$((i + 1))
		done
		kill -KILL "$p" 2>/dev/null || :
		wait "$p" 2>/dev/null || :
	done
}

# A port free for both UDP and TCP on 127.0.0.1 (bound by the kernel, then
# released).
free_port() {
	python3 -c '
import socket
while True:
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM); t.bind(("127.0.0.1", 0))
    p = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", p)); break
    except OSError:
        t.close(); u.close()
print(p)'
}

# bench_need LABEL BUILDDIR TOOL...: the tools installed (else exit 77) and
# ddns and ddnsd built in BUILDDIR (else exit 2).
bench_need() {
	label=$1 dir=$2
	shift 2
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 || { echo "$label: $t not installed" >&2; exit 77; }
	done
	[ -x "$dir/ddns" ] && [ -x "$dir/ddnsd" ] || { echo "$label: no ddns/ddnsd in $dir" >&2; exit 2; }
}

# bench_nsd_conf DIR PORT ZONEFILE: DIR/nsd.conf for NSD serving bench. from
# ZONEFILE on 127.0.0.1:PORT, one server process, response rate limiting
# off (dnsperf from one address would see drops), everything in DIR.
bench_nsd_conf() {
	cat >"$1/nsd.conf" <<NSDEOF
server:
	ip-address: 127.0.0.1
	port: $2
	server-count: 1
	username: ""
	chroot: ""
	zonesdir: "$(dirname "$3")"
	database: ""
	zonelistfile: "$1/zone.list"
	xfrdfile: "$1/xfrd.state"
	xfrdir: "$1"
	pidfile: "$1/nsd.pid"
	logfile: "$1/nsd.log"
	verbosity: 1
	rrl-ratelimit: 0
	rrl-whitelist-ratelimit: 0
remote-control:
	control-enable: no
zone:
	name: "bench."
	zonefile: "$(basename "$3")"
NSDEOF
}

# bench_testbed LABEL BUILDDIR OUTDIR TESTBED-ARGS...: start `ddns testbed`
# (its output in OUTDIR/testbed.out and .err), set tb_pid, and wait until it
# says it is up (exit 1 if it exits first).
bench_testbed() {
	label=$1 dir=$2 o=$3
	shift 3
	echo "+ ddns testbed $*" >"$o/testbed.out"
	"$dir/ddns" testbed "$@" >>"$o/testbed.out" 2>"$o/testbed.err" &
	tb_pid=$!
	until grep -q 'The testbed is up' "$o/testbed.out" 2>/dev/null; do
		kill -0 "$tb_pid" 2>/dev/null || {
			echo "$label: the testbed exited" >&2; tail -20 "$o/testbed.err" >&2; exit 1; }
		sleep 1
	done
}
