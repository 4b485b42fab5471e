#!/usr/bin/python3
"""DKIM interoperability: mxsec against dkimpy, Mail::DKIM and OpenDKIM.

For every judge, both directions (judge signs -> mxsec verifies, mxsec signs
-> judge verifies), both algorithms (where the judge has them) and all four
canonicalization pairs, each test message must verify. Tampered messages
(header changed, body changed, b= altered, key revoked) must fail in every
verifier. A matrix of pass counts is printed and written as Markdown.

Judges deviate from the RFCs in known ways (see the project notes on reference tools). Such a
case is listed in DEVIATIONS with the reason; the script then asserts that
the deviation is observed exactly as described and that the other judges
agree with mxsec, so a documented deviation can never hide an mxsec bug.

Run with Debian's python3 (module `dkim` = python3-dkim):
  dkim_interop.py --mxsec BIN --data tests/data --workdir DIR [--report FILE]
"""
import argparse
import base64
import os
import re
import shutil
import subprocess
import sys
import time

import dkim  # python3-dkim

DOMAIN = "example.com"
CANONS = ["simple/simple", "simple/relaxed", "relaxed/simple", "relaxed/relaxed"]
ALGS = ["rsa", "ed25519"]
TAMPERS = ["header changed", "body changed", "b= altered", "key revoked"]
SIGNED_HEADERS = [b"from", b"to", b"subject", b"date", b"message-id"]

MESSAGES = {
    "plain": (
        "From: Joe SixPack <joe@example.com>\r\n"
        "To: Suzie Q <suzie@shopping.example.net>\r\n"
        "Subject: Is dinner ready?\r\n"
        "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
        "Message-ID: <20030712040037.46341.5F8J@example.com>\r\n"
        "\r\n"
        "Hi.\r\n\r\nWe lost the game. Are you hungry yet?\r\n\r\nJoe.\r\n"
    ),
    "messy": (
        "from: Joe  SixPack\t<joe@example.com>   \r\n"
        "To: Suzie Q <suzie@shopping.example.net>,\r\n"
        "\tBob <bob@example.net>\r\n"
        "SUBJECT:   Is   dinner\r\n   ready?  \r\n"
        "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
        "Message-ID: <messy@example.com>\r\n"
        "X-Unsigned: whatever\r\n"
        "\r\n"
        "  Hi.  \t\r\n"
        "\r\n"
        "We\tlost  the game.   \r\n"
        " \r\n\r\n\t\r\n\r\n"
    ),
    "no-final-crlf": (
        "From: joe@example.com\r\n"
        "To: suzie@example.net\r\n"
        "Subject: no line break at the end\r\n"
        "Date: Fri, 11 Jul 2003 21:00:37 -0700\r\n"
        "\r\n"
        "last line without CRLF"
    ),
    "empty-body": (
        "From: joe@example.com\r\n"
        "To: suzie@example.net\r\n"
        "Subject: nothing to say\r\n"
        "Date: Fri, 11 Jul 2003 21:00:37 -0700\r\n"
        "\r\n"
    ),
}

# Documented judge deviations. A cell matching an entry must show the
# deviation (the judge disagrees with mxsec) AND every other judge that
# supports the algorithm must agree with mxsec; otherwise it is a failure.
# Fields: judge, direction ("judge->mxsec": the judge signs; "mxsec->judge":
# the judge verifies), algorithm or None (any), header canon or None, body
# canon or None, message or None, reason.
DEVIATIONS = [
    ("Mail::DKIM", None, None, None, "simple", "no-final-crlf",
     "Mail::DKIM simple body canonicalization drops the CRLF that RFC 6376 section 3.4.3 adds to a body "
     "without a final line break (NOTES.md)"),
    ("OpenDKIM", "judge->mxsec", "ed25519", "simple", None, None,
     "`opendkim -t` prints an Ed25519 DKIM-Signature whose folding differs from the form it hashed under "
     "simple header canonicalization; OpenDKIM itself and dkimpy reject the printed field as well"),
    ("OpenDKIM", None, None, "simple", None, "messy",
     "OpenDKIM (test mode) re-forms header fields with unusual whitespace (e.g. `SUBJECT:   Is`, trailing "
     "WSP) before simple header canonicalization, so its simple signatures over such fields verify only in "
     "OpenDKIM, and it rejects correct ones; dkimpy and Mail::DKIM agree with mxsec"),
]

# (judge, message) -> why the judge cannot be given this message at all.
NOT_APPLICABLE = {
    ("OpenDKIM", "no-final-crlf"):
        "`opendkim -t` cannot take a message without a final line break: as signer it refuses (\"no signature "
        "added: CRLF at end of body missing\"), as verifier it reports \"message not signed\" for some "
        "canonicalizations. Such a message cannot cross SMTP unchanged, and a milter never sees one",
}


def deviation_for(judge, direction, alg, canon, mname):
    h, b = canon.split("/")
    for j, d, a, hc, bc, m, reason in DEVIATIONS:
        if (j == judge and d in (None, direction) and a in (None, alg) and hc in (None, h) and bc in (None, b)
                and m in (None, mname)):
            return reason
    return None


# Judges that cannot do an algorithm at all.
UNSUPPORTED = {("Mail::DKIM", "ed25519"): "Mail::DKIM 1.20230212 has no Ed25519"}


def run(cmd, stdin=b"", check=True):
    p = subprocess.run(cmd, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    if check and p.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(cmd), p.returncode, p.stderr.decode(errors="replace")))
    return p


class Env:
    def __init__(self, args):
        self.mxsec = args.mxsec
        self.work = args.workdir
        self.here = os.path.dirname(os.path.abspath(__file__))
        if os.path.exists(self.work):
            shutil.rmtree(self.work)
        os.makedirs(self.work, mode=0o700)
        self.records = {}  # selector -> key record text
        self.keyfile = {}  # alg -> PEM for mxsec / OpenDKIM / dkimpy(rsa)
        self.seed = {}
        for alg in ALGS:
            path = os.path.join(self.work, alg + ".pem")
            p = run([self.mxsec, "dkim", "keygen", "--type", alg, "--domain", DOMAIN, "--selector", alg,
                     "--out", path, "--json"])
            import json
            self.records[alg] = json.loads(p.stdout)["record"]
            self.keyfile[alg] = path
        # Mail::DKIM wants PKCS#1 ("RSA PRIVATE KEY").
        self.rsa_pkcs1 = os.path.join(self.work, "rsa-pkcs1.pem")
        run(["openssl", "rsa", "-in", self.keyfile["rsa"], "-traditional", "-out", self.rsa_pkcs1])
        # dkimpy takes an Ed25519 key as its base64 32-byte seed: the PKCS#8
        # DER is a fixed 16-byte prefix followed by the seed.
        der = base64.b64decode("".join(l for l in open(self.keyfile["ed25519"]).read().splitlines()
                                       if not l.startswith("-----")))
        assert der[:16] == bytes.fromhex("302e020100300506032b657004220420"), "unexpected Ed25519 PKCS#8 form"
        self.seed["ed25519"] = base64.b64encode(der[16:])
        self.keys_file = self.write_keys("keys.txt", self.records)
        revoked = {alg: "v=DKIM1; k=%s; p=" % alg for alg in ALGS}
        self.revoked_file = self.write_keys("revoked.txt", revoked)
        self.revoked = revoked
        self.counter = 0

    def write_keys(self, name, records):
        path = os.path.join(self.work, name)
        with open(path, "w") as f:
            for sel, rec in records.items():
                f.write("%s._domainkey.%s %s\n" % (sel, DOMAIN, rec))
        return path

    def tmp(self, data, suffix=".eml"):
        self.counter += 1
        path = os.path.join(self.work, "m%05d%s" % (self.counter, suffix))
        with open(path, "wb") as f:
            f.write(data)
        return path

    # ---- signers: return the full signed message (CRLF bytes) ----
    def sign(self, tool, alg, canon, msg, sha1=False, length=False):
        if tool == "mxsec":
            return run([self.mxsec, "dkim", "sign", "--domain", DOMAIN, "--selector", alg, "--key",
                        self.keyfile[alg], "--canon", canon], msg).stdout
        if tool == "dkimpy":
            key = open(self.keyfile[alg], "rb").read() if alg == "rsa" else self.seed[alg]
            a = b"rsa-sha1" if sha1 else (b"rsa-sha256" if alg == "rsa" else b"ed25519-sha256")
            h, b = canon.split("/")
            sig = dkim.sign(msg, alg.encode(), DOMAIN.encode(), key, canonicalize=(h.encode(), b.encode()),
                            signature_algorithm=a, include_headers=SIGNED_HEADERS, length=length)
            return sig + msg
        if tool == "Mail::DKIM":
            sig = run(["perl", os.path.join(self.here, "dkim_maildkim.pl"), "sign", self.rsa_pkcs1, DOMAIN, alg,
                       canon], msg).stdout
            return sig + msg
        if tool == "OpenDKIM":
            conf = self.tmp(("Mode s\nDomain %s\nSelector %s\nKeyFile %s\nCanonicalization %s\n"
                             "SignatureAlgorithm %s\nRequireSafeKeys false\nSyslog no\n"
                             % (DOMAIN, alg, self.keyfile[alg], canon,
                                "rsa-sha1" if sha1 else ("rsa-sha256" if alg == "rsa" else "ed25519-sha256"))
                             ).encode(), ".conf")
            out = run(["opendkim", "-x", conf, "-t", self.tmp(msg)]).stdout
            start = out.find(b"DKIM-Signature:")
            if start < 0:
                raise RuntimeError("OpenDKIM did not sign: %s" % out.decode(errors="replace").strip())
            field = out[start:].replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
            if not field.endswith(b"\r\n"):
                field += b"\r\n"
            return field + msg
        raise ValueError(tool)

    # ---- verifiers: return (passed, detail) ----
    def verify(self, tool, signed, revoked=False):
        records = self.revoked if revoked else self.records
        if tool == "mxsec":
            args = [self.mxsec, "dkim", "verify", "--json"]
            for sel, rec in records.items():
                args += ["--txt-record", "%s._domainkey.%s=%s" % (sel, DOMAIN, rec)]
            p = run(args, signed, check=False)
            if p.returncode not in (0, 1):
                raise RuntimeError("mxsec verify exit %d: %s" % (p.returncode, p.stderr.decode()))
            import json
            j = json.loads(p.stdout)
            sigs = j["signatures"]
            detail = "; ".join("%s (%s)" % (s["result"], s["reason"]) for s in sigs)
            return j["result"] == "pass", detail, sigs
        if tool == "dkimpy":
            table = {("%s._domainkey.%s." % (s, DOMAIN)).encode(): r.encode() for s, r in records.items()}

            def dnsfunc(name, timeout=5):
                n = name if name.endswith(b".") else name + b"."
                return table.get(n.lower())
            try:
                ok = dkim.verify(signed, dnsfunc=dnsfunc)
            except Exception as e:  # dkimpy raises on some malformed input
                return False, "exception %s" % e, None
            return bool(ok), "dkimpy %s" % ok, None
        if tool == "Mail::DKIM":
            p = run(["perl", os.path.join(self.here, "dkim_maildkim.pl"), "verify",
                     self.revoked_file if revoked else self.keys_file], signed)
            first = p.stdout.decode().splitlines()[0]
            return first.split()[0] == "pass", first, None
        if tool == "OpenDKIM":
            conf = self.tmp(("Mode v\nTestPublicKeys %s\nSyslog no\n"
                             % (self.revoked_file if revoked else self.keys_file)).encode(), ".conf")
            p = run(["opendkim", "-x", conf, "-t", self.tmp(signed)], check=False)
            out = (p.stdout + p.stderr).decode(errors="replace").strip()
            return " succeeded" in out, out, None
        raise ValueError(tool)


def tamper(signed, kind):
    if kind == "header changed":
        m = re.search(rb"(?im)^subject:", signed)
        return signed[:m.end()] + b" [changed]" + signed[m.end():]
    if kind == "body changed":
        sep = signed.find(b"\r\n\r\n")
        return signed[:sep + 4] + b"Changed first line.\r\n" + signed[sep + 4:]
    if kind == "b= altered":
        m = re.search(rb"[;\s]b=\s*([A-Za-z0-9+/])", signed)
        c = m.group(1)
        repl = b"A" if c != b"A" else b"B"
        return signed[:m.start(1)] + repl + signed[m.end(1):]
    raise ValueError(kind)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mxsec", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--report")
    args = ap.parse_args()
    for tool in ("opendkim", "perl", "openssl"):
        if not shutil.which(tool):
            print("FAIL: %s not installed" % tool)
            return 1
    env = Env(args)
    failures = []
    deviations = []
    judges = ["dkimpy", "Mail::DKIM", "OpenDKIM"]
    matrix = {}  # (judge, direction, alg, canon) -> [passed, total]
    t0 = time.time()

    def check_cell(judge, direction, alg, canon, mname, msg):
        signer, verifier = (judge, "mxsec") if direction == "judge->mxsec" else ("mxsec", judge)
        cell = matrix.setdefault((judge, direction, alg, canon), [0, 0, 0])
        cell[1] += 1
        signed = env.sign(signer, alg, canon, msg)
        ok, detail, _ = env.verify(verifier, signed)
        reason = deviation_for(judge, direction, alg, canon, mname)
        if reason:
            # The deviation must show, and the other judges must side with mxsec.
            others = [j for j in judges if j != judge and (j, alg) not in UNSUPPORTED]
            mx_ok = env.verify("mxsec", signed)[0]
            agree = [j for j in others if env.verify(j, signed)[0] == mx_ok]
            expected_mx = (direction == "mxsec->judge")  # mxsec's own signature must verify in mxsec
            if not ok and (mx_ok == expected_mx or direction == "judge->mxsec") and len(agree) == len(others):
                cell[2] += 1
                deviations.append((judge, direction, alg, canon, mname, reason, detail))
                return
            failures.append("%s %s %s %s %s: documented deviation not observed as described (%s; "
                            "mxsec %s; judges agreeing with mxsec: %s of %s)"
                            % (judge, direction, alg, canon, mname, detail, mx_ok, agree, others))
            return
        if ok:
            cell[0] += 1
        else:
            failures.append("%s %s %s %s %s: %s" % (judge, direction, alg, canon, mname, detail))

    for judge in judges:
        for direction in ("judge->mxsec", "mxsec->judge"):
            for alg in ALGS:
                if (judge, alg) in UNSUPPORTED:
                    continue
                for canon in CANONS:
                    for mname, text in MESSAGES.items():
                        if (judge, mname) in NOT_APPLICABLE:
                            continue
                        check_cell(judge, direction, alg, canon, mname, text.encode())

    # Tamper tests: every verifier must reject.
    tamper_matrix = {}  # (judge, direction, alg) -> [rejected, total]
    for judge in judges:
        for direction in ("judge->mxsec", "mxsec->judge"):
            signer, verifier = (judge, "mxsec") if direction == "judge->mxsec" else ("mxsec", judge)
            for alg in ALGS:
                if (judge, alg) in UNSUPPORTED:
                    continue
                cell = tamper_matrix.setdefault((judge, direction, alg), [0, 0])
                for canon in ("simple/simple", "relaxed/relaxed"):
                    for mname in ("plain", "messy"):
                        if deviation_for(judge, direction, alg, canon, mname):
                            continue  # no valid baseline to tamper with (see deviations)
                        signed = env.sign(signer, alg, canon, MESSAGES[mname].encode())
                        ok, detail, _ = env.verify(verifier, signed)
                        if not ok:
                            failures.append("tamper baseline %s %s %s %s %s: %s"
                                            % (judge, direction, alg, canon, mname, detail))
                        for kind in TAMPERS:
                            cell[1] += 1
                            if kind == "key revoked":
                                bad_ok, detail, _ = env.verify(verifier, signed, revoked=True)
                            else:
                                bad_ok, detail, _ = env.verify(verifier, tamper(signed, kind))
                            if bad_ok:
                                failures.append("tamper %s %s %s %s %s %s: still passes"
                                                % (kind, judge, direction, alg, canon, mname))
                            else:
                                cell[0] += 1

    # RFC strictness where judges are lenient (NOTES.md): mxsec must refuse.
    policy = []
    for judge in ("dkimpy", "OpenDKIM"):
        signed = env.sign(judge, "rsa", "relaxed/relaxed", MESSAGES["plain"].encode(), sha1=True)
        ok, detail, sigs = env.verify("mxsec", signed)
        judge_ok = env.verify(judge, signed)[0]
        want = sigs and sigs[0]["result"] == "permerror" and sigs[0]["reason"] == "rsa-sha1 not allowed (RFC 8301)"
        policy.append(("rsa-sha1 signed by %s" % judge, detail, "pass" if judge_ok else "fail"))
        if not want:
            failures.append("rsa-sha1 from %s: mxsec gave %s" % (judge, detail))
    signed = env.sign("dkimpy", "rsa", "relaxed/relaxed", MESSAGES["plain"].encode(), length=True)
    appended = signed + b"Unsigned text added in transit.\r\n"
    ok, detail, sigs = env.verify("mxsec", appended)
    dk_ok = env.verify("dkimpy", appended)[0]
    policy.append(("l= signature by dkimpy, content appended", detail, "pass" if dk_ok else "fail"))
    if not (sigs and sigs[0]["result"] == "fail" and "shorter than body (unsigned content)" in sigs[0]["reason"]):
        failures.append("l= appended: mxsec gave %s" % detail)
    if not env.verify("mxsec", signed)[0]:
        failures.append("dkimpy l= signature without appended content does not pass in mxsec")

    elapsed = time.time() - t0
    lines = []
    lines.append("# DKIM interoperability matrix")
    lines.append("")
    lines.append("Generated by `tests/interop/dkim_interop.py` (CTest label `interop`, test `interop.dkim`).")
    def pkg(name):
        p = subprocess.run(["dpkg-query", "-W", "-f=${Version}", name], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL)
        return p.stdout.decode() or "?"
    lines.append("Judges: dkimpy (python3-dkim %s), Mail::DKIM (libmail-dkim-perl %s), OpenDKIM (opendkim %s, "
                 "`opendkim -t` with TestPublicKeys). Keys: RSA-2048 and Ed25519 made by `mxsec dkim keygen`. "
                 "Messages: %s." % (pkg("python3-dkim"), pkg("libmail-dkim-perl"), pkg("opendkim"),
                                    ", ".join(MESSAGES)))
    lines.append("")
    lines.append("## Sign/verify: messages verified / messages tried")
    lines.append("")
    lines.append("| judge | direction | algorithm | " + " | ".join(CANONS) + " |")
    lines.append("|---|---|---|" + "---|" * len(CANONS))
    for judge in judges:
        for direction in ("judge->mxsec", "mxsec->judge"):
            for alg in ALGS:
                if (judge, alg) in UNSUPPORTED:
                    lines.append("| %s | %s | %s | " % (judge, direction, alg) +
                                 " | ".join(["n/a"] * len(CANONS)) + " |")
                    continue
                cells = []
                for canon in CANONS:
                    p, t, d = matrix[(judge, direction, alg, canon)]
                    cells.append("%d/%d" % (p, t - d) + (" (+%d dev.)" % d if d else ""))
                lines.append("| %s | %s | %s | %s |" % (judge, direction, alg, " | ".join(cells)))
    lines.append("")
    lines.append("`judge->mxsec`: the judge signs, mxsec verifies; `mxsec->judge`: mxsec signs, the judge verifies. "
                 "\"+N dev.\": cases where the judge deviates from the RFC (below); they are not counted as passes, "
                 "and each was checked against the other judges.")
    lines.append("")
    lines.append("## Tampered messages: rejected / tried")
    lines.append("")
    lines.append("Each cell: %s, each on 2 messages x 2 canonicalizations (simple/simple, relaxed/relaxed), "
                 "minus the combinations listed under deviations (no valid baseline)." % ", ".join(TAMPERS))
    lines.append("")
    lines.append("| judge | direction | rsa | ed25519 |")
    lines.append("|---|---|---|---|")
    for judge in judges:
        for direction in ("judge->mxsec", "mxsec->judge"):
            cells = []
            for alg in ALGS:
                c = tamper_matrix.get((judge, direction, alg))
                cells.append("%d/%d" % tuple(c) if c else "n/a")
            lines.append("| %s | %s | %s |" % (judge, direction, " | ".join(cells)))
    lines.append("")
    lines.append("## RFC strictness (mxsec must refuse; the judge's own verdict shown)")
    lines.append("")
    lines.append("| case | mxsec | judge |")
    lines.append("|---|---|---|")
    for name, detail, judge_verdict in policy:
        lines.append("| %s | %s | %s |" % (name, detail.replace("|", "/"), judge_verdict))
    lines.append("")
    lines.append("## Judge deviations observed")
    lines.append("")
    if deviations:
        for d in deviations:
            lines.append("- %s, %s, %s %s, message `%s`: %s. Judge said: `%s`. The other judges agree with mxsec."
                         % (d[0], d[1], d[2], d[3], d[4], d[5], d[6]))
    else:
        lines.append("- none")
    lines.append("- %s" % UNSUPPORTED[("Mail::DKIM", "ed25519")])
    for (j, m), why in NOT_APPLICABLE.items():
        lines.append("- %s, message `%s` not used: %s." % (j, m, why))
    lines.append("")
    lines.append("Result: %s (%.0f s)." % ("all checks passed" if not failures else "%d FAILURES" % len(failures),
                                           elapsed))
    report = "\n".join(lines) + "\n"
    print(report)
    for f in failures:
        print("FAIL:", f)
    if args.report:
        with open(args.report, "w") as f:
            f.write(report)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
