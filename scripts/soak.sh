#!/usr/bin/env bash
# Soak test (docs/reliability.md, "Soak"): the real augur against a real Prometheus with a
# few thousand objects for a stated wall time, recording resident memory, CPU and answer
# ages every 10 s, and checking that memory does not grow after warm-up (<= 2 % of RSS).
#
#   scripts/soak.sh [--duration 25m] [--objects 2000] [--phase 4m] [--warmup 2-turns]
#                   [--build-dir build] [--out DIR] [--keep-logs]
#                   [--augur-wrapper 'heaptrack -o F']
#
# Workload: augur-loadtest workload serves a daily cycle (scraped every 5 s; one day of
# history backfilled with promtool before Prometheus starts). Two sets of --objects
# ScaledObjects ("a-0".."a-N", "b-0".."b-N") are asked about in turns of --phase by
# `augur-loadtest bench` at 200 GetMetrics/s (every object every ~10 s), and augur runs
# with --idle-ttl 2m: each turn the other set expires and is re-created at its next turn
# (a full first refresh and fit), so tracked objects swing between N and 2N.
#
# Prints a summary and writes DIR/samples.csv (time,rss_kib,cpu_s,tracked,age_p50,
# age_p99,age_max,query_errors,phase). Everything listens on 127.0.0.1 on free ports and is
# stopped at the end. Exit 1 if the growth is over 2 %. Not part of CI (it runs for
# the stated wall time).
#
# Growth is judged after --warmup (default: the first two turns, each set created and
# expired once); it is rounded up to whole turns. glibc's heap takes longer than two turns
# to settle into its layout (docs/reliability.md, "Soak"): a longer warm-up (e.g. 40m in
# a 2-hour soak) judges the plateau, the default the whole run.
set -euo pipefail
cd "$(dirname "$0")/.."

duration=25m objects=2000 phase=4m warmup="" build=build out="" keep=0 wrapper=""
while (($#)); do
  case "$1" in
    --duration) duration=$2; shift 2 ;;
    --objects) objects=$2; shift 2 ;;
    --phase) phase=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --build-dir) build=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --keep-logs) keep=1; shift ;;
    --augur-wrapper) wrapper=$2; shift 2 ;;
    -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
    *) echo "soak: unknown argument $1" >&2; exit 2 ;;
  esac
done
seconds() {  # 25m -> 1500
  local v=$1
  case "$v" in *h) echo $((${v%h} * 3600)) ;; *m) echo $((${v%m} * 60)) ;; *s) echo "${v%s}" ;; *) echo "$v" ;; esac
}
total_s=$(seconds "$duration") phase_s=$(seconds "$phase")
# The warm-up in whole turns (at least one).
if [ -n "$warmup" ]; then
  warmup_s=$(seconds "$warmup")
  warmup_s=$(( (warmup_s + phase_s - 1) / phase_s * phase_s ))
  ((warmup_s >= phase_s)) || warmup_s=$phase_s
else
  warmup_s=$((2 * phase_s))
fi
((warmup_s + 2 * phase_s <= total_s)) ||
  echo "soak: warning: --warmup ${warmup_s}s leaves fewer than two turns of --duration ${total_s}s to judge" >&2
augur=$build/augur lt=$build/augur-loadtest
for b in "$augur" "$lt" "$(command -v prometheus)" "$(command -v promtool)"; do
  [ -x "$b" ] || { echo "soak: $b is missing (cmake --build $build --target augur augur-loadtest)" >&2; exit 1; }
done
py=/usr/bin/python3; [ -x "$py" ] || py=python3

tmp=$(mktemp -d "${TMPDIR:-/tmp}/augur-soak.XXXXXX")
[ -n "$out" ] || out=$tmp/out
mkdir -p "$out"
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
  if ((rc != 0)); then
    for f in "$tmp"/*.log; do [ -f "$f" ] && { echo "--- $f" >&2; tail -n 15 "$f" >&2; }; done
  fi
  if ((keep)); then
    echo "soak: logs kept in $tmp"
  else
    [ "$out" = "$tmp/out" ] && echo "soak: samples were in $out (removed)"
    rm -rf "$tmp"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
free_port() { "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() {
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do ((SECONDS < deadline)) || return 1; sleep 0.2; done
}

# ---------------------------------------------------------------- workload, Prometheus, augur
source_flags=(--pattern diurnal --base 50 --amplitude 400 --noise 0.02 --noise-step 60s --seed 3
              --metric-name augur_soak_load --labels job=augur-soak,instance=workload)
"$lt" backfill --range 1d --step 60s --out "$tmp/history.om" "${source_flags[@]}" > "$tmp/backfill.log" 2>&1
mkdir -p "$tmp/data"
promtool tsdb create-blocks-from openmetrics "$tmp/history.om" "$tmp/data" > "$tmp/promtool.log" 2>&1
"$lt" workload --listen 127.0.0.1:0 --json --duration 24h --report-every 1h "${source_flags[@]}" \
  > "$tmp/workload.out" 2> "$tmp/workload.log" &
pids+=($!)
wait_for 15 grep -q '"event":"listening"' "$tmp/workload.out"
workload_port=$(sed -n 's/.*"port":\([0-9]*\).*/\1/p' "$tmp/workload.out" | head -n 1)
cat > "$tmp/prometheus.yml" <<EOF
global:
  scrape_interval: 5s
scrape_configs:
  - job_name: augur-soak
    honor_labels: true
    static_configs:
      - targets: ['127.0.0.1:$workload_port']
EOF
prom_port=$(free_port)
prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/data" \
  --web.listen-address="127.0.0.1:$prom_port" --storage.tsdb.retention.time=30d \
  --log.level=warn > "$tmp/prometheus.log" 2>&1 &
pids+=($!)
prom_pid=$!
prom_url="http://127.0.0.1:$prom_port"
wait_for 60 curl -sf "$prom_url/-/ready" || { echo "soak: Prometheus did not start" >&2; exit 1; }

# shellcheck disable=SC2086  # the wrapper is a command line (e.g. heaptrack); its
# process is then the one sampled, so RSS and CPU include the tool's.
$wrapper "$augur" --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 --shutdown-drain 0s --prometheus-url "$prom_url" \
  --idle-ttl 2m --workers 4 --first-answer-timeout 2s --log-level info > "$tmp/augur.log" 2>&1 &
pids+=($!)
augur_pid=$!
wait_for 30 grep -q 'event=listening' "$tmp/augur.log"
line=$(grep -m1 'event=listening' "$tmp/augur.log")
grpc_addr=$(sed -n 's/.*grpc=\([^ ]*\).*/\1/p' <<<"$line" | tr -d '"')
http_addr=$(sed -n 's/.*http=\([^ ]*\).*/\1/p' <<<"$line" | tr -d '"')

metadata="query=sum(augur_soak_load),targetValue=10,history=1d,step=1m,horizon=15m"
metadata+=",seasonality=none,refreshInterval=30s,refitInterval=10m,minHistory=1h"

# ---------------------------------------------------------------- load: two sets in turns
(
  # A stopped soak stops the turn's bench too (it would run out its turn otherwise).
  bench=""
  trap '[ -n "$bench" ] && kill -TERM "$bench" 2>/dev/null; exit 143' TERM
  set=a end=$((SECONDS + total_s))
  while ((SECONDS < end)); do
    left=$((end - SECONDS)); run=$((left < phase_s ? left : phase_s))
    ((run >= 5)) || break
    echo "$set" > "$tmp/phase"
    "$lt" bench --target "$grpc_addr" --rate 200 --concurrency 32 --duration "${run}s" \
      --warmup 0s --objects "$objects" --name "$set" --namespace soak --metadata "$metadata" \
      --timeout 3s --json >> "$tmp/bench.jsonl" 2>> "$tmp/bench.log" &
    bench=$!
    wait "$bench" || true
    bench=""
    [ "$set" = a ] && set=b || set=a
  done
) &
pids+=($!)
load_pid=$!

# ---------------------------------------------------------------- samples every 10 s
clk=$(getconf CLK_TCK)
echo "time,rss_kib,cpu_s,tracked,age_p50,age_p99,age_max,query_errors,phase" > "$out/samples.csv"
start=$SECONDS
echo "soak: augur pid $augur_pid, $objects objects per set, turns of ${phase_s}s, for ${total_s}s"
while kill -0 "$load_pid" 2>/dev/null; do
  rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$augur_pid/status")
  cpu=$(awk -v clk="$clk" '{sub(/^.*\) /, ""); print ($12 + $13) / clk}' "/proc/$augur_pid/stat")
  metrics=$(curl -sf "http://$http_addr/metrics" || true)
  tracked=$(awk '/^augur_tracked_objects / {print $2}' <<<"$metrics")
  ages=$(awk '/^augur_answer_age_seconds\{/ {print $2}' <<<"$metrics" | sort -g)
  n=$(grep -c . <<<"$ages" || true)
  p50=$( ((n > 0)) && sed -n "$(((n + 1) / 2))p" <<<"$ages" || echo 0)
  p99=$( ((n > 0)) && sed -n "$(((n * 99 + 99) / 100))p" <<<"$ages" || echo 0)
  max=$( ((n > 0)) && tail -n 1 <<<"$ages" || echo 0)
  errors=$(awk '/^augur_prometheus_query_errors_total\{/ {s += $2} END {print s + 0}' <<<"$metrics")
  echo "$((SECONDS - start)),$rss,$cpu,${tracked:-0},$p50,$p99,$max,$errors,$(cat "$tmp/phase" 2>/dev/null)" \
    >> "$out/samples.csv"
  sleep 10
done
wait "$load_pid" || true

# ---------------------------------------------------------------- summary
prom_cpu=$(awk -v clk="$clk" '{sub(/^.*\) /, ""); print ($12 + $13) / clk}' "/proc/$prom_pid/stat")
"$py" - "$out/samples.csv" "$phase_s" "$tmp/bench.jsonl" "$prom_cpu" "$warmup_s" <<'EOF'
import csv, json, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
phase = float(sys.argv[2])
t = [float(r["time"]) for r in rows]
rss = [float(r["rss_kib"]) / 1024 for r in rows]
cpu = [float(r["cpu_s"]) for r in rows]
# Warm-up: --warmup in whole turns (default the first two: each set created once and
# expired once).
warm = float(sys.argv[5])
print(f"warm-up: {warm:.0f} s ({warm / phase:.0f} turns)")
# Memory is compared turn against turn (the tracked count swings with the turns): the
# peak RSS of each turn after warm-up.
turns = {}
for ti, r in zip(t, rss):
    if ti >= warm:
        turns.setdefault(int(ti // phase), []).append(r)
peaks = [max(v) for k, v in sorted(turns.items()) if len(v) >= 3]
# Troughs: each turn's lowest RSS (after the other set has expired: N objects tracked).
troughs = [min(v) for k, v in sorted(turns.items()) if len(v) >= 3]
ages_max = [float(r["age_max"]) for r in rows if float(r["time"]) >= warm]
ages_p99 = [float(r["age_p99"]) for r in rows if float(r["time"]) >= warm]
ages_p50 = [float(r["age_p50"]) for r in rows if float(r["time"]) >= warm]
tracked = [int(float(r["tracked"])) for r in rows]
print(f"samples: {len(rows)} over {t[-1]:.0f} s; tracked objects {min(tracked)}..{max(tracked)}")
print(f"augur CPU: {cpu[-1]:.1f} s over {t[-1]:.0f} s = {100 * cpu[-1] / max(t[-1], 1):.1f} % of one core"
      f" (after warm-up: {100 * (cpu[-1] - next(c for ti, c in zip(t, cpu) if ti >= warm)) / max(t[-1] - warm, 1):.1f} %)")
print(f"Prometheus CPU: {float(sys.argv[4]):.1f} s")
print(f"RSS: start {rss[0]:.1f} MiB, peak per turn after warm-up: " + ", ".join(f"{p:.1f}" for p in peaks))
print("RSS trough per turn after warm-up: " + ", ".join(f"{p:.1f}" for p in troughs))
growth = 0.0
if len(peaks) >= 2:
    first, last = peaks[0], peaks[-1]
    peak_growth = 100 * (last - first) / first
    print(f"RSS growth after warm-up, last turn's peak vs first's: {last - first:+.1f} MiB = {peak_growth:+.2f} % (limit 2 %)")
    first, last = troughs[0], troughs[-1]
    trough_growth = 100 * (last - first) / first
    print(f"RSS growth after warm-up, last turn's trough vs first's: {last - first:+.1f} MiB = {trough_growth:+.2f} % (limit 2 %)")
    growth = max(peak_growth, trough_growth)
post = [(ti, r) for ti, r in zip(t, rss) if ti >= warm]
if len(post) >= 3:
    mt = statistics.mean(x for x, _ in post)
    mr = statistics.mean(y for _, y in post)
    slope = sum((x - mt) * (y - mr) for x, y in post) / max(sum((x - mt) ** 2 for x, _ in post), 1e-9)
    print(f"RSS trend after warm-up (least squares over {len(post)} samples): {slope * 3600:+.1f} MiB/h "
          f"({100 * slope * 3600 / mr:+.1f} % of the mean {mr:.1f} MiB per hour)")
if ages_max:
    print(f"answer age after warm-up (over the objects, each sample; then over the samples): "
          f"p50 median {statistics.median(ages_p50):.1f} s, p99 median "
          f"{statistics.median(ages_p99):.1f} s, p99 worst {max(ages_p99):.1f} s, "
          f"worst {max(ages_max):.1f} s")
ok = errors = 0
codes = {}
for line in open(sys.argv[3]):
    try:
        j = json.loads(line)
    except ValueError:
        continue
    for k, v in j.get("errors", {}).items():
        codes[k] = codes.get(k, 0) + v
print(f"bench errors by code over all turns: {codes or 'none'}")
sys.exit(1 if growth > 2 else 0)
EOF
