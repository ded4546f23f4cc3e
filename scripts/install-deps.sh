#!/usr/bin/env bash
# Installs what loopperf needs to build and test, from Debian's packages. Idempotent: quiet and
# quick when everything is already there.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libunwind-dev libdw-dev libelf-dev zlib1g-dev
  libprotobuf-dev protobuf-compiler
  libcli11-dev catch2
  golang-go golang-github-google-pprof-dev   # Google's pprof: the schema, and the real tool for tests
  libc6-dbg                                  # glibc's local function names (start_thread, __libc_start_call_main ...)
  time                                       # GNU time: memory.test.js reads a command's peak RSS
)
[ "${LOOPPERF_WITH_NODE:-1}" = 1 ] && ! command -v node >/dev/null && packages+=(nodejs)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
