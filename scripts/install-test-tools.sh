#!/usr/bin/env bash
# Installs the real consumers the format tests check loopperf's output with, all cached:
# - from the npm registry into BUILD_DIR/test-tools: speedscope (its file-format schema, and its app,
#   whose importer runs in the browser), ajv (JSON-schema validator), ws (DevTools protocol client),
#   @datadog/pprof (Node's pprof package, to write a profile as Node users do);
# - from Debian: chromium, run headless for the HTML flame graph, speedscope and DevTools itself;
# - from the npm registry into BUILD_DIR/test-apps: real packages the real-program tests run
#   (tests/integration/corpus.test.js, scripts/diff-study.sh): prettier, marked, markdown-it, express,
#   piscina.
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

log=$(mktemp)
trap 'rm -f "$log"' EXIT

# npm_install DIR CHECK_FILE PACKAGE...: installs the pinned packages into DIR unless its stamp says
# they are there already (and CHECK_FILE exists).
npm_install() {
  local dir=$1 check=$2
  shift 2
  local stamp=$dir/.installed want="$*"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -f "$dir/node_modules/$check" ]; then
    return 0
  fi
  if ! command -v npm >/dev/null; then
    echo "install-test-tools: npm not found: install nodejs and npm (scripts/install-deps.sh)" >&2
    exit 1
  fi
  echo "install-test-tools: installing ${want} into $dir" >&2
  mkdir -p "$dir"
  [ -f "$dir/package.json" ] || echo '{"private": true, "description": "loopperf test tools"}' >"$dir/package.json"
  if ! npm install --prefix "$dir" --no-audit --no-fund --no-save --loglevel=error "$@" >"$log" 2>&1; then
    echo "install-test-tools: npm install failed:" >&2
    cat "$log" >&2
    exit 1
  fi
  echo "$want" >"$stamp"
}

npm_install "$tools" speedscope/dist/release/file-format-schema.json "${npm_packages[@]}"
# Pinned as well: the real programs' stacks are what the corpus tests read.
npm_install "$build_dir/test-apps" prettier/package.json prettier@3.10.1 marked@18.3.0 markdown-it@15.0.3 express@5.3.0 piscina@5.3.2
