#!/usr/bin/python3
"""End to end: `mxsec serve` relays mail under DANE (RFC 7672) and MTA-STS
(RFC 8461) to real Postfix peers, scenario by scenario.

    swaks --> mxsec serve (127.0.71.1:2525) --> Postfix MX peers (127.0.25.N:25)
                                             \\-> STARTTLS-stripping proxy (127.0.26.N:25) --> Postfix

The transport test bed (tests/testbed/transport.py) provides the signed test
zone (Knot), the MTA-STS policy servers (nginx), the Postfix peers with one
Maildir per scenario and the proxy. For every scenario of its table
(DIR/scenarios.json, "expect") one message goes to the scenario's recipient;
then `mxsec queue flush`, and once every message has settled the test checks:

  (a) the peer's Maildir: the message exactly once (delivered) or not at all,
      and its Received field says TLS yes/no as the expected label implies;
  (b) `mxsec queue list --json`: gone (delivered, bounced) or still pending
      after at least one attempt (deferred); a bounce reaches the sender
      (a local Maildir here) as a DSN with the RFC's status code;
  (c) the log line of the attempt: status=sent/deferred/bounced, and for a
      delivery its `tls=` label (dane-ee, dane-ta, mta-sts,
      opportunistic, none);
  (d) the TLS-RPT events of the message (RFC 8460 result type), read from
      mxsec's event store (<spool>/reports/tlsrpt.sqlite);
  (e) for the strip-* scenarios, the proxy's log: no MAIL FROM and no message
      text crossed in clear where DANE or MTA-STS forbid it, and the one
      opportunistic message did cross in clear (that is the attack).

sts-cached runs twice: once to fill the policy cache, then after the policy
is withdrawn (404, new TXT id) a second message must still go under the
cached policy (RFC 8461 §3.3). dane-requiretls is sent with smtplib, because
swaks 20201014 cannot add MAIL FROM parameters: MAIL FROM:<...> REQUIRETLS
over STARTTLS (mxsec offers REQUIRETLS only under TLS, RFC 8689 §4.1).

Exit 77 (SKIP) while `mxsec serve` cannot relay: detected by `mxsec config
check` refusing an `[outbound]` table (outbound delivery is being built).
MXSEC_DELIVERY_E2E_FORCE=1 in the environment runs it anyway, without that
table (every relayed message then waits with "no delivery agent yet": a way
to exercise the harness itself, which then fails).
Needs root (ports 25 and 443), swaks, and the packages of the transport bed.

Usage: delivery_e2e.py --mxsec PATH [--keep]
"""

import json
import os
import re
import shutil
import smtplib
import sqlite3
import ssl
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "testbed"))
import transport  # noqa: E402
from e2e_common import Checker, main  # noqa: E402
from serve_e2e import Server, wait_for, write_config  # noqa: E402

SKIP = 77
LISTEN, PORT = "127.0.71.1", 2525
SENDER_DOMAIN = "sender.test"          # local to mxsec: bounces land in a Maildir
SENDER = f"tester@{SENDER_DOMAIN}"
SETTLE_TIMEOUT = 120                    # seconds for every message to settle
STS_FETCH_TIMEOUT = 4.0                 # the slow policy server drips 8 bytes/s
# RFC 3463 status codes a bounce must carry: RFC 7505 §4.2 ("X.1.10
# Recipient address has null MX") and RFC 8689 §6 ("X.7.30 REQUIRETLS
# support required").
DSN_STATUS = {"nullmx": "5.1.10", "dane-requiretls": "5.7.30"}


def relay_supported(mxsec, tmp):
    """(True, "") when `mxsec config check` accepts an [outbound] table."""
    path = os.path.join(tmp, "outbound-probe.toml")
    with open(path, "w") as f:
        f.write("[outbound]\n")
    c = Checker(mxsec, {}, tmp)
    rc, out, err = c.run(["config", "check", "--config", path])
    return rc == 0, (err or out).strip()


def relay_config(tmp, tb, cert, key, outbound=True):
    """mxsec.toml: listener on LISTEN:PORT, relay for 127.0.0.0/8, DNS from
    the bed, the bed's test root as an extra WebPKI root ([tls] ca_file,
    docs/configuration.md: "Extra trusted roots (PEM) for WebPKI checks
    (MTA-STS)"), a policy cache in the spool, and the sender's domain
    delivered locally. OUTBOUND False leaves out the [outbound] table
    (MXSEC_DELIVERY_E2E_FORCE: exercise this harness before mxsec relays)."""
    env = tb.env
    extra = f"""
[dns]
forwarders = ["{env['MXSEC_TB_RESOLVER']}"]
trust_anchors = ["{env['MXSEC_TB_TRUST_ANCHOR']}"]
private_zones = ["test"]
timeout = 5.0

[tls]
certificate = "{cert}"
key = "{key}"
ca_file = "{env['MXSEC_TB_CA_FILE']}"

[mta_sts]
cache_file = "{tmp}/spool/mta-sts.sqlite"
fetch_timeout = {STS_FETCH_TIMEOUT}

[queue]
delay_warning = ""
min_backoff = "1h"
max_backoff = "2h"

"""
    if outbound:
        extra += """
# Outbound delivery (DANE, MTA-STS, REQUIRETLS). The test root for WebPKI
# comes from [tls] ca_file above.
[outbound]
"""
    return write_config(tmp, PORT, server=LISTEN, relay="127.0.0.0/8",
                        domains=[(SENDER_DOMAIN, f"maildir:{tmp}/maildir/%d/%u")], extra=extra)


def tlsrpt_results(spool, qid):
    """The RFC 8460 result types ("success" or a failure type) of the TLS-RPT
    events mxsec recorded for the message `qid`, oldest first, read from its
    event store (reporting/tlsrpt_store.hpp: table `event`, result '' for a
    success) with Python's sqlite3, read-only."""
    path = os.path.join(spool, "reports", "tlsrpt.sqlite")
    if not os.path.exists(path):
        return []
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        rows = db.execute("SELECT result FROM event WHERE queue_id = ? ORDER BY id", (qid,)).fetchall()
    finally:
        db.close()
    return [r[0] or "success" for r in rows]


def sender_dsns(tmp):
    d = os.path.join(tmp, "maildir", SENDER_DOMAIN, SENDER.split("@")[0], "new")
    if not os.path.isdir(d):
        return []
    out = []
    for n in sorted(os.listdir(d)):
        with open(os.path.join(d, n), "rb") as f:
            out.append(f.read().decode(errors="replace"))
    return out


def send_swaks(sc):
    rc, out, subject = transport.swaks(f"{LISTEN}:{PORT}", sc["recipient"], sc["name"], sender=SENDER)
    m = re.search(r"queued as ([0-9A-Z]{16})", out)
    return (m.group(1) if rc == 0 and m else None), subject, out


def send_requiretls(sc):
    """MAIL FROM:<...> REQUIRETLS after STARTTLS (RFC 8689 §4.1)."""
    subject = f"mxsec test bed {sc['name']} {os.urandom(4).hex()}"
    text = (f"From: {SENDER}\r\nTo: {sc['recipient']}\r\nSubject: {subject}\r\n"
            f"X-Mxsec-Scenario: {sc['name']}\r\n\r\ntest message sent with REQUIRETLS\r\n").encode()
    try:
        with smtplib.SMTP(LISTEN, PORT, local_hostname="client.test", timeout=30) as s:
            s.starttls(context=ssl._create_unverified_context())  # a local hop; the peer is what is tested
            s.ehlo("client.test")
            if not s.has_extn("requiretls"):
                return None, subject, "REQUIRETLS not offered by mxsec after STARTTLS"
            s.mail(SENDER, ["REQUIRETLS"])
            code, reply = s.rcpt(sc["recipient"])
            if code != 250:
                return None, subject, f"RCPT {code} {reply!r}"
            code, reply = s.data(text)
    except (OSError, smtplib.SMTPException) as e:
        return None, subject, str(e)
    m = re.search(rb"queued as ([0-9A-Z]{16})", reply)
    return (m.group(1).decode() if code == 250 and m else None), subject, f"{code} {reply!r}"


class Run:
    """One message per scenario, sent, flushed, settled and judged."""

    def __init__(self, c, tb, tmp, config, server_log):
        self.c, self.tb, self.tmp, self.config, self.server_log = c, tb, tmp, config, server_log
        self.rows = []

    def queue(self):
        rc, out, _ = self.c.run(["queue", "list", "--config", self.config, "--json"])
        return {m["id"]: m for m in json.loads(out)["messages"]} if rc == 0 else None

    def log_lines(self, qid, rcpt):
        pat = re.compile(rf"{qid}: to=<{re.escape(rcpt)}>,.*status=(\w+)")
        return [(ln, pat.search(ln).group(1)) for ln in self.server_log().splitlines() if pat.search(ln)]

    def settled(self, sc, sent, queue):
        qid, subject = sent
        want = sc["expect"]["outcome"]
        if want == "delivered":
            return any(m["subject"] == subject for m in self.tb.mailbox(sc["name"]))
        entry = queue.get(qid) if queue is not None else None
        if want == "deferred":
            return entry is not None and entry["recipients"][0]["attempts"] >= 1
        return entry is None or entry["recipients"][0]["state"] == "bounced"

    def send_all(self, scenarios, label):
        sent = {}
        for sc in scenarios:
            qid, subject, detail = (send_requiretls if sc["requiretls"] else send_swaks)(sc)
            if self.c.expect(f"{label}{sc['name']}: accepted by mxsec for {sc['recipient']}", qid is not None,
                             detail[-500:]):
                sent[sc["name"]] = (qid, subject)
        rc, _, err = self.c.run(["queue", "flush", "--config", self.config])
        self.c.expect(f"{label}queue flush", rc == 0, err)
        def all_settled():
            queue = self.queue()
            return all(self.settled(self.tb.scenarios[n], s, queue) for n, s in sent.items())
        wait_for(all_settled, timeout=SETTLE_TIMEOUT, step=0.5)
        time.sleep(1)   # a duplicate delivery would show up now
        return sent

    def judge(self, sc, sent, since, label=""):
        name, exp = sc["name"], sc["expect"]
        qid, subject = sent
        what = f"{label}{name}"
        queue = self.queue() or {}
        entry = queue.get(qid)
        lines = self.log_lines(qid, sc["recipient"])
        statuses = [st for _, st in lines]
        tls_seen = [m.group(1) for ln, _ in lines for m in [re.search(r"\btls=([\w-]+)", ln)] if m]
        got_msgs = [m for m in self.tb.mailbox(sc["name"]) if m["subject"] == subject]
        # What happened, from the queue and the log.
        if entry is not None and entry["recipients"][0]["state"] == "pending":
            outcome = "deferred" if entry["recipients"][0]["attempts"] >= 1 else "not tried"
        elif "sent" in statuses or (entry and entry["recipients"][0]["state"] == "delivered"):
            outcome = "delivered"
        elif "bounced" in statuses or (entry and entry["recipients"][0]["state"] == "bounced"):
            outcome = "bounced"
        else:
            outcome = "gone?"
        tls = tls_seen[-1] if tls_seen else "-"
        self.c.expect(f"{what}: {exp['outcome']}", outcome == exp["outcome"],
                      f"outcome {outcome}; queue {entry}; log {[ln for ln, _ in lines][-3:]}")
        # (a) the peer's Maildir
        n_want = 1 if exp["outcome"] == "delivered" else 0
        self.c.expect(f"{what}: {n_want} message(s) in the peer's Maildir", len(got_msgs) == n_want,
                      f"{len(got_msgs)} there")
        if got_msgs and n_want:
            want_tls = exp["tls"] != "none"
            self.c.expect(f"{what}: the peer's Received says TLS {'yes' if want_tls else 'no'}",
                          got_msgs[0]["tls"] is want_tls, got_msgs[0]["received"])
        # (b) the queue
        if exp["outcome"] == "deferred":
            r = entry["recipients"][0] if entry else {}
            self.c.expect(f"{what}: still queued, pending, with the reason", r.get("state") == "pending"
                          and r.get("attempts", 0) >= 1 and r.get("last_result"), f"{entry}")
        else:
            self.c.expect(f"{what}: left the queue", entry is None or
                          entry["recipients"][0]["state"] in ("delivered", "bounced"), f"{entry}")
        if exp["outcome"] == "bounced":
            dsns = [d for d in sender_dsns(self.tmp) if sc["recipient"] in d]
            status = DSN_STATUS.get(name, "5.")
            self.c.expect(f"{what}: the sender got a DSN with status {status}",
                          any(re.search(rf"Status:\s*{re.escape(status)}", d) for d in dsns),
                          f"{len(dsns)} DSNs for the recipient")
        # (c) the log line's tls= label
        if exp["outcome"] == "delivered":
            self.c.expect(f"{what}: log says status=sent, tls={exp['tls']}", "sent" in statuses and
                          tls == exp["tls"], f"{[ln for ln, _ in lines][-2:]}")
        else:
            self.c.expect(f"{what}: log says status={exp['outcome']}, never sent",
                          exp["outcome"] in statuses and "sent" not in statuses,
                          f"{[ln for ln, _ in lines][-2:]}")
        # (d) TLS-RPT
        results = tlsrpt_results(os.path.join(self.tmp, "spool"), qid) if qid else []
        rpt = ",".join(sorted(set(results))) or "-"
        if exp["tlsrpt_result"] is None:
            self.c.expect(f"{what}: no TLS-RPT event (no TLS session to report)", not results, rpt)
        else:
            self.c.expect(f"{what}: TLS-RPT events say {exp['tlsrpt_result']}",
                          results and all(r == exp["tlsrpt_result"] for r in results), rpt)
        # (e) the stripping proxy
        proxy = "-"
        if sc["mx"] and sc["mx"][0]["strip"]:
            conns = [x for x in self.tb.strip_log(name, since=since) if x.get("commands")]
            mail = sum(x["mail_from"] for x in conns)
            data = sum(x["data_bytes"] for x in conns)
            proxy = f"{len(conns)} conn, MAIL {mail}, DATA {data} B"
            if exp["mail_in_clear"]:
                self.c.expect(f"{what}: the proxy saw the message cross in clear (opportunistic TLS allows it)",
                              mail >= 1 and data > 0, proxy)
            else:
                self.c.expect(f"{what}: the proxy saw mxsec try, but no MAIL FROM and no text in clear",
                              conns and mail == 0 and data == 0, proxy)
        self.rows.append((what, exp["outcome"], outcome, exp["tls"], tls, exp["tlsrpt_result"] or "-",
                          rpt, f"{len(got_msgs)}", proxy))

    def table(self):
        head = ("scenario", "outcome exp", "actual", "tls exp", "actual", "tls-rpt exp", "actual", "mailbox", "proxy")
        widths = [max(len(str(r[i])) for r in [head, *self.rows]) for i in range(len(head))]
        for r in [head, *self.rows]:
            print("  ".join(str(v).ljust(w) for v, w in zip(r, widths)), flush=True)


def body(mxsec, tmp):
    outbound, why = relay_supported(mxsec, tmp)
    if not outbound and not os.environ.get("MXSEC_DELIVERY_E2E_FORCE"):
        print(f"SKIP: mxsec serve cannot relay yet (config check refuses [outbound]: {why})", flush=True)
        sys.exit(SKIP)
    if not shutil.which("swaks"):
        print("delivery_e2e: swaks not found (Debian package swaks; scripts/install-deps.sh)", flush=True)
        return False
    with transport.TransportTestbed(os.path.join(tmp, "bed")) as tb:
        c = Checker(mxsec, tb.env, tmp)
        pki = transport.Pki(os.path.join(tb.dir, "pki"))
        cert = pki.leaf("mxsec-relay", "mx.example.test", "root")
        config = relay_config(tmp, tb, cert, pki._path("mxsec-relay", "key"), outbound)
        rc, _, err = c.run(["config", "check", "--config", config])
        if not c.expect("config check accepts the relay configuration", rc == 0, err):
            return c.summary("delivery_e2e")
        server = Server(mxsec, config)
        server.start()

        def server_log():
            with open(config + ".log", errors="replace") as f:
                return f.read()
        run = Run(c, tb, tmp, config, server_log)
        try:
            since = time.time()
            scenarios = list(tb.scenarios.values())
            sent = run.send_all(scenarios, "")
            for sc in scenarios:
                if sc["name"] in sent:
                    run.judge(sc, sent[sc["name"]], since)
            # sts-cached, phase 2: policy 404 and a new id; the cached policy rules.
            tb.sts_withdraw("sts-cached")
            since = time.time()
            again = run.send_all([tb.scenarios["sts-cached"]], "after withdrawal: ")
            if "sts-cached" in again:
                run.judge(tb.scenarios["sts-cached"], again["sts-cached"], since, "after withdrawal: ")
        finally:
            rc = server.term()
            c.expect("mxsec serve stops cleanly", rc == 0, f"exit {rc}")
        run.table()
        if c.failures:
            print("mxsec log tail:\n" + server_log()[-4000:])
        return c.summary("delivery_e2e", f" ({len(tb.scenarios)} scenarios)")


if __name__ == "__main__":
    # Postfix's unprivileged daemons work below the state directory.
    sys.exit(main("mxsec-e2e-delivery-", body, dir_mode=0o755))
