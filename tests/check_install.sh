#!/bin/bash
# What `make install` ships agrees with the programs (issue 17):
#  - docs/ddns.1 is what scripts/gen-man makes from today's --help texts;
#  - docs/ddnsd.8 describes exactly the options `ddnsd --help` lists;
#  - docs/ddnsd.conf names every option a configuration file may set;
#  - both pages format without groff warnings;
#  - ddnsd starts from docs/ddnsd.conf as shipped (only the addresses and the
#    data directory overridden, so the test stays on its own loopback
#    address) and answers `ddns status` on both overlays; SIGTERM: exit 0.
# The process is stopped by its PID; waits poll a condition.
here=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:=$(cd "$here/.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
DDNSD=${DDNSD:-$top_builddir/ddnsd}
DDNS=${DDNS:-$top_builddir/ddns}
. "$top_srcdir/tests/integration/lib.sh"
need_tools python3
[ -x "$DDNSD" ] && [ -x "$DDNS" ] || fail "build ddnsd and ddns first"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ddns-install.XXXXXX") || exit 99
PID=""
finish() {
	if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
		kill -TERM "$PID"
		wait_until 10 sh -c "! kill -0 $PID" || kill -KILL "$PID"
	fi
	rm -rf "$WORK"
}
trap finish EXIT
trap 'exit 1' INT TERM

note "docs/ddns.1 is generated from the --help texts"
"$top_srcdir/scripts/gen-man" "$DDNS" > "$WORK/ddns.1" || fail "scripts/gen-man failed"
diff -u "$top_srcdir/docs/ddns.1" "$WORK/ddns.1" ||
	fail "docs/ddns.1 is out of date: run 'make man' and commit docs/ddns.1"

note "docs/ddnsd.8 lists the options of ddnsd --help, no more, no fewer"
"$DDNSD" --help | grep -oE -- '--[a-z][a-z-]*' | sort -u > "$WORK/help.opts"
sed -n '/^\.SH OPTIONS/,/^\.SH /p' "$top_srcdir/docs/ddnsd.8" | grep -A1 '^\.TP' |
	grep '^\.B' | sed 's/\\-/-/g' | grep -oE -- '--[a-z][a-z-]*' | sort -u > "$WORK/man.opts"
diff -u "$WORK/help.opts" "$WORK/man.opts" ||
	fail "ddnsd --help (-) and docs/ddnsd.8 OPTIONS (+) disagree"

note "docs/ddnsd.conf names every option the configuration file takes"
# The file takes every option but the command-line-only ones.
for o in $(sed 's/^--//' "$WORK/help.opts"); do
	case "$o" in help | version | config | latency-*) continue ;; esac
	grep -qE "^#?$o( |$)" "$top_srcdir/docs/ddnsd.conf" ||
		fail "docs/ddnsd.conf does not mention '$o'"
done

if command -v groff >/dev/null 2>&1; then
	note "the pages format without warnings"
	for p in docs/ddns.1 docs/ddnsd.8; do
		w=$(groff -ww -man -Tutf8 -z "$top_srcdir/$p" 2>&1)
		[ -z "$w" ] || fail "groff warns about $p: $w"
	done
fi

note "ddnsd --config docs/ddnsd.conf starts a node"
ADDR=127.0.0.61
PORT=$(free_port $ADDR) || fail "no free port"
DNSPORT=$(free_port $ADDR) || fail "no free port"
"$DDNSD" --config "$top_srcdir/docs/ddnsd.conf" --listen "$ADDR:$PORT" \
	--dns "$ADDR:$DNSPORT" --data-dir "$WORK/data" --log-file "$WORK/log" </dev/null &
PID=$!
wait_until 20 "$DDNS" status --node "$ADDR:$PORT" --quiet || { cat "$WORK/log"; fail "no status"; }
"$DDNS" status --node "$ADDR:$PORT" > "$WORK/status" || fail "status"
grep -q '^kad16 ' "$WORK/status" && grep -q '^chord ' "$WORK/status" ||
	{ cat "$WORK/status"; fail "the shipped file runs kad16 and chord"; }
grep -q "gateway: DNS on $ADDR:$DNSPORT" "$WORK/log" || { cat "$WORK/log"; fail "no gateway"; }
[ -d "$WORK/data/kad16-0" ] && [ -d "$WORK/data/chord-0" ] || fail "no store under the data dir"
kill -TERM "$PID"
# Exited (a zombie until waited for) within the bound, then its status.
wait_until 15 sh -c "! kill -0 $PID || grep -q '^[0-9]* ([^)]*) Z' /proc/$PID/stat" ||
	fail "ddnsd did not stop on SIGTERM"
wait "$PID"
rc=$?
PID=""
[ "$rc" = 0 ] || { cat "$WORK/log"; fail "ddnsd exited $rc on SIGTERM, not 0"; }
echo "PASS: installed files agree with the programs"
