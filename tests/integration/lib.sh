# lib.sh - helpers shared by the integration tests (sourced).
# Every process a test starts is recorded in $WORK/pids and stopped by PID;
# every wait polls a condition with a deadline, never a bare sleep.

fail() { echo "FAIL: $*" >&2; exit 1; }
note() { echo "== $*"; }

need_tools() {
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 || { echo "SKIP: $t not installed"; exit 77; }
	done
}

# wait_until SECONDS CMD...: run CMD until it succeeds or the deadline passes.
wait_until() {
	local limit=$1; shift
	local end=$(( $(date +%s) + limit ))
	while ! "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -lt "$end" ] || return 1
		# Poll interval only: the condition decides, not the clock.
		python3 -c 'import time; time.sleep(0.2)'
	done
	return 0
}

# A port free for UDP and TCP on every address given.
free_port() {
	python3 - "$@" <<'PY'
import random, socket, sys
addrs = sys.argv[1:]
for _ in range(200):
    port = random.randint(20000, 60000)
    ok = True
    socks = []
    try:
        for a in addrs:
            for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                s = socket.socket(socket.AF_INET, kind)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                socks.append(s)
                s.bind((a, port))
    except OSError:
        ok = False
    for s in socks:
        s.close()
    if ok:
        print(port)
        sys.exit(0)
sys.exit(1)
PY
}

# delv's trust-anchors file from a DNSKEY .key file.
anchor_conf() {
	awk '!/^;/ { for (i = 1; i <= NF; i++) if ($i == "DNSKEY") {
		k = ""; for (j = i + 4; j <= NF; j++) k = k $j;
		printf "trust-anchors {\n\t%s static-key %s %s %s \"%s\";\n};\n", $1, $(i+1), $(i+2), $(i+3), k; exit } }' "$1"
}
