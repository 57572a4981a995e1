#!/usr/bin/env python3
"""Proves check_manifests.py can fail: it must pass on a pristine copy of k8s/ and fail,
naming the problem, on copies with one deliberate mistake each.

Usage: selftest.py --augur PATH --k8s DIR --dockerfile PATH --readme PATH [--kubectl PATH]
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

# (file under k8s/, text to replace, replacement, what the checker's output must mention)
MUTATIONS = [
    ("scaledobject-external.yaml", "targetValue:", "targetvalue:", "'targetvalue'"),
    ("scaledobject-external-push.yaml", "shortfall:", "shortfal:", "'shortfal'"),
    ("base/deployment.yaml", "--idle-ttl=15m", "--idle-tll=15m", "--idle-tll"),
    ("base/deployment.yaml", "--http-listen=0.0.0.0:8080", "--http-listen=0.0.0.0:8081", "8081"),
    ("base/deployment.yaml", "service: readiness", "service: ready", "'ready'"),
    ("base/deployment.yaml", "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false", "readOnlyRootFilesystem"),
    ("base/deployment.yaml", "minAvailable: 1", "minAvailable: 0", "PodDisruptionBudget"),
    ("base/deployment.yaml", "terminationGracePeriodSeconds: 30", "terminationGracePeriodSeconds: 12",
     "terminationGracePeriodSeconds 12"),
    ("base/deployment.yaml", "            periodSeconds: 5\n            timeoutSeconds: 2\n            failureThreshold: 2",
     "            periodSeconds: 5\n            timeoutSeconds: 2\n            failureThreshold: 3",
     "shorter than the readinessProbe"),
    ("scaledobject-external.yaml", "svc.cluster.local:6000", "svc.cluster.local:6001", "6001"),
    ("scaledobject-external.yaml", "failureThreshold: 3", "failureThresholdd: 3", "fallback"),
    ("scaledobject-external.yaml", "      metricType: AverageValue   # required:", "      metricType: Value   # required:",
     "metricType: Value"),
    ("scaledobject-external-push.yaml", "      metricType: AverageValue", "      # metricType: AverageValue",
     "fallback without `metricType: AverageValue`"),
    ("tls/scaledobject-tls.yaml", "    name: payments", "    name: checkout", "admission webhook"),
    ("tls/triggerauthentication.yaml", "parameter: tlsClientKey", "parameter: tlsKey", "tlsClientKey"),
    ("tls/deployment-tls-patch.yaml", "mountPath: /etc/augur/tls", "mountPath: /etc/augur/certs", "/etc/augur/tls/tls.crt"),
    ("tls/deployment-tls-patch.yaml", "- op: replace\n  path: /spec/template/spec/containers/0/readinessProbe",
     "- op: add\n  path: /spec/template/spec/containers/0/startupProbe", "cannot use TLS"),
    ("tls/kustomization.yaml", "path: deployment-tls-patch.yaml", "path: deployment-tls.yaml", "does not exist"),
    ("kustomization.yaml", "  - base/servicemonitor.yaml\n", "", "renders something else"),
    ("base/kustomization.yaml", "  - service.yaml", "  - services.yaml", "kubectl kustomize base"),
    ("networkpolicy.yaml", "kubernetes.io/metadata.name: keda", "kubernetes.io/metadata.name: default",
     "not KEDA's namespace"),
    ("networkpolicy.yaml", "port: 8080   # http", "port: 8081   # http", "8081"),
    ("base/servicemonitor.yaml", "honorLabels: true", "honorLabels: false", "honorLabels"),
    ("base/namespace.yaml", "kind: Namespace", "kind: Namespace\n  bad: [unclosed", "YAML"),
]


def run_checker(augur, k8s, dockerfile, readme=None, kubectl=None):
    extra = (["--readme", readme] if readme else []) + (["--kubectl", kubectl] if kubectl else [])
    r = subprocess.run([sys.executable, os.path.join(HERE, "check_manifests.py"), "--augur", augur,
                        "--k8s", k8s, "--dockerfile", dockerfile] + extra,
                       capture_output=True, text=True, timeout=120)
    return r.returncode, r.stdout + r.stderr


def augur_version(augur):
    out = subprocess.run([augur, "--version"], capture_output=True, text=True, timeout=30).stdout
    return out.split()[1] if out.startswith("augur ") else "?"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--augur", required=True)
    ap.add_argument("--k8s", required=True)
    ap.add_argument("--dockerfile", required=True)
    ap.add_argument("--readme", required=True)
    ap.add_argument("--kubectl")
    args = ap.parse_args()
    # An image tag left behind by a version bump.
    MUTATIONS.append(("base/deployment.yaml", f"image: augur:{augur_version(args.augur)}",
                      "image: augur:0.0.9", "augur:0.0.9"))
    failures = []
    with tempfile.TemporaryDirectory(prefix="augur-manifests-") as tmp:
        pristine = os.path.join(tmp, "pristine")
        shutil.copytree(args.k8s, pristine)
        rc, out = run_checker(args.augur, pristine, args.dockerfile, kubectl=args.kubectl)
        if rc != 0:
            failures.append(f"the pristine manifests fail the check:\n{out}")
        for i, (rel, old, new, expect) in enumerate(MUTATIONS):
            copy = os.path.join(tmp, f"m{i}")
            shutil.copytree(args.k8s, copy)
            path = os.path.join(copy, rel)
            with open(path) as f:
                text = f.read()
            if old not in text:
                failures.append(f"mutation {i}: {old!r} not found in {rel} (update this self-test)")
                continue
            with open(path, "w") as f:
                f.write(text.replace(old, new, 1))
            rc, out = run_checker(args.augur, copy, args.dockerfile, kubectl=args.kubectl)
            verdict = "caught" if rc != 0 and expect in out else "MISSED"
            print(f"{verdict}: {rel}: {old!r} -> {new!r}")
            if verdict == "MISSED":
                failures.append(f"mutation {i} ({rel}: {old!r} -> {new!r}) not reported "
                                f"(exit {rc}, expected {expect!r} in):\n{out}")
        # README.md must document every flag: drop one row's flag name.
        with open(args.readme) as f:
            readme = f.read()
        rc, out = run_checker(args.augur, pristine, args.dockerfile, args.readme, args.kubectl)
        if rc != 0:
            failures.append(f"the real README fails the check:\n{out}")
        broken = os.path.join(tmp, "README.md")
        with open(broken, "w") as f:
            f.write(readme.replace("`--idle-ttl`", "`idle ttl`"))
        rc, out = run_checker(args.augur, pristine, args.dockerfile, broken, args.kubectl)
        verdict = "caught" if rc != 0 and "--idle-ttl" in out else "MISSED"
        print(f"{verdict}: README.md without --idle-ttl")
        if verdict == "MISSED":
            failures.append(f"an undocumented flag was not reported (exit {rc}):\n{out}")
    if failures:
        print("FAIL:\n" + "\n".join(failures))
        return 1
    print(f"OK: the checker passes the real manifests and catches all {len(MUTATIONS) + 1} mistakes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
