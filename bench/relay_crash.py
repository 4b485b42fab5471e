#!/usr/bin/python3
"""The crash test of the relay path: under a load of relayed mail, kill -9
`mxsec serve` at random moments and restart it on the same spool; in the
end every message the server acknowledged (250 after DATA) must have
arrived at the next hop at least once. Duplicates (a delivery the sink
acknowledged just before the kill, made again after the restart) are
counted and printed, not failed: RFC 5321 §6.1 prefers a duplicate to a
loss.

    clients (8 threads, tests/e2e/crash_load.py) -> mxsec serve 127.0.79.1:2525
        -> MX of crash.insecure.test (Knot test bed, 127.0.79.53)
        -> recording sink 127.0.79.3:25 (tests/testbed/record_sink.py)

Every message carries a unique token (X-Token and Message-ID). The sink is
a separate process that is never killed; it appends the Message-ID of each
message to its record file and flushes it before it replies 250, so what
mxsec saw delivered is on record. After the load: wait until every
acknowledged token is at the sink and the queue is empty (`mxsec queue
list`), stop the server with SIGTERM, and judge:
  - no acknowledged message lost (the test fails otherwise);
  - the queue drained (nothing stuck after the restarts);
  - duplicates, and arrivals never acknowledged (the kill came between
    the commit and the 250; allowed), printed.
--tls makes the sink offer STARTTLS, so the kills also hit TLS sessions.

The short run is CTest's e2e.relay_crash (3 kills, 300 messages); the full
one (the defaults, 20 kills and 10,000 messages):
  bench/relay_crash.py --mxsec build/release/src/app/mxsec [--kills 20] [--messages 10000] [--seed N] [--tls]
Needs root (port 25) and the test bed's packages (knot, ldnsutils, openssl).
"""

import argparse
import json
import os
import random
import sys

import bench_common
from bench_common import Cleanup

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
from crash_load import Load, Server, kill_and_restart, tally, token_from_message_id  # noqa: E402
from e2e_common import Checker, wait_for  # noqa: E402
from record_sink import RecordSink  # noqa: E402  (tests/testbed, on the path through bench_common)
from serve_e2e import make_cert, write_config  # noqa: E402

SERVER_ADDR, PORT = "127.0.79.1", 2525
SINK_ADDR = "127.0.79.3"
DNS_ADDR = "127.0.79.53"
RCPT = "crash@crash.insecure.test"


def arrived_tokens(sink):
    counts = {}
    for r in sink.records():
        tok = token_from_message_id(r["id"])
        counts[tok] = counts.get(tok, 0) + 1
    return counts


def queued(c, config):
    """The messages still in mxsec's queue, or None when the listing fails."""
    rc, out, _ = c.run(["queue", "list", "--config", config, "--json"])
    return json.loads(out)["messages"] if rc == 0 else None


def run(args, tmp, cleanup):
    tb = cleanup.add(bench_common.mx_testbed(tmp, DNS_ADDR, {"crash": SINK_ADDR}))
    c = Checker(args.mxsec, tb.env, tmp)
    record = os.path.join(tmp, "arrived.jsonl")
    if args.tls:
        cert, key = make_cert(tmp, "mx-crash")
        sink = cleanup.add(RecordSink(record, listen_tls=[f"{SINK_ADDR}:25"], cert=cert, key=key))
    else:
        sink = cleanup.add(RecordSink(record, listen=[f"{SINK_ADDR}:25"]))
    config = write_config(tmp, PORT, server=SERVER_ADDR, relay="127.0.0.0/8", extra=bench_common.dns_toml(tb.env) + f"""
[queue]
delivery_threads = {args.delivery_threads}
min_backoff = "1s"
max_backoff = "5s"
delay_warning = ""
""")
    rc, _, err = c.run(["config", "check", "--config", config])
    if not c.expect("config check accepts the relay configuration", rc == 0, err):
        return c
    server = cleanup.add(Server(args.mxsec, config))
    server.start()
    load = Load(SERVER_ADDR, PORT, rcpt=RCPT)
    cleanup.add(load, load.finish)
    load.start()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    print(f"seed {seed}", flush=True)
    kill_and_restart(server, args.kills, random.Random(seed))
    load.wait_acked(args.messages)
    load.finish()
    acked = set(load.acked)

    def drained():
        q = queued(c, config)
        return set(arrived_tokens(sink)) >= acked and q == []
    wait_for(drained, timeout=args.drain, step=0.5)
    left = queued(c, config)
    rc = server.term()
    counts = arrived_tokens(sink)
    lost, duplicates = tally(acked, counts)
    unacked = len(set(counts) - acked)
    tls = sum(1 for r in sink.records() if r["tls"])
    print(f"relay crash test: {args.kills} kill -9, {len(acked)} acknowledged, {len(counts)} distinct arrived "
          f"({tls} of {sum(counts.values())} deliveries under TLS), {len(lost)} lost, {duplicates} duplicates, "
          f"{unacked} arrived without an acknowledgement", flush=True)
    c.judge(f"relay crash: {args.kills} x kill -9 under load, {len(acked)} acknowledged messages relayed, none "
            f"lost ({duplicates} duplicates)", [f"lost {len(lost)}: {lost[:10]}"] if lost else [])
    c.expect("the queue drained after the restarts", left == [],
             f"{len(left)} messages left, e.g. {left[:2]}" if left else "queue list failed")
    c.expect("mxsec serve stops cleanly after the crashes", rc == 0, f"exit {rc}")
    if args.tls:
        c.expect("every delivery to the sink was under STARTTLS", tls == sum(counts.values()),
                 f"{tls} of {sum(counts.values())}")
    if c.failures:
        print("mxsec log tail:\n" + open(config + ".log", errors="replace").read()[-3000:])
    return c


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mxsec", required=True)
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--messages", type=int, default=10000, help="acknowledged messages to reach (default 10000)")
    ap.add_argument("--seed", type=int, help="for the kill moments (default: random, printed)")
    ap.add_argument("--delivery-threads", type=int, default=8)
    ap.add_argument("--drain", type=float, default=120, help="seconds allowed for the queue to drain")
    ap.add_argument("--tls", action="store_true", help="the sink offers STARTTLS")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()
    args.mxsec = os.path.abspath(args.mxsec)
    with bench_common.scratch_dir("mxsec-relay-crash-", args.keep) as tmp, Cleanup() as cleanup:
        ok = run(args, tmp, cleanup).summary("relay_crash")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    bench_common.run_main(main)
