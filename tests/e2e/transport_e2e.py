#!/usr/bin/python3
"""End-to-end test of `mxsec policy`, `mxsec probe` and `mxsec check` on the
transport-security test bed (tests/testbed/transport.py): Knot with a
DNSSEC-signed private `test.` TLD, Postfix as the MX peers (one listener per
MX host on 127.0.25.N:25) and nginx serving MTA-STS policies over HTTPS
(127.0.44.N:443), with certificates from a test CA made at start.

For every scenario of the bed's table (DIR/scenarios.json) it shows that:

- `mxsec policy D --json` gives the verdict the table expects for the MX host
  (RFC 7672 / RFC 8461 / RFC 7505), with the TLS-RPT policy block quoting
  the TLSA records or the MTA-STS policy;
- `mxsec probe MX --domain D --json` reports STARTTLS, the DANE match against
  the live certificate and the WebPKI verdict the table expects (the bed's
  own smoke test proved the same facts with openssl s_client and curl);
- Postfix's posttls-finger, an independent judge, sees the same STARTTLS
  offer, WebPKI verdict and DANE-EE digest match as `mxsec probe`;
- `mxsec check D --json` reports the stable keys and the findings the
  scenario calls for, and exits 1 exactly when there is an error finding;
- a policy fetch failure while a cached policy is still valid keeps the
  cached policy (RFC 8461 §3.3), and the hostile policy servers (huge body,
  slow drip, redirect, text/html, untrusted certificate) are cut off with a
  clear reason;
- through the STARTTLS-stripping proxy (strip-* scenarios) `probe` reports
  STARTTLS not offered (starttls-not-supported) and `check` an error where
  DANE or MTA-STS forbid clear text, and the proxy saw no MAIL FROM.

Everything the bed started is stopped, by PID, whatever happens.

Usage: transport_e2e.py --mxsec PATH [--keep]
"""

import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "testbed"))
import transport  # noqa: E402
import e2e_common  # noqa: E402

HTTPS_TIMEOUT = "4"   # seconds; the slow server drips 8 bytes/s for a ~70 KiB body
SMTP_TIMEOUT = "5"

# What `check` must report per scenario, beyond the table's verdicts:
# finding codes that must be present (code -> severity) and codes that must not.
CHECK_FINDINGS = {
    "dane-ee": ({}, ["tlsa-mismatch", "dane-no-starttls", "tlsa-lookup-failed", "cert-expired"]),
    "dane-ta": ({}, ["tlsa-mismatch", "dane-no-starttls"]),
    "dane-mismatch": ({"tlsa-mismatch": "error"}, []),
    "dane-nostarttls": ({"dane-no-starttls": "error"}, ["tlsa-mismatch"]),
    # RFC 7672 §3.1.1: DANE-EE ignores the validity period, so only a warning.
    "dane-ee-expired": ({"cert-expired": "warning"}, ["tlsa-mismatch"]),
    "dane-unusable": ({"tlsa-unusable": "warning"}, ["tlsa-mismatch"]),
    "tlsa-bogus": ({"tlsa-lookup-failed": "error", "mx-none-usable": "error"}, []),
    "mx-bogus": ({"mx-dnssec-bogus": "error", "mx-host-unusable": "error"}, []),
    "opportunistic": ({"dnssec-unsigned": "warning", "mta-sts-missing": "info"}, ["starttls-missing"]),
    "sts-enforce": ({}, ["mta-sts-cert-invalid", "mta-sts-mx-mismatch", "mta-sts-fetch-failed"]),
    "sts-wrongca": ({"mta-sts-cert-invalid": "error"}, ["mta-sts-fetch-failed"]),
    "sts-mx-missing": ({"mta-sts-mx-mismatch": "error", "mx-none-usable": "error"}, []),
    "sts-testing": ({"mta-sts-cert-invalid": "warning", "mta-sts-testing": "info"}, []),
    "dane-and-sts": ({}, ["tlsa-mismatch", "mta-sts-cert-invalid"]),
    "sts-cached": ({}, ["mta-sts-fetch-failed", "mta-sts-cert-invalid"]),
    "nullmx": ({"mx-null": "info"}, ["mx-lookup-failed"]),
    "sts-huge": ({"mta-sts-fetch-failed": "error"}, []),
    "sts-slow": ({"mta-sts-fetch-failed": "error"}, []),
    "sts-redirect": ({"mta-sts-fetch-failed": "error"}, []),
    "sts-html": ({"mta-sts-fetch-failed": "error"}, []),
    "sts-badcert": ({"mta-sts-fetch-failed": "error"}, []),
    "domain-bogus": ({"dnssec-bogus": "error", "mx-lookup-failed": "error"}, ["mx-null"]),
    # Through the STARTTLS-stripping proxy: what DANE and MTA-STS forbid is
    # an error, for opportunistic TLS only a warning.
    "strip-dane": ({"dane-no-starttls": "error"}, ["tlsa-mismatch", "tlsa-lookup-failed"]),
    "strip-sts": ({"mta-sts-no-starttls": "error"}, ["mta-sts-cert-invalid", "mta-sts-fetch-failed"]),
    "strip-opportunistic": ({"starttls-missing": "warning"}, ["dane-no-starttls", "mta-sts-no-starttls"]),
    "dane-requiretls": ({}, ["tlsa-mismatch", "dane-no-starttls", "tlsa-lookup-failed"]),
}

# The reason a hostile policy server was cut off, as mxsec words it.
FETCH_DETAIL = {
    "huge": "exceeds",
    "slow": "timed out",
    "redirect": "redirect",
    "html": "text/html",
    "badcert": "certificate",
}


class Checker(e2e_common.Checker):
    def dns_args(self, anchor=None):
        return [*super().dns_args(anchor), "--ca-file", self.env["MXSEC_TB_CA_FILE"],
                "--https-timeout", HTTPS_TIMEOUT]


def policy_cases(c, sc):
    d = sc["domain"]
    if sc["nullmx"]:
        c.json_cmd(f"policy {sc['name']}: null MX", ["policy", d, "--json"], exit_code=1,
                   equal={"domain": d, "status": "null-mx", "mx": []})
        return
    if sc["dnssec"] == "bogus":
        # RFC 7672 §2.2.1: a bogus MX RRset defers the whole domain; no host
        # is named, so nothing can be sent anywhere, in clear or not.
        c.json_cmd(f"policy {sc['name']}: MX RRset bogus, domain deferred", ["policy", d, "--json"], exit_code=1,
                   equal={"domain": d, "status": "defer", "mx_security": "bogus", "defer_cause": "dnssec-bogus",
                          "mx": []})
        return
    mx = sc["mx"][0]
    verdict = mx["verdict"]
    equal = {"domain": d, "mx.0.host": mx["host"], "mx.0.preference": 10, "mx.0.policy": verdict}
    if verdict == "dane":
        equal.update({"mx.0.tlsrpt_policy.policy-type": "tlsa", "mx.0.address_security": "secure"})
    if verdict in ("mta-sts", "mta-sts-testing"):
        equal.update({"mx.0.tlsrpt_policy.policy-type": "sts", "mta_sts.mode": sc["mta_sts"]["mode"],
                      "mta_sts.id": sc["mta_sts"]["id"]})
    if verdict == "opportunistic":
        equal["mx.0.tlsrpt_policy.policy-type"] = "no-policy-found"
    exit_code = 1 if verdict == "defer" else 0
    j = c.json_cmd(f"policy {sc['name']}: {verdict}", ["policy", d, "--json"], exit_code=exit_code, equal=equal)
    if j is None:
        return
    m = j["mx"][0]
    if verdict == "dane":
        want = sorted(t.upper() for t in mx["tlsa"])
        got = sorted(t.upper() for t in m["tlsrpt_policy"]["policy-string"])
        c.expect(f"policy {sc['name']}: TLS-RPT policy-string quotes the TLSA records", got == want,
                 f"{got} != {want}")
        c.expect(f"policy {sc['name']}: DANE reference names", m["reference_names"] == [mx["host"], d],
                 f"{m['reference_names']}")
    if verdict == "mta-sts":
        lines = m["tlsrpt_policy"]["policy-string"]
        c.expect(f"policy {sc['name']}: TLS-RPT policy-string holds the policy",
                 "mode: enforce" in lines and f"mx: {mx['host']}" in lines, f"{lines}")
    if sc["name"] == "tlsa-bogus":
        c.expect("policy tlsa-bogus: TLSA bogus named, no MTA-STS or clear-text fallback",
                 m["tlsa"]["security"] == "bogus" and m["source"] == "dns" and "bogus" in m["reason"], f"{m}")
    if sc["name"] == "mx-bogus":
        c.expect("policy mx-bogus: the A RRset is bogus", m["address_security"] == "bogus"
                 and "bogus" in m["reason"] and not m["addresses"], f"{m}")
    if sc["name"] == "sts-mx-missing":
        c.expect("policy sts-mx-missing: not in the policy", m["mta_sts_mx_match"] is False
                 and j["status"] == "no-usable-mx", f"{j['status']} {m.get('mta_sts_mx_match')}")
    if sc["mta_sts"] and sc["mta_sts"]["server"] != "ok":
        detail = j.get("mta_sts", {}).get("detail", "")
        word = FETCH_DETAIL[sc["mta_sts"]["server"]]
        # RFC 8460 §4.3.2.2: a policy host whose certificate does not
        # validate is sts-webpki-invalid; any other fetch failure is
        # sts-policy-fetch-error.
        want = "sts-webpki-invalid" if sc["mta_sts"]["server"] == "badcert" else "sts-policy-fetch-error"
        c.expect(f"policy {sc['name']}: fetch cut off ({word}), TLS-RPT {want}",
                 word in detail and j["mta_sts"].get("failure") == want, f"{j.get('mta_sts')}")


def probe_cases(c, sc):
    if sc["nullmx"]:
        return
    mx = sc["mx"][0]
    want = mx["probe"]
    args = ["probe", mx["host"], "--domain", sc["domain"], "--smtp-timeout", SMTP_TIMEOUT, "--json"]
    what = f"probe {sc['name']}: {want}"
    if mx["host_dnssec"] == "bogus":
        rc, out, err = c.run([*c.dns_args(), *args])
        c.judge(what + " (addresses bogus: refused)", [] if rc == 2 and "bogus" in err else [f"exit {rc}, {err!r}"],
                out, err)
        return
    if sc["name"] == "tlsa-bogus":
        # The probe still connects (it sends no mail) but must not use the
        # bogus TLSA records: no DANE verdict, the TLSA answer shown as bogus.
        # The engine defers the host (as `policy` and `check` do), so the
        # probe's verdict is a failure.
        return c.json_cmd(what + " (TLSA bogus, not used)", args, exit_code=1,
                          equal={"tlsa.security": "bogus", "tlsa.usable": False, "dane.match": None, "starttls": True,
                                 "policy": "defer", "defer_cause": "tlsa-bogus"})
    # One decision path: the probe reports the verdict `mxsec policy` gives
    # for this host.
    equal = {"host": mx["host"], "address": mx["addr"], "port": 25, "policy": mx["verdict"]}
    exit_code = 0
    if want == "matched":
        equal.update({"starttls": True, "dane.match": True, "tlsa.usable": True})
    elif want == "no match":
        equal.update({"starttls": True, "dane.match": False, "tlsrpt_result": "validation-failure"})
        exit_code = 1
    elif want == "no starttls":
        equal.update({"starttls": False, "tls": None, "tlsrpt_result": "starttls-not-supported"})
        exit_code = 1
    elif want == "webpki ok":
        equal.update({"starttls": True, "tls.webpki.valid": True, "tls.webpki.verdict": "ok"})
    elif want == "webpki untrusted":
        equal.update({"starttls": True, "tls.webpki.valid": False})
    else:
        c.expect(what, False, f"unknown expectation {want!r}")
        return
    verdict = mx["verdict"]
    if want == "webpki untrusted" and verdict in ("mta-sts", "mta-sts-testing"):
        exit_code = 1   # the domain's MTA-STS policy applies and the certificate fails it
    if want == "webpki ok" and verdict == "defer":
        exit_code = 1   # sts-mx-missing: valid certificate, but the host is not in the policy
        equal["mta_sts.mx_match"] = False
    j = c.json_cmd(what, args, exit_code=exit_code, equal=equal)
    if j and j.get("tls"):
        leaf = j["tls"]["chain"][0]
        c.expect(f"probe {sc['name']}: leaf is the bed's certificate",
                 leaf["spki_sha256"].lower() == mx["cert"]["spki_sha256"].lower(),
                 f"{leaf['spki_sha256']} != {mx['cert']['spki_sha256']}")
    return j


def posttls_finger(args):
    r = subprocess.run(["posttls-finger", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    return r.stdout.decode(errors="replace")


def postfix_judge(c, sc, probe):
    """Postfix's posttls-finger as an independent judge of what `mxsec probe`
    reported: STARTTLS offered, the WebPKI verdict for the MX name (level
    "secure" with the test CA), and for DANE-EE "3 1 1" records the public-key
    digest match (level "fingerprint" with the record's digest, the same
    comparison as usage 3, selector 1, matching type 1)."""
    if not probe or sc["nullmx"]:
        return
    mx = sc["mx"][0]
    host, addr = mx["host"], mx["addr"]
    out = posttls_finger(["-l", "secure", "-F", c.env["MXSEC_TB_CA_FILE"], "-s", host, f"[{addr}]:25", host])
    offered = re.search(r"< 250[ -]STARTTLS", out) is not None
    c.expect(f"posttls-finger {sc['name']}: STARTTLS offered = {offered}, as mxsec says",
             offered == probe.get("starttls"), f"mxsec starttls={probe.get('starttls')!r}\n{out[-1500:]}")
    if not offered or not probe.get("tls"):
        return
    verified = "Verified TLS connection" in out
    c.expect(f"posttls-finger {sc['name']}: WebPKI verified = {verified}, as mxsec says",
             verified == probe["tls"]["webpki"]["valid"], f"mxsec webpki={probe['tls']['webpki']}\n{out[-1500:]}")
    ee = [t.split()[3] for t in mx["tlsa"] if t.startswith("3 1 1 ")]
    if ee and mx["tlsa_dnssec"] == "secure":
        fps = [":".join(d[i:i + 2].upper() for i in range(0, len(d), 2)) for d in ee]
        out = posttls_finger(["-c", "-l", "fingerprint", "-d", "sha256", f"[{addr}]:25", *fps])
        matched = "Matched fingerprint" in out
        c.expect(f"posttls-finger {sc['name']}: 3 1 1 digest matched = {matched}, as mxsec's DANE says",
                 matched == probe["dane"]["match"], f"mxsec dane={probe['dane']}\n{out[-1500:]}")


def check_cases(c, sc):
    d = sc["domain"]
    rc, out, err = c.run([*c.dns_args(), "check", d, "--smtp-timeout", SMTP_TIMEOUT, "--json"])
    what = f"check {sc['name']}"
    try:
        j = json.loads(out)
    except ValueError:
        c.judge(what, [f"no JSON (exit {rc})"], out, err)
        return
    problems = []
    findings = {f["code"]: f["severity"] for f in j["findings"]}
    has_error = any(s == "error" for s in findings.values())
    if rc != (1 if has_error else 0):
        problems.append(f"exit {rc} but error findings: {has_error}")
    for key in ("domain", "dnssec", "mx", "mta_sts", "tls_rpt", "spf", "dmarc", "findings", "grade"):
        if key not in j:
            problems.append(f"key {key} missing")
    if j.get("domain") != d:
        problems.append(f"domain {j.get('domain')!r}")
    if j.get("dnssec", {}).get("status") != sc["dnssec"]:
        problems.append(f"dnssec.status {j.get('dnssec', {}).get('status')!r}, want {sc['dnssec']!r}")
    if has_error and j.get("grade") != "F":
        problems.append(f"grade {j.get('grade')} with errors")
    want, forbidden = CHECK_FINDINGS[sc["name"]]
    for code, severity in want.items():
        if findings.get(code) != severity:
            problems.append(f"finding {code} is {findings.get(code)!r}, want {severity!r}")
    for code in forbidden:
        if code in findings:
            problems.append(f"unexpected finding {code}")
    if sc["dnssec"] == "bogus":
        if j.get("mx"):
            problems.append(f"mx {j['mx']!r} listed although the MX RRset is bogus")
    elif not sc["nullmx"]:
        mx = sc["mx"][0]
        m = j["mx"][0] if j.get("mx") else {}
        if m.get("host") != mx["host"]:
            problems.append(f"mx[0].host {m.get('host')!r}")
        if mx["probe"] != "defer":
            if m.get("starttls") is not mx["starttls"]:
                problems.append(f"mx[0].starttls {m.get('starttls')!r}, want {mx['starttls']!r}")
        want_match = {"matched": True, "no match": False}.get(mx["probe"])
        if mx["verdict"] == "dane" and m.get("tlsa", {}).get("match") is not want_match and mx["starttls"]:
            problems.append(f"mx[0].tlsa.match {m.get('tlsa', {}).get('match')!r}, want {want_match!r}")
    if sc["mta_sts"]:
        if j["mta_sts"].get("record") is None:
            problems.append("mta_sts.record missing")
        if sc["mta_sts"]["server"] == "ok" and j["mta_sts"].get("mode") != sc["mta_sts"]["mode"]:
            problems.append(f"mta_sts.mode {j['mta_sts'].get('mode')!r}")
    rua = [r.get("uri") for r in j.get("tls_rpt", {}).get("rua", [])]
    # A bogus zone's TLS-RPT record is bogus too: nothing may be read from it.
    want_rua = [] if sc["dnssec"] == "bogus" else [f"mailto:tlsrpt@{d}"]
    if sc.get("tlsrpt") and rua != want_rua:
        problems.append(f"tls_rpt.rua {rua!r}, want {want_rua!r}")
    c.judge(f"{what}: findings {sorted(want)}", problems, out if problems else "", err if problems else "")


def cached_policy_cases(c, tb, tmp):
    """RFC 8461 §3.3: with a valid cached policy, a failed refresh keeps it."""
    sc = tb.scenarios["sts-cached"]
    d = sc["domain"]
    cache = os.path.join(tmp, "sts-cache.sqlite")
    c.json_cmd("sts-cached: first fetch fills the cache", ["policy", d, "--sts-cache", cache, "--json"],
               exit_code=0, equal={"mx.0.policy": "mta-sts", "mta_sts.from_cache": False})
    c.expect("sts-cached: cache file is private", os.stat(cache).st_mode & 0o077 == 0, oct(os.stat(cache).st_mode))
    c.json_cmd("sts-cached: same id, served from the cache", ["policy", d, "--sts-cache", cache, "--json"],
               exit_code=0, equal={"mx.0.policy": "mta-sts", "mta_sts.from_cache": True}, absent=["mta_sts.failure"])
    tb.sts_withdraw("sts-cached")
    c.json_cmd("sts-cached: new id, fetch fails (404), cached policy still applies",
               ["policy", d, "--sts-cache", cache, "--json"], exit_code=0,
               equal={"mx.0.policy": "mta-sts", "mta_sts.from_cache": True,
                      "mta_sts.failure": "sts-policy-fetch-error"},
               contains={"mta_sts.detail": "404"})
    c.json_cmd("sts-cached: without a cache the failed fetch means no policy",
               ["policy", d, "--json"], exit_code=0,
               equal={"mx.0.policy": "opportunistic", "mta_sts.failure": "sts-policy-fetch-error"})


def fail_closed_cases(c, tmp):
    """A trust anchor that matches nothing turns every answer bogus: the
    decision defers, it never degrades to opportunistic TLS. A local policy
    overrides DANE and MTA-STS (dane-only defers a host without TLSA)."""
    c.json_cmd("wrong trust anchor: MX bogus, domain deferred", ["policy", "dane-ee.secure.test", "--json"],
               exit_code=1, anchor=c.env["MXSEC_TB_WRONG_ANCHOR"],
               equal={"status": "defer", "mx_security": "bogus", "mx": []})
    local = os.path.join(tmp, "local-policy")
    with open(local, "w") as f:
        f.write("# per-destination overrides\nsts-enforce.insecure.test dane-only\n.secure.test encrypt\n")
    c.json_cmd("local dane-only: a host without TLSA is deferred",
               ["policy", "sts-enforce.insecure.test", "--local-policy", local, "--json"], exit_code=1,
               equal={"mx.0.policy": "defer", "mx.0.source": "local"})
    c.json_cmd("local encrypt (.secure.test): TLS required, no authentication, overrides DANE",
               ["policy", "dane-ee.secure.test", "--local-policy", local, "--json"], exit_code=0,
               equal={"mx.0.policy": "encrypt", "mx.0.tls_required": True, "mx.0.authentication": "none"})


def bad_input_cases(c):
    for args, needle in ((["policy", "bad..domain"], "not a domain"),
                         (["probe", "mx.test:99999"], "port"),
                         (["check", "bad!name.test"], "not a domain")):
        rc, out, err = c.run([*c.dns_args(), *args])
        c.judge(f"bad input {' '.join(args)}: exit 2", [] if rc == 2 and needle in err else [f"exit {rc}: {err!r}"],
                out, err)


def strip_cases(c, tb, since):
    """What the STARTTLS-stripping proxy saw of mxsec's probe and check: it
    removed STARTTLS from the EHLO reply each time, and no MAIL FROM or
    message text crossed it (a probe never sends mail)."""
    for sc in tb.scenarios.values():
        if not any(mx["strip"] for mx in sc["mx"]):
            continue
        conns = [x for x in tb.strip_log(sc["name"], since=since) if x.get("commands")]
        c.expect(f"strip proxy {sc['name']}: mxsec's sessions saw EHLO without STARTTLS, sent no mail",
                 conns and all(x["starttls_removed"] and x["mail_from"] == 0 and x["data_bytes"] == 0
                               for x in conns), f"{[{k: v for k, v in x.items() if k != 'events'} for x in conns]}")


def run(mxsec, tmp):
    with transport.TransportTestbed(os.path.join(tmp, "bed")) as tb:
        c = Checker(mxsec, tb.env, tmp)
        scenarios = list(tb.scenarios.values())
        since = time.time()
        for sc in scenarios:
            policy_cases(c, sc)
            postfix_judge(c, sc, probe_cases(c, sc))
            check_cases(c, sc)
        strip_cases(c, tb, since)
        cached_policy_cases(c, tb, tmp)
        fail_closed_cases(c, tmp)
        bad_input_cases(c)
        return c.summary("transport_e2e", f" ({len(scenarios)} scenarios)")


if __name__ == "__main__":
    # Postfix's unprivileged daemons work below the state directory.
    sys.exit(e2e_common.main("mxsec-e2e-transport-", run, dir_mode=0o755))
