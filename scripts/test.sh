#!/usr/bin/env bash
# The README's test command: installs what is missing, builds everything and runs every
# test (unit, integration against a real Prometheus, end-to-end) through CTest.
#   scripts/test.sh                 # release build in build/
#   AUGUR_SANITIZE=1 scripts/test.sh  # ASan + UBSan build in build-asan/
#   AUGUR_SKIP_FUZZ=1 scripts/test.sh  # without the libFuzzer smoke run (build-fuzz/)
#   AUGUR_SKIP_TSAN=1 scripts/test.sh  # without the suite under ThreadSanitizer (build-tsan/)
# Warnings in our own targets are errors here (-DAUGUR_WERROR=ON); a user's build keeps them warnings.
set -euo pipefail
cd "$(dirname "$0")/.."
# Each phase's wall time, printed at the end: CI's 30-minute budget is checked from them.
phases=() started=$SECONDS
phase_done() {
  phases+=("$(printf '%-34s %3dm%02ds' "$1" $(((SECONDS - started) / 60)) $(((SECONDS - started) % 60)))")
  started=$SECONDS
}
trap 'printf "test.sh: %s\n" "${phases[@]}" "$(printf "%-34s %3dm%02ds" total $((SECONDS / 60)) $((SECONDS % 60)))" >&2' EXIT
bash scripts/setup-deps.sh
phase_done "set-up (packages, npm ci)"

if [ "${AUGUR_SANITIZE:-0}" = 1 ]; then
  build=build-asan; extra=(-DAUGUR_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug)
else
  build=build; extra=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
fi
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B "$build" -G Ninja -DAUGUR_WERROR=ON "${extra[@]}"
cmake --build "$build" -j "$jobs"
phase_done "build ($build)"
ctest --test-dir "$build" --output-on-failure -j "$jobs" --timeout 600
phase_done "tests ($build)"
# The fuzz targets under libFuzzer (clang, ASan + UBSan, build-fuzz/): each corpus
# replayed, then 5 s of fuzzing per target (about 2 minutes in all on 2 cores).
if [ "${AUGUR_SKIP_FUZZ:-0}" != 1 ]; then
  bash scripts/fuzz.sh --smoke
  phase_done "fuzz smoke (build-fuzz)"
fi
# The whole suite again under ThreadSanitizer (clang, build-tsan/, scripts/tsan.sh): the
# tracker's stress and flood tests, the services on real threads, the real augur under
# faults, floods and shutdown; its clang build also checks the lock annotations
# (-Wthread-safety). AUGUR_TSAN_UNIT=1 runs only its unit part (scripts/tsan.sh --unit).
if [ "${AUGUR_SKIP_TSAN:-0}" != 1 ]; then
  if [ "${AUGUR_TSAN_UNIT:-0}" = 1 ]; then bash scripts/tsan.sh --unit; else bash scripts/tsan.sh; fi
  phase_done "ThreadSanitizer (build-tsan)"
fi
