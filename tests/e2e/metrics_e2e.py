#!/usr/bin/python3
"""`mxsec serve` with its Prometheus endpoint, judged by the official Python
client's parser (prometheus_client.parser.text_string_to_metric_families,
Debian package python3-prometheus-client): the exposition parses, every
documented family is there, and the counters move by exactly what the test
sent (sessions, accepted messages, a relay recipient refused, a message too
big, deliveries, the queue). Then the endpoint's HTTP behaviour: 404, 405,
HEAD, a slow client and an oversized head that do not block a second
scrape, and the connection limit that fails closed and recovers.

Addresses: the server (SMTP and metrics) on 127.0.65.1; strangers connect
from 127.0.65.9, the relay network is 127.0.65.8/32."""

import argparse
import http.client
import os
import shutil
import smtplib
import socket
import sys
import tempfile
import time

from prometheus_client.parser import text_string_to_metric_families

from e2e_common import Checker
from serve_e2e import Server, maildir_files, wait_for, write_config

SERVER = "127.0.65.1"
STRANGER = "127.0.65.9"
RELAY_CLIENT = "127.0.65.8"
SMTP_PORT = 2525
METRICS_PORT = 9125
MESSAGE_BYTES = 65536

# Family (as the parser names it: counters lose "_total") -> type.
FAMILIES = {
    "mxsec_sessions": "counter",
    "mxsec_sessions_active": "gauge",
    "mxsec_tls_handshakes": "counter",
    "mxsec_messages_accepted": "counter",
    "mxsec_messages_rejected": "counter",
    "mxsec_recipients_rejected": "counter",
    "mxsec_limit_hits": "counter",
    "mxsec_smtp_auth": "counter",
    "mxsec_auth_results": "counter",
    "mxsec_dns_queries": "counter",
    "mxsec_dns_query_failures": "counter",
    "mxsec_queue_messages": "gauge",
    "mxsec_delivery_attempts": "counter",
    "mxsec_relay_attempts": "counter",
    "mxsec_tls_sessions": "counter",
    "process_start_time_seconds": "gauge",
}


def metrics_config(tmp):
    return write_config(tmp, SMTP_PORT, server=SERVER, relay=f"{RELAY_CLIENT}/32",
                        extra=f"""
[limits]
message_bytes = {MESSAGE_BYTES}

[metrics]
address = "{SERVER}:{METRICS_PORT}"
""")


def request(method, path="/metrics", timeout=10):
    """(status, headers dict with lower-case names, body bytes)."""
    conn = http.client.HTTPConnection(SERVER, METRICS_PORT, timeout=timeout)
    try:
        conn.request(method, path)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


class Scrape:
    """One scrape, parsed by the reference parser."""

    def __init__(self):
        self.status, self.headers, body = request("GET")
        self.text = body.decode("utf-8")
        self.families = {f.name: f for f in text_string_to_metric_families(self.text)}
        self.samples = {}
        for f in self.families.values():
            for s in f.samples:
                self.samples[(s.name, tuple(sorted(s.labels.items())))] = s.value

    def value(self, name, **labels):
        return self.samples.get((name, tuple(sorted(labels.items()))))

    def mxsec_samples(self):
        return {k: v for k, v in self.samples.items() if k[0].startswith("mxsec_")}


def smtp(source):
    return smtplib.SMTP(SERVER, SMTP_PORT, source_address=(source, 0), timeout=30)


def send_mail():
    """What the counters must show afterwards: 4 sessions, 4 messages
    accepted, 1 relay recipient refused, 1 message refused for its size."""
    s = smtp(STRANGER)
    s.ehlo("client.example.org")
    for i in range(2):
        s.sendmail("alice@example.org", ["bob@example.test"], f"Subject: m{i}\r\n\r\nhello\r\n".encode())
    code, _ = s.docmd("MAIL FROM:<alice@example.org>")
    assert code == 250, code
    code, _ = s.docmd("RCPT TO:<victim@other.example>")
    assert code == 554, f"relay recipient got {code}"
    s.docmd("RSET")
    s.quit()

    s = smtp(STRANGER)
    s.ehlo("client.example.org")
    s.sendmail("alice@example.org", ["carol@example.test"], b"Subject: m3\r\n\r\nhello\r\n")
    s.quit()

    s = smtp(RELAY_CLIENT)  # relayed: accepted, then waits in the queue (no outbound agent yet)
    s.ehlo("app.example.test")
    s.sendmail("app@example.test", ["someone@other.example"], b"Subject: relayed\r\n\r\nhello\r\n")
    s.quit()

    s = smtp(STRANGER)  # smtplib sends SIZE=, refused at MAIL
    s.ehlo("client.example.org")
    try:
        s.sendmail("alice@example.org", ["bob@example.test"], b"Subject: big\r\n\r\n" + b"x" * (MESSAGE_BYTES + 100))
        raise AssertionError("an oversized message was accepted")
    except smtplib.SMTPSenderRefused as e:
        assert e.smtp_code == 552, e.smtp_code
    s.quit()


# Every series that must have moved, and by how much; every other mxsec_
# series must not have moved (the queue gauge and the delivery counters are
# checked on their own).
EXPECTED = {
    ("mxsec_sessions_total", (("listener", "smtp"),)): 4,
    ("mxsec_messages_accepted_total", ()): 4,
    ("mxsec_recipients_rejected_total", (("reason", "relay"),)): 1,
    ("mxsec_messages_rejected_total", (("reason", "size"),)): 1,
    ("mxsec_limit_hits_total", (("limit", "message_bytes"),)): 1,
}
CHECKED_APART = {"mxsec_queue_messages", "mxsec_delivery_attempts_total"}


def test_exposition(c, before, started):
    problems = []
    if before.status != 200:
        problems.append(f"status {before.status}")
    if before.headers.get("content-type") != "text/plain; version=0.0.4; charset=utf-8":
        problems.append(f"content-type {before.headers.get('content-type')!r}")
    for name, kind in FAMILIES.items():
        f = before.families.get(name)
        if f is None:
            problems.append(f"family {name} missing")
        elif f.type != kind:
            problems.append(f"{name} is a {f.type}, want {kind}")
    nonzero = {k: v for k, v in before.mxsec_samples().items() if v != 0}
    if nonzero:
        problems.append(f"not zero at start: {nonzero}")
    start = before.value("process_start_time_seconds")
    if start is None or not (started - 5 <= start <= time.time() + 1):
        problems.append(f"process_start_time_seconds {start} (started {started})")
    c.judge(f"the exposition parses with the reference parser: {len(before.families)} families, "
            f"{len(before.samples)} series, all at 0", problems, before.text[:2000])


def test_counters(c, tmp, before):
    send_mail()
    problems = []
    if not wait_for(lambda: len(maildir_files(tmp, "bob")) == 2 and len(maildir_files(tmp, "carol")) == 1):
        problems.append("the three local messages were not delivered")
    # Delivery and session ends are asynchronous: wait until the figures settle.
    # The relayed message's attempt ends when its domain's DNS answer (a
    # failure here: no network) is in.
    wait_for(lambda: Scrape().value("mxsec_delivery_attempts_total", result="delivered") == 3
             and (Scrape().value("mxsec_delivery_attempts_total", result="deferred") or 0) >= 1
             and Scrape().value("mxsec_sessions_active", listener="smtp") == 0)
    after = Scrape()
    for key, delta in EXPECTED.items():
        got = after.samples.get(key, 0) - before.samples.get(key, 0)
        if got != delta:
            problems.append(f"{key[0]}{dict(key[1])} moved by {got}, want {delta}")
    for key, value in after.mxsec_samples().items():
        if key in EXPECTED or key[0] in CHECKED_APART or key[0] == "mxsec_sessions_active":
            continue
        if value != before.samples.get(key, 0):
            problems.append(f"{key[0]}{dict(key[1])} moved to {value}")
    for listener in ("smtp", "submission", "smtps"):
        if after.value("mxsec_sessions_active", listener=listener) != 0:
            problems.append(f"sessions_active{{{listener}}} = {after.value('mxsec_sessions_active', listener=listener)}")
    if after.value("mxsec_delivery_attempts_total", result="delivered") != 3:
        problems.append(f"delivered = {after.value('mxsec_delivery_attempts_total', result='delivered')}, want 3")
    if not (after.value("mxsec_delivery_attempts_total", result="deferred") or 0) >= 1:
        problems.append("the relayed message was not deferred")
    if after.value("mxsec_queue_messages") != 1:
        problems.append(f"queue_messages = {after.value('mxsec_queue_messages')}, want 1 (the relayed message)")
    c.judge("counters moved by exactly what was sent: 4 sessions, 4 accepted, 1 relay recipient refused, "
            "1 message too big, 3 delivered, 1 queued", problems, after.text)


def test_http(c):
    problems = []
    status, headers, body = request("GET", "/other")
    if status != 404:
        problems.append(f"GET /other: {status}")
    status, headers, body = request("POST", "/metrics")
    if status != 405 or headers.get("allow") != "GET, HEAD":
        problems.append(f"POST /metrics: {status} allow={headers.get('allow')!r}")
    status, headers, body = request("HEAD", "/metrics")
    get_status, get_headers, get_body = request("GET", "/metrics")
    if status != 200 or body != b"" or headers.get("content-type") != get_headers.get("content-type"):
        problems.append(f"HEAD: {status} {headers} body {len(body)} octets")
    if int(headers.get("content-length", -1)) != len(get_body):
        problems.append(f"HEAD Content-Length {headers.get('content-length')} != GET body {len(get_body)}")
    if headers.get("connection") != "close":
        problems.append(f"Connection: {headers.get('connection')!r}")
    c.judge("HTTP: 404 for another path, 405 with Allow for POST, HEAD without a body", problems)


def raw(data=b"", timeout=15):
    s = socket.create_connection((SERVER, METRICS_PORT), timeout=timeout)
    if data:
        s.sendall(data)
    return s


def read_all(s):
    out = b""
    try:
        while True:
            chunk = s.recv(4096)
            if not chunk:
                return out, "eof"
            out += chunk
    except ConnectionResetError:
        return out, "reset"
    except socket.timeout:
        return out, "timeout"


def still_open(s):
    """True when the server has neither answered nor closed the connection."""
    s.setblocking(False)
    try:
        s.recv(1)
        return False
    except BlockingIOError:
        return True
    finally:
        s.setblocking(True)


def test_slow_and_oversized(c):
    problems = []
    slow = raw(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")  # the head never ends
    big = raw(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000)  # nor does this one
    big.shutdown(socket.SHUT_WR)
    answer, how = read_all(big)
    if not answer.startswith(b"HTTP/1.1 431 "):
        problems.append(f"oversized head: {answer[:60]!r} ({how})")
    second = Scrape()
    if second.status != 200 or "mxsec_sessions_total" not in second.text:
        problems.append(f"second scrape: {second.status}")
    if not still_open(slow):
        problems.append("the slow client was answered or closed before the second scrape was served")
    answer, how = read_all(slow)  # closed after the read timeout (5 s), without an answer
    if answer or how != "eof":
        problems.append(f"slow client: {answer[:60]!r} ({how}), want a close without answer")
    c.judge("a slow client and an oversized head (431) do not block a second scrape; the slow one is "
            "closed without an answer", problems)


def test_connection_limit(c):
    idle = [raw() for _ in range(8)]  # kMetricsConnections
    time.sleep(0.2)
    problems = []
    try:
        status, _, _ = request("GET", timeout=5)
        problems.append(f"a ninth connection got {status}")
    except (ConnectionError, http.client.HTTPException, OSError):
        pass
    for s in idle:
        s.close()
    if not wait_for(lambda: request_ok(), timeout=20, step=0.2):
        problems.append("no scrape after the idle connections closed")
    c.judge("8 idle connections: a ninth is closed at once; scrapes work again when they go", problems)


def request_ok():
    try:
        return request("GET", timeout=5)[0] == 200
    except (ConnectionError, http.client.HTTPException, OSError):
        return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mxsec", required=True)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="mxsec-metrics-e2e-")
    c = Checker(args.mxsec, os.environ, tmp)
    config = metrics_config(tmp)
    server = Server(args.mxsec, config)
    started = time.time()
    server.start()
    try:
        before = Scrape()
        test_exposition(c, before, started)
        test_counters(c, tmp, before)
        test_http(c)
        test_slow_and_oversized(c)
        test_connection_limit(c)
    finally:
        rc = server.term()
        c.judge("SIGTERM stops the server with its metrics endpoint", [] if rc == 0 else [f"exit {rc}"])
    print(f"{c.count} checks, {len(c.failures)} failures")
    if not c.failures:
        shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(1 if c.failures else 0)


if __name__ == "__main__":
    main()
