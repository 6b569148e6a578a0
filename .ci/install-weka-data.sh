#!/usr/bin/env bash
# Reuters-21578 grain/corn (the text tasks' ARFF files) come from Debian's `weka` package. Weka
# itself needs Java to install, but its example files do not: download the .deb and unpack it
# without installing (no root needed). Prints the examples directory; idempotent.
set -euo pipefail
dest="${1:-${HOME}/.cache/hypernets/weka}"
examples="$dest/usr/share/doc/weka/examples"
if [ -f "$examples/ReutersGrain-train.arff" ]; then echo "$examples"; exit 0; fi
if [ -f /usr/share/doc/weka/examples/ReutersGrain-train.arff ]; then echo /usr/share/doc/weka/examples; exit 0; fi
mkdir -p "$dest"
tmp=$(mktemp -d)
( cd "$tmp" && apt-get download weka >/dev/null 2>&1 ) || {
  [ "$(id -u)" -eq 0 ] && apt-get update -qq >/dev/null && ( cd "$tmp" && apt-get download weka >/dev/null 2>&1 )
} || { echo "install-weka-data: apt-get download weka failed" >&2; exit 1; }
dpkg -x "$tmp"/weka_*.deb "$dest"
rm -rf "$tmp"
echo "$examples"
