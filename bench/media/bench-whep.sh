#!/usr/bin/env bash
# `npm run bench:whep -- [options]`: what WHEP viewers cost per media engine
# (dist/bench/media/bench-whep.js), in a network namespace that has only loopback. Needs a build.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -f dist/bench/media/bench-whep.js ] || { echo "bench-whep: run npm run build first" >&2; exit 2; }
# shellcheck source-path=SCRIPTDIR source=../../scripts/lib/loopback-netns.sh
source scripts/lib/loopback-netns.sh
run_in_loopback_netns bench-whep node dist/bench/media/bench-whep.js "$@"
