#!/usr/bin/env bash
# The README's test command: installs what is missing, builds everything and runs every
# test (unit, integration against a real Prometheus, end-to-end) through CTest.
#   scripts/test.sh                 # release build in build/
#   AUGUR_SANITIZE=1 scripts/test.sh  # ASan + UBSan build in build-asan/
#   AUGUR_SKIP_FUZZ=1 scripts/test.sh  # without the libFuzzer smoke run (build-fuzz/)
#   AUGUR_SKIP_TSAN=1 scripts/test.sh  # without the ThreadSanitizer unit suite (build-tsan/)
# Warnings in our own targets are errors here (-DAUGUR_WERROR=ON); a user's build keeps them warnings.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-deps.sh

if [ "${AUGUR_SANITIZE:-0}" = 1 ]; then
  build=build-asan; extra=(-DAUGUR_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug)
else
  build=build; extra=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
fi
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B "$build" -G Ninja -DAUGUR_WERROR=ON "${extra[@]}"
cmake --build "$build" -j "$jobs"
ctest --test-dir "$build" --output-on-failure -j "$jobs" --timeout 600
# The fuzz targets under libFuzzer (clang, ASan + UBSan, build-fuzz/): each corpus
# replayed, then 5 s of fuzzing per target (about 2 minutes in all on 2 cores).
if [ "${AUGUR_SKIP_FUZZ:-0}" != 1 ]; then
  bash scripts/fuzz.sh --smoke
fi
# The unit suite again under ThreadSanitizer (clang, build-tsan/; scripts/tsan.sh --unit):
# the tracker's stress and flood tests, the services on real threads; its clang build
# also checks the lock annotations (-Wthread-safety). `scripts/tsan.sh` alone runs the
# whole suite (docs/reliability.md, "Races", says why CI runs the unit part).
if [ "${AUGUR_SKIP_TSAN:-0}" != 1 ]; then
  bash scripts/tsan.sh --unit
fi
