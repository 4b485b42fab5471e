#!/usr/bin/python3
"""DNSSEC test bed: a private, signed `test.` TLD served by Knot DNS on loopback.

Everything is made at start time in a state directory: DNSSEC keys
(ldns-keygen), DKIM keys (openssl), zone files, signatures (ldns-signzone),
the trust anchor, and a knotd configuration. knotd is started as a child of
this process (or detached, with the `start` command) and is stopped only by
the PID recorded at start.

Zones (see README.md for the records):
  test.           signed; its DS is the trust anchor (trust-anchor.ds)
  secure.test.    signed, DS in test.            -> secure
  insecure.test.  unsigned, no DS in test.       -> insecure
  bogus.test.     signed, DS in test. names a key the zone does not use -> bogus
  tampered.secure.test. TXT is changed after signing -> bogus in a secure zone

Use as a program:
  testbed.py start --dir DIR [--addr 127.0.53.1] [--port N] [--extra ZONE=FILE]...
                   [--dkim-record SEL=FILE]... [--dkim-key SEL=PEM]...
  testbed.py stop --dir DIR
or as a module:
  with Testbed(dir) as tb: tb.env["MXSEC_TB_RESOLVER"] ...
Module extras: Testbed(..., broken_rrsigs={zone: [(owner, type)]}) corrupts
those RRSIGs after signing (-> bogus RRset), and tb.update_zone(zone, edit)
edits, re-signs and reloads a zone while knotd runs (transport.py uses both).

Only 127.x.y.z addresses are accepted. Needs: knotd (knot), ldns-keygen and
ldns-signzone (ldnsutils), openssl (openssl).
"""

import argparse
import base64
import hashlib
import json
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time

ZONES = ("test.", "secure.test.", "insecure.test.", "bogus.test.")
SIGNED = ("test.", "secure.test.", "bogus.test.")
CHILDREN = ("secure.test.", "insecure.test.", "bogus.test.")
DEFAULT_ADDR = "127.0.53.1"
TTL = 3600
# Per-zone addresses, so a test can tell which zone answered.
ZONE_NET = {"secure.test.": 10, "insecure.test.": 20, "bogus.test.": 30}
TAMPERED_ORIGINAL = "signed-text"
TAMPERED_ALTERED = "altered-after-signing"


class TestbedError(Exception):
    pass


def _need(tool):
    for d in ("/usr/sbin", "/usr/bin", "/sbin", "/bin"):
        p = os.path.join(d, tool)
        if os.access(p, os.X_OK):
            return p
    p = shutil.which(tool)
    if not p:
        raise TestbedError(f"{tool} not found (Debian packages: knot ldnsutils openssl)")
    return p


def _run(cmd, cwd=None, input_bytes=None):
    r = subprocess.run(cmd, cwd=cwd, input=input_bytes, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        raise TestbedError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr.decode(errors='replace').strip()}")
    return r.stdout


def _check_loopback(addr):
    parts = addr.split(".")
    if len(parts) != 4 or parts[0] != "127" or not all(p.isdigit() and 0 <= int(p) <= 255 for p in parts):
        raise TestbedError(f"address {addr!r} is not a 127.x.y.z address")


def _free_port(addr):
    """A port free for both UDP and TCP on addr (there is a small race until knotd binds)."""
    for _ in range(50):
        port = random.randint(20000, 60000)
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            u.bind((addr, port))
            t.bind((addr, port))
            return port
        except OSError:
            continue
        finally:
            u.close()
            t.close()
    raise TestbedError(f"no free port on {addr}")


def _txt(content):
    """TXT rdata in zone-file form: split into <=255-octet quoted strings."""
    raw = content.encode()
    chunks = [raw[i:i + 255] for i in range(0, len(raw), 255)] or [b""]
    out = []
    for c in chunks:
        s = c.decode().replace("\\", "\\\\").replace('"', '\\"')
        out.append(f'"{s}"')
    return " ".join(out)


# --- DKIM keys --------------------------------------------------------------

def _dkim_record_from_pem(openssl, pem_path):
    der = _run([openssl, "pkey", "-in", pem_path, "-pubout", "-outform", "DER"])
    text = _run([openssl, "pkey", "-in", pem_path, "-noout", "-text"]).decode(errors="replace")
    if text.startswith("ED25519"):
        # RFC 8463 §4.2: p= is the base64 of the raw 32-octet Ed25519 key.
        return "v=DKIM1; k=ed25519; p=" + base64.b64encode(der[-32:]).decode()
    # RFC 6376 §3.6.1: p= is the base64 of the DER SubjectPublicKeyInfo.
    return "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()


def _make_dkim(state, openssl, records, keys):
    """Returns {selector: (record text, private key path or None)}."""
    d = os.path.join(state, "dkim")
    os.makedirs(d, exist_ok=True)
    out = {}
    for sel, path in keys.items():
        dst = os.path.join(d, f"{sel}.pem")
        shutil.copyfile(path, dst)
        out[sel] = (_dkim_record_from_pem(openssl, dst), dst)
    for sel, path in records.items():
        with open(path) as f:
            out[sel] = (f.read().strip(), None)
    defaults = {"sel": ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"], "ed": ["-algorithm", "ed25519"]}
    for sel, algo in defaults.items():
        if sel in out:
            continue
        dst = os.path.join(d, f"{sel}.pem")
        _run([openssl, "genpkey", *algo, "-out", dst])
        os.chmod(dst, 0o600)
        out[sel] = (_dkim_record_from_pem(openssl, dst), dst)
    for sel, (rec, _) in out.items():
        with open(os.path.join(d, f"{sel}.txt"), "w") as f:
            f.write(rec + "\n")
    return out


# --- zones ------------------------------------------------------------------

def _serial():
    return int(time.time())


def _soa(zone):
    return f"{zone} {TTL} IN SOA ns1.{zone} hostmaster.{zone} {_serial()} 3600 900 1209600 300"


def _mail_zone(zone, addr, dkim):
    n = ZONE_NET[zone]
    tlsa = hashlib.sha256(f"mxsec testbed mx.{zone}".encode()).hexdigest()
    lines = [
        f"$ORIGIN {zone}",
        f"$TTL {TTL}",
        _soa(zone),
        f"{zone} {TTL} IN NS ns1.{zone}",
        f"ns1.{zone} {TTL} IN A {addr}",
        f"{zone} {TTL} IN A 192.0.2.{n}",
        f"{zone} {TTL} IN AAAA 2001:db8::{n}",
        f"{zone} {TTL} IN MX 10 mx.{zone}",
        f"mx.{zone} {TTL} IN A 192.0.2.{n + 1}",
        f"mx.{zone} {TTL} IN AAAA 2001:db8::{n + 1}",
        f"_25._tcp.mx.{zone} {TTL} IN TLSA 3 1 1 {tlsa}",
        f'{zone} {TTL} IN TXT "v=spf1 ip4:192.0.2.0/24 -all"',
        f"_dmarc.{zone} {TTL} IN TXT " + _txt(f"v=DMARC1; p=reject; rua=mailto:dmarc@{zone[:-1]}"),
        f'www.{zone} {TTL} IN CNAME {zone}',
    ]
    for sel, (rec, _) in sorted(dkim.items()):
        lines.append(f"{sel}._domainkey.{zone} {TTL} IN TXT {_txt(rec)}")
    if zone == "secure.test.":
        lines.append(f'tampered.{zone} {TTL} IN TXT "{TAMPERED_ORIGINAL}"')
    return lines


def _parent_zone(addr, ds):
    lines = [
        "$ORIGIN test.",
        f"$TTL {TTL}",
        _soa("test."),
        f"test. {TTL} IN NS ns1.test.",
        f"ns1.test. {TTL} IN A {addr}",
    ]
    for child in CHILDREN:
        lines.append(f"{child} {TTL} IN NS ns1.{child}")
        lines.append(f"ns1.{child} {TTL} IN A {addr}")  # glue
        for d in ds.get(child, []):
            lines.append(d)
    return lines


def _keygen(ldns_keygen, keydir, zone, ksk):
    args = [ldns_keygen, "-a", "ECDSAP256SHA256"] + (["-k"] if ksk else []) + [zone]
    base = _run(args, cwd=keydir).decode().strip().splitlines()[-1]
    return os.path.join(keydir, base)


def _read_ds(base):
    with open(base + ".ds") as f:
        line = f.read().strip()
    # "secure.test.\tIN\tDS\t45226 13 2 a8c6..." -> with an explicit TTL
    owner, rest = line.split(None, 1)
    return f"{owner} {TTL} {rest}"


def _escape_at(text):
    """ldns-signzone writes an '@' inside a domain name unescaped (e.g. in the
    NSEC next-owner field after `mail\\@box`), and knot then rejects the zone.
    Escape every '@' outside quoted strings that is not escaped already; a
    token that is exactly '@' (the origin) is left alone."""
    out = []
    for line in text.splitlines():
        res = []
        quoted = False
        i = 0
        while i < len(line):
            ch = line[i]
            if ch == "\\" and i + 1 < len(line):
                res.append(line[i:i + 2])
                i += 2
                continue
            if ch == '"':
                quoted = not quoted
            elif ch == "@" and not quoted:
                alone = (i == 0 or line[i - 1].isspace()) and (i + 1 == len(line) or line[i + 1].isspace())
                if not alone:
                    res.append("\\@")
                    i += 1
                    continue
            res.append(ch)
            i += 1
        out.append("".join(res))
    return "\n".join(out) + "\n"


def _sign(ldns_signzone, zonedir, zone, keys):
    src = os.path.join(zonedir, f"{zone}zone")
    dst = src + ".signed"
    now = int(time.time())
    _run([ldns_signzone, "-i", str(now - 3600), "-e", str(now + 30 * 86400), "-o", zone, "-f", dst, src, *keys])
    with open(dst) as f:
        text = _escape_at(f.read())
    with open(dst, "w") as f:
        f.write(text)
    return dst


def _break_rrsig(text, owner, rtype):
    """Flips one bit in the signature field of the RRSIG covering owner/rtype
    in ldns-signzone output; the RRset itself is left as signed."""
    owner = owner.lower().rstrip(".") + "."
    out, hits = [], 0
    for line in text.splitlines():
        f = line.split()
        if len(f) >= 13 and f[0].lower() == owner and f[3] == "RRSIG" and f[4] == rtype:
            sig = bytearray(base64.b64decode("".join(f[12:])))
            sig[len(sig) // 4] ^= 0x01
            line = "\t".join(f[:12] + [base64.b64encode(bytes(sig)).decode()])
            hits += 1
        out.append(line)
    if not hits:
        raise TestbedError(f"no RRSIG over {owner} {rtype} to break")
    return "\n".join(out) + "\n"


def _bump_serial(lines, zone):
    """Raises the serial of the zone's SOA line (written by _soa) by at least one."""
    for i, line in enumerate(lines):
        f = line.split()
        if len(f) == 11 and f[0] == zone and f[3] == "SOA":
            f[6] = str(max(int(f[6]) + 1, _serial()))
            lines[i] = " ".join(f)
            return lines
    raise TestbedError(f"no SOA line for {zone} to bump")


def _write(path, lines):
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


# --- a tiny DNS client for the readiness check --------------------------------

def _query(addr, port, qname, qtype, timeout=0.5):
    qid = random.randint(0, 65535)
    wire = b"".join(bytes([len(l)]) + l.encode() for l in qname.rstrip(".").split(".") if l) + b"\0"
    pkt = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0) + wire + struct.pack(">HH", qtype, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.sendto(pkt, (addr, port))
        data, _ = s.recvfrom(4096)
    except OSError:
        return None
    finally:
        s.close()
    if len(data) < 12:
        return None
    rid, flags, _, ancount, _, _ = struct.unpack(">HHHHHH", data[:12])
    if rid != qid:
        return None
    return {"rcode": flags & 0xF, "aa": bool(flags & 0x0400), "ancount": ancount}


# --- the test bed -------------------------------------------------------------

class Testbed:
    def __init__(self, state_dir, addr=DEFAULT_ADDR, port=0, extra=None, dkim_records=None, dkim_keys=None,
                 detach=False, broken_rrsigs=None):
        _check_loopback(addr)
        self.dir = os.path.abspath(state_dir)
        self.addr = addr
        self.port = port
        self.extra = extra or {}
        self.dkim_records = dkim_records or {}
        self.dkim_keys = dkim_keys or {}
        self.detach = detach
        # {zone: [(owner, type), ...]}: the RRSIG over each of these RRsets is
        # corrupted after signing (the data stays as signed) -> bogus.
        self.broken_rrsigs = broken_rrsigs or {}
        self._keys = {}
        self._served = {}
        self.proc = None
        self.pid = None
        self.env = {}
        for z in self.extra:
            if z not in ZONES:
                raise TestbedError(f"--extra: unknown zone {z!r} (one of {', '.join(ZONES)})")
        for z in self.broken_rrsigs:
            if z not in SIGNED:
                raise TestbedError(f"broken_rrsigs: {z!r} is not a signed zone (one of {', '.join(SIGNED)})")

    # -- build -------------------------------------------------------------
    def _build(self):
        keygen, openssl = _need("ldns-keygen"), _need("openssl")
        _need("ldns-signzone")  # fail early, before any work
        keydir = os.path.join(self.dir, "keys")
        zonedir = os.path.join(self.dir, "zones")
        for d in (keydir, zonedir, os.path.join(self.dir, "run"), os.path.join(self.dir, "db")):
            os.makedirs(d, exist_ok=True)
        dkim = _make_dkim(self.dir, openssl, self.dkim_records, self.dkim_keys)

        keys = {z: [_keygen(keygen, keydir, z, True), _keygen(keygen, keydir, z, False)] for z in SIGNED}
        # A key bogus.test. never uses: its DS goes into test., so no DNSKEY
        # of the served zone matches the DS (RFC 4035 §5.2) -> bogus.
        unused = _keygen(keygen, keydir, "bogus.test.", True)
        ds = {"secure.test.": [_read_ds(keys["secure.test."][0])], "bogus.test.": [_read_ds(unused)]}

        for child in CHILDREN:
            lines = _mail_zone(child, self.addr, dkim)
            lines += self._extra_lines(child)
            _write(os.path.join(zonedir, f"{child}zone"), lines)
        _write(os.path.join(zonedir, "test.zone"), _parent_zone(self.addr, ds) + self._extra_lines("test."))

        self._keys = keys
        served = {"insecure.test.": "insecure.test.zone"}
        for z in SIGNED:
            served[z] = os.path.basename(self._sign_zone(z))
        self._served = served

        # Trust anchors: the DS of test.'s KSK, the same as DNSKEY, and a
        # wrong one (a DS of a key test. does not use) for self-test failures.
        ta = os.path.join(self.dir, "trust-anchor.ds")
        _write(ta, [_read_ds(keys["test."][0])])
        with open(keys["test."][0] + ".key") as f:
            dnskey = f.read().strip()
        _write(os.path.join(self.dir, "trust-anchor.key"), [dnskey])
        wrong = _keygen(keygen, keydir, "test.", True)
        _write(os.path.join(self.dir, "wrong-anchor.ds"), [_read_ds(wrong)])
        return served, dkim

    def _sign_zone(self, zone):
        """Signs zones/<zone>zone into .signed, then applies the deliberate
        damage: the tampered TXT (secure.test.) and the broken RRSIGs."""
        zonedir = os.path.join(self.dir, "zones")
        path = _sign(_need("ldns-signzone"), zonedir, zone, self._keys[zone])
        with open(path) as f:
            text = f.read()
        if zone == "secure.test.":
            # Alter one signed record: its RRSIG no longer verifies.
            if f'"{TAMPERED_ORIGINAL}"' not in text:
                raise TestbedError("tampered record not found in the signed secure.test. zone")
            text = text.replace(f'"{TAMPERED_ORIGINAL}"', f'"{TAMPERED_ALTERED}"')
        for owner, rtype in self.broken_rrsigs.get(zone, []):
            text = _break_rrsig(text, owner, rtype)
        with open(path, "w") as f:
            f.write(text)
        return path

    def update_zone(self, zone, edit):
        """Changes a served zone at run time: edit(lines) -> lines is applied to
        the unsigned zone file, the SOA serial is raised, a signed zone is
        signed again with the same keys (and the same deliberate damage), and
        knotd reloads it through its control socket (knotc -b, blocking)."""
        if zone not in ZONES:
            raise TestbedError(f"update_zone: unknown zone {zone!r}")
        src = os.path.join(self.dir, "zones", f"{zone}zone")
        with open(src) as f:
            lines = f.read().splitlines()
        lines = _bump_serial(list(edit(lines)), zone)
        _write(src, lines)
        if zone in SIGNED:
            self._sign_zone(zone)
        _run([_need("knotc"), "-b", "-t", "10", "-c", os.path.join(self.dir, "knot.conf"), "zone-reload", zone])

    def _extra_lines(self, zone):
        path = self.extra.get(zone)
        if not path:
            return []
        with open(path) as f:
            return ["", f"; extra lines from {path}", f"$ORIGIN {zone}"] + f.read().splitlines()

    def _knot_conf(self, served):
        d = self.dir
        zones = "\n".join(f'  - domain: "{z}"\n    file: "{f}"' for z, f in served.items())
        conf = f"""# generated by tests/testbed/testbed.py
server:
    rundir: "{d}/run"
    listen: [ "{self.addr}@{self.port}" ]
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
log:
  - target: "{d}/knot.log"
    any: info
database:
    storage: "{d}/db"
control:
    listen: "{d}/run/knot.sock"
template:
  - id: default
    storage: "{d}/zones"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
zone:
{zones}
"""
        path = os.path.join(d, "knot.conf")
        with open(path, "w") as f:
            f.write(conf)
        return path

    # -- run ---------------------------------------------------------------
    def start(self):
        knotd = _need("knotd")
        os.makedirs(self.dir, exist_ok=True)
        served, dkim = self._build()
        fixed_port = self.port
        for attempt in range(5):
            if not fixed_port:
                self.port = _free_port(self.addr)
            conf = self._knot_conf(served)
            out = open(os.path.join(self.dir, "knotd.out"), "ab")
            self.proc = subprocess.Popen([knotd, "-c", conf], stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=self.detach)
            out.close()
            self.pid = self.proc.pid
            with open(os.path.join(self.dir, "knotd.pid"), "w") as f:
                f.write(f"{self.pid}\n")
            state = self._wait_ready()
            if state == "ready":
                break
            self._stop_pid()
            # Only a knotd that exited (e.g. the port was taken meanwhile) is
            # worth another try on another port; a zone error is not.
            if state != "exited" or fixed_port or attempt == 4:
                raise TestbedError(f"knotd did not come up ({state}); log:\n" + self._log_tail())
        self.env = {
            "MXSEC_TB_DIR": self.dir,
            "MXSEC_TB_ADDR": self.addr,
            "MXSEC_TB_PORT": str(self.port),
            "MXSEC_TB_RESOLVER": f"{self.addr}:{self.port}",
            "MXSEC_TB_TRUST_ANCHOR": os.path.join(self.dir, "trust-anchor.ds"),
            "MXSEC_TB_TRUST_ANCHOR_DNSKEY": os.path.join(self.dir, "trust-anchor.key"),
            "MXSEC_TB_WRONG_ANCHOR": os.path.join(self.dir, "wrong-anchor.ds"),
            "MXSEC_TB_PID": str(self.pid),
        }
        for sel, (_, key) in sorted(dkim.items()):
            if key:
                self.env[f"MXSEC_TB_DKIM_{sel.upper()}_KEY"] = key
        with open(os.path.join(self.dir, "testbed.env"), "w") as f:
            for k, v in self.env.items():
                f.write(f"{k}={v}\n")
        with open(os.path.join(self.dir, "testbed.json"), "w") as f:
            json.dump(self.env, f, indent=2)
        return self

    def _wait_ready(self, seconds=15.0):
        """'ready' when every zone answers its SOA authoritatively; 'exited',
        'zone error' (knot logged a zone that failed to load) or 'timeout'."""
        deadline = time.monotonic() + seconds
        log = os.path.join(self.dir, "knot.log")
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return "exited"
            ok = all((r := _query(self.addr, self.port, z, 6, 0.2)) and r["rcode"] == 0 and r["aa"] for z in ZONES)
            if ok:
                return "ready"
            if os.path.exists(log):
                with open(log, errors="replace") as f:
                    if "failed to load zone" in f.read():
                        return "zone error"
            time.sleep(0.1)
        return "timeout"

    def _log_tail(self):
        out = []
        for name in ("knot.log", "knotd.out"):
            p = os.path.join(self.dir, name)
            if os.path.exists(p):
                with open(p, errors="replace") as f:
                    out.append(f"--- {name}\n" + "".join(f.readlines()[-30:]))
        return "\n".join(out)

    def _stop_pid(self):
        if self.proc is not None:
            _terminate(self.proc)
            self.proc = None
        elif self.pid:
            stop_pid(self.pid, os.path.join(self.dir, "knot.conf"))
        self.pid = None
        try:
            os.unlink(os.path.join(self.dir, "knotd.pid"))
        except FileNotFoundError:
            pass

    def stop(self):
        self._stop_pid()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


def _terminate(proc, seconds=10):
    """Ends a child process: SIGTERM, then SIGKILL after SECONDS."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(seconds)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _running(pid):
    """False once PID is gone or a zombie (a container's PID 1 may not reap it)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def stop_pid(pid, conf):
    """Stops the knotd we started: only if PID still runs knotd with our config."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmd = f.read().split(b"\0")
    except FileNotFoundError:
        return False
    if not cmd or not cmd[0].endswith(b"knotd") or conf.encode() not in cmd:
        raise TestbedError(f"PID {pid} is not the test bed's knotd ({b' '.join(cmd).decode(errors='replace')})")
    os.kill(pid, signal.SIGTERM)
    for _ in range(100):
        if not _running(pid):
            return True
        try:
            # Reap it if it is our child; otherwise just wait for it to go.
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return True
        except ChildProcessError:
            pass
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)
    return True


def _kv(items, what):
    out = {}
    for item in items or []:
        k, sep, v = item.partition("=")
        if not sep or not k or not v:
            raise TestbedError(f"{what}: expected KEY=VALUE, got {item!r}")
        out[k] = v
    return out


def main(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("start", help="build the zones and start knotd (detached)")
    s.add_argument("--dir", required=True, help="state directory (created; holds keys, zones, logs, env)")
    s.add_argument("--addr", default=DEFAULT_ADDR, help="127.x.y.z address to listen on")
    s.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    s.add_argument("--extra", action="append", metavar="ZONE=FILE",
                   help="append zone-file lines from FILE to ZONE (test., secure.test., ...) before signing")
    s.add_argument("--dkim-record", action="append", metavar="SEL=FILE",
                   help="publish the DKIM record text in FILE at SEL._domainkey in every mail zone")
    s.add_argument("--dkim-key", action="append", metavar="SEL=PEM",
                   help="publish the public half of this private key at SEL._domainkey")
    t = sub.add_parser("stop", help="stop the knotd started for --dir")
    t.add_argument("--dir", required=True)
    args = p.parse_args(argv)
    try:
        if args.cmd == "start":
            extra = {(z if z.endswith(".") else z + "."): os.path.abspath(f) for z, f in _kv(args.extra, "--extra").items()}
            tb = Testbed(args.dir, args.addr, args.port, extra,
                         {k: os.path.abspath(v) for k, v in _kv(args.dkim_record, "--dkim-record").items()},
                         {k: os.path.abspath(v) for k, v in _kv(args.dkim_key, "--dkim-key").items()},
                         detach=True)
            tb.start()
            for k, v in tb.env.items():
                print(f"{k}={v}")
        else:
            d = os.path.abspath(args.dir)
            pidfile = os.path.join(d, "knotd.pid")
            if not os.path.exists(pidfile):
                print(f"testbed: no knotd.pid in {d}; nothing to stop", file=sys.stderr)
                return 0
            with open(pidfile) as f:
                pid = int(f.read().strip())
            stop_pid(pid, os.path.join(d, "knot.conf"))
            os.unlink(pidfile)
    except TestbedError as e:
        print(f"testbed: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
