#!/usr/bin/env bash
# One command on a fresh machine: installs dependencies, builds loopperf, starts the bundled demo
# server under load, records it for a few seconds without restarting it, and prints where the
# event loop spent its time.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
echo "demo: building loopperf ..." >&2
BUILD_TARGET=loopperf scripts/build.sh
BUILD_DIR=${BUILD_DIR:-build}

work=$(mktemp -d /tmp/loopperf-demo-XXXXXX)
server_pid=""
load_pid=""
cleanup() {
  [ -n "$load_pid" ] && kill "$load_pid" 2>/dev/null || true
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  [ -n "$server_pid" ] && rm -f "/tmp/perf-$server_pid.map"
  rm -rf "$work"
}
trap cleanup EXIT

# The server runs with --perf-basic-prof so loopperf can name JavaScript frames when it attaches.
READY_FILE="$work/ready" node --perf-basic-prof scripts/demo/server.js &
server_pid=$!
for _ in $(seq 1 500); do [ -s "$work/ready" ] && break; sleep 0.02; done
[ -s "$work/ready" ] || { echo "demo: the demo server did not start" >&2; exit 1; }
port=$(cut -d" " -f2 "$work/ready")
node scripts/demo/load.js "$port" 9000 2>/dev/null &
load_pid=$!

echo "demo: recording the demo server (pid $server_pid) for 5s under load ..." >&2
out="${DEMO_OUTPUT:-demo.pb.gz}"
"$BUILD_DIR/loopperf" record -p "$server_pid" -d 5s -o "$out"
echo
if "$BUILD_DIR/loopperf" report --help >/dev/null 2>&1; then
  "$BUILD_DIR/loopperf" report "$out"
else
  scripts/build-pprof.sh "$BUILD_DIR" && "$BUILD_DIR/pprof" -top -nodecount=25 "$out"
fi
echo
echo "demo: the profile is in $out (open it with: loopperf report $out, or pprof -http=: $out)" >&2
