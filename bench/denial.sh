#!/bin/bash
# Authenticated denial at the gateway (docs/PROTOCOL.md "Denial blocks"): a
# testbed (8 nodes, both overlays, the demo zones) answers N missing names of
# example.org's zone (org.) and N missing TLDs, each asked once, in random
# order, with DO. Prints the share answered NXDOMAIN with AD, the DHT
# lookups the gateway made per missing name (stats.ddns, kad16), and how
# many were answered from a cached denial block with no lookup at all.
#
#   bench/denial.sh [BUILDDIR]        N=300 by default
#
# Loopback only; the testbed is stopped by its PID on exit.
set -eu
build=$(cd "${1:-.}" && pwd)
N=${N:-300}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ddns-denial.XXXXXX")
TB=""
finish() {
	[ -n "$TB" ] && kill -TERM "$TB" 2>/dev/null && wait "$TB" 2>/dev/null
	rm -rf "$WORK"
}
trap finish EXIT
"$build/ddns" testbed --nodes 8 --records 200 --workdir "$WORK/tb" --duration 900 \
	> "$WORK/out" 2> "$WORK/err" &
TB=$!
for _ in $(seq 1 240); do
	grep -q "The testbed is up" "$WORK/out" && break
	kill -0 "$TB" 2>/dev/null || { cat "$WORK/err"; exit 1; }
	sleep 0.5
done
GW=$(sed -n 's/^The testbed is up.*gateway on \([0-9.]*:[0-9]*\)).*/\1/p' "$WORK/out")
[ -n "$GW" ] || { cat "$WORK/out" "$WORK/err"; exit 1; }
D="dig @${GW%:*} -p ${GW#*:} +time=5 +tries=2"
field() { # field KEY: the first KEY=value of stats.ddns (kad16's for lookups)
	$D stats.ddns CH TXT +short | tr -d '"' | tr ' ' '\n' | awk -F= -v k="$1" '$1 == k { print $2; exit }'
}
python3 - "$N" > "$WORK/names" <<'PY'
import random, sys
random.seed(1)
n = int(sys.argv[1])
a = "abcdefghijklmnopqrstuvwxyz0123456789"
def label(k): return "".join(random.choice(a) for _ in range(k))
names = ["%s.example.org" % label(random.randint(3, 12)) for _ in range(n)]
names += ["%s-nx" % label(random.randint(3, 10)) for _ in range(n)]
random.shuffle(names)
print("\n".join(names))
PY
L0=$(field lookups); P0=$(field denial_proofs); C0=$(field denial_from_cache)
R0=$(field rpcs_mean)
nx=0 ad=0 total=0
start=$(date +%s.%N)
while read -r q; do
	out=$($D "$q" A +dnssec +noall +comments)
	total=$((total + 1))
	echo "$out" | grep -q "status: NXDOMAIN" && nx=$((nx + 1))
	echo "$out" | grep -q "flags:.* ad" && ad=$((ad + 1))
done < "$WORK/names"
end=$(date +%s.%N)
L1=$(field lookups); P1=$(field denial_proofs); C1=$(field denial_from_cache)
R1=$(field rpcs_mean)
python3 - "$total" "$nx" "$ad" "$((L1 - L0))" "$((P1 - P0))" "$((C1 - C0))" "$start" "$end" \
	"$L0" "$R0" "$L1" "$R1" <<'PY'
import sys
total, nx, ad, lookups, proofs, cached = (int(x) for x in sys.argv[1:7])
secs = float(sys.argv[8]) - float(sys.argv[7])
l0, r0, l1, r1 = (float(x) for x in sys.argv[9:13])
rpcs = r1 * l1 - r0 * l0  # from the means stats.ddns prints (two decimals)
print("missing names asked: %d (half under org., half missing TLDs), each once" % total)
print("NXDOMAIN: %d (%.1f%%); with AD (proof validated): %d (%.1f%%)" % (nx, 100.0 * nx / total, ad, 100.0 * ad / total))
print("DHT lookups by the gateway: %d, %.3f per missing name; their RPCs: about %.0f, %.2f per missing name"
      % (lookups, lookups / total, rpcs, rpcs / total))
print("proven from a denial block: %d; of them from a cached block, no lookup: %d (%.1f%%)" % (proofs, cached, 100.0 * cached / total))
print("wall time %.1f s" % secs)
PY
