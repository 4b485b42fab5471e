#!/bin/bash
# bench/run_dkim.sh: DKIM sign/verify benchmark, mxsec and its peers in one run.
#
# Builds the release benchmark, makes the inputs, measures the OpenSSL limit,
# dkimpy, Mail::DKIM, OpenDKIM (test mode) and mxsec, each pinned to one core,
# counts instructions per operation with callgrind for mxsec and OpenDKIM,
# prints a markdown report and writes it to docs/bench-dkim.md.
# Method and formulas: docs/bench-dkim.md ("Method"). Takes about 5 minutes.
#
# Environment: MXSEC_BUILD_DIR (build/release), MXSEC_DKIM_WORK
# ($MXSEC_BUILD_DIR/dkim-bench), MXSEC_DKIM_SECONDS (1.5 per peer
# measurement), MXSEC_BENCH_CORE (0).
# Needs (Debian 12): cmake ninja-build g++ libbenchmark-dev openssl
# python3-dkim python3-nacl libmail-dkim-perl opendkim valgrind.
set -euo pipefail

cd "$(dirname "$0")/.."
BUILD=${MXSEC_BUILD_DIR:-build/release}
WORK=${MXSEC_DKIM_WORK:-$BUILD/dkim-bench}
PEER_SECONDS=${MXSEC_DKIM_SECONDS:-1.5}
CORE=${MXSEC_BENCH_CORE:-0}
PY=/usr/bin/python3   # Debian's interpreter, with python3-dkim (see NOTES: PATH may hold another)
PIN=(taskset -c "$CORE")
RESULTS=$WORK/results

step() { printf '\n== %s (%s)\n' "$*" "$(date +%T)" >&2; }

step "build"
# -Wno-restrict: g++ 12 reports a false -Wrestrict inside std::string at -O2
# (GCC bug 105329), which -Werror turns into a failed release build.
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMXSEC_BENCH=ON -DMXSEC_TESTS=OFF \
  -DCMAKE_CXX_FLAGS=-Wno-restrict >/dev/null
cmake --build "$BUILD" --target dkim_bench dkim_one -j2

step "inputs"
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
RESULTS=$WORK/results
rm -rf "$RESULTS"
mkdir -p "$RESULTS"
$PY bench/make_inputs.py "$WORK"

# What mxsec signs must verify with an independent verifier before it is timed.
for alg in rsa ed25519; do
  for size in 5k 100k; do
    "$BUILD/bench/dkim_one" "$WORK" "$alg" "$size" print 1 >"$WORK/mxsec-signed-$alg-$size.eml"
  done
done
$PY bench/peers/dkimpy_verify.py "$WORK" "$WORK"/mxsec-signed-*.eml

load_before=$(cut -d' ' -f1-3 /proc/loadavg)

step "OpenSSL limit (openssl speed, about 25 s)"
"${PIN[@]}" $PY bench/peers/openssl_limit.py "$WORK" 3 >"$RESULTS/openssl.json"

step "mxsec (Google Benchmark)"
# The in-process limit (BM_Limit*) runs interleaved with mxsec, so both see the same load.
"${PIN[@]}" "$BUILD/bench/dkim_bench" --benchmark_min_time=0.5 --benchmark_repetitions=3 \
  --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true \
  --benchmark_filter='^BM_(Sign|Verify|LimitSign|LimitVerify)/' \
  --benchmark_out="$RESULTS/mxsec.json" --benchmark_out_format=json "$WORK" >&2
"${PIN[@]}" "$BUILD/bench/dkim_bench" --benchmark_min_time=0.5 --benchmark_filter='^BM_Part/' \
  --benchmark_out="$RESULTS/mxsec_parts.json" --benchmark_out_format=json "$WORK" >&2

step "dkimpy"
"${PIN[@]}" $PY bench/peers/dkimpy_bench.py "$WORK" "$PEER_SECONDS" >"$RESULTS/dkimpy.json"

step "Mail::DKIM"
"${PIN[@]}" perl bench/peers/maildkim_bench.pl "$WORK" "$PEER_SECONDS" >"$RESULTS/maildkim.json"

step "OpenDKIM (test mode, rates and callgrind)"
"${PIN[@]}" $PY bench/peers/opendkim_bench.py "$WORK" "$PEER_SECONDS" --callgrind >"$RESULTS/opendkim.json"

step "mxsec callgrind"
$PY bench/dkim_callgrind.py "$BUILD/bench/dkim_one" "$WORK" "$WORK/callgrind" 10 >"$RESULTS/mxsec_callgrind.json"

load_after=$(cut -d' ' -f1-3 /proc/loadavg)
ver() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo '?'; }
$PY - "$RESULTS/env.json" <<EOF
import json, os, sys, time
cpu = "?"
for line in open("/proc/cpuinfo"):
    if line.startswith("model name"):
        cpu = line.split(":", 1)[1].strip()
        break
json.dump({
    "date": time.strftime("%Y-%m-%d %H:%M %Z"),
    "cpu": cpu,
    "cores": os.cpu_count(),
    "core": "$CORE",
    "load_before": "$load_before",
    "load_after": "$load_after",
    "versions": "$(openssl version | cut -d' ' -f1-2), OpenDKIM $(ver opendkim), dkimpy $(ver python3-dkim), "
                "Mail::DKIM $(ver libmail-dkim-perl), Google Benchmark $(ver libbenchmark-dev), "
                "valgrind $(ver valgrind), mxsec $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
                "$(git diff --quiet HEAD -- src 2>/dev/null || echo ' + uncommitted changes in src/')",
}, open(sys.argv[1], "w"))
EOF

step "report"
$PY bench/dkim_report.py "$RESULTS" >"$RESULTS/bench-dkim.md"
cp "$RESULTS/bench-dkim.md" docs/bench-dkim.md
cat docs/bench-dkim.md
