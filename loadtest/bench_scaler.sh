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
#        each on a core of its own; default: both share every core),
#        EXTRA_METADATA (appended to every object's metadata, e.g. ",refreshInterval=10m").
# After each run's JSON, a line gives the CPU time augur and the client used per request
# (user + system over the whole client run, warm-up included): steadier than the latency
# tail on a shared machine, and what decides how close to saturation a rate runs.
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
${server_pin[@]+"${server_pin[@]}"} "$augur" --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 --shutdown-drain 0s --prometheus-url "http://127.0.0.1:$prom_port" \
  --log-format text --log-level info > "$tmp/augur.log" 2>&1 &
pids+=($!)
wait_for 30 grep -q 'event=listening' "$tmp/augur.log" || { echo "bench_scaler: augur did not start" >&2; cat "$tmp/augur.log" >&2; exit 1; }
grpc=$(grep -m1 'event=listening' "$tmp/augur.log" | sed -n 's/.*grpc=\([^ ]*\).*/\1/p' | tr -d '"')

metadata="query=sum(augur_demo_load),targetValue=10,history=2d,step=60s${EXTRA_METADATA:-}"
# The first call per object waits for its first answer (or gets UNAVAILABLE): warm every
# object up with a short, unrecorded pass until all of them answer.
warm() {
  "$lt" bench --target "$grpc" --objects "$objects" --metadata "$metadata" --count "$objects" \
    --duration 0s --warmup 0s --concurrency 1 --json 2>/dev/null | grep -q '"errors":{}'
}
wait_for 120 warm || { echo "bench_scaler: augur did not answer every object" >&2; exit 1; }
augur_pid=${pids[-1]}
ticks=$(getconf CLK_TCK)
# CPU seconds augur has used so far (user + system, from /proc).
augur_cpu() { awk -v t="$ticks" '{printf "%.3f", ($14 + $15) / t}' "/proc/$augur_pid/stat"; }
warmup=2
for rpc in ${RPCS:-GetMetrics IsActive GetMetricSpec}; do
  printf '%s objects=%s concurrency=%s connections=%s: ' "$rpc" "$objects" "$concurrency" "$connections"
  before=$(augur_cpu)
  start=$(date +%s.%N)
  TIMEFORMAT='%U %S'
  { time ${client_pin[@]+"${client_pin[@]}"} "$lt" bench --target "$grpc" --rpc "$rpc" --objects "$objects" --metadata "$metadata" \
      --concurrency "$concurrency" --connections "$connections" --duration "$duration" \
      --rate "$rate" --warmup "${warmup}s" --json 2>/dev/null > "$tmp/result.json"; } 2> "$tmp/client_time"
  end=$(date +%s.%N)
  after=$(augur_cpu)
  cat "$tmp/result.json"
  # CPU per request over the whole client run (warm-up included, at the run's own rate),
  # for augur and for the client: a steadier figure than latency on a shared machine.
  python3 - "$tmp/result.json" "$before" "$after" "$(cat "$tmp/client_time")" "$start" "$end" "$duration" "$warmup" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
server = float(sys.argv[3]) - float(sys.argv[2])
user, system = map(float, sys.argv[4].split())
wall = float(sys.argv[6]) - float(sys.argv[5])
def seconds(text):  # bench's durations: 500ms, 10s, 2m, 1h or plain seconds
    for unit, factor in (("ms", 1e-3), ("s", 1), ("m", 60), ("h", 3600)):
        if text.endswith(unit) and text[:-len(unit)].replace(".", "", 1).isdigit():
            return float(text[:-len(unit)]) * factor
    return float(text)
duration, warmup = seconds(sys.argv[7]), float(sys.argv[8])
requests = r["rps"] * (duration + warmup)
if requests > 0:
    print(f"  cpu per request: augur {1e6 * server / requests:.1f} us, client {1e6 * (user + system) / requests:.1f} us "
          f"(cores busy: augur {server / wall:.2f}, client {(user + system) / wall:.2f})")
PY
done
