#!/bin/sh
# Flood (issue 13): a small ring on loopback, then, bounded in count,
#   (1) N junk datagrams (random bytes, random lengths) at a node's UDP port,
#   (2) N random DNS queries (random names under the zones, random types, some
#       malformed) at its gateway,
# while a legitimate client asks a published name once every 20 ms. Reports
# whether the node survived, its resident memory before, after and at peak
# (VmRSS, VmHWM), the share of legitimate queries answered during each flood,
# and the node's own counters (stats.ddns).
#
#   bench/flood.sh [BUILDDIR] [OUTDIR]       N=1000000 by default
#
# Loopback only (127.0.0.2..5, the gateway on 127.0.0.1); every process is
# stopped by PID on exit. Not part of make check.
set -eu
build=$(cd "${1:-.}" && pwd)
out=${2:-$(mktemp -d "${TMPDIR:-/tmp}/flood.XXXXXX")}
mkdir -p "$out"
out=$(cd "$out" && pwd)
N=${N:-1000000}
for t in python3 dig; do
	command -v "$t" >/dev/null 2>&1 || { echo "flood: $t not installed" >&2; exit 77; }
done
tb_pid=
cleanup() {
	[ -z "$tb_pid" ] && return
	kill -TERM "$tb_pid" 2>/dev/null || :
	i=0
	while kill -0 "$tb_pid" 2>/dev/null && [ $i -lt 150 ]; do sleep 0.1; i=$((i + 1)); done
	kill -KILL "$tb_pid" 2>/dev/null || :
	wait "$tb_pid" 2>/dev/null || :
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$build/ddns" testbed --nodes 4 --records 50 --replicas 3 --workdir "$out/tb" --duration 3600 \
	> "$out/testbed.out" 2> "$out/testbed.err" &
tb_pid=$!
until grep -q 'The testbed is up' "$out/testbed.out" 2>/dev/null; do
	kill -0 "$tb_pid" 2>/dev/null || { tail -20 "$out/testbed.err" >&2; exit 1; }
	sleep 1
done
gw=$(sed -n 's/^The testbed is up.*gateway on \([0-9.]*:[0-9]*\)).*/\1/p' "$out/testbed.out")
node=$(sed -n 's/.*nodes: [0-9]* started on \([0-9.]*:[0-9]*\) .*/\1/p' "$out/testbed.err")
node0_pid=$(head -1 "$out/tb/pids")
echo "ring up: node 0 $node (pid $node0_pid), gateway $gw" >&2

python3 - "$node" "$gw" "$node0_pid" "$N" <<'PY'
import os, random, socket, struct, sys, time, threading
node, gw, pid, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
def addr(s):
    h, p = s.rsplit(":", 1)
    return (h, int(p))
node, gw = addr(node), addr(gw)
def mem():
    v = {}
    for l in open("/proc/%d/status" % pid):
        k, _, x = l.partition(":")
        if k in ("VmRSS", "VmHWM"):
            v[k] = int(x.split()[0]) // 1024
    return v
def qname(labels):
    return b"".join(bytes([len(l)]) + l for l in labels) + b"\0"
def query(qid, name, qtype):
    return struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + qname(name) + struct.pack(">HH", qtype, 1)
def legit(stop, res):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1.0)
    q = query(0x4242, [b"www", b"example", b"org"], 1)
    while not stop.is_set():
        res[0] += 1
        s.sendto(q, gw)
        try:
            while True:
                d = s.recv(4096)
                if d[:2] == b"\x42\x42":
                    res[1] += 1
                    break
        except socket.timeout:
            pass
        time.sleep(0.02)
def flood(target, make):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
    rnd = random.Random(1)
    stop, res = threading.Event(), [0, 0]
    t = threading.Thread(target=legit, args=(stop, res))
    t.start()
    t0 = time.time()
    sent = 0
    for i in range(n):
        try:
            s.sendto(make(rnd, i), target)
            sent += 1
        except (BlockingIOError, OSError):
            pass
    dt = time.time() - t0
    time.sleep(1.0)
    stop.set()
    t.join()
    return sent, dt, res
def junk(rnd, i):
    return rnd.randbytes(rnd.randint(1, 1400))
tlds = [b"org", b"com", b"net", b"de", b"example"]
def dnsq(rnd, i):
    if i % 10 == 0:
        return rnd.randbytes(rnd.randint(12, 300))        # malformed
    name = [bytes(rnd.choice(b"abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(rnd.randint(1, 12)))
            for _ in range(rnd.randint(1, 3))] + [rnd.choice(tlds)]
    return query(i & 0xffff, name, rnd.choice([1, 28, 15, 16, 6, 2, 255, 252]))
m0 = mem()
print("before: RSS %d MiB (peak %d MiB)" % (m0["VmRSS"], m0["VmHWM"]))
for label, target, make in (("junk datagrams at the node", node, junk),
                            ("random queries at the gateway", gw, dnsq)):
    sent, dt, res = flood(target, make)
    alive = os.path.exists("/proc/%d" % pid)
    m = mem() if alive else {"VmRSS": -1, "VmHWM": -1}
    print("%s: %d sent in %.1f s (%.0f/s); node %s; RSS %d MiB, peak %d MiB; "
          "legitimate queries answered %d of %d (%.1f%%)"
          % (label, sent, dt, sent / dt, "alive" if alive else "DEAD", m["VmRSS"], m["VmHWM"],
             res[1], res[0], 100.0 * res[1] / max(res[0], 1)))
    if not alive:
        sys.exit(1)
PY
echo "gateway counters after the floods:"
dig +short +time=5 +tries=1 @"${gw%:*}" -p "${gw#*:}" stats.ddns CH TXT | head -6
echo "outputs in $out"
