#!/bin/sh
# The layer rules of DESIGN.md, checked on every #include "..." of the
# library sources: dependencies point one way,
#   cli -> dns gateway -> dht -> overlay -> common,  dns wire/DNSSEC -> common,
# and no layer skips one (the gateway reaches the overlay only through the
# DHT's API). Fails naming the file, the line and the include.
#
#   tests/check_layers.sh [ROOT]      (default: the source tree)
#
# The gateway library is dns/dhtval.*, dns/gateway.*, dns/gw_*; the rest of
# dns/ is the wire/DNSSEC library. cli/ may include anything.
set -u
root=${1:-${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}}

layer_of() { # layer_of PATH (relative to the root)
	case "$1" in
	common/*) echo common ;;
	overlay/*) echo overlay ;;
	dht/*) echo dht ;;
	dns/dhtval.* | dns/gateway.* | dns/gw_*) echo dnsgw ;;
	dns/*) echo dns ;;
	cli/*) echo cli ;;
	config.h) echo config ;;
	*) echo other ;;
	esac
}
may_include() { # may_include FROM TO: the layers FROM may include
	case "$1:$2" in
	*:config | *:common) return 0 ;;
	overlay:overlay) return 0 ;;
	dht:dht | dht:overlay) return 0 ;;
	dns:dns) return 0 ;;
	dnsgw:dnsgw | dnsgw:dns | dnsgw:dht) return 0 ;;
	cli:*) return 0 ;;
	esac
	return 1
}
allowed() { # the readable list, for the message
	case "$1" in
	common) echo "common/" ;;
	overlay) echo "overlay/, common/" ;;
	dht) echo "dht/, overlay/, common/" ;;
	dns) echo "dns/ (wire and DNSSEC), common/" ;;
	dnsgw) echo "dns/, dht/, common/" ;;
	esac
}

fail=0
checked=0
for dir in common overlay dht dns cli; do
	for f in "$root/$dir"/*.c "$root/$dir"/*.h; do
		[ -f "$f" ] || continue
		rel=${f#"$root"/}
		from=$(layer_of "$rel")
		checked=$((checked + 1))
		# "file:line:path" for every quoted include
		out=$(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" |
			sed 's/^\([0-9]*\):[^"]*"\([^"]*\)".*/\1 \2/')
		[ -n "$out" ] || continue
		while read -r line inc; do
			to=$(layer_of "$inc")
			if ! may_include "$from" "$to"; then
				echo "FAIL: $rel:$line: includes \"$inc\": $from code may include $(allowed "$from") only"
				fail=1
			fi
		done <<EOF_INC
$out
EOF_INC
	done
done
[ "$checked" -gt 0 ] || { echo "FAIL: no sources under $root"; exit 1; }
[ "$fail" -eq 0 ] && echo "PASS: $checked files follow the layer rules"
exit "$fail"
