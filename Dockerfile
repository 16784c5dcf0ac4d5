# syntax=docker/dockerfile:1
#
# rtc-scale media server image: `docker build -t rtc-gpu-app .`
#
#   docker run --rm -p 8080:8080 rtc-gpu-app                # CPU (WASM SIMD) backend
#   docker run --rm --gpus all -p 8080:8080 rtc-gpu-app     # NVIDIA GPU through WebGPU/Vulkan
#
# Stage 1 builds on the official Node.js image (Debian): npm ci, the WASM kernels, tsc, the web
# page, then drops the dev dependencies. Stage 2 is plain Debian 12 slim, the distribution of the
# build stage (glibc 2.36: Dawn's prebuilt dawn.node needs >= 2.34); the node binary is copied
# from stage 1, so the image runs the current Node.js LTS whatever the development machines have.
# No CUDA base image: WebGPU runs on Vulkan and no CUDA library is ever loaded, and GPU nodes pull
# the image on every scale-up, so its size is cold-start time. The driver comes from the node
# (GKE's device plugin mounts it under /usr/local/nvidia; the NVIDIA container toolkit elsewhere);
# the image only needs the Vulkan loader and what the NVIDIA Vulkan ICD (libGLX_nvidia.so.0)
# links against.

ARG NODE_IMAGE=node:26-bookworm-slim
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
ENV npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` (the build) needs the sources, copied below; no dependency needs its
# install script on Linux (esbuild's only checks its binary, webgpu's is for macOS).
RUN npm ci --ignore-scripts
COPY tsconfig.json ./
COPY scripts/build.mjs scripts/build.mjs
COPY src src
# The face detector's model (BlazeFace ONNX, Apache-2.0; models/blazeface/).
COPY models models
# webgpu ships Dawn for every platform (about 130 MB); keep only this one's (about 20 MB).
RUN npm run build \
 && rm -rf dist/test dist/bench \
 && npm prune --omit=dev \
 && find node_modules/webgpu/dist -mindepth 1 -maxdepth 1 -type d ! -name "linux-$(node -p process.arch)" -exec rm -rf {} + \
 && find node_modules/onnxruntime-node/bin/napi-v6 -mindepth 1 -maxdepth 1 -type d ! -name linux -exec rm -rf {} + \
 && find node_modules/onnxruntime-node/bin/napi-v6/linux -mindepth 1 -maxdepth 1 -type d ! -name "$(node -p process.arch)" -exec rm -rf {} + \
 && npm cache clean --force

FROM ${RUNTIME_IMAGE} AS runtime
ARG DEBIAN_FRONTEND=noninteractive
# libvulkan1: the Vulkan loader Dawn dlopens. libx11-6, libxext6, libegl1 (+ libglvnd0): what the
# NVIDIA Vulkan ICD and Dawn's EGL/GLES fallback link against. tini: PID 1 that forwards SIGTERM
# to node (the server drains on it) and reaps children. libatomic1: the official Node.js binary
# links against it (the node image has it, debian:bookworm-slim does not; found by image:check).
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      ca-certificates libatomic1 libvulkan1 libx11-6 libxext6 libxcb1 libegl1 libglvnd0 tini \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 rtc \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /app --shell /usr/sbin/nologin rtc

COPY --from=build /usr/local/bin/node /usr/local/bin/node

# No NVIDIA_VISIBLE_DEVICES: on a host with NVIDIA's container runtime, `all` would hand every GPU
# to containers that requested none; the device plugin (Kubernetes) or `--gpus` (docker) sets it.
# NVIDIA_DRIVER_CAPABILITIES must include graphics, or the container toolkit mounts no Vulkan ICD.
# NVIDIA_DISABLE_REQUIRE: the image needs no particular CUDA version (no CUDA is used), so the
# toolkit must not check the host's driver against one.
# LD_LIBRARY_PATH: GKE's device plugin mounts the driver (libGLX_nvidia.so.0, which the ICD json
# names without a path) under /usr/local/nvidia/lib64. The ICD json itself is mounted at
# /etc/vulkan/icd.d (GKE device plugin, nvidia-container-toolkit >= 1.12), which the loader
# searches by default; scripts/docker-entrypoint.sh handles the other layouts (VK_DRIVER_FILES).
# HOME, XDG_CACHE_HOME: /app is read-only for the server's user; caches (the driver's shader
# cache) go to /tmp, an emptyDir in Kubernetes.
ENV NODE_ENV=production \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics,video \
    NVIDIA_DISABLE_REQUIRE=1 \
    LD_LIBRARY_PATH=/usr/local/nvidia/lib64:/usr/local/nvidia/lib \
    PATH=/usr/local/nvidia/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/tmp \
    XDG_CACHE_HOME=/tmp/.cache \
    MALLOC_ARENA_MAX=2 \
    RTC_HOST=0.0.0.0 \
    PORT=8080

WORKDIR /app
COPY --from=build --chown=root:root /app/package.json ./package.json
COPY --from=build --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
COPY --from=build --chown=root:root /app/models ./models
COPY --chmod=755 scripts/docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh

# Numeric so that Kubernetes' runAsNonRoot can verify it; the files stay root-owned and read-only.
USER 10001:10001
EXPOSE 8080/tcp
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/docker-entrypoint.sh"]
CMD ["node", "--enable-source-maps", "dist/src/server/main.js"]
