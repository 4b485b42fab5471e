#!/usr/bin/python3
"""Acceptance latency and slow-drip resistance: `mxsec serve` against Postfix,
side by side in one run.

Both servers do the same work as in bench/smtp_throughput.py: accept, queue
durably (fsync), deliver to a Maildir (fsync).
  (a) `mxsec serve` on 127.0.71.10:2525, its default [limits] (50 sessions
      per client address, 10,000 sessions, command_timeout 300 s,
      min_data_rate 256 octets/s after the first 30 s of a DATA transfer);
  (b) Postfix 3.7 on 127.0.71.11:25, its own instance (bench_common.py),
      default limits: default_process_limit = 100 smtpd processes, stress-
      dependent timeouts (smtpd_timeout 300 s, 10 s under stress, with a
      per-record deadline and smtpd_min_data_rate = 500 under stress);
      smtpd_client_connection_count_limit = 0.

Normal clients: SESSIONS concurrent clients (from 127.0.71.100), one
connection per message (connect, EHLO, MAIL, RCPT, DATA, a SIZE-octet
message, `.`, QUIT), until MESSAGES messages are done or the phase deadline
passes. Per message the script records
  total = connect() start -> the 250 after the final `.` (the acceptance
          latency a sending MTA sees; includes waiting for the greeting),
  txn   = MAIL FROM sent  -> that 250 (the transaction alone),
and reports p50/p99/max. A message that does not get its 250 within
--timeout counts as failed and as +infinity in the percentiles (a p99 shown
as "timeout" means more than 1 % failed).

Each server is measured (1) unloaded and (2) while DRIP slow-drip clients
hold connections: a separate process (this script with --drip-worker, one
asyncio loop, RLIMIT_NOFILE raised) opens DRIP connections from 250 source
addresses 127.0.72.1..250 (4 per address at 1,000, so per-client limits stay
realistic), waits for the greeting, and then
  - 70 %: send "EHLO x\\r\\n" one byte every 2-5 s (uniform), then "NOOP\\r\\n"
          the same way, forever;
  - 30 %: EHLO/MAIL/RCPT/DATA at normal speed, then drip body bytes, one
          every 2-5 s, forever.
A client the server disconnects (timeout, data-rate limit, 421) reconnects
after 0.5-1 s, as an attacker would; the drip worker counts who is greeted,
who is in DATA and who was cut off, and the report shows it. The loaded
phase starts after --warmup seconds of drip (default 35 s, so that mxsec's
min_data_rate has started to cut the DATA drippers and they reconnect while
the normal clients are measured: the steady state of such an attack).

Target of the issue: under 1,000 slow-drip clients, normal clients' p99
stays under 2x the unloaded p99 (the "ratio" column, loaded / unloaded).

Caveats: the two cores are shared by the server, the normal clients (one
Python process) and the drip process, so absolute figures include client
overhead; compare the two servers in the same run. Postfix's 100-process
limit is left at its default on purpose: a Postfix MX with the Debian
defaults is what slow clients meet; --postfix-process-limit raises it.

  bench/latency.py --mxsec build/release/src/app/mxsec [--messages 2000] [--drip 1000] [--json]
Needs root (Postfix drops to its own users) and the postfix package.
"""

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import shutil

import bench_common
from bench_common import Cleanup, MxsecServer, PostfixServer, percentile, print_table

MXSEC_ADDR = "127.0.71.10"
POSTFIX_ADDR = "127.0.71.11"
CLIENT_ADDR = "127.0.71.100"
DRIP_NET = "127.0.72."
DRIP_SOURCES = 250


# --- normal clients ---------------------------------------------------------

def make_message(size):
    head = (b"From: load@source.test\r\nTo: user@bench.test\r\nSubject: latency\r\n"
            b"Date: Thu, 03 Dec 2026 12:00:00 +0000\r\nMessage-ID: <%d@source.test>\r\n\r\n")
    line = b"x" * 76 + b"\r\n"
    body = line * max(1, (size - len(head)) // len(line))
    return head, body


async def read_reply(reader):
    """The last line of a (multi-line) reply; raises on EOF."""
    while True:
        line = await reader.readline()
        if not line:
            raise ConnectionError("server closed the connection")
        if len(line) < 4 or line[3:4] != b"-":
            return line


async def expect(reader, code):
    line = await read_reply(reader)
    if not line.startswith(code):
        raise ConnectionError(line.decode(errors="replace").strip()[:80])


async def one_message(host, port, head, body, seq):
    t0 = time.monotonic()
    reader, writer = await asyncio.open_connection(host, port, local_addr=(CLIENT_ADDR, 0))
    try:
        await expect(reader, b"220")
        t_greet = time.monotonic()
        writer.write(b"EHLO client.bench.test\r\n")
        await expect(reader, b"250")
        t_mail = time.monotonic()
        writer.write(b"MAIL FROM:<load@source.test>\r\n")
        await expect(reader, b"250")
        writer.write(b"RCPT TO:<user@bench.test>\r\n")
        await expect(reader, b"250")
        writer.write(b"DATA\r\n")
        await expect(reader, b"354")
        writer.write(head % seq + body + b".\r\n")
        await expect(reader, b"250")
        t_end = time.monotonic()
        writer.write(b"QUIT\r\n")
        try:
            await asyncio.wait_for(reader.readline(), 2)
        except (asyncio.TimeoutError, OSError):
            pass
        return t_end - t0, t_end - t_mail, t_greet - t0
    finally:
        writer.close()


async def normal_stream(host, port, messages, sessions, size, timeout, deadline):
    head, body = make_message(size)
    results = []  # (total, txn, greet) or None for a failure
    errors = {}
    state = {"next": 0}
    stop_at = time.monotonic() + deadline

    async def worker():
        while state["next"] < messages and time.monotonic() < stop_at:
            seq = state["next"]
            state["next"] += 1
            try:
                results.append(await asyncio.wait_for(one_message(host, port, head, body, seq), timeout))
            except (asyncio.TimeoutError, OSError, ConnectionError) as e:
                results.append(None)
                key = "timeout" if isinstance(e, asyncio.TimeoutError) else str(e)[:80]
                errors[key] = errors.get(key, 0) + 1

    t0 = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(sessions)))
    return results, errors, time.monotonic() - t0


def summarize(results, errors, seconds):
    inf = float("inf")
    ok = [r for r in results if r is not None]
    out = {"attempted": len(results), "ok": len(ok), "failed": len(results) - len(ok), "errors": errors,
           "seconds": seconds, "msgs_per_s": len(ok) / seconds if seconds else 0}
    for i, name in enumerate(("total", "txn", "greeting")):
        vals = sorted([r[i] for r in ok] + [inf] * (len(results) - len(ok)))
        for p in (50, 99):
            v = percentile(vals, p)
            out[f"{name}_p{p}_ms"] = None if v is None or v == inf else v * 1000
        finite = [v for v in vals if v != inf]
        out[f"{name}_max_ms"] = max(finite) * 1000 if finite else None
    return out


# --- slow-drip clients (a separate process) -----------------------------------

class DripStats:
    def __init__(self):
        self.connects = self.connect_errors = self.server_closed = 0
        self.closed_before_greeting = self.closed_in_command = self.closed_in_data = 0
        self.open = self.greeted = self.in_data = 0
        self.bytes = 0
        self.replies = {}

    def snapshot(self):
        return dict(vars(self))


async def drip_client(i, host, port, stats, lo, hi, in_data, stop):
    src = f"{DRIP_NET}{i % DRIP_SOURCES + 1}"
    rnd = random.Random(i)
    await asyncio.sleep(i * 0.002)  # spread the first connects over ~2 s
    while not stop.is_set():
        phase = "connect"
        writer = None
        try:
            reader, writer = await asyncio.open_connection(host, port, local_addr=(src, 0))
            stats.connects += 1
            stats.open += 1
            try:
                phase = "greeting"
                await expect(reader, b"220")
                stats.greeted += 1
                try:
                    phase = "command"
                    if in_data:
                        for cmd, code in ((b"EHLO drip.example\r\n", b"250"),
                                          (b"MAIL FROM:<drip@drip.example>\r\n", b"250"),
                                          (b"RCPT TO:<user@bench.test>\r\n", b"250"), (b"DATA\r\n", b"354")):
                            writer.write(cmd)
                            await expect(reader, code)
                        phase = "data"
                        stats.in_data += 1
                        try:
                            await drip_bytes(writer, reader, b"Subject: drip\r\n\r\n" + b"y" * 10**6, rnd, lo, hi,
                                             stats, stop)
                        finally:
                            stats.in_data -= 1
                    else:
                        await drip_bytes(writer, reader, b"EHLO x\r\n", rnd, lo, hi, stats, stop)
                        await read_reply(reader)
                        while not stop.is_set():
                            await drip_bytes(writer, reader, b"NOOP\r\n", rnd, lo, hi, stats, stop)
                            await read_reply(reader)
                finally:
                    stats.greeted -= 1
            finally:
                stats.open -= 1
        except (OSError, ConnectionError) as e:
            if stop.is_set():
                break
            if phase == "connect":
                stats.connect_errors += 1
            else:
                stats.server_closed += 1
                key = {"greeting": "closed_before_greeting", "command": "closed_in_command",
                       "data": "closed_in_data"}[phase]
                setattr(stats, key, getattr(stats, key) + 1)
                text = str(e)[:40]
                stats.replies[text] = stats.replies.get(text, 0) + 1
        finally:
            if writer is not None:
                writer.close()
        await asyncio.sleep(rnd.uniform(0.5, 1.0))


async def drip_bytes(writer, reader, data, rnd, lo, hi, stats, stop):
    """One byte every lo..hi seconds; a reply or EOF that arrives meanwhile
    (the server giving up on us) ends it with ConnectionError."""
    for k in range(len(data)):
        if stop.is_set():
            return
        writer.write(data[k:k + 1])
        await writer.drain()
        stats.bytes += 1
        if k + 1 < len(data):
            try:
                line = await asyncio.wait_for(reader.readline(), rnd.uniform(lo, hi))
            except asyncio.TimeoutError:
                continue
            raise ConnectionError(line.decode(errors="replace").strip() or "server closed the connection")


async def drip_main(target, count, lo, hi, data_fraction):
    host, port = target.rsplit(":", 1)
    stats = DripStats()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    n_data = int(round(count * data_fraction))
    # Every tenth-ish client is a DATA dripper, spread over the source addresses.
    tasks = [asyncio.create_task(drip_client(i, host, int(port), stats, lo, hi, (i * n_data) // count !=
                                             ((i + 1) * n_data) // count, stop)) for i in range(count)]
    while not stop.is_set():
        print(json.dumps(stats.snapshot()), flush=True)
        try:
            await asyncio.wait_for(stop.wait(), 1.0)
        except asyncio.TimeoutError:
            pass
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    print(json.dumps(stats.snapshot()), flush=True)


class DripLoad:
    """The drip worker process; .latest() is its last status line."""

    def __init__(self, target, count, lo, hi, data_fraction):
        self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--drip-worker", target,
                                      "--drip", str(count), "--drip-min", str(lo), "--drip-max", str(hi),
                                      "--drip-data", str(data_fraction)],
                                     stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                     preexec_fn=bench_common.child_setup(nofile=count + 1000))
        self._latest = {}
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                self._latest = json.loads(line)
            except ValueError:
                pass

    def latest(self):
        return dict(self._latest)

    def stop(self):
        bench_common.stop_process(self.proc, timeout=30)
        self._thread.join(timeout=5)
        return self.latest()


# --- the run ----------------------------------------------------------------

def phase(server, args, drip):
    load = None
    if drip:
        load = DripLoad(f"{server.addr}:{server.port}", args.drip, args.drip_min, args.drip_max, args.drip_data)
    try:
        before = None
        if load:
            time.sleep(args.warmup)
            before = load.latest()
        results, errors, seconds = asyncio.run(normal_stream(server.addr, server.port, args.messages, args.sessions,
                                                             args.size, args.timeout, args.deadline))
        out = summarize(results, errors, seconds)
        if load:
            out["drip_at_start"] = before
            out["drip_at_end"] = load.latest()
    finally:
        final = load.stop() if load else None
    if load:
        out["drip_final"] = final
    return out


def fmt_ms(v):
    return "timeout" if v is None else f"{v:.1f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mxsec", help="the mxsec binary")
    ap.add_argument("--messages", type=int, default=2000, help="normal messages per phase (default 2000)")
    ap.add_argument("--sessions", type=int, default=10, help="concurrent normal clients (default 10)")
    ap.add_argument("--size", type=int, default=5 * 1024, help="message size in octets (default 5 KB)")
    ap.add_argument("--drip", type=int, default=1000, help="slow-drip connections (default 1000)")
    ap.add_argument("--drip-min", type=float, default=2.0, help="seconds between drip bytes, lower bound")
    ap.add_argument("--drip-max", type=float, default=5.0, help="seconds between drip bytes, upper bound")
    ap.add_argument("--drip-data", type=float, default=0.3, help="fraction of drip clients dripping in DATA")
    ap.add_argument("--warmup", type=float, default=35.0,
                    help="seconds of drip before the loaded phase (default 35: past mxsec's 30 s data-rate grace)")
    ap.add_argument("--timeout", type=float, default=30.0, help="per-message limit of a normal client (s)")
    ap.add_argument("--deadline", type=float, default=60.0, help="longest phase (s); fewer messages then")
    ap.add_argument("--postfix-process-limit", type=int, default=0,
                    help="Postfix default_process_limit (default: Postfix's own, 100)")
    ap.add_argument("--only", choices=("mxsec", "postfix"), help="measure one server only")
    ap.add_argument("--json", action="store_true", help="print the results as JSON too")
    ap.add_argument("--drip-worker", metavar="ADDR:PORT", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.drip_worker:
        bench_common.raise_nofile(args.drip + 1000)
        asyncio.run(drip_main(args.drip_worker, args.drip, args.drip_min, args.drip_max, args.drip_data))
        return
    if not args.mxsec and args.only != "postfix":
        ap.error("--mxsec is required")
    bench_common.raise_nofile(args.drip + 1000)

    tmp = tempfile.mkdtemp(prefix="mxsec-bench-latency-")
    os.chmod(tmp, 0o755)
    rows = []
    try:
        with Cleanup() as cleanup:
            servers = []
            if args.only != "postfix":
                servers.append(("mxsec", lambda: MxsecServer(args.mxsec, tmp, MXSEC_ADDR,
                                                             limits={"max_sessions_per_client": 50})))
            if args.only != "mxsec":
                main_cf = {}
                if args.postfix_process_limit:
                    main_cf["default_process_limit"] = str(args.postfix_process_limit)
                servers.append(("postfix", lambda: PostfixServer(tmp, POSTFIX_ADDR, main=main_cf)))
            for name, start in servers:
                server = cleanup.add(start())
                unloaded = phase(server, args, drip=False)
                loaded = phase(server, args, drip=True)
                server.stop()
                p99u, p99l = unloaded["total_p99_ms"], loaded["total_p99_ms"]
                ratio = p99l / p99u if p99u and p99l else None
                rows.append({"server": name, "unloaded": unloaded, "loaded": loaded, "p99_ratio": ratio,
                             "target_met": ratio is not None and ratio < 2.0})
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    if args.json:
        print(json.dumps({"config": {k: v for k, v in vars(args).items() if k != "drip_worker"}, "rows": rows},
                         indent=2))
    print(f"\nacceptance latency, connect -> 250 after '.', {args.sessions} sessions x {args.size} B, "
          f"one message per connection; loaded = {args.drip} slow-drip connections")
    table = []
    for r in rows:
        u, l = r["unloaded"], r["loaded"]
        d = l.get("drip_at_end", {})
        table.append([r["server"], fmt_ms(u["total_p50_ms"]), fmt_ms(u["total_p99_ms"]), fmt_ms(u["total_max_ms"]),
                      fmt_ms(l["total_p50_ms"]), fmt_ms(l["total_p99_ms"]), fmt_ms(l["total_max_ms"]),
                      f"{l['ok']}/{l['attempted']}", f"{r['p99_ratio']:.2f}x" if r["p99_ratio"] else "-",
                      "yes" if r["target_met"] else "no",
                      f"{d.get('greeted', 0)}/{d.get('in_data', 0)}/{l.get('drip_final', {}).get('server_closed', 0)}"])
    print_table(["server", "p50 ms", "p99 ms", "max ms", "loaded p50", "loaded p99", "loaded max", "loaded ok",
                 "p99 ratio", "<2x", "drip greeted/in DATA/cut"], table)
    for r in rows:
        for name in ("unloaded", "loaded"):
            if r[name]["errors"]:
                print(f"{r['server']} {name} failures: {r[name]['errors']}")


if __name__ == "__main__":
    bench_common.run_main(main)
