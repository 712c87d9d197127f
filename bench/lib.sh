# bench/lib.sh - shell helpers shared by the bench/*.sh scripts (sourced).

# Stop every PID given: SIGTERM, then SIGKILL after 15 s; each reaped.
bench_stop() {
	for p in "$@"; do
		kill -TERM "$p" 2>/dev/null || :
	done
	for p in "$@"; do
		i=0
		while kill -0 "$p" 2>/dev/null && [ $i -lt 150 ]; do
			sleep 0.1; i=$((i + 1))
		done
		kill -KILL "$p" 2>/dev/null || :
		wait "$p" 2>/dev/null || :
	done
}

# A port free for both UDP and TCP on 127.0.0.1 (bound by the kernel, then
# released).
free_port() {
	python3 -c '
import socket
while True:
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM); t.bind(("127.0.0.1", 0))
    p = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", p)); break
    except OSError:
        t.close(); u.close()
print(p)'
}
