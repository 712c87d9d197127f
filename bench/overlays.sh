#!/bin/sh
# Hops and RPCs per lookup for both overlays at N = 100, 1,000, 10,000 under
# the simulator, with its run time and peak memory (issue 3's benchmark).
#   bench/overlays.sh [DDNS_BINARY] [SIZES]      e.g. bench/overlays.sh ./ddns "100 1000"
# Prints one JSON object per run (ddns sim --json), then a Markdown table.
set -eu
ddns=${1:-./ddns}
sizes=${2:-"100 1000 10000"}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for n in $sizes; do
	for o in chord kad16; do
		"$ddns" sim --nodes "$n" --overlay "$o" --lookups 10000 --seed 1 --json --quiet | tee -a "$out"
	done
done
echo
echo "| N | overlay | correct | hops mean | hops p99 | RPCs mean | RPCs p99 | sim s | wall s | peak RSS MiB |"
echo "|---|---|---|---|---|---|---|---|---|---|"
python3 - "$out" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    print("| %d | %s | %.4f | %.2f | %g | %.2f | %g | %.0f | %.1f | %.0f |" % (
        r["nodes"], r["overlay"], r["correct_fraction"], r["hops"]["mean"], r["hops"]["p99"],
        r["rpcs"]["mean"], r["rpcs"]["p99"], r["sim_seconds"], r["wall_seconds"],
        r["peak_rss_bytes"] / 1048576))
PY
