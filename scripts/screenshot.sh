#!/usr/bin/env bash
# Regenerates the README's picture of the web view, docs/web-view.png: a real augur and a
# real Prometheus on loopback (tests/e2e/harness.py, a synthetic daily cycle), one object
# tracked as KEDA would, about two minutes of answers, then headless Chromium's screenshot
# of /objects/shop/checkout (tests/e2e/webview.test.js --readme).
#   scripts/screenshot.sh [--build-dir build] [--out docs/web-view.png]
set -euo pipefail
cd "$(dirname "$0")/.."
build=build out=docs/web-view.png
while (($#)); do
  case "$1" in
    --build-dir) build=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) echo "screenshot.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[ -x "$build/augur" ] || { echo "screenshot.sh: $build/augur is missing: build it first" >&2; exit 1; }
py=/usr/bin/python3; [ -x "$py" ] || py=python3
AUGUR_E2E_README_ANSWERS=${AUGUR_E2E_README_ANSWERS:-120} \
  "$py" tests/e2e/harness.py --augur "$build/augur" -- node tests/e2e/webview.test.js --readme "$(realpath -m "$out")"
echo "screenshot.sh: wrote $out"
