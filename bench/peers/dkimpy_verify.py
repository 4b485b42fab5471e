#!/usr/bin/python3
"""bench/peers/dkimpy_verify.py WORKDIR FILE...: check signed messages with dkimpy.

run_dkim.sh has dkimpy (an independent verifier) check one message signed by
mxsec per case, so the benchmark never times a signer whose output does not
verify elsewhere. Key records come from WORKDIR (make_inputs.py) through a
stub dnsfunc. Exits 1 and names the file when one does not verify.
"""
import json
import os
import sys

import dkim

work = sys.argv[1]
meta = json.load(open(os.path.join(work, "meta.json")))
records = {}
for alg, sel in meta["selectors"].items():
    with open(os.path.join(work, f"{alg}.txt"), "rb") as f:
        records[f"{sel}._domainkey.{meta['domain']}"] = f.read().strip()


def dnsfunc(name, timeout=5):
    return records.get(name.decode().rstrip("."))


bad = [p for p in sys.argv[2:] if not dkim.verify(open(p, "rb").read(), dnsfunc=dnsfunc)]
for p in bad:
    print(f"dkimpy does not verify {p}", file=sys.stderr)
sys.exit(1 if bad else 0)
