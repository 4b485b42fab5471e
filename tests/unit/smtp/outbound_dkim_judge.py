#!/usr/bin/python3
"""An independent judge of the DKIM signatures mxsec makes on outbound mail:
dkimpy (Debian python3-dkim, not mxsec's verifier) verifies every signature
of the messages outbound_dkim_samples delivered through the server path.

  dual.eml       exactly two signatures, d=example.com, one rsa-sha256 and
                 one ed25519-sha256, both valid
  subdomain.eml  one or more signatures, d=example.com (the parent of the
                 From domain lists.example.com), all valid
  and in both, Authentication-Results and Received are not in h=.

  outbound_dkim_judge.py --samples BIN --workdir DIR
Prints one line per check and "N passed, M failed"; exits 1 on a failure.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys

import dkim  # python3-dkim


def signatures(message):
    """The DKIM-Signature fields of a message, as tag dicts, in order."""
    header = message.split(b"\r\n\r\n", 1)[0]
    fields = re.split(rb"\r\n(?![ \t])", header)
    out = []
    for f in fields:
        if f.lower().startswith(b"dkim-signature:"):
            value = re.sub(rb"\s+", b"", f.split(b":", 1)[1])
            out.append(dict(t.split(b"=", 1) for t in value.split(b";") if b"=" in t))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", required=True)
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    shutil.rmtree(a.workdir, ignore_errors=True)
    os.makedirs(a.workdir)
    subprocess.run([a.samples, a.workdir], check=True)

    records = {}
    with open(os.path.join(a.workdir, "keys.txt"), "rb") as f:
        for line in f:
            name, record = line.rstrip(b"\n").split(b"\t", 1)
            records[name + b"."] = record

    def dnsfunc(name, timeout=5):
        return records.get(name if name.endswith(b".") else name + b".")

    passed = failed = 0

    def check(ok, what):
        nonlocal passed, failed
        print(("ok   " if ok else "FAIL ") + what)
        if ok:
            passed += 1
        else:
            failed += 1

    for sample, want in (("dual.eml", [b"rsa-sha256", b"ed25519-sha256"]), ("subdomain.eml", None)):
        with open(os.path.join(a.workdir, sample), "rb") as f:
            message = f.read()
        sigs = signatures(message)
        algorithms = [s.get(b"a") for s in sigs]
        if want is not None:
            check(sorted(algorithms) == sorted(want), f"{sample}: algorithms {algorithms}")
        else:
            check(len(sigs) >= 1, f"{sample}: {len(sigs)} signature(s)")
        d = dkim.DKIM(message)
        for i, s in enumerate(sigs):
            try:
                ok = d.verify(idx=i, dnsfunc=dnsfunc)
            except dkim.DKIMException as e:  # dkimpy raises for some failures (body hash mismatch)
                print(f"     dkimpy: {e}")
                ok = False
            check(ok, f"{sample}: signature {i} ({s.get(b'a')}, s={s.get(b's')}) verifies in dkimpy")
            check(s.get(b"d") == b"example.com", f"{sample}: signature {i} d={s.get(b'd')}")
            signed = [h.strip().lower() for h in s.get(b"h", b"").split(b":")]
            check(b"authentication-results" not in signed and b"received" not in signed,
                  f"{sample}: signature {i} h= leaves out Authentication-Results and Received")
            check(b"from" in signed, f"{sample}: signature {i} h= signs From")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
