#!/bin/sh
# Zones signed by `ddns sign` with keys from `ddns keygen` pass BIND's
# dnssec-verify and ldns-verify-zone (algorithms 13 and 8; one combined key,
# and a KSK/ZSK pair), and our own verifier, from the DS `ddns delegate`
# makes.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/interop/common.sh"
need dnssec-verify ldns-verify-zone dnssec-dsfromkey

for alg in 13 8; do
	rm -f K* z*
	write_zone example.com. z
	K=$("$DDNS" keygen --zone example.com --algorithm $alg) || fail "keygen alg $alg"
	[ -f "$K.key" ] && [ -f "$K.private" ] || fail "keygen wrote no $K files"
	"$DDNS" sign --key "$K" -o z.signed z 2>/dev/null || fail "sign alg $alg"
	dnssec-verify -q -z -o example.com z.signed || fail "dnssec-verify -z rejects our alg $alg zone"
	ldns-verify-zone z.signed >/dev/null || fail "ldns-verify-zone rejects our alg $alg zone"
	# BIND computes the same DS for our key as we do.
	dnssec-dsfromkey -2 "$K.key" > ta.bind || fail "dnssec-dsfromkey cannot read $K.key"
	"$DDNS" verify --quiet --trust-anchor ta.bind z.signed || fail "our verify, BIND's DS, alg $alg"
	"$DDNS" verify --quiet --trust-anchor "$K.key" z.signed || fail "our verify, DNSKEY anchor, alg $alg"
	echo "ok: algorithm $alg, one combined key"

	# KSK + ZSK: dnssec-verify without -z checks the KSK/ZSK split.
	KSK=$("$DDNS" keygen --zone example.com --algorithm $alg --ksk) || fail keygen
	ZSK=$("$DDNS" keygen --zone example.com --algorithm $alg --zsk) || fail keygen
	"$DDNS" sign --key "$KSK.private" --key "$ZSK.private" -o z2.signed z 2>/dev/null || fail "sign KSK+ZSK"
	dnssec-verify -q -o example.com z2.signed || fail "dnssec-verify rejects KSK+ZSK alg $alg"
	ldns-verify-zone z2.signed >/dev/null || fail "ldns-verify-zone rejects KSK+ZSK alg $alg"
	echo "ok: algorithm $alg, KSK + ZSK"
done

# Bad input: one-line errors, non-zero exits.
"$DDNS" sign --key Knothere.+013+00001 z 2>err && fail "sign with a missing key succeeded"
[ "$(wc -l < err)" -eq 1 ] || fail "sign error is not one line: $(cat err)"
"$DDNS" keygen --zone example.com --algorithm 99 2>/dev/null && fail "keygen accepted algorithm 99"
K=$("$DDNS" keygen --zone other.org) || fail keygen
"$DDNS" sign --key "$K" -o bad.signed z 2>err && fail "signed a zone with another zone's key"
[ ! -e bad.signed ] || fail "a failed sign left an output file"
for c in keygen sign delegate verify; do
	"$DDNS" $c --help | grep -q "usage: ddns $c" || fail "$c --help"
done
exit 0
