#!/usr/bin/env bash
# Profile the native engine's server under the load generator's native client (issue 19's cost
# breakdown): `bash bench/profile/profile-native.sh SESSIONS SECONDS OUTDIR [SERVER_JS] [WxH]`.
# Runs in a loopback-only network namespace: the server with `node --cpu-prof`, the load
# generator (native client, filter none), and the server's CPU time from /proc over the run.
# Then `node dist/bench/profile/cost-breakdown.js OUTDIR/*.cpuprofile` prints the per-step table.
# PERF=1 adds OUTDIR/perf.data (`perf report -i OUTDIR/perf.data --sort dso,sym`).
# cpu.json splits the server's CPU into its main thread and the others (libuv's pool: the codecs;
# V8's helpers), from /proc/PID/task. GC_TRACE=1 adds --trace-gc to the server (its pauses in
# OUTDIR/server.log): the CPU profile's "(garbage collector)" share was 3-4 times the pauses
# --trace-gc reports in the same run (docs/measurements/2026-12-06-native-cost-threads.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
sessions=${1:?sessions} seconds=${2:?seconds} out=${3:?outdir}
server=${4:-dist/src/server/main.js} res=${5:-640x360}
mkdir -p "$out"
out=$(cd "$out" && pwd)
# shellcheck source-path=SCRIPTDIR source=../../scripts/lib/loopback-netns.sh
source scripts/lib/loopback-netns.sh
run_in_loopback_netns profile-native bash -c '
  set -euo pipefail
  sessions=$1 seconds=$2 out=$3 server=$4 res=$5
  port=18$((RANDOM % 900 + 100))
  gc=""; [ "${GC_TRACE:-0}" = 1 ] && gc=--trace-gc
  RTC_MEDIA_ENGINE=native RTC_LOG_LEVEL=warn PORT=$port node $gc --cpu-prof --cpu-prof-dir="$out" "$server" >"$out/server.log" 2>&1 &
  spid=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
  frames() { curl -sf "http://127.0.0.1:$port/metrics" | awk "/^rtc_frames_received_total/ {s+=\$2} END {print s+0}"; }
  f0=$(frames)
  t0=$(awk "{print \$14+\$15}" /proc/$spid/stat)
  m0=$(awk "{print \$14+\$15}" /proc/$spid/task/$spid/stat)
  s0=$(date +%s.%N)
  # PERF=1: also sample the whole server process (every thread: the codecs on the thread pool) with perf
  if [ "${PERF:-0}" = 1 ]; then perf record -q -e cpu-clock -F 499 -p $spid -o "$out/perf.data" -- sleep $((seconds - 3)) >/dev/null 2>&1 & fi
  node dist/src/loadgen/cli.js --url "http://127.0.0.1:$port" --engine native --sessions "$sessions" --duration "${seconds}s" \
    --filter none --resolution "$res" --quiet --out "$out/loadgen" >"$out/loadgen.log" 2>&1 || true
  t1=$(awk "{print \$14+\$15}" /proc/$spid/stat)
  m1=$(awk "{print \$14+\$15}" /proc/$spid/task/$spid/stat)
  f1=$(frames)
  s1=$(date +%s.%N)
  kill -INT $spid; wait $spid || true
  echo "{\"sessions\": $sessions, \"serverCpuTicks\": $((t1 - t0)), \"mainThreadTicks\": $((m1 - m0)), \"framesDecoded\": $((f1 - f0)), \"wallS\": $(echo "$s1 - $s0" | bc)}" > "$out/cpu.json"
  cat "$out/cpu.json"
' bash "$sessions" "$seconds" "$out" "$server" "$res"
