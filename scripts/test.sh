#!/usr/bin/env bash
# The test command: installs dependencies, builds (warnings are errors), builds Google's pprof for
# the checks that read our files with the real tool, and runs every test through ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
BUILD_DIR=${BUILD_DIR:-build}
export BUILD_DIR
scripts/build.sh -DLOOPPERF_WERROR=ON -DLOOPPERF_TESTS=ON
scripts/build-pprof.sh "$BUILD_DIR"
scripts/install-test-tools.sh "$BUILD_DIR"
# libFuzzer smoke run, before ctest so its summary stays the last word (docs/hardening.md); ~2 min.
if [ "${LOOPPERF_FUZZ_SMOKE:-1}" = 1 ]; then scripts/fuzz.sh --smoke; fi
cd "$BUILD_DIR"
ctest --output-on-failure -j"$(nproc)" --timeout 600 "$@"
