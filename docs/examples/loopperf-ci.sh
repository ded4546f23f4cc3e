#!/usr/bin/env bash
# loopperf in CI: record a benchmark on the base and the head commit, diff them, fail on a regression.
#
#   loopperf-ci.sh BASE_REF HEAD_REF -- COMMAND [ARGS...]
#   e.g.  loopperf-ci.sh origin/main HEAD -- node bench/run.js
#
# Run it inside the git repository, with both refs fetched. COMMAND runs in a checkout of each ref
# (git worktrees), under `loopperf record` in launch mode, so JavaScript functions are named.
# Environment, all optional:
#   LOOPPERF   the loopperf binary (default: loopperf on PATH)
#   OUT        output directory (default: loopperf-ci)
#   SETUP      shell command run in each checkout before recording, e.g. "npm ci"
#   RUNS       recordings per side (default 5: diff measures how much shares vary between runs;
#              3 finds less on programs whose JIT varies much, 1 assumes it, docs/diff.md)
#   THRESHOLD  diff --threshold (default 3%: shared runners drift by a few points, docs/diff.md)
#   RATE       samples per second (default 999: ~3000 samples for a 3 s benchmark)
#   CONFIRM    with RUNS=1 only, 1 (default): on a regression, record both again and fail only if it
#              reproduces
# Exit status: 0 no regression; 10 a (confirmed) regression; 4 perf_event_open not permitted;
# 2 usage; anything else is the status of the failing loopperf or benchmark run.
# In $OUT: base/run-N.pb.gz head/run-N.pb.gz diff.pb.gz, diff.txt diff.md diff.json, comment.md (for
# the pull request), base.html head.html diff.html (flame graphs; base and head: their first run);
# *-confirm.* when a confirmation ran.
set -euo pipefail

usage() { sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
if [ $# -lt 4 ] || [ "$3" != "--" ]; then usage; fi
base_ref=$1 head_ref=$2
shift 3
LOOPPERF=${LOOPPERF:-loopperf}
OUT=${OUT:-loopperf-ci}
THRESHOLD=${THRESHOLD:-3%}
RATE=${RATE:-999}
RUNS=${RUNS:-5}
CONFIRM=${CONFIRM:-1}
say() { echo "loopperf-ci: $*" >&2; }

case $RUNS in '' | *[!0-9]* | 0) say "RUNS must be a number of recordings, 1 or more (5 recommended)"; exit 2 ;; esac
command -v "$LOOPPERF" >/dev/null || { say "$LOOPPERF not found: build loopperf and set LOOPPERF"; exit 2; }
LOOPPERF=$(command -v "$LOOPPERF")
git rev-parse --verify --quiet "$base_ref^{commit}" >/dev/null || { say "unknown ref $base_ref (fetch it: git fetch origin ...)"; exit 2; }
git rev-parse --verify --quiet "$head_ref^{commit}" >/dev/null || { say "unknown ref $head_ref"; exit 2; }

# perf_event_open: 2 allows sampling your own processes (user frames), 1 adds kernel frames. Ubuntu's
# kernels (GitHub's runners too) default to 4, which allows nothing without privileges.
paranoid=$(cat /proc/sys/kernel/perf_event_paranoid 2>/dev/null || echo 2)
if [ "$(id -u)" -ne 0 ] && [ "$paranoid" -gt 1 ]; then
  if sudo -n sysctl -q -w kernel.perf_event_paranoid=1 2>/dev/null; then
    say "kernel.perf_event_paranoid was $paranoid, set to 1"
  elif [ "$paranoid" -gt 2 ]; then
    say "kernel.perf_event_paranoid is $paranoid and there is no passwordless sudo to lower it"
    say "fix: sudo sysctl kernel.perf_event_paranoid=1 on the runner, or setcap cap_perfmon+ep $LOOPPERF (docs/ci.md)"
    exit 4
  fi
fi

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/loopperf-ci.XXXXXX")
# shellcheck disable=SC2317  # called by the trap
cleanup() {
  for side in base head; do [ -d "$work/$side" ] && git worktree remove --force "$work/$side" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
for side in base head; do
  ref=$base_ref
  [ "$side" = head ] && ref=$head_ref
  git worktree add --quiet --detach "$work/$side" "$ref"
  say "$side: $(git -C "$work/$side" log -1 --format='%h %s')"
  if [ -n "${SETUP:-}" ]; then (cd "$work/$side" && sh -c "$SETUP") >&2; fi
done

record() {  # SIDE OUTPUT: the benchmark in SIDE's checkout, under loopperf
  say "recording $1 -> $2"
  local st=0
  mkdir -p "$(dirname "$OUT/$2")"
  (cd "$work/$1" && "$LOOPPERF" record -q -F "$RATE" -o "$OUT/$2" -- "${bench[@]}") >&2 || st=$?
  if [ $st -ne 0 ]; then say "the benchmark or the recording failed on $1 (status $st)"; exit $st; fi
}

diff_pair() {  # BASE HEAD SUFFIX: writes diff$SUFFIX.{json,txt,md,pb.gz}; returns 0 or 10
  local st=0 opts=(--threshold "$THRESHOLD")
  # From inside $OUT, so that the outputs name the files, not the runner's directories.
  cd "$OUT"
  "$LOOPPERF" diff "$1" "$2" "${opts[@]}" --fail --format json -o "diff$3.pb.gz" >"diff$3.json" || st=$?
  if [ $st -ne 0 ] && [ $st -ne 10 ]; then say "loopperf diff failed (status $st)"; exit $st; fi
  "$LOOPPERF" diff "$1" "$2" "${opts[@]}" >"diff$3.txt"
  "$LOOPPERF" diff "$1" "$2" "${opts[@]}" --format markdown >"diff$3.md"
  cat "diff$3.txt" >&2
  cd - >/dev/null
  return $st
}

bench=("$@")
# Interleaved, so that a runner that slows down during the job slows both sides. Each side is a
# directory of recordings, one per run; diff measures the run-to-run variation from them.
rm -rf "$OUT/base" "$OUT/head"
for i in $(seq 1 "$RUNS"); do
  record base "base/run-$i.pb.gz"
  record head "head/run-$i.pb.gz"
done
status=0
diff_pair base head "" || status=$?
cp "$OUT/diff.md" "$OUT/comment.md"
if [ $status -eq 10 ] && [ "$RUNS" = 1 ] && [ "$CONFIRM" = 1 ]; then
  # A real regression reproduces; a run that drifted (docs/diff.md) rarely does twice.
  say "regression found; recording both again to confirm it"
  record head head-confirm/run-1.pb.gz
  record base base-confirm/run-1.pb.gz
  status=0
  diff_pair base-confirm head-confirm -confirm || status=$?
  if [ $status -eq 10 ]; then
    { cat "$OUT/diff-confirm.md"; echo; echo "_Confirmed by a second pair of recordings (the first pair: diff.md)._"; } >"$OUT/comment.md"
  else
    { cat "$OUT/diff.md"; echo; echo "_A second pair of recordings did not confirm this: treated as noise, the build passes._"; } >"$OUT/comment.md"
  fi
fi

for f in base/run-1 head/run-1 diff; do
  "$LOOPPERF" convert -q "$OUT/$f.pb.gz" -o "$OUT/${f%/run-1}.html" || say "no ${f%/run-1}.html (convert failed)"
done
say "outputs in $OUT; status $status"
exit $status
