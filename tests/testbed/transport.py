#!/usr/bin/python3
"""Transport-security test bed: DANE and MTA-STS scenarios on loopback.

Builds on the DNSSEC test bed (testbed.py, Knot serving a signed private
`test.` TLD) and adds, all made at start in the state directory:

  - a test PKI (openssl CLI): root CA "mxsec test root", an unrelated CA
    "mxsec wrong root", ECDSA P-256 leaves for every MX host and mta-sts host,
    one self-signed and one expired certificate;
  - per scenario DNS records (MX, A, TLSA computed from the real
    certificates, _mta-sts TXT, _smtp._tls TXT), added before signing;
  - Postfix (one instance, own config and queue directory) with one smtpd
    listener per MX host on MX_NET.N:25, STARTTLS offered except where a
    scenario says otherwise; it accepts mail for every scenario domain and
    stores it in one Maildir per scenario, DIR/mail/<scenario>/, with a
    Received field that says whether the hop used TLS (tb.mailbox(name));
  - the STARTTLS-stripping proxy (strip_proxy.py) on STRIP_NET.N:25 in front
    of the Postfix listeners of the strip-* scenarios, logging what crossed
    it in clear to DIR/strip/proxy.jsonl (tb.strip_log(name));
  - nginx (one process, master_process off) with one HTTPS server per
    mta-sts host on STS_NET.N:443, serving the policies as text/plain, plus
    the hostile servers (huge, slow, redirect, text/html, untrusted cert);
  - DIR/scenarios.json: the machine-readable scenario table with the
    expected verdicts (see README.md).

Use as a module:
    with TransportTestbed(dir) as tb:
        tb.env["MXSEC_TB_RESOLVER"], tb.env["MXSEC_TB_CA_FILE"], tb.scenarios["dane-ee"] ...
        tb.sts_withdraw("sts-cached")   # policy -> 404 and a new TXT id
        tb.mailbox("dane-ee"), tb.clear_mailboxes(), tb.strip_log("strip-dane")
or as a program (everything detached until `stop`):
    transport.py start --dir DIR [--mx-net 127.0.25] [--sts-net 127.0.44]
    transport.py stop --dir DIR
    transport.py sts-withdraw --dir DIR [--scenario sts-cached]
    transport.py mailbox --dir DIR --scenario NAME     # what the peer stored, TLS yes/no
    transport.py strip-log --dir DIR [--scenario NAME] # what the stripping proxy saw

Only 127.x.y.z addresses are used. Must run as root (port 25 and 443, and
Postfix). Stops only what it started: knotd, nginx and the proxy by their
recorded PID (after checking their command line), Postfix with
`postfix -c DIR stop`.
"""

import argparse
import base64
import email
import email.policy
import grp
import hashlib
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import testbed  # noqa: E402
from testbed import TestbedError, _check_loopback, _need, _run, _running, _terminate, _txt  # noqa: E402
from postfix_peer import master_cf  # noqa: E402

# The proxy is a program of its own (standard library only); Debian's
# interpreter when there is one (NOTES: the first python3 on PATH may differ).
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
TTL = 3600
STS_TXT_TTL = 5           # short, so a changed id is seen at once
STS_MAX_AGE = 86400
STS_MAX_BYTES = 64 * 1024  # RFC 8461 §3.3: policy bodies are at most 64 KiB
MAIL_USER, MAIL_GROUP = "nobody", "nogroup"   # owner of the Maildirs (virtual_uid_maps)
ROOT_CN = "mxsec test root"
WRONG_CN = "mxsec wrong root"

# The scenarios. Keys:
#   zone      zone of the recipient domain <name>.<zone>
#   mx_zone   zone of the MX host (default: the domain's own zone)
#   cert      MX certificate: leaf (test root), chain (leaf + test root in
#             the chain), wrong (leaf from the wrong root), self (self-signed),
#             expired (leaf from the test root, expired)
#   tlsa      None, "ee" (3 1 1 of the leaf), "ta" (2 1 1 of the test root),
#             "junk" (3 1 1 of nothing), "unusable" (PKIX-EE 1 1 1 of the leaf and
#             PKIX-TA 0 0 1 of the wrong root: present, but unusable in SMTP)
#   starttls  whether the listener offers STARTTLS
#   strip     the MX host's address is the STARTTLS-stripping proxy
#             (strip_proxy.py) in front of the Postfix listener, which itself
#             offers STARTTLS with the scenario's certificate
#   broken_tlsa  the TLSA RRSIG is corrupted after signing
#   sts       None or (mode, mx patterns or None for the MX host, server kind)
#   verdict   expected `mxsec policy` verdict for the MX host
#   probe     expected probe outcome for the MX host
#   deliver   what an MTA relaying one message to user@<domain> must do:
#             (outcome, tls, TLS-RPT result) with outcome delivered | deferred |
#             bounced; tls the protection of the hop that delivered it:
#             dane-ee, dane-ta, mta-sts, opportunistic (TLS, not
#             authenticated by a policy the domain published, whether
#             required or not), none (clear text, or nothing delivered); the
#             RFC 8460 §4.3 result type of the attempt ("success" or a
#             failure type; None when no session is reported)
#   requiretls  send the message with MAIL FROM ... REQUIRETLS (RFC 8689)
SCENARIOS = [
    dict(name="dane-ee", zone="secure.test.", cert="leaf", tlsa="ee", verdict="dane", probe="matched",
         deliver=("delivered", "dane-ee", "success"),
         about="DANE-EE(3) SPKI SHA-256 of the Postfix leaf, signed zone"),
    dict(name="dane-ta", zone="secure.test.", cert="chain", tlsa="ta", verdict="dane", probe="matched",
         deliver=("delivered", "dane-ta", "success"),
         about="DANE-TA(2) SPKI SHA-256 of the test root; Postfix sends leaf + root (RFC 7671 §5.2.2)"),
    dict(name="dane-mismatch", zone="secure.test.", cert="leaf", tlsa="junk", verdict="dane", probe="no match",
         deliver=("deferred", "none", "validation-failure"),
         about="TLSA 3 1 1 digest of nothing: DANE applies, authentication fails"),
    dict(name="dane-nostarttls", zone="secure.test.", cert="leaf", tlsa="ee", starttls=False, verdict="dane",
         probe="no starttls", deliver=("deferred", "none", "starttls-not-supported"),
         about="usable TLSA, but the server does not offer STARTTLS"),
    dict(name="dane-ee-expired", zone="secure.test.", cert="expired", tlsa="ee", verdict="dane", probe="matched",
         deliver=("delivered", "dane-ee", "success"),
         about="DANE-EE matches an expired leaf: RFC 7672 §3.1.1 ignores the validity period for DANE-EE"),
    dict(name="dane-unusable", zone="secure.test.", cert="wrong", tlsa="unusable",
         verdict="dane-unusable-tls-required", probe="webpki untrusted",
         deliver=("delivered", "opportunistic", "tlsa-invalid"),
         about="secure TLSA RRset with only PKIX-TA(0)/PKIX-EE(1) records: none usable for SMTP (RFC 7672 "
               "§3.1.3), so TLS is required but not authenticated (§2.2)"),
    dict(name="tlsa-bogus", zone="secure.test.", cert="leaf", tlsa="ee", broken_tlsa=True, verdict="defer",
         probe="defer", deliver=("deferred", "none", "dnssec-invalid"),
         about="secure A, TLSA RRSIG corrupted after signing: TLSA bogus (RFC 7672 §2.2)"),
    dict(name="mx-bogus", zone="secure.test.", mx_zone="bogus.test.", cert="leaf", tlsa="ee", verdict="defer",
         probe="defer", deliver=("deferred", "none", "dnssec-invalid"),
         about="secure domain whose MX host lives in bogus.test. (DS mismatch): A answer bogus"),
    dict(name="domain-bogus", zone="bogus.test.", cert="leaf", tlsa="ee", verdict="defer", probe="defer",
         deliver=("deferred", "none", None),
         about="recipient domain in bogus.test.: the MX RRset itself is bogus, so the whole domain is deferred "
               "(RFC 7672 §2.2.1) before any MX host is known; its TLS-RPT record is bogus too, so nothing "
               "could be reported and no event is recorded"),
    dict(name="opportunistic", zone="insecure.test.", cert="self", verdict="opportunistic",
         probe="webpki untrusted", deliver=("delivered", "opportunistic", "success"),
         about="unsigned zone, self-signed MX, no TLSA, no MTA-STS"),
    dict(name="sts-enforce", zone="insecure.test.", cert="leaf", sts=("enforce", None, "ok"), verdict="mta-sts",
         probe="webpki ok", deliver=("delivered", "mta-sts", "success"),
         about="MTA-STS enforce listing the MX, MX certificate from the test root"),
    dict(name="sts-wrongca", zone="insecure.test.", cert="wrong", sts=("enforce", None, "ok"), verdict="mta-sts",
         probe="webpki untrusted", deliver=("deferred", "none", "certificate-not-trusted"),
         about="MTA-STS enforce, MX certificate from the wrong root"),
    dict(name="sts-mx-missing", zone="insecure.test.", cert="leaf",
         sts=("enforce", ["mx.elsewhere.insecure.test", "*.elsewhere.insecure.test"], "ok"), verdict="defer",
         probe="webpki ok", deliver=("deferred", "none", "validation-failure"),
         about="MTA-STS enforce whose mx patterns do not match the MX host"),
    dict(name="sts-testing", zone="insecure.test.", cert="wrong", sts=("testing", None, "ok"),
         verdict="mta-sts-testing", probe="webpki untrusted",
         deliver=("delivered", "opportunistic", "certificate-not-trusted"),
         about="MTA-STS testing, MX certificate from the wrong root"),
    dict(name="sts-cached", zone="insecure.test.", cert="leaf", sts=("enforce", None, "ok"), verdict="mta-sts",
         probe="webpki ok", deliver=("delivered", "mta-sts", "success"),
         about="policy fetched once, then withdrawn (404) with a new TXT id: the cache rules"),
    dict(name="dane-and-sts", zone="secure.test.", cert="leaf", tlsa="ee", sts=("enforce", None, "ok"),
         verdict="dane", probe="matched", deliver=("delivered", "dane-ee", "success"),
         about="usable TLSA and MTA-STS enforce: DANE wins (RFC 8461 §2)"),
    dict(name="nullmx", zone="secure.test.", nullmx=True, verdict="nullmx", probe=None,
         deliver=("bounced", "none", None),
         about="MX 0 . (RFC 7505): the domain accepts no mail"),
    dict(name="sts-huge", zone="insecure.test.", cert="leaf", sts=("enforce", None, "huge"), verdict="opportunistic",
         probe="webpki ok", deliver=("delivered", "opportunistic", "sts-policy-fetch-error"),
         about="policy body larger than 64 KiB: the fetch fails"),
    dict(name="sts-slow", zone="insecure.test.", cert="leaf", sts=("enforce", None, "slow"), verdict="opportunistic",
         probe="webpki ok", deliver=("delivered", "opportunistic", "sts-policy-fetch-error"),
         about="policy served at 8 bytes per second: the fetch times out"),
    dict(name="sts-redirect", zone="insecure.test.", cert="leaf", sts=("enforce", None, "redirect"),
         verdict="opportunistic", probe="webpki ok",
         deliver=("delivered", "opportunistic", "sts-policy-fetch-error"),
         about="301 to a valid policy on the same host: redirects MUST NOT be followed"),
    dict(name="sts-html", zone="insecure.test.", cert="leaf", sts=("enforce", None, "html"), verdict="opportunistic",
         probe="webpki ok", deliver=("delivered", "opportunistic", "sts-policy-fetch-error"),
         about="policy served as text/html: the media type MUST be text/plain"),
    dict(name="sts-badcert", zone="insecure.test.", cert="leaf", sts=("enforce", None, "badcert"),
         verdict="opportunistic", probe="webpki ok",
         deliver=("delivered", "opportunistic", "sts-webpki-invalid"),
         about="mta-sts host certificate from the wrong root: the HTTPS fetch fails"),
    dict(name="strip-dane", zone="secure.test.", cert="leaf", tlsa="ee", strip=True, verdict="dane",
         probe="no starttls", deliver=("deferred", "none", "starttls-not-supported"),
         about="usable TLSA of the real peer's leaf, but the MX address is a proxy that strips STARTTLS: "
               "DANE forbids clear text (RFC 7672 §2.2)"),
    dict(name="strip-sts", zone="insecure.test.", cert="leaf", strip=True, sts=("enforce", None, "ok"),
         verdict="mta-sts", probe="no starttls", deliver=("deferred", "none", "starttls-not-supported"),
         about="MTA-STS enforce listing the MX, good certificate behind a proxy that strips STARTTLS: "
               "enforce forbids clear text (RFC 8461 §5)"),
    dict(name="strip-opportunistic", zone="insecure.test.", cert="self", strip=True, verdict="opportunistic",
         probe="no starttls", deliver=("delivered", "none", "starttls-not-supported"),
         about="no TLSA, no MTA-STS, STARTTLS stripped: opportunistic TLS falls back to clear text, "
               "which is exactly the attack DANE and MTA-STS exist for"),
    dict(name="dane-requiretls", zone="secure.test.", cert="leaf", tlsa="ee", requiretls=True, verdict="dane",
         probe="matched", deliver=("bounced", "none", "success"),
         about="a good DANE-EE peer (Postfix 3.7, which does not offer REQUIRETLS); the message is sent with "
               "REQUIRETLS, so it must not be relayed there (RFC 8689 §4.2.1) and bounces (5.7.30)"),
]

# What an independent HTTPS client sees for each policy server kind.
FETCH = {"ok": "ok", "huge": "too large", "slow": "timeout", "redirect": "redirect",
         "html": "content type", "badcert": "cert untrusted"}
WEBPKI = {"leaf": "ok", "chain": "ok", "wrong": "untrusted", "self": "self-signed", "expired": "expired"}
ZONE_SECURITY = {"secure.test.": "secure", "insecure.test.": "insecure", "bogus.test.": "bogus"}


def _fqdn(name):
    return name.rstrip(".")


# --- PKI ----------------------------------------------------------------------

class Pki:
    """The test CA and certificates, made with the openssl CLI: one `openssl
    req -x509` per certificate (key, certificate and public key at once)."""

    def __init__(self, d):
        self.dir = d
        self.openssl = _need("openssl")
        os.makedirs(d, exist_ok=True)
        self.conf = os.path.join(d, "req.cnf")
        with open(self.conf, "w") as f:
            f.write("[req]\ndistinguished_name = dn\nprompt = no\n[dn]\n"
                    "[ca]\nbasicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\n"
                    "subjectKeyIdentifier = hash\n"
                    "[leaf]\nsubjectAltName = DNS:${ENV::TB_SAN}\nbasicConstraints = critical,CA:FALSE\n"
                    "keyUsage = critical,digitalSignature\nextendedKeyUsage = serverAuth\n"
                    "subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n"
                    "[self]\nsubjectAltName = DNS:${ENV::TB_SAN}\nbasicConstraints = critical,CA:FALSE\n"
                    "keyUsage = critical,digitalSignature\nextendedKeyUsage = serverAuth\n")

    def _path(self, name, ext):
        return os.path.join(self.dir, f"{name}.{ext}")

    def _req(self, name, subject, section, san="", ca=None, days="30"):
        """Makes NAME.key, NAME.crt and NAME.pub (the SubjectPublicKeyInfo)."""
        key = self._path(name, "key")
        cmd = [self.openssl, "req", "-x509", "-config", self.conf, "-extensions", section, "-newkey", "ec",
               "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-subj", subject, "-days", days,
               "-sha256", "-set_serial", "0x" + os.urandom(8).hex(), "-pubkey"]
        if ca:
            cmd += ["-CA", self._path(ca, "crt"), "-CAkey", self._path(ca, "key")]
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ, TB_SAN=san))
        if r.returncode != 0:
            raise TestbedError(f"openssl req for {name} failed: {r.stderr.decode(errors='replace').strip()}")
        # -pubkey writes the public key before the certificate.
        pub, _, crt = r.stdout.decode().partition("-----END PUBLIC KEY-----\n")
        with open(self._path(name, "pub"), "w") as f:
            f.write(pub + "-----END PUBLIC KEY-----\n")
        with open(self._path(name, "crt"), "w") as f:
            f.write(crt)
        os.chmod(key, 0o600)
        return self._path(name, "crt")

    def ca(self, name, cn):
        return self._req(name, f"/CN={cn}/O=mxsec test bed", "ca")

    def leaf(self, name, dns, ca):
        return self._req(name, f"/CN={dns}", "leaf", dns, ca)

    def self_signed(self, name, dns):
        return self._req(name, f"/CN={dns}", "self", dns)

    def _ext(self, name, dns):
        ext = self._path(name, "ext")
        with open(ext, "w") as f:
            f.write(f"subjectAltName=DNS:{dns}\nbasicConstraints=critical,CA:FALSE\n"
                    "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
                    "authorityKeyIdentifier=keyid\nsubjectKeyIdentifier=hash\n")
        return ext

    def _key_and_csr(self, name, cn):
        key, csr = self._path(name, "key"), self._path(name, "csr")
        out = _run([self.openssl, "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", key, "-subj", f"/CN={cn}", "-pubkey"]).decode()
        # -pubkey puts the SubjectPublicKeyInfo before the request.
        pub, _, req = out.partition("-----END PUBLIC KEY-----\n")
        with open(csr, "w") as f:
            f.write(req)
        with open(self._path(name, "pub"), "w") as f:
            f.write(pub + "-----END PUBLIC KEY-----\n")
        os.chmod(key, 0o600)
        return key, csr

    def expired(self, name, dns, ca):
        """A leaf whose validity ended in 2021 (openssl ca sets both dates)."""
        _, csr = self._key_and_csr(name, dns)
        cadir = os.path.join(self.dir, "ca-db")
        os.makedirs(os.path.join(cadir, "new"), exist_ok=True)
        open(os.path.join(cadir, "index.txt"), "w").close()
        with open(os.path.join(cadir, "serial"), "w") as f:
            f.write(os.urandom(8).hex() + "\n")
        conf = os.path.join(cadir, "ca.cnf")
        with open(conf, "w") as f:
            f.write(f"[ca]\ndefault_ca = tb\n[tb]\ndatabase = {cadir}/index.txt\nnew_certs_dir = {cadir}/new\n"
                    f"serial = {cadir}/serial\ndefault_md = sha256\npolicy = pol\nunique_subject = no\n"
                    "[pol]\ncommonName = supplied\n")
        crt = self._path(name, "crt")
        _run([self.openssl, "ca", "-batch", "-config", conf, "-cert", self._path(ca, "crt"),
              "-keyfile", self._path(ca, "key"), "-in", csr, "-out", crt, "-notext",
              "-startdate", "20210101000000Z", "-enddate", "20210201000000Z", "-extfile", self._ext(name, dns)],
             )
        return crt

    def spki_sha256(self, name):
        """SHA-256 of the DER SubjectPublicKeyInfo (TLSA selector 1, matching type 1)."""
        with open(self._path(name, "pub")) as f:
            return hashlib.sha256(_pem_der(f.read(), "PUBLIC KEY")).hexdigest()

    def cert_sha256(self, name):
        """SHA-256 of the DER certificate (TLSA selector 0, matching type 1)."""
        with open(self._path(name, "crt")) as f:
            return hashlib.sha256(_pem_der(f.read(), "CERTIFICATE")).hexdigest()

    def bundle(self, name, parts, out_name):
        """Concatenates PEM files (key first for Postfix's chain files)."""
        out = os.path.join(self.dir, out_name)
        with open(out, "w") as f:
            for p in parts:
                with open(p) as g:
                    f.write(g.read())
        os.chmod(out, 0o600)
        return out


def _pem_der(text, label):
    begin, end = f"-----BEGIN {label}-----", f"-----END {label}-----"
    body = text.split(begin, 1)[1].split(end, 1)[0]
    return base64.b64decode("".join(body.split()))


# --- helpers --------------------------------------------------------------------

def _port_free(addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind((addr, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def _wait_listening(endpoints, alive, seconds=10.0):
    """True when every (addr, port) accepts a TCP connection; False if alive()
    turns false or the time runs out."""
    deadline = time.monotonic() + seconds
    pending = list(endpoints)
    while pending and time.monotonic() < deadline:
        if not alive():
            return False
        still = []
        for addr, port in pending:
            try:
                socket.create_connection((addr, port), timeout=0.5).close()
            except OSError:
                still.append((addr, port))
        pending = still
        if pending:
            time.sleep(0.05)
    return not pending


def _cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().split(b"\0")
    except FileNotFoundError:
        return None


def _stop_checked(pid, binary, marker, sig=signal.SIGTERM):
    """Signals PID only if it still runs BINARY with MARKER on its command line."""
    cmd = _cmdline(pid)
    if not cmd or not _running(pid):
        return False
    if not cmd[0].endswith(binary.encode()) or marker.encode() not in b" ".join(cmd):
        raise TestbedError(f"PID {pid} is not the test bed's {binary} ({b' '.join(cmd).decode(errors='replace')})")
    os.kill(pid, sig)
    _wait_gone(pid)
    return True


def _spawn(cmd, out_path, pidfile, detach):
    """Starts CMD (a server that stays in the foreground) with its output
    appended to OUT_PATH, in a session of its own when DETACH, and records
    its PID in PIDFILE."""
    with open(out_path, "ab") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=detach)
    with open(pidfile, "w") as f:
        f.write(f"{proc.pid}\n")
    return proc


def _stop_spawned(proc, pidfile, binary, marker):
    """Stops what _spawn started: PROC when this process started it, else
    the PID in PIDFILE, and only if it still runs BINARY with MARKER on its
    command line (a detached bed stopped by `transport.py stop`)."""
    if proc is not None:
        _terminate(proc)
    elif os.path.exists(pidfile):
        with open(pidfile) as f:
            _stop_checked(int(f.read().strip()), binary, marker)
    if os.path.exists(pidfile):
        os.unlink(pidfile)


def _wait_gone(pid, seconds=10.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return
        except ChildProcessError:
            pass
        if not _running(pid):
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)


def _tail(path, n=30):
    if not os.path.exists(path):
        return f"({path} missing)"
    with open(path, errors="replace") as f:
        return f"--- {path}\n" + "".join(f.readlines()[-n:])


def _policy_text(mode, patterns):
    # RFC 8461 §3.2: key/value lines separated by CRLF.
    lines = ["version: STSv1", f"mode: {mode}"] + [f"mx: {p}" for p in patterns] + [f"max_age: {STS_MAX_AGE}"]
    return "".join(line + "\r\n" for line in lines)


def _sts_id():
    return "tb" + time.strftime("%Y%m%d%H%M%S", time.gmtime()) + os.urandom(3).hex()


# --- what the peers received ----------------------------------------------------

def _paren_group(text, start):
    """The text inside the parenthesis that opens at START (nesting counted)."""
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                return text[start + 1:i]
    return text[start + 1:]


def parse_received(value):
    """What Postfix's Received field (smtpd_tls_received_header = yes) says
    about the hop: {"tls": bool, "protocol": "ESMTPS"..., "tls_version",
    "tls_cipher", "tls_details"}. TLS is judged twice and both must agree:
    the RFC 3848 protocol name (ESMTPS/ESMTPSA/UTF8SMTPS...) and Postfix's
    "(using TLSvX with cipher ...)" comment; a disagreement raises."""
    text = re.sub(r"\r?\n[ \t]+", " ", value)
    m = re.search(r"\bwith ((?:UTF8)?E?SMTPS?A?)\b", text)
    protocol = m.group(1) if m else None
    using = text.find("(using ")
    details = _paren_group(text, using) if using >= 0 else None
    by_protocol = bool(protocol) and protocol.rstrip("A").endswith("S")
    if by_protocol != (details is not None):
        raise TestbedError(f"Received field contradicts itself about TLS: {text!r}")
    version = cipher = None
    if details:
        m = re.match(r"using (\S+) with cipher (\S+)", details)
        if m:
            version, cipher = m.groups()
    return {"tls": by_protocol, "protocol": protocol, "tls_version": version, "tls_cipher": cipher,
            "tls_details": details}


def read_maildir(path):
    """The messages of the Maildir at PATH (new/ and cur/), oldest first:
    dicts with "file", "message" (email.message.EmailMessage), "subject",
    "message_id", "to", "scenario" (X-Mxsec-Scenario), "received" (the
    topmost Received field: the peer's own) and the parse_received() keys
    ("tls": whether the message arrived over TLS, "tls_details", ...)."""
    files = []
    for sub in ("new", "cur"):
        d = os.path.join(path, sub)
        if os.path.isdir(d):
            files += [os.path.join(d, n) for n in os.listdir(d) if not n.startswith(".")]
    out = []
    for f in sorted(files, key=lambda p: (os.stat(p).st_mtime, p)):
        with open(f, "rb") as fh:
            msg = email.message_from_binary_file(fh, policy=email.policy.compat32)
        received = msg.get_all("Received") or []
        top = str(received[0]) if received else ""
        entry = {"file": f, "message": msg, "subject": msg.get("Subject"), "message_id": msg.get("Message-ID"),
                 "to": msg.get("To"), "scenario": msg.get("X-Mxsec-Scenario"), "received": top}
        entry.update(parse_received(top) if top else {"tls": None, "protocol": None, "tls_version": None,
                                                      "tls_cipher": None, "tls_details": None})
        out.append(entry)
    return out


def read_strip_log(path, name=None, since=None):
    """Connections in the proxy's JSON-lines log (strip_proxy.py), for route
    NAME or all, opened at or after SINCE (Unix time) if given: the "close"
    record's counters, "closed" (False while the connection is open),
    "route", "conn", "client", "time" (of the connect) and every record
    under "events"."""
    conns = {}
    if not os.path.exists(path):
        return []
    with open(path) as f:
        for line in f:
            if not line.endswith("\n"):
                break   # a record being written
            r = json.loads(line)
            if name is not None and r["route"] != name:
                continue
            c = conns.setdefault((r["route"], r["conn"]), {"route": r["route"], "conn": r["conn"], "closed": False,
                                                             "events": []})
            c["events"].append(r)
            if r["event"] == "connect":
                c["client"], c["time"] = r["client"], r["time"]
            elif r["event"] == "close":
                c.update({k: v for k, v in r.items() if k not in ("event", "time")})
                c["closed"] = True
    return [c for c in conns.values() if since is None or c.get("time", 0) >= since - 0.001]


def swaks(server, recipient, scenario, sender="tester@sender.test", tls=False, extra=(), timeout=60):
    """Sends one test message with swaks (Debian package swaks) to SERVER
    ("ADDR" or "ADDR:PORT"): header X-Mxsec-Scenario: SCENARIO, a unique
    Subject. TLS: STARTTLS required (swaks -tls, certificate not checked).
    Returns (exit code, transcript, subject)."""
    subject = f"mxsec test bed {scenario} {os.urandom(4).hex()}"
    cmd = [_need("swaks"), "--server", server, "--from", sender, "--to", recipient, "--helo", "client.test",
           "--header", f"Subject: {subject}", "--header", f"X-Mxsec-Scenario: {scenario}",
           "--body", f"test message for scenario {scenario}\n", "--timeout", "30", *extra]
    if tls:
        cmd.append("-tls")
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                       timeout=timeout)
    return r.returncode, r.stdout.decode(errors="replace"), subject


# --- the transport test bed --------------------------------------------------------

class TransportTestbed:
    def __init__(self, state_dir, mx_net="127.0.25", sts_net="127.0.44", dns_addr=testbed.DEFAULT_ADDR,
                 dns_port=0, detach=False, strip_net="127.0.26"):
        self.dir = os.path.abspath(state_dir)
        self.mail_dir = os.path.join(self.dir, "mail")       # Postfix's virtual_mailbox_base
        self.strip_dir = os.path.join(self.dir, "strip")     # the stripping proxy's log and PID
        self.strip_log_file = os.path.join(self.strip_dir, "proxy.jsonl")
        self.mx_net, self.sts_net, self.strip_net = mx_net, sts_net, strip_net
        for net in (mx_net, sts_net, strip_net):
            _check_loopback(net + ".1")
        _check_loopback(dns_addr)
        self.dns_addr, self.dns_port = dns_addr, dns_port
        self.detach = detach
        self.dns = None
        self.nginx = None
        self.nginx_pid = None
        self.proxy = None
        self.proxy_pid = None
        self.postfix_started = False
        self.env = {}
        self.scenarios = {}
        self._sts_files = {}
        self._old_sigterm = None

    # -- paths -------------------------------------------------------------
    @property
    def pfx_conf(self):
        return os.path.join(self.dir, "postfix", "conf")

    @property
    def ngx_dir(self):
        return os.path.join(self.dir, "nginx")

    # -- build -------------------------------------------------------------
    def _build(self):
        pki = Pki(os.path.join(self.dir, "pki"))
        self.ca_file = pki.ca("root", ROOT_CN)
        self.wrong_ca_file = pki.ca("wrong", WRONG_CN)
        lines = {z: [] for z in testbed.ZONES}
        broken = {}
        mx_n = sts_n = strip_n = 0
        table = []
        for sc in SCENARIOS:
            name, zone = sc["name"], sc["zone"]
            domain = f"{name}.{zone}"
            outcome, tls, rpt = sc["deliver"]
            entry = {"name": name, "about": sc["about"], "domain": _fqdn(domain), "zone": _fqdn(zone),
                     "dnssec": ZONE_SECURITY[zone],
                     "nullmx": bool(sc.get("nullmx")), "verdict": sc["verdict"], "mx": [], "mta_sts": None,
                     "tlsrpt": None, "recipient": f"user@{_fqdn(domain)}", "requiretls": bool(sc.get("requiretls")),
                     "mailbox": os.path.join(self.mail_dir, name),
                     "expect": {"outcome": outcome, "tls": tls, "tlsrpt_result": rpt,
                                "mail_in_clear": (tls == "none" and outcome == "delivered") if sc.get("strip")
                                else None}}
            if sc.get("nullmx"):
                lines[zone].append(f"{domain} {TTL} IN MX 0 .")
                table.append(entry)
                continue
            mx_n += 1
            mx_zone = sc.get("mx_zone", zone)
            host = f"mx.{name}.{mx_zone}"
            addr = peer_addr = f"{self.mx_net}.{mx_n}"
            if sc.get("strip"):
                strip_n += 1
                addr = f"{self.strip_net}.{strip_n}"
            kind = sc["cert"]
            cname = f"mx-{name}"
            if kind == "self":
                pki.self_signed(cname, _fqdn(host))
            elif kind == "expired":
                pki.expired(cname, _fqdn(host), "root")
            else:
                pki.leaf(cname, _fqdn(host), "wrong" if kind == "wrong" else "root")
            crt = pki._path(cname, "crt")
            chain_parts = [pki._path(cname, "key"), crt] + ([self.ca_file] if kind == "chain" else [])
            chain = pki.bundle(cname, chain_parts, f"{cname}.chain.pem")
            lines[zone].append(f"{domain} {TTL} IN MX 10 {host}")
            lines[mx_zone].append(f"{host} {TTL} IN A {addr}")
            tlsa = []
            if sc.get("tlsa") == "ee":
                tlsa = [f"3 1 1 {pki.spki_sha256(cname)}"]
            elif sc.get("tlsa") == "ta":
                tlsa = [f"2 1 1 {pki.spki_sha256('root')}"]
            elif sc.get("tlsa") == "unusable":
                tlsa = [f"1 1 1 {pki.spki_sha256(cname)}", f"0 0 1 {pki.cert_sha256('wrong')}"]
            elif sc.get("tlsa") == "junk":
                tlsa = [f"3 1 1 {hashlib.sha256(b'mxsec testbed: matches no key ' + name.encode()).hexdigest()}"]
            tlsa_name = f"_25._tcp.{host}"
            for t in tlsa:
                lines[mx_zone].append(f"{tlsa_name} {TTL} IN TLSA {t}")
            if sc.get("broken_tlsa"):
                broken.setdefault(mx_zone, []).append((tlsa_name, "TLSA"))
            mx_zone_sec = ZONE_SECURITY[mx_zone]
            if not tlsa:
                tlsa_sec = None
            elif sc.get("broken_tlsa"):
                tlsa_sec = "bogus"
            else:
                tlsa_sec = mx_zone_sec
            starttls = sc.get("starttls", True) and not sc.get("strip")
            dane = None
            if tlsa and tlsa_sec == "secure":
                dane = {"junk": "no match", "unusable": "unusable"}.get(sc["tlsa"], "matched")
            entry["mx"].append({
                "host": _fqdn(host), "preference": 10, "addr": addr, "port": 25,
                "host_dnssec": mx_zone_sec, "tlsa_name": _fqdn(tlsa_name), "tlsa": tlsa, "tlsa_dnssec": tlsa_sec,
                "starttls": starttls,
                "cert": {"kind": kind, "file": crt, "chain_file": chain, "name": _fqdn(host),
                         "issuer": {"self": _fqdn(host), "wrong": WRONG_CN}.get(kind, ROOT_CN),
                         "spki_sha256": pki.spki_sha256(cname), "sha256": pki.cert_sha256(cname)},
                "dane": dane, "webpki": WEBPKI[kind],
                "verdict": sc["verdict"], "probe": sc["probe"],
                # The Postfix listener that receives for this MX host: at
                # `addr` itself, or behind the stripping proxy at `addr`.
                "peer": {"addr": peer_addr, "port": 25, "starttls": sc.get("starttls", True)},
                "strip": {"proxy": addr, "port": 25, "log": self.strip_log_file} if sc.get("strip") else None,
            })
            rpt = f"v=TLSRPTv1; rua=mailto:tlsrpt@{_fqdn(domain)}"
            lines[zone].append(f"_smtp._tls.{domain} {TTL} IN TXT {_txt(rpt)}")
            entry["tlsrpt"] = rpt
            if sc.get("sts"):
                mode, patterns, server = sc["sts"]
                sts_n += 1
                sts_host = f"mta-sts.{domain}"
                sts_addr = f"{self.sts_net}.{sts_n}"
                sname = f"sts-{name}"
                pki.leaf(sname, _fqdn(sts_host), "wrong" if server == "badcert" else "root")
                patterns = patterns or [_fqdn(host)]
                policy = _policy_text(mode, patterns)
                sid = _sts_id()
                txt = f"v=STSv1; id={sid};"
                lines[zone].append(f"_mta-sts.{domain} {STS_TXT_TTL} IN TXT {_txt(txt)}")
                lines[zone].append(f"{sts_host} {TTL} IN A {sts_addr}")
                entry["mta_sts"] = {
                    "txt_name": f"_mta-sts.{_fqdn(domain)}", "txt": txt, "id": sid,
                    "host": _fqdn(sts_host), "addr": sts_addr, "port": 443,
                    "url": f"https://{_fqdn(sts_host)}/.well-known/mta-sts.txt",
                    "mode": mode, "mx_patterns": patterns, "max_age": STS_MAX_AGE, "policy": policy,
                    "server": server, "fetch": FETCH[server],
                    "cert": {"file": pki._path(sname, "crt"), "key": pki._path(sname, "key"),
                             "issuer": WRONG_CN if server == "badcert" else ROOT_CN},
                }
            table.append(entry)
        # Extra lines are written with absolute owner names, so the zone files
        # can be edited at run time by owner (update_zone).
        extra = {}
        os.makedirs(os.path.join(self.dir, "extra"), exist_ok=True)
        for z, ls in lines.items():
            if ls:
                p = os.path.join(self.dir, "extra", f"{z}lines")
                with open(p, "w") as f:
                    f.write("\n".join(ls) + "\n")
                extra[z] = p
        return table, extra, broken

    # -- nginx ---------------------------------------------------------------
    def _nginx_conf(self, table):
        d = self.ngx_dir
        for sub in ("www", "tmp", "logs"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        servers = []
        for e in table:
            s = e["mta_sts"]
            if not s:
                continue
            www = os.path.join(d, "www", s["host"], ".well-known")
            os.makedirs(www, exist_ok=True)
            body = s["policy"]
            if s["server"] == "huge":
                # A valid policy, padded with extension fields (RFC 8461 §3.2)
                # past the 64 KiB limit: only the size makes it unacceptable.
                pad = "".join(f"x-pad{i}: {'a' * 60}\r\n" for i in range(STS_MAX_BYTES // 70 + 64))
                body = body + pad
            policy_file = os.path.join(www, "mta-sts.txt")
            with open(policy_file, "w", newline="") as f:
                f.write(body)
            self._sts_files[e["name"]] = policy_file
            s["policy_file"] = policy_file
            s["body_bytes"] = len(body.encode())
            loc = "location = /.well-known/mta-sts.txt { }"
            if s["server"] == "slow":
                loc = "location = /.well-known/mta-sts.txt { limit_rate 8; }"
            elif s["server"] == "html":
                loc = "location = /.well-known/mta-sts.txt { default_type text/html; }"
            elif s["server"] == "redirect":
                os.rename(policy_file, os.path.join(www, "mta-sts-real.txt"))
                s["policy_file"] = os.path.join(www, "mta-sts-real.txt")
                self._sts_files[e["name"]] = s["policy_file"]
                loc = ("location = /.well-known/mta-sts.txt {\n"
                       f"            return 301 https://{s['host']}/.well-known/mta-sts-real.txt;\n        }}\n"
                       "        location = /.well-known/mta-sts-real.txt { }")
            servers.append(f"""    server {{
        listen {s['addr']}:443 ssl;
        server_name {s['host']};
        ssl_certificate {s['cert']['file']};
        ssl_certificate_key {s['cert']['key']};
        root {os.path.join(d, 'www', s['host'])};
        {loc}
        location / {{ return 404; }}
    }}""")
        conf = f"""# generated by tests/testbed/transport.py
daemon off;
master_process off;
pid {d}/nginx.pid;
lock_file {d}/nginx.lock;
error_log {d}/logs/error.log info;
events {{ worker_connections 256; }}
http {{
    access_log {d}/logs/access.log;
    client_body_temp_path {d}/tmp/body;
    proxy_temp_path {d}/tmp/proxy;
    fastcgi_temp_path {d}/tmp/fastcgi;
    uwsgi_temp_path {d}/tmp/uwsgi;
    scgi_temp_path {d}/tmp/scgi;
    types {{ }}
    default_type text/plain;
    charset off;
    server_tokens off;
    sendfile off;
    keepalive_timeout 5;
    ssl_protocols TLSv1.2 TLSv1.3;
{chr(10).join(servers)}
}}
"""
        path = os.path.join(d, "nginx.conf")
        with open(path, "w") as f:
            f.write(conf)
        return path

    def _start_nginx(self, table):
        nginx = _need("nginx")
        conf = self._nginx_conf(table)
        endpoints = [(e["mta_sts"]["addr"], 443) for e in table if e["mta_sts"]]
        for addr, port in endpoints:
            if not _port_free(addr, port):
                raise TestbedError(f"{addr}:{port} is already in use; stop whatever listens there "
                                   "(or pick another --sts-net)")
        _run([nginx, "-t", "-q", "-p", self.ngx_dir + "/", "-e", os.path.join(self.ngx_dir, "logs", "error.log"),
              "-c", conf])
        self.nginx = _spawn([nginx, "-p", self.ngx_dir + "/", "-e", os.path.join(self.ngx_dir, "logs", "error.log"),
                             "-c", conf], os.path.join(self.ngx_dir, "logs", "nginx.out"),
                            os.path.join(self.ngx_dir, "nginx.started.pid"), self.detach)
        self.nginx_pid = self.nginx.pid
        if not _wait_listening(endpoints, lambda: self.nginx.poll() is None):
            raise TestbedError("nginx did not come up\n" + _tail(os.path.join(self.ngx_dir, "logs", "error.log")) +
                               _tail(os.path.join(self.ngx_dir, "logs", "nginx.out")))

    def _stop_nginx(self):
        _stop_spawned(self.nginx, os.path.join(self.ngx_dir, "nginx.started.pid"), "nginx",
                      os.path.join(self.ngx_dir, "nginx.conf"))
        self.nginx = self.nginx_pid = None

    # -- STARTTLS-stripping proxy -------------------------------------------------
    def _start_proxy(self, table):
        routes = [(e["name"], mx["strip"]["proxy"], mx["peer"]["addr"]) for e in table for mx in e["mx"]
                  if mx["strip"]]
        if not routes:
            return
        os.makedirs(self.strip_dir, exist_ok=True)
        for _, addr, _ in routes:
            if not _port_free(addr, 25):
                raise TestbedError(f"{addr}:25 is already in use; stop whatever listens there "
                                   "(or pick another --strip-net)")
        cmd = [PYTHON, os.path.join(HERE, "strip_proxy.py"), "--log", self.strip_log_file]
        for name, addr, peer in routes:
            cmd += ["--route", f"{name}={addr}:25={peer}:25"]
        self.proxy = _spawn(cmd, os.path.join(self.strip_dir, "proxy.out"), os.path.join(self.strip_dir, "proxy.pid"),
                            self.detach)
        self.proxy_pid = self.proxy.pid
        if not _wait_listening([(addr, 25) for _, addr, _ in routes], lambda: self.proxy.poll() is None):
            raise TestbedError("the STARTTLS-stripping proxy did not come up\n" +
                               _tail(os.path.join(self.strip_dir, "proxy.out")))

    def _stop_proxy(self):
        _stop_spawned(self.proxy, os.path.join(self.strip_dir, "proxy.pid"), os.path.basename(PYTHON),
                      self.strip_log_file)
        self.proxy = self.proxy_pid = None

    # -- Postfix ---------------------------------------------------------------
    def _postfix_conf(self, table):
        base = os.path.join(self.dir, "postfix")
        conf, queue, data = self.pfx_conf, os.path.join(base, "queue"), os.path.join(base, "data")
        for p in (conf, queue, data):
            os.makedirs(p, exist_ok=True)
        shutil.chown(data, "postfix")
        # Postfix's daemons run as `postfix` and chdir into the queue
        # directory; keep the path to it traversable.
        for p in (self.dir, base):
            os.chmod(p, 0o755)
        parent = os.path.dirname(self.dir)
        while parent != "/":
            if not os.stat(parent).st_mode & 0o001:
                raise TestbedError(f"{parent} is not searchable by others; Postfix's daemons (user postfix) "
                                   f"must reach {base}: chmod o+x {parent} or choose another state directory")
            parent = os.path.dirname(parent)
        # One Maildir per scenario, written by the virtual(8) delivery agent
        # as MAIL_UID:MAIL_GID; made here so an empty one reads as empty.
        uid, gid = pwd.getpwnam(MAIL_USER).pw_uid, grp.getgrnam(MAIL_GROUP).gr_gid
        for e in [None] + [e for e in table if e["mx"]]:
            top = self.mail_dir if e is None else e["mailbox"]
            for sub in ([""] if e is None else ["", "new", "cur", "tmp"]):
                os.makedirs(os.path.join(top, sub), exist_ok=True)
                os.chown(os.path.join(top, sub), uid, gid)
                os.chmod(os.path.join(top, sub), 0o755)
        with open(os.path.join(conf, "vmailbox"), "w") as f:
            for e in table:
                if e["mx"]:
                    f.write(f"@{e['domain']} {e['name']}/\n")
        first_chain = None
        listeners = []
        for e in table:
            for mx in e["mx"]:
                first_chain = first_chain or mx["cert"]["chain_file"]
                peer = mx["peer"]
                opts = [f"-o myhostname={mx['host']}", f"-o smtpd_tls_chain_files={mx['cert']['chain_file']}"]
                opts.append("-o smtpd_tls_security_level=" + ("may" if peer["starttls"] else "none"))
                listeners.append(f"{peer['addr']}:25 inet n - n - - smtpd\n  " + "\n  ".join(opts))
        domains = ",\n    ".join(e["domain"] for e in table if e["mx"])
        main = f"""# generated by tests/testbed/transport.py: the MX peers. Each listener
# speaks EHLO and STARTTLS as its scenario says, accepts mail for the
# scenario domains only and stores it in DIR/mail/<scenario>/ (Maildir);
# nothing is ever sent out.
compatibility_level = 3.6
queue_directory = {queue}
data_directory = {data}
maillog_file = {base}/maillog
maillog_file_prefixes = {base}
inet_interfaces = loopback-only
inet_protocols = ipv4
myhostname = mx.testbed.test
mydestination =
relay_domains =
local_recipient_maps =
alias_maps =
alias_database =
biff = no
virtual_mailbox_domains = {domains}
virtual_mailbox_base = {self.mail_dir}
virtual_mailbox_maps = texthash:{conf}/vmailbox
virtual_uid_maps = static:{uid}
virtual_gid_maps = static:{gid}
default_transport = error:5.7.1 the mxsec test bed delivers nothing elsewhere
relay_transport = error:5.7.1 the mxsec test bed delivers nothing elsewhere
smtpd_relay_restrictions = reject_unauth_destination
smtpd_recipient_restrictions =
smtpd_tls_security_level = may
smtpd_tls_chain_files = {first_chain}
smtpd_tls_session_cache_database =
smtpd_tls_loglevel = 1
# The Received field says whether the hop used TLS, and which (RFC 3848
# "with ESMTPS"; "(using TLSv1.3 with cipher ...)").
smtpd_tls_received_header = yes
smtpd_banner = $myhostname ESMTP mxsec test bed
"""
        with open(os.path.join(conf, "main.cf"), "w") as f:
            f.write(main)
        with open(os.path.join(conf, "master.cf"), "w") as f:
            f.write("# generated by tests/testbed/transport.py from Debian's master.cf\n" + master_cf(listeners))
        # Postfix re-reads a configuration file written in the current second
        # until it is stable (300 ms steps, over 2 s in all); date them back.
        past = time.time() - 60
        for name in ("main.cf", "master.cf", "vmailbox"):
            os.utime(os.path.join(conf, name), (past, past))
        return [(mx["peer"]["addr"], 25) for e in table for mx in e["mx"]]

    def _master_pid(self):
        p = os.path.join(self.dir, "postfix", "queue", "pid", "master.pid")
        try:
            with open(p) as f:
                return int(f.read().strip())
        except (FileNotFoundError, ValueError):
            return None

    def _start_postfix(self, table):
        postfix = _need("postfix")
        endpoints = self._postfix_conf(table)
        for addr, port in endpoints:
            if not _port_free(addr, port):
                raise TestbedError(f"{addr}:{port} is already in use (another MTA running?); stop it first "
                                   "(or pick another --mx-net)")
        # Output to a file, not a pipe: the daemons would inherit the pipe
        # and keep it open.
        out_path = os.path.join(self.dir, "postfix", "start.out")
        with open(out_path, "wb") as out:
            r = subprocess.run([postfix, "-c", self.pfx_conf, "start"], stdout=out, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL)
        self.postfix_started = True
        log = os.path.join(self.dir, "postfix", "maillog")
        if r.returncode != 0:
            raise TestbedError("postfix start failed:\n" + _tail(out_path) + _tail(log))
        with open(os.path.join(self.dir, "postfix", "started"), "w") as f:
            f.write(f"{self._master_pid()}\n")

        def alive():
            pid = self._master_pid()
            return pid is None or _running(pid)
        if not _wait_listening(endpoints, alive):
            raise TestbedError("Postfix listeners did not come up\n" + _tail(log))

    def _stop_postfix(self):
        marker = os.path.join(self.dir, "postfix", "started")
        if not self.postfix_started and not os.path.exists(marker):
            return
        pid = self._master_pid()
        subprocess.run([_need("postfix"), "-c", self.pfx_conf, "stop"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        if pid:
            _wait_gone_master(pid)
        self.postfix_started = False
        if os.path.exists(marker):
            os.unlink(marker)

    # -- run ---------------------------------------------------------------------
    def start(self):
        os.makedirs(self.dir, exist_ok=True)
        if os.geteuid() != 0:
            raise TestbedError("the transport test bed must run as root (ports 25 and 443, Postfix)")
        try:
            table, extra, broken = self._build()
            self.dns = testbed.Testbed(self.dir, self.dns_addr, self.dns_port, extra=extra, detach=self.detach,
                                       broken_rrsigs=broken)
            self.dns.start()
            with open(os.path.join(self.dir, "dns-state.json"), "w") as f:
                json.dump({"keys": self.dns._keys, "broken_rrsigs": self.dns.broken_rrsigs}, f)
            self._start_nginx(table)
            self._start_postfix(table)
            self._start_proxy(table)
        except BaseException:
            try:
                self.stop()
            except TestbedError as e:
                print(f"transport: while cleaning up: {e}", file=sys.stderr)
            raise
        self.scenarios = {e["name"]: e for e in table}
        self.env = dict(self.dns.env)
        self.env.update({
            "MXSEC_TB_CA_FILE": self.ca_file,
            "MXSEC_TB_WRONG_CA_FILE": self.wrong_ca_file,
            "MXSEC_TB_SCENARIOS": os.path.join(self.dir, "scenarios.json"),
            "MXSEC_TB_MX_NET": self.mx_net,
            "MXSEC_TB_STS_NET": self.sts_net,
            "MXSEC_TB_STRIP_NET": self.strip_net,
            "MXSEC_TB_MAIL_DIR": self.mail_dir,
            "MXSEC_TB_STRIP_LOG": self.strip_log_file,
            "MXSEC_TB_PROXY_PID": str(self.proxy_pid),
            "MXSEC_TB_NGINX_PID": str(self.nginx_pid),
            "MXSEC_TB_POSTFIX_CONFIG": self.pfx_conf,
            "MXSEC_TB_POSTFIX_PID": str(self._master_pid()),
        })
        self._write_outputs()
        return self

    def _write_outputs(self):
        with open(os.path.join(self.dir, "testbed.env"), "w") as f:
            for k, v in self.env.items():
                f.write(f"{k}={v}\n")
        with open(os.path.join(self.dir, "testbed.json"), "w") as f:
            json.dump(self.env, f, indent=2)
        doc = {"version": 1, "env": self.env, "resolver": self.env["MXSEC_TB_RESOLVER"],
               "trust_anchor": self.env["MXSEC_TB_TRUST_ANCHOR"], "ca_file": self.ca_file,
               "private_zone": "test", "scenarios": list(self.scenarios.values())}
        tmp = os.path.join(self.dir, "scenarios.json.tmp")
        with open(tmp, "w") as f:
            json.dump(doc, f, indent=2)
        os.rename(tmp, os.path.join(self.dir, "scenarios.json"))

    def stop(self):
        """Stops what this test bed started; safe to call more than once."""
        errors = []
        for step in (self._stop_proxy, self._stop_postfix, self._stop_nginx, self._stop_dns):
            try:
                step()
            except (TestbedError, OSError) as e:
                errors.append(str(e))
        if errors:
            raise TestbedError("; ".join(errors))

    def _stop_dns(self):
        if self.dns is not None:
            self.dns.stop()
            self.dns = None
        else:
            pidfile = os.path.join(self.dir, "knotd.pid")
            if os.path.exists(pidfile):
                with open(pidfile) as f:
                    testbed.stop_pid(int(f.read().strip()), os.path.join(self.dir, "knot.conf"))
                os.unlink(pidfile)

    def __enter__(self):
        # SIGTERM (ctest timeout, CI cancel) unwinds through __exit__.
        try:
            self._old_sigterm = signal.signal(signal.SIGTERM, _raise_exit)
        except ValueError:  # not the main thread
            self._old_sigterm = None
        return self.start()

    def __exit__(self, *exc):
        try:
            self.stop()
        finally:
            if self._old_sigterm is not None:
                signal.signal(signal.SIGTERM, self._old_sigterm)
        return False

    # -- run-time changes ------------------------------------------------------------
    def update_zone(self, zone, edit):
        """See testbed.Testbed.update_zone (edit unsigned lines, re-sign, reload)."""
        if self.dns is None:
            raise TestbedError("update_zone: the DNS test bed is not running in this process")
        self.dns.update_zone(zone, edit)

    def set_sts_id(self, name, new_id=None):
        """Publishes a new id in the scenario's _mta-sts TXT record; returns it."""
        e = self.scenarios[name]
        s = e["mta_sts"]
        new_id = new_id or _sts_id()
        owner = s["txt_name"] + "."
        new_txt = f"v=STSv1; id={new_id};"

        def edit(lines):
            out = []
            hit = False
            for line in lines:
                f = line.split()
                if len(f) > 3 and f[0] == owner and f[3] == "TXT":
                    line = f"{owner} {STS_TXT_TTL} IN TXT {_txt(new_txt)}"
                    hit = True
                out.append(line)
            if not hit:
                raise TestbedError(f"no TXT at {owner}")
            return out
        self.update_zone(e["zone"] + ".", edit)
        s["id"], s["txt"] = new_id, new_txt
        self._write_outputs()
        return new_id

    def set_sts_available(self, name, available):
        """Makes the scenario's policy URL answer 404 (False) or serve the
        policy again (True), by renaming the file nginx serves."""
        path = self._sts_files.get(name) or self.scenarios[name]["mta_sts"]["policy_file"]
        hidden = path + ".withdrawn"
        if available and os.path.exists(hidden):
            os.rename(hidden, path)
        elif not available and os.path.exists(path):
            os.rename(path, hidden)
        self.scenarios[name]["mta_sts"]["available"] = bool(available)
        self._write_outputs()

    def sts_withdraw(self, name="sts-cached"):
        """sts-cached, phase 2: the policy is gone (404) and the TXT id changed.
        A sender holding the unexpired cached policy keeps applying it
        (RFC 8461 §3.3, §5.1); one without it delivers as if no MTA-STS."""
        self.set_sts_available(name, False)
        return self.set_sts_id(name)

    # -- what the peers received ---------------------------------------------------
    def mailbox(self, name, count=None, timeout=10.0):
        """The messages Postfix stored for scenario NAME (read_maildir()),
        oldest first. With COUNT, waits up to TIMEOUT seconds until at least
        that many are there (Postfix delivers a moment after its 250)."""
        path = self.scenarios[name]["mailbox"]
        deadline = time.monotonic() + (timeout if count else 0)
        while True:
            msgs = read_maildir(path)
            if count is None or len(msgs) >= count or time.monotonic() >= deadline:
                return msgs
            time.sleep(0.1)

    def clear_mailboxes(self):
        """Empties every scenario's Maildir (new/ and cur/)."""
        for e in self.scenarios.values():
            for sub in ("new", "cur"):
                d = os.path.join(e["mailbox"], sub)
                for n in os.listdir(d) if os.path.isdir(d) else ():
                    os.unlink(os.path.join(d, n))

    def strip_log(self, name=None, timeout=5.0, since=None):
        """The stripping proxy's connections (for scenario NAME, or all), as
        their "close" summaries (strip_proxy.py) with the connection's other
        records under "events"; with SINCE (time.time() value), only those
        opened since then (the bed's own readiness probes at start are
        connections too). Waits up to TIMEOUT seconds for connections that
        are still open to close."""
        deadline = time.monotonic() + timeout
        while True:
            conns = read_strip_log(self.strip_log_file, name, since)
            if all(c.get("closed") for c in conns) or time.monotonic() >= deadline:
                return conns
            time.sleep(0.1)


def _raise_exit(signum, _frame):
    raise SystemExit(128 + signum)


def _wait_gone_master(pid, seconds=10.0):
    """`postfix stop` signals master and returns; wait for master to go,
    then, as a last resort, kill it (only if it still is Postfix's master)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _running(pid):
            return
        time.sleep(0.05)
    cmd = _cmdline(pid)
    if cmd and cmd[0].endswith(b"/master"):
        os.kill(pid, signal.SIGKILL)


# --- command line -------------------------------------------------------------------

def _load(d):
    """A TransportTestbed for a detached bed started earlier in D (stop, withdraw)."""
    tb = TransportTestbed(d, detach=True)
    p = os.path.join(tb.dir, "scenarios.json")
    if os.path.exists(p):
        with open(p) as f:
            doc = json.load(f)
        tb.scenarios = {e["name"]: e for e in doc["scenarios"]}
        tb.env = doc["env"]
        tb.ca_file = doc["ca_file"]
        tb.wrong_ca_file = doc["env"].get("MXSEC_TB_WRONG_CA_FILE")
    return tb


class _DetachedDns(testbed.Testbed):
    """Re-attaches to a detached knotd for update_zone: which keys sign which
    zone, and the deliberate damage, were recorded at start."""

    def __init__(self, d, env):
        super().__init__(d, env["MXSEC_TB_ADDR"], int(env["MXSEC_TB_PORT"]))
        with open(os.path.join(self.dir, "dns-state.json")) as f:
            state = json.load(f)
        self._keys = state["keys"]
        self.broken_rrsigs = {z: [tuple(x) for x in v] for z, v in state["broken_rrsigs"].items()}


def main(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("start", help="build everything and start knotd, nginx, Postfix (detached)")
    s.add_argument("--dir", required=True)
    s.add_argument("--mx-net", default="127.0.25", help="MX hosts listen on MX_NET.N:25")
    s.add_argument("--sts-net", default="127.0.44", help="mta-sts hosts listen on STS_NET.N:443")
    s.add_argument("--strip-net", default="127.0.26", help="the STARTTLS-stripping proxy listens on STRIP_NET.N:25")
    s.add_argument("--addr", default=testbed.DEFAULT_ADDR, help="knotd address")
    s.add_argument("--port", type=int, default=0, help="knotd port (default: a free one)")
    t = sub.add_parser("stop", help="stop what `start` started for --dir")
    t.add_argument("--dir", required=True)
    w = sub.add_parser("sts-withdraw", help="make a scenario's policy 404 and change its TXT id")
    w.add_argument("--dir", required=True)
    w.add_argument("--scenario", default="sts-cached")
    m = sub.add_parser("mailbox", help="print a scenario's received messages as JSON (tls yes/no, details)")
    m.add_argument("--dir", required=True)
    m.add_argument("--scenario", required=True)
    g = sub.add_parser("strip-log", help="print the stripping proxy's connections as JSON")
    g.add_argument("--dir", required=True)
    g.add_argument("--scenario")
    args = p.parse_args(argv)
    try:
        if args.cmd == "start":
            tb = TransportTestbed(args.dir, args.mx_net, args.sts_net, args.addr, args.port, detach=True,
                                  strip_net=args.strip_net)
            tb.start()
            for k, v in tb.env.items():
                print(f"{k}={v}")
        elif args.cmd == "stop":
            _load(args.dir).stop()
        elif args.cmd == "mailbox":
            msgs = _load(args.dir).mailbox(args.scenario)
            print(json.dumps([{k: v for k, v in m.items() if k != "message"} for m in msgs], indent=2))
        elif args.cmd == "strip-log":
            print(json.dumps(_load(args.dir).strip_log(args.scenario, timeout=0), indent=2))
        else:
            tb = _load(args.dir)
            tb.dns = _DetachedDns(tb.dir, tb.env)
            try:
                print(tb.sts_withdraw(args.scenario))
            finally:
                tb.dns = None  # a detached knotd keeps running
    except TestbedError as e:
        print(f"transport: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
