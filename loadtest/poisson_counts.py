#!/usr/bin/env python3
"""A trace's demand pattern at a fraction of its traffic: every value v becomes a
Poisson count with mean v / DIVISOR (seeded, so runs repeat). What a low-traffic service
with the same daily shape would see: the same ramps under counting noise of
sqrt(mean) / mean (7.5 % at a mean of 176, 24 % at 18), where the original trace's is
negligible. loadtest/run_simulations.sh (SET=outside) uses it to check that the price of
safety holds on the kind of data, not only on the dev traces (docs/loadtest.md,
"Outside the dev traces").

usage: loadtest/poisson_counts.py TRACE.csv DIVISOR OUT.csv [--seed N]
TRACE.csv: timestamp,value (unix seconds, values >= 0; a header line is skipped).
"""
import argparse
import csv
import math
import random
import sys


def poisson(rng, mean):
    # Knuth's product of uniforms for small means; the normal approximation (within
    # 1 % in its quantiles) beyond 50, where the product needs too many draws.
    if mean >= 50:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p < limit:
            return k
        k += 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("trace")
    ap.add_argument("divisor", type=float)
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    if not a.divisor > 0:
        sys.exit(f"poisson_counts: DIVISOR must be > 0, got {a.divisor}")
    rng = random.Random(a.seed)
    rows = 0
    with open(a.trace, newline="") as src, open(a.out, "w", newline="") as dst:
        w = csv.writer(dst)
        w.writerow(["timestamp", "value"])
        for n, row in enumerate(csv.reader(src), 1):
            if len(row) < 2:
                sys.exit(f"poisson_counts: {a.trace}:{n}: expected timestamp,value, got {row!r}")
            try:
                t, v = float(row[0]), float(row[1])
            except ValueError:
                if n == 1:
                    continue  # the header
                sys.exit(f"poisson_counts: {a.trace}:{n}: expected numbers, got {row!r}")
            if not (math.isfinite(v) and v >= 0):
                sys.exit(f"poisson_counts: {a.trace}:{n}: expected a value >= 0, got {row[1]}")
            w.writerow([int(t) if t.is_integer() else t, poisson(rng, v / a.divisor)])
            rows += 1
    if rows == 0:
        sys.exit(f"poisson_counts: {a.trace}: no samples")


if __name__ == "__main__":
    main()
