#!/usr/bin/python3
"""SMTP AUTH to a relay host, end to end, mxsec against mxsec on loopback.

Server B (127.0.67.2) is a submission service: a `submission` listener on
port 2587 with STARTTLS and AUTH PLAIN/LOGIN against a users file written by
`mxsec passwd`, delivering example.test into Maildirs. Server A (127.0.67.1)
relays everything through `[127.0.67.2]:2587` with relayhost_username and
relayhost_password_file; server A2 (127.0.67.3) does the same with a wrong
password. It shows that:

- A's message reaches B's Maildir, received over TLS from an authenticated
  client (B's Received field says ESMTPSA, RFC 3848);
- A2's message never reaches B: it waits in A2's queue (deferred, never
  bounced) with B's 535 reply in its reason;
- neither server's log, nor A2's queue, holds a password or its base64;
- a password file its group may read is refused by `config check`, naming
  the file.

No test bed, no DNS (the relay host is an address literal), no root.

Usage: relay_auth_e2e.py --mxsec PATH [--keep]"""

import base64
import json
import os
import smtplib
import subprocess
import sys

from crash_load import Server
from e2e_common import Checker, main, wait_for

A, B, A2 = "127.0.67.1", "127.0.67.2", "127.0.67.3"
PORT_A, PORT_B = 2525, 2587
USER = "relay-user"
RIGHT = "right horse battery"
WRONG = "wrong horse battery"


def make_cert(tmp):
    """A self-signed certificate for B (test tooling, not mxsec)."""
    cert, key = os.path.join(tmp, "b.pem"), os.path.join(tmp, "b.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=relay.example.test",
                    "-addext", f"subjectAltName=IP:{B}"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return cert, key


def write(path, text, mode=0o600):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


def config_b(c, tmp):
    d = os.path.join(tmp, "b")
    os.makedirs(d)
    cert, key = make_cert(d)
    users = os.path.join(d, "users")
    rc, out, err = c.run(["passwd", "--users-file", users, USER], stdin=(RIGHT + "\n").encode())
    if rc != 0:
        raise RuntimeError(f"mxsec passwd failed: {err}")
    return write(os.path.join(d, "mxsec.toml"), f"""hostname = "relay.example.test"
spool_dir = "{d}/spool"
threads = 1

[tls]
certificate = "{cert}"
key = "{key}"

[[listener]]
address = "{B}:{PORT_B}"
kind = "submission"

[relay]
networks = []
users_file = "{users}"

[[domain]]
name = "example.test"
delivery = "maildir:{d}/maildir/%d/%u"

[inbound]
verify = false
""")


def config_a(tmp, name, address, password, mode=0o600):
    d = os.path.join(tmp, name)
    os.makedirs(d, exist_ok=True)
    pw = write(os.path.join(d, "relay-password"), password + "\n", mode)
    return write(os.path.join(d, "mxsec.toml"), f"""hostname = "{name}.example.test"
spool_dir = "{d}/spool"
threads = 1

[[listener]]
address = "{address}:{PORT_A}"
kind = "smtp"

[relay]
networks = ["127.0.0.1/32"]

[[domain]]
name = "local.test"
delivery = "maildir:{d}/maildir/%d/%u"

[inbound]
verify = false

[outbound]
relayhost = "[{B}]:{PORT_B}"
relayhost_username = "{USER}"
relayhost_password_file = "{pw}"
""")


def maildir(tmp, user):
    d = os.path.join(tmp, "b", "maildir", "example.test", user, "new")
    return [os.path.join(d, n) for n in sorted(os.listdir(d))] if os.path.isdir(d) else []


def send(address, rcpt, subject):
    s = smtplib.SMTP(address, PORT_A, source_address=("127.0.0.1", 0), timeout=30)
    s.ehlo("localhost")
    s.sendmail("alice@local.test", [rcpt], f"From: alice@local.test\r\nSubject: {subject}\r\n\r\nhello\r\n".encode())
    s.quit()


def secrets(password):
    """The password and every form of it that could leak: its base64 alone
    (AUTH LOGIN) and inside the PLAIN message."""
    b = password.encode()
    return [password, base64.b64encode(b).decode(), base64.b64encode(b"\0" + USER.encode() + b"\0" + b).decode()]


def leaks(path, password):
    text = open(path, "rb").read().decode("utf-8", "replace")
    return [s for s in secrets(password) if s in text]


def queue(c, config):
    rc, out, err = c.run(["queue", "list", "--config", config, "--json"])
    return json.loads(out)["messages"] if rc == 0 else []


def body(mxsec, tmp):
    c = Checker(mxsec, os.environ, tmp)
    b_conf = config_b(c, tmp)
    a_conf = config_a(tmp, "a", A, RIGHT)
    a2_conf = config_a(tmp, "a2", A2, WRONG)
    servers = [Server(mxsec, b_conf), Server(mxsec, a_conf), Server(mxsec, a2_conf)]
    try:
        for s in servers:
            s.start()

        send(A, "bob@example.test", "with the right password")
        got = wait_for(lambda: maildir(tmp, "bob"), timeout=60)
        problems = [] if got else ["bob@example.test never reached B's Maildir"]
        if got:
            text = open(maildir(tmp, "bob")[0], "rb").read()
            if b"with ESMTPSA" not in text:
                problems.append("B's Received field does not say ESMTPSA (TLS and AUTH)")
            if b"Subject: with the right password" not in text:
                problems.append("not the message that was sent")
        c.judge("right password: A relays through B's submission port, over TLS and AUTH", problems)

        send(A2, "carol@example.test", "with the wrong password")

        def deferred():
            msgs = queue(c, a2_conf)
            return msgs and msgs[0]["recipients"][0]["attempts"] > 0 and msgs[0]["recipients"][0]["last_result"]

        wait_for(deferred, timeout=60)
        msgs = queue(c, a2_conf)
        problems = []
        if maildir(tmp, "carol"):
            problems.append("B delivered a message relayed with the wrong password")
        if len(msgs) != 1:
            problems.append(f"A2's queue holds {len(msgs)} messages, not 1")
        else:
            r = msgs[0]["recipients"][0]
            if r["state"] != "pending":
                problems.append(f"recipient is {r['state']}, not pending (a wrong password must not bounce)")
            for want in ("auth", "535"):
                if want not in r["last_result"]:
                    problems.append(f"last_result lacks {want!r}: {r['last_result']!r}")
            problems += [f"last_result holds {s!r}" for s in secrets(WRONG) if s in json.dumps(msgs)]
        c.judge("wrong password: B receives nothing, A2 defers with B's 535 in the reason", problems)
    finally:
        for s in servers:
            s.stop()

    problems = [f"{name} log holds {leak!r}" for name, conf, pw in (("A", a_conf, RIGHT), ("A2", a2_conf, WRONG))
                for leak in leaks(conf + ".log", pw)]
    problems += [f"B log holds {leak!r}" for pw in (RIGHT, WRONG) for leak in leaks(b_conf + ".log", pw)]
    c.judge("no password, nor its base64, in any server's log", problems)

    group = config_a(tmp, "a3", A, RIGHT, mode=0o640)
    pw_file = os.path.join(tmp, "a3", "relay-password")
    rc, out, err = c.run(["config", "check", "--config", group])
    want = f"relay host password file '{pw_file}' is readable by its group or by others (mode 0640)"
    c.judge("a password file its group may read is refused, the file named",
            [] if rc != 0 and want in err and RIGHT not in err else [f"exit {rc}"], out, err)
    return c.summary("relay_auth_e2e")


if __name__ == "__main__":
    sys.exit(main("mxsec-relay-auth-e2e-", body))
