#!/usr/bin/env bash
# Augur's demo: the README's first command. On a Debian 12 machine it
#   1. installs what is missing (scripts/setup-deps.sh) and builds augur + augur-loadtest;
#   2. writes several days of daily-cycle history (augur-loadtest backfill) and loads it into
#      a fresh Prometheus data dir with promtool, BEFORE Prometheus starts;
#   3. starts, on 127.0.0.1 and free ports only: the load generator (augur-loadtest
#      workload, serving the same daily cycle live), Prometheus (scraping the generator and
#      Augur's /metrics) and augur;
#   4. drives augur exactly as KEDA does (augur-loadtest keda) for a few minutes, printing
#      the observed load, Augur's answer, and the replicas a reactive scaler and Augur ask
#      for, side by side;
#   5. draws the run as an SVG picture (scripts/demo_plot.py) and says where it is;
#   6. stops by itself, ends every process it started, and says where to look next (with
#      --keep, the web view's URL while everything keeps running).
#
# Usage: scripts/demo.sh [--duration 4m] [--speed N] [--keep] [--no-setup] [--no-build]
#                        [--build-dir DIR] [--svg FILE]
#   --duration D   how long KEDA is emulated (default 4m; 30s, 10m, ...)
#   --speed N      time compression: the daily cycle runs N times faster (default 60: a
#                  simulated day every 24 minutes, so a few minutes show much of the morning
#                  ramp; --speed 1 = real time, where a few minutes of a daily cycle change
#                  the load by less than the HPA's 10 % tolerance)
#   --keep         keep everything running after the run, for grpcurl/curl, until Ctrl-C
#   --no-setup     skip scripts/setup-deps.sh
#   --no-build     use the binaries already in the build directory
#   --build-dir    build directory (default build/)
#   --svg FILE     where the picture of the run goes (default <build dir>/demo.svg): observed
#                  load, Augur's answer and both replica counts over the run
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

duration=4m speed=60 keep=0 setup=1 build=build compile=1 svg=""
while (($#)); do
  case "$1" in
    --duration) duration=${2:?--duration needs a value like 4m}; shift 2 ;;
    --duration=*) duration=${1#*=}; shift ;;
    --speed) speed=${2:?--speed needs a number}; shift 2 ;;
    --speed=*) speed=${1#*=}; shift ;;
    --keep) keep=1; shift ;;
    --no-setup) setup=0; shift ;;
    --no-build) compile=0; shift ;;
    --build-dir) build=${2:?--build-dir needs a directory}; shift 2 ;;
    --svg) svg=${2:?--svg needs a file name}; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo: unknown argument '$1' (see scripts/demo.sh --help)" >&2; exit 2 ;;
  esac
done
if ! [[ "$duration" =~ ^[0-9]+[smh]$ ]]; then
  echo "demo: --duration '$duration': expected a number with s, m or h (e.g. 4m)" >&2; exit 2
fi
if ! [[ "$speed" =~ ^[0-9]+$ ]] || ((speed < 1 || speed > 1440)); then
  echo "demo: --speed '$speed': expected a whole number from 1 to 1440" >&2; exit 2
fi

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

# ---------------------------------------------------------------- 1. dependencies, build
if ((setup)); then
  say "Installing missing dependencies (scripts/setup-deps.sh)"
  bash scripts/setup-deps.sh
fi
if ((compile)); then
  say "Building augur and augur-loadtest in $build/ (the first build takes several minutes)"
  if [ ! -f "$build/build.ninja" ]; then
    cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  fi
  cmake --build "$build" --target augur augur-loadtest -j "$(nproc 2>/dev/null || echo 2)"
fi
case "$build" in /*) bdir=$build ;; *) bdir=$repo/$build ;; esac
augur=$bdir/augur
[ -n "$svg" ] || svg=$bdir/demo.svg
lt=$bdir/augur-loadtest
for b in "$augur" "$lt" "$(command -v prometheus)" "$(command -v promtool)"; do
  [ -x "$b" ] || { echo "demo: $b is missing (build failed, or run scripts/setup-deps.sh)" >&2; exit 1; }
done
py=/usr/bin/python3; [ -x "$py" ] || py=python3

# ---------------------------------------------------------------- process bookkeeping
tmp=$(mktemp -d "${TMPDIR:-/tmp}/augur-demo.XXXXXX")
pids=()
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if ((rc != 0)) && [ -d "$tmp" ]; then
    echo "demo: failed (exit $rc). Last lines of the logs:" >&2
    for f in "$tmp"/*.log; do [ -f "$f" ] && { echo "--- $f" >&2; tail -n 15 "$f" >&2; }; done
  fi
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
  "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
# wait_for SECONDS COMMAND...: bounded polling until COMMAND succeeds.
wait_for() {
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

# ---------------------------------------------------------------- 2. the load and its history
now=$(date +%s)
labels="job=augur-demo,instance=workload"
if ((speed == 1)); then
  # The real daily cycle (trough 04:00, peak 16:00), shifted so that "now" is 09:30 on
  # it: the morning ramp, where forecasting pays off.
  phase=$(((34200 - now % 86400 + 86400) % 86400))
  source_flags=(--pattern diurnal --base 20 --amplitude 400 --phase "${phase}s" --noise 0.02
                --noise-step 60s --seed 7 --metric-name augur_demo_load --labels "$labels")
  history=7d step=60s season=1d horizon=15m refresh=30s refit=10m
  what="7 days of a daily cycle, real time; now = 09:30 on the cycle (the morning ramp)"
else
  # One day of the same shape as a trace, replayed $speed times faster, anchored so that
  # "now" is 09:30 of a simulated day.
  awk 'BEGIN { pi = 3.141592653589793;
         for (t = 0; t < 86400; t += 60) {
           d = 0.5 * (1 - cos(2 * pi * (t - 14400) / 86400));
           printf "%d,%.3f\n", t, 20 + 400 * d } }' > "$tmp/day.csv"
  anchor=$((now - 34200 / speed))
  source_flags=(--replay "$tmp/day.csv" --speed "$speed" --anchor "$anchor" --noise 0.01
                --noise-step 1s --seed 7 --metric-name augur_demo_load --labels "$labels")
  hist_s=$((7 * 86400 / speed)); ((hist_s >= 3900)) || hist_s=3900
  history="$((hist_s / 60))m" step="$(((60 + speed - 1) / speed))s"
  season="$((86400 / speed))s" horizon=1m
  refresh=10s refit=2m
  what="$((hist_s * speed / 86400)) simulated days, one every $((86400 / speed / 60)) minutes (--speed $speed)"
fi

say "Writing history: $what"
"$lt" backfill --range "$history" --step "$step" --out "$tmp/history.om" "${source_flags[@]}" \
  > "$tmp/backfill.log" 2>&1
mkdir -p "$tmp/data"
promtool tsdb create-blocks-from openmetrics "$tmp/history.om" "$tmp/data" > "$tmp/promtool.log" 2>&1 \
  || { echo "demo: promtool could not load the history:" >&2; tail -n 20 "$tmp/promtool.log" >&2; exit 1; }

say "Starting the load generator (augur-loadtest workload)"
"$lt" workload --listen 127.0.0.1:0 --json --duration 24h --report-every 1h "${source_flags[@]}" \
  > "$tmp/workload.out" 2> "$tmp/workload.log" &
pids+=($!)
wait_for 15 grep -q '"event":"listening"' "$tmp/workload.out" \
  || { echo "demo: the load generator did not start" >&2; exit 1; }
workload_port=$(sed -n 's/.*"port":\([0-9]*\).*/\1/p' "$tmp/workload.out" | head -n 1)

# ---------------------------------------------------------------- 3. Prometheus, augur
echo '[]' > "$tmp/augur-targets.json"
cat > "$tmp/prometheus.yml" <<EOF
global:
  scrape_interval: 5s
  evaluation_interval: 5s
scrape_configs:
  - job_name: augur-demo
    honor_labels: true      # keep the generator's own job/instance labels, as backfilled
    static_configs:
      - targets: ['127.0.0.1:$workload_port']
  - job_name: augur
    honor_labels: true      # keep Augur's per-object namespace label
    file_sd_configs:
      - files: ['$tmp/augur-targets.json']
        refresh_interval: 5s
EOF
say "Starting Prometheus on 127.0.0.1 (data: $tmp/data)"
prom_url=""
for _ in 1 2 3; do
  prom_port=$(free_port)
  prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/data" \
    --web.listen-address="127.0.0.1:$prom_port" --storage.tsdb.retention.time=30d \
    --log.level=warn > "$tmp/prometheus.log" 2>&1 &
  pids+=($!)
  if wait_for 60 curl -sf "http://127.0.0.1:$prom_port/-/ready"; then
    prom_url="http://127.0.0.1:$prom_port"; break
  fi
done
[ -n "$prom_url" ] || { echo "demo: Prometheus did not become ready" >&2; exit 1; }

say "Starting augur"
"$augur" --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 --shutdown-drain 0s --prometheus-url "$prom_url" \
  --log-format text --log-level info > "$tmp/augur.log" 2>&1 &
pids+=($!)
wait_for 30 grep -q 'event=listening' "$tmp/augur.log" \
  || { echo "demo: augur did not start listening" >&2; exit 1; }
line=$(grep -m1 'event=listening' "$tmp/augur.log")
grpc_addr=$(sed -n 's/.*grpc=\([^ ]*\).*/\1/p' <<<"$line" | tr -d '"')
http_addr=$(sed -n 's/.*http=\([^ ]*\).*/\1/p' <<<"$line" | tr -d '"')
echo "[{\"targets\": [\"$http_addr\"]}]" > "$tmp/augur-targets.json.new"
mv "$tmp/augur-targets.json.new" "$tmp/augur-targets.json"  # atomic: Prometheus watches it

# ---------------------------------------------------------------- 4. KEDA, emulated
metadata="query=sum(augur_demo_load),targetValue=10,activationThreshold=1,horizon=$horizon"
metadata+=",history=$history,seasonality=$season,mode=predictive,refreshInterval=$refresh"
metadata+=",refitInterval=$refit"
# Start both scalers where a reactive HPA would be now: ceil(load / target).
initial=$(curl -sf --get "$prom_url/api/v1/query" --data-urlencode 'query=sum(augur_demo_load)' \
  | "$py" -c 'import json, math, sys
r = json.load(sys.stdin)["data"]["result"]
print(max(1, math.ceil(float(r[0]["value"][1]) / 10)) if r else 1)' || echo 1)
keda_flags=(--target "$grpc_addr" --name checkout --namespace demo --metadata "$metadata"
            --polling-interval 15s --hpa-sync 15s --max-replicas 60 --initial-replicas "$initial"
            --observe-query 'sum(augur_demo_load)' --prometheus "$prom_url")

say "Waiting for Augur's first forecast (it fits the model on the history)"
wait_for 120 "$lt" keda "${keda_flags[@]}" --duration 1s \
  || { echo "demo: augur gave no answer in 120 s" >&2; exit 1; }

cat <<EOF

Augur is answering a KEDA ScaledObject 'demo/checkout' (target 10 per replica,
horizon $horizon). Every 15 s, KEDA's HPA sync asks it; the columns are:
  cycle      the time of day on the daily load cycle: $what
  observed   the load now (what a reactive scaler such as KEDA's prometheus trigger uses)
  augur      Augur's answer: max(observed, forecast peak over the next $horizon), with
             'observed' as of Augur's last refresh (every $refresh), so it can trail the
             column before it by a few seconds of load
  reactive   replicas the HPA would set from 'observed'
  augur      replicas the HPA sets from Augur's answer (ahead of the load when it rises)
Running for $duration ...

EOF
cat > "$tmp/table.py" <<'PY'
# Renders augur-loadtest keda's JSON lines (one per HPA sync) as a side-by-side table.
import json, os, sys, time
now, speed = float(os.environ["DEMO_NOW"]), float(os.environ["DEMO_SPEED"])
def cycle_clock(t):  # the time of day on the (possibly compressed) daily cycle
    s = (34200 + (t - now) * speed) % 86400
    return "%02d:%02d" % (s // 3600, s % 3600 // 60)
rows = ahead = sum_r = sum_a = 0
fmt = lambda v: "-" if v is None else "%.1f" % v
for line in sys.stdin:
    try:
        e = json.loads(line)
    except ValueError:
        continue
    if e.get("event") != "hpa":
        continue
    rr, ar = e.get("reactive_replicas"), e.get("replicas")
    print("%-9s %-6s %10s %10s %10s %8s  %s" % (
        time.strftime("%H:%M:%S", time.gmtime(e["time"])), cycle_clock(e["time"]), fmt(e.get("observed")),
        fmt(e.get("value")), "-" if rr is None else rr, ar, (e.get("reason") or "")[:60]))
    if rr is not None:
        rows += 1
        sum_r += rr
        sum_a += ar
        ahead += ar > rr
if rows:
    print("\n%d HPA syncs: on average %.1f replicas (reactive) vs %.1f (Augur); Augur asked for"
          " more in %d of them, ahead of the load." % (rows, sum_r / rows, sum_a / rows, ahead))
PY
printf '%-9s %-6s %10s %10s %10s %8s  %s\n' "time" "cycle" "observed" "augur" "reactive" "augur" "HPA"
printf '%-9s %-6s %10s %10s %10s %8s\n' "(UTC)" "clock" "load" "answer" "replicas" "replicas"
"$lt" keda "${keda_flags[@]}" --duration "$duration" --format json 2> "$tmp/keda.log" \
  | tee "$tmp/hpa.jsonl" | DEMO_NOW=$now DEMO_SPEED=$speed "$py" -u "$tmp/table.py"

echo
if "$py" scripts/demo_plot.py --in "$tmp/hpa.jsonl" --out "$svg" --target 10 \
     --title "Augur demo: demo/checkout, horizon $horizon, time compressed ${speed}x" 2> "$tmp/plot.log"; then
  say "Picture of the run (observed load, Augur's answer, both replica counts): $svg"
else
  echo "demo: no picture: $(cat "$tmp/plot.log")" >&2
fi

echo
say "Augur's own metrics for this object (from its /metrics)"
curl -s "http://$http_addr/metrics" | grep -E '^augur_(observed_value|forecast_peak|returned_value|fallback|answer_age_seconds)\{' \
  | grep 'scaledobject="checkout"' || echo "(none yet)"

cat <<EOF

Where to look next (while it runs: scripts/demo.sh --keep):
  grpcurl -plaintext $grpc_addr list
  grpcurl -plaintext $grpc_addr augur.v1.Inspector/List
  grpcurl -plaintext -d '{"name":"checkout","namespace":"demo","scalerMetadata":{$(
    tr ',' '\n' <<<"$metadata" | sed 's/^\([^=]*\)=\(.*\)$/"\1":"\2"/' | paste -sd, -)}}' \\
    $grpc_addr augur.v1.Inspector/Explain
  curl -s http://$http_addr/metrics | grep ^augur_
  Web view: http://$http_addr/  (this object: http://$http_addr/objects/demo/checkout)
  Prometheus UI: $prom_url/graph?g0.expr=augur_returned_value&g0.range_input=1h
  Deploy it: README.md, "Deploy on Kubernetes" (kubectl apply -k k8s/)
EOF

if ((keep)); then
  say "Everything keeps running (--keep); Augur's web view: http://$http_addr/objects/demo/checkout"
  say "Press Ctrl-C to stop and clean up"
  while kill -0 "${pids[-1]}" 2>/dev/null; do sleep 1; done
fi
say "Stopping everything the demo started"
