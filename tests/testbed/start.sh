#!/bin/bash
# Starts the DNSSEC test bed in DIR (created) and prints KEY=VALUE lines; the
# same lines are in DIR/testbed.env. knotd runs detached until stop.sh DIR.
# With --transport as the first option, starts the transport-security bed
# instead (knotd + nginx + Postfix, scenarios in DIR/scenarios.json; needs root).
# Usage: start.sh DIR [testbed.py start options: --addr, --port, --extra ZONE=FILE, ...]
#        start.sh DIR --transport [transport.py start options: --mx-net, --sts-net, --addr, --port]
set -euo pipefail
if [[ $# -lt 1 ]]; then echo "usage: $0 DIR [--transport] [options]" >&2; exit 2; fi
dir=$1; shift
if [[ ${1:-} == --transport ]]; then
  shift
  exec /usr/bin/python3 "$(dirname "$0")/transport.py" start --dir "$dir" "$@"
fi
exec /usr/bin/python3 "$(dirname "$0")/testbed.py" start --dir "$dir" "$@"
