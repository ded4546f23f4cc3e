#!/usr/bin/env bash
# Configures and builds loopperf into build/ (or $BUILD_DIR); BUILD_TARGET builds one target only.
# Extra arguments go to cmake.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo} "$@" >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)" ${BUILD_TARGET:+--target "$BUILD_TARGET"} 2>&1 | grep -Ev '^\[ *[0-9]+%\]|^-- ' || true
test -x "$BUILD_DIR/loopperf"
