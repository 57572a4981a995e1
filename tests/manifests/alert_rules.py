#!/usr/bin/env python3
"""Augur's alert rules: one source, two forms, every rule tested.

Usage:
  alert_rules.py --rules k8s/alerts/augur-rules.yaml --crd k8s/base/prometheusrule.yaml
                 --tests k8s/alerts/augur-rules.test.yaml [--promtool PATH] [--write]

The plain rule file (--rules) is the source. k8s/base/prometheusrule.yaml (--crd) is the same
rules wrapped in a Prometheus Operator PrometheusRule, generated from it: --write
regenerates it; without --write the check fails if the committed file differs from what
would be generated (and if the two do not parse to the same groups). Then:
  * every rule is an alerting rule with `for`, a severity label and summary/description
    annotations; alert names are unique;
  * `promtool check rules` accepts the plain file;
  * every alert is named by an `alert_rule_test` of the promtool test file (--tests), and
    every alert named there exists (the tests themselves run as their own CTest test).
Exit 0 when all holds; 1 with one line per problem.
"""

import argparse
import os
import shutil
import subprocess
import sys

try:
    import yaml
except ImportError:
    sys.exit("python3-yaml is missing: run scripts/setup-deps.sh")

CRD_HEADER = """\
# GENERATED from k8s/alerts/augur-rules.yaml by tests/manifests/alert_rules.py --write:
# edit that file, not this one (a test fails when they differ). Augur's alert rules for the
# Prometheus Operator; if your Prometheus selects rules by label (ruleSelector), add that
# label here (e.g. `release: <your Prometheus release>`). See README.md, "Alerts".
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: augur
  namespace: augur
  labels:
    app.kubernetes.io/name: augur
spec:
"""


def generate_crd(rules_text):
    """The PrometheusRule text for a plain rule file: its body from `groups:` on, under spec."""
    lines = rules_text.splitlines()
    start = next((i for i, l in enumerate(lines) if l.startswith("groups:")), None)
    if start is None:
        raise ValueError("the rule file has no top-level `groups:`")
    body = ["  " + l if l.strip() else "" for l in lines[start:]]
    return CRD_HEADER + "\n".join(body) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rules", required=True)
    ap.add_argument("--crd", required=True)
    ap.add_argument("--tests", required=True)
    ap.add_argument("--promtool", default=shutil.which("promtool") or "promtool")
    ap.add_argument("--write", action="store_true", help="regenerate --crd from --rules")
    args = ap.parse_args()
    problems = []

    with open(args.rules) as f:
        rules_text = f.read()
    try:
        wanted = generate_crd(rules_text)
    except ValueError as e:
        print(f"FAIL: {args.rules}: {e}")
        return 1
    if args.write:
        with open(args.crd, "w") as f:
            f.write(wanted)
        print(f"wrote {args.crd}")
    try:
        with open(args.crd) as f:
            crd_text = f.read()
    except OSError as e:
        crd_text = ""
        problems.append(f"{args.crd}: {e}")
    if crd_text != wanted:
        problems.append(f"{args.crd} is not what {args.rules} generates: run "
                        f"tests/manifests/alert_rules.py --write (same arguments)")

    plain = yaml.safe_load(rules_text) or {}
    crd = yaml.safe_load(crd_text) if crd_text else {}
    if (crd or {}).get("spec") != plain:
        problems.append(f"{args.crd}: spec does not parse to the rule file's groups")

    alerts = []
    for group in plain.get("groups") or []:
        for rule in group.get("rules") or []:
            name = rule.get("alert")
            where = f"{args.rules}: group {group.get('name')}"
            if not name:
                problems.append(f"{where}: a rule is not an alerting rule ({rule.get('record')})")
                continue
            alerts.append(name)
            if not rule.get("for"):
                problems.append(f"{where}: {name} has no `for` (it would fire on one bad scrape)")
            if (rule.get("labels") or {}).get("severity") not in ("critical", "warning", "info"):
                problems.append(f"{where}: {name} needs labels.severity critical, warning or info")
            ann = rule.get("annotations") or {}
            for key in ("summary", "description"):
                if not ann.get(key):
                    problems.append(f"{where}: {name} has no annotations.{key}")
    if not alerts:
        problems.append(f"{args.rules}: no alerting rules")
    dupes = sorted({a for a in alerts if alerts.count(a) > 1})
    if dupes:
        problems.append(f"{args.rules}: alert names used twice: {', '.join(dupes)}")

    r = subprocess.run([args.promtool, "check", "rules", args.rules], capture_output=True,
                       text=True, timeout=60)
    if r.returncode != 0:
        problems.append(f"promtool check rules {args.rules}: {(r.stdout + r.stderr).strip()}")

    with open(args.tests) as f:
        tests = yaml.safe_load(f) or {}
    rule_files = [os.path.normpath(os.path.join(os.path.dirname(args.tests), p))
                  for p in tests.get("rule_files") or []]
    if os.path.normpath(args.rules) not in rule_files:
        problems.append(f"{args.tests}: rule_files does not name {args.rules}")
    tested = set()
    for t in tests.get("tests") or []:
        for a in t.get("alert_rule_test") or []:
            tested.add(a.get("alertname"))
    for a in alerts:
        if a not in tested:
            problems.append(f"{args.tests}: no alert_rule_test for {a}")
    for a in sorted(tested - set(alerts)):
        problems.append(f"{args.tests}: tests alert {a}, which the rule file does not define")

    if problems:
        print("FAIL:\n  " + "\n  ".join(problems))
        return 1
    print(f"OK: {len(alerts)} alerts ({', '.join(alerts)}); {args.crd} matches; "
          f"promtool accepts the rules; every alert has a promtool test")
    return 0


if __name__ == "__main__":
    sys.exit(main())
