#!/bin/sh
# dnssec_zone.sh - whole-zone signing time of the root zone (old NSEC,
# DNSKEY, RRSIG and ZONEMD removed) with one algorithm-13 key, by ddns sign,
# ldns-signzone and dnssec-signzone (one thread) in the same run, each with
# the same key files, each output checked by dnssec-verify -z and
# ldns-verify-zone.
# Usage: bench/dnssec_zone.sh BUILDDIR [ROOTZONE]
# Not a test: run it from a build without sanitizers.
set -e
B=$(cd "${1:?usage: $0 BUILDDIR [ROOTZONE]}" && pwd)
ROOT=${2:-$(dirname "$0")/../../shared/data/root.zone}
[ -r "$ROOT" ] || { echo "no root zone at $ROOT" >&2; exit 1; }
W=$(mktemp -d "${TMPDIR:-/tmp}/ddns-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT
awk '$4 != "NSEC" && $4 != "DNSKEY" && $4 != "RRSIG" && $4 != "ZONEMD"' "$ROOT" > "$W/root.zone"
cd "$W"
K=$("$B/ddns" keygen --zone . --zsk)
now=$(date -u +%Y%m%d%H%M%S)
exp=$(date -u -d '+30 days' +%Y%m%d%H%M%S)
t() { # label, command...: wall seconds of the command
	label=$1
	shift
	s=$(date +%s.%N)
	"$@" >/dev/null 2>&1
	e=$(date +%s.%N)
	printf '%-18s %6.2f s\n' "$label" "$(echo "$e - $s" | bc)"
}
echo "root zone: $(grep -vc '^;' root.zone) records, key $K"
t "ddns sign" "$B/ddns" sign --key "$K" --inception "$now" --expiration "$exp" -o ddns.signed root.zone
t "ldns-signzone" ldns-signzone -i "$now" -e "$exp" -f ldns.signed root.zone "$K"
cat root.zone "$K.key" > bind.zone
t "dnssec-signzone" dnssec-signzone -n 1 -O full -P -z -s "$now" -e "$exp" -o . -f bind.signed bind.zone "$K"
for f in ddns ldns bind; do
	dnssec-verify -q -z -o . "$f.signed" || echo "$f.signed does not verify (dnssec-verify)" >&2
	ldns-verify-zone -k "$K.key" "$f.signed" >/dev/null 2>&1 ||
		echo "$f.signed does not verify (ldns-verify-zone)" >&2
	printf '%-18s %s RRSIGs\n' "$f" "$(awk '$4 == "RRSIG"' "$f.signed" | wc -l)"
done
