# Shared by the fake gcloud, kubectl, docker and helm used by test/deploy/scripts.test.ts.
# Every call appends one line "tool arg1 arg2 ..." to $FAKE_LOG. Resources that a fake "creates"
# are files in $FAKE_STATE, so a second run of a script sees them (idempotence tests).
# FAKE_FORBID=1 makes every call fail after logging it (a --dry-run must call nothing).
# shellcheck shell=bash

fake_log() {
  local tool="$1"
  shift
  if [ -n "${FAKE_LOG:-}" ]; then
    { printf '%s' "$tool"; printf ' %s' "$@"; printf '\n'; } >> "$FAKE_LOG"
  fi
  if [ "${FAKE_FORBID:-0}" = "1" ]; then
    echo "fake $tool: called although forbidden" >&2
    exit 97
  fi
}

state() { printf '%s/%s' "${FAKE_STATE:?FAKE_STATE must be set}" "$1"; }
has() { [ -e "$(state "$1")" ]; }
put() { printf '%s' "${2:-}" > "$(state "$1")"; }
