#!/usr/bin/env python3
"""Compares two `backtest.py run` outputs on the 80 % interval score (Gneiting & Raftery,
2007: width + 2/alpha * miss distance; lower is better) and on per-series coverage, at
the protocol's 60-minute horizon.

usage: bench/forecast/interval_score.py BEFORE.csv AFTER.csv [DATA_DIR]
(the CSVs come from bench/forecast/run_accuracy.sh BUILD OUT.csv [predict flags])
"""
import collections
import csv
import sys


def actuals(data_dir, series, cache={}):
    if series not in cache:
        with open(f"{data_dir}/{series}.csv") as f:
            cache[series] = {float(r["timestamp"]): float(r["value"]) for r in csv.DictReader(f)}
    return cache[series]


def score(path, data_dir, alpha=0.2, horizon=3600):
    out = collections.defaultdict(lambda: [0.0, 0, 0])  # score sum, count, inside
    with open(path) as f:
        for r in csv.DictReader(f):
            truth = actuals(data_dir, r["series"])
            t = float(r["timestamp"])
            if t not in truth or t - float(r["origin"]) > horizon:
                continue
            y, lo, hi = truth[t], float(r["yhat_lower"]), float(r["yhat_upper"])
            s = (hi - lo) + (2 / alpha) * max(lo - y, 0) + (2 / alpha) * max(y - hi, 0)
            o = out[r["series"]]
            o[0] += s
            o[1] += 1
            o[2] += lo <= y <= hi
    return out


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    data_dir = sys.argv[3] if len(sys.argv) > 3 else "/work/shared/data/series"
    before, after = score(sys.argv[1], data_dir), score(sys.argv[2], data_dir)
    ratio_product, dev_b, dev_a, n = 1.0, 0.0, 0.0, 0
    for s in sorted(set(before) & set(after)):
        sb, sa = before[s][0] / before[s][1], after[s][0] / after[s][1]
        cb, ca = before[s][2] / before[s][1], after[s][2] / after[s][1]
        ratio_product *= sa / sb
        dev_b += abs(cb - 0.8)
        dev_a += abs(ca - 0.8)
        n += 1
        print(f"{s:32s} interval score {sb:10.4g} -> {sa:10.4g} ({sa / sb:.3f})  "
              f"coverage80 {cb:.3f} -> {ca:.3f}")
    if n:
        print(f"geometric mean score ratio {ratio_product ** (1 / n):.3f}; "
              f"mean |coverage80 - 0.8| {dev_b / n:.3f} -> {dev_a / n:.3f}")


if __name__ == "__main__":
    main()
