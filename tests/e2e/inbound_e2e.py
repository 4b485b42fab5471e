#!/usr/bin/python3
"""Inbound from a real Postfix: Postfix relays mail to `mxsec serve`, which
checks SPF, DKIM and DMARC against the private DNSSEC-signed test zone
(tests/testbed), enforces DMARC p=reject at the end of the data, and removes
forged Authentication-Results that claim its authserv-id.

Messages are DKIM-signed with dkimpy (an independent signer) with the test
bed's keys (RSA `sel` and Ed25519 `ed`, published in secure.test, insecure.test
and bogus.test). Addresses: Postfix listens and sends from 127.0.66.1
(SPF for mail.secure.test allows exactly that address), mxsec listens on
127.0.66.2:2525 with an empty relay network, so Postfix is a stranger to it.
Needs root (Postfix), knot, ldnsutils, postfix and python3-dkim."""

import email
import email.policy
import os
import smtplib
import sys
import time

import dkim  # python3-dkim (dkimpy)

import e2e_common
from e2e_common import Checker

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "testbed"))
import testbed  # noqa: E402
from postfix_peer import PostfixPeer  # noqa: E402

POSTFIX = "127.0.66.1"
MXSEC = "127.0.66.2"
AUTHSERV = "mx.example.test"
METRICS = "127.0.66.3:9100"

EXTRA_SECURE = f"""mail TXT "v=spf1 ip4:{POSTFIX} -all"
"""


def mxsec_config(tmp, env):
    path = os.path.join(tmp, "mxsec.toml")
    with open(path, "w") as f:
        f.write(f"""hostname = "{AUTHSERV}"
spool_dir = "{tmp}/spool"
threads = 2

[dns]
forwarders = ["{env['MXSEC_TB_RESOLVER']}"]
trust_anchors = ["{env['MXSEC_TB_TRUST_ANCHOR']}"]
private_zones = ["test"]

[[listener]]
address = "{MXSEC}:2525"
kind = "smtp"

[relay]
networks = []

[[domain]]
name = "example.test"
delivery = "maildir:{tmp}/maildir/%d/%u"

[inbound]
verify = true
dmarc_reject = "reject"

[metrics]
address = "{METRICS}"
""")
    return path


def ed25519_seed(pem_path):
    """dkimpy takes an Ed25519 key as the base64 of its 32-octet seed."""
    import base64
    der = base64.b64decode("".join(l for l in open(pem_path).read().splitlines() if not l.startswith("-----")))
    return base64.b64encode(der[16:])


def message(token, from_domain, extra_headers=b""):
    return extra_headers + (
        f"From: Alice <alice@{from_domain}>\r\nTo: bob@example.test\r\n"
        f"Subject: inbound {token}\r\nMessage-ID: <{token}@{from_domain}>\r\n"
        f"Date: Thu, 03 Dec 2026 12:00:00 +0000\r\n\r\nHello from {token}.\r\n").encode()


def sign(msg, domain, env):
    """RSA (sel) and Ed25519 (ed) signatures by dkimpy, as a sending MTA would add."""
    rsa = open(env["MXSEC_TB_DKIM_SEL_KEY"], "rb").read()
    headers = [b"from", b"to", b"subject", b"message-id", b"date"]
    sig = dkim.sign(msg, b"sel", domain.encode(), rsa, include_headers=headers)
    msg = sig + msg
    sig = dkim.sign(msg, b"ed", domain.encode(), ed25519_seed(env["MXSEC_TB_DKIM_ED_KEY"]),
                    signature_algorithm=b"ed25519-sha256", include_headers=headers)
    return sig + msg


def delivered(tmp, token):
    d = os.path.join(tmp, "maildir", "example.test", "bob", "new")
    if not os.path.isdir(d):
        return None
    for name in os.listdir(d):
        data = open(os.path.join(d, name), "rb").read()
        if f"inbound {token}".encode() in data:
            return data
    return None


def wait_for(pred, timeout=60):
    end = time.time() + timeout
    while time.time() < end:
        got = pred()
        if got:
            return got
        time.sleep(0.1)
    return pred()


def our_results(data):
    """The Authentication-Results fields that carry our authserv-id, unfolded."""
    msg = email.message_from_bytes(data, policy=email.policy.compat32)
    out = []
    for v in msg.get_all("Authentication-Results") or []:
        text = " ".join(v.split())
        if text.lower().startswith(AUTHSERV + ";"):
            out.append(text)
    return out


def submit(env_from, msg):
    """To Postfix, which relays to mxsec (relayhost)."""
    s = smtplib.SMTP(POSTFIX, 25, timeout=30)
    s.ehlo("client.secure.test")
    s.sendmail(env_from, ["bob@example.test"], msg)
    s.quit()


def check_pass(c, tmp, env):
    forged = (f"Authentication-Results: {AUTHSERV}; dkim=pass header.d=paypal.test\r\n"
              f"Authentication-Results: {AUTHSERV.upper()} (forged); dmarc=pass header.from=paypal.test\r\n"
              f"Authentication-Results: other.example; spf=pass smtp.mailfrom=x@other.example\r\n").encode()
    submit("bounce@mail.secure.test", sign(message("pass", "secure.test", forged), "secure.test", env))
    data = wait_for(lambda: delivered(tmp, "pass"))
    problems = []
    if not data:
        c.judge("signed mail through Postfix: SPF, DKIM (RSA + Ed25519) and DMARC pass", ["not delivered"])
        return
    results = our_results(data)
    if len(results) != 1:
        problems.append(f"{len(results)} Authentication-Results with our authserv-id: {results}")
    text = results[0] if results else ""
    for want in ("spf=pass", "smtp.mailfrom=bounce@mail.secure.test", "dkim=pass", "header.d=secure.test",
                 "header.s=ed", "header.s=sel", "dmarc=pass", "header.from=secure.test"):
        if want not in text:
            problems.append(f"missing {want!r} in {text!r}")
    if b"paypal.test" in data:
        problems.append("a forged Authentication-Results claiming our authserv-id survived")
    if b"Authentication-Results: other.example; spf=pass" not in data:
        problems.append("another ADMD's Authentication-Results was removed")
    if f"by {POSTFIX}".encode() not in data and b"relay.secure.test" not in data:
        problems.append("no Received field naming the Postfix relay")
    c.judge("signed mail through Postfix: SPF, DKIM (RSA + Ed25519) and DMARC pass; forged AR removed", problems)


def check_reject(c, tmp, pf):
    """A forged From: secure.test with no signature and a sender outside SPF:
    DMARC fails and secure.test says p=reject: 550 5.7.1 after the data,
    Postfix bounces it, nothing is delivered."""
    submit("spoof@insecure.test", message("reject", "secure.test"))
    log = wait_for(lambda: "inbound" if "status=bounced" in pf.log() else None, timeout=60)
    problems = []
    lines = [l for l in pf.log().splitlines() if "status=bounced" in l]
    if not log or not any("5.7.1" in l and "DMARC" in l for l in lines):
        problems.append(f"Postfix did not get 550 5.7.1 for DMARC: {lines[-3:]}")
    if delivered(tmp, "reject"):
        problems.append("the spoofed message was delivered")
    c.judge("DMARC p=reject enforced: 550 5.7.1 to Postfix, nothing delivered", problems)


def check_bogus(c, tmp, env):
    """A sender whose DNS is DNSSEC-bogus: every method temperror, never pass."""
    submit("bounce@bogus.test", sign(message("bogus", "bogus.test"), "bogus.test", env))
    data = wait_for(lambda: delivered(tmp, "bogus"))
    problems = []
    if not data:
        problems.append("not delivered (temperror is not a reason to refuse here)")
    else:
        text = " ".join(our_results(data))
        for want in ("spf=temperror", "dkim=temperror", "dmarc=temperror"):
            if want not in text:
                problems.append(f"missing {want!r} in {text!r}")
        if "=pass" in text:
            problems.append(f"a pass from bogus DNS: {text!r}")
    c.judge("bogus DNS for the sender: SPF, DKIM and DMARC temperror, never pass", problems)


def check_reports(c, tmp):
    path = os.path.join(tmp, "spool", "reports", "dmarc.jsonl")
    text = open(path).read() if os.path.exists(path) else ""
    problems = []
    for want in ('"reject"', "secure.test"):
        if want not in text:
            problems.append(f"{want} not recorded in {path}")
    c.judge("each verdict recorded for DMARC aggregate reports", problems)


def check_metrics(c):
    """The verification counters of /metrics, read by the Prometheus
    client's parser, against what the three messages above must give."""
    from prometheus_client.parser import text_string_to_metric_families
    import urllib.request
    text = urllib.request.urlopen(f"http://{METRICS}/metrics", timeout=10).read().decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value

    def value(name, **labels):
        return samples.get((name, tuple(sorted(labels.items()))), 0)

    problems = []
    want = {("mxsec_messages_accepted_total", ()): 2,
            ("mxsec_messages_rejected_total", (("reason", "dmarc"),)): 1,
            ("mxsec_auth_results_total", (("method", "dmarc"), ("result", "pass"))): 1,
            ("mxsec_auth_results_total", (("method", "dmarc"), ("result", "fail"))): 1,
            ("mxsec_auth_results_total", (("method", "dmarc"), ("result", "temperror"))): 1,
            ("mxsec_auth_results_total", (("method", "spf"), ("result", "temperror"))): 1}
    for (name, labels), n in want.items():
        got = value(name, **dict(labels))
        if got != n:
            problems.append(f"{name}{dict(labels)} = {got}, want {n}")
    if value("mxsec_auth_results_total", method="dkim", result="pass") < 1:
        problems.append("no dkim=pass counted")
    if value("mxsec_dns_query_failures_total", reason="bogus") < 1:
        problems.append("no bogus DNS answer counted")
    if sum(v for (name, _), v in samples.items() if name == "mxsec_dns_queries_total") < 1:
        problems.append("no DNS query counted")
    c.judge("/metrics counts the verdicts and DNS answers of these messages", problems)


def run(mxsec, tmp):
    import subprocess
    extra = os.path.join(tmp, "extra-secure.zone")
    with open(extra, "w") as f:
        f.write(EXTRA_SECURE)
    with testbed.Testbed(os.path.join(tmp, "testbed"), extra={"secure.test.": extra}) as tb:
        c = Checker(mxsec, tb.env, tmp)
        config = mxsec_config(tmp, tb.env)
        log = open(config + ".log", "wb")
        server = subprocess.Popen([mxsec, "serve", "--config", config], stdout=subprocess.PIPE, stderr=log)
        pf = None
        try:
            if "listening" not in server.stdout.readline().decode():
                raise RuntimeError("mxsec serve did not start: " + open(config + ".log").read()[-2000:])
            pf = PostfixPeer(os.path.join(tmp, "postfix"), [f"{POSTFIX}:25"], hostname="relay.secure.test", main={
                "relayhost": f"[{MXSEC}]:2525", "smtp_bind_address": POSTFIX,
            }).start()
            check_pass(c, tmp, tb.env)
            check_reject(c, tmp, pf)
            check_bogus(c, tmp, tb.env)
            check_reports(c, tmp)
            check_metrics(c)
        finally:
            if pf:
                pf.stop()
            server.terminate()
            server.wait(timeout=30)
        if c.failures:
            print("mxsec log tail:\n" + open(config + ".log").read()[-3000:])
            if pf:
                print("postfix log tail:\n" + pf.log()[-3000:])
        return e2e_common.with_log_tail(tb, lambda: c.summary("inbound_e2e"))


if __name__ == "__main__":
    sys.exit(e2e_common.main("mxsec-e2e-inbound-", run, dir_mode=0o755))
