#!/usr/bin/env bash
# Run the rtc-scale load generator: scripts/loadgen.sh --url http://127.0.0.1:8080 [options]
# (all options: scripts/loadgen.sh --help). Builds the project first when dist/ is missing.
# Environment: LOADGEN_URL is used as --url when no --url is given.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -f dist/src/loadgen/cli.js ]; then
  echo "loadgen.sh: building (dist/src/loadgen/cli.js is missing)" >&2
  npm run build --silent
fi

args=("$@")
if [ -n "${LOADGEN_URL:-}" ] && [[ " $* " != *" --url"* ]]; then
  args=(--url "$LOADGEN_URL" "${args[@]}")
fi
# libwebrtc's threads fragment glibc's heap across many sessions without it.
export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}"
exec node --enable-source-maps dist/src/loadgen/cli.js "${args[@]}"
