#!/usr/bin/env bash
# Profiles loopperf itself with perf while it records the demo server under load: where its own
# CPU goes while sampling and after the stop. Used when scripts/bench.sh reports a missed target.
# Usage: scripts/bench/self-profile.sh [-F HZ] [-s SECONDS] [--stop-only] [-- EXTRA loopperf record ARGS]
#   --stop-only   attach perf to loopperf only for the stop phase (the last 0.5 s + after SIGINT)
# Env: BUILD_DIR (default build), OUT (default /tmp/loopperf-self): perf.data, folded stacks and
#   a summary by function (self and inclusive) are written there.
set -euo pipefail
cd "$(dirname "$0")/../.."
hz=999 secs=10 stop_only=0 extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    -F) hz=$2; shift ;;
    -s) secs=$2; shift ;;
    --stop-only) stop_only=1 ;;
    --) shift; extra=("$@"); break ;;
    *) echo "self-profile.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
lp=$(cd "${BUILD_DIR:-build}" && pwd)/loopperf
out=${OUT:-/tmp/loopperf-self}
mkdir -p "$out"
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

READY_FILE=$work/ready node --perf-basic-prof --interpreted-frames-native-stack scripts/demo/server.js &
pids+=($!)
for _ in $(seq 1 500); do [ -s "$work/ready" ] && break; sleep 0.02; done
server=$(cut -d' ' -f1 "$work/ready"); port=$(cut -d' ' -f2 "$work/ready")
node scripts/demo/load.js "$port" $(( (secs + 30) * 1000 )) 2>/dev/null &
pids+=($!)
sleep 1.5

"$lp" record -F "$hz" -p "$server" -o "$work/self.pb.gz" "${extra[@]}" 2> "$out/loopperf.txt" &
lpid=$!
pids+=($lpid)
if [ "$stop_only" = 1 ]; then
  sleep "$(awk -v s="$secs" 'BEGIN { print s - 0.5 }')"
  perf record -q --call-graph dwarf,32768 -F 4999 -p "$lpid" -o "$out/perf.data" 2>/dev/null &
  ppid=$!
  sleep 0.5
else
  perf record -q --call-graph dwarf,32768 -F 4999 -p "$lpid" -o "$out/perf.data" 2>/dev/null &
  ppid=$!
  sleep "$secs"
fi
kill -INT "$lpid"
wait "$lpid" || true
wait "$ppid" || true
cat "$out/loopperf.txt" >&2
perf script -i "$out/perf.data" 2>/dev/null | awk -f scripts/bench/perf-fold.awk > "$out/folded"
node scripts/bench/fold-summary.js "$out/folded" > "$out/summary.txt"
head -60 "$out/summary.txt"
echo "self-profile: $out/{perf.data,folded,summary.txt}" >&2
