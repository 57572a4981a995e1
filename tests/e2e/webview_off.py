#!/usr/bin/env python3
"""With --web-ui=false, augur serves none of the web view (/, /objects/..., /api/v1/...)
but still /metrics, /healthz and /readyz. Run by tests/e2e/harness.py."""

import os
import sys
import urllib.error
import urllib.request


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def main():
    http = "http://" + os.environ["AUGUR_E2E_HTTP"]
    failures = []
    for path in ("/", "/objects/e2e/x", "/api/v1/objects"):
        status, body = get(http + path)
        if status != 404 or "--web-ui=false" not in body:
            failures.append(f"{path}: {status} {body[:120]!r}, expected 404 naming --web-ui=false")
    for path in ("/metrics", "/healthz", "/readyz"):
        status, _ = get(http + path)
        if status != 200:
            failures.append(f"{path}: {status}, expected 200")
    if failures:
        print("FAIL:\n  " + "\n  ".join(failures))
        return 1
    print("OK: --web-ui=false serves no web view; /metrics, /healthz, /readyz still answer")
    return 0


if __name__ == "__main__":
    sys.exit(main())
