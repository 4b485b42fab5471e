#!/usr/bin/python3
"""Relaying mail: smtp-source -> mxsec -> sink against smtp-source ->
Postfix -> sink, side by side in one run, and both against the protocol's
limit (smtp-source straight into smtp-sink, measured in the same run).

Variants (--variants, default all three):
  plain  the outbound leg in clear text into Postfix's smtp-sink
         (127.0.78.3:25), which offers no STARTTLS.
  tls    the outbound leg under STARTTLS into a second Postfix instance used
         as a TLS sink (127.0.78.4:25): smtpd with STARTTLS (self-signed
         ECDSA P-256 certificate, no session cache on either side) whose
         smtpd_proxy_filter is a second smtp-sink (127.0.78.14:25), so the
         sink queues nothing and touches no disk. Both relays use
         opportunistic TLS: mxsec because the sink's domain is DNSSEC-
         insecure and has neither TLSA nor MTA-STS, Postfix with
         smtp_tls_security_level = may. The sink's log counts its TLS
         sessions ("Anonymous TLS connection established"), shown per run.
  dkim   as plain, and every message DKIM-signed (RSA-2048, relaxed/
         relaxed, d=insecure.test, s=sel: the test bed's key): mxsec with
         a [[dkim]] entry; Postfix through the OpenDKIM milter (Mode s,
         UNIX socket, milter_default_action = tempfail; the Milter helper of
         bench_common.py, shared with verify_throughput.py).
Sizes 5 KB and 100 KB, 20 and 100 concurrent smtp-source sessions (one
message per connection), --messages per run (a quarter of it, at least 200,
for 100 KB), after a warm-up of 50 messages per server and variant.

The servers, each on its own 127.0.78.x address:
  mxsec serve (127.0.78.1:2525; DKIM variant 127.0.78.7): relay networks
    127.0.0.0/8, [queue] sync = fsync (the default; --sync), delivery_threads =
    --delivery-threads (default 32: a delivery waits on the network, not on
    the CPU), min/max backoff 1s/10s. It routes like an MTA on the Internet:
    for every message the MX of the recipient domain, its address, the
    DANE (TLSA) and MTA-STS decisions, from its own validating resolver
    (libunbound with a TTL cache) forwarding to the Knot test bed
    (127.0.78.53), where insecure.test holds `plain`, `tls`, `probe-plain`
    and `probe-tls` MX records pointing at the sinks; and it records a
    TLS-RPT event per session. So mxsec does the DNS and policy work per
    message, and Postfix does not: Postfix (127.0.78.2:25; DKIM variant
    127.0.78.8) routes by transport_maps (`DOMAIN smtp:[ADDR]:25`, a
    texthash map), the same as a relayhost per destination: no DNS at all.
    --relayhost gives mxsec `[outbound] relayhost = "[SINK]:25"` instead
    (no MX lookup either), when `mxsec config check` accepts it.
  Postfix 3.7 (own instance, bench_common.PostfixServer): smtpd -> cleanup
    -> queue (fsync) -> qmgr -> smtp(8), default_destination_concurrency_
    limit = --delivery-threads (the same ceiling on connections to one sink
    as mxsec's threads), min/max backoff 1s/10s, default_process_limit 200.
    Its smtp(8) reuses connections to a sink when mail waits for it
    (smtp_connection_cache_on_demand, the default); so does mxsec, with
    `[outbound] destination_concurrency = --delivery-threads` (the same
    ceiling on connections to one sink) and its connection cache at the
    defaults (idle 2 s, 100 messages, 5 min), when the build knows those
    keys (older builds open one connection per delivery, bounded by their
    delivery threads).
Both queues are durable: neither says 250 before the message is on disk.

Reported per run:
  msg/s   load messages (smtp-source's) over the time from the first connect
          until the sink's counter (smtp-sink -c) shows the last one.
  cpu     ms of CPU per message of the server: mxsec's process; Postfix's
          master and every child, reaped or alive, plus OpenDKIM.
  mach    ms of busy CPU of the whole machine per message, without
          smtp-source, this script, the sinks and the probe sink; knotd
          stays in (it serves mxsec's DNS; its share is in --json). Only
          meaningful on an otherwise idle machine.
  p50/p99 end-to-end latency in ms: smtp-source's messages are all alike,
          so a thread of this script sends probe messages among the load,
          one after the other with --probe-interval between them, through
          the same server at the same time, to `probe-plain` or
          `probe-tls` (same size, same sender: signed in the DKIM
          variant), whose MX is a recording Python sink
          (tests/testbed/record_sink.py, 127.0.78.5:25 in clear,
          127.0.78.6:25 with STARTTLS). Latency = the sink's CLOCK_MONOTONIC
          at the final "." minus the probe's before its connect (one clock
          for every process). The sink also says whether each probe came
          under TLS, and saves its text: in the DKIM variant dkimpy must
          verify each probe's signature against the test bed's key record
          (the run fails otherwise, and when TLS or a signature is missing
          where the variant needs it, or present where it must not be).
          CPU per message counts probes as messages. None with
          --relayhost (every message then goes to the one relay host).
  limit   smtp-source straight into smtp-sink: what this machine's loopback
          SMTP can carry with these tools; `mx/limit` is mxsec's share of it.
Targets (printed next to the ratios): plain 5 KB >= 3x Postfix's rate,
100 KB >= 2x, CPU <= 1/3 of Postfix's; tls >= 3x Postfix and >= 0.8x mxsec's
own plain rate; dkim >= 4x Postfix + OpenDKIM.

  bench/relay_throughput.py --mxsec build/release/src/app/mxsec [--messages 5000] [--variants plain,tls,dkim]
      [--sizes 5120,102400] [--sessions 20,100] [--delivery-threads 32] [--relayhost] [--json] [--keep]
Needs root (port 25, Postfix), and the Debian packages postfix, opendkim,
python3-dkim, knot, ldnsutils, openssl. Every process it starts is stopped on the way out.
"""

import argparse
import json
import os
import smtplib
import subprocess
import sys
import threading
import time

import dkim  # python3-dkim (dkimpy): judges the probes' signatures

import bench_common
from bench_common import (Cleanup, Milter, MxsecServer, PostfixServer, SmtpSink, cpu_seconds, measure_throughput,
                          milter_dir, percentile, print_table, tree_cpu, write_file)
from postfix_peer import PostfixPeer  # bench_common put tests/testbed on the path
from record_sink import RecordSink

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
from serve_e2e import make_cert  # noqa: E402

MXSEC_ADDR = "127.0.78.1"
POSTFIX_ADDR = "127.0.78.2"
SINK_ADDR = "127.0.78.3"
TLS_SINK_ADDR = "127.0.78.4"
TLS_BACKEND_ADDR = "127.0.78.14"
PROBE_ADDR = "127.0.78.5"
PROBE_TLS_ADDR = "127.0.78.6"
MXSEC_DKIM_ADDR = "127.0.78.7"
POSTFIX_DKIM_ADDR = "127.0.78.8"
DNS_ADDR = "127.0.78.53"
ZONE = "insecure.test"
SENDER = f"load@{ZONE}"              # the From: of every message; DKIM d= is its domain
ROUTES = {"plain": SINK_ADDR, "tls": TLS_SINK_ADDR, "probe-plain": PROBE_ADDR, "probe-tls": PROBE_TLS_ADDR}
TARGETS = {  # variant -> (rate vs Postfix for 5 KB, for 100 KB, CPU vs Postfix or None)
    "plain": (3.0, 2.0, 1 / 3),
    "tls": (3.0, 3.0, None),
    "dkim": (4.0, 4.0, None),
}
TLS_VS_PLAIN = 0.8


def domain(label):
    return f"{label}.{ZONE}"


def connection_keys_accepted(mxsec, tmp):
    """True when `mxsec config check` knows [outbound] destination_concurrency."""
    path = write_file(tmp, "concurrency-probe.toml", "[outbound]\ndestination_concurrency = 20\n")
    return subprocess.run([mxsec, "config", "check", "--config", path], capture_output=True).returncode == 0


def relayhost_accepted(mxsec, tmp):
    """(True, "") when `mxsec config check` accepts [outbound] relayhost."""
    path = write_file(tmp, "relayhost-probe.toml", f'[outbound]\nrelayhost = "[{SINK_ADDR}]:25"\n')
    r = subprocess.run([mxsec, "config", "check", "--config", path], capture_output=True, text=True)
    return r.returncode == 0, (r.stderr or r.stdout).strip()


class TlsSink:
    """Postfix smtpd with STARTTLS in front of an smtp-sink (smtpd_proxy_filter):
    TLS terminated by Postfix, nothing queued."""

    def __init__(self, tmp, cert, key):
        self.backend = SmtpSink(tmp, TLS_BACKEND_ADDR, name="tls-backend-sink")
        self.peer = PostfixPeer(os.path.join(tmp, "tls-sink"), [f"{TLS_SINK_ADDR}:25"], hostname=f"mx-tls.{ZONE}", main={
            "smtpd_tls_security_level": "may", "smtpd_tls_chain_files": f"{key}, {cert}",
            "smtpd_tls_loglevel": "1", "smtpd_proxy_filter": f"{TLS_BACKEND_ADDR}:25",
            "default_process_limit": "300", "smtpd_client_connection_count_limit": "0",
            "smtpd_peername_lookup": "no"})
        try:
            self.peer.start()
        except Exception:
            self.backend.stop()
            raise

    def count(self):
        return self.backend.count()

    def cpu(self):
        return self.backend.cpu() + tree_cpu(self.peer.master)

    def sessions(self):
        """(sessions, of them under TLS) in the sink's log so far."""
        log = self.peer.log()
        return log.count("]: connect from "), log.count("Anonymous TLS connection established from")

    def stop(self):
        try:
            if self.peer.master is None and os.path.exists(os.path.join(self.peer.spool, "pid", "master.pid")):
                subprocess.run(["postfix", "-c", self.peer.conf, "stop"], capture_output=True)
            self.peer.stop()
        finally:
            self.backend.stop()


class Direct:
    """The protocol's limit: smtp-source straight into a sink."""

    def __init__(self, sink):
        self.sink, self.addr, self.port, self.domain = sink, sink.addr, sink.port, domain("plain")

    def cpu(self):
        return self.sink.cpu()


class PostfixSigning:
    """Postfix whose smtpd signs through the OpenDKIM milter."""

    def __init__(self, tmp, cleanup, key, main):
        d = os.path.join(tmp, "opendkim")
        # RequireSafeKeys no: the key lies below /tmp, which others may write
        # (OpenDKIM refuses such a path by default).
        spec, postfix_spec, probe, _ = milter_dir(d, "opendkim", None, "unix")
        internal = write_file(d, "internal-hosts", "127.0.0.0/8\n")
        conf = write_file(d, "opendkim.conf", f"""Syslog no
Mode s
Socket {spec}
PidFile {d}/opendkim.pid
Domain {ZONE}
Selector sel
KeyFile {key}
RequireSafeKeys no
Canonicalization relaxed/relaxed
SignatureAlgorithm rsa-sha256
OversignHeaders From
InternalHosts {internal}
TemporaryDirectory {d}
UMask 000
""")
        self.dkim = cleanup.add(Milter("opendkim", ["/usr/sbin/opendkim", "-f", "-x", conf], os.path.join(d, "log"),
                                       probe, bench_common.child_setup(), postfix_spec))
        self.postfix = cleanup.add(PostfixServer(tmp, POSTFIX_DKIM_ADDR, name="postfix-dkim", main=dict(main, **{
            "smtpd_milters": postfix_spec, "non_smtpd_milters": "", "milter_default_action": "tempfail"})))
        self.addr, self.port, self.domain = POSTFIX_DKIM_ADDR, 25, self.postfix.domain

    def cpu(self):
        return self.postfix.cpu() + self.dkim.cpu()

    def stop(self):
        # Both parts are registered with the clean-up too (a failed start
        # leaves no milter behind); a second stop does nothing.
        self.postfix.stop()
        self.dkim.stop()


def dkim_valid(path, record):
    """dkimpy's verdict on the first signature of the message in `path`,
    with `record` as the only DNS answer."""
    with open(path, "rb") as f:
        text = f.read()
    return dkim.verify(text, dnsfunc=lambda name, timeout=5: record.encode())


class Probes:
    """Latency probes: one message at a time into the server, to a probe
    domain whose MX is the recording sink, while the load runs."""

    def __init__(self, server, probe_domain, size, interval, tag):
        self.server, self.rcpt, self.interval, self.tag = server, f"probe@{probe_domain}", interval, tag
        line = "x" * 76 + "\r\n"
        self.pad = line * max(1, size // len(line))
        self.sent = {}   # Message-ID -> CLOCK_MONOTONIC before connect, acknowledged ones only
        self.failed = 0
        self._stop = threading.Event()
        self._thread = None

    def _one(self, i):
        mid = f"<probe-{self.tag}-{i}@{ZONE}>"
        text = (f"From: <{SENDER}>\r\nTo: <{self.rcpt}>\r\nSubject: probe {i}\r\nMessage-ID: {mid}\r\n"
                f"Date: Thu, 03 Dec 2026 12:00:00 +0000\r\n\r\n{self.pad}").encode()
        t0 = time.monotonic()
        try:
            with smtplib.SMTP(self.server.addr, self.server.port, source_address=("127.0.0.1", 0), timeout=60) as s:
                s.ehlo("probe.bench.test")
                s.sendmail(SENDER, [self.rcpt], text)
            self.sent[mid] = t0
        except (OSError, smtplib.SMTPException):
            self.failed += 1

    def _run(self):
        i = 0
        while not self._stop.is_set():
            self._one(i)
            i += 1
            self._stop.wait(self.interval)

    def start(self):
        self._thread = threading.Thread(target=self._run)
        self._thread.start()

    def stop(self):
        self._stop.set()
        self._thread.join()

    def judge(self, sink, dkim_record, timeout=60):
        """Waits for the acknowledged probes at the sink; latency figures, and
        how many carry a DKIM signature that dkimpy verifies against
        `dkim_record` (the test bed's record text of selector sel)."""
        end = time.time() + timeout
        while True:
            got = {r["id"]: r for r in sink.records() if r["id"] in self.sent}
            if len(got) == len(self.sent) or time.time() > end:
                break
            time.sleep(0.1)
        lat = sorted(1000 * (r["t"] - self.sent[mid]) for mid, r in got.items())
        return {"probes": len(self.sent), "probes_arrived": len(got), "probes_failed": self.failed,
                "latency_ms_p50": percentile(lat, 50), "latency_ms_p99": percentile(lat, 99),
                "latency_ms_max": lat[-1] if lat else None,
                "probes_tls": sum(1 for r in got.values() if r["tls"]),
                "probes_dkim": sum(1 for r in got.values() if r["dkim"]),
                "probes_dkim_valid": sum(1 for r in got.values() if r["dkim"] and dkim_valid(r["file"], dkim_record))}


class Bench:
    def __init__(self, args, tmp, cleanup):
        self.args, self.tmp, self.cleanup = args, tmp, cleanup
        self.connection_keys = connection_keys_accepted(args.mxsec, tmp)
        self.tb = cleanup.add(bench_common.mx_testbed(tmp, DNS_ADDR, ROUTES))
        self.cert, self.key = make_cert(tmp, "mx-tls")
        self.sink = cleanup.add(SmtpSink(tmp, SINK_ADDR))
        self.tls_sink = cleanup.add(TlsSink(tmp, self.cert, self.key)) if "tls" in args.variants else None
        self.probe_sink = None
        if not args.relayhost:
            self.probe_sink = cleanup.add(RecordSink(os.path.join(tmp, "probes.jsonl"), listen=[f"{PROBE_ADDR}:25"],
                                                     listen_tls=[f"{PROBE_TLS_ADDR}:25"], cert=self.cert, key=self.key,
                                                     save=os.path.join(tmp, "probes")))
        self.transport = write_file(tmp, "transport", "".join(f"{domain(label)} smtp:[{a}]:25\n"
                                                              for label, a in ROUTES.items()))
        with open(os.path.join(self.tb.env["MXSEC_TB_DIR"], "dkim", "sel.txt")) as f:
            self.dkim_record = f.read().strip()
        self.limits = {}
        self.runs = 0

    def helpers_cpu(self):
        total = self.sink.cpu()
        if self.tls_sink:
            total += self.tls_sink.cpu()
        if self.probe_sink:
            total += cpu_seconds(self.probe_sink.pid)
        return total

    def postfix_main(self):
        return {"transport_maps": f"texthash:{self.transport}", "smtp_tls_security_level": "may",
                "default_process_limit": "200",
                "default_destination_concurrency_limit": str(self.args.delivery_threads),
                "minimal_backoff_time": "1s", "maximal_backoff_time": "10s", "queue_run_delay": "1s"}

    def mxsec(self, variant, addr):
        a = self.args
        extra = bench_common.dns_toml(self.tb.env) + f"""
[queue]
sync = "{a.sync}"
delivery_threads = {a.delivery_threads}
min_backoff = "1s"
max_backoff = "10s"
delay_warning = ""
"""
        outbound = ""
        if a.relayhost:
            sink = TLS_SINK_ADDR if variant == "tls" else SINK_ADDR
            outbound += f'relayhost = "[{sink}]:25"\n'
        if self.connection_keys:
            outbound += f"destination_concurrency = {a.delivery_threads}\nmax_connections = {max(100, a.delivery_threads)}\n"
        if outbound:
            extra += "\n[outbound]\n" + outbound
        if variant == "dkim":
            extra += f"""
[[dkim]]
domain = "{ZONE}"
selector = "sel"
key = "{self.tb.env['MXSEC_TB_DKIM_SEL_KEY']}"
algorithm = "rsa-sha256"
"""
        return MxsecServer(a.mxsec, self.tmp, addr, name=f"mxsec-{variant}", threads=a.threads, extra=extra)

    def servers(self, variant):
        """(mxsec, Postfix side) for a variant, registered for clean-up."""
        if variant == "dkim":
            mx = self.cleanup.add(self.mxsec(variant, MXSEC_DKIM_ADDR))
            pf = self.cleanup.add(PostfixSigning(self.tmp, self.cleanup, self.tb.env["MXSEC_TB_DKIM_SEL_KEY"],
                                                 self.postfix_main()))
            return mx, pf
        mx = self.cleanup.add(self.mxsec(variant, MXSEC_ADDR))
        pf = self.cleanup.add(PostfixServer(self.tmp, POSTFIX_ADDR, name=f"postfix-{variant}",
                                            main=self.postfix_main()))
        return mx, pf

    def destination(self, variant):
        return self.tls_sink if variant == "tls" else self.sink

    def run(self, server, variant, n, sessions, size, probes=True):
        label = "tls" if variant == "tls" else "plain"
        dest = self.destination(variant)
        probe = None
        if probes and self.probe_sink:
            self.runs += 1
            probe = Probes(server, domain(f"probe-{label}"), size, self.args.probe_interval, self.runs)
        tls0 = self.tls_sink.sessions() if variant == "tls" else None
        dns0 = cpu_seconds(self.tb.pid)
        r = measure_throughput(server, n, sessions, size=size, sender=SENDER, rcpt=f"user@{domain(label)}",
                               arrived=dest.count, helpers_cpu=self.helpers_cpu, during=probe)
        if probe:
            r.update(probe.judge(self.probe_sink, self.dkim_record))
        handled = max(r["messages"] + r.get("probes", 0), 1)
        r["cpu_ms_per_msg"] = 1000 * r["server_cpu_s"] / handled
        r["machine_cpu_ms_per_msg"] = 1000 * r["machine_cpu_s"] / handled
        r["dns_cpu_ms_per_msg"] = 1000 * (cpu_seconds(self.tb.pid) - dns0) / handled
        if tls0 is not None:
            time.sleep(0.5)  # postlogd writes behind
            s, t = self.tls_sink.sessions()
            r["sink_sessions"], r["sink_tls_sessions"] = s - tls0[0], t - tls0[1]
        return r

    def limit(self, n, sessions, size):
        key = (size, sessions)
        if key not in self.limits:
            d = measure_throughput(Direct(self.sink), n, sessions, size=size, sender=SENDER,
                                   rcpt=f"user@{domain('plain')}", arrived=self.sink.count)
            self.limits[key] = d
        return self.limits[key]


def ratio(a, b):
    return a / b if a and b else None


def judge_row(row, plain_rates):
    """Ratios, and each target with met (True/False)."""
    a, b = row["mxsec"], row["postfix"]
    rate_t, rate_t_big, cpu_t = TARGETS[row["variant"]]
    row["rate_ratio"] = ratio(a["msgs_per_s"], b["msgs_per_s"])
    row["cpu_ratio"] = ratio(a["cpu_ms_per_msg"], b["cpu_ms_per_msg"])
    row["machine_cpu_ratio"] = ratio(a["machine_cpu_ms_per_msg"], b["machine_cpu_ms_per_msg"])
    row["of_limit"] = ratio(a["msgs_per_s"], row["limit"]["msgs_per_s"])
    want = rate_t if row["size"] < 50000 else rate_t_big
    targets = {"rate_vs_postfix": (want, row["rate_ratio"] is not None and row["rate_ratio"] >= want)}
    if cpu_t is not None:
        targets["cpu_vs_postfix"] = (cpu_t, row["cpu_ratio"] is not None and row["cpu_ratio"] <= cpu_t)
    if row["variant"] == "tls":
        plain = plain_rates.get((row["size"], row["sessions"]))  # None when plain was not run
        row["tls_vs_plain"] = ratio(a["msgs_per_s"], plain)
        if plain:
            targets["rate_vs_plain_relay"] = (TLS_VS_PLAIN, row["tls_vs_plain"] is not None and
                                              row["tls_vs_plain"] >= TLS_VS_PLAIN)
    row["targets"] = targets


def checks(row, relayhost):
    """Problems that make a run worthless: messages missing, probes not
    arriving, TLS or signatures absent where the variant needs them."""
    out = []
    for side in ("mxsec", "postfix"):
        r = row[side]
        what = f"{row['variant']} {row['size']} B {row['sessions']} sessions {side}"
        if not r["sent_ok"] or r["messages"] < row["messages"]:
            out.append(f"{what}: {r['messages']}/{row['messages']} arrived; smtp-source: {r['client_error'].strip()}")
        if relayhost:
            continue
        if r.get("probes", 0) == 0 or r["probes_arrived"] < r["probes"]:
            out.append(f"{what}: {r.get('probes_arrived', 0)}/{r.get('probes', 0)} probes arrived")
        if row["variant"] == "tls" and r.get("probes_tls", 0) < r.get("probes_arrived", 0):
            out.append(f"{what}: only {r['probes_tls']}/{r['probes_arrived']} probes came under TLS")
        if row["variant"] == "dkim" and r.get("probes_dkim_valid", 0) < r.get("probes_arrived", 0):
            out.append(f"{what}: only {r['probes_dkim_valid']}/{r['probes_arrived']} probes carry a DKIM "
                       f"signature that verifies ({r['probes_dkim']} signed)")
        if row["variant"] != "dkim" and r.get("probes_dkim", 0):
            out.append(f"{what}: {r['probes_dkim']} probes signed without DKIM configured")
    if row["variant"] == "tls":
        for side in ("mxsec", "postfix"):
            r = row[side]
            if not r.get("sink_tls_sessions") or r["sink_tls_sessions"] < r["sink_sessions"]:
                out.append(f"tls {row['size']} B {row['sessions']} sessions {side}: the TLS sink saw "
                           f"{r.get('sink_tls_sessions')} TLS sessions of {r.get('sink_sessions')}")
    return out


def fmt(x, spec, unit=""):
    return "-" if x is None else f"{x:{spec}}{unit}"


def target_text(targets, key):
    if key not in targets:
        return "-"
    want, met = targets[key]
    return f"{'ok' if met else 'MISS'} {'<=' if key.startswith('cpu') else '>='}{want:.2g}"


def print_report(rows):
    print("\nRelay: smtp-source -> server -> sink. msg/s of the load; cpu: the server's processes, mach: the "
          "machine without load generator and sinks (ms per message); p50/p99: end-to-end latency of probe "
          "messages (ms); limit: smtp-source -> smtp-sink")
    table = []
    for r in rows:
        a, b = r["mxsec"], r["postfix"]
        t = r["targets"]
        extra = ""
        if r["variant"] == "tls":
            extra = f"{fmt(r.get('tls_vs_plain'), '.2f', 'x')} {target_text(t, 'rate_vs_plain_relay')}"
        table.append([r["variant"], str(r["size"]), str(r["sessions"]), f"{r['limit']['msgs_per_s']:.0f}",
                      f"{a['msgs_per_s']:.0f}", f"{a['cpu_ms_per_msg']:.2f}", f"{a['machine_cpu_ms_per_msg']:.2f}",
                      f"{fmt(a.get('latency_ms_p50'), '.0f')}/{fmt(a.get('latency_ms_p99'), '.0f')}",
                      f"{b['msgs_per_s']:.0f}", f"{b['cpu_ms_per_msg']:.2f}", f"{b['machine_cpu_ms_per_msg']:.2f}",
                      f"{fmt(b.get('latency_ms_p50'), '.0f')}/{fmt(b.get('latency_ms_p99'), '.0f')}",
                      f"{fmt(r['rate_ratio'], '.2f', 'x')} {target_text(t, 'rate_vs_postfix')}",
                      f"{fmt(r['cpu_ratio'], '.2f', 'x')} {target_text(t, 'cpu_vs_postfix')}",
                      fmt(r["machine_cpu_ratio"], ".2f", "x"), fmt(r["of_limit"], ".2f"), extra or "-"])
    print_table(["variant", "size", "sess", "limit", "mxsec msg/s", "cpu", "mach", "p50/p99", "postfix msg/s", "cpu",
                 "mach", "p50/p99", "rate x (target)", "cpu x (target)", "mach x", "mx/limit", "tls/plain (target)"],
                table)
    for r in rows:
        for side in ("mxsec", "postfix"):
            x = r[side]
            notes = []
            if "probes" in x:
                notes.append(f"{x['probes_arrived']}/{x['probes']} probes")
                if r["variant"] == "tls":
                    notes.append(f"{x['probes_tls']} under TLS")
                if r["variant"] == "dkim":
                    notes.append(f"{x['probes_dkim']} DKIM-signed, {x['probes_dkim_valid']} verified by dkimpy")
            if "sink_sessions" in x:
                notes.append(f"TLS sink: {x['sink_tls_sessions']}/{x['sink_sessions']} sessions under TLS")
            print(f"  {r['variant']} {r['size']} B {r['sessions']} sess, {side}: {', '.join(notes) or '-'}; "
                  f"knotd {x['dns_cpu_ms_per_msg']:.3f} ms/msg")


def run_all(args, bench, sizes, sessions):
    """Every variant, size and session count: rows and problems."""
    rows, problems, plain_rates = [], [], {}
    for variant in args.variants:
        mx, pf = bench.servers(variant)
        for server in (mx, pf):
            bench.run(server, variant, args.warmup, 10, sizes[0], probes=False)
        for size in sizes:
            for conc in sessions:
                n = args.messages if size < 50000 else max(args.messages // 4, 200)
                row = {"variant": variant, "size": size, "sessions": conc, "messages": n,
                       "limit": bench.limit(n, conc, size),
                       "mxsec": bench.run(mx, variant, n, conc, size),
                       "postfix": bench.run(pf, variant, n, conc, size)}
                if variant == "plain":
                    plain_rates[(size, conc)] = row["mxsec"]["msgs_per_s"]
                judge_row(row, plain_rates)
                problems += checks(row, args.relayhost)
                rows.append(row)
        # Each variant's servers stop before the next one starts.
        mx.stop()
        pf.stop()
    return rows, problems


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mxsec", required=True)
    ap.add_argument("--messages", type=int, default=5000, help="messages per 5 KB run (default 5000)")
    ap.add_argument("--variants", default="plain,tls,dkim")
    ap.add_argument("--sizes", default="5120,102400")
    ap.add_argument("--sessions", default="20,100")
    ap.add_argument("--threads", type=int, default=0, help="mxsec event loops (0 = one per core)")
    ap.add_argument("--delivery-threads", type=int, default=32,
                    help="mxsec [queue] delivery_threads and [outbound] destination_concurrency, "
                         "and Postfix's default_destination_concurrency_limit")
    ap.add_argument("--sync", choices=("syncfs", "fsync"), default="fsync", help="mxsec [queue] sync")
    ap.add_argument("--probe-interval", type=float, default=0.05, help="seconds between latency probes")
    ap.add_argument("--warmup", type=int, default=50, help="messages per server before each variant's runs")
    ap.add_argument("--relayhost", action="store_true",
                    help="mxsec relays through [outbound] relayhost = the sink (no MX lookups; no latency probes)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    args.variants = [v for v in args.variants.split(",") if v]
    for v in args.variants:
        if v not in TARGETS:
            ap.error(f"unknown variant {v!r} (plain, tls, dkim)")
    sizes = [int(s) for s in args.sizes.split(",")]
    sessions = [int(s) for s in args.sessions.split(",")]
    with bench_common.scratch_dir("mxsec-bench-relay-", args.keep) as tmp:
        if args.relayhost:
            ok, why = relayhost_accepted(args.mxsec, tmp)
            if not ok:
                sys.exit(f"--relayhost: `mxsec config check` refuses [outbound] relayhost: {why}")
        with Cleanup() as cleanup:
            rows, problems = run_all(args, Bench(args, tmp, cleanup), sizes, sessions)
    if args.json:
        print(json.dumps({"rows": rows, "problems": problems}, indent=2))
    print_report(rows)
    for p in problems:
        print(f"PROBLEM: {p}")
    sys.exit(1 if problems or not rows else 0)


if __name__ == "__main__":
    bench_common.run_main(main)
