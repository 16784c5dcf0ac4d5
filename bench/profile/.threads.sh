set -euo pipefail
cd /work/main
source scripts/lib/loopback-netns.sh
run_in_loopback_netns threads bash -c '
  port=18556; sessions=$1
  RTC_MEDIA_ENGINE=native RTC_LOG_LEVEL=warn PORT=$port node dist/src/server/main.js > /tmp/threads-server.log 2>&1 &
  spid=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
  snap() { for t in /proc/$spid/task/*; do echo "$(basename $t) $(awk "{print \$14+\$15}" $t/stat)"; done | sort; }
  node dist/src/loadgen/cli.js --url "http://127.0.0.1:$port" --engine native --sessions $sessions --duration 24s --filter none --resolution 640x360 --quiet --out /tmp/threads-lg > /tmp/threads-lg.log 2>&1 &
  lg=$!
  sleep 6; snap > /tmp/threads-a; f0=$(curl -sf http://127.0.0.1:$port/metrics | awk "/^rtc_frames_received_total/ {s+=\$2} END {print s+0}"); sleep 15; snap > /tmp/threads-b; f1=$(curl -sf http://127.0.0.1:$port/metrics | awk "/^rtc_frames_received_total/ {s+=\$2} END {print s+0}")
  wait $lg || true
  kill -INT $spid; wait $spid || true
  echo "frames/s $(( (f1-f0)/15 ))"
  join /tmp/threads-a /tmp/threads-b | awk -v main=$spid "{d=\$3-\$2; if (\$1==main) m+=d; else if (d>0) {o+=d; n++}} END {printf \"main %.1f %%, other threads %.1f %% (%d threads with CPU)\n\", m/15, o/15, n}"
' bash "$1"
