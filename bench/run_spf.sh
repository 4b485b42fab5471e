#!/bin/sh
# Runs the mxsec SPF benchmark and pyspf on the same shapes and prints
# checks/s and the ratio per shape.
#   bench/run_spf.sh [BUILD_DIR] [SECONDS]
# BUILD_DIR is a Release build with -DMXSEC_BENCH=ON (default build/spf-rel).
# Both sides are measured in CPU time (pyspf: process_time; Google
# Benchmark: items per CPU second), so a loaded machine hurts both alike.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build/spf-rel}
secs=${2:-2}
bin=$build/bench/spf_bench
[ -x "$bin" ] || { echo "run_spf.sh: $bin not found; build with -DMXSEC_BENCH=ON -DCMAKE_BUILD_TYPE=Release" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$bin" --benchmark_min_time="$secs" --benchmark_format=json > "$tmp/mxsec.json"
/usr/bin/python3 "$here/spf_pyspf.py" "$secs" > "$tmp/pyspf.jsonl"
/usr/bin/python3 - "$tmp/mxsec.json" "$tmp/pyspf.jsonl" <<'PY'
import json, sys
mx = json.load(open(sys.argv[1]))
py = {d["shape"]: d["checks_per_second"] for d in map(json.loads, open(sys.argv[2]))}
rate = {b["name"]: b["items_per_second"] for b in mx["benchmarks"]}
print("%-10s %14s %14s %14s %12s %8s" % ("shape", "mxsec warm/s", "mxsec fake/s", "mxsec parse/s", "pyspf/s", "ratio"))
for shape, p in py.items():
    w, f, r = (rate.get("spf/%s/%s" % (shape, k), 0) for k in ("warm", "fake", "parse"))
    print("%-10s %14.0f %14.0f %14.0f %12.0f %7.1fx" % (shape, w, f, r, p, w / p))
print("ratio = mxsec warm (warm DNS cache + record cache) / pyspf (stub DNS); target >= 50x")
PY
