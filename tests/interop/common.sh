# common.sh - sourced by the DNSSEC interop tests: locate ddns, make a
# scratch directory that is removed on exit, skip (77) when a tool is absent.
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
DDNS="$top_builddir/ddns"
if [ ! -x "$DDNS" ]; then
	echo "FAIL: $DDNS not built" >&2
	exit 1
fi
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ddns-interop.XXXXXX") || exit 1
trap 'rm -rf "$WORK"' EXIT
cd "$WORK" || exit 1

need() {
	for t in "$@"; do
		if ! command -v "$t" >/dev/null 2>&1; then
			echo "SKIP: $t not installed (bind9-utils / ldnsutils)"
			exit 77
		fi
	done
}

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# A small zone with a signed delegation, an unsigned one with glue, a
# wildcard and an empty non-terminal.
write_zone() { # $1 = origin (absolute), $2 = file
	cat > "$2" <<ZONE
\$ORIGIN $1
\$TTL 3600
@ IN SOA ns1 hostmaster 2024010101 7200 3600 1209600 300
@ NS ns1
@ NS ns.other.net.
@ MX 10 mail
ns1 A 192.0.2.1
mail A 192.0.2.2
www A 192.0.2.3
www AAAA 2001:db8::3
*.wild TXT "wildcard"
Mixed.Case TXT "canonical form"
sub NS ns.sub
ns.sub A 192.0.2.9
ZONE
}
