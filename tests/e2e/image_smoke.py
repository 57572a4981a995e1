#!/usr/bin/env python3
"""Smoke test of Augur's container image (built by scripts/image.sh).

Usage: image_smoke.py --image TAG [--podman PODMAN]

  1. each binary of the image (augur, augur-forecast, augur-loadtest) runs `--help`;
  2. the image's user is not root (uid 65532, as k8s/deployment.yaml expects);
  3. tests/e2e/harness.py starts a real Prometheus on loopback and, instead of a local
     binary, augur inside the image (`podman run --network=host`, so that its loopback is
     the host's); then, against that containerised augur: /healthz, /readyz and /metrics
     answer, and tests/e2e/keda_order.test.js drives KEDA's GetMetricSpec -> GetMetrics ->
     IsActive sequence (and the push streams) with grpc-js.
Exit 0 when all pass. The container is removed whatever happens.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
BINARIES = ("augur", "augur-forecast", "augur-loadtest")
EXPECTED_UID = "65532"


def log(msg):
    print(f"image_smoke: {msg}", flush=True)


def inside():
    """Run by the harness: HTTP endpoints of the containerised augur, then the KEDA sequence."""
    http = os.environ["AUGUR_E2E_HTTP"]
    for path, want in (("/healthz", "ok"), ("/readyz", "ready"), ("/metrics", "augur_tracked_objects")):
        with urllib.request.urlopen(f"http://{http}{path}", timeout=5) as r:
            body = r.read().decode()
            if r.status != 200 or want not in body:
                log(f"FAIL: {path} answered {r.status} without {want!r}")
                return 1
        log(f"ok: {path} (HTTP 200, {want!r})")
    node = shutil.which("node") or "node"
    return subprocess.run([node, os.path.join(HERE, "keda_order.test.js")], timeout=200).returncode


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--image")
    ap.add_argument("--podman", default=shutil.which("podman") or "podman")
    ap.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.inside:
        return inside()
    if not args.image:
        ap.error("--image is required")

    def run(argv, timeout=60):
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)

    failures = []
    for b in BINARIES:
        r = run([args.podman, "run", "--rm", "--network=none", "--entrypoint", f"/usr/local/bin/{b}",
                 args.image, "--help"])
        text = r.stdout + r.stderr
        if r.returncode != 0 or "--help" not in text and "help" not in text:
            failures.append(f"{b} --help: exit {r.returncode}: {text[:300]}")
        else:
            log(f"ok: {b} --help ({len(text.splitlines())} lines)")
    r = run([args.podman, "run", "--rm", "--network=none", "--entrypoint", "id", args.image, "-u"])
    uid = r.stdout.strip()
    if r.returncode != 0 or uid != EXPECTED_UID:
        failures.append(f"the image runs as uid {uid!r} (exit {r.returncode}), expected {EXPECTED_UID} (non-root)")
    else:
        log(f"ok: runs as uid {uid} (not root)")
    if failures:
        log("FAIL:\n  " + "\n  ".join(failures))
        return 1

    name = f"augur-smoke-{os.getpid()}"
    tmp = tempfile.mkdtemp(prefix="augur-image-smoke-")
    wrapper = os.path.join(tmp, "augur-in-image")
    with open(wrapper, "w") as f:
        # The harness starts this as its augur: the flags it passes go to the containerised
        # augur; SIGTERM reaches it through podman's signal proxy.
        f.write(f"#!/bin/sh\nexec {args.podman} run --rm --network=host --name {name} "
                f"{args.image} \"$@\"\n")
    os.chmod(wrapper, 0o755)
    try:
        rc = subprocess.run([sys.executable, os.path.join(HERE, "harness.py"), "--augur", wrapper,
                             "--", sys.executable, os.path.abspath(__file__), "--inside"],
                            timeout=400).returncode
    finally:
        subprocess.run([args.podman, "rm", "-f", "--ignore", name], capture_output=True, timeout=60)
        shutil.rmtree(tmp, ignore_errors=True)
    log("OK: the image's binaries run, as non-root; the containerised augur serves HTTP and "
        "answers KEDA's sequence" if rc == 0 else f"FAIL: the containerised augur (exit {rc})")
    return rc


if __name__ == "__main__":
    sys.exit(main())
