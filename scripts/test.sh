#!/usr/bin/env bash
# The README's test command: installs what is missing, builds everything and runs every
# test (unit, integration against a real Prometheus, end-to-end) through CTest.
#   scripts/test.sh                 # release build in build/
#   AUGUR_SANITIZE=1 scripts/test.sh  # ASan + UBSan build in build-asan/
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-deps.sh

if [ "${AUGUR_SANITIZE:-0}" = 1 ]; then
  build=build-asan; extra=(-DAUGUR_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug)
else
  build=build; extra=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
fi
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B "$build" -G Ninja "${extra[@]}"
cmake --build "$build" -j "$jobs"
ctest --test-dir "$build" --output-on-failure -j "$jobs" --timeout 600
