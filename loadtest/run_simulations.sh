#!/usr/bin/env bash
# Reproduces the headline table of docs/loadtest.md: `augur-loadtest simulate` on the
# request-like traces of ../shared/data/series, reactive vs Augur, 3-minute start-up.
#
# usage: loadtest/run_simulations.sh [BUILD_DIR] [DATA_DIR]
#   BUILD_DIR  where augur-loadtest was built (default: build)
#   DATA_DIR   the traces (default: ../shared/data/series next to the repository)
# Writes <trace>.json, .csv and .svg to $OUT (default: a new temporary directory) and
# prints a Markdown table. Extra simulate flags for every trace: $EXTRA (e.g.
# EXTRA="--quantile 0.6").
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
extra=(${EXTRA:-})

# trace | capacity per pod (typical demand needs ~5-20 pods) | simulate flags
# The policy parameters are the same for every trace except where the trace's step needs
# otherwise; see docs/loadtest.md for why each was chosen.
common=(--startup 3m --horizon 5m --quantile 0.5 --mode predictive --history 7d
        --refresh 30s --refit 10m)
runs=(
  "worldcup98_requests_per_minute|4000|--from 35d --limit 28d --warmup 0s --history 3d"
  "nab_elb_requests_8c0756|12|--warmup 3d"
  "nab_nyc_taxi|1500|--warmup 14d"
  "nab_tweets_amzn|6|--warmup 7d"
)

for run in "${runs[@]}"; do
  IFS='|' read -r name capacity flags <<<"$run"
  echo "simulating $name (capacity $capacity) ..." >&2
  # shellcheck disable=SC2086
  "$lt" simulate --trace "$data/$name.csv" --capacity "$capacity" "${common[@]}" $flags \
    "${extra[@]}" --csv "$out/$name.csv" --svg "$out/$name.svg" --json > "$out/$name.json"
done

python3 - "$out" "${runs[@]}" <<'PY'
import json, sys
out, runs = sys.argv[1], sys.argv[2:]
print("| trace | capacity/pod | reactive under-prov. time | Augur under-prov. time | ratio | reactive unserved | Augur unserved | reactive replica-h | Augur replica-h | extra | scale events (r / A) | goal |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
for run in runs:
    name, capacity, _ = run.split("|", 2)
    j = json.load(open(f"{out}/{name}.json"))
    r, a = j["reactive"], j["augur"]
    ratio = a["underprovisioned_fraction"] / r["underprovisioned_fraction"] if r["underprovisioned_fraction"] else float("nan")
    extra = a["replica_hours"] / r["replica_hours"] - 1
    ok = ratio <= 0.5 and extra <= 0.15
    print(f"| {name} | {capacity} | {100*r['underprovisioned_fraction']:.2f} % | {100*a['underprovisioned_fraction']:.2f} % | {ratio:.2f} | "
          f"{100*r['unserved_fraction']:.3f} % | {100*a['unserved_fraction']:.3f} % | {r['replica_hours']:.0f} | {a['replica_hours']:.0f} | "
          f"{100*extra:+.1f} % | {r['scale_events']} / {a['scale_events']} | {'met' if ok else 'missed'} |")
print(f"\n(results in {out})")
PY
