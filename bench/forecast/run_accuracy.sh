#!/bin/sh
# Runs the forecast accuracy protocol (../shared/bench/PROTOCOL.md) on augur-forecast
# predict and scores it beside the anchors.
# Usage: bench/forecast/run_accuracy.sh [BUILD_DIR] [OUT.csv] [extra predict flags...]
set -eu
BUILD=${1:-build-forecast}; shift || true
OUT=${1:-/tmp/augur.csv}; shift || true
B=${AUGUR_BENCH_DIR:-/work/shared/bench}
DATA=${AUGUR_DATA_DIR:-/work/shared/data/series}
python3 "$B/backtest.py" run --data "$DATA" --method augur \
  --cmd "$BUILD/augur-forecast predict --input {input} --horizon {horizon} --interval 0.8 $*" \
  --out "$OUT" 2>/dev/null
python3 "$B/backtest.py" score --data "$DATA" "$OUT" "$B/results/dev_baselines.csv"
