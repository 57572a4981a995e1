#!/usr/bin/env bash
# The function-size rule (issue 13): no function in forecast/, scaler/, promclient/ or
# cli/ longer than 150 lines, comments and blank lines included (clang-tidy's
# readability-function-size, LineThreshold 150), checked on the sources of a configured
# build (its compile_commands.json; generated code and headers of other projects are
# not checked).
#
# Usage: scripts/function_size.sh [BUILD_DIR]   (default: build)
# Exit 0 when every function is within the limit; 1 with clang-tidy's warnings otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
[ -f "$build/compile_commands.json" ] || {
  echo "function_size: $build/compile_commands.json is missing (configure the build first)" >&2
  exit 1
}
command -v clang-tidy >/dev/null || { echo "function_size: clang-tidy is missing (scripts/setup-deps.sh)" >&2; exit 1; }
limit=150
config="{Checks: '-*,readability-function-size', WarningsAsErrors: '*', CheckOptions: [{key: readability-function-size.LineThreshold, value: $limit}]}"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
git ls-files 'forecast/*.cc' 'scaler/*.cc' 'promclient/*.cc' 'cli/*.cc' |
  xargs -P "${JOBS:-2}" -n 4 clang-tidy -quiet -p "$build" --config="$config" >"$out" 2>&1 || true
if grep -q "readability-function-size" "$out"; then
  grep -E "readability-function-size|note: [0-9]+ lines" "$out" >&2
  echo "function_size: functions over $limit lines (above)" >&2
  exit 1
fi
echo "function_size: every function in forecast/ scaler/ promclient/ cli/ is within $limit lines"
