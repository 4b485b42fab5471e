#!/usr/bin/python3
"""bench/peers/dkimpy_bench.py WORKDIR [SECONDS]: dkimpy sign/verify rates, in process.

Run with Debian's interpreter (/usr/bin/python3, package python3-dkim). For
each algorithm (rsa, ed25519) and size (5k, 100k) it signs msg-SIZE.eml and
verifies signed-ALG-SIZE.eml (made by make_inputs.py) in a loop for about
SECONDS (default 1.5) each, with the key record served by a stub dnsfunc (no
DNS traffic). Every result is checked: a verify that does not pass aborts.

dkimpy's API takes the private key as bytes and parses it inside every
dkim.sign() call; there is no way to reuse a parsed key, so that cost is part
of its per-message rate (as it is for any caller of dkimpy).

Prints one JSON object: {"rsa": {"5k": {"sign": r, "verify": r}, ...}, ...}
with r in operations per CPU second of this process (time.process_time();
run it pinned to one core).
"""
import json
import os
import sys
import time

import dkim

work = sys.argv[1]
seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 1.5
meta = json.load(open(os.path.join(work, "meta.json")))
domain = meta["domain"].encode()
headers = [h.encode() for h in meta["signed_headers"]]
records = {}
for alg, sel in meta["selectors"].items():
    with open(os.path.join(work, f"{alg}.txt"), "rb") as f:
        records[f"{sel}._domainkey.{meta['domain']}."] = f.read().strip()


def dnsfunc(name, timeout=5):
    n = name.decode()
    if not n.endswith("."):
        n += "."
    return records.get(n)


keys = {"rsa": open(os.path.join(work, "rsa.pem"), "rb").read(),
        "ed25519": open(os.path.join(work, "ed25519.seed"), "rb").read().strip()}
algos = {"rsa": b"rsa-sha256", "ed25519": b"ed25519-sha256"}


def rate(fn):
    fn()  # warm-up, and the result check below
    n = 0
    start = time.process_time()
    deadline = start + seconds
    while True:
        fn()
        n += 1
        now = time.process_time()
        if now >= deadline:
            return n / (now - start)


out = {}
for alg in ("rsa", "ed25519"):
    out[alg] = {}
    sel = meta["selectors"][alg].encode()
    for size in ("5k", "100k"):
        msg = open(os.path.join(work, f"msg-{size}.eml"), "rb").read()
        signed = open(os.path.join(work, f"signed-{alg}-{size}.eml"), "rb").read()

        def sign():
            sig = dkim.sign(msg, sel, domain, keys[alg], signature_algorithm=algos[alg],
                            canonicalize=(b"relaxed", b"relaxed"), include_headers=headers)
            if not sig.startswith(b"DKIM-Signature:"):
                raise SystemExit("dkimpy: sign failed")

        def verify():
            if not dkim.verify(signed, dnsfunc=dnsfunc):
                raise SystemExit(f"dkimpy: {alg} {size} did not verify")

        out[alg][size] = {"sign": rate(sign), "verify": rate(verify)}
json.dump(out, sys.stdout)
print()
