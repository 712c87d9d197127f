#!/bin/sh
# Kill/restart cycles (issue 13): the integration test
# tests/integration/killcycle/run with CYCLES=100 (make check runs 10): a
# 16-node ring on 127.0.0.2-17 running kad16 and chord, random nodes
# SIGKILLed and restarted on their data dirs while records are published and
# queried; then every acknowledged record must be served by both overlays.
#
#   bench/killcycle.sh [BUILDDIR]         CYCLES=100 SEED=1 by default
#
# Loopback only; every process is stopped by PID on exit. Not part of make
# check.
set -eu
build=$(cd "${1:-.}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
CYCLES=${CYCLES:-100} SEED=${SEED:-1} DDNS="$build/ddns" DDNSD="$build/ddnsd" \
	exec "$here/../tests/integration/killcycle/run"
