#!/usr/bin/env bash
# Installs the real consumers the format tests check loopperf's output with, all cached:
# - from the npm registry into BUILD_DIR/test-tools: speedscope (its file-format schema, and its app,
#   whose importer runs in the browser), ajv (JSON-schema validator), ws (DevTools protocol client),
#   @datadog/pprof (Node's pprof package, to write a profile as Node users do);
# - from Debian: chromium, run headless for the HTML flame graph, speedscope and DevTools itself.
# Idempotent: quiet and quick when everything is already there.
# Usage: scripts/install-test-tools.sh [BUILD_DIR]   (BUILD_DIR defaults to $BUILD_DIR or build)
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${1:-${BUILD_DIR:-build}}
tools=$build_dir/test-tools
# Pinned so that a new release cannot change what the tests check against.
npm_packages=(speedscope@1.25.0 ajv@8.17.1 ws@8.18.0 @datadog/pprof@5.20.0)

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
if ! command -v chromium >/dev/null; then
  echo "install-test-tools: installing chromium" >&2
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq >/dev/null
  $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi

stamp=$tools/.installed
want="${npm_packages[*]}"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -f "$tools/node_modules/speedscope/dist/release/file-format-schema.json" ]; then
  exit 0
fi
if ! command -v npm >/dev/null; then
  echo "install-test-tools: npm not found: install nodejs and npm (scripts/install-deps.sh)" >&2
  exit 1
fi
echo "install-test-tools: installing ${want} into $tools" >&2
mkdir -p "$tools"
[ -f "$tools/package.json" ] || echo '{"private": true, "description": "loopperf test tools"}' >"$tools/package.json"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! npm install --prefix "$tools" --no-audit --no-fund --no-save --loglevel=error "${npm_packages[@]}" >"$log" 2>&1; then
  echo "install-test-tools: npm install failed:" >&2
  cat "$log" >&2
  exit 1
fi
echo "$want" >"$stamp"
