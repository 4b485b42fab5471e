#!/usr/bin/python3
"""End-to-end test of SPF, DKIM, DMARC and `mxsec verify` against the Knot
DNSSEC test bed.

Starts one test bed (tests/testbed/testbed.py: a private `test.` TLD signed
at start with keys made at start; secure.test, insecure.test and bogus.test
hold the same SPF, DMARC and DKIM key records) in a fresh temporary
directory, plus a few zone lines of this test's own (see EXTRA_SECURE), and
runs the real mxsec binary against it in forwarding mode with the test bed's
trust anchor. It shows that:

- secure, insecure and bogus answers are told apart (DKIM key_security,
  DMARC dnssec), and that a wrong trust anchor turns every answer bogus;
- a bogus SPF, DKIM key or DMARC record gives temperror, never pass, also
  when reached from a secure zone (include:, redirect=, a:, CNAME);
- `mxsec verify` combines the three into the verdicts and the
  Authentication-Results header (parsed here, RFC 8601 §2.2);
- bad input exits 2 with a message on stderr.

Every check compares exact verdict words and exit codes. knotd is a child of
this process and is stopped, and the directory removed, whatever happens
(also on SIGTERM/SIGINT).

Usage: auth_e2e.py --mxsec PATH [--keep]
"""

import email
import email.policy
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "testbed"))
import testbed  # noqa: E402
import e2e_common  # noqa: E402

GOOD_IP = "192.0.2.25"      # inside ip4:192.0.2.0/24 of every mail zone
BAD_IP = "198.51.100.1"     # outside it
AUTHSERV_ID = "e2e.test"

# Zone lines appended to secure.test. before it is signed ($ORIGIN secure.test.).
EXTRA_SECURE = """\
; SPF that reaches other zones from a secure one
incl        3600 IN TXT "v=spf1 include:bogus.test -all"
inclok      3600 IN TXT "v=spf1 include:secure.test -all"
inclins     3600 IN TXT "v=spf1 include:insecure.test -all"
redir       3600 IN TXT "v=spf1 redirect=bogus.test"
incltamp    3600 IN TXT "v=spf1 include:tampered.secure.test -all"
abogus      3600 IN TXT "v=spf1 a:nonexistent.bogus.test ip4:192.0.2.0/24 -all"
; RFC 7208 section 4.6.4: at most 2 void lookups (NXDOMAIN/NODATA)
void2       3600 IN TXT "v=spf1 a:nx1.secure.test a:nx2.secure.test ip4:192.0.2.0/24 -all"
void3       3600 IN TXT "v=spf1 a:nx1.secure.test a:nx2.secure.test a:nx3.secure.test ip4:192.0.2.0/24 -all"
; DKIM: a revoked key (RFC 6376 section 3.6.1: empty p=) and keys behind CNAMEs
rev._domainkey 3600 IN TXT "v=DKIM1; p="
cb._domainkey  3600 IN CNAME sel._domainkey.bogus.test.
ci._domainkey  3600 IN CNAME sel._domainkey.insecure.test.
; DMARC records behind CNAMEs into the bogus and the insecure zone
cnb         3600 IN A 192.0.2.12
_dmarc.cnb  3600 IN CNAME _dmarc.bogus.test.
cni         3600 IN A 192.0.2.13
_dmarc.cni  3600 IN CNAME _dmarc.insecure.test.
"""

# Why the bogus zone is bogus (its DS names a key it does not use), as
# libunbound words it; a timeout or SERVFAIL would not say this.
DS_REASON = re.compile(r"\bDS\b")


def message(domain, subject="Quarterly figures", from_line=None, extra_headers=""):
    """A plain text message from alice@DOMAIN (LF line ends; mxsec makes CRLF)."""
    frm = from_line if from_line is not None else f"From: Alice Example <alice@{domain}>\n"
    return (f"{frm}"
            "To: Bob Example <bob@example.org>\n"
            f"Subject: {subject}\n"
            "Date: Sat, 28 Nov 2026 09:00:00 +0000\n"
            f"Message-ID: <20261128090000.1234@{domain}>\n"
            "MIME-Version: 1.0\n"
            "Content-Type: text/plain; charset=utf-8\n"
            f"{extra_headers}"
            "\n"
            "Hello Bob,\n"
            "\n"
            "the quarterly figures are attached to the shared folder as usual.\n"
            "\n"
            "Regards,\n"
            "Alice\n").encode()


# --- RFC 8601 Authentication-Results, parsed independently of mxsec ----------

class ArError(Exception):
    pass


def _ar_tokens(value):
    """Tokens of an unfolded header value: ('atom', s), ('str', s), (';' or '=').
    Comments (nested, with quoted-pairs) are dropped: RFC 5322 CFWS."""
    out = []
    i, n = 0, len(value)
    while i < n:
        ch = value[i]
        if ch in " \t":
            i += 1
        elif ch == "(":
            depth = 0
            while i < n:
                c = value[i]
                if c == "\\":
                    i += 2
                    continue
                if c == "(":
                    depth += 1
                elif c == ")":
                    depth -= 1
                    if depth == 0:
                        break
                i += 1
            if depth != 0:
                raise ArError("unterminated comment")
            i += 1
        elif ch == '"':
            s = []
            i += 1
            while i < n and value[i] != '"':
                if value[i] == "\\" and i + 1 < n:
                    i += 1
                s.append(value[i])
                i += 1
            if i >= n:
                raise ArError("unterminated quoted string")
            out.append(("str", "".join(s)))
            i += 1
        elif ch in ";=":
            out.append((ch, ch))
            i += 1
        elif ch == ")":
            raise ArError("')' outside a comment")
        else:
            j = i
            while j < n and value[j] not in ' \t();="':
                j += 1
            out.append(("atom", value[i:j]))
            i = j
    return out


def parse_ar(header):
    """'Authentication-Results: id; m=r p.x=v ...' (folded, CRLF) ->
    (authserv_id, [{'method', 'result', 'props': {ptype.property: value}}])."""
    name, sep, value = header.partition(":")
    if not sep or name != "Authentication-Results":
        raise ArError(f"not an Authentication-Results field: {header[:40]!r}")
    value = re.sub(r"\r\n(?=[ \t])", "", value)
    if "\r" in value or "\n" in value:
        raise ArError("a line break that is not a fold")
    toks = _ar_tokens(value)
    pos = 0

    def take(kind=None):
        nonlocal pos
        if pos >= len(toks):
            raise ArError("header ends early")
        t = toks[pos]
        if kind and t[0] != kind:
            raise ArError(f"expected {kind}, got {t[1]!r}")
        pos += 1
        return t[1]

    authserv_id = take("atom")
    if pos < len(toks) and toks[pos][0] == "atom":  # authres-version
        take("atom")
    results = []
    if pos == len(toks):
        raise ArError("no resinfo (RFC 8601: 'none' when there is nothing)")
    while pos < len(toks):
        take(";")
        if pos < len(toks) and toks[pos] == ("atom", "none") and pos + 1 == len(toks):
            pos += 1
            break
        method = take("atom").split("/")[0].lower()
        take("=")
        result = take("atom").lower()
        props = {}
        while pos < len(toks) and toks[pos][0] != ";":
            key = take("atom").lower()
            take("=")
            val = take()
            if key == "reason":
                continue
            if "." not in key:
                raise ArError(f"property {key!r} is not ptype.property")
            props[key] = val
        results.append({"method": method, "result": result, "props": props})
    return authserv_id, results


# --- the checker ---------------------------------------------------------------

class Checker(e2e_common.Checker):
    def sign(self, what, data, domain, selector, key):
        """`mxsec dkim sign`; the signed message (bytes) or None (a failed check)."""
        r = subprocess.run([self.mxsec, "dkim", "sign", "--domain", domain, "--selector", selector, "--key", key],
                           input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        problems = []
        if r.returncode != 0:
            problems.append(f"exit {r.returncode}")
        head = r.stdout.split(b"\r\n\r\n", 1)[0].decode(errors="replace")
        if not head.startswith("DKIM-Signature: v=1;"):
            problems.append("output does not start with a DKIM-Signature field")
        if f"d={domain};" not in head or f"s={selector};" not in head:
            problems.append(f"signature lacks d={domain}; s={selector};")
        if not self.judge(f"sign {what} (d={domain} s={selector})", problems, head, r.stderr.decode(errors="replace")):
            return None
        return r.stdout


# --- the cases -------------------------------------------------------------------

def spf_cases(c):
    def spf(what, ip, sender, result, exit_code, helo="mx.secure.test", equal=None, **kw):
        """`mxsec spf --json`: `result` and every field in `equal` must match."""
        return c.json_cmd(f"spf {what}", ["spf", "--ip", ip, "--helo", helo, "--sender", sender, "--json"],
                          exit_code=exit_code, equal={"result": result, **(equal or {})}, **kw)

    for zone in ("secure.test", "insecure.test"):
        spf(f"{zone} {GOOD_IP} -> pass", GOOD_IP, f"a@{zone}", "pass", 0, helo=f"mx.{zone}",
                equal={"result": "pass", "domain": zone, "identity": "mailfrom", "mechanism": "ip4:192.0.2.0/24",
                       "record": "v=spf1 ip4:192.0.2.0/24 -all", "lookups": 0, "void_lookups": 0, "reason": ""})
        spf(f"{zone} {BAD_IP} -> fail", BAD_IP, f"a@{zone}", "fail", 1, helo=f"mx.{zone}",
            equal={"result": "fail", "domain": zone, "mechanism": "-all", "lookups": 0, "void_lookups": 0})
    for ip in (GOOD_IP, BAD_IP):
        spf(f"bogus.test {ip} -> temperror", ip, "a@bogus.test", "temperror", 1, helo="mx.bogus.test",
            equal={"result": "temperror", "domain": "bogus.test", "mechanism": "", "record": "",
                   "lookups": 0, "void_lookups": 0},
            contains={"reason": ["DNSSEC bogus", "TXT bogus.test"]}, regex={"reason": DS_REASON})
    # The null reverse-path checks postmaster@HELO (RFC 7208 section 2.4).
    spf("null sender, HELO mx.bogus.test -> temperror", GOOD_IP, "", "temperror", 1, helo="mx.bogus.test",
        equal={"result": "temperror", "identity": "helo", "domain": "mx.bogus.test"},
        contains={"reason": "DNSSEC bogus"})
    # IPv4-mapped IPv6 is IPv4 (RFC 7208 section 5).
    spf("::ffff:192.0.2.25 -> pass", "::ffff:" + GOOD_IP, "a@secure.test", "pass", 0,
        equal={"result": "pass", "mechanism": "ip4:192.0.2.0/24"})

    # From the secure zone into the others.
    spf("include:bogus.test -> temperror", GOOD_IP, "a@incl.secure.test", "temperror", 1,
        equal={"result": "temperror", "domain": "incl.secure.test", "lookups": 1},
        contains={"reason": ["DNSSEC bogus", "TXT bogus.test"]}, regex={"reason": DS_REASON})
    spf(f"include:bogus.test from {BAD_IP} -> temperror", BAD_IP, "a@incl.secure.test", "temperror", 1,
        equal={"result": "temperror"}, contains={"reason": "DNSSEC bogus"})
    spf("redirect=bogus.test -> temperror", GOOD_IP, "a@redir.secure.test", "temperror", 1,
        equal={"result": "temperror", "lookups": 1}, contains={"reason": ["DNSSEC bogus", "TXT bogus.test"]})
    spf("include:tampered.secure.test (bad RRSIG in a secure zone) -> temperror", GOOD_IP,
        "a@incltamp.secure.test", "temperror", 1,
        equal={"result": "temperror"}, contains={"reason": ["DNSSEC bogus", "tampered.secure.test", "signature"]})
    spf("a:nonexistent.bogus.test before a matching ip4 -> temperror", GOOD_IP, "a@abogus.secure.test",
        "temperror", 1, equal={"result": "temperror", "void_lookups": 0},
        contains={"reason": ["DNSSEC bogus", "nonexistent.bogus.test"]})
    spf("include:secure.test -> pass", GOOD_IP, "a@inclok.secure.test", "pass", 0,
        equal={"result": "pass", "domain": "inclok.secure.test", "mechanism": "include:secure.test",
               "lookups": 1, "void_lookups": 0})
    spf(f"include:secure.test from {BAD_IP} -> fail", BAD_IP, "a@inclok.secure.test", "fail", 1,
        equal={"result": "fail", "mechanism": "-all", "lookups": 1})
    spf("include:insecure.test -> pass", GOOD_IP, "a@inclins.secure.test", "pass", 0,
        equal={"result": "pass", "mechanism": "include:insecure.test", "lookups": 1})
    # Void lookups: 2 are allowed, the 3rd is a permerror.
    spf("2 void lookups -> pass", GOOD_IP, "a@void2.secure.test", "pass", 0,
        equal={"result": "pass", "lookups": 2, "void_lookups": 2, "mechanism": "ip4:192.0.2.0/24"})
    spf("3 void lookups -> permerror", GOOD_IP, "a@void3.secure.test", "permerror", 1,
        equal={"result": "permerror", "lookups": 3, "void_lookups": 3}, contains={"reason": "void lookup"})
    # No SPF record at all (secure NODATA / NXDOMAIN) is none, not an error.
    spf("no record (mx.secure.test) -> none", GOOD_IP, "a@mx.secure.test", "none", 0,
        equal={"result": "none", "lookups": 0, "void_lookups": 0})

    # A wrong trust anchor: the secure zone's answers no longer validate.
    c.json_cmd("spf secure.test with the wrong trust anchor -> temperror",
               ["spf", "--ip", GOOD_IP, "--helo", "mx.secure.test", "--sender", "a@secure.test", "--json"],
               exit_code=1, anchor=c.env["MXSEC_TB_WRONG_ANCHOR"],
               equal={"result": "temperror"}, contains={"reason": "DNSSEC bogus"})


def dkim_cases(c):
    sel_key, ed_key = c.env["MXSEC_TB_DKIM_SEL_KEY"], c.env["MXSEC_TB_DKIM_ED_KEY"]
    signed = {}

    def verify(what, data, *, result, exit_code, sigs, anchor=None):
        """sigs: one dict of expected fields per signature, in header order."""
        equal = {"result": result}
        contains = {}
        for i, s in enumerate(sigs):
            for k, v in s.items():
                if k == "reason_has":
                    contains[f"signatures.{i}.reason"] = v
                else:
                    equal[f"signatures.{i}.{k}"] = v
        j = c.json_cmd(f"dkim verify {what}", ["dkim", "verify", "--json"], stdin=data, exit_code=exit_code,
                       equal=equal, contains=contains, anchor=anchor)
        if j is not None and len(j.get("signatures", [])) != len(sigs):
            c.judge(f"dkim verify {what}: signature count", [f"{len(j['signatures'])} signatures, want {len(sigs)}"])
        return j

    for zone in ("secure.test", "insecure.test", "bogus.test"):
        for sel, key in (("sel", sel_key), ("ed", ed_key)):
            signed[(zone, sel)] = c.sign(zone, message(zone), zone, sel, key)
    for sel, algo, bits in (("sel", "rsa-sha256", 2048), ("ed", "ed25519-sha256", 256)):
        for zone, security in (("secure.test", "secure"), ("insecure.test", "insecure")):
            data = signed[(zone, sel)]
            if data is None:
                continue
            verify(f"{zone} s={sel} -> pass ({security} key)", data, result="pass", exit_code=0,
                   sigs=[{"result": "pass", "d": zone, "s": sel, "algorithm": algo, "key_security": security,
                          "key_bits": bits, "reason": "", "testing": False}])
        data = signed[("bogus.test", sel)]
        if data is not None:
            verify(f"bogus.test s={sel} -> temperror (bogus key)", data, result="temperror", exit_code=1,
                   sigs=[{"result": "temperror", "d": "bogus.test", "s": sel, "key_security": "bogus",
                          "reason_has": ["DNSSEC bogus answer for TXT", f"{sel}._domainkey.bogus.test"]}])

    good = signed[("secure.test", "sel")]
    if good is not None:
        body = good.replace(b"attached to the shared folder", b"attached to the other folder")
        c.expect("tampered body differs from the signed one", body != good, "replacement did not apply")
        verify("tampered body -> fail", body, result="fail", exit_code=1,
               sigs=[{"result": "fail", "key_security": "secure", "reason_has": "body hash"}])
        hdr = good.replace(b"Subject: Quarterly figures", b"Subject: Quarterly figures (updated)")
        c.expect("tampered Subject differs from the signed one", hdr != good, "replacement did not apply")
        verify("tampered Subject -> fail", hdr, result="fail", exit_code=1,
               sigs=[{"result": "fail", "key_security": "secure", "reason_has": "signature did not verify"}])
        # h= names from twice (oversigned): a second From added in transit breaks it.
        verify("From field added in transit -> fail", b"From: Mallory <mallory@secure.test>\r\n" + good,
               result="fail", exit_code=1, sigs=[{"result": "fail"}])
        # Two signatures: the bogus one is temperror, the secure one still passes.
        both = c.sign("secure-signed message again", good, "bogus.test", "sel", sel_key)
        if both is not None:
            verify("signed by bogus.test and secure.test -> temperror + pass", both, result="pass", exit_code=0,
                   sigs=[{"result": "temperror", "d": "bogus.test", "key_security": "bogus"},
                         {"result": "pass", "d": "secure.test", "key_security": "secure"}])
        verify("secure.test with the wrong trust anchor -> temperror", good, result="temperror", exit_code=1,
               anchor=c.env["MXSEC_TB_WRONG_ANCHOR"],
               sigs=[{"result": "temperror", "key_security": "bogus", "reason_has": "DNSSEC bogus answer for TXT"}])

    # RFC 6376 section 3.6.1: "An empty value means that this public key has been
    # revoked"; mxsec documents this as fail, reason "key revoked (empty p=)".
    rev = c.sign("revoked", message("secure.test"), "secure.test", "rev", sel_key)
    if rev is not None:
        verify("revoked key (p=) -> fail", rev, result="fail", exit_code=1,
               sigs=[{"result": "fail", "s": "rev", "key_security": "secure", "reason": "key revoked (empty p=)"}])
    nokey = c.sign("no key", message("secure.test"), "secure.test", "nokey", sel_key)
    if nokey is not None:
        verify("no key record (NXDOMAIN) -> permerror", nokey, result="permerror", exit_code=1,
               sigs=[{"result": "permerror", "s": "nokey", "key_security": "secure", "reason_has": "NXDOMAIN"}])
    # Keys behind CNAMEs: the chain is as secure as its weakest answer.
    cb = c.sign("key CNAME to bogus", message("secure.test"), "secure.test", "cb", sel_key)
    if cb is not None:
        verify("key CNAME secure -> bogus -> temperror", cb, result="temperror", exit_code=1,
               sigs=[{"result": "temperror", "s": "cb", "key_security": "bogus",
                      "reason_has": "DNSSEC bogus answer for TXT"}])
        signed[("secure.test", "cb")] = cb
    ci = c.sign("key CNAME to insecure", message("secure.test"), "secure.test", "ci", sel_key)
    if ci is not None:
        verify("key CNAME secure -> insecure -> pass (insecure key)", ci, result="pass", exit_code=0,
               sigs=[{"result": "pass", "s": "ci", "key_security": "insecure"}])
    verify("unsigned message -> none", message("secure.test"), result="none", exit_code=1,
           sigs=[{"result": "none"}])
    return signed


def dmarc_cases(c):
    for zone, security in (("secure.test", "secure"), ("insecure.test", "insecure")):
        c.json_cmd(f"dmarc {zone} -> p=reject, dnssec {security}", ["dmarc", zone, "--json"], exit_code=0,
                   equal={"outcome": "found", "dnssec": security, "record_domain": zone,
                          "record": f"v=DMARC1; p=reject; rua=mailto:dmarc@{zone}", "tags.p": "reject",
                          "policy.requested": "reject", "policy.applied_on_fail": "reject", "policy.source": "p",
                          "organizational_domain": zone, "usability": "usable"})
    c.json_cmd("dmarc sub.secure.test -> p=reject of secure.test", ["dmarc", "sub.secure.test", "--json"],
               exit_code=0, equal={"outcome": "found", "dnssec": "secure", "record_domain": "secure.test",
                                   "organizational_domain": "secure.test", "policy.requested": "reject"})
    c.json_cmd("dmarc bogus.test -> temperror", ["dmarc", "bogus.test", "--json"], exit_code=1,
               equal={"outcome": "temperror"}, contains={"error": ["DNSSEC", "_dmarc.bogus.test"]},
               regex={"error": DS_REASON}, absent=("record", "policy", "dnssec"))
    c.json_cmd("dmarc sub.bogus.test -> temperror", ["dmarc", "sub.bogus.test", "--json"], exit_code=1,
               equal={"outcome": "temperror"}, contains={"error": "DNSSEC"}, absent=("record", "policy"))
    c.json_cmd("dmarc record CNAME secure -> bogus -> temperror", ["dmarc", "cnb.secure.test", "--json"],
               exit_code=1, equal={"outcome": "temperror"}, contains={"error": "DNSSEC"}, absent=("record", "policy"))
    c.json_cmd("dmarc record CNAME secure -> insecure -> found, dnssec insecure",
               ["dmarc", "cni.secure.test", "--json"], exit_code=0, equal={"outcome": "found", "dnssec": "insecure", "record_domain": "cni.secure.test",
                                   "record": "v=DMARC1; p=reject; rua=mailto:dmarc@insecure.test"})
    c.json_cmd("dmarc secure.test with the wrong trust anchor -> temperror", ["dmarc", "secure.test", "--json"],
               exit_code=1, anchor=c.env["MXSEC_TB_WRONG_ANCHOR"], equal={"outcome": "temperror"},
               absent=("record", "policy"))


def verify_cases(c, signed):
    sel_key = c.env["MXSEC_TB_DKIM_SEL_KEY"]

    def verify(what, data, *, ip, helo, sender, spf, dkim, dmarc, equal=None, contains=None, absent=(),
               ar=None, ar_props=None):
        """`mxsec verify --json`: verdict words, then the Authentication-Results
        header parsed here: its methods and results must be exactly `ar`
        (default: spf, dkim per signature, dmarc with the JSON verdicts)."""
        args = ["verify", "--ip", ip, "--helo", helo, "--sender", sender, "--authserv-id", AUTHSERV_ID, "--json"]
        eq = {"spf.result": spf, "dkim.result": dkim, "dmarc.result": dmarc}
        eq.update(equal or {})
        j = c.json_cmd(f"verify {what}", args, stdin=data, exit_code=0, equal=eq, contains=contains, absent=absent)
        if j is None:
            return None
        header = j.get("authentication_results", "")
        try:
            authserv, results = parse_ar(header)
        except ArError as e:
            c.judge(f"verify {what}: Authentication-Results parses", [str(e) + f": {header!r}"])
            return j
        want = ar if ar is not None else ([("spf", spf)] +
                                          [("dkim", s["result"]) for s in j["dkim"]["signatures"]] +
                                          [("dmarc", dmarc)])
        got = [(r["method"], r["result"]) for r in results]
        problems = []
        if authserv != AUTHSERV_ID:
            problems.append(f"authserv-id {authserv!r}")
        if got != want:
            problems.append(f"results {got}, want {want}")
        for (method, prop), value in (ar_props or {}).items():
            have = [r["props"].get(prop) for r in results if r["method"] == method]
            if value not in have:
                problems.append(f"{method} {prop}={have!r}, want {value!r}")
        c.judge(f"verify {what}: Authentication-Results {' '.join(f'{m}={r}' for m, r in want)}", problems,
                header)
        return j

    good = signed.get(("secure.test", "sel"))
    if good is not None:
        j = verify("secure.test, signed, authorized IP", good, ip=GOOD_IP, helo="mx.secure.test",
                   sender="alice@secure.test", spf="pass", dkim="pass", dmarc="pass",
                   equal={"spf.domain": "secure.test", "dkim.signatures.0.d": "secure.test",
                          "dkim.signatures.0.key_security": "secure", "dmarc.author_domain": "secure.test",
                          "dmarc.dnssec": "secure", "dmarc.policy.requested": "reject",
                          "dmarc.spf_aligned": True, "dmarc.dkim_aligned": True},
                   ar_props={("spf", "smtp.mailfrom"): "alice@secure.test", ("dkim", "header.d"): "secure.test",
                             ("dkim", "header.s"): "sel", ("dmarc", "header.from"): "secure.test"})
        if j is not None:
            header = j["authentication_results"]
            for needle in ("spf=pass", "dkim=pass", "dmarc=pass", "header.from=secure.test"):
                c.expect(f"verify secure.test: header contains {needle}", needle in header, repr(header))
            # The plain output: the same field, folded, CRLF, nothing else.
            rc, out, err = c.run([*c.dns_args(), "verify", "--ip", GOOD_IP, "--helo", "mx.secure.test",
                                  "--sender", "alice@secure.test", "--authserv-id", AUTHSERV_ID], good)
            problems = [] if rc == 0 else [f"exit {rc}"]
            if not out.startswith(f"Authentication-Results: {AUTHSERV_ID};"):
                problems.append("does not start with the field name and authserv-id")
            if not out.endswith("\r\n"):
                problems.append("does not end with CRLF")
            lines = out[:-2].split("\r\n") if out.endswith("\r\n") else out.split("\r\n")
            if any(not ln.startswith((" ", "\t")) for ln in lines[1:]):
                problems.append("a line after the first is not a fold (no leading WSP)")
            if any(len(ln) > 998 or "\n" in ln or "\r" in ln or not ln.strip() for ln in lines):
                problems.append("a bare CR/LF, an empty line or a line over 998 octets")
            parsed = email.message_from_string(out + "\r\n", policy=email.policy.compat32)
            if parsed.keys() != ["Authentication-Results"]:
                problems.append(f"parses as fields {parsed.keys()}")
            if out != header + "\r\n":
                problems.append(f"differs from the JSON authentication_results {header!r}")
            c.judge("verify secure.test: plain output is one Authentication-Results field", problems, out, err)

    ed = signed.get(("secure.test", "ed"))
    if ed is not None:
        verify("secure.test, Ed25519 signature", ed, ip=GOOD_IP, helo="mx.secure.test", sender="alice@secure.test",
               spf="pass", dkim="pass", dmarc="pass", equal={"dkim.signatures.0.algorithm": "ed25519-sha256"})
    ins = signed.get(("insecure.test", "sel"))
    if ins is not None:
        verify("insecure.test, signed", ins, ip=GOOD_IP, helo="mx.insecure.test", sender="alice@insecure.test",
               spf="pass", dkim="pass", dmarc="pass",
               equal={"dkim.signatures.0.key_security": "insecure", "dmarc.dnssec": "insecure"})

    bog = signed.get(("bogus.test", "sel"))
    if bog is not None:
        j = verify("bogus.test, signed, authorized IP", bog, ip=GOOD_IP, helo="mx.bogus.test",
                   sender="alice@bogus.test", spf="temperror", dkim="temperror", dmarc="temperror",
                   equal={"dkim.signatures.0.key_security": "bogus", "dmarc.author_domain": "bogus.test"},
                   contains={"spf.reason": "DNSSEC bogus", "dkim.signatures.0.reason": "DNSSEC bogus",
                             "dmarc.reason": "DNSSEC"},
                   absent=("dmarc.policy", "dmarc.record"),
                   ar_props={("dmarc", "header.from"): "bogus.test"})
        if j is not None:
            header = j["authentication_results"]
            c.expect("verify bogus.test: no result in the header is pass", "=pass" not in header, repr(header))
    ed_bog = signed.get(("bogus.test", "ed"))
    if ed_bog is not None:
        verify("bogus.test, Ed25519, unauthorized IP", ed_bog, ip=BAD_IP, helo="mx.bogus.test",
               sender="alice@bogus.test", spf="temperror", dkim="temperror", dmarc="temperror")

    spoof = message("secure.test")
    verify(f"spoofed secure.test, unsigned, {BAD_IP}", spoof, ip=BAD_IP, helo="mx.evil.example",
           sender="alice@secure.test", spf="fail", dkim="none", dmarc="fail",
           equal={"dmarc.policy.requested": "reject", "dmarc.policy.applied": "reject", "dmarc.dnssec": "secure",
                  "dmarc.spf_aligned": False, "dmarc.dkim_aligned": False},
           ar_props={("dmarc", "header.from"): "secure.test"})
    if good is not None:
        verify("signed secure.test, tampered Subject, unauthorized IP",
               good.replace(b"Subject: Quarterly figures", b"Subject: Pay this invoice"), ip=BAD_IP,
               helo="mx.evil.example", sender="alice@secure.test", spf="fail", dkim="fail", dmarc="fail",
               equal={"dmarc.policy.applied": "reject"})

    # A bogus identifier that cannot align must not matter: DMARC still
    # passes on the aligned one, and a spoof still fails.
    fsec_dbog = c.sign("From secure.test with d=bogus.test", message("secure.test"), "bogus.test", "sel", sel_key)
    if fsec_dbog is not None:
        verify("From secure.test, d=bogus.test, SPF pass -> dmarc pass", fsec_dbog, ip=GOOD_IP,
               helo="mx.secure.test", sender="alice@secure.test", spf="pass", dkim="temperror", dmarc="pass",
               equal={"dmarc.spf_aligned": True, "dmarc.dkim_aligned": False})
        verify("spoof: From secure.test, d=bogus.test, SPF fail -> dmarc fail", fsec_dbog, ip=BAD_IP,
               helo="mx.evil.example", sender="alice@secure.test", spf="fail", dkim="temperror", dmarc="fail",
               equal={"dmarc.policy.applied": "reject"})
    verify("spoof: From secure.test, MAIL FROM bogus.test -> dmarc fail", spoof, ip=BAD_IP,
           helo="mx.evil.example", sender="alice@bogus.test", spf="temperror", dkim="none", dmarc="fail",
           equal={"dmarc.policy.applied": "reject"})
    # ...but an aligned identifier whose check could not finish leaves DMARC
    # without a conclusion (RFC 9989 section 5.3.6): temperror, not fail.
    verify("From secure.test, MAIL FROM incl.secure.test (SPF temperror, aligned) -> dmarc temperror", spoof,
           ip=GOOD_IP, helo="mx.secure.test", sender="alice@incl.secure.test", spf="temperror", dkim="none",
           dmarc="temperror")
    cb = signed.get(("secure.test", "cb"))
    if cb is not None:
        verify("From secure.test, d=secure.test key CNAME to bogus, SPF fail -> dmarc temperror", cb, ip=BAD_IP,
               helo="mx.evil.example", sender="alice@secure.test", spf="fail", dkim="temperror",
               dmarc="temperror")
    if good is not None:
        c.json_cmd("verify secure.test with the wrong trust anchor -> spf/dkim/dmarc temperror",
                   ["verify", "--ip", GOOD_IP, "--helo", "mx.secure.test", "--sender", "alice@secure.test",
                    "--authserv-id", AUTHSERV_ID, "--json"], stdin=good, exit_code=0,
                   anchor=c.env["MXSEC_TB_WRONG_ANCHOR"],
                   equal={"spf.result": "temperror", "dkim.result": "temperror", "dmarc.result": "temperror"})

    # Messages whose From gives no single author domain: permerror (RFC 9989 section 4.4).
    nofrom = message("secure.test", from_line="")
    verify("message without From -> dmarc permerror", nofrom, ip=GOOD_IP, helo="mx.secure.test",
           sender="alice@secure.test", spf="pass", dkim="none", dmarc="permerror",
           equal={"dmarc.from_error": "no From field", "dmarc.author_domain": ""})
    twofrom = message("secure.test", extra_headers="From: Mallory <mallory@evil.example>\n")
    j = verify("message with two From fields -> dmarc permerror", twofrom, ip=GOOD_IP, helo="mx.secure.test",
               sender="alice@secure.test", spf="pass", dkim="none", dmarc="permerror",
               equal={"dmarc.author_domain": ""})
    if j is not None:
        c.expect("two From fields: from_error is set", bool(j["dmarc"].get("from_error")), json.dumps(j["dmarc"]))


def null_path_cases(c, signed):
    """The null reverse-path has two spellings; both check postmaster@HELO
    and neither may put smtp.mailfrom in the header."""
    good = signed.get(("secure.test", "sel"))
    if good is None:
        return
    headers = []
    for sender in ("", "<>"):
        rc, out, err = c.run([*c.dns_args(), "verify", "--ip", GOOD_IP, "--helo", "mx.secure.test", "--sender",
                              sender, "--authserv-id", AUTHSERV_ID], good)
        headers.append((rc, out))
    problems = []
    if headers[0] != headers[1]:
        problems.append(f"'' and '<>' differ: {headers!r}")
    if any(rc != 0 or "smtp.mailfrom" in out or "smtp.helo=mx.secure.test" not in out for rc, out in headers):
        problems.append(f"want exit 0, smtp.helo and no smtp.mailfrom: {headers!r}")
    c.judge("verify null path: '' and '<>' give one header with smtp.helo only", problems)


def bad_input_cases(c):
    def bad(what, args, stdin=b"", stderr_has=(), prefix="mxsec: "):
        rc, out, err = c.run([*c.dns_args(), *args], stdin)
        problems = [] if rc == 2 else [f"exit {rc}, want 2"]
        if out.strip():
            problems.append("something on stdout")
        if not err.startswith(prefix):
            problems.append(f"no {prefix!r} message on stderr")
        for needle in stderr_has:
            if needle not in err:
                problems.append(f"stderr lacks {needle!r}")
        c.judge(f"bad input: {what} -> exit 2", problems, out, err)

    msg = message("secure.test")
    base = ["--helo", "mx.secure.test", "--sender", "alice@secure.test", "--authserv-id", AUTHSERV_ID]
    for ip in ("192.0.2.300", "not-an-ip", "", "192.0.2.1/24", "2001:db8::1%eth0"):
        bad(f"verify --ip {ip!r}", ["verify", "--ip", ip, *base], msg, stderr_has=("--ip",))
        bad(f"verify --json --ip {ip!r}", ["verify", "--ip", ip, *base, "--json"], msg, stderr_has=("--ip",))
    bad("verify --helo 'bad name!'", ["verify", "--ip", GOOD_IP, "--helo", "bad name!", "--sender",
                                       "alice@secure.test"], msg, stderr_has=("--helo",))
    bad("verify --sender without @", ["verify", "--ip", GOOD_IP, "--helo", "mx.secure.test", "--sender",
                                      "no-at-sign"], msg, stderr_has=("--sender",))
    for sender in ("a@b@secure.test", "<a@secure.test"):
        bad(f"verify --sender {sender!r}", ["verify", "--ip", GOOD_IP, "--helo", "mx.secure.test", "--sender",
                                            sender], msg, stderr_has=("--sender",))
        bad(f"spf --sender {sender!r}", ["spf", "--ip", GOOD_IP, "--helo", "mx.secure.test", "--sender", sender],
            stderr_has=("--sender",))
    # Option parsing (CLI11) words its own message.
    bad("verify without --ip", ["verify", "--helo", "mx.secure.test", "--sender", "alice@secure.test"], msg,
        stderr_has=("--ip is required",), prefix="")
    for ip in ("not-an-ip", "192.0.2.256", "::g"):
        bad(f"spf --ip {ip!r}", ["spf", "--ip", ip, "--helo", "mx.secure.test", "--sender", "a@secure.test",
                                 "--json"], stderr_has=("--ip",))
    bad("spf --helo ''", ["spf", "--ip", GOOD_IP, "--helo", "", "--sender", "a@secure.test"], stderr_has=("--helo",))
    bad("dmarc 'not a domain'", ["dmarc", "not a domain", "--json"])
    bad("dkim sign a message without From",
        ["dkim", "sign", "--domain", "secure.test", "--selector", "sel", "--key", c.env["MXSEC_TB_DKIM_SEL_KEY"]],
        message("secure.test", from_line=""), stderr_has=("From",))
    bad("dkim sign with a missing key file",
        ["dkim", "sign", "--domain", "secure.test", "--selector", "sel", "--key", os.path.join(c.tmp, "none.pem")],
        msg)


def run_cases(c):
    spf_cases(c)
    signed = dkim_cases(c)
    dmarc_cases(c)
    verify_cases(c, signed)
    null_path_cases(c, signed)
    bad_input_cases(c)


def run(mxsec, tmp):
    extra_secure = os.path.join(tmp, "extra-secure.zone")
    with open(extra_secure, "w") as f:
        f.write(EXTRA_SECURE)
    with testbed.Testbed(os.path.join(tmp, "testbed"), extra={"secure.test.": extra_secure}) as tb:
        print(f"test bed on {tb.env['MXSEC_TB_RESOLVER']} (knotd PID {tb.pid})", flush=True)
        c = Checker(mxsec, tb.env, tmp)

        def cases():
            run_cases(c)
            return c.summary("auth_e2e")

        return e2e_common.with_log_tail(tb, cases)


if __name__ == "__main__":
    sys.exit(e2e_common.main("mxsec-e2e-auth-", run))
