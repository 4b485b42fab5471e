#!/bin/bash
# Stops what start.sh started for DIR, by recorded PID only: knotd, and for a
# transport bed also Postfix (postfix -c DIR/postfix/conf stop) and nginx.
# Usage: stop.sh DIR
set -euo pipefail
if [[ $# -ne 1 ]]; then echo "usage: $0 DIR" >&2; exit 2; fi
if [[ -e "$1/postfix/started" || -e "$1/nginx/nginx.started.pid" || -e "$1/scenarios.json" ]]; then
  exec /usr/bin/python3 "$(dirname "$0")/transport.py" stop --dir "$1"
fi
exec /usr/bin/python3 "$(dirname "$0")/testbed.py" stop --dir "$1"
