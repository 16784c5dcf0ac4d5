#!/usr/bin/env bash
# Installs the Debian packages the test suite needs, only when something is missing.
# Idempotent and quick when everything is present; called by `npm test` and .ci/run.
# With --image, also what `npm run image:check` needs (buildah, podman with runc, mmdebstrap).
set -euo pipefail

need=()
if [ "${1:-}" = --image ]; then
  for tool in buildah podman mmdebstrap runc curl; do command -v "$tool" >/dev/null 2>&1 || need+=("$tool"); done
fi
# The load balancer in front of the three-replica test (test/integration/cluster-forwarding.test.ts).
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || need+=(haproxy)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v prometheus >/dev/null 2>&1 || need+=(prometheus)
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v turnserver >/dev/null 2>&1 || need+=(coturn)
command -v shellcheck >/dev/null 2>&1 || need+=(shellcheck)
command -v unshare >/dev/null 2>&1 || need+=(util-linux)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
[ -e /usr/lib/x86_64-linux-gnu/libvulkan.so.1 ] || [ -e /usr/lib/aarch64-linux-gnu/libvulkan.so.1 ] || need+=(libvulkan1)
ldconfig -p 2>/dev/null | grep -q 'libEGL.so.1' || need+=(libegl1)
# aiortc (Debian's 1.4) as a test client and as the media benchmark's peer, under Debian's own python3.
/usr/bin/python3 -c 'import aiortc, aiohttp, numpy' >/dev/null 2>&1 || need+=(python3-aiortc python3-aiohttp python3-numpy)
# The face tests and evaluation read scikit-image's public test images (astronaut.png, lfw_subset.npy).
[ -e /usr/lib/python3/dist-packages/skimage/data/lfw_subset.npy ] || need+=(python3-skimage)

# Dawn refuses Debian 12's own Mesa 22 lavapipe; Mesa >= 25 from bookworm-backports works.
mesa_ok() {
  local v
  v=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true)
  [ -n "$v" ] && dpkg --compare-versions "$v" ge 25
}
need_mesa=0
mesa_ok || need_mesa=1

if [ ${#need[@]} -eq 0 ] && [ $need_mesa -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-system-deps: missing ${need[*]:-} ${need_mesa:+mesa-vulkan-drivers>=25}; run as root or install them" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive

add_backports() {
  # The backports suite lives on the same mirror as the main suite: derive its entry from there.
  if grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then return 0; fi
  local uri
  uri=$(grep -rhs '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -m1 '/debian/\?$' || true)
  if [ -z "$uri" ]; then
    uri=$(grep -hs '^deb ' /etc/apt/sources.list 2>/dev/null | awk '$3=="bookworm"{print $2; exit}' || true)
  fi
  [ -n "$uri" ] || uri=http://deb.debian.org/debian
  cat > /etc/apt/sources.list.d/bookworm-backports.sources <<SRC
Types: deb
URIs: $uri
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
}

[ $need_mesa -eq 1 ] && add_backports
apt-get update -qq
if [ ${#need[@]} -gt 0 ]; then
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if [ $need_mesa -eq 1 ]; then
  apt-get install -y -qq --no-install-recommends -t bookworm-backports mesa-vulkan-drivers >/dev/null
fi
echo "install-system-deps: installed ${need[*]:-} $([ $need_mesa -eq 1 ] && echo mesa-vulkan-drivers/bookworm-backports)"
