#!/usr/bin/env python3
"""Draws scripts/demo.sh's run as an SVG: observed load and Augur's answer (top), the
replicas a reactive HPA and Augur's HPA ask for (bottom), over the run.

Usage: demo_plot.py --in HPA.jsonl --out PICTURE.svg [--title TEXT] [--target N]

HPA.jsonl holds `augur-loadtest keda --format json` lines; the `"event":"hpa"` ones (time,
observed, value, reactive_replicas, replicas) are drawn. Self-contained SVG (no fonts or
scripts from elsewhere). Exit 1 if there is nothing to draw.
"""

import argparse
import html
import json
import math
import sys
import time

W, H = 900, 560
LEFT, RIGHT = 70, 20
TOP1, H1 = 70, 230    # load panel
TOP2, H2 = 360, 150   # replicas panel
COLORS = {"observed": "#1f77b4", "augur": "#d62728", "reactive_replicas": "#1f77b4",
          "augur_replicas": "#d62728"}


def nice_max(v):
    if v <= 0:
        return 1.0
    e = 10 ** math.floor(math.log10(v))
    for m in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if v <= m * e:
            return m * e
    return 10 * e


def path(points, sx, sy, step=False):
    out, prev = [], None
    for t, v in points:
        if v is None:
            prev = None
            continue
        x, y = sx(t), sy(v)
        if prev is None:
            out.append(f"M{x:.1f},{y:.1f}")
        elif step:
            out.append(f"H{x:.1f}V{y:.1f}")
        else:
            out.append(f"L{x:.1f},{y:.1f}")
        prev = (x, y)
    return " ".join(out)


def panel(svg, top, height, t0, t1, series, ymax, label, step, unit_fmt):
    sx = lambda t: LEFT + (t - t0) / max(t1 - t0, 1e-9) * (W - LEFT - RIGHT)
    sy = lambda v: top + height - v / ymax * height
    svg.append(f'<rect x="{LEFT}" y="{top}" width="{W - LEFT - RIGHT}" height="{height}" '
               'fill="#fff" stroke="#bbb"/>')
    for i in range(5):
        v = ymax * i / 4
        y = sy(v)
        svg.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>')
        svg.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{unit_fmt(v)}</text>')
    svg.append(f'<text x="{LEFT}" y="{top - 8}" font-weight="bold">{html.escape(label)}</text>')
    for name, pts, legend in series:
        d = path(pts, sx, sy, step)
        if d:
            svg.append(f'<path class="series {name}" d="{d}" fill="none" stroke="{COLORS[name]}" '
                       f'stroke-width="2"/>')
        shown = [(t, v) for t, v in pts if v is not None]
        if len(shown) <= 40:  # few syncs (a short run): mark each one
            svg.extend(f'<circle class="point {name}" cx="{sx(t):.1f}" cy="{sy(v):.1f}" r="3" '
                       f'fill="{COLORS[name]}"/>' for t, v in shown)
    x = W - RIGHT
    for name, _pts, legend in reversed(series):
        w = 10 + 7 * len(legend)
        x -= w + 24
        svg.append(f'<rect x="{x}" y="{top - 19}" width="14" height="4" fill="{COLORS[name]}"/>'
                   f'<text x="{x + 18}" y="{top - 13}">{html.escape(legend)}</text>')
    return sx


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--in", dest="inp", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--title", default="Augur demo")
    ap.add_argument("--target", type=float, default=None, help="per-replica target (shown in the label)")
    args = ap.parse_args()

    rows = []
    with open(args.inp) as f:
        for line in f:
            try:
                e = json.loads(line)
            except ValueError:
                continue
            if e.get("event") == "hpa" and isinstance(e.get("time"), (int, float)):
                rows.append(e)
    if not rows:
        print(f"demo_plot: no HPA syncs in {args.inp}: nothing to draw", file=sys.stderr)
        return 1
    t0, t1 = rows[0]["time"], rows[-1]["time"]
    if t1 <= t0:
        t1 = t0 + 1
    num = lambda v: float(v) if isinstance(v, (int, float)) and math.isfinite(v) else None
    observed = [(r["time"], num(r.get("observed"))) for r in rows]
    answer = [(r["time"], num(r.get("value"))) for r in rows]
    reactive = [(r["time"], num(r.get("reactive_replicas"))) for r in rows]
    augur = [(r["time"], num(r.get("replicas"))) for r in rows]
    load_max = nice_max(max([v for _, v in observed + answer if v is not None] or [1]) * 1.05)
    rep_max = nice_max(max([v for _, v in reactive + augur if v is not None] or [1]) * 1.1)

    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" '
           'font-family="sans-serif" font-size="12">',
           f'<title>{html.escape(args.title)}</title>',
           f'<rect width="{W}" height="{H}" fill="#fafafa"/>',
           f'<text x="{LEFT}" y="24" font-size="16" font-weight="bold">{html.escape(args.title)}</text>',
           f'<text x="{LEFT}" y="42" fill="#555">{len(rows)} HPA syncs from '
           f'{time.strftime("%H:%M:%S", time.gmtime(t0))} to {time.strftime("%H:%M:%S UTC", time.gmtime(t1))}'
           '</text>']
    fmt_load = lambda v: f"{v:g}"
    panel(svg, TOP1, H1, t0, t1, [("observed", observed, "observed load"),
                                  ("augur", answer, "Augur's answer to KEDA")],
          load_max, "Load", False, fmt_load)
    target = f" (target {args.target:g} per replica)" if args.target else ""
    sx = panel(svg, TOP2, H2, t0, t1, [("reactive_replicas", reactive, "reactive HPA"),
                                       ("augur_replicas", augur, "HPA with Augur")],
               rep_max, "Replicas" + target, True, lambda v: f"{v:g}")
    # Time axis: about six ticks since the start, as m:ss.
    span = t1 - t0
    tick = next((s for s in (5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600) if span / s <= 7), 7200)
    t = 0.0
    while t <= span + 1e-6:
        x = sx(t0 + t)
        svg.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{TOP2 + H2}" y2="{TOP2 + H2 + 4}" stroke="#555"/>'
                   f'<text x="{x:.1f}" y="{TOP2 + H2 + 17}" text-anchor="middle">'
                   f'{int(t) // 60}:{int(t) % 60:02d}</text>')
        t += tick
    svg.append(f'<text x="{W - RIGHT}" y="{TOP2 + H2 + 36}" text-anchor="end" fill="#555">'
               'minutes since the start</text>')
    svg.append("</svg>")
    with open(args.out, "w") as f:
        f.write("\n".join(svg) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
