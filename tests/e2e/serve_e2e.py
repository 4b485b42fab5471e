#!/usr/bin/python3
"""`mxsec serve` end to end on loopback: submission with `mxsec sendmail`,
local Maildir delivery, forged Authentication-Results removed, the open-relay
address tricks from a stranger, SIGHUP reload, SIGTERM, bounces and success
notices (DSNs) delivered back to a local sender and read with Python's email
package, and the crash test: under load,
kill -9 at random moments, restart, and check that every message the server
acknowledged is delivered (duplicates are counted and reported).

Addresses: the server listens on 127.0.61.1; the stranger connects from
127.0.62.9 (every 127.x address is local on Linux)."""

import argparse
import email
import json
import os
import random
import signal
import smtplib
import ssl
import subprocess
import sys
import tempfile
import time

from crash_load import Load, Server, kill_and_restart, tally
from e2e_common import Checker, wait_for

SERVER = "127.0.61.1"
STRANGER = "127.0.62.9"


def write_config(tmp, port, verify=False, server=SERVER, domains=None, relay="127.0.0.1/32", extra=""):
    """mxsec.toml for a server on server:port; `domains` lists (name,
    delivery) pairs, by default example.test into Maildirs under tmp;
    `relay` is the relay network; `extra` is TOML appended at the end."""
    domains = domains or [("example.test", f"maildir:{tmp}/maildir/%d/%u")]
    domain_tables = "".join(f'\n[[domain]]\nname = "{n}"\ndelivery = "{d}"\n' for n, d in domains)
    path = os.path.join(tmp, "mxsec.toml")
    with open(path, "w") as f:
        f.write(f"""hostname = "mx.example.test"
spool_dir = "{tmp}/spool"
threads = 2

[[listener]]
address = "{server}:{port}"
kind = "smtp"

[relay]
networks = ["{relay}"]
{domain_tables}
[inbound]
verify = {"true" if verify else "false"}
""" + extra)
    return path


def write_dsn_config(tmp, port):
    """A second server whose queue gives up after the first failed attempt
    (max_lifetime = 0), with a domain whose Maildirs cannot be created (its
    path runs through a regular file), so a message to it bounces at once."""
    os.makedirs(tmp, exist_ok=True)
    with open(os.path.join(tmp, "not-a-directory"), "w") as f:
        f.write("a file where a directory should be\n")
    return write_config(tmp, port, domains=[("example.test", f"maildir:{tmp}/maildir/%d/%u"),
                                            ("broken.test", f"maildir:{tmp}/not-a-directory/%u")], extra="""
[queue]
max_lifetime = "0"
delay_warning = ""
""")


def maildir_files(tmp, user):
    d = os.path.join(tmp, "maildir", "example.test", user, "new")
    if not os.path.isdir(d):
        return []
    return [os.path.join(d, n) for n in sorted(os.listdir(d))]


def smtp(source=STRANGER, port=2525):
    return smtplib.SMTP(SERVER, port, source_address=(source, 0), timeout=30)


def test_sendmail(c, tmp, config):
    msg = b"From: app@example.test\nTo: bob@example.test\nBcc: hidden@example.test\nSubject: via sendmail\n\nhello\n.\nafter the dot\n"
    rc, out, err = c.run(["sendmail", "--config", config, "-t", "-oi", "-f", "app@example.test"], stdin=msg)
    problems = [] if rc == 0 else [f"exit {rc}"]
    if not wait_for(lambda: maildir_files(tmp, "bob") and maildir_files(tmp, "hidden")):
        problems.append("no Maildir delivery for bob and hidden")
    else:
        text = open(maildir_files(tmp, "bob")[0], "rb").read()
        for want in (b"Received: from localhost", b"\r\nhello\r\n.\r\nafter the dot\r\n", b"by mx.example.test (mxsec)"):
            if want not in text:
                problems.append(f"missing {want!r}")
        if b"Bcc:" in text:
            problems.append("Bcc: field was not removed")
    c.judge("sendmail -t -oi delivers to Maildir (dots kept, Bcc removed)", problems, out, err)
    # The classic call of cron and friends: -oi, then the recipient. -o takes
    # one value, so the recipient is not swallowed as a second -o value.
    rc, out, err = c.run(["sendmail", "--config", config, "-oi", "oscar@example.test"],
                         stdin=b"Subject: after -oi\n\nhello oscar\n")
    problems = [] if rc == 0 else [f"exit {rc}"]
    if not wait_for(lambda: maildir_files(tmp, "oscar")):
        problems.append("no Maildir delivery for oscar")
    c.judge("sendmail -oi RECIPIENT delivers to that recipient", problems, out, err)


def test_forged_auth_results(c, tmp):
    s = smtp()
    s.ehlo("client.example.org")
    s.sendmail("alice@example.org", ["carol@example.test"],
               b"Authentication-Results: mx.example.test; dkim=pass header.d=example.test\r\n"
               b"Authentication-Results: other.example; spf=pass\r\n"
               b"Authentication-Results: MX.Example.Test (forged\r\n comment); dmarc=pass\r\n"
               b"From: alice@example.org\r\nSubject: forged\r\n\r\nbody\r\n")
    s.quit()
    problems = []
    if not wait_for(lambda: maildir_files(tmp, "carol")):
        problems.append("not delivered")
    else:
        text = open(maildir_files(tmp, "carol")[0], "rb").read()
        if b"mx.example.test; dkim=pass" in text or b"dmarc=pass" in text:
            problems.append("a forged Authentication-Results claiming our authserv-id survived")
        if b"Authentication-Results: other.example; spf=pass" not in text:
            problems.append("another ADMD's Authentication-Results was removed")
    c.judge("forged Authentication-Results with our authserv-id are removed (RFC 8601 §5)", problems)


RELAY_TRICKS = [
    "victim@other.example", "VICTIM@OTHER.EXAMPLE", "@example.test:victim@other.example",
    "@example.test,@mx.example.test:victim@other.example", "victim%other.example@example.test",
    '"victim@other.example"@example.test', '"victim@other.example"', "victim@other.example.",
    "victim@[192.0.2.1]", f"victim@[{SERVER}]", "victim@[IPv6:::1]", "victim@bücher.example",
    "victim@xn--bcher-kva.example", "victim@example.test@other.example", "victim@other.example ",
    "victim@example.test.other.example", "victim@other.example\x00@example.test",
]


def test_open_relay(c, tmp):
    s = smtp()
    s.ehlo("client.example.org")
    code, _ = s.docmd("MAIL FROM:<spammer@example.org> SMTPUTF8")
    problems = [] if code == 250 else [f"MAIL got {code}"]
    for rcpt in RELAY_TRICKS:
        s.send(f"RCPT TO:<{rcpt}>\r\n".encode("utf-8"))
        code, text = s.getreply()
        if code < 500:
            problems.append(f"RCPT TO:<{rcpt}> got {code} {text!r}")
    s.docmd("RSET")
    s.quit()
    c.judge(f"open relay: {len(RELAY_TRICKS)} address tricks from a stranger are all refused", problems)


def test_queue_cli(c, tmp, config):
    """A relayed message waits in the queue (no outbound delivery agent yet):
    list, show, hold, release, flush and delete work while the server runs."""
    s = smtp(source="127.0.0.1")
    s.ehlo("localhost")
    s.sendmail("app@example.test", ["someone@other.example"], b"Subject: queued\r\n\r\nwaits\r\n")
    s.quit()
    problems = []

    def listing():
        rc, out, err = c.run(["queue", "list", "--config", config, "--json"])
        return json.loads(out)["messages"] if rc == 0 else []

    wait_for(lambda: any(m["recipients"][0]["attempts"] > 0 for m in listing()))
    msgs = listing()
    if len(msgs) != 1:
        c.judge("queue list shows the waiting message", [f"{len(msgs)} messages listed"])
        return
    mid = msgs[0]["id"]
    r = msgs[0]["recipients"][0]
    # Relayed: other.example cannot be resolved here (no network), so the
    # attempt defers with the domain's reason and the message waits.
    if r["state"] != "pending" or not r["last_result"].startswith("other.example"):
        problems.append(f"recipient state {r}")
    rc, out, err = c.run(["queue", "show", mid, "--config", config])
    if rc != 0 or "someone@other.example" not in out:
        problems.append(f"show: rc={rc} {out!r}")
    for action, held in (("hold", True), ("release", False)):
        rc, out, err = c.run(["queue", action, mid, "--config", config])
        if rc != 0 or listing()[0]["held"] != held:
            problems.append(f"{action}: rc={rc} {err!r}")
    rc, out, err = c.run(["queue", "flush", "--config", config])
    if rc != 0:
        problems.append(f"flush: rc={rc} {err!r}")
    rc, out, err = c.run(["queue", "show", "0000000000000000", "--config", config])
    if rc != 1:
        problems.append(f"show of an unknown ID exits {rc}, not 1")
    rc, out, err = c.run(["queue", "show", "../../etc/passwd", "--config", config])
    if rc != 2:
        problems.append(f"show of a path exits {rc}, not 2")
    rc, out, err = c.run(["queue", "delete", mid, "--config", config])
    if rc != 0 or listing():
        problems.append(f"delete: rc={rc} {err!r}")
    c.judge("queue list/show/hold/release/flush/delete while the server runs", problems)


def make_cert(tmp, name):
    """A self-signed certificate for the SIGHUP test (test tooling, not mxsec)."""
    cert, key = os.path.join(tmp, name + ".pem"), os.path.join(tmp, name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", key, "-out", cert, "-days", "2", "-subj", f"/CN={name}.example.test"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return cert, key


def starttls_peer(source="127.0.0.1"):
    """The certificate (DER) a new session presents after STARTTLS, or None."""
    s = smtp(source=source)
    s.ehlo("client.example.org")
    if not s.has_extn("starttls"):
        s.quit()
        return None
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    s.starttls(context=ctx)
    der = s.sock.getpeercert(binary_form=True)
    s.quit()
    return der


def pem_to_der(path):
    return ssl.PEM_cert_to_DER_cert(open(path).read())


def test_sighup(c, tmp, config, server):
    """SIGHUP reloads domains and certificates for new sessions; a session
    open across the reload finishes; a broken reload keeps what runs."""
    original = open(config).read()
    log = config + ".log"

    def hup_and_wait(marker):
        before = open(log, "rb").read().count(marker)
        server.proc.send_signal(signal.SIGHUP)
        return wait_for(lambda: open(log, "rb").read().count(marker) > before, timeout=10)

    problems = []
    open_session = smtp()
    open_session.ehlo("client.example.org")
    open_session.mail("alice@example.org")
    cert_a, key_a = make_cert(tmp, "hup-a")
    cert_b, key_b = make_cert(tmp, "hup-b")
    tls_a = f'\n[tls]\ncertificate = "{cert_a}"\nkey = "{key_a}"\n'
    other = f'\n[[domain]]\nname = "other.test"\ndelivery = "maildir:{tmp}/maildir/%d/%u"\n'
    with open(config, "w") as f:
        f.write(original.replace("\n[inbound]", other + "\n[inbound]") + tls_a)
    if not hup_and_wait(b"reload done"):
        problems.append("no 'reload done' after the first SIGHUP")
    code, text = open_session.rcpt("dave@example.test")
    if code != 250:
        problems.append(f"the open session lost its transaction: RCPT {code} {text!r}")
    else:
        open_session.data(b"Subject: across the reload\r\n\r\nbody\r\n")
    open_session.quit()
    if not wait_for(lambda: maildir_files(tmp, "dave")):
        problems.append("the message sent across the reload was not delivered")
    s = smtp()
    s.ehlo("client.example.org")
    s.mail("alice@example.org")
    code, _ = s.rcpt("erin@other.test")
    if code == 250:
        s.data(b"Subject: to the new domain\r\n\r\nbody\r\n")
    s.quit()
    erin = os.path.join(tmp, "maildir", "other.test", "erin", "new")
    if code != 250:
        problems.append(f"the new domain other.test is refused after the reload: {code}")
    elif not wait_for(lambda: os.path.isdir(erin) and os.listdir(erin)):
        problems.append("mail for the new domain other.test was accepted but not delivered (the queue runner did not reload)")
    if starttls_peer() != pem_to_der(cert_a):
        problems.append("STARTTLS does not present the certificate added by the reload")
    with open(config, "w") as f:
        f.write(original + f'\n[tls]\ncertificate = "{cert_b}"\nkey = "{key_b}"\n')
    hup_and_wait(b"reload done")
    if starttls_peer() != pem_to_der(cert_b):
        problems.append("STARTTLS does not present the renewed certificate")
    with open(config, "w") as f:
        f.write(original + f'\n[tls]\ncertificate = "{tmp}/missing.pem"\nkey = "{key_b}"\n')
    if not hup_and_wait(b"reload failed"):
        problems.append("a reload with a missing certificate was not reported as failed")
    if starttls_peer() != pem_to_der(cert_b):
        problems.append("a failed reload changed the running certificate")
    with open(config, "w") as f:
        f.write(original.replace('threads = 2', 'threads = 1'))
    hup_and_wait(b"reload done")
    if b"threads changed; it takes effect at the next restart" not in open(log, "rb").read():
        problems.append("a restart-only key changed without a warning")
    with open(config, "w") as f:
        f.write(original)
    hup_and_wait(b"reload done")
    c.judge("SIGHUP: new domains and certificates for new sessions, open session kept, bad reload refused",
            problems)


def dsn_fields(part):
    """The field groups of a message/delivery-status part (Python's parser
    gives one sub-message per group)."""
    return [{k.lower(): " ".join(str(v).split()) for k, v in g.items()} for g in part.get_payload()]


def test_dsn(c, mxsec):
    """A bounce and a success notice, each delivered as a DSN into the local
    sender's Maildir and judged by Python's email package; none for <>."""
    tmp = tempfile.mkdtemp(prefix="mxsec-dsn-e2e-")
    config = write_dsn_config(tmp, 2526)
    server = Server(mxsec, config)
    server.start()
    problems = []
    try:
        s = smtplib.SMTP(SERVER, 2526, source_address=("127.0.0.1", 0), timeout=30)
        s.ehlo("localhost")
        body = b"From: alice@example.test\r\nSubject: to a broken mailbox\r\nMessage-ID: <b1@example.test>\r\n\r\nsecret body\r\n"
        s.sendmail("alice@example.test", ["gone@broken.test"], body, mail_options=["RET=HDRS", "ENVID=e2e+2Db1"],
                   rcpt_options=["ORCPT=rfc822;Gone@broken.test"])
        s.sendmail("alice@example.test", ["bob@example.test"], b"Subject: tell me\r\n\r\nhello\r\n",
                   rcpt_options=["NOTIFY=SUCCESS"])
        s.sendmail("", ["gone@broken.test"], b"Subject: from the null sender\r\n\r\nx\r\n")
        s.quit()
        if not wait_for(lambda: len(maildir_files(tmp, "alice")) >= 2 and maildir_files(tmp, "bob")):
            problems.append(f"alice has {len(maildir_files(tmp, 'alice'))} messages, bob {len(maildir_files(tmp, 'bob'))}")
        wait_for(lambda: not os.listdir(os.path.join(tmp, "spool", "queue")), timeout=10)
        left = os.listdir(os.path.join(tmp, "spool", "queue"))
        if left:
            problems.append(f"queue not empty: {left}")
        dsns = {}
        for path in maildir_files(tmp, "alice"):
            with open(path, "rb") as f:
                msg = email.message_from_bytes(f.read())
            dsns[msg["Subject"]] = msg
        if len(maildir_files(tmp, "alice")) != 2:
            problems.append(f"alice has {len(maildir_files(tmp, 'alice'))} messages, not 2 (none for <>)")
        bounce = dsns.get("Undelivered Mail Returned to Sender")
        if bounce is None:
            problems.append(f"no bounce among {list(dsns)}")
        else:
            parts = bounce.get_payload()
            types = [p.get_content_type() for p in parts]
            if bounce.get_content_type() != "multipart/report" or bounce.get_param("report-type") != "delivery-status":
                problems.append(f"bounce is {bounce.get_content_type()}")
            if types != ["text/plain", "message/delivery-status", "text/rfc822-headers"]:
                problems.append(f"bounce parts {types}")
            else:
                groups = dsn_fields(parts[1])
                want = [("reporting-mta", "dns; mx.example.test"), ("original-envelope-id", "e2e-b1")]
                want_rcpt = [("final-recipient", "rfc822; gone@broken.test"), ("original-recipient", "rfc822;Gone@broken.test"),
                             ("action", "failed"), ("status", "4.4.7")]
                for k, v in want:
                    if groups[0].get(k) != v:
                        problems.append(f"bounce {k}: {groups[0].get(k)!r}")
                for k, v in want_rcpt:
                    if len(groups) < 2 or groups[1].get(k) != v:
                        problems.append(f"bounce {k}: {groups[1:] and groups[1].get(k)!r}")
                if "secret body" in parts[2].get_payload() or "Subject: to a broken mailbox" not in parts[2].get_payload():
                    problems.append("RET=HDRS: the returned part is not the header alone")
            if bounce["To"] != "<alice@example.test>" or bounce["Auto-Submitted"] != "auto-replied":
                problems.append(f"bounce header To={bounce['To']!r} Auto-Submitted={bounce['Auto-Submitted']!r}")
        success = dsns.get("Successful Mail Delivery Report")
        if success is None:
            problems.append(f"no success notice among {list(dsns)}")
        else:
            groups = dsn_fields(success.get_payload()[1])
            if len(groups) < 2 or groups[1].get("action") != "delivered" or groups[1].get("status") != "2.0.0":
                problems.append(f"success groups {groups}")
        with open(config + ".log", "rb") as f:
            log = f.read().decode("utf-8", "replace")
        for want in ("sender non-delivery notification: ", "sender delivery status notification: ",
                     "no sender non-delivery notification: the sender is <>"):
            if want not in log:
                problems.append(f"log lacks {want!r}")
    finally:
        server.term()
    c.judge("DSNs: a bounce (RET=HDRS, ENVID, ORCPT) and a NOTIFY=SUCCESS notice reach the local sender's "
            "Maildir as RFC 3464 reports; none for <>", problems)


def test_sigterm(c, server):
    start = time.time()
    rc = server.term()
    c.judge("SIGTERM stops the server cleanly", [] if rc == 0 else [f"exit {rc}"])
    return time.time() - start


def delivered_tokens(tmp):
    counts = {}
    for path in maildir_files(tmp, "crash"):
        with open(path, "rb") as f:
            for line in f:
                if line.startswith(b"X-Token: "):
                    tok = line[9:].strip().decode()
                    counts[tok] = counts.get(tok, 0) + 1
                    break
    return counts


def test_crash(c, mxsec, tmp, config, kills, messages):
    server = Server(mxsec, config)
    server.start()
    load = Load(SERVER, 2525, rcpt="crash@example.test")
    load.start()
    kill_and_restart(server, kills, random.Random(7))
    load.wait_acked(messages)
    load.finish()
    # Drain: everything acknowledged must reach the Maildir.
    wait_for(lambda: set(delivered_tokens(tmp)) >= load.acked, timeout=120, step=0.5)
    server.term()
    counts = delivered_tokens(tmp)
    lost, duplicates = tally(load.acked, counts)
    print(f"crash test: {kills} kill -9, {len(load.acked)} acknowledged, {len(counts)} delivered, "
          f"{len(lost)} lost, {duplicates} duplicates", flush=True)
    c.judge(f"crash: {kills} x kill -9 under load, {len(load.acked)} acknowledged messages, none lost "
            f"({duplicates} duplicates)", [f"lost {len(lost)}: {lost[:10]}"] if lost else [])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mxsec", required=True)
    ap.add_argument("--kills", type=int, default=5)
    ap.add_argument("--messages", type=int, default=2000)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="mxsec-serve-e2e-")
    c = Checker(args.mxsec, os.environ, tmp)
    config = write_config(tmp, 2525)
    server = Server(args.mxsec, config)
    server.start()
    try:
        test_sendmail(c, tmp, config)
        test_forged_auth_results(c, tmp)
        test_open_relay(c, tmp)
        test_queue_cli(c, tmp, config)
        test_sighup(c, tmp, config, server)
    finally:
        test_sigterm(c, server)
    test_dsn(c, args.mxsec)
    test_crash(c, args.mxsec, tmp, config, args.kills, args.messages)
    print(f"{c.count} checks, {len(c.failures)} failures")
    sys.exit(1 if c.failures else 0)


if __name__ == "__main__":
    main()
