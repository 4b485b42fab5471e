#!/usr/bin/env bash
# Runs every libFuzzer target of the fuzz preset for SECONDS (default 60) on
# a scratch copy of its corpus and prints a markdown table of executions.
# New inputs are merged back into fuzz/corpus/<target>/ only with --merge.
# Usage: fuzz/run_all.sh [SECONDS] [--merge]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
merge=${2:-}
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "$(nproc)" >/dev/null
work=$(mktemp -d /tmp/mxsec-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
echo "| target | seconds | executions | exec/s | corpus in | crashes |"
echo "|---|---:|---:|---:|---:|---|"
for bin in build/fuzz/fuzz/fuzz_*; do
  name=${bin##*/fuzz_}
  corpus=fuzz/corpus/$name
  mkdir -p "$work/$name"
  cp -r "$corpus/." "$work/$name/" 2>/dev/null || true
  log=$work/$name.log
  status=none
  if ! "$bin" -max_total_time="$seconds" -max_len=8192 -print_final_stats=1 \
       -artifact_prefix="$work/$name-" "$work/$name" >"$log" 2>&1; then
    status="FOUND (see $work/$name-*)"
  fi
  execs=$(grep -m1 'stat::number_of_executed_units' "$log" | awk '{print $2}')
  rate=$(( ${execs:-0} / seconds ))
  echo "| $name | $seconds | ${execs:-?} | $rate | $(ls "$corpus" | wc -l) | $status |"
  if [ "$merge" = "--merge" ]; then "$bin" -merge=1 "$corpus" "$work/$name" >/dev/null 2>&1 || true; fi
  if [ "$status" != none ]; then trap - EXIT; fi
done
