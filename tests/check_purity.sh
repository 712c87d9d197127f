#!/bin/sh
# Keeps the transport seam honest (DESIGN.md, STYLE.md "No hidden state"):
# overlay/ and dht/ protocol code must not read clocks, draw randomness or
# hold writable globals; time, timers, sending and randomness come through
# struct tr. The transport backends themselves (overlay/udp.c, overlay/sim.c)
# and the address helpers (overlay/transport.c) are the seam: they may call
# clocks and sockets, but no object of overlay/ or dht/, the backends
# included, holds a writable global (configuration is per instance).
set -u
src=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
build=${top_builddir:-.}
fail=0

files=$(ls "$src"/overlay/*.c "$src"/dht/*.c 2>/dev/null | grep -v -e '/overlay/udp.c$' -e '/overlay/sim.c$' -e '/overlay/transport.c$')
pattern='\<(time|clock_gettime|gettimeofday|clock|rand|random|srand|srandom|rand_r|drand48|lrand48|arc4random|getrandom|socket|sendto|recvfrom|bind|event_base_new|ddns_rng_seed)[[:space:]]*\('
for f in $files; do
	if grep -nE "$pattern" "$f" | grep -v '^\s*[0-9]*:\s*\*' | grep -v 'tr_' ; then
		echo "FAIL: $f calls a clock, random or socket function directly (use the transport)"
		fail=1
	fi
done

# Writable globals: no data objects in writable sections (.data, .bss,
# .data.rel.local; .data.rel.ro is read-only after relocation) of the
# overlay and DHT objects, with no exemption. Symbols the sanitizers or gcov
# add are not ours.
for lib in "$build"/overlay/liboverlay.a "$build"/dht/libdht.a; do
	[ -f "$lib" ] || { echo "SKIP: $lib not built"; continue; }
	bad=$(objdump -t "$lib" 2>/dev/null | awk '
		/^In archive/ { next }
		/file format/ { obj = $1; next }
		$3 == "O" && $4 ~ /^\.(data|bss|data\.rel\.local|data\.rel)(\.|$)/ && $4 !~ /\.rel\.ro/ {
			name = $NF
			if (name ~ /^(__asan|__odr_asan|__ubsan|__sancov|__gcov|\.L)/) next
			print obj " " $4 " " name
		}')
	if [ -n "$bad" ]; then
		echo "FAIL: writable globals in $lib:"
		echo "$bad"
		fail=1
	fi
done

if [ $fail -eq 0 ]; then
	echo "purity: overlay/ and dht/ use only the transport for time, randomness and I/O"
fi
exit $fail
