#!/usr/bin/python3
"""`mxsec serve` delivering over LMTP (RFC 2033) into a real Dovecot.

Dovecot (dovecot-core + dovecot-lmtpd) runs as its own instance, in the
foreground, from a configuration under the temporary directory: LMTP on
127.0.64.1:2424, users from a passwd-file (alice, bob, carol), so an unknown
user is refused at RCPT with 550 5.1.1. mxsec listens on 127.0.64.2:2525 with
"lmtp.test" delivered to Dovecot and "down.test" to 127.0.64.1:2425, where
nothing listens (its recipients stay queued, which keeps a message in the
queue for `mxsec queue show`). The stranger connects from 127.0.64.9, so the
server verifies its mail and prepends Authentication-Results (names under
.test resolve locally to NXDOMAIN: no network).

Checks: a message for two users lands in both Maildirs, once each, in one
LMTP session, with our Authentication-Results and Received fields, the
forged Authentication-Results gone and dot lines intact; an unknown user
ends `bounced` with Dovecot's 550 5.1.1 while the others are delivered; a
message that needs SMTPUTF8 bounces unless Dovecot offers it; with Dovecot
stopped the recipients are deferred and stay queued, and after a restart
`mxsec queue flush` delivers them.

Exit 77 (skipped) only when the dovecot binary is missing."""

import grp
import json
import os
import pwd
import re
import shutil
import smtplib
import socket
import subprocess
import sys
import time

from e2e_common import Checker, main
from serve_e2e import Server, wait_for, write_config

DOVECOT = "127.0.64.1"
SERVER = "127.0.64.2"
STRANGER = "127.0.64.9"
LMTP_PORT = 2424
DOWN_PORT = 2425  # nothing listens here
SMTP_PORT = 2525
USERS = ("alice", "bob", "carol")
SKIP = 77


def find_dovecot():
    return shutil.which("dovecot") or next((p for p in ("/usr/sbin/dovecot",) if os.access(p, os.X_OK)), None)


def port_open(host, port):
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


class Dovecot:
    """One private Dovecot instance (never the system's: own instance_name,
    base_dir and address), run in the foreground so that we own the process."""

    def __init__(self, binary, tmp):
        self.binary = binary
        self.dir = os.path.join(tmp, "dovecot")
        self.mail = os.path.join(self.dir, "mail")
        self.log_path = os.path.join(self.dir, "dovecot.log")
        self.conf = os.path.join(self.dir, "dovecot.conf")
        self.proc = None
        os.makedirs(self.mail)
        if os.geteuid() == 0:
            uid, gid = pwd.getpwnam("nobody").pw_uid, grp.getgrnam("nogroup").gr_gid
            os.chown(self.mail, uid, gid)
            as_user = ""
        else:
            uid, gid = os.getuid(), os.getgid()
            me, group = pwd.getpwuid(uid).pw_name, grp.getgrgid(gid).gr_name
            # Not root: every Dovecot process runs as us, and anvil cannot chroot.
            as_user = (f"default_internal_user = {me}\ndefault_internal_group = {group}\n"
                       f"default_login_user = {me}\nservice anvil {{\n  chroot =\n}}\n")
        # Numeric ids: a name or an empty value makes the auth process die.
        with open(os.path.join(self.dir, "users"), "w") as f:
            for u in USERS:
                f.write(f"{u}@lmtp.test::{uid}:{gid}::{self.mail}/lmtp.test/{u}::\n")
        with open(self.conf, "w") as f:
            f.write(f"""protocols = lmtp
base_dir = {self.dir}/run
state_dir = {self.dir}/state
log_path = {self.log_path}
instance_name = mxsec-e2e-lmtp
ssl = no
listen = {DOVECOT}
{as_user}mail_location = maildir:{self.mail}/%d/%n
service lmtp {{
  inet_listener lmtp {{
    address = {DOVECOT}
    port = {LMTP_PORT}
  }}
}}
passdb {{
  driver = static
  args = nopassword=y
}}
userdb {{
  driver = passwd-file
  args = {self.dir}/users
}}
""")

    def start(self):
        pid_file = os.path.join(self.dir, "run", "master.pid")
        if os.path.exists(pid_file):
            os.unlink(pid_file)
        log = open(os.path.join(self.dir, "stderr.log"), "ab")
        self.proc = subprocess.Popen([self.binary, "-F", "-c", self.conf], stdout=subprocess.DEVNULL, stderr=log)
        if not wait_for(lambda: self.proc.poll() is not None or port_open(DOVECOT, LMTP_PORT), timeout=30, step=0.1) \
                or self.proc.poll() is not None:
            raise RuntimeError(f"dovecot did not start (rc={self.proc.poll()}):\n{self.log_tail()}")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)
        wait_for(lambda: not port_open(DOVECOT, LMTP_PORT), timeout=10, step=0.1)

    def lhlo(self):
        """Dovecot's LHLO reply, as smtplib parsed it."""
        with smtplib.LMTP(DOVECOT, LMTP_PORT, timeout=10) as s:
            s.ehlo("probe.test")
            return s.esmtp_features

    def maildir(self, user):
        d = os.path.join(self.mail, "lmtp.test", user)
        out = []
        for sub in ("new", "cur"):
            p = os.path.join(d, sub)
            if os.path.isdir(p):
                out += [os.path.join(p, n) for n in sorted(os.listdir(p))]
        return out

    def connects(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().count(b": Connect from ")
        except OSError:
            return 0

    def log_tail(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-3000:].decode(errors="replace")
        except OSError:
            return "(no log)"


def read(path):
    with open(path, "rb") as f:
        return f.read()


def submit(rcpts, message, mail_options=()):
    """Sends from the stranger's address; returns the queue ID from the 250."""
    s = smtplib.SMTP(SERVER, SMTP_PORT, source_address=(STRANGER, 0), timeout=30)
    s.ehlo("client.test")
    s.mail("alice@sender.test", list(mail_options))
    for r in rcpts:
        code, text = s.rcpt(r)
        if code != 250:
            raise RuntimeError(f"RCPT {r}: {code} {text!r}")
    code, text = s.data(message)
    s.quit()
    m = re.search(rb"queued as ([0-9A-Z]{16})", text)
    if code != 250 or not m:
        raise RuntimeError(f"DATA: {code} {text!r}")
    return m.group(1).decode()


def show(c, config, qid):
    rc, out, _ = c.run(["queue", "show", qid, "--config", config, "--json"])
    return json.loads(out) if rc == 0 else None


def recipients_of(c, config, qid):
    j = show(c, config, qid)
    return {r["address"]: r for r in j["recipients"]} if j else {}


def server_log(config):
    return read(config + ".log").decode(errors="replace")


def test_two_users(c, dovecot, config):
    before = {u: len(dovecot.maildir(u)) for u in USERS}
    connects = dovecot.connects()
    msg = (b"Authentication-Results: mx.example.test; dkim=pass header.d=lmtp.test\r\n"
           b"From: Alice <alice@sender.test>\r\nTo: alice@lmtp.test, bob@lmtp.test\r\n"
           b"Subject: over LMTP\r\nMessage-ID: <lmtp-e2e-1@sender.test>\r\n\r\n"
           b"first line\r\n.leading dot\r\n..two dots\r\n.\r\nlast line\r\n")
    qid = submit(["alice@lmtp.test", "bob@lmtp.test"], msg)
    problems = []
    if not wait_for(lambda: all(len(dovecot.maildir(u)) > before[u] for u in ("alice", "bob"))):
        problems.append("not delivered to both alice and bob")
    for u in ("alice", "bob"):
        files = dovecot.maildir(u)[before[u]:]
        if len(files) != 1:
            problems.append(f"{u} has {len(files)} new copies, want 1")
            continue
        text = read(files[0]).replace(b"\r\n", b"\n")
        if not re.search(rb"^Authentication-Results: mx\.example\.test;.*spf=", text, re.M):
            problems.append(f"{u}: no Authentication-Results of ours")
        if b"dkim=pass header.d=lmtp.test" in text:
            problems.append(f"{u}: the forged Authentication-Results survived")
        for want in (b"Received: from client.test", b"by mx.example.test (mxsec)", b"id " + qid.encode(),
                     b"Received: from mx.example.test", b"with LMTP", b"Return-Path: <alice@sender.test>",
                     b"\n\nfirst line\n.leading dot\n..two dots\n.\nlast line\n"):
            if want not in text:
                problems.append(f"{u}: missing {want!r}")
    if len(dovecot.maildir("carol")) != before["carol"]:
        problems.append("carol got a copy")
    if dovecot.connects() - connects != 1:
        problems.append(f"{dovecot.connects() - connects} LMTP sessions for one message, want 1")
    wait_for(lambda: show(c, config, qid) is None, timeout=10)
    if show(c, config, qid) is not None:
        problems.append("the message is still queued after both deliveries")
    log = server_log(config)
    for u in ("alice", "bob"):
        if not re.search(rf"{qid}: to=<{u}@lmtp\.test>, relay=lmtp\[{re.escape(DOVECOT)}\]:{LMTP_PORT}, "
                         rf"delay=\d+, status=sent \(250 2\.0\.0 <{u}@lmtp\.test>", log):
            problems.append(f"no Postfix-style log line 'status=sent' for {u}")
    c.judge("two users, one message: one copy each in Dovecot's Maildir, one LMTP session, "
            "our Authentication-Results and Received, forged field gone, dots intact", problems)


def test_unknown_user(c, dovecot, config):
    before = len(dovecot.maildir("alice"))
    qid = submit(["alice@lmtp.test", "nobody@lmtp.test", "carol@down.test"],
                 b"From: alice@sender.test\r\nSubject: one unknown\r\n\r\nbody\r\n")
    problems = []
    wait_for(lambda: recipients_of(c, config, qid).get("nobody@lmtp.test", {}).get("state") == "bounced")
    rs = recipients_of(c, config, qid)
    nobody, alice, carol = rs.get("nobody@lmtp.test", {}), rs.get("alice@lmtp.test", {}), rs.get("carol@down.test", {})
    if nobody.get("state") != "bounced":
        problems.append(f"nobody: {nobody}")
    if not nobody.get("last_result", "").startswith("550 5.1.1 <nobody@lmtp.test>"):
        problems.append(f"nobody's last_result {nobody.get('last_result')!r}")
    if nobody.get("last_host") != f"lmtp[{DOVECOT}]:{LMTP_PORT}":
        problems.append(f"nobody's last_host {nobody.get('last_host')!r}")
    if alice.get("state") != "delivered" or len(dovecot.maildir("alice")) != before + 1:
        problems.append(f"alice: {alice}, {len(dovecot.maildir('alice')) - before} new copies")
    if carol.get("state") != "pending" or f"connect to lmtp[{DOVECOT}]:{DOWN_PORT}" not in carol.get("last_result", ""):
        problems.append(f"carol (nothing listens): {carol}")
    if not re.search(rf"{qid}: to=<nobody@lmtp\.test>, relay=lmtp\[[0-9.]+\]:{LMTP_PORT}, delay=\d+, "
                     rf"status=bounced \(550 5\.1\.1", server_log(config)):
        problems.append("no log line 'status=bounced' for nobody")
    c.judge("a user Dovecot refuses (550 5.1.1) ends bounced, the others are delivered or wait", problems)
    c.run(["queue", "delete", qid, "--config", config])


def test_smtputf8(c, dovecot, config):
    offered = "smtputf8" in dovecot.lhlo()
    before = len(dovecot.maildir("alice"))
    qid = submit(["alice@lmtp.test", "carol@down.test"],
                 "From: alice@sender.test\r\nSubject: Grüße aus Köln\r\n\r\nbody\r\n".encode(),
                 mail_options=["SMTPUTF8", "BODY=8BITMIME"])
    problems = []
    wait_for(lambda: recipients_of(c, config, qid).get("alice@lmtp.test", {}).get("state") not in (None, "pending"))
    alice = recipients_of(c, config, qid).get("alice@lmtp.test", {})
    if offered:
        if alice.get("state") != "delivered" or len(dovecot.maildir("alice")) != before + 1:
            problems.append(f"Dovecot offers SMTPUTF8, yet alice: {alice}")
    else:
        if alice.get("state") != "bounced" or "SMTPUTF8 is required" not in alice.get("last_result", ""):
            problems.append(f"Dovecot lacks SMTPUTF8, yet alice: {alice}")
        if len(dovecot.maildir("alice")) != before:
            problems.append("a message that needs SMTPUTF8 was delivered to a server without it")
    c.judge(f"a UTF-8 header needs SMTPUTF8 (RFC 6531 §3.2); Dovecot {'offers' if offered else 'lacks'} it: "
            f"{'delivered' if offered else 'bounced, not sent'}", problems)
    c.run(["queue", "delete", qid, "--config", config])


def test_dovecot_down(c, dovecot, config):
    dovecot.stop()
    before = len(dovecot.maildir("bob"))
    msg = b"From: app@example.test\nTo: bob@lmtp.test\nSubject: while the store is down\n\nX-Token: down-1\n"
    rc, out, err = c.run(["sendmail", "--config", config, "-oi", "-f", "app@example.test", "bob@lmtp.test"], stdin=msg)
    problems = [] if rc == 0 else [f"sendmail exit {rc}: {err.strip()}"]

    def waiting():
        rc, out, _ = c.run(["queue", "list", "--config", config, "--json"])
        for m in json.loads(out)["messages"] if rc == 0 else []:
            for r in m["recipients"]:
                if r["address"] == "bob@lmtp.test" and r["attempts"] > 0:
                    return m["id"], r
        return None

    wait_for(waiting)
    found = waiting()
    if not found:
        problems.append("no deferred message for bob in the queue")
    else:
        qid, r = found
        if r["state"] != "pending" or f"connect to lmtp[{DOVECOT}]:{LMTP_PORT}" not in r["last_result"]:
            problems.append(f"bob while Dovecot is down: {r}")
        if len(dovecot.maildir("bob")) != before:
            problems.append("delivered while Dovecot was down?")
        if not re.search(rf"{qid}: to=<bob@lmtp\.test>, relay=lmtp\[[0-9.]+\]:{LMTP_PORT}, delay=\d+, status=deferred",
                         server_log(config)):
            problems.append("no log line 'status=deferred' for bob")
    c.judge("Dovecot stopped: the recipient is deferred and stays queued", problems)
    if not found:
        return
    qid = found[0]
    dovecot.start()
    problems = []
    rc, out, err = c.run(["queue", "flush", "--config", config])
    if rc != 0:
        problems.append(f"flush exit {rc}: {err.strip()}")
    if not wait_for(lambda: len(dovecot.maildir("bob")) > before):
        problems.append("not delivered after Dovecot came back and the queue was flushed")
    elif b"X-Token: down-1" not in read(dovecot.maildir("bob")[-1]):
        problems.append("bob's new message is not the deferred one")
    wait_for(lambda: show(c, config, qid) is None, timeout=10)
    if show(c, config, qid) is not None:
        problems.append("the message is still queued")
    c.judge("Dovecot started again + `mxsec queue flush`: delivered, and the message left the queue", problems)


def body(mxsec, tmp):
    binary = find_dovecot()
    if binary is None:
        print("SKIP: the dovecot binary is missing (Debian packages dovecot-core and dovecot-lmtpd)", flush=True)
        sys.exit(SKIP)
    c = Checker(mxsec, os.environ, tmp)
    dovecot = Dovecot(binary, tmp)
    config = write_config(tmp, SMTP_PORT, verify=True, server=SERVER,
                          domains=[("lmtp.test", f"lmtp:{DOVECOT}:{LMTP_PORT}"),
                                   ("down.test", f"lmtp:{DOVECOT}:{DOWN_PORT}")])
    server = Server(mxsec, config)
    dovecot.start()
    try:
        server.start()
        try:
            for t in (test_two_users, test_unknown_user, test_smtputf8, test_dovecot_down):
                t(c, dovecot, config)
        finally:
            rc = server.term()
            c.judge("mxsec serve stops cleanly", [] if rc == 0 else [f"exit {rc}"])
    finally:
        dovecot.stop()
    if c.failures:
        print("dovecot log tail:\n" + dovecot.log_tail())
        print("mxsec log tail:\n" + server_log(config)[-3000:])
    return c.summary("lmtp e2e")


if __name__ == "__main__":
    # The tree must let Dovecot's mail user (nobody) reach its Maildirs.
    sys.exit(main("mxsec-lmtp-e2e-", body, dir_mode=0o755))
