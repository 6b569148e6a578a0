#!/usr/bin/env bash
# Installs what the WebGPU backend needs on a CPU-only Debian/Ubuntu CI machine:
#   - the Vulkan loader (libvulkan1), which Dawn (npm package "webgpu") dlopens;
#   - Chromium, whose package ships SwiftShader's Vulkan driver
#     (/usr/lib/chromium/libvk_swiftshader.so + vk_swiftshader_icd.json).
# Mesa's lavapipe (mesa-vulkan-drivers) is deliberately not used: Debian 12's is too old for Dawn.
# Idempotent: installs only what is missing; safe to run on every CI job.
# After it, point the Vulkan loader at SwiftShader (the backend also does this itself when
# nothing else is configured):
#   export VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "install-webgpu: need root or sudo to install packages" >&2; exit 1
  fi
fi

missing=()
dpkg -s libvulkan1 >/dev/null 2>&1 || missing+=(libvulkan1)
icd=""
for f in /usr/lib/chromium/vk_swiftshader_icd.json /usr/lib/chromium-browser/vk_swiftshader_icd.json; do
  if [ -f "$f" ]; then icd="$f"; break; fi
done
[ -n "$icd" ] || missing+=(chromium)

if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-webgpu: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  for f in /usr/lib/chromium/vk_swiftshader_icd.json /usr/lib/chromium-browser/vk_swiftshader_icd.json; do
    if [ -f "$f" ]; then icd="$f"; break; fi
  done
else
  echo "install-webgpu: libvulkan1 and SwiftShader already present"
fi

if [ -z "$icd" ]; then
  # Ubuntu's "chromium" is a snap stub without the ICD; say so instead of failing later.
  echo "install-webgpu: no vk_swiftshader_icd.json found after installing chromium" \
       "(on Ubuntu the apt package is a snap shim; use a Debian image or a chromium .deb)" >&2
  exit 1
fi
echo "install-webgpu: SwiftShader ICD at $icd"
# On GitHub Actions, export it to later steps unless the job configured its own ICD.
if [ -n "${GITHUB_ENV:-}" ] && [ -z "${VK_ICD_FILENAMES:-}${VK_DRIVER_FILES:-}" ]; then
  echo "VK_ICD_FILENAMES=$icd" >> "$GITHUB_ENV"
fi
