#!/bin/sh
# Instructions per SPF check (callgrind), steady state:
#   bench/spf_callgrind.sh [BUILD_DIR] [SHAPE] [VARIANT] [N]
# BUILD_DIR is a Release build with -DMXSEC_BENCH=ON (default build/release)
# holding bench/spf_one; SHAPE defaults to include, VARIANT to warm (warm DNS
# cache + parsed-record cache), N to 1000. Prints (Ir(N) - Ir(0)) / N.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build/release}
shape=${2:-include}
variant=${3:-warm}
n=${4:-1000}
bin=$build/bench/spf_one
[ -x "$bin" ] || { echo "spf_callgrind.sh: $bin not found (cmake --build BUILD_DIR --target spf_one)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ir() {
  valgrind --tool=callgrind --callgrind-out-file="$tmp/out.$1" "$bin" "$shape" "$variant" "$1" 2>/dev/null
  awk '/^(summary|totals):/ {print $2; exit}' "$tmp/out.$1"
}
i0=$(ir 0)
i1=$(ir "$n")
echo "$shape/$variant: $(( (i1 - i0) / n )) instructions per check (Ir($n)=$i1, Ir(0)=$i0)"
