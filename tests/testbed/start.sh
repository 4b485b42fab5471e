#!/bin/bash
# Starts the DNSSEC test bed in DIR (created) and prints KEY=VALUE lines; the
# same lines are in DIR/testbed.env. knotd runs detached until stop.sh DIR.
# Usage: start.sh DIR [testbed.py start options: --addr, --port, --extra ZONE=FILE, ...]
set -euo pipefail
if [[ $# -lt 1 ]]; then echo "usage: $0 DIR [options]" >&2; exit 2; fi
dir=$1; shift
exec /usr/bin/python3 "$(dirname "$0")/testbed.py" start --dir "$dir" "$@"
