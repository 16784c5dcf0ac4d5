#!/usr/bin/env bash
# The whole test suite: `npm test` and .ci/run both call this.
# 1. installs missing system packages (chromium, prometheus, coturn, Mesa/lavapipe, ...),
# 2. installs npm packages when node_modules is missing, builds,
# 3. runs every test file with node's test runner inside a network namespace that has only
#    loopback, so WebRTC gathers no candidate on a real interface.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-system-deps.sh
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run build --silent

mapfile -t files < <(find dist/test -name '*.test.js' | sort)
if [ ${#files[@]} -eq 0 ]; then echo "no test files found" >&2; exit 1; fi

mkdir -p test-output
export RTC_TEST_OUTPUT="$PWD/test-output"
runner=(node --test --test-reporter=spec --test-timeout=300000 "${files[@]}")

# shellcheck source-path=SCRIPTDIR source=lib/loopback-netns.sh
source scripts/lib/loopback-netns.sh
run_in_loopback_netns test.sh "${runner[@]}"
