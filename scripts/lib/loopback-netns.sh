# shellcheck shell=bash
# run_in_loopback_netns LABEL CMD...: replace this shell with CMD inside a new network namespace
# that has only loopback, so libwebrtc gathers no candidate on a real interface. Without root
# (no namespace possible) CMD runs in the current namespace, with a warning naming LABEL.
run_in_loopback_netns() {
  local label=$1
  shift
  if [ "$(id -u)" -eq 0 ] && unshare --net true 2>/dev/null; then
    exec unshare --net bash -c 'ip link set lo up && exec "$@"' bash "$@"
  fi
  echo "$label: cannot make a loopback-only network namespace (needs root); running in the current one" >&2
  exec "$@"
}
