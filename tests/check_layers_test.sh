#!/bin/sh
# The layer check itself (tests/check_layers.sh) on small fixture trees made
# here: a clean tree passes; a gateway file that includes an overlay header
# (skipping the DHT), a DHT file that includes a DNS header (an arrow going
# up) and a wire file that includes the gateway each fail, and the failure
# names the file, the line and the include.
set -u
here=$(cd "$(dirname "$0")" && pwd)
check="$here/check_layers.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ddns-layers.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

tree() { # tree DIR: a clean fixture tree
	mkdir -p "$1/common" "$1/overlay" "$1/dht" "$1/dns" "$1/cli"
	printf '#include "config.h"\n#include <stdio.h>\n' > "$1/common/err.h"
	printf '#include "common/err.h"\n' > "$1/overlay/rpc.h"
	printf '#include "overlay/rpc.h"\n#include "common/err.h"\n' > "$1/dht/dht.h"
	printf '#include "common/err.h"\n' > "$1/dns/msg.h"
	printf '#include "dht/dht.h"\n#include "dns/msg.h"\n' > "$1/dns/gateway.c"
	printf '#include "dns/gateway.h"\n#include "overlay/rpc.h"\n' > "$1/cli/node.c"
}

tree "$tmp/clean"
"$check" "$tmp/clean" > "$tmp/out" 2>&1 || { cat "$tmp/out"; fail "a clean tree fails the check"; }

expect_fail() { # expect_fail NAME FILE LINE-TEXT WANTED-MESSAGE
	d="$tmp/$1"
	tree "$d"
	printf '%s\n' "$3" >> "$d/$2"
	if "$check" "$d" > "$tmp/out" 2>&1; then
		cat "$tmp/out"; fail "$1: the check passed a tree where $2 has $3"
	fi
	grep -qF "$4" "$tmp/out" || { cat "$tmp/out"; fail "$1: the failure does not say '$4'"; }
}
expect_fail skip dns/gateway.c '#include "overlay/rpc.h"' 'dns/gateway.c:3: includes "overlay/rpc.h"'
expect_fail up dht/dht.h '#include "dns/msg.h"' 'dht/dht.h:3: includes "dns/msg.h"'
expect_fail wire dns/msg.h '#include "dns/gateway.h"' 'dns/msg.h:2: includes "dns/gateway.h"'
expect_fail common common/err.h '#include "overlay/rpc.h"' 'common/err.h:3: includes "overlay/rpc.h"'
echo "PASS: the layer check accepts the clean tree and names each forbidden include"
