#!/usr/bin/python3
"""An independent judge of mxsec's 8-bit to 7-bit conversion: Python's email
package (not the project's code) reads each original message and its
conversion, which downgrade_samples writes, and checks that

  the conversion is 7-bit, with CRLF lines of at most 998 octets, and the
  lines of its quoted-printable parts at most 76;
  it has the same MIME tree (content types, in order) and no MIME defects;
  every leaf that held 8-bit octets is now quoted-printable;
  every leaf decodes to the octets of the original leaf (line ends compared
  as line ends).

  downgrade_judge.py --samples BIN --workdir DIR
Prints one line per check and "N passed, M failed"; exits 1 on a failure.
"""
import argparse
import email
import email.policy
import os
import shutil
import subprocess
import sys


class Judge:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, name, ok, detail=""):
        print(("ok     " if ok else "FAILED ") + name + ("" if ok else ": " + detail))
        if ok:
            self.passed += 1
        else:
            self.failed += 1


def leaves(msg):
    return [p for p in msg.walk() if not p.is_multipart()]


def lines_ok(data):
    if b"\n" in data.replace(b"\r\n", b""):
        return False
    return all(len(line) <= 998 for line in data.split(b"\r\n"))


def normalized(payload):
    return (payload or b"").replace(b"\r\n", b"\n")


def judge(j, name, orig_bytes, conv_bytes):
    j.check(name + ": 7-bit", all(b < 0x80 for b in conv_bytes))
    j.check(name + ": CRLF lines of at most 998 octets", lines_ok(conv_bytes))
    orig = email.message_from_bytes(orig_bytes, policy=email.policy.compat32)
    conv = email.message_from_bytes(conv_bytes, policy=email.policy.compat32)
    defects = [d for p in conv.walk() for d in p.defects]
    j.check(name + ": no MIME defects", not defects, repr(defects))
    o_types = [p.get_content_type() for p in orig.walk()]
    c_types = [p.get_content_type() for p in conv.walk()]
    # A non-MIME original reads as text/plain; the conversion says so.
    j.check(name + ": same MIME tree", o_types == c_types, "%r != %r" % (o_types, c_types))
    for i, (o, c) in enumerate(zip(leaves(orig), leaves(conv))):
        o_data = o.get_payload(decode=True)  # the octets as they were, for the 7bit/8bit/missing encodings
        c_data = c.get_payload(decode=True)
        o_cte = (o.get("Content-Transfer-Encoding") or "").strip().lower()
        eight_bit = o_cte in ("", "7bit", "8bit") and any(b >= 0x80 for b in o_data or b"")
        cte = (c.get("Content-Transfer-Encoding") or "").strip().lower()
        if eight_bit:
            j.check("%s: leaf %d is quoted-printable" % (name, i), cte == "quoted-printable", cte)
            qp_lines = c.get_payload(decode=False).encode("utf-8", "surrogateescape").split(b"\n")
            longest = max(len(line.rstrip(b"\r")) for line in qp_lines)
            j.check("%s: leaf %d lines at most 76" % (name, i), longest <= 76, str(longest))
        j.check("%s: leaf %d decodes to the original octets" % (name, i),
                normalized(o_data) == normalized(c_data), "%r != %r" % (o_data[:80], c_data[:80]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", required=True)
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    shutil.rmtree(a.workdir, ignore_errors=True)
    os.makedirs(a.workdir)
    subprocess.run([a.samples, a.workdir], check=True)
    j = Judge()
    names = sorted(f[:-5] for f in os.listdir(a.workdir) if f.endswith(".orig"))
    j.check("samples written", len(names) >= 4, str(names))
    for name in names:
        with open(os.path.join(a.workdir, name + ".orig"), "rb") as f:
            orig = f.read()
        with open(os.path.join(a.workdir, name + ".7bit"), "rb") as f:
            conv = f.read()
        judge(j, name, orig, conv)
    print("%d passed, %d failed" % (j.passed, j.failed))
    sys.exit(1 if j.failed else 0)


if __name__ == "__main__":
    main()
