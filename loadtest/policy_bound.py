#!/usr/bin/env python3
"""How far can ANY level-plus-headroom policy get on a trace? An offline bound for the
headline goal of docs/loadtest.md (under-provisioned time at most half of reactive's, at
no more than 15 % extra replica-hours).

The policies it scores answer, like Augur's predictive mode, max(current, forecast + headroom),
but with forecasts Augur cannot have:
  hindsight  the level at the sample the pods are for, known in hindsight: the mean of the
             samples within +-W steps of it, that sample itself left out (so its own noise
             stays unknown, but every other sample, past and FUTURE, is used);
  ewma       a causal exponentially weighted mean of the past samples (what a simple
             forecaster has);
and two shapes of headroom: additive (level + k * median level) and multiplicative
(c * level). Each value series goes through the exact replay of `augur-loadtest simulate
--values` (same HPA, start-up, scoring) next to reactive and Augur's own run.

For each family it prints the frontier (ratio = under-provisioned time / reactive's,
extra = replica-hours over reactive's) and the extra cost at ratio 0.5, interpolated.
If even the hindsight family costs more than the goal at ratio 0.5, no forecast can meet
the goal on that trace within the policy max(current, forecast + headroom).

usage: loadtest/policy_bound.py [--build DIR] [--trace CSV] [--capacity N]
                                [--quantile Q] [--jobs N]
Defaults: build/, nab_elb_requests_8c0756 from ../shared/data/series, capacity 12, the
headline's flags (3m start-up, horizon 5m, maxForecastError 2, warm-up 3d).
"""
import argparse
import concurrent.futures
import csv
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile


def read_trace(path):
    ts, xs = [], []
    with open(path) as f:
        for row in csv.reader(f):
            try:
                t, v = float(row[0]), float(row[1])
            except (ValueError, IndexError):
                continue  # header or malformed row: simulate reports those itself
            if math.isfinite(v):
                ts.append(t)
                xs.append(v)
    if len(ts) < 2:
        sys.exit(f"policy_bound: {path}: expected at least 2 timestamp,value rows")
    return ts, xs


def hindsight_level(xs, ahead, w):
    """level[k] = mean of xs[j-w .. j+w] without xs[j], j = k + ahead (clamped)."""
    n = len(xs)
    prefix = [0.0]
    for v in xs:
        prefix.append(prefix[-1] + v)
    out = []
    for k in range(n):
        j = min(k + ahead, n - 1)
        lo, hi = max(0, j - w), min(n, j + w + 1)
        total, count = prefix[hi] - prefix[lo] - xs[j], hi - lo - 1
        out.append(total / count if count > 0 else xs[k])
    return out


def ewma_level(xs, alpha):
    out, level = [], xs[0]
    for v in xs:
        level = alpha * v + (1 - alpha) * level
        out.append(level)
    return out


def at_half(points):
    """Extra cost where the ratio crosses 0.5, by linear interpolation; None if it does not."""
    pts = sorted(points)
    for (r1, e1), (r2, e2) in zip(pts, pts[1:]):
        if r1 <= 0.5 <= r2 and r2 > r1:
            return e1 + (e2 - e1) * (0.5 - r1) / (r2 - r1)
    return None


def main():
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    data = os.path.join(repo, "..", "shared", "data", "series")
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.path.join(repo, "build"))
    ap.add_argument("--trace", default=os.path.join(data, "nab_elb_requests_8c0756.csv"))
    ap.add_argument("--capacity", type=float, default=12)
    ap.add_argument("--quantile", type=float, default=0.7, help="Augur's quantile for its own row")
    ap.add_argument("--warmup", default="3d")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    lt = os.path.join(args.build, "augur-loadtest")
    if not os.access(lt, os.X_OK):
        sys.exit(f"policy_bound: {lt} not found: build it (cmake --build build --target augur-loadtest)")
    if not os.path.exists(args.trace):
        sys.exit(f"policy_bound: no trace {args.trace}")

    ts, xs = read_trace(args.trace)
    step = statistics.median(b - a for a, b in zip(ts, ts[1:]))
    startup, sync = 180.0, 15.0
    # The sample the pods asked for now are for: the first that starts after they are ready.
    ahead = max(1, math.ceil((startup + sync) / step))
    tmp = tempfile.mkdtemp(prefix="augur-bound.")

    def simulate(values, name, with_augur):
        path = os.path.join(tmp, f"{name}.csv")
        with open(path, "w") as f:
            f.write("timestamp,value\n")
            for t, v in zip(ts, values):
                f.write(f"{t:.0f},{v:.6f}\n")
        # Only the first run's Augur report is printed; the others fit once and skip the
        # trend uncertainty (the values policy does not depend on Augur's).
        refit, trend = ("10m", []) if with_augur else ("1000d", ["--no-trend-uncertainty"])
        cmd = [lt, "simulate", "--trace", args.trace, "--capacity", str(args.capacity),
               "--startup", "3m", "--horizon", "5m", "--max-forecast-error", "2",
               "--refresh", "30s", "--refit", refit, *trend,
               "--warmup", args.warmup, "--quantile", str(args.quantile),
               "--values", path, "--json"]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"policy_bound: simulate failed: {done.stderr.strip().splitlines()[-1:]}")
        return json.loads(done.stdout)

    def score(report, reactive):
        return (report["underprovisioned_fraction"] / reactive["underprovisioned_fraction"],
                100 * (report["replica_hours"] / reactive["replica_hours"] - 1))

    families = []  # (family name, [(parameter label, values)])
    for w in (12, 36):
        level = hindsight_level(xs, ahead, w)
        med = statistics.median(level)
        families.append((f"hindsight +-{w} steps, additive",
                         [(f"k={k}", [max(x, l + k * med) for x, l in zip(xs, level)])
                          for k in (0.05, 0.1, 0.15, 0.2, 0.25)]))
        families.append((f"hindsight +-{w} steps, multiplicative",
                         [(f"c={c}", [max(x, c * l) for x, l in zip(xs, level)])
                          for c in (1.05, 1.1, 1.2, 1.3)]))
    for alpha in (0.05, 0.2):
        level = ewma_level(xs, alpha)
        med = statistics.median(level)
        families.append((f"causal ewma alpha {alpha}, additive",
                         [(f"k={k}", [max(x, l + k * med) for x, l in zip(xs, level)])
                          for k in (0.05, 0.1, 0.15, 0.2, 0.25)]))

    jobs = [(fi, label, values) for fi, (_, runs) in enumerate(families) for label, values in runs]
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        results = list(pool.map(
            lambda ij: simulate(ij[1][2], f"f{ij[1][0]}-{ij[1][1]}", ij[0] == 0), enumerate(jobs)))

    first = results[0]
    r_aug = score(first["augur"], first["reactive"])
    name = os.path.basename(args.trace)
    print(f"{name}: capacity {args.capacity}/pod, 3m start-up, sample step {step:.0f}s, "
          f"pods asked now serve sample +{ahead}")
    print(f"reactive: under-provisioned {100 * first['reactive']['underprovisioned_fraction']:.2f} %, "
          f"{first['reactive']['replica_hours']:.1f} replica-h")
    print(f"Augur (quantile {args.quantile}): ratio {r_aug[0]:.3f}, extra {r_aug[1]:+.1f} %")
    print()
    print("| family | points (ratio / extra) | extra at ratio 0.5 |")
    print("|---|---|---|")
    by_family = {}
    for (fi, label, _), res in zip(jobs, results):
        by_family.setdefault(fi, []).append((label, score(res["values"], res["reactive"])))
    for fi, (fname, _) in enumerate(families):
        pts = by_family[fi]
        half = at_half([p for _, p in pts])
        cells = ", ".join(f"{label}: {r:.3f} / {e:+.1f} %" for label, (r, e) in pts)
        print(f"| {fname} | {cells} | {'+%.1f %%' % half if half is not None else 'not crossed'} |")
    for f in os.listdir(tmp):
        os.remove(os.path.join(tmp, f))
    os.rmdir(tmp)


if __name__ == "__main__":
    main()
