#!/usr/bin/env bash
# README command 2: install what is missing, build, and run every test:
# unit tests, the third-party suites, interop with the reference
# implementations, the end-to-end tests against the DNSSEC test bed, and the
# fuzz-corpus replays, all under ASan+UBSan (g++ 12). Then the whole tree is
# compiled once more with clang 14 and -Werror as a warning check.
set -euo pipefail
cd "$(dirname "$0")/.."

jobs=${MXSEC_JOBS:-$(nproc)}
scripts/install-deps.sh

echo "== build (debug, g++ 12, ASan+UBSan)"
cmake --preset debug >/dev/null
cmake --build --preset debug -j "$jobs"

echo "== warning check (clang 14, -Werror)"
cmake --preset clang >/dev/null
cmake --build --preset clang -j "$jobs"

echo "== tests"
# Test-bed tests hold the RESOURCE_LOCK "testbed", so -j is safe.
ctest --preset debug -j "$jobs" --timeout 900
