#!/bin/sh
# Zones signed by BIND's dnssec-signzone with keys from dnssec-keygen
# (algorithms 13 and 8) validate with `ddns verify`; `ddns sign` signs with
# BIND's key files and dnssec-verify accepts the result.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/interop/common.sh"
need dnssec-keygen dnssec-signzone dnssec-dsfromkey dnssec-verify

for a in ECDSAP256SHA256 RSASHA256; do
	rm -f K* z* dsset-*
	write_zone example.com. z
	KSK=$(dnssec-keygen -q -a $a -f KSK example.com) || fail "dnssec-keygen $a"
	ZSK=$(dnssec-keygen -q -a $a example.com) || fail "dnssec-keygen $a"
	cat "$KSK.key" "$ZSK.key" >> z
	dnssec-signzone -q -o example.com -f z.signed z "$KSK" "$ZSK" >/dev/null 2>&1 ||
		fail "dnssec-signzone $a"
	dnssec-dsfromkey -2 "$KSK.key" > ta
	"$DDNS" verify --trust-anchor ta z.signed || fail "ddns verify rejects BIND-signed $a zone"
	# The same zone at a time after its signatures expire fails.
	"$DDNS" verify --quiet --trust-anchor ta --time now+40000000 z.signed >out &&
		fail "expired BIND-signed zone validated"
	grep -q expired out || fail "no 'expired' reason: $(head -1 out)"
	# Our signer with BIND's keys.
	"$DDNS" sign --key "$KSK.private" --key "$ZSK.private" -o z.ours z 2>/dev/null ||
		fail "ddns sign with BIND $a keys"
	dnssec-verify -q -o example.com z.ours || fail "dnssec-verify rejects our zone signed with BIND $a keys"
	echo "ok: $a"
done
exit 0
