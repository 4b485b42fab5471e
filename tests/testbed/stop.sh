#!/bin/bash
# Stops the knotd that start.sh started for DIR (by its recorded PID only).
# Usage: stop.sh DIR
set -euo pipefail
if [[ $# -ne 1 ]]; then echo "usage: $0 DIR" >&2; exit 2; fi
exec /usr/bin/python3 "$(dirname "$0")/testbed.py" stop --dir "$1"
