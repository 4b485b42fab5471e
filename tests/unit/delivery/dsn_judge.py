#!/usr/bin/python3
"""An independent judge of mxsec's DSNs: Python's email package (not the
project's own parser) reads the samples that dsn_samples writes and checks
the structure RFC 3464 / RFC 6522 / RFC 6533 give them:

  multipart/report; report-type=delivery-status with a text/plain part, a
  message/delivery-status (or message/global-delivery-status) part whose
  field groups carry every field, and the returned message as
  message/rfc822, text/rfc822-headers or message/global; no MIME defects;
  CRLF lines of at most 998 octets; and in the hostile sample, no field or
  part injected by a server's reply.

  dsn_judge.py --samples BIN --workdir DIR
Prints one line per check and "N passed, M failed"; exits 1 on a failure.
"""
import argparse
import email
import email.utils
import os
import shutil
import subprocess
import sys

HOST = "mx.example.test"


def text(value):
    """A raw header value as text: its octets (kept as surrogates by the
    bytes parser) decoded as UTF-8, folding white space collapsed."""
    if value is None:
        return None
    raw = value.encode("ascii", "surrogateescape").decode("utf-8", "replace")
    return " ".join(raw.split())


def fields(msg):
    """name (lower case) -> value, from the raw header of `msg` (RFC 6532
    UTF-8 kept; compat32's Header objects would garble it)."""
    return {k.lower(): text(v) for k, v in msg.raw_items()}


def header(msg, name):
    return fields(msg).get(name.lower())


def status_groups(part):
    """The field groups of a (global-)delivery-status part, as dicts."""
    if part.get_content_type() == "message/delivery-status":
        return [fields(block) for block in part.get_payload()]
    # message/global-delivery-status is parsed as one nested message: its
    # header is the first group, its body holds the others.
    nested = part.get_payload()[0]
    groups = [fields(nested)]
    raw = nested.get_payload(decode=True)  # the octets as received (no transfer encoding here)
    if isinstance(raw, bytes):
        for block in raw.replace(b"\r\n", b"\n").split(b"\n\n"):
            if block.strip():
                groups.append(fields(email.message_from_bytes(block + b"\n")))
    return groups


def dated(value):
    try:
        return email.utils.parsedate_to_datetime(value) is not None
    except (TypeError, ValueError):
        return False


class Judge:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print(f"ok   {name}")
        else:
            self.failed += 1
            print(f"FAIL {name} {detail}")


def common(j, name, data, msg, returned_type, status_type="message/delivery-status"):
    lines = data.split(b"\r\n")
    j.check(f"{name}: CRLF only, lines <= 998", data.endswith(b"\r\n") and b"\n" not in data.replace(b"\r\n", b"")
            and b"\r" not in data.replace(b"\r\n", b"") and max(len(l) for l in lines) <= 998)
    j.check(f"{name}: multipart/report; report-type=delivery-status",
            msg.get_content_type() == "multipart/report" and msg.get_param("report-type") == "delivery-status")
    defects = [d for p in msg.walk() for d in p.defects]
    j.check(f"{name}: no MIME defects", not defects, repr(defects))
    j.check(f"{name}: From MAILER-DAEMON", msg.get_all("From") == [f"Mail Delivery System <MAILER-DAEMON@{HOST}>"],
            repr(msg.get_all("From")))
    j.check(f"{name}: Auto-Submitted: auto-replied", msg["Auto-Submitted"] == "auto-replied")
    j.check(f"{name}: Date parses", dated(msg["Date"]))
    j.check(f"{name}: Message-ID", (msg["Message-ID"] or "").endswith(f"@{HOST}>"))
    parts = msg.get_payload()
    want = 3 if returned_type else 2
    j.check(f"{name}: {want} parts", msg.is_multipart() and len(parts) == want, str(len(parts)))
    if len(parts) < 2:
        return []
    j.check(f"{name}: part 1 text/plain", parts[0].get_content_type() == "text/plain")
    j.check(f"{name}: part 2 {status_type}", parts[1].get_content_type() == status_type,
            parts[1].get_content_type())
    if returned_type and len(parts) == 3:
        j.check(f"{name}: part 3 {returned_type}", parts[2].get_content_type() == returned_type,
                parts[2].get_content_type())
    groups = status_groups(parts[1])
    j.check(f"{name}: per-message fields", groups and groups[0].get("reporting-mta") == f"dns; {HOST}"
            and dated(groups[0].get("arrival-date")), repr(groups[:1]))
    return groups


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    shutil.rmtree(args.workdir, ignore_errors=True)
    os.makedirs(args.workdir)
    subprocess.run([args.samples, args.workdir], check=True)
    j = Judge()

    def load(name):
        with open(os.path.join(args.workdir, name + ".eml"), "rb") as f:
            data = f.read()
        return data, email.message_from_bytes(data)

    data, msg = load("failed_full")
    g = common(j, "failed_full", data, msg, "message/rfc822")
    j.check("failed_full: To is the sender", msg["To"] == "<alice@example.org>")
    j.check("failed_full: Subject", msg["Subject"] == "Undelivered Mail Returned to Sender")
    j.check("failed_full: Original-Envelope-Id", g[0].get("original-envelope-id") == "QQ314159")
    j.check("failed_full: 2 recipient groups", len(g) == 3, repr(g))
    if len(g) == 3:
        bob, carol = g[1], g[2]
        want = {"original-recipient": "rfc822;Bob@Example.Test", "final-recipient": "rfc822; bob@example.test",
                "action": "failed", "status": "5.1.1", "remote-mta": "dns; lmtp.example.test",
                "diagnostic-code": "smtp; 550 5.1.1 <bob@example.test> User unknown",
                "final-log-id": "0HOQJ7K6VC6KO1KA"}
        for k, v in want.items():
            j.check(f"failed_full: bob {k}", bob.get(k) == v, repr(bob.get(k)))
        j.check("failed_full: bob Last-Attempt-Date", dated(bob.get("last-attempt-date")))
        j.check("failed_full: carol status 4.4.7, no ORCPT field",
                carol.get("status") == "4.4.7" and "original-recipient" not in carol, repr(carol))
    returned = msg.get_payload()[2].get_payload()[0]
    j.check("failed_full: returned message parses", returned["Subject"] == "quarterly report"
            and "only a full return" in returned.get_payload())

    data, msg = load("failed_hdrs")
    common(j, "failed_hdrs", data, msg, "text/rfc822-headers")
    hdrs = msg.get_payload()[2].get_payload()
    j.check("failed_hdrs: header only", "Subject: quarterly report" in hdrs and "only a full return" not in hdrs)

    data, msg = load("delayed")
    g = common(j, "delayed", data, msg, "text/rfc822-headers")
    j.check("delayed: Subject", msg["Subject"] == "Delayed Mail (still being retried)")
    j.check("delayed: groups", len(g) == 3 and all(x.get("action") == "delayed" for x in g[1:])
            and g[1].get("status") == "4.3.0" and g[2].get("status") == "4.2.2"
            and all(dated(x.get("will-retry-until")) for x in g[1:]), repr(g))

    data, msg = load("delivered")
    g = common(j, "delivered", data, msg, "text/rfc822-headers")
    j.check("delivered: group", len(g) == 2 and g[1].get("action") == "delivered" and g[1].get("status") == "2.0.0"
            and "diagnostic-code" not in g[1], repr(g))

    data, msg = load("relayed")
    g = common(j, "relayed", data, msg, "text/rfc822-headers")
    j.check("relayed: group", len(g) == 2 and g[1].get("action") == "relayed" and g[1].get("status") == "2.0.0"
            and g[1].get("remote-mta") == "dns; mx.example.net"
            and g[1].get("diagnostic-code") == "smtp; 250 2.0.0 Ok: queued as 4711", repr(g))

    data, msg = load("utf8")
    g = common(j, "utf8", data, msg, "message/global", "message/global-delivery-status")
    j.check("utf8: To keeps UTF-8", header(msg, "To") == "<jörg@bücher.example>", repr(header(msg, "To")))
    j.check("utf8: text part is utf-8", msg.get_payload()[0].get_content_charset() == "utf-8")
    j.check("utf8: utf-8 address type", len(g) == 2 and g[1].get("final-recipient") == "utf-8; élise@example.test"
            and g[1].get("original-recipient") == "utf-8;élise@example.test", repr(g))

    data, msg = load("hostile")
    g = common(j, "hostile", data, msg, "message/rfc822")
    j.check("hostile: no injected Bcc", msg.get_all("Bcc") is None)
    j.check("hostile: one From", len(msg.get_all("From")) == 1)
    j.check("hostile: groups intact", len(g) == 2 and g[0].get("reporting-mta") == f"dns; {HOST}"
            and g[1].get("action") == "failed" and "from" not in g[1] and "content-type" not in g[1], repr(g))
    j.check("hostile: reply kept on one field",
            len(g) == 2 and (g[1].get("diagnostic-code") or "").startswith("smtp; 550 5.1.1 no From: evil@"),
            repr(g[1:]))

    print(f"{j.passed} passed, {j.failed} failed")
    sys.exit(1 if j.failed else 0)


if __name__ == "__main__":
    main()
