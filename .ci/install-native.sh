#!/usr/bin/env bash
# Installs what @hypernets/native needs on a Debian/Ubuntu CI machine: a C compiler and libc
# headers (its install step compiles src/binding.c) and OpenBLAS, which the addon dlopens
# (libopenblas0-pthread also gives Debian's python3-torch, the benchmarks' reference, OpenBLAS
# instead of the reference BLAS). Idempotent: installs only what is missing.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "install-native: need root or sudo to install packages" >&2; exit 1
  fi
fi

missing=()
command -v cc >/dev/null 2>&1 || missing+=(gcc)
dpkg -s libc6-dev >/dev/null 2>&1 || missing+=(libc6-dev)
dpkg -s libopenblas0-pthread >/dev/null 2>&1 || missing+=(libopenblas0-pthread)

if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-native: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "install-native: a C compiler and OpenBLAS already present"
fi
