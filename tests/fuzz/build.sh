#!/bin/sh
# Build the DNS fuzz targets as libFuzzer binaries with clang (ASan+UBSan),
# separately from the autotools build:
#   tests/fuzz/build.sh [OUTDIR]        (default: ./fuzz-build)
# Targets: fuzz_msg (DNS messages), fuzz_zone (master files), fuzz_block
# (DDNS blocks), fuzz_dht (the DHT's node-to-node messages, every type).
# BUILDDIR (default: build/) supplies config.h.
# then e.g.  OUTDIR/fuzz_msg -max_total_time=60 tests/fuzz/corpus/msg
# (give a scratch directory first to keep new inputs out of the repository).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-fuzz-build}
CC=${CC:-clang}
mkdir -p "$out"
flags="-g -O1 -std=c11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -I$top"
srcs="$top/dns/name.c $top/dns/rdata.c $top/dns/rr.c $top/dns/msg.c \
$top/dns/zonefile.c $top/dns/block.c $top/dns/dnssec.c $top/dht/msg.c $top/common/buf.c \
$top/common/err.c $top/common/hash.c"
for t in fuzz_msg fuzz_zone fuzz_block fuzz_dht; do
	$CC $flags -I"${BUILDDIR:-$top/build}" -o "$out/$t" "$top/tests/fuzz/$t.c" $srcs -lmbedcrypto
	echo "built $out/$t"
done
