#!/bin/sh
# The real root zone, its old NSEC, DNSKEY and RRSIG records (and its ZONEMD,
# whose digest re-signing makes stale) removed, re-signed by `ddns sign`
# with one algorithm-13 key, passes dnssec-verify -z, ldns-verify-zone and
# our own verifier.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/interop/common.sh"
need dnssec-verify ldns-verify-zone
ROOT="$top_srcdir/../shared/data/root.zone"
if [ ! -r "$ROOT" ]; then
	echo "SKIP: $ROOT not found (the shared data sets are not in this checkout)"
	exit 77
fi
awk '$4 != "NSEC" && $4 != "DNSKEY" && $4 != "RRSIG" && $4 != "ZONEMD"' "$ROOT" > root.zone
K=$("$DDNS" keygen --zone .) || fail keygen
start=$(date +%s)
"$DDNS" sign --key "$K" -o root.signed root.zone || fail "ddns sign of the root zone"
echo "signed in $(($(date +%s) - start)) s: $(grep -c '	RRSIG	' root.signed) RRSIGs, $(grep -c '	NSEC	' root.signed) NSEC"
dnssec-verify -q -z -o . root.signed || fail "dnssec-verify -z rejects the re-signed root zone"
ldns-verify-zone root.signed >/dev/null || fail "ldns-verify-zone rejects the re-signed root zone"
"$DDNS" verify --trust-anchor "$K.key" root.signed || fail "ddns verify rejects the re-signed root zone"
echo "ok: root zone re-signed and verified by BIND, ldns and ddns"
exit 0
