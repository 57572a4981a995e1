#!/usr/bin/env bash
# CTest's short fuzz run of one libFuzzer target: fuzz_smoke.sh BINARY CORPUS SECONDS [DICT]
# Fuzzes for SECONDS starting from the committed CORPUS; new inputs go to a temporary
# directory (the committed corpus is never written). A crash leaves its input in the
# temporary directory's crashes/ and fails the test (libFuzzer prints the reproducer).
set -euo pipefail
binary=$1 corpus=$2 seconds=$3 dict=${4:-}
work=$(mktemp -d "${TMPDIR:-/tmp}/augur-fuzz-smoke-XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/new" "$work/crashes"
args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536
      -print_final_stats=1 -artifact_prefix="$work/crashes/")
[ -n "$dict" ] && args+=(-dict="$dict")
if ! "$binary" "${args[@]}" "$work/new" "$corpus"; then
  echo "fuzz_smoke: $(basename "$binary") found a crash; its input:" >&2
  for f in "$work"/crashes/*; do [ -f "$f" ] && { echo "$f" >&2; od -c "$f" | head -20 >&2; }; done
  exit 1
fi
