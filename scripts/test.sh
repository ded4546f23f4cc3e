#!/usr/bin/env bash
# The test command: installs dependencies, builds (warnings are errors), builds Google's pprof for
# the checks that read our files with the real tool, installs the real consumers of our formats and
# the node lines the tests run on, runs every test through ctest, and ends with a summary: passed,
# failed, skipped, and the reason of every skip.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
scripts/install-deps.sh
BUILD_DIR=${BUILD_DIR:-build}
export BUILD_DIR
scripts/build.sh -DLOOPPERF_WERROR=ON -DLOOPPERF_TESTS=ON
scripts/build-pprof.sh "$BUILD_DIR"
scripts/install-test-tools.sh "$BUILD_DIR"
# The node lines every capability is tested on (scripts/test-nodes.sh), into a cache outside the
# repository; installed here, so a line missing later fails its tests instead of being skipped.
scripts/install-test-nodes.sh
# A distribution's node (Debian 12's, libnode + the system's libuv), for tests/integration/distro_node.test.js.
scripts/install-distro-node.sh
export LOOPPERF_REQUIRE_NODES=${LOOPPERF_REQUIRE_NODES:-1}
# libFuzzer smoke run, before ctest so its summary stays the last word (docs/hardening.md); ~2 min.
if [ "${LOOPPERF_FUZZ_SMOKE:-1}" = 1 ]; then scripts/fuzz.sh --smoke; fi
cd "$BUILD_DIR"
# The JUnit file keeps every test's output (passed ones too, untruncated) for the summary below:
# skips and their reasons (scripts/test-summary.js). ctest's exit status is the script's.
status=0
ctest --output-on-failure -j"$(nproc)" --timeout 600 --output-junit ctest-junit.xml \
  --test-output-size-passed 1048576 --test-output-size-failed 1048576 "$@" || status=$?
node "$ROOT/scripts/test-summary.js" ctest-junit.xml || true
exit "$status"
