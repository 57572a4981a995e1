#!/usr/bin/env bash
# Reproduces the headline table of docs/loadtest.md and the README: the price of safety
# (`augur-loadtest simulate --frontier`) on the request-like traces of ../shared/data/series,
# with the protocol of ../shared/bench/SCALING.md (3-minute start-up, the scaler's defaults
# otherwise, capacities such that the median demand needs about 5-20 pods).
#
# usage: loadtest/run_simulations.sh [BUILD_DIR] [DATA_DIR]
#   BUILD_DIR  where augur-loadtest was built (default: build)
#   DATA_DIR   the traces (default: ../shared/data/series next to the repository)
#   EXTRA="..."  extra simulate flags for every trace
#   SET=outside  instead of the dev traces, the checks outside them (docs/loadtest.md,
#                "Outside the dev traces"): the other request-like traces of the folder,
#                worldcup98 at 1/100 and 1/1000 of its traffic (loadtest/poisson_counts.py:
#                the same ramps under counting noise) and a few non-request series;
#                capacities for a median of about 8 pods. About 15 minutes on 2 cores.
# Writes <trace>.json (the frontier) and <trace>.svg (both frontiers) to $OUT (default: a
# new temporary directory) and prints a Markdown table. About 5 minutes on 2 cores.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$repo/build}
data=${2:-$repo/../shared/data/series}
[ -d "$data" ] || data=/work/shared/data/series
lt=$build/augur-loadtest
[ -x "$lt" ] || { echo "run_simulations: $lt not found: build it (cmake --build $build --target augur-loadtest)" >&2; exit 1; }
[ -d "$data" ] || { echo "run_simulations: no trace directory $data" >&2; exit 1; }
out=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/augur-sim.XXXXXX")}
mkdir -p "$out"
read -r -a extra <<<"${EXTRA:-}"

# trace | capacity per pod | flags (SCALING.md's table)
runs=(
  "worldcup98_requests_per_minute|2000|--from 42d --limit 21d --warmup 0s --history 3d"
  "nab_nyc_taxi|1500|--warmup 14d --history 7d"
  "nab_tweets_amzn|6|--warmup 7d --history 7d"
  "nab_elb_requests_8c0756|12|--warmup 3d --history 7d"
)
if [ "${SET:-dev}" = outside ]; then
  # Generated traces live in $out; the folder's are linked there, so one directory serves.
  for div in 100 1000; do
    python3 "$repo/loadtest/poisson_counts.py" "$data/worldcup98_requests_per_minute.csv" \
      "$div" "$out/worldcup98_poisson_$div.csv"
  done
  for f in "$data"/*.csv; do ln -sf "$f" "$out/$(basename "$f")"; done
  data=$out
  runs=(
    "worldcup98_poisson_100|22|--from 42d --limit 21d --warmup 0s --history 3d"
    "worldcup98_poisson_1000|2.2|--from 42d --limit 21d --warmup 0s --history 3d"
    "nab_tweets_crm|0.25|--warmup 7d --history 7d"
    "nab_tweets_ups|0.25|--warmup 7d --history 7d"
    "nab_ec2_network_in_257a54|25000|--warmup 3d --history 7d"
    "nab_asg_cpu|4|--warmup 7d --history 7d"
    "nab_ec2_cpu_ac20cd|4.333|--warmup 3d --history 7d"
    "nab_ec2_cpu_fe7f93|0.3227|--warmup 3d --history 7d"
    "nab_rds_cpu_cc0c53|0.7603|--warmup 3d --history 7d"
  )
elif [ "${SET:-dev}" != dev ]; then
  echo "run_simulations: SET must be dev or outside, got ${SET}" >&2; exit 1
fi
pids=()
for run in "${runs[@]}"; do
  IFS='|' read -r name capacity flags <<<"$run"
  echo "simulating $name (capacity $capacity) ..." >&2
  # shellcheck disable=SC2086
  "$lt" simulate --trace "$data/$name.csv" --capacity "$capacity" --startup 3m $flags \
    ${extra[@]+"${extra[@]}"} --frontier --frontier-svg "$out/$name.svg" --json \
    > "$out/$name.json" 2> "$out/$name.log" &
  pids+=($!)
  # two at a time (two cores)
  if [ "${#pids[@]}" -ge 2 ]; then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
done
for p in "${pids[@]}"; do wait "$p"; done

python3 - "$out" "${runs[@]}" <<'EOF'
import json, sys
out, runs = sys.argv[1], sys.argv[2:]
pct = lambda v: "not reached" if v is None else "%+.1f %%" % (v * 100)
ratio = lambda v: "-" if v is None else "%.2f" % v
print("| trace | reactive under-provisioned | Augur / best alternative, extra replica-hours at 0.5x | at 0.25x | ratio 0.5x / 0.25x | Augur at its defaults (0.5x reactive) |")
print("|---|---|---|---|---|---|")
for run in runs:
    name = run.split("|")[0]
    j = json.load(open(f"{out}/{name}.json"))
    h, q, c = j["cost_0.5"], j["cost_0.25"], j["configured"]
    print(f"| {name} | {j['reactive']['underprovisioned_fraction']*100:.2f} % "
          f"| {pct(h['augur'])} / {pct(h['best_alternative'])} "
          f"| {pct(q['augur'])} / {pct(q['best_alternative'])} "
          f"| {ratio(h['ratio'])} / {ratio(q['ratio'])} "
          f"| {c['ratio']:.2f}x reactive's under-provisioned time, {c['extra']*100:+.1f} % |")
EOF
echo "outputs in $out" >&2
