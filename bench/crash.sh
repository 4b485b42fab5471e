#!/bin/sh
# The full crash test of `mxsec serve`: under a load of at least 10,000
# messages, kill -9 the server at 20 random moments, restart it each time,
# and check that every message acknowledged to a client reaches its Maildir
# (duplicates are counted and printed). CI runs the short variant (5 kills,
# 2,000 messages) as e2e.serve.
#   bench/crash.sh [MXSEC_BINARY] [KILLS] [MESSAGES]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
mxsec=${1:-$here/../build/release/src/app/mxsec}
exec /usr/bin/python3 "$here/../tests/e2e/serve_e2e.py" --mxsec "$mxsec" --kills "${2:-20}" --messages "${3:-10000}"
