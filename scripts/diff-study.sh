#!/usr/bin/env bash
# How `loopperf diff` does on real programs not written here: markdown-it, marked and prettier on
# fixed inputs, recorded in launch mode, base against base and against a head where one function
# costs twice as much (scripts/diff-study/study.js says what is drawn and counted). The figures go
# into docs/diff.md by hand. Takes ~5 minutes on 2 cores (54 recordings, 180 diffs).
# Usage: scripts/diff-study.sh [study.js options: --programs a,b --base 12 --head 6 --runs 3 --draws 20 --seed 1 --json FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
if [ ! -x "$BUILD_DIR/loopperf" ]; then
  echo "diff-study: building loopperf into $BUILD_DIR ..." >&2
  BUILD_DIR=$BUILD_DIR BUILD_TARGET=loopperf scripts/build.sh
fi
scripts/install-test-tools.sh "$BUILD_DIR" >&2
TEST_APPS=$(cd "$BUILD_DIR/test-apps" && pwd) exec node scripts/diff-study/study.js --loopperf "$BUILD_DIR/loopperf" "$@"
