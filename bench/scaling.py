#!/usr/bin/python3
"""1 -> 2 core scaling of `mxsec serve`, both settings in one run.

The same smtp-source load (one message per connection, accepted, queued with
fsync, delivered to a Maildir with fsync, as in bench/smtp_throughput.py)
goes to `mxsec serve` on 127.0.71.20:2525 started twice:
  1 core:  `threads = 1`, the whole process (every thread it ever starts,
           event loop or helper) pinned to --server-cpus-1 (default CPU 0)
           with sched_setaffinity before exec;
  2 cores: `threads = 2`, pinned to --server-cpus-2 (default CPUs 0,1).
Reported per setting: msg/s (first connect to last Maildir file), the
server's CPU ms per message, its CPU utilisation (CPU seconds / wall seconds:
near 1.0 on one core means it was CPU-bound), smtp-source's CPU ms per
message, and the speed-up (2-core rate / 1-core rate).

Where the load generator runs, and why: on a 2-core machine smtp-source has
to share a core with the server. It is pinned to --client-cpus (default CPU
1) in BOTH settings, so it gets the same treatment each time:
  - 1 core: the server has CPU 0 to itself, smtp-source runs on CPU 1;
  - 2 cores: the server's second core is CPU 1, shared with smtp-source.
So the 2-core server gets 1 + (1 - smtp-source's share of CPU 1) cores, not
2; the report prints that "effective cores" figure (2 - client CPU seconds
per wall second) and the efficiency, speed-up / effective cores (1.0 =
perfect). Leaving smtp-source unpinned instead would hand it a free core in
the 1-core run and none in the 2-core run, which flatters the 1-core figure
and understates scaling; pinning it to CPU 0 would starve the 1-core server. On a machine with 3 or more cores
give the client its own core(s) (e.g. --client-cpus 2,3) for the clean
figure; the script does not need changes for that.

Read the utilisation column first: a 1-core server well below 1.0 is not
CPU-bound (it waits for fsync: each message is two file fsyncs plus shared
directory fsyncs), and then a speed-up says little about CPU scaling; more
sessions (--sessions) give group commit more to batch.

  bench/scaling.py --mxsec build/release/src/app/mxsec [--messages 5000] [--rounds 2] [--json]
Runs anywhere mxsec runs (no root needed); needs smtp-source (postfix package).
"""

import argparse
import json
import os
import shutil
import statistics
import tempfile

import bench_common
from bench_common import Cleanup, MxsecServer, measure_throughput, print_table

ADDR = "127.0.71.20"


def cpus(text):
    return {int(c) for c in text.split(",") if c.strip()}


def run_one(args, tmp, label, threads, server_cpus, size, sessions, n):
    with Cleanup() as cleanup:
        mx = cleanup.add(MxsecServer(args.mxsec, tmp, ADDR, name=f"mxsec-{label}", threads=threads, cpus=server_cpus))
        measure_throughput(mx, min(200, n), sessions, size=size, client_cpus=args.client_cpus)  # warm-up
        r = measure_throughput(mx, n, sessions, size=size, client_cpus=args.client_cpus)
    shutil.rmtree(os.path.join(tmp, f"mxsec-{label}"), ignore_errors=True)
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mxsec", required=True)
    ap.add_argument("--messages", type=int, default=5000, help="5 KB messages per run (100 KB: a quarter)")
    ap.add_argument("--sessions", type=int, default=100, help="smtp-source sessions (default 100)")
    ap.add_argument("--rounds", type=int, default=1, help="alternating 1-core/2-core rounds; medians reported")
    ap.add_argument("--server-cpus-1", type=cpus, default={0}, help="CPUs of the 1-thread server (default 0)")
    ap.add_argument("--server-cpus-2", type=cpus, default={0, 1}, help="CPUs of the 2-thread server (default 0,1)")
    ap.add_argument("--client-cpus", type=cpus, default={1}, help="CPUs of smtp-source (default 1)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="mxsec-bench-scaling-")
    rows = []
    try:
        for size in (5 * 1024, 100 * 1024):
            n = args.messages if size < 50000 else max(args.messages // 4, 200)
            runs = {"1": [], "2": []}
            for k in range(args.rounds):
                for label, threads, server_cpus in (("1", 1, args.server_cpus_1), ("2", 2, args.server_cpus_2)):
                    runs[label].append(run_one(args, tmp, f"{label}-{size}-{k}", threads, server_cpus, size,
                                               args.sessions, n))
            med = {label: {key: statistics.median(r[key] for r in rs) for key in
                           ("msgs_per_s", "cpu_ms_per_msg", "server_cpu_util", "client_cpu_ms_per_msg")}
                   for label, rs in runs.items()}
            # CPU seconds per wall second the client took from the 2-core server.
            client_util = med["2"]["client_cpu_ms_per_msg"] * med["2"]["msgs_per_s"] / 1000
            effective = len(args.server_cpus_2 - args.client_cpus) + \
                max(0.0, len(args.server_cpus_2 & args.client_cpus) - client_util)
            speedup = med["2"]["msgs_per_s"] / med["1"]["msgs_per_s"]
            rows.append({"size": size, "sessions": args.sessions, "messages": n, "one_core": med["1"],
                         "two_cores": med["2"], "runs": runs, "speedup": speedup,
                         "effective_cores_2": effective, "efficiency": speedup / effective})
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        print(json.dumps({"config": {k: sorted(v) if isinstance(v, set) else v for k, v in vars(args).items()},
                          "rows": rows}, indent=2))
    print(f"\nmxsec serve, threads=1 on CPUs {sorted(args.server_cpus_1)} vs threads=2 on CPUs "
          f"{sorted(args.server_cpus_2)}; smtp-source on CPUs {sorted(args.client_cpus)}, {args.sessions} sessions")
    table = []
    for r in rows:
        a, b = r["one_core"], r["two_cores"]
        table.append([str(r["size"]), f"{a['msgs_per_s']:.0f}", f"{a['cpu_ms_per_msg']:.2f}",
                      f"{a['server_cpu_util']:.2f}", f"{b['msgs_per_s']:.0f}", f"{b['cpu_ms_per_msg']:.2f}",
                      f"{b['server_cpu_util']:.2f}", f"{r['speedup']:.2f}x", f"{r['effective_cores_2']:.2f}",
                      f"{r['efficiency']:.2f}"])
    print_table(["size", "1c msg/s", "cpu ms", "util", "2c msg/s", "cpu ms", "util", "speed-up", "eff. cores",
                 "efficiency"], table)


if __name__ == "__main__":
    bench_common.run_main(main)
