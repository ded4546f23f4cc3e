#!/usr/bin/env bash
# The whole test suite (unit, native, integration) against a build with AddressSanitizer +
# UndefinedBehaviorSanitizer (-DLOOPPERF_SANITIZE=ON) in build-asan/ (or $BUILD_DIR). Every
# sanitizer error is fatal to the process that hits it and is also written to
# BUILD_DIR/sanitizer/, so one in a process whose exit status a test does not check (a target, a
# helper) still fails this script. Extra arguments go to ctest (e.g. -L unit, -R badinput).
# ctest takes about 10 minutes on 2 cores (the plain suite ~7), plus the build of its own tree;
# docs/hardening.md says when to run it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
BUILD_DIR=${BUILD_DIR:-build-asan}
export BUILD_DIR
# RelWithDebInfo: line numbers in the reports, and optimized enough for the sampling tests' CPU-time
# expectations. No -Werror here: GCC documents that -fsanitize=address makes -Wmaybe-uninitialized
# report false positives (std::regex, std::function); warnings are the plain build's job (test.sh).
scripts/build.sh -DLOOPPERF_SANITIZE=ON -DLOOPPERF_WERROR=OFF -DLOOPPERF_TESTS=ON \
  -DCMAKE_CXX_FLAGS=-Wno-maybe-uninitialized
scripts/build-pprof.sh "$BUILD_DIR"
scripts/install-test-tools.sh "$BUILD_DIR"

logs=$(cd "$BUILD_DIR" && pwd)/sanitizer
rm -rf "$logs"
mkdir -p "$logs"
# halt_on_error: the first error ends the process (UBSan too: the build also has
# -fno-sanitize-recover). detect_leaks: LeakSanitizer works because nothing ptraces loopperf (it is
# the tracer in dump and wall mode, never the tracee). handle_segv=0: tests/integration/harm.test.js
# sends loopperf SIGSEGV on purpose to see the target survive its crash; ASan would catch that signal
# and exit with status 1 and a report instead of dying by it. A real SIGSEGV still kills the process
# and fails its test. Reports go to files named by pid.
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:handle_segv=0:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1:log_path=$logs/asan${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$logs/ubsan${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"

# integration: memory measures loopperf's RSS over 3 minutes; ASan's shadow memory and quarantine
# make that number meaningless, so it is left to the plain suite. LOOPPERF_SANITIZED makes
# badinput.test.js skip its ulimit -v and ulimit -n cases (docs/hardening.md says why).
export LOOPPERF_SANITIZED=1
status=0
(cd "$BUILD_DIR" && ctest --output-on-failure -j"$(nproc)" --timeout 1200 -E '^integration: memory$' "$@") || status=$?

reports=$(find "$logs" -type f | sort)
if [ -n "$reports" ]; then
  echo "test-asan.sh: sanitizer reports:" >&2
  for f in $reports; do
    echo "==== $f" >&2
    cat "$f" >&2
  done
  status=1
fi
if [ "$status" -eq 0 ]; then
  echo "test-asan.sh: the whole suite passed under ASan + UBSan with no sanitizer report"
fi
exit "$status"
