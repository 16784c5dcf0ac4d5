#!/bin/sh
# Container entrypoint: makes sure the Vulkan loader finds the NVIDIA driver wherever the platform
# mounted it, then runs the command (the server) in place of this shell.
#
# The loader reads ICD json files from /etc/vulkan/icd.d and /usr/share/vulkan/icd.d by itself,
# which is where the nvidia-container-toolkit (docker --gpus, capability "graphics") and GKE's
# device plugin put nvidia_icd.json. Other layouts keep it beside the driver under /usr/local/nvidia;
# then VK_DRIVER_FILES (loader >= 1.3.234) and VK_ICD_FILENAMES (older loaders) point at it.
# When a driver is mounted but no json at all, one is written to a writable temp dir.
# Nothing happens when the user set either variable, or when there is no GPU (the server then
# runs on CPU and, with RTC_EXPECT_GPU=1, says so in its log, /healthz and rtc_gpu_fallback).
# RTC_FS_ROOT prefixes every path (tests only).
set -eu

root="${RTC_FS_ROOT:-}"
note() { printf 'docker-entrypoint: %s\n' "$*" >&2; }

has_json() {
  for f in "$1"/*.json; do
    [ -e "$f" ] && return 0
  done
  return 1
}

if [ -z "${VK_DRIVER_FILES:-}" ] && [ -z "${VK_ICD_FILENAMES:-}" ] \
   && ! has_json "$root/etc/vulkan/icd.d" && ! has_json "$root/usr/share/vulkan/icd.d"; then
  icd=""
  for f in "$root/usr/local/nvidia/vulkan/icd.d/nvidia_icd.json" \
           "$root/usr/local/nvidia/icd.d/nvidia_icd.json" \
           "$root/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json" \
           "$root/usr/local/nvidia/etc/vulkan/icd.d/nvidia_icd.json"; do
    if [ -e "$f" ]; then icd="$f"; break; fi
  done
  if [ -z "$icd" ]; then
    for lib in "$root/usr/local/nvidia/lib64/libGLX_nvidia.so.0" "$root/usr/local/nvidia/lib/libGLX_nvidia.so.0"; do
      if [ -e "$lib" ]; then
        dir="${TMPDIR:-/tmp}/rtc-vulkan-icd"
        if mkdir -p "$dir" 2>/dev/null; then
          icd="$dir/nvidia_icd.json"
          printf '{"file_format_version":"1.0.0","ICD":{"library_path":"%s","api_version":"1.3.0"}}\n' "$lib" > "$icd"
          note "no Vulkan ICD json was mounted; wrote $icd for $lib"
        fi
        break
      fi
    done
  fi
  if [ -n "$icd" ]; then
    VK_DRIVER_FILES="$icd"
    VK_ICD_FILENAMES="$icd"
    export VK_DRIVER_FILES VK_ICD_FILENAMES
    note "Vulkan ICD: $icd"
  fi
fi

exec "$@"
