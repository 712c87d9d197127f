#!/bin/sh
# A chain ". -> test. -> a.test." made with ddns keygen/delegate/sign
# validates with `ddns verify`, and each way of breaking it fails with its
# own reason: a flipped bit, an expired RRSIG, a wrong key tag, a DS that
# does not match, a chain that skips a level, a missing link.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/interop/common.sh"

KR=$("$DDNS" keygen --zone .) || fail keygen
KT=$("$DDNS" keygen --zone test.) || fail keygen
KA=$("$DDNS" keygen --zone a.test.) || fail keygen
KX=$("$DDNS" keygen --zone a.test.) || fail keygen

make_root() { # extra parent-side records in $1
	{
		echo '. 86400 IN SOA ns.root. host.root. 1 1800 900 604800 300'
		echo '. 86400 IN NS ns.root.'
		echo 'test. 86400 IN NS ns.test.'
		cat "$1"
	} > root.zone
	"$DDNS" sign --key "$KR" -o root.signed root.zone 2>/dev/null || fail "sign ."
}
make_test() { # DS records for a.test. in $1
	{
		echo 'test. 3600 IN SOA ns.test. host.test. 1 1800 900 604800 300'
		echo 'test. 3600 IN NS ns.test.'
		echo 'a.test. 3600 IN NS ns.a.test.'
		cat "$1"
	} > test.zone
	"$DDNS" sign --key "$KT" -o test.signed test.zone 2>/dev/null || fail "sign test."
}
"$DDNS" delegate --parent-key "$KR" --child-key "$KT.key" -o ds.test || fail "delegate test."
"$DDNS" delegate --parent-key "$KT" --child-key "$KA.key" -o ds.a || fail "delegate a.test."
grep -q 'RRSIG' ds.a || fail "delegate printed no RRSIG"
make_root ds.test
make_test ds.a
cat > a.zone <<'ZONE'
a.test. 300 IN SOA ns.a.test. host.a.test. 1 1800 900 604800 300
a.test. 300 IN NS ns.a.test.
www.a.test. 300 IN A 192.0.2.1
ZONE
"$DDNS" sign --key "$KA" -o a.signed a.zone 2>/dev/null || fail "sign a.test."

# $1 = expected reason text, rest = files; the run must fail with it.
expect_fail() {
	reason=$1
	shift
	"$DDNS" verify --quiet --trust-anchor "$KR.key" "$@" > out 2>&1 &&
		fail "validated although broken ($reason)"
	grep -q "$reason" out || fail "expected '$reason', got: $(cat out)"
	echo "ok: fails with '$reason': $(head -1 out)"
}

"$DDNS" verify --trust-anchor "$KR.key" root.signed test.signed a.signed ||
	fail "the intact chain does not validate"
echo "ok: intact chain validates"

# 1. One flipped bit in a signed RRset.
sed 's/192\.0\.2\.1$/192.0.2.3/' a.signed > a.flip
cmp -s a.signed a.flip && fail "sed changed nothing"
expect_fail "bogus signature" root.signed test.signed a.flip

# 2. Expired RRSIGs: validate 40 days on (default validity is 30 days).
expect_fail "expired" --time now+3456000 root.signed test.signed a.signed

# 3. Not yet valid.
expect_fail "not valid before" --time now-86400 root.signed test.signed a.signed

# 4. A wrong key tag in the RRSIG of www.a.test. A.
awk '$1 == "www.a.test." && $4 == "RRSIG" && $5 == "A" { $11 = ($11 + 1) % 65536 } { print }' \
	a.signed > a.tag
expect_fail "no key with tag" root.signed test.signed a.tag

# 5. A DS that does not match (test. publishes the DS of another key).
"$DDNS" delegate --parent-key "$KT" --child-key "$KX.key" -o ds.x || fail delegate
make_test ds.x
expect_fail "DS mismatch" root.signed test.signed a.signed
make_test ds.a

# 6. A chain that skips a level: the root signs a DS for a.test. itself
#    (published beside the root zone), and test.'s zone is left out.
"$DDNS" delegate --parent-key "$KR" --child-key "$KA.key" -o ds.skip || fail delegate
expect_fail "chain skips zone test." root.signed ds.skip a.signed

# 7. A missing link: test.'s zone file is not given.
expect_fail "missing link" root.signed a.signed

# 8. Data signed by a zone above a cut (test.'s key signs www.a.test.).
printf 'www.a.test. 300 IN A 192.0.2.1\n' > leaf.zone
cat test.zone leaf.zone > test2.zone
"$DDNS" sign --key "$KT" -o test2.signed test2.zone 2>/dev/null || fail "sign test2"
grep '^www.a.test.' test2.signed > leaf.signed
grep -q RRSIG leaf.signed && fail "signer signed glue/occluded data below a cut"
echo "ok: data below a zone cut is not signed by the parent"

# 9. Bad input: a missing anchor file, a zone that does not parse.
"$DDNS" verify --trust-anchor nothere a.signed 2>/dev/null && fail "missing anchor accepted"
echo 'garbage here' > junk.zone
"$DDNS" verify --trust-anchor "$KR.key" junk.zone 2>/dev/null && fail "junk zone accepted"
exit 0
