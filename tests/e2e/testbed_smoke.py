#!/usr/bin/python3
"""Smoke test of the transport-security test bed (tests/testbed/transport.py).

Starts the whole bed (Knot, nginx, Postfix) in a fresh temporary directory
and proves every scenario of DIR/scenarios.json with independent tools, not
with mxsec:

  - kdig (+dnssec): MX, A, TLSA, _mta-sts TXT answers as the table says, with
    RRSIGs in the signed zones; the null MX;
  - ldns-verify-zone on the signed secure.test. zone: the TLSA signature of
    tlsa-bogus is bad, the other TLSA signatures are good;
  - the DS of bogus.test. in test. matches no DNSKEY of bogus.test. (digest
    recomputed here, RFC 4034 §5.1.4);
  - Python smtplib: STARTTLS offered or not;
  - openssl s_client -starttls smtp: DANE-EE / DANE-TA match or mismatch
    (-dane_tlsa_rrdata with the published records), and WebPKI verification
    against the test root (ok / untrusted / self-signed / expired);
  - curl --resolve: the MTA-STS policies, and each hostile server's condition
    (size, 301, text/html, untrusted certificate, timeout);
  - sts-cached: the policy fetches, then after sts_withdraw() answers 404
    while the TXT id has changed (re-signed/reloaded zone);
  - swaks straight to every Postfix listener, in clear and with STARTTLS:
    each message lands once in its scenario's Maildir, and the Received
    field says TLS yes/no (tb.mailbox); clear_mailboxes() empties them;
  - the STARTTLS-stripping proxy: EHLO without STARTTLS and with valid
    continuation markers, swaks -tls gives up, STARTTLS anyway gets 502
    5.5.1, a clear-text message crosses and is counted in the proxy log.

Exits non-zero with a list of failures; stops everything it started also on
failure and on SIGTERM/SIGINT.

Usage: testbed_smoke.py [--keep DIR]
"""

import argparse
import base64
import hashlib
import json
import os
import re
import shutil
import smtplib
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "testbed"))
import transport  # noqa: E402

SLOW_MAX_TIME = 3
S_CLIENT_TIMEOUT = 20


class Smoke:
    def __init__(self, tb):
        self.tb = tb
        self.env = tb.env
        self.failures = []
        self.passed = 0

    # -- reporting ----------------------------------------------------------
    def check(self, cond, what, detail=""):
        if cond:
            self.passed += 1
            print(f"ok   {what}", flush=True)
        else:
            self.failures.append(f"{what}: {detail}")
            print(f"FAIL {what}: {detail}", flush=True)
        return cond

    # -- tools -------------------------------------------------------------
    def kdig(self, name, rtype):
        """Answer-section records [(owner, type, rdata)] (with +dnssec)."""
        addr, port = self.env["MXSEC_TB_ADDR"], self.env["MXSEC_TB_PORT"]
        r = subprocess.run(["kdig", f"@{addr}", "-p", port, "+dnssec", "+norec", "+noall", "+answer", "+nocrypto",
                            "+timeout=2", name, rtype], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20)
        out = []
        for line in r.stdout.decode().splitlines():
            f = line.split(None, 4)
            if len(f) == 5 and f[2] == "IN":
                out.append((f[0].lower(), f[3], f[4].strip()))
        return out

    def kdig_full(self, name, rtype):
        addr, port = self.env["MXSEC_TB_ADDR"], self.env["MXSEC_TB_PORT"]
        r = subprocess.run(["kdig", f"@{addr}", "-p", port, "+dnssec", "+norec", "+noall", "+answer",
                            "+timeout=2", name, rtype], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20)
        out = []
        for line in r.stdout.decode().splitlines():
            f = line.split(None, 4)
            if len(f) == 5 and f[2] == "IN":
                out.append((f[0].lower(), f[3], f[4].strip()))
        return out

    def s_client(self, mx, extra):
        cmd = ["openssl", "s_client", "-starttls", "smtp", "-connect", f"{mx['addr']}:{mx['port']}",
               "-servername", mx["host"], "-verify_return_error", *extra]
        r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=S_CLIENT_TIMEOUT)
        return r.returncode, r.stdout.decode(errors="replace")

    def curl(self, host, addr, url, ca, extra=()):
        cmd = ["curl", "-sS", "--cacert", ca, "--resolve", f"{host}:443:{addr}", "-o", "-",
               "-w", "\n%{http_code}|%{content_type}|%{size_download}|%{redirect_url}", *extra, url]
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        body, _, meta = r.stdout.decode(errors="replace").rpartition("\n")
        code, ctype, size, redirect = (meta.split("|") + ["", "", "", ""])[:4]
        return {"rc": r.returncode, "body": body, "code": code, "ctype": ctype, "size": int(size or 0),
                "redirect": redirect, "err": r.stderr.decode(errors="replace").strip()}

    # -- checks ------------------------------------------------------------
    def rrsig_for(self, records, rtype):
        return any(t == "RRSIG" and rd.split()[0] == rtype for _, t, rd in records)

    def dns_checks(self, sc):
        name = sc["name"]
        mx_rrs = self.kdig(sc["domain"], "MX")
        mx_data = sorted(rd.lower() for _, t, rd in mx_rrs if t == "MX")
        if sc["nullmx"]:
            self.check(mx_data == ["0 ."], f"{name}: null MX published", f"MX {mx_data}")
        else:
            want = sorted(f"{m['preference']} {m['host']}." for m in sc["mx"])
            self.check(mx_data == want, f"{name}: MX {want}", f"got {mx_data}")
        if sc["dnssec"] == "secure":
            self.check(self.rrsig_for(mx_rrs, "MX"), f"{name}: MX RRset signed", str(mx_rrs))
        for mx in sc["mx"]:
            a = self.kdig(mx["host"], "A")
            self.check([rd for _, t, rd in a if t == "A"] == [mx["addr"]], f"{name}: {mx['host']} A {mx['addr']}",
                       str(a))
            if mx["host_dnssec"] in ("secure", "bogus"):
                self.check(self.rrsig_for(a, "A"), f"{name}: A RRset of {mx['host']} signed", str(a))
            tlsa = self.kdig(mx["tlsa_name"], "TLSA")
            got = sorted(" ".join(rd.split()).lower() for _, t, rd in tlsa if t == "TLSA")
            self.check(got == sorted(t.lower() for t in mx["tlsa"]), f"{name}: TLSA at {mx['tlsa_name']}",
                       f"got {got}, want {mx['tlsa']}")
            if mx["tlsa"] and mx["host_dnssec"] != "insecure":
                self.check(self.rrsig_for(tlsa, "TLSA"), f"{name}: TLSA RRset has an RRSIG", str(tlsa))
        sts = sc["mta_sts"]
        if sts:
            txt = self.kdig(sts["txt_name"], "TXT")
            texts = ["".join(re.findall(r'"((?:[^"\\]|\\.)*)"', rd)) for _, t, rd in txt if t == "TXT"]
            self.check(texts == [sts["txt"]], f"{name}: {sts['txt_name']} TXT", f"got {texts}")
            a = self.kdig(sts["host"], "A")
            self.check([rd for _, t, rd in a if t == "A"] == [sts["addr"]], f"{name}: {sts['host']} A", str(a))

    def verify_zone_checks(self, table):
        """ldns-verify-zone (an independent validator of the signed file)."""
        path = os.path.join(self.tb.dir, "zones", "secure.test.zone.signed")
        r = subprocess.run(["ldns-verify-zone", path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        out = r.stdout.decode(errors="replace")
        bad = {m.group(1).lower() for m in re.finditer(r"Bogus DNSSEC signature for (\S+)\s+TLSA", out)}
        for sc in table:
            for mx in sc["mx"]:
                if not mx["tlsa"] or not mx["host"].endswith("secure.test") or mx["host"].endswith("insecure.test"):
                    continue
                owner = mx["tlsa_name"] + "."
                if mx["tlsa_dnssec"] == "bogus":
                    self.check(owner in bad, f"{sc['name']}: ldns-verify-zone reports the TLSA RRSIG as bogus",
                               out[-500:])
                else:
                    self.check(owner not in bad, f"{sc['name']}: ldns-verify-zone accepts the TLSA RRSIG",
                               out[-500:])

    def ds_mismatch_check(self):
        """The DS for bogus.test. (in test.) matches none of its DNSKEYs."""
        ds = [rd.split() for _, t, rd in self.kdig_full("bogus.test", "DS") if t == "DS"]
        keys = [rd.split(None, 3) for _, t, rd in self.kdig_full("bogus.test", "DNSKEY") if t == "DNSKEY"]
        owner = b"\x05bogus\x04test\x00"
        digests = set()
        for flags, proto, alg, key in keys:
            rdata = int(flags).to_bytes(2, "big") + bytes([int(proto), int(alg)]) + \
                base64.b64decode("".join(key.split()))
            digests.add(hashlib.sha256(owner + rdata).hexdigest())
        published = {"".join(d[3:]).lower() for d in ds if d[2] == "2"}
        self.check(bool(ds) and bool(keys) and not (published & digests),
                   "mx-bogus: DS of bogus.test. matches no DNSKEY of bogus.test. (recomputed SHA-256 digests)",
                   f"DS {published}, DNSKEY digests {digests}")
        # Control: the same computation finds secure.test.'s key.
        ds = [rd.split() for _, t, rd in self.kdig_full("secure.test", "DS") if t == "DS"]
        keys = [rd.split(None, 3) for _, t, rd in self.kdig_full("secure.test", "DNSKEY") if t == "DNSKEY"]
        owner = b"\x06secure\x04test\x00"
        digests = {hashlib.sha256(owner + int(f).to_bytes(2, "big") + bytes([int(p), int(a)]) +
                                  base64.b64decode("".join(k.split()))).hexdigest() for f, p, a, k in keys}
        published = {"".join(d[3:]).lower() for d in ds if d[2] == "2"}
        self.check(bool(published & digests), "control: DS of secure.test. matches its KSK", f"{published}")

    def smtp_checks(self, sc):
        for mx in sc["mx"]:
            name = sc["name"]
            try:
                with smtplib.SMTP(mx["addr"], mx["port"], local_hostname="smoke.test", timeout=15) as s:
                    s.ehlo()
                    offered = s.has_extn("starttls")
                    banner_ok = True
            except (OSError, smtplib.SMTPException) as e:
                self.check(False, f"{name}: SMTP session with {mx['addr']}", str(e))
                continue
            self.check(banner_ok and offered == mx["starttls"],
                       f"{name}: STARTTLS {'offered' if mx['starttls'] else 'not offered'} by {mx['addr']}",
                       f"offered={offered}")
            if not mx["starttls"]:
                rc, out = self.s_client(mx, ["-CAfile", self.env["MXSEC_TB_CA_FILE"]])
                self.check(rc != 0 and "Didn't find STARTTLS" in out,
                           f"{name}: s_client -starttls smtp fails without STARTTLS", out[-400:])
                continue
            self.webpki_check(sc, mx)
            if mx["tlsa"]:
                self.dane_check(sc, mx)

    def webpki_check(self, sc, mx):
        rc, out = self.s_client(mx, ["-CAfile", self.env["MXSEC_TB_CA_FILE"], "-verify_hostname", mx["host"]])
        m = re.search(r"Verify return code: (\d+)", out)
        code = int(m.group(1)) if m else None
        # X509_V_OK 0, _EXPIRED 10, _DEPTH_ZERO_SELF_SIGNED 18, _UNABLE_TO_GET_ISSUER_CERT_LOCALLY 20
        want = {"ok": 0, "expired": 10, "self-signed": 18, "untrusted": 20}[mx["webpki"]]
        good = code == want and ((rc == 0) == (want == 0))
        self.check(good, f"{sc['name']}: WebPKI check of {mx['host']} is {mx['webpki']} (verify code {want})",
                   f"rc={rc} code={code}: {out[-300:]}")

    def dane_check(self, sc, mx):
        if mx["dane"] == "unusable":
            usages = {t.split()[0] for t in mx["tlsa"]}
            self.check(usages <= {"0", "1"}, f"{sc['name']}: only PKIX-TA/PKIX-EE TLSA records", str(mx["tlsa"]))
            # TLS itself works (unauthenticated): the handshake completes.
            r = subprocess.run(["openssl", "s_client", "-starttls", "smtp", "-connect", f"{mx['addr']}:{mx['port']}",
                                "-servername", mx["host"]], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=S_CLIENT_TIMEOUT)
            out = r.stdout.decode(errors="replace")
            self.check(r.returncode == 0 and re.search(r"Cipher is TLS_", out) is not None,
                       f"{sc['name']}: unauthenticated TLS handshake completes", out[-300:])
            return
        args = ["-dane_tlsa_domain", mx["host"]]
        for t in mx["tlsa"]:
            args += ["-dane_tlsa_rrdata", t]
        rc, out = self.s_client(mx, args)
        # The records' content: does it match the server's chain? For the
        # bogus cases it does -- only their DNSSEC status makes them unusable.
        should_match = mx["dane"] != "no match"
        if should_match:
            usage = mx["tlsa"][0].split()[0]
            what = {"3": "EE certificate at depth 0", "2": "TA certificate at depth 1"}[usage]
            ok = rc == 0 and "Verification: OK" in out and re.search(r"DANE TLSA .* matched " + what, out)
            self.check(bool(ok), f"{sc['name']}: s_client DANE TLSA {mx['tlsa'][0][:5]} matched {what}",
                       out[-400:])
        else:
            ok = rc != 0 and "Verify return code: 65" in out
            self.check(ok, f"{sc['name']}: s_client DANE finds no matching TLSA record (verify code 65)", out[-400:])

    def sts_checks(self, sc):
        sts = sc["mta_sts"]
        if not sts:
            return
        name, ca, wrong = sc["name"], self.env["MXSEC_TB_CA_FILE"], self.env["MXSEC_TB_WRONG_CA_FILE"]
        server = sts["server"]
        if server == "slow":
            r = self.curl(sts["host"], sts["addr"], sts["url"], ca, ["--max-time", str(SLOW_MAX_TIME)])
            self.check(r["rc"] == 28, f"{name}: curl --max-time {SLOW_MAX_TIME} times out (exit 28)", str(r)[:300])
            return
        r = self.curl(sts["host"], sts["addr"], sts["url"], ca)
        if server == "ok":
            self.check(r["rc"] == 0 and r["code"] == "200" and r["ctype"] == "text/plain" and
                       r["body"] == sts["policy"], f"{name}: policy served 200 text/plain", str(r)[:400])
            self.policy_match_check(sc, r["body"])
        elif server == "huge":
            self.check(r["rc"] == 0 and r["code"] == "200" and r["size"] > 65536 and
                       r["body"].startswith(sts["policy"]),
                       f"{name}: policy body is {r['size']} bytes (> 64 KiB), valid policy before the padding",
                       str(r)[:300])
        elif server == "redirect":
            self.check(r["rc"] == 0 and r["code"] == "301" and r["redirect"].endswith("/mta-sts-real.txt"),
                       f"{name}: 301 to {r['redirect']}", str(r)[:300])
            f = self.curl(sts["host"], sts["addr"], sts["url"], ca, ["-L"])
            self.check(f["code"] == "200" and f["body"] == sts["policy"],
                       f"{name}: the redirect target is a valid policy (so following it would be wrong)",
                       str(f)[:300])
        elif server == "html":
            self.check(r["rc"] == 0 and r["code"] == "200" and r["ctype"] == "text/html" and
                       r["body"] == sts["policy"], f"{name}: policy served as text/html", str(r)[:300])
        elif server == "badcert":
            self.check(r["rc"] == 60, f"{name}: curl rejects the mta-sts certificate (exit 60)", str(r)[:300])
            f = self.curl(sts["host"], sts["addr"], sts["url"], wrong)
            self.check(f["rc"] == 0 and f["body"] == sts["policy"],
                       f"{name}: with the wrong root trusted the same URL gives the policy", str(f)[:300])
        else:
            self.check(False, f"{name}: unknown server kind {server}")

    def policy_match_check(self, sc, body):
        """RFC 8461 §4.1 mx matching done here, to back the table's verdict."""
        fields = [line.split(":", 1) for line in body.split("\r\n") if ":" in line]
        pats = [v.strip().lower() for k, v in fields if k.strip() == "mx"]
        mode = [v.strip() for k, v in fields if k.strip() == "mode"]

        def match(host, pat):
            if pat.startswith("*."):
                return "." in host and host.split(".", 1)[1] == pat[2:]
            return host == pat
        for mx in sc["mx"]:
            m = any(match(mx["host"], p) for p in pats)
            want = sc["verdict"] != "defer"
            self.check(m == want and mode == [sc["mta_sts"]["mode"]],
                       f"{sc['name']}: policy mode {mode} and mx patterns {'match' if want else 'do not match'} "
                       f"{mx['host']}", f"patterns {pats}")

    def cached_check(self, name="sts-cached"):
        sc = self.tb.scenarios[name]
        sts = sc["mta_sts"]
        ca = self.env["MXSEC_TB_CA_FILE"]
        old_id = sts["id"]
        new_id = self.tb.sts_withdraw(name)
        txt = self.kdig(sts["txt_name"], "TXT")
        texts = ["".join(re.findall(r'"((?:[^"\\]|\\.)*)"', rd)) for _, t, rd in txt if t == "TXT"]
        self.check(new_id != old_id and texts == [f"v=STSv1; id={new_id};"],
                   f"{name}: after withdraw the TXT id is {new_id} (was {old_id})", str(texts))
        r = self.curl(sts["host"], sts["addr"], sts["url"], ca)
        self.check(r["rc"] == 0 and r["code"] == "404", f"{name}: after withdraw the policy URL answers 404",
                   str(r)[:300])
        with open(self.env["MXSEC_TB_SCENARIOS"]) as f:
            doc = json.load(f)
        cur = [s for s in doc["scenarios"] if s["name"] == name][0]["mta_sts"]
        self.check(cur["id"] == new_id and cur.get("available") is False,
                   f"{name}: scenarios.json records the new id and the withdrawal", str(cur)[:200])
        self.tb.set_sts_available(name, True)
        r = self.curl(sts["host"], sts["addr"], sts["url"], ca)
        self.check(r["code"] == "200", f"{name}: set_sts_available(True) serves the policy again", str(r)[:200])

    # -- mailboxes and the stripping proxy -------------------------------------
    def mailbox_checks(self, table):
        """swaks straight to each Postfix listener, in clear and with
        STARTTLS where offered: every message lands once in its own
        scenario's Maildir, and the Received field says whether TLS was
        used; clear_mailboxes() empties them all."""
        sent = {}
        for sc in table:
            for mx in sc["mx"]:
                peer = mx["peer"]
                for tls in ([False, True] if peer["starttls"] else [False]):
                    rc, out, subject = transport.swaks(peer["addr"], sc["recipient"], sc["name"], tls=tls)
                    self.check(rc == 0, f"{sc['name']}: swaks{' -tls' if tls else ''} to {peer['addr']} accepted",
                               out[-400:])
                    sent.setdefault(sc["name"], {})[subject] = tls
        for name, subjects in sent.items():
            got = self.tb.mailbox(name, count=len(subjects))
            by_subject = {m["subject"]: m for m in got}
            self.check(sorted(by_subject) == sorted(subjects) and len(got) == len(subjects),
                       f"{name}: {len(subjects)} message(s) in DIR/mail/{name}, each once",
                       f"got {[m['subject'] for m in got]}")
            for subject, tls in subjects.items():
                m = by_subject.get(subject)
                if not m:
                    continue
                good = (m["tls"] is tls and m["scenario"] == name and m["to"] == self.tb.scenarios[name]["recipient"]
                        and (m["tls_version"] or "").startswith("TLSv1.") == tls)
                said = f"yes ({m['tls_version']})" if tls else "no"
                self.check(good, f"{name}: Received says TLS {said}", f"{m['received']!r}")
        self.tb.clear_mailboxes()
        left = {sc["name"]: len(self.tb.mailbox(sc["name"])) for sc in table if sc["mx"]}
        self.check(not any(left.values()), "clear_mailboxes() empties every Maildir", str(left))

    def strip_checks(self, table):
        """Through the proxy: the EHLO reply has no STARTTLS and stays valid
        multi-line SMTP; swaks -tls gives up (exit 29) and nothing arrives;
        a STARTTLS sent anyway gets the proxy's 502 5.5.1; a message in clear
        arrives, and the proxy log counts its MAIL FROM and DATA octets."""
        strip = [sc for sc in table if any(mx["strip"] for mx in sc["mx"])]
        self.check(len(strip) >= 3, "three strip-* scenarios", str([s["name"] for s in strip]))
        for sc in strip:
            name, mx = sc["name"], sc["mx"][0]
            since = time.time()
            rc, out, _ = transport.swaks(mx["addr"], sc["recipient"], name, extra=["--quit-after", "EHLO"])
            ehlo = [ln[4:] for ln in out.splitlines() if ln.startswith("<-  250")]
            markers_ok = bool(ehlo) and all(ln[3] == "-" for ln in ehlo[:-1]) and ehlo[-1][3] == " "
            self.check(rc == 0 and markers_ok and not any("STARTTLS" in ln.upper() for ln in ehlo),
                       f"{name}: EHLO through the proxy at {mx['addr']} has no STARTTLS, markers valid",
                       out[-600:])
            rc, out, _ = transport.swaks(mx["addr"], sc["recipient"], name, tls=True)
            self.check(rc == 29 and "did not advertise STARTTLS" in out,
                       f"{name}: swaks -tls through the proxy gives up (exit 29)", out[-300:])
            try:
                with smtplib.SMTP(mx["addr"], 25, local_hostname="smoke.test", timeout=15) as s:
                    s.ehlo()
                    code, text = s.docmd("STARTTLS")
                    after = s.docmd("NOOP")
                    # Pipelined (RFC 2920): the proxy's reply keeps its place.
                    s.send(b"RSET\r\nSTARTTLS\r\nNOOP\r\n")
                    piped = [s.getreply()[0] for _ in range(3)]
            except (OSError, smtplib.SMTPException) as e:
                code, text, after, piped = None, str(e).encode(), None, None
            self.check(code == 502 and text.startswith(b"5.5.1") and after and after[0] == 250 and
                       piped == [250, 502, 250],
                       f"{name}: STARTTLS anyway -> 502 5.5.1 from the proxy, in order when pipelined",
                       f"{code} {text!r} {after!r} {piped}")
            conns = [c for c in self.tb.strip_log(name, since=since) if c.get("commands")]
            self.check(len(conns) == 3 and all(c["starttls_removed"] and c["mail_from"] == 0 for c in conns) and
                       sum(c["starttls_refused"] for c in conns) == 2,
                       f"{name}: proxy log: 3 sessions, STARTTLS removed, 2 refused, no MAIL FROM",
                       str([{k: v for k, v in c.items() if k != "events"} for c in conns]))
        # Clear text does cross (that is the attack): one message through
        # the proxy, which counts it, and the peer says "no TLS".
        sc = self.tb.scenarios["strip-opportunistic"]
        since = time.time()
        rc, out, subject = transport.swaks(sc["mx"][0]["addr"], sc["recipient"], sc["name"])
        got = [m for m in self.tb.mailbox(sc["name"], count=1) if m["subject"] == subject]
        conns = self.tb.strip_log(sc["name"], since=since)
        self.check(rc == 0 and len(got) == 1 and got[0]["tls"] is False,
                   "strip-opportunistic: a message in clear through the proxy arrives, Received says no TLS",
                   out[-300:])
        self.check(len(conns) == 1 and conns[0]["mail_from"] == 1 and conns[0]["messages"] == 1 and
                   conns[0]["data_bytes"] > 100,
                   "strip-opportunistic: proxy log counts its MAIL FROM and DATA octets",
                   str([{k: v for k, v in c.items() if k != "events"} for c in conns]))
        self.tb.clear_mailboxes()

    def table_checks(self, table):
        names = {s["name"] for s in table}
        need = {"dane-ee", "dane-ta", "dane-mismatch", "dane-nostarttls", "tlsa-bogus", "mx-bogus", "opportunistic",
                "sts-enforce", "sts-wrongca", "sts-mx-missing", "sts-testing", "sts-cached", "dane-and-sts",
                "nullmx", "sts-huge", "sts-slow", "sts-redirect", "sts-html", "sts-badcert", "domain-bogus",
                "strip-dane", "strip-sts", "strip-opportunistic", "dane-requiretls"}
        self.check(need <= names, "scenario table has every required scenario", str(need - names))
        verdicts = {"dane", "dane-unusable-tls-required", "mta-sts", "mta-sts-testing", "opportunistic", "none",
                    "defer", "nullmx"}
        probes = {"matched", "no match", "no starttls", "webpki ok", "webpki untrusted", "defer", None}
        bad = [s["name"] for s in table if s["verdict"] not in verdicts or
               any(m["probe"] not in probes for m in s["mx"])]
        self.check(not bad, "every verdict and probe outcome is from the defined vocabulary", str(bad))
        outcomes = {"delivered", "deferred", "bounced"}
        labels = {"dane-ee", "dane-ta", "mta-sts", "encrypt", "opportunistic", "none"}

        def inconsistent(s):
            e = s["expect"]
            delivered = e["outcome"] == "delivered"
            return (e["outcome"] not in outcomes or e["tls"] not in labels
                    or (not delivered and e["tls"] != "none")                     # nothing sent, nothing protected
                    or (delivered and e["tls"] == "none" and e["mail_in_clear"] is not True)
                    or not s["recipient"].endswith("@" + s["domain"]))
        bad = [s["name"] for s in table if inconsistent(s)]
        self.check(not bad, "every delivery expectation is from the defined vocabulary and consistent", str(bad))
        addrs = [m["addr"] for s in table for m in s["mx"]] + [s["mta_sts"]["addr"] for s in table if s["mta_sts"]]
        addrs += [m["peer"]["addr"] for s in table for m in s["mx"] if m["strip"]]
        self.check(len(addrs) == len(set(addrs)) and all(a.startswith("127.") for a in addrs),
                   "every fake host has its own 127.x address", str(addrs))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--keep", metavar="DIR", help="use DIR as the state directory and keep it")
    args = ap.parse_args()
    for tool in ("kdig", "curl", "openssl", "ldns-verify-zone", "nginx", "postfix", "knotd", "swaks"):
        if not (shutil.which(tool) or os.path.exists(f"/usr/sbin/{tool}")):
            print(f"testbed_smoke: {tool} not found (see scripts/install-deps.sh)", file=sys.stderr)
            return 1
    tmp = args.keep or tempfile.mkdtemp(prefix="mxsec-tb-smoke-")
    os.chmod(tmp, 0o755)  # Postfix's unprivileged daemons chdir below it
    smoke = None
    try:
        with transport.TransportTestbed(os.path.join(tmp, "tb")) as tb:
            smoke = Smoke(tb)
            table = list(tb.scenarios.values())
            with open(tb.env["MXSEC_TB_SCENARIOS"]) as f:
                doc = json.load(f)
            smoke.check([s["name"] for s in doc["scenarios"]] == [s["name"] for s in table],
                        "scenarios.json lists the same scenarios as tb.scenarios")
            smoke.table_checks(table)
            for sc in table:
                smoke.dns_checks(sc)
                smoke.smtp_checks(sc)
                smoke.sts_checks(sc)
            smoke.verify_zone_checks(table)
            smoke.ds_mismatch_check()
            smoke.cached_check()
            smoke.mailbox_checks(table)
            smoke.strip_checks(table)
    except Exception:
        traceback.print_exc()
        print("testbed_smoke: FAILED with an exception (see above)", file=sys.stderr)
        return 1
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    if smoke.failures:
        print(f"\ntestbed_smoke: {len(smoke.failures)} FAILED, {smoke.passed} passed:", file=sys.stderr)
        for f in smoke.failures:
            print(f"  {f}", file=sys.stderr)
        return 1
    print(f"\ntestbed_smoke: all {smoke.passed} checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
