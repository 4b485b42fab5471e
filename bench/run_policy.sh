#!/bin/sh
# Transport-policy benchmarks (issue 3):
#  1. policy decisions per second from a warm cache (Google Benchmark,
#     policy_bench: DANE, MTA-STS and opportunistic domains), one core;
#  2. `mxsec check` on test-bed domains: wall time and DNS queries per check,
#     cold then warm (check_bench against the transport test bed).
#   bench/run_policy.sh [BUILD_DIR] [ROUNDS]
# BUILD_DIR is a Release build with -DMXSEC_BENCH=ON (default build/release).
# Needs root (the test bed binds ports 25 and 443 on 127.0.25.x / 127.0.44.x).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build/release}
rounds=${2:-5}
for b in policy_bench check_bench; do
  [ -x "$build/bench/$b" ] || { echo "run_policy.sh: $build/bench/$b not found; build with -DMXSEC_BENCH=ON" >&2; exit 2; }
done
echo "== policy decisions from a warm cache (one core)"
taskset -c 0 "$build/bench/policy_bench" --benchmark_min_time=2 --benchmark_repetitions=3 \
  --benchmark_report_aggregates_only=true --benchmark_counters_tabular=true
tmp=$(mktemp -d)
chmod 755 "$tmp"
trap '"$here/../tests/testbed/stop.sh" "$tmp/bed" >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
"$here/../tests/testbed/start.sh" "$tmp/bed" --transport >/dev/null
. "$tmp/bed/testbed.env"
echo "== mxsec check on the test bed ($rounds rounds per domain; round 1 cold)"
"$build/bench/check_bench" "$MXSEC_TB_RESOLVER" "$MXSEC_TB_TRUST_ANCHOR" "$MXSEC_TB_CA_FILE" "$rounds" \
  dane-ee.secure.test sts-enforce.insecure.test opportunistic.insecure.test nullmx.secure.test
