#!/usr/bin/env bash
# Longer fuzzing (`npm run fuzz`): the property tests of test/fuzz with FUZZ_RUNS times as many
# cases as CI runs (default 20), against the real server, inside a loopback-only network
# namespace like scripts/test.sh. Arguments pick suites by name: `npm run fuzz -- offer process`.
#   FUZZ_RUNS=50 npm run fuzz          more cases
#   FUZZ_SEED=123456 npm run fuzz      replay the seed a failure printed
#   FUZZ_BUILD=0 npm run fuzz          skip the build (dist/ is up to date)
set -euo pipefail
cd "$(dirname "$0")/.."

export FUZZ_RUNS="${FUZZ_RUNS:-20}"
[ -d node_modules ] || npm ci --no-audit --no-fund
[ "${FUZZ_BUILD:-1}" = 0 ] || npm run build --silent

files=()
if [ $# -eq 0 ]; then
  mapfile -t files < <(find dist/test/fuzz -maxdepth 1 -name '*.test.js' | sort)
else
  for name in "$@"; do files+=("dist/test/fuzz/${name}.fuzz.test.js"); done
fi
for f in "${files[@]}"; do [ -f "$f" ] || { echo "fuzz.sh: no such suite: $f" >&2; exit 2; }; done
if [ ${#files[@]} -eq 0 ]; then echo "fuzz.sh: no fuzz tests found (build first)" >&2; exit 1; fi

echo "fuzz.sh: FUZZ_RUNS=${FUZZ_RUNS}${FUZZ_SEED:+ FUZZ_SEED=$FUZZ_SEED}: ${files[*]}"
runner=(node --test --test-reporter=spec --test-timeout=7200000 "${files[@]}")

# shellcheck source-path=SCRIPTDIR source=lib/loopback-netns.sh
source scripts/lib/loopback-netns.sh
run_in_loopback_netns fuzz.sh "${runner[@]}"
