#!/usr/bin/env bash
# `npm run bench:media -- [options]`: the media benchmark (dist/bench/media/bench-media.js) in a
# network namespace that has only loopback, so every server and the load generator meet on
# 127.0.0.1 and ICE gathers nothing else. Needs a build (npm run build) and, for the aiortc
# peer, Debian's python3-aiortc (scripts/install-system-deps.sh installs it).
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -f dist/bench/media/bench-media.js ] || { echo "bench-media: run npm run build first" >&2; exit 2; }
# shellcheck source-path=SCRIPTDIR source=../../scripts/lib/loopback-netns.sh
source scripts/lib/loopback-netns.sh
run_in_loopback_netns bench-media node dist/bench/media/bench-media.js "$@"
