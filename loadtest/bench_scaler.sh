#!/usr/bin/env bash
# Measures the real `augur` under `augur-loadtest bench`, end to end on loopback:
# 2 days of backfilled history in a temporary Prometheus, augur in front of it, then
# GetMetrics (and IsActive) from many ScaledObjects. Prints bench's JSON per run.
#
# usage: loadtest/bench_scaler.sh [BUILD_DIR]   (needs augur and augur-loadtest built,
#        prometheus and promtool installed)
# Knobs: OBJECTS (100), CONCURRENCY (16), CONNECTIONS (4), DURATION (10s),
#        RATE (0 = as fast as possible; e.g. 20000 for an open-loop run at that rate),
#        RPCS ("GetMetrics IsActive GetMetricSpec"),
#        SERVER_CPUS / CLIENT_CPUS (taskset CPU lists, e.g. 0 and 1: augur and the client
#        each on a core of its own; default: both share every core).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$repo/build}
lt=$build/augur-loadtest
augur=$build/augur
for b in "$lt" "$augur" "$(command -v prometheus)" "$(command -v promtool)"; do
  [ -x "$b" ] || { echo "bench_scaler: $b missing (build augur augur-loadtest; scripts/setup-deps.sh)" >&2; exit 1; }
done
objects=${OBJECTS:-100} concurrency=${CONCURRENCY:-16} connections=${CONNECTIONS:-4}
duration=${DURATION:-10s} rate=${RATE:-0}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/augur-bench.XXXXXX")
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() {  # wait_for SECONDS COMMAND...: bounded polling
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do ((SECONDS < deadline)) || return 1; sleep 0.2; done
}

"$lt" backfill --pattern diurnal --base 20 --amplitude 400 --noise 0.02 --noise-step 60s \
  --seed 7 --range 2d --step 60s --labels job=bench --out "$tmp/history.om" > /dev/null
mkdir -p "$tmp/data"
promtool tsdb create-blocks-from openmetrics "$tmp/history.om" "$tmp/data" > "$tmp/promtool.log" 2>&1
prom_port=$(free_port)
printf 'global:\n  scrape_interval: 15s\n' > "$tmp/prometheus.yml"
prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/data" \
  --web.listen-address="127.0.0.1:$prom_port" --storage.tsdb.retention.time=30d \
  --log.level=warn > "$tmp/prometheus.log" 2>&1 &
pids+=($!)
wait_for 60 curl -sf "http://127.0.0.1:$prom_port/-/ready" || { echo "bench_scaler: Prometheus not ready" >&2; exit 1; }

server_pin=() client_pin=()
[ -n "${SERVER_CPUS:-}" ] && server_pin=(taskset -c "$SERVER_CPUS")
[ -n "${CLIENT_CPUS:-}" ] && client_pin=(taskset -c "$CLIENT_CPUS")
${server_pin[@]+"${server_pin[@]}"} "$augur" --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 --prometheus-url "http://127.0.0.1:$prom_port" \
  --log-format text --log-level info > "$tmp/augur.log" 2>&1 &
pids+=($!)
wait_for 30 grep -q 'event=listening' "$tmp/augur.log" || { echo "bench_scaler: augur did not start" >&2; cat "$tmp/augur.log" >&2; exit 1; }
grpc=$(grep -m1 'event=listening' "$tmp/augur.log" | sed -n 's/.*grpc=\([^ ]*\).*/\1/p' | tr -d '"')

metadata="query=sum(augur_demo_load),targetValue=10,history=2d,step=60s"
# The first call per object waits for its first answer (or gets UNAVAILABLE): warm every
# object up with a short, unrecorded pass until all of them answer.
warm() {
  "$lt" bench --target "$grpc" --objects "$objects" --metadata "$metadata" --count "$objects" \
    --duration 0s --warmup 0s --concurrency 1 --json 2>/dev/null | grep -q '"errors":{}'
}
wait_for 120 warm || { echo "bench_scaler: augur did not answer every object" >&2; exit 1; }
for rpc in ${RPCS:-GetMetrics IsActive GetMetricSpec}; do
  printf '%s objects=%s concurrency=%s connections=%s: ' "$rpc" "$objects" "$concurrency" "$connections"
  ${client_pin[@]+"${client_pin[@]}"} "$lt" bench --target "$grpc" --rpc "$rpc" --objects "$objects" --metadata "$metadata" \
    --concurrency "$concurrency" --connections "$connections" --duration "$duration" \
    --rate "$rate"     --warmup 2s --json 2>/dev/null
done
