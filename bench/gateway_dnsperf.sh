#!/bin/sh
# Gateway throughput (issue 6's benchmark): dnsperf queries per second
#   (1) against NSD serving the zone (the reference, same machine),
#   (1b) against Unbound (warm cache) resolving the zone from that NSD (a
#       stub zone; iterator only, the zone is unsigned),
#   (2) against the DDNS gateway with every answer in its cache,
#   (3) against the gateway with every answer uncached: each query a name the
#       gateway has never been asked, so each goes through the DHT of the ring
#       (lookup plus DNSSEC validation of the block).
#
#   bench/gateway_dnsperf.sh [BUILDDIR] [OUTDIR]
#
# BUILDDIR holds ddns and ddnsd (default: the current directory; build it
# without sanitizers, e.g. configure CFLAGS='-O2 -g'). OUTDIR (default: a new
# temporary directory, kept) receives the zone, query files, dnsperf outputs,
# gateway statistics and the testbed's work directory. Environment knobs:
#   NODES=12 OVERLAYS="kad16" CACHED=1000 UNCACHED=2500 SECONDS_RUN=15
#   REPLICAS= (ddnsd's default) CLIENTS=1 OUTSTANDING=100
# Loopback only (nodes on 127.0.0.2.., NSD and the gateway on 127.0.0.1, free
# ports); every process started here is stopped by its PID on exit; every
# dnsperf run is bounded by -l. Each run is also printed as a ratio to NSD
# (its qps over NSD's in the same run). Not part of make check.
set -eu
. "$(dirname "$0")/lib.sh"

build=$(cd "${1:-.}" && pwd)
out=${2:-$(mktemp -d "${TMPDIR:-/tmp}/gw-dnsperf.XXXXXX")}
mkdir -p "$out"
out=$(cd "$out" && pwd)

NODES=${NODES:-12}
OVERLAYS=${OVERLAYS:-kad16}
CACHED=${CACHED:-1000}
UNCACHED=${UNCACHED:-2500}
SECONDS_RUN=${SECONDS_RUN:-15}
REPLICAS=${REPLICAS:-}
CLIENTS=${CLIENTS:-1}
OUTSTANDING=${OUTSTANDING:-100}

bench_need gateway_dnsperf "$build" dnsperf nsd unbound dig python3

nsd_pid=
ub_pid=
tb_pid=
cleanup() { bench_stop $tb_pid $ub_pid $nsd_pid; }
trap cleanup EXIT
trap 'exit 130' INT TERM


# --- the zone: one A record per name, the same for NSD and DDNS ---------
total=$((CACHED + UNCACHED))
zone=$out/bench.zone
{
	echo '$ORIGIN bench.'
	echo '$TTL 3600'
	echo '@ IN SOA ns1.bench. hostmaster.bench. 1 7200 3600 1209600 300'
	echo '@ IN NS ns1.bench.'
	echo 'ns1 IN A 127.0.0.1'
	i=0
	awk -v n="$total" 'BEGIN { for (i = 0; i < n; i++)
		printf "h%d IN A 10.%d.%d.%d\n", i, int(i / 65536) % 256, int(i / 256) % 256, i % 256 }'
} >"$zone"
# Query files: the first CACHED names (cached runs), the rest (uncached run,
# each name exactly once, in an order unrelated to the zone's).
awk -v n="$CACHED" 'BEGIN { for (i = 0; i < n; i++) printf "h%d.bench A\n", i }' >"$out/q_cached"
awk -v a="$CACHED" -v b="$total" 'BEGIN { srand(1); for (i = a; i < b; i++)
	printf "%.8f h%d.bench A\n", rand(), i }' | sort -n | cut -d' ' -f2- >"$out/q_uncached"

# dnsperf: prints its report to stdout; we keep it and extract the figures.
perf() { # label port file extra-args...
	label=$1 port=$2 file=$3; shift 3
	echo "+ dnsperf -s 127.0.0.1 -p $port -d $(basename "$file") -c $CLIENTS -q $OUTSTANDING $*" \
		>"$out/dnsperf_$label.txt"
	dnsperf -s 127.0.0.1 -p "$port" -d "$file" -c "$CLIENTS" -q "$OUTSTANDING" "$@" \
		>>"$out/dnsperf_$label.txt" 2>&1
}
summary() { # label [NSD's qps]
	awk -v l="$1" -v ref="${2:-0}" '
		/Queries sent:/ { sent = $3 }
		/Queries completed:/ { done = $3 }
		/Queries lost:/ { lost = $3 }
		/Response codes:/ { sub(/^[ \t]*Response codes:[ \t]*/, ""); rc = $0 }
		/Run time \(s\):/ { rt = $4 }
		/Queries per second:/ { qps = $4 }
		/Average Latency \(s\):/ { avg = $4; max = $8; sub(/\)/, "", max) }
		END { printf "| %s | %s | %s | %s | %s | %.0f | %s | %.3f | %.1f | %s |\n",
			l, sent, done, lost, rt, qps, (ref > 0 ? sprintf("%.3f", qps / ref) : "-"),
			avg * 1000, max * 1000, rc }' \
		"$out/dnsperf_$1.txt"
}

# --- (1) NSD --------------------------------------------------------------
nsd_port=$(free_port)
nsdir=$out/nsd
mkdir -p "$nsdir"
cp "$zone" "$nsdir/bench.zone"
bench_nsd_conf "$nsdir" "$nsd_port" "$nsdir/bench.zone"
nsd -c "$nsdir/nsd.conf" -d >"$nsdir/stderr" 2>&1 &
nsd_pid=$!
i=0
until dig +short +time=1 +tries=1 @127.0.0.1 -p "$nsd_port" h1.bench A 2>/dev/null | grep -q '^10\.'; do
	i=$((i + 1))
	[ $i -lt 100 ] && kill -0 "$nsd_pid" 2>/dev/null || {
		echo "gateway_dnsperf: nsd did not answer" >&2; cat "$nsdir/stderr" "$nsdir/nsd.log" >&2; exit 1; }
	sleep 0.2
done
echo "nsd $(nsd -v 2>&1 | head -1) on 127.0.0.1:$nsd_port" >&2
perf nsd "$nsd_port" "$out/q_cached" -l "$SECONDS_RUN"

# --- (1b) Unbound in front of that NSD, warm cache ------------------------
ub_port=$(free_port)
ubdir=$out/unbound
mkdir -p "$ubdir"
# Loopback only: the root hint names 127.0.0.1 (never needed: every query
# is under the stub zone), no trust anchor (the zone is unsigned).
printf '.\t3600000\tNS\tlocalhost.\nlocalhost.\t3600000\tA\t127.0.0.1\n' >"$ubdir/root.hints"
cat >"$ubdir/unbound.conf" <<UBEOF
server:
	interface: 127.0.0.1@$ub_port
	port: $ub_port
	do-ip6: no
	username: ""
	chroot: ""
	directory: "$ubdir"
	pidfile: "$ubdir/unbound.pid"
	logfile: "$ubdir/unbound.log"
	use-syslog: no
	num-threads: 1
	so-reuseport: no
	access-control: 127.0.0.0/8 allow
	do-not-query-localhost: no
	module-config: "iterator"
	root-hints: "$ubdir/root.hints"
	msg-cache-size: 64m
	rrset-cache-size: 128m
	prefetch: no
	ratelimit: 0
	ip-ratelimit: 0
stub-zone:
	name: "bench."
	stub-addr: 127.0.0.1@$nsd_port
remote-control:
	control-enable: no
UBEOF
unbound -d -c "$ubdir/unbound.conf" >"$ubdir/stderr" 2>&1 &
ub_pid=$!
i=0
until dig +short +time=1 +tries=1 @127.0.0.1 -p "$ub_port" h1.bench A 2>/dev/null | grep -q '^10\.'; do
	i=$((i + 1))
	[ $i -lt 100 ] && kill -0 "$ub_pid" 2>/dev/null || {
		echo "gateway_dnsperf: unbound did not answer" >&2
		cat "$ubdir/stderr" "$ubdir/unbound.log" >&2
		exit 1
	}
	sleep 0.2
done
echo "$(unbound -V 2>&1 | head -1) on 127.0.0.1:$ub_port" >&2
perf unbound_warmup "$ub_port" "$out/q_cached" -n 1 -l 120
perf unbound "$ub_port" "$out/q_cached" -l "$SECONDS_RUN"
for p in $ub_pid $nsd_pid; do
	kill -TERM "$p" 2>/dev/null || :
	wait "$p" 2>/dev/null || :
done
ub_pid=
nsd_pid=

# --- the ring: ddns testbed with the zone published -----------------------
gw_port=$(free_port)
set -- --nodes "$NODES" --zone "$zone" --workdir "$out/testbed" --dns "127.0.0.1:$gw_port" --duration 1800
for o in $OVERLAYS; do set -- "$@" --overlay "$o"; done
[ -n "$REPLICAS" ] && set -- "$@" --replicas "$REPLICAS"
mkdir -p "$out/testbed"
t0=$(date +%s)
bench_testbed gateway_dnsperf "$build" "$out" "$@"
echo "testbed up after $(($(date +%s) - t0)) s, gateway on 127.0.0.1:$gw_port" >&2

stats() { # label
	dig +short +time=5 +tries=1 @127.0.0.1 -p "$gw_port" stats.ddns CH TXT >"$out/stats_$1.txt"
}
stats start

# --- (2) cached: warm every name once, then run over the same names ------
perf warm "$gw_port" "$out/q_cached" -n 1 -l 120
stats warm
perf cached "$gw_port" "$out/q_cached" -l "$SECONDS_RUN"
stats cached

# --- (3) uncached: names never asked through this gateway, each once -----
perf uncached "$gw_port" "$out/q_uncached" -n 1 -l "$SECONDS_RUN"
stats uncached

echo
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "zone: $total names (A), nodes $NODES, overlays $OVERLAYS, dnsperf -c $CLIENTS -q $OUTSTANDING, -l $SECONDS_RUN"
echo
echo "| run | sent | completed | lost | run time s | qps | ratio to NSD | avg latency ms | max latency ms | response codes |"
echo "|---|---|---|---|---|---|---|---|---|---|"
nsd_qps=$(awk '/Queries per second:/ { print $4 }' "$out/dnsperf_nsd.txt")
for l in nsd unbound warm cached uncached; do summary "$l" "$nsd_qps"; done
echo
for l in start warm cached uncached; do echo "gateway stats after $l:"; cat "$out/stats_$l.txt"; done
echo "outputs in $out"
