#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/) with clang into build-fuzz/ (or $FUZZ_BUILD_DIR) and
# runs each for a while. Exits non-zero when a target finds a crash, a leak, a hang or UB, and
# prints the reproducer's path and the command that replays it.
#
# Usage: scripts/fuzz.sh [--smoke] [--seconds N] [--jobs N] [TARGET...]
#   --smoke      the short run scripts/test.sh does (10 s per target)
#   --seconds N  how long each target runs (default 10; e.g. 600 for a real search)
#   --jobs N     targets run side by side (default: the number of cores)
#   TARGET       perf_map, pprof, options, elf (default: all)
# What a run finds stays in build-fuzz/corpus/TARGET (it seeds the next run; the committed seeds
# are tests/fuzz/corpus/TARGET); crashes go to build-fuzz/artifacts/TARGET/. docs/hardening.md.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=10
jobs=$(nproc)
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) seconds=10 ;;
    --seconds) seconds=${2:?--seconds needs a number}; shift ;;
    --jobs) jobs=${2:?--jobs needs a number}; shift ;;
    -h|--help) sed -n '2,12s/^# \{0,1\}//p' "$0"; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1") ;;
  esac
  shift
done
[ ${#targets[@]} -eq 0 ] && targets=(perf_map pprof options elf)
case "$seconds" in ''|*[!0-9]*) echo "fuzz.sh: --seconds needs a whole number" >&2; exit 2 ;; esac

started=$(date +%s)
scripts/install-deps.sh
scripts/install-fuzz-deps.sh
BUILD=${FUZZ_BUILD_DIR:-build-fuzz}
mkdir -p "$BUILD"
BUILD=$(cd "$BUILD" && pwd)

# The libraries must be compiled by clang too (coverage instrumentation, one sanitizer runtime), so
# this is a build directory of its own, configured from tests/fuzz/.
log=$BUILD/build.log
if ! { cmake -S tests/fuzz -B "$BUILD" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ &&
       cmake --build "$BUILD" -j"$(nproc)" --target "${targets[@]/#/fuzz_}"; } >"$log" 2>&1; then
  echo "fuzz.sh: building the fuzz targets failed:" >&2
  grep -E 'error|Error' "$log" | head -40 >&2 || tail -40 "$log" >&2
  exit 1
fi
built=$(date +%s)
echo "fuzz.sh: built ${targets[*]} in $((built - started)) s; running each for $seconds s, $jobs at a time"

run_one() {
  local t=$1
  local corpus=$BUILD/corpus/$t artifacts=$BUILD/artifacts/$t seeds=$PWD/tests/fuzz/corpus/$t
  mkdir -p "$corpus" "$artifacts" "$seeds"
  # -timeout: one input taking 10 s is a hang worth reporting; -rss_limit_mb: a gzip bomb the size
  # cap misses shows up as an out-of-memory report instead of swapping the machine.
  "$BUILD/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" "$corpus" "$seeds" >"$BUILD/$t.log" 2>&1
}

declare -A pids=()
status=0
for t in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do sleep 0.2; done
  run_one "$t" &
  pids[$t]=$!
done
for t in "${targets[@]}"; do
  if wait "${pids[$t]}"; then
    runs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$BUILD/$t.log" | grep -Eo '[0-9]+$' || echo '?')
    cov=$(grep -Eo 'cov: [0-9]+' "$BUILD/$t.log" | tail -1 | grep -Eo '[0-9]+' || echo '?')
    echo "fuzz.sh: $t: $runs inputs, coverage $cov, no crash"
  else
    status=1
    echo "fuzz.sh: $t FAILED; the report ($BUILD/$t.log):" >&2
    grep -E -A40 '^==[0-9]+==ERROR|runtime error|ERROR: libFuzzer|SUMMARY' "$BUILD/$t.log" | head -60 >&2 || tail -40 "$BUILD/$t.log" >&2
    repro=$(ls -t "$BUILD/artifacts/$t"/* 2>/dev/null | head -1 || true)
    if [ -n "$repro" ]; then
      echo "fuzz.sh: reproducer: $repro" >&2
      echo "fuzz.sh: replay it:  $BUILD/fuzz_$t $repro" >&2
    fi
  fi
done
echo "fuzz.sh: done in $(($(date +%s) - started)) s"
exit "$status"
