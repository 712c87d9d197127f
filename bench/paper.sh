#!/bin/sh
# The paper's evaluation (issue 8): the full default run of `ddns sim` for
# chord and kad16 side by side, from the real name list and the PlanetLab
# latency matrix when ../shared/data is present, writing CSVs, summaries and
# PNG figures to OUTDIR.
#   bench/paper.sh [DDNS_BINARY] [OUTDIR] [extra ddns sim flags]
set -eu
ddns=${1:-./ddns}
out=${2:-paper-out}
shift 2 2>/dev/null || shift $#
data=$(cd "$(dirname "$0")/../.." && pwd)/shared/data
extra=""
if [ -f "$data/top-100k.csv" ]; then
	extra="$extra --names $data/top-100k.csv"
else
	echo "paper.sh: $data/top-100k.csv not found: generated names" >&2
fi
if [ -f "$data/PlanetLabData_1" ]; then
	extra="$extra --latency-matrix $data/PlanetLabData_1"
else
	echo "paper.sh: $data/PlanetLabData_1 not found: fitted latency distribution" >&2
fi
# shellcheck disable=SC2086
/usr/bin/time -v "$ddns" sim --overlay chord --overlay kad16 $extra --out "$out" "$@" 2> "$out.time" || {
	cat "$out.time" >&2
	exit 1
}
grep -E "Elapsed|Maximum resident" "$out.time"
