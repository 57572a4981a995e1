#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/, clang, ASan + UBSan, in build-fuzz/) and
# fuzzes each of them for SECONDS (default 60), starting from its committed corpus.
#   scripts/fuzz.sh [SECONDS] [TARGET...]    # e.g. scripts/fuzz.sh 600 response_parser
#   scripts/fuzz.sh --smoke                  # what CI runs: replay + 5 s each, via CTest
# New interesting inputs go to build-fuzz/fuzz-corpus/<target>/ (merge them into
# tests/fuzz/corpus/ with `-merge=1` if they add coverage); a crash leaves its input in
# build-fuzz/fuzz-crashes/<target>/ and makes this script exit 1. The last lines of
# each target's log (executions, coverage) are printed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${AUGUR_FUZZ_BUILD_DIR:-build-fuzz}
all_targets=(response_parser response_parser_differential spec duration csv trace http_request)

smoke=0 seconds=60 targets=()
for arg in "$@"; do
  case "$arg" in
    --smoke) smoke=1 ;;
    ''|*[!0-9]*) targets+=("$arg") ;;
    *) seconds=$arg ;;
  esac
done
((${#targets[@]})) || targets=("${all_targets[@]}")

launcher=()
command -v ccache >/dev/null 2>&1 && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++ -DAUGUR_FUZZ=ON -DAUGUR_BUILD_BENCH=OFF "${launcher[@]}" >/dev/null
cmake --build "$build" -j "$(nproc 2>/dev/null || echo 2)" --target fuzz_all

if ((smoke)); then
  exec ctest --test-dir "$build" -L fuzz --output-on-failure -j "$(nproc 2>/dev/null || echo 2)"
fi

status=0
summary=()
for t in "${targets[@]}"; do
  corpus=tests/fuzz/corpus/$t
  out=$build/fuzz-corpus/$t crashes=$build/fuzz-crashes/$t log=$build/fuzz-logs/$t.log
  mkdir -p "$out" "$crashes" "$(dirname "$log")"
  args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536
        -print_final_stats=1 -artifact_prefix="$crashes/")
  case "$t" in response_parser*) args+=(-dict=tests/fuzz/prometheus_json.dict) ;; esac
  echo "== $t: fuzzing for ${seconds}s (log: $log)"
  if ! "$build/${t}_fuzz" "${args[@]}" "$out" "$corpus" >"$log" 2>&1; then
    status=1
    echo "!! $t: a finding; input in $crashes/" >&2
    tail -40 "$log" >&2
  fi
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
  cov=$(grep -E '^#[0-9]+' "$log" | tail -1 | grep -oE 'cov: [0-9]+ ft: [0-9]+' || true)
  summary+=("$(printf '%-30s %12s execs  %s' "$t" "${execs:-?}" "${cov:-?}")")
done
echo
echo "target                            executions  coverage (edges, features)"
printf '%s\n' "${summary[@]}"
exit $status
