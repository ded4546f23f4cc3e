#!/usr/bin/env bash
# Builds Google's pprof from Debian's packaged sources (golang-github-google-pprof-dev), offline, into
# BUILD_DIR/pprof, so tests can check that the real tool reads our files.
# Usage: scripts/build-pprof.sh [-v] [BUILD_DIR]   (BUILD_DIR defaults to build)
# Silent on success unless -v; skips the build when the binary is newer than every source it uses.
set -euo pipefail
cd "$(dirname "$0")/.."

verbose=0
build_dir=build
for arg in "$@"; do
  case "$arg" in
    -v) verbose=1 ;;
    -h|--help) sed -n '2,5s/^# \{0,1\}//p' "$0"; exit 0 ;;
    -*) echo "build-pprof.sh: unknown option $arg" >&2; exit 2 ;;
    *) build_dir=$arg ;;
  esac
done
say() { if [ "$verbose" = 1 ]; then echo "build-pprof.sh: $*"; fi; }

# GOPATH mode over Debian's /usr/share/gocode: no module proxy, no network.
export GOPATH=/usr/share/gocode GO111MODULE=off GOFLAGS='' GOPROXY=off
pkg=github.com/google/pprof
if ! command -v go >/dev/null; then
  echo "build-pprof.sh: go not found: install golang-go (scripts/install-deps.sh)" >&2
  exit 1
fi
if [ ! -d "$GOPATH/src/$pkg" ]; then
  echo "build-pprof.sh: $GOPATH/src/$pkg not found: install golang-github-google-pprof-dev" >&2
  exit 1
fi

mkdir -p "$build_dir"
build_dir=$(cd "$build_dir" && pwd)
bin=$build_dir/pprof
export GOCACHE=$build_dir/.gocache

if [ -x "$bin" ]; then
  # Non-standard-library package directories pprof is built from (pprof itself, readline, demangle).
  dirs=$(go list -deps -f '{{if not .Standard}}{{.Dir}}{{end}}' "$pkg" 2>/dev/null || echo "$GOPATH/src/$pkg")
  # shellcheck disable=SC2086 # one directory per word
  if [ -z "$(find $dirs -newer "$bin" -print -quit)" ] && [ "$bin" -nt "$(command -v go)" ]; then
    say "$bin is up to date"
    exit 0
  fi
fi

say "building $bin"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! go build -o "$bin.tmp" "$pkg" >"$log" 2>&1; then
  echo "build-pprof.sh: go build $pkg failed:" >&2
  cat "$log" >&2
  rm -f "$bin.tmp"
  exit 1
fi
mv -f "$bin.tmp" "$bin"
say "built $bin"
