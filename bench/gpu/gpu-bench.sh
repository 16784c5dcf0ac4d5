#!/usr/bin/env bash
# The real-GPU benchmark: 1920x1080 RGBA x10 blur on our WebGPU backend (kernel time from
# timestamp queries, and upload+kernel+readback), on the CPU backend, and in PyTorch on the same
# GPU when `python3 -c 'import torch'` works. Prints ONE JSON object on stdout.
#
#   bench/gpu/gpu-bench.sh [bench options]    run here (needs `npm run build` first; `npm run gpu-bench --`)
#   bench/gpu/gpu-bench.sh --pack DIR         copy everything the run needs into DIR, including
#                                             the node binary, for a machine without Node.js:
#                                             then run DIR/gpu-bench.sh there
#
# Bench options (passed to dist/bench/gpu/gpu-bench.js, built from bench/gpu/gpu-bench.ts): --width N --height N --iterations N
# --runs N (default 30) --warmup N (default 5) --cpu-runs N (0 skips the CPU backend) --no-torch
# --python PATH --torch-device cpu (checks the PyTorch arithmetic where there is no GPU) --no-faces
# --face-runs N (the anonymize filter's face detector per ONNX provider: webgpu and cpu, 360p/720p/1080p).  Environment: RTC_GPU_ALLOW_SOFTWARE=1 accepts a software adapter (lavapipe),
# RTC_GPU_DAWN_OPTIONS (comma separated, e.g. backend=vulkan), RTC_CPU_WORKERS.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# In the repository this script lives in bench/gpu/; in a packed folder it lives at the top. Both
# have the same layout below: dist/bench/gpu/gpu-bench.js, dist/src/..., bench/gpu/torch-blur.py.
if [[ -x "$here/bin/node" && -f "$here/dist/bench/gpu/gpu-bench.js" ]]; then
  root="$here"; packed=1
else
  root="$(cd "$here/../.." && pwd)"; packed=0
fi
bench="$root/dist/bench/gpu/gpu-bench.js"

pack() {
  local dest="$1"
  [[ -n "$dest" ]] || { echo "usage: $0 --pack DIR" >&2; exit 2; }
  local node_bin
  node_bin="$(node -p 'process.execPath')"
  [[ -f "$bench" ]] || { echo "gpu-bench: run 'npm run build' first (dist/ is missing)" >&2; exit 1; }
  local dawn_dir="node_modules/webgpu/dist/$(node -p 'process.platform + "-" + process.arch')"
  mkdir -p "$dest/bin" "$dest/bench/gpu" "$dest/lib" "$dest/dist/src" "$dest/dist/bench" "$dest/$dawn_dir"
  cp "$node_bin" "$dest/bin/node"
  # The compiled benchmark with the modules it imports (the processing backends, the protocol's
  # names they use, the command-line kit) and the CPU backend's WASM kernels; package.json makes
  # dist/*.js ES modules ("type": "module").
  cp -r "$root/dist/src/processing" "$root/dist/src/protocol" "$root/dist/src/toolkit" "$dest/dist/src/"
  cp -r "$root/dist/bench/gpu" "$dest/dist/bench/"
  [[ -d "$root/dist/wasm" ]] && cp -r "$root/dist/wasm" "$dest/dist/"
  printf '{ "name": "rtc-scale-gpu-bench", "private": true, "type": "module" }\n' > "$dest/package.json"
  # webgpu's loader and only this platform's dawn.node (the package ships every platform).
  cp "$root/node_modules/webgpu/index.js" "$root/node_modules/webgpu/package.json" "$dest/node_modules/webgpu/"
  cp "$root/$dawn_dir/dawn.node" "$dest/$dawn_dir/"
  # The face detector: onnxruntime-node (its JS, and only this platform's binary: CPU and WebGPU
  # providers), onnxruntime-common, and the model (dist/src/.. -> models/ next to dist/).
  local ort_bin="node_modules/onnxruntime-node/bin/napi-v6/$(node -p 'process.platform + "/" + process.arch')"
  mkdir -p "$dest/$ort_bin" "$dest/node_modules/onnxruntime-node" "$dest/models"
  cp -r "$root/node_modules/onnxruntime-node/dist" "$root/node_modules/onnxruntime-node/package.json" "$dest/node_modules/onnxruntime-node/"
  cp "$root/$ort_bin"/* "$dest/$ort_bin/"
  cp -r "$root/node_modules/onnxruntime-common" "$dest/node_modules/"
  cp -r "$root/models/blazeface" "$dest/models/"
  cp "$root/bench/gpu/torch-blur.py" "$dest/bench/gpu/"
  cp "$root/bench/gpu/gpu-bench.sh" "$dest/gpu-bench.sh"
  # The Vulkan loader, used there only when the machine has none of its own (the NVIDIA driver
  # brings the ICD, not always the loader).
  local loader
  # (The cache is read whole first: a reader that stops early would kill ldconfig with SIGPIPE under pipefail.)
  local cache
  cache="$(ldconfig -p 2>/dev/null || true)"
  loader="$(awk '/libvulkan\.so\.1 / && !found {print $NF; found=1}' <<<"$cache")"
  if [[ -n "$loader" ]]; then cp -L "$loader" "$dest/lib/libvulkan.so.1"; fi
  echo "gpu-bench: packed into $dest ($(du -sh "$dest" | cut -f1)); copy it over and run $dest/gpu-bench.sh" >&2
}

if [[ "${1:-}" == "--pack" ]]; then
  pack "${2:-}"
  exit 0
fi

if [[ "$packed" == 1 ]]; then
  node_bin="$root/bin/node"
  # Prefer the machine's own Vulkan loader; fall back to the packed one.
  if ! grep -q 'libvulkan\.so\.1 ' <<<"$(ldconfig -p 2>/dev/null || true)"; then
    export LD_LIBRARY_PATH="$root/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  fi
else
  node_bin="$(command -v node || true)"
  [[ -n "$node_bin" ]] || { echo "gpu-bench: no node here; pack with --pack DIR on a machine that has it" >&2; exit 1; }
  [[ -f "$bench" ]] || { echo "gpu-bench: run 'npm run build' first" >&2; exit 1; }
fi
exec "$node_bin" "$bench" "$@"
