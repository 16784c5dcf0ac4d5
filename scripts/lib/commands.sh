# shellcheck shell=bash
# Helpers for the deploy scripts: print every command as a shell line, and run it unless
# DRY_RUN=1. Sourced by scripts/gke-setup.sh, scripts/deploy.sh and scripts/loadgen-job.sh, which set DRY_RUN.

# Print a command as a shell line: plain words as they are, anything else quoted.
show() {
  local a
  printf '+'
  for a in "$@"; do
    if [[ "$a" =~ ^[A-Za-z0-9_./:=,@%+-]+$ ]]; then printf ' %s' "$a"; else printf ' %q' "$a"; fi
  done
  printf '\n'
}
# Print a command, then run it unless --dry-run.
run() {
  show "$@"
  [ "$DRY_RUN" -eq 1 ] || "$@"
}
# A read-only lookup: true when the thing exists. In --dry-run it is printed and counts as absent.
exists() {
  show "$@"
  [ "$DRY_RUN" -eq 0 ] && "$@" >/dev/null 2>&1
}
# A lookup whose output is used; prints nothing in --dry-run.
query() {
  show "$@" >&2
  [ "$DRY_RUN" -eq 1 ] || "$@" 2>/dev/null || true
}
