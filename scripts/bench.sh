#!/usr/bin/env bash
# Benchmarks loopperf against Linux perf (`perf record` + `perf script` + a folded-stacks
# conversion) on the same work in the same run: target slowdown, stop-to-file time and CPU, cost
# per sample, memory over a 10-minute recording, symbol loading; every mode (fp, dwarf, auto, wall).
# Figures are ratios of medians over alternating runs; the method is in docs/performance.md.
#
# Usage: scripts/bench.sh [--quick] [--write] [--only LIST] [--reuse FILE] [--memory-seconds N]
#   --quick           the pre-merge check (< 2 min): slowdown at 99/999 Hz, stop-to-file, lost
#                     samples at 999 Hz x 16 threads; prints the ratios, exits 1 if a target is missed
#   (default)         the full bench (~40 min: 10 the memory run, 10 the slowdown); writes the results into
#                     docs/performance.md between the bench markers
#   --write / --no-write   force / skip updating docs/performance.md
#   --only LIST       comma list of slowdown,stop,cost,memory,churn,symbols,names,watch
#   --watch-seconds N watch: the long healthy run (default 1800; --quick 60)
#   --reuse FILE      take the sections not run now from an earlier results.json (e.g. the memory run)
#   --variants LIST   slowdown: only these variants, e.g. "loopperf map@999,loopperf heap@999,loopperf@999"
#   --cost-tools LIST cost per sample: only these tools at 999 Hz, e.g. "loopperf map,loopperf heap"
#   --stop-modes LIST stop-to-file: only these single-run modes, e.g. "loopperf map,loopperf heap"
# Env: BUILD_DIR (default build; loopperf is built there if missing), BENCH_NICE (default -10: the
#   profilers and targets run at this nice level so other work on the machine disturbs them less;
#   0 to turn off), BENCH_KEEP=1 keeps the work directory.
# Needs root (perf_event on another process, drop_caches), perf and GNU time.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0 write="" pass=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --write) write=1 ;;
    --no-write) write=0 ;;
    --only|--memory-seconds|--churn-seconds|--watch-seconds|--variants|--cost-tools|--stop-modes|--reuse) pass+=("$1" "$2"); shift ;;
    -h|--help) sed -n '2,19s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "bench.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
[ -z "$write" ] && { [ "$quick" = 1 ] && write=0 || write=1; }

if [ "$(id -u)" -ne 0 ]; then
  echo "bench.sh: run as root (perf events on another process, drop_caches for the cold symbol run)" >&2
  exit 2
fi
scripts/install-deps.sh
need=()
command -v perf >/dev/null || need+=(linux-perf)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
  echo "bench.sh: installing ${need[*]}" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

BUILD_DIR=${BUILD_DIR:-build}
if [ ! -x "$BUILD_DIR/loopperf" ]; then
  echo "bench.sh: building loopperf into $BUILD_DIR ..." >&2
  BUILD_DIR=$BUILD_DIR BUILD_TARGET=loopperf scripts/build.sh
fi
lp=$(cd "$BUILD_DIR" && pwd)/loopperf

work=$(mktemp -d /tmp/loopperf-bench-XXXXXX)
cleanup() { if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "bench.sh: work directory kept: $work" >&2; else rm -rf "$work"; fi; }
trap cleanup EXIT

args=(--loopperf "$lp" --work "$work" --json "$work/results.json" --md "$work/results.md" "${pass[@]}")
[ "$quick" = 1 ] && args+=(--quick)
status=0
nice -n "${BENCH_NICE:--10}" node scripts/bench/bench.js "${args[@]}" || status=$?
[ "$status" -le 1 ] || exit "$status"

if [ "$write" = 1 ] && [ -s "$work/results.md" ]; then
  node scripts/bench/update-doc.js docs/performance.md "$work/results.md" "$work/results.json"
  echo "bench.sh: results written to docs/performance.md (raw: scripts/bench/results.json)" >&2
fi
exit "$status"
