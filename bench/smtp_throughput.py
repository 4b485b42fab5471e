#!/usr/bin/python3
"""Accepting mail: mxsec against Postfix, side by side in one run.

smtp-source (Postfix's load generator) sends N messages of SIZE octets over
CONC concurrent sessions to
  (a) `mxsec serve`: accept, queue durably, deliver to a Maildir, with
      `[queue] sync = "syncfs"` (one file-system flush per
      batch of commits) and again with `sync = "fsync"` (fdatasync per file,
      shared directory fsyncs, the default);
  (b) Postfix 3.7 (its own instance, config dir under a temporary
      directory): smtpd -> cleanup -> queue (fsync) -> qmgr -> virtual(8)
      into a Maildir (fsync).
Both run on 127.0.70.x, both finish when every message is in its Maildir.
Reported: messages/s (wall clock, first connect to last Maildir file),
CPU seconds per message of the server's processes (mxsec: the one process;
Postfix: master and every child, reaped or alive), and the machine's busy
CPU per message without the load generator (kernel write-back threads
included: a syncfs() hands its write-back to them). The servers are started
by bench_common.py (shared with latency.py, scaling.py, verify_throughput.py).

  bench/smtp_throughput.py --mxsec build/release/src/app/mxsec [--messages 5000]
Needs root (Postfix drops to its own users) and the postfix package.
"""

import argparse
import json
import os
import shutil
import tempfile

import bench_common
from bench_common import Cleanup, MxsecServer, PostfixServer, measure_throughput

MXSEC_ADDR = "127.0.70.1"
POSTFIX_ADDR = "127.0.70.2"
MXSEC_FSYNC_ADDR = "127.0.70.3"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mxsec", required=True)
    ap.add_argument("--messages", type=int, default=5000)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--delivery-threads", type=int, default=4)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="mxsec-bench-smtp-")
    os.chmod(tmp, 0o755)
    rows = []
    try:
        with Cleanup() as cleanup:
            mx = cleanup.add(MxsecServer(args.mxsec, tmp, MXSEC_ADDR, threads=args.threads,
                                         extra=f"[queue]\nsync = \"syncfs\"\ndelivery_threads = {args.delivery_threads}\n"))
            mf = cleanup.add(MxsecServer(args.mxsec, tmp, MXSEC_FSYNC_ADDR, name="mxsec-fsync", threads=args.threads,
                                         extra=f"[queue]\nsync = \"fsync\"\ndelivery_threads = {args.delivery_threads}\n"))
            pf = cleanup.add(PostfixServer(tmp, POSTFIX_ADDR, main={"default_process_limit": "200"}))
            for size in (5 * 1024, 100 * 1024):
                for conc in (20, 100):
                    n = args.messages if size < 50000 else max(args.messages // 4, 200)
                    a = measure_throughput(mx, n, conc, size=size)
                    f = measure_throughput(mf, n, conc, size=size)
                    b = measure_throughput(pf, n, conc, size=size)
                    rows.append({"size": size, "sessions": conc, "mxsec": a, "mxsec_fsync": f, "postfix": b,
                                 "rate_ratio": a["msgs_per_s"] / b["msgs_per_s"],
                                 "cpu_ratio": a["cpu_ms_per_msg"] / b["cpu_ms_per_msg"],
                                 "machine_cpu_ratio": a["machine_cpu_ms_per_msg"] / b["machine_cpu_ms_per_msg"],
                                 "fsync_rate_ratio": f["msgs_per_s"] / b["msgs_per_s"]})
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        print(json.dumps(rows, indent=2))
    print("mxsec: [queue] sync = syncfs; fsync: the same with sync = fsync. cpu: the server's processes; "
          "mach: the machine without the load generator (ms per message)")
    print(f"{'size':>7} {'sess':>5} {'mxsec msg/s':>12} {'cpu':>5} {'mach':>5} {'fsync msg/s':>12} {'cpu':>5} "
          f"{'mach':>5} {'postfix msg/s':>14} {'cpu':>5} {'mach':>5} {'rate x':>7} {'cpu x':>6} {'mach x':>6} "
          f"{'fsync x':>7}")
    for r in rows:
        a, f, b = r["mxsec"], r["mxsec_fsync"], r["postfix"]
        print(f"{r['size']:>7} {r['sessions']:>5} {a['msgs_per_s']:>12.0f} {a['cpu_ms_per_msg']:>5.2f} "
              f"{a['machine_cpu_ms_per_msg']:>5.2f} {f['msgs_per_s']:>12.0f} {f['cpu_ms_per_msg']:>5.2f} "
              f"{f['machine_cpu_ms_per_msg']:>5.2f} {b['msgs_per_s']:>14.0f} {b['cpu_ms_per_msg']:>5.2f} "
              f"{b['machine_cpu_ms_per_msg']:>5.2f} {r['rate_ratio']:>6.2f}x {r['cpu_ratio']:>5.2f}x "
              f"{r['machine_cpu_ratio']:>5.2f}x {r['fsync_rate_ratio']:>6.2f}x")


if __name__ == "__main__":
    bench_common.run_main(main)
