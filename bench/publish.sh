#!/bin/sh
# Publishing speed (issue 14): `ddns publish` of a zone of NAMES names (an
# A RRset and an NSEC RRset each, about 2 x NAMES RRsets with the apex) into
# a NODES-node testbed on loopback, end to end: signing, the check of what
# is stored already, and the puts, each acknowledged only once stored on
# the replica set. Then every RRset is asked for through the testbed's
# gateway (A and NSEC for every name), and every answer must be NOERROR and
# hold the RRset. The anchor, in the same run: NSD loading the same zone,
# signed by `ddns sign` with the same key, from its start until it answers
# the new serial.
#
#   bench/publish.sh [BUILDDIR] [OUTDIR]
#
# BUILDDIR holds ddns and ddnsd (default: the current directory; a build
# without sanitizers). OUTDIR (default: a new temporary directory, kept)
# receives the zones, the testbed's work directory and the outputs.
# Environment knobs: NODES=16 NAMES=5000 OVERLAY=kad16 WINDOW= (publish's
# default) RUNS=2: the first run publishes the zone into the testbed (every
# RRset new), the later ones publish the same zone again (resumable: they
# check every RRset and store nothing).
# Loopback only (nodes on 127.0.0.2.., the gateway and NSD on 127.0.0.1,
# free ports); every process started here is stopped by its PID on exit;
# the answer check is bounded in count and time. Not part of make check.
set -eu
. "$(dirname "$0")/lib.sh"

build=$(cd "${1:-.}" && pwd)
out=${2:-$(mktemp -d "${TMPDIR:-/tmp}/publish-bench.XXXXXX")}
mkdir -p "$out"
out=$(cd "$out" && pwd)
NODES=${NODES:-16}
NAMES=${NAMES:-5000}
OVERLAY=${OVERLAY:-kad16}
WINDOW=${WINDOW:-}
RUNS=${RUNS:-2}

bench_need "publish bench" "$build" nsd dig python3

tb_pid=
nsd_pid=
cleanup() { bench_stop $tb_pid $nsd_pid; }
trap cleanup EXIT
trap 'exit 130' INT TERM

now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc; }

# --- zones: the testbed starts with the apex only; the zone published adds
# NAMES names (first letters spread over the alphabet, so the denial blocks
# split the chain as they would a real zone's) ----------------------------
# The SOA minimum (the negative TTL, and the NSEC records' TTL) is 0 here:
# with the usual 300 s, the gateway would rightly keep denying new names for
# up to 300 s from the NSEC records it cached before the publish (RFC 2308,
# RFC 8198; a conventional resolver does the same), and the check would
# measure that cache, not the DHT.
apex() { # serial
	echo '$ORIGIN bench.'
	echo '$TTL 3600'
	echo "@ IN SOA ns1.bench. hostmaster.bench. $1 7200 3600 1209600 0"
	echo '@ IN NS ns1.bench.'
	echo 'ns1 IN A 127.0.0.1'
}
apex 1 >"$out/small.zone"
names() { # the zone's names, one per line
	awk -v n="$NAMES" 'BEGIN { a = "abcdefghijklmnopqrstuvwxyz";
		for (i = 0; i < n; i++) printf "%s%d\n", substr(a, i % 26 + 1, 1), i }'
}
{
	apex 2
	names | awk '{ printf "%s IN A 10.%d.%d.%d\n", $1, int(NR / 65536) % 256,
		int(NR / 256) % 256, NR % 256 }'
} >"$out/bench.zone"

# --- the testbed ---------------------------------------------------------
gw_port=$(free_port)
bench_testbed "publish bench" "$build" "$out" --nodes "$NODES" --overlay "$OVERLAY" \
	--zone "$out/small.zone" --workdir "$out/testbed" --dns "127.0.0.1:$gw_port" --duration 3600
node=$(sed -n 's/.* node \(127\.[0-9.]*:[0-9]*\) up:.*/\1/p' "$out/testbed/node0/log" | head -1)
key=$(ls "$out"/testbed/keys/Kbench.+*.private | head -1)
key=${key%.private}
[ -n "$node" ] && [ -f "$key.key" ] || { echo "publish bench: no node 0 or bench. key" >&2; exit 1; }
echo "testbed: $NODES nodes ($OVERLAY), node 0 on $node, gateway on 127.0.0.1:$gw_port" >&2

# --- the answer check: every name's A and NSEC through the gateway --------
names >"$out/names"
check() {
	python3 - "$gw_port" "$out/names" <<'PYEOF'
import random, select, socket, struct, sys, time
port, path = int(sys.argv[1]), sys.argv[2]
names = [l.strip() + ".bench." for l in open(path) if l.strip()]
qs = [(n, t) for n in names for t in (1, 47)]          # A, NSEC
def wire(qid, name, qtype):
    q = b"".join(bytes([len(l)]) + l.encode() for l in name.rstrip(".").split(".")) + b"\0"
    # RD, one question, EDNS0 (1232 bytes) so large answers fit
    return (struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 1) + q + struct.pack(">HH", qtype, 1)
            + b"\0" + struct.pack(">HHIH", 41, 1232, 0, 0))
def skip_name(m, o):
    while True:
        l = m[o]
        if l == 0: return o + 1
        if l & 0xC0 == 0xC0: return o + 2
        o += 1 + l
def answer_has(m, qtype):
    qd, an = struct.unpack(">HH", m[4:8])
    o = 12
    for _ in range(qd): o = skip_name(m, o) + 4
    for _ in range(an):
        o = skip_name(m, o)
        t, _, _, rdl = struct.unpack(">HHIH", m[o:o + 10])
        if t == qtype: return True
        o += 10 + rdl
    return False
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect(("127.0.0.1", port))
s.setblocking(False)
pending, ok, bad, nxt, sent_at = {}, 0, [], 0, {}
tries = {}
window, deadline = 200, time.time() + 300
while (nxt < len(qs) or pending) and time.time() < deadline:
    while nxt < len(qs) and len(pending) < window:
        qid = (nxt % 65000) + 1
        while qid in pending: qid = random.randint(1, 65535)
        pending[qid] = nxt
        sent_at[qid] = time.time()
        s.send(wire(qid, *qs[nxt]))
        nxt += 1
    r, _, _ = select.select([s], [], [], 0.2)
    if r:
        while True:
            try: m = s.recv(65535)
            except BlockingIOError: break
            qid = struct.unpack(">H", m[:2])[0]
            i = pending.pop(qid, None)
            if i is None: continue
            rcode = m[3] & 0x0F
            if rcode == 0 and answer_has(m, qs[i][1]): ok += 1
            else: bad.append((qs[i], rcode))
    t = time.time()
    for qid in [q for q, ts in sent_at.items() if q in pending and t - ts > 5]:
        i = pending[qid]
        tries[i] = tries.get(i, 0) + 1
        if tries[i] > 3:
            bad.append((qs[i], "timeout")); del pending[qid]; continue
        sent_at[qid] = t
        s.send(wire(qid, *qs[i]))
lost = len(qs) - ok - len(bad)
print("answered %d of %d RRsets (A and NSEC of %d names); wrong %d, unanswered %d"
      % (ok, len(qs), len(names), len(bad), lost))
for b in bad[:5]: print("  not answered:", b)
sys.exit(0 if ok == len(qs) else 1)
PYEOF
}

echo "| run | RRsets in the zone | stored | unchanged | publish s | RRsets/s | stored/s | all answerable |" >"$out/table"
echo "|---|---|---|---|---|---|---|---|" >>"$out/table"
r=1
while [ $r -le "$RUNS" ]; do
	set -- publish --quiet --node "$node" --key "$key"
	[ -n "$WINDOW" ] && set -- "$@" --window "$WINDOW"
	t0=$(now)
	"$build/ddns" "$@" "$out/bench.zone" >"$out/publish_$r.out" 2>"$out/publish_$r.err" || {
		echo "publish bench: ddns publish failed (run $r)" >&2; cat "$out/publish_$r.err" >&2; exit 1; }
	t1=$(now)
	line=$(tail -1 "$out/publish_$r.out")
	total=$(echo "$line" | awk '{ print $1 }')
	ins=$(echo "$line" | sed -n 's/.* \([0-9]*\) inserted, \([0-9]*\) replaced, \([0-9]*\) unchanged.*/\1 \2 \3/p')
	stored=$(echo "$ins" | awk '{ print $1 + $2 }')
	unch=$(echo "$ins" | awk '{ print $3 }')
	pt=$(secs "$t0" "$t1")
	if check >"$out/check_$r.out" 2>&1; then answ=yes; else answ=no; fi
	cat "$out/check_$r.out" >&2
	awk -v r="$r" -v n="$total" -v st="$stored" -v u="$unch" -v t="$pt" -v a="$answ" \
		'BEGIN { printf "| %d | %d | %d | %d | %.2f | %.0f | %.0f | %s |\n", r, n, st, u, t, n / t, st / t, a }' \
		>>"$out/table"
	[ "$answ" = yes ] || { echo "publish bench: some RRsets not answerable (run $r)" >&2; cat "$out/table"; exit 1; }
	r=$((r + 1))
done
dig +short +time=5 +tries=1 @127.0.0.1 -p "$gw_port" stats.ddns CH TXT >"$out/stats.txt" || :

# --- the anchor: NSD loading the zone, signed with the same key ------------
"$build/ddns" sign --key "$key" -o "$out/nsd.zone" "$out/bench.zone" >/dev/null
serial=2
nsd_port=$(free_port)
nsdir=$out/nsd
mkdir -p "$nsdir"
bench_nsd_conf "$nsdir" "$nsd_port" "$out/nsd.zone"
t0=$(now)
nsd -c "$nsdir/nsd.conf" -d >"$nsdir/stderr" 2>&1 &
nsd_pid=$!
i=0
until dig +short +time=1 +tries=1 @127.0.0.1 -p "$nsd_port" bench. SOA 2>/dev/null | grep -q " $serial "; do
	i=$((i + 1))
	[ $i -lt 3000 ] && kill -0 "$nsd_pid" 2>/dev/null || {
		echo "publish bench: nsd did not serve the zone" >&2; cat "$nsdir/stderr" >&2; exit 1; }
	sleep 0.01
done
t1=$(now)
nt=$(secs "$t0" "$t1")
nrr=$(awk '$1 !~ /^;/ && NF >= 4 { k = tolower($1) " " ($3 == "IN" ? $4 : $3); if ($4 == "RRSIG" || $3 == "RRSIG") next; if (!(k in s)) { s[k] = 1; n++ } } END { print n }' "$out/nsd.zone")

echo
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "testbed: $NODES nodes, $OVERLAY, zone bench. with $NAMES names, publish window ${WINDOW:-default}"
echo
cat "$out/table"
echo
pt=$(awk -F'|' 'NR == 3 { print $6 + 0 }' "$out/table")
awk -v t="$nt" -v n="$nrr" -v pt="$pt" 'BEGIN {
	printf "anchor: NSD loads the same zone signed (%d RRsets) and answers its new serial in %.2f s: %.0f RRsets/s\n", n, t, n / t
	printf "the first ddns publish (every RRset new) took %.2fx NSD'"'"'s load time\n", pt / t }'
echo
echo "gateway stats after the runs:"
cat "$out/stats.txt"
echo "outputs in $out"
