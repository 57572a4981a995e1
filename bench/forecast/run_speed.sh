#!/bin/sh
# Times `augur-forecast predict` as a whole process on 20,160 points (14 days at 1 min,
# the longest history of the accuracy data) with hyperfine if installed, else a timed
# loop. Usage: bench/forecast/run_speed.sh [BUILD_DIR] [RUNS]
set -eu
BUILD=${1:-build-forecast}
RUNS=${2:-30}
DATA=${AUGUR_DATA_DIR:-/work/shared/data/series}
INPUT=$(mktemp /tmp/augur_speed_XXXXXX.csv)
trap 'rm -f "$INPUT"' EXIT
if [ -f "$DATA/worldcup98_requests_per_minute.csv" ]; then
  { echo timestamp,value; tail -n 20160 "$DATA/worldcup98_requests_per_minute.csv"; } > "$INPUT"
else
  # No benchmark data: a synthetic daily + weekly load.
  awk 'BEGIN { print "timestamp,value"; pi = atan2(0, -1);
    for (i = 0; i < 20160; i++) { t = 1700000000 + 60 * i;
      printf "%d,%.3f\n", t, 500 + 200 * sin(2 * pi * t / 86400) + 50 * sin(2 * pi * t / 604800) + (i % 7) }
  }' > "$INPUT"
fi
CMD="$BUILD/augur-forecast predict --input $INPUT --horizon 1h --interval 0.8"
echo "points: $(($(wc -l < "$INPUT") - 1))"
if command -v hyperfine >/dev/null 2>&1; then
  hyperfine --warmup 3 --runs "$RUNS" "$CMD >/dev/null 2>&1"
else
  python3 - "$RUNS" $CMD <<'PY'
import statistics, subprocess, sys, time
runs, cmd = int(sys.argv[1]), sys.argv[2:]
for _ in range(3):
    subprocess.run(cmd, capture_output=True, check=True)
times = []
for _ in range(runs):
    start = time.perf_counter()
    subprocess.run(cmd, capture_output=True, check=True)
    times.append((time.perf_counter() - start) * 1000)
print(f"augur-forecast predict, {runs} runs: median {statistics.median(times):.1f} ms, "
      f"min {min(times):.1f} ms, max {max(times):.1f} ms")
PY
fi
