#!/bin/sh
# The simulator at scale (issue 14): 1,000,000 lookups of random keys on
# 10,000 nodes for each overlay, and on 100,000 kad16 nodes, each checked
# against the oracle, with wall time and peak memory against the limits
# (10,000 nodes: 600 s and 2 GiB; 100,000 kad16 nodes: 12 GiB).
#   bench/sim_scale.sh [DDNS_BINARY] [OUT_DIR]
#   RUNS="10000:chord 10000:kad16 100000:kad16" (default), LOOKUPS=1000000
# Runs one at a time (one core each); prints each run's JSON, then a table.
set -eu
ddns=${1:-./ddns}
out=${2:-$(mktemp -d)}
runs=${RUNS:-"10000:chord 10000:kad16 100000:kad16"}
lookups=${LOOKUPS:-1000000}
mkdir -p "$out"
[ -x "$ddns" ] || { echo "sim_scale: no ddns binary at $ddns" >&2; exit 2; }
: > "$out/runs.json"
for r in $runs; do
	n=${r%%:*}
	o=${r#*:}
	echo "== $n $o nodes, $lookups lookups" >&2
	"$ddns" sim --nodes "$n" --overlay "$o" --lookups "$lookups" --parallel 1000 \
		--seed 1 --json --quiet | tee -a "$out/runs.json"
done
echo
echo "| N | overlay | lookups | correct | hops mean (p99) | RPCs mean (p99) | simulated s | wall s | peak RSS | within limits |"
echo "|---|---|---|---|---|---|---|---|---|---|"
python3 - "$out/runs.json" <<'PY'
import json, sys
bad = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    n, wall, rss = r["nodes"], r["wall_seconds"], r["peak_rss_bytes"] / 2**20
    if n <= 10000:
        ok = wall <= 600 and rss <= 2048
    else:
        ok = rss <= 12 * 1024
    bad += not ok or r["correct_fraction"] < 1
    print("| %s | %s | %s | %.6f | %.2f (%g) | %.2f (%g) | %s | %s | %s MiB | %s |" % (
        format(n, ","), r["overlay"], format(r["lookups"], ","), r["correct_fraction"],
        r["hops"]["mean"], r["hops"]["p99"], r["rpcs"]["mean"], r["rpcs"]["p99"],
        format(round(r["sim_seconds"]), ","), format(round(wall), ","),
        format(round(rss), ","), "yes" if ok else "**no**"))
sys.exit(1 if bad else 0)
PY
