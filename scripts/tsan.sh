#!/usr/bin/env bash
# The test suite under ThreadSanitizer: clang, -DAUGUR_SANITIZE=thread, in build-tsan/.
# Clang also checks the lock annotations (-Wthread-safety, an error here as every
# warning: -DAUGUR_WERROR=ON).
#   scripts/tsan.sh                 # build everything, run every test
#   scripts/tsan.sh --unit          # build the unit-test binaries, run their tests
#                                   #   (`ctest -L unit -LE fuzz`: what scripts/test.sh,
#                                   #   and so CI, runs; the fuzz replays are one-thread
#                                   #   parsers, checked under ASan + UBSan by fuzz.sh)
#   scripts/tsan.sh -R Tracker      # further arguments go to ctest
# A race report fails its test (halt_on_error); tests/tsan.supp lists what is not ours
# (hand-overs inside uninstrumented Debian libraries), each entry with its reason.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${AUGUR_TSAN_BUILD_DIR:-build-tsan}
jobs=$(nproc 2>/dev/null || echo 2)
targets=() ctest_args=()
if [ "${1:-}" = --unit ]; then
  shift
  targets=(--target common_test forecast_test promclient_test scaler_test loadtest_test)
  ctest_args=(-L unit -LE fuzz)
fi
launcher=()
command -v ccache >/dev/null 2>&1 && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  -DAUGUR_SANITIZE=thread -DAUGUR_WERROR=ON -DAUGUR_BUILD_BENCH=OFF "${launcher[@]}" >/dev/null
cmake --build "$build" -j "$jobs" "${targets[@]}"
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/tests/tsan.supp ${TSAN_OPTIONS:-}"
exec ctest --test-dir "$build" --output-on-failure -j "$jobs" --timeout 900 "${ctest_args[@]}" "$@"
