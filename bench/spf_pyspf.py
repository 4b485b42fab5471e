#!/usr/bin/python3
"""pyspf (Debian python3-spf) on the same SPF shapes as spf_bench.cpp.

DNS is a stub (a dict lookup), as in pyspf's own test harness, so this
measures pyspf's evaluation in-process. Prints one JSON object per shape:
{"shape": ..., "checks_per_second": ..., "result": ...}.
Run with Debian's interpreter: /usr/bin/python3 bench/spf_pyspf.py [seconds]
Keep SHAPES in sync with kShapes in spf_bench.cpp.
"""
import json
import sys
import time

import spf

SHAPES = {
    "ip4": ("pass", {
        ("example.com", "TXT"): [(b"v=spf1 ip4:198.51.100.0/24 ip4:192.0.2.0/24 -all",)],
    }),
    "include": ("pass", {
        ("example.com", "TXT"): [(b"v=spf1 include:_spf.example.net -all",)],
        ("_spf.example.net", "TXT"): [(b"v=spf1 ip4:203.0.113.0/24 ip4:192.0.2.0/24 -all",)],
    }),
    "a_mx": ("pass", {
        ("example.com", "TXT"): [(b"v=spf1 a mx -all",)],
        ("example.com", "A"): ["198.51.100.1"],
        ("example.com", "MX"): [(10, "mail.example.com")],
        ("mail.example.com", "A"): ["192.0.2.55"],
    }),
    "fail_exp": ("fail", {
        ("example.com", "TXT"): [(b"v=spf1 ip4:198.51.100.0/24 -all exp=exp.example.com",)],
        ("exp.example.com", "TXT"): [(b"%{i} is not allowed to send mail for %{d}",)],
    }),
    "nested": ("pass", {
        ("example.com", "TXT"): [(b"v=spf1 ip4:198.51.100.7 include:_spf.mail.example include:spf.out.example ~all",)],
        ("_spf.mail.example", "TXT"): [(b"v=spf1 include:_nb1.mail.example include:_nb2.mail.example ~all",)],
        ("_nb1.mail.example", "TXT"): [(b"v=spf1 ip4:35.190.247.0/24 ip4:64.233.160.0/19 ip4:66.102.0.0/20 ip6:2001:4860:4000::/36 ~all",)],
        ("_nb2.mail.example", "TXT"): [(b"v=spf1 ip4:108.177.8.0/21 ip4:172.217.0.0/19 ip6:2404:6800:4000::/36 ~all",)],
        ("spf.out.example", "TXT"): [(b"v=spf1 ip4:40.92.0.0/15 ip4:192.0.2.0/24 ip6:2a01:111:f400::/48 -all",)],
    }),
}

ZONE = {}


def stub_lookup(name, qtype, strict=True, timeout=None):
    return [((name, qtype), v) for v in ZONE.get((name.lower(), qtype), [])]


spf.DNSLookup = stub_lookup


def run(shape, seconds):
    expect, zone = SHAPES[shape]
    ZONE.clear()
    ZONE.update(zone)
    n = 0
    res = None
    start = time.perf_counter()
    cpu0 = time.process_time()
    while True:
        for _ in range(200):
            q = spf.query(i="192.0.2.55", s="user@example.com", h="mail.example.com", receiver="mx.example.net")
            res = q.check()
        n += 200
        if time.perf_counter() - start >= seconds:
            break
    cpu = time.process_time() - cpu0
    if res[0] != expect:
        raise SystemExit("%s: pyspf said %s, expected %s" % (shape, res, expect))
    return {"shape": shape, "checks_per_second": n / cpu, "result": res[0], "iterations": n}


if __name__ == "__main__":
    secs = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
    for s in SHAPES:
        print(json.dumps(run(s, secs)), flush=True)
