#!/usr/bin/env bash
# Installs a distribution's node for the tests (tests/integration/distro_node.test.js): Debian 12's
# nodejs 18, which runs node as a shared library (libnode108) with the system's libuv1, both
# stripped of local symbols. Extracted with `apt-get download` + `dpkg -x` into the test cache,
# outside the repository and without touching the system:
#   $(scripts/test-nodes.sh --cache)/debian12/root/usr/bin/node
# together with the packages whose JavaScript it loads from /usr/share/nodejs (the test shows that
# directory to it in a private mount namespace). libuv1 and the other libraries it links are the
# machine's own (Debian 12 has them installed).
# On a machine that is not Debian 12 with apt, prints why and does nothing (the test then says so
# too). Idempotent; serialised by the cache's lock file.
# Usage: scripts/install-distro-node.sh [--root]   (--root: print the root directory and exit)
set -euo pipefail
cd "$(dirname "$0")/.."

cache=$(scripts/test-nodes.sh --cache)
dir=$cache/debian12
if [ "${1:-}" = --root ]; then echo "$dir/root"; exit 0; fi

say() { echo "install-distro-node: $*" >&2; }
if [ -f "$dir/.installed" ] && [ -x "$dir/root/usr/bin/node" ]; then exit 0; fi
if ! command -v apt-get >/dev/null || ! grep -q '^VERSION_CODENAME=bookworm' /etc/os-release 2>/dev/null; then
  say "not a Debian 12 machine with apt: Debian's node is not installed (its test is skipped)"
  exit 0
fi
# Debian's own version (the machine may have another nodejs installed, e.g. NodeSource's, which apt
# would pick for `nodejs`): the newest libnode108 in the package lists, and nodejs of the same version.
version=$(apt-cache madison libnode108 | awk 'NR == 1 {print $3}')
[ -n "$version" ] || { say "no libnode108 in apt's package lists: run apt-get update"; exit 1; }
packages=("nodejs=$version" "libnode108=$version" node-acorn node-cjs-module-lexer node-undici)
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if [ -f "$dir/.installed" ] && [ -x "$dir/root/usr/bin/node" ]; then exit 0; fi
say "installing Debian 12's nodejs $version into $dir"
rm -rf "$dir"
mkdir -p "$dir/debs" "$dir/root"
# apt's sandbox user cannot write into a root-only cache directory: download from a world-writable one.
tmp=$(mktemp -d)
chmod 755 "$tmp"
trap 'rm -rf "$tmp"' EXIT
if ! (cd "$tmp" && apt-get download -q "${packages[@]}" >/dev/null 2>"$tmp/err"); then
  cat "$tmp/err" >&2
  say "apt-get download failed: run apt-get update (Debian's package lists) and try again"
  exit 1
fi
mv "$tmp"/*.deb "$dir/debs/"
for deb in "$dir"/debs/*.deb; do dpkg -x "$deb" "$dir/root"; done
[ -x "$dir/root/usr/bin/node" ] || { say "no usr/bin/node in the extracted packages"; exit 1; }
echo "$version" >"$dir/.installed"
