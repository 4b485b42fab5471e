#!/usr/bin/python3
"""Receiving with SPF, DKIM and DMARC checks on: `mxsec serve` against
Postfix + OpenDKIM + OpenDMARC, side by side in one run.

The DNS: the DNSSEC-signed test bed (tests/testbed) served by knotd on
127.0.73.53 port 53 (port 53 because glibc's resolver, used by OpenDMARC
and libspf2, cannot be told another port). secure.test gets one extra record,
`mail.secure.test TXT "v=spf1 ip4:127.0.0.1 -all"`: smtp-source has no
source-address option and the kernel connects from 127.0.0.1.

The load: smtp-source (-F) sends one pre-formatted 5 KB message, signed
once by dkimpy (RSA-2048, selector `sel`, d=secure.test, h=from:to:subject:
message-id:date, relaxed/simple), with MAIL FROM <bounce@mail.secure.test>,
HELO client.secure.test and From: secure.test, to user@bench.test, N times
over S sessions, one message per connection. Every message passes SPF (the
MAIL FROM domain, client 127.0.0.1), DKIM, and DMARC (p=reject, aligned by
DKIM and, relaxed, by SPF).

  (a) `mxsec serve` on 127.0.73.1:2525: [inbound] verify = true,
      dmarc_reject = "reject", relay networks empty (every client is a
      stranger, so every message is checked), DNS through its embedded
      libunbound forwarding to knotd with the test bed's trust anchor
      (DNSSEC-validated, TTL cache). Per message: SPF (MAIL FROM and HELO),
      DKIM, DMARC, Authentication-Results, a DMARC report record (spool
      reports/dmarc.jsonl); then queue (fsync) and Maildir (fsync).
  (b) Postfix 3.7 on 127.0.73.2:25 (its own instance, bench_common.py),
      smtpd_milters = OpenDKIM then OpenDMARC, milter_default_action =
      tempfail (a broken milter shows as failures, never as silent accepts),
      delivering with virtual(8) to a Maildir (fsync), as in
      bench/smtp_throughput.py. Each milter is a process of this benchmark
      (foreground -f, own config file under the temporary directory):
        OpenDKIM 2.11, Mode v: verifies DKIM. Debian's build uses
          libunbound, so ResolverConfiguration points it at an unbound.conf
          that forwards test. to knotd (local-zone "test." transparent,
          do-not-query-localhost no; `Nameservers` alone is not enough:
          libunbound answers test. itself with NXDOMAIN) and TrustAnchorFile
          is the test bed's anchor: it validates DNSSEC like mxsec.
          QueryCache yes (keys cached, like mxsec's cache). InternalHosts is
          a TEST-NET address, because the default (127.0.0.1) would make it
          sign our mail instead of verifying it.
          This OpenDKIM makes a new libunbound context for every message and
          parses the unbound.conf each time (ub_ctx_config), from concurrent
          milter threads; unbound's flex parser is not reentrant, and with
          20 sessions OpenDKIM logged "syntax error" and then died with
          "fatal flex scanner internal error" after ~25 messages (Postfix:
          451 4.7.0). Upstream later put those calls under a mutex; a shim
          of 20 lines of C, built here with cc and LD_PRELOADed into OpenDKIM
          only, does the same and counts the calls (--no-ub-shim to see the
          crash). The count is printed: one call per message.
        OpenDMARC 1.4: DMARC, and SPF itself with libspf2 (SPFSelfValidate +
          SPFIgnoreResults: both sides do SPF; Postfix has none of its own),
          reading OpenDKIM's Authentication-Results (TrustedAuthservIDs =
          the same authserv-id); RejectFailures (like mxsec's dmarc_reject =
          "reject"); HistoryFile on (per-message data for aggregate reports,
          like mxsec's report record); IgnoreHosts set away from 127.0.0.1
          (the default would skip our mail); PublicSuffixList from Debian's
          publicsuffix package. libspf2 gives every client in 127.0.0.0/8 an
          SPF pass without reading the record ("localhost is always
          allowed"; RFC 7208 has no such rule), which would spare OpenDMARC
          all SPF work here: a 7-line shim LD_PRELOADed into OpenDMARC only
          turns that off (SPF_request_is_loopback -> false), and the SPF
          control below proves the record is read (without the shim the
          control message got spf=pass). OpenDMARC and libspf2 resolve
          through glibc (no cache, no DNSSEC validation: every query goes to
          knotd). To give them knotd without touching the machine's
          /etc/resolv.conf, OpenDMARC runs in a private mount namespace
          (unshare(CLONE_NEWNS) in the child before exec, mounts made
          private, a resolv.conf "nameserver 127.0.73.53" bind-mounted over
          /etc/resolv.conf). That needs root (CAP_SYS_ADMIN).
      Milter sockets are UNIX-domain sockets in the temporary directory by
      default. Over TCP (--milter-transport inet: 127.0.73.3:8891 and
      127.0.73.4:8893) every message waited about 140 ms in the milter
      conversations (Postfix logged delays=0.14 before the queue; 6 msg/s
      from one session against 83 msg/s over UNIX sockets, 22 against 130
      from ten), a Nagle/delayed-ACK stall that has nothing to do with
      verification, so it would make Postfix look worse than it is.
Both sides run the milters' and mxsec's default DNS timeouts.

Checks (the script exits non-zero when one fails, because a benchmark of a
misconfigured milter is worthless):
  - before the load, a forged message (From: secure.test, body changed after
    signing, MAIL FROM spoof@insecure.test: DKIM and SPF fail, DMARC
    p=reject) must be refused with 5xx by each side;
  - after the load, every delivered message is read: its
    Authentication-Results with the authserv-id mx.bench.test must say
    spf=pass, dkim=pass and dmarc=pass; the count is printed;
  - then a DKIM-signed secure.test message from MAIL FROM
    spoof@insecure.test (SPF record 192.0.2.0/24 -all) must be delivered
    with spf=fail and dkim=pass on each side (the SPF record was read).
Last, informative: a message signed as d=bogus.test (a DNSSEC-bogus zone);
what each side did with it is printed (mxsec: temperror, delivered; OpenDKIM
treats a bogus key as no key, so OpenDMARC rejects it for DMARC).

Reported per run: msg/s (first connect to last Maildir file), CPU ms per
message of mxsec (its process) and of Postfix + milters (master and every
child, reaped or alive, plus both milter processes), the ratios, and knotd's
CPU per message during each run (shown apart: it is the DNS server, used
much more by the side without a cache).

  bench/verify_throughput.py --mxsec build/release/src/app/mxsec [--messages 3000] [--sessions 20,100] [--json]
Needs root (Postfix, the mount namespace, port 53), cc (the two shims), and the
Debian packages postfix, opendkim, opendmarc, publicsuffix, python3-dkim,
knot, ldnsutils.
127.0.73.53:53 must be free (a resolver bound to 0.0.0.0:53 would block it).
"""

import argparse
import ctypes
import email
import email.policy
import json
import os
import smtplib
import subprocess
import sys
import time

import dkim  # python3-dkim (dkimpy)

import bench_common
from bench_common import (Cleanup, Milter, MxsecServer, PostfixServer, cpu_seconds, measure_throughput, milter_dir,
                          print_table, write_file)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "testbed"))
import testbed  # noqa: E402

MXSEC_ADDR = "127.0.73.1"
POSTFIX_ADDR = "127.0.73.2"
OPENDKIM = ("127.0.73.3", 8891)
OPENDMARC = ("127.0.73.4", 8893)
DNS_ADDR = "127.0.73.53"
AUTHSERV = "mx.bench.test"
HELO = "client.secure.test"
SENDER = "bounce@mail.secure.test"
PSL = "/usr/share/publicsuffix/public_suffix_list.dat"

CLONE_NEWNS = 0x00020000
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18


# --- the message ----------------------------------------------------------------

def signed_message(env, size, token="bench", domain="secure.test"):
    """A SIZE-octet message signed by dkimpy as d=DOMAIN; CRLF line ends."""
    head = (f"From: Alice <alice@{domain}>\r\nTo: user@bench.test\r\nSubject: verify {token}\r\n"
            f"Message-ID: <{token}@{domain}>\r\nDate: Thu, 03 Dec 2026 12:00:00 +0000\r\n\r\n").encode()
    line = b"The quick brown fox jumps over the lazy dog, again and again and again.\r\n"
    msg = head + line * max(1, (size - len(head)) // len(line))
    key = open(env["MXSEC_TB_DKIM_SEL_KEY"], "rb").read()
    sig = dkim.sign(msg, b"sel", domain.encode(), key, canonicalize=(b"relaxed", b"simple"),
                    include_headers=[b"from", b"to", b"subject", b"message-id", b"date"])
    return sig + msg


def write_for_smtp_source(path, msg):
    """smtp-source -F sends each line of the file with CRLF appended."""
    with open(path, "wb") as f:
        f.write(msg.replace(b"\r\n", b"\n"))


# --- the milters ------------------------------------------------------------------

def private_resolv_conf(resolv):
    """preexec_fn: this child gets its own mount namespace in which
    /etc/resolv.conf is `resolv`; the machine's file is not touched."""
    libc = ctypes.CDLL(None, use_errno=True)
    setup = bench_common.child_setup()

    def check(rc, what):
        if rc != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"{what}: {os.strerror(err)}")

    def run():
        setup()
        check(libc.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
        check(libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "mount --make-rprivate /")
        check(libc.mount(resolv.encode(), b"/etc/resolv.conf", None, MS_BIND, None), "bind resolv.conf")
    return run


# OpenDKIM 2.11.0~beta2 (Debian 12) calls ub_ctx_config() from concurrent
# milter threads; unbound's configuration parser (flex) is not reentrant, and
# under concurrency the milter logs "syntax error" or dies with "fatal flex
# scanner internal error". Upstream fixed it later by putting those calls
# under a mutex ("Protect calls to ub_ctx_config() with a mutex"); this shim,
# LD_PRELOADed into OpenDKIM only, does the same and counts the calls.
UB_SERIALIZER = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
struct ub_ctx;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long calls;
int ub_ctx_config(struct ub_ctx *ctx, const char *fname)
{
	static int (*real)(struct ub_ctx *, const char *);
	int r;
	pthread_mutex_lock(&lock);
	if (!real)
		real = (int (*)(struct ub_ctx *, const char *)) dlsym(RTLD_NEXT, "ub_ctx_config");
	r = real ? real(ctx, fname) : -1;
	fprintf(stderr, "ub_ctx_config call %lu\n", ++calls);
	pthread_mutex_unlock(&lock);
	return r;
}
"""


# libspf2 gives every client in 127.0.0.0/8 a "free ride": SPF pass without
# looking at the record (SPF_request_is_loopback). RFC 7208 has no such rule,
# mxsec evaluates the record, and every client of this benchmark is on
# loopback, so OpenDMARC would skip all SPF work. This shim, LD_PRELOADed into
# OpenDMARC only, makes libspf2 evaluate the record for loopback clients too
# (libspf2 calls the exported function through the PLT, so it can be
# interposed); the "SPF evaluated" control below proves it.
SPF_NO_LOOPBACK = r"""
int SPF_request_is_loopback(void *request)
{
	(void) request;
	return 0;
}
"""


def build_shim(d, name, source):
    """Compiles `source` into DIR/NAME.so for LD_PRELOAD (needs cc)."""
    src, lib = os.path.join(d, name + ".c"), os.path.join(d, name + ".so")
    with open(src, "w") as f:
        f.write(source)
    r = subprocess.run(["cc", "-shared", "-fPIC", "-O2", "-o", lib, src, "-ldl", "-lpthread"], capture_output=True,
                       text=True)
    if r.returncode != 0:
        raise RuntimeError(f"building the {name} shim failed (needs cc): {r.stderr}")
    return lib


def start_opendkim(d, env, transport, serialize):
    spec, postfix_spec, probe, internal = milter_dir(d, "opendkim", OPENDKIM, transport)
    unbound = write_file(d, "unbound.conf", f"""server:
    do-not-query-localhost: no
    local-zone: "test." transparent
    trust-anchor-file: "{env['MXSEC_TB_TRUST_ANCHOR']}"
forward-zone:
    name: "test."
    forward-addr: {DNS_ADDR}@53
""")
    conf = write_file(d, "opendkim.conf", f"""Syslog no
Mode v
Socket {spec}
PidFile {d}/opendkim.pid
AuthservID {AUTHSERV}
InternalHosts {internal}
ResolverConfiguration {unbound}
TrustAnchorFile {env['MXSEC_TB_TRUST_ANCHOR']}
QueryCache yes
AlwaysAddARHeader yes
TemporaryDirectory {d}
UMask 000
""")
    proc_env = dict(os.environ, LD_PRELOAD=build_shim(d, "ubserial", UB_SERIALIZER)) if serialize else None
    return Milter("opendkim", ["/usr/sbin/opendkim", "-f", "-x", conf], os.path.join(d, "log"), probe,
                  bench_common.child_setup(), postfix_spec, proc_env)


def start_opendmarc(d, transport):
    spec, postfix_spec, probe, ignore = milter_dir(d, "opendmarc", OPENDMARC, transport)
    resolv = write_file(d, "resolv.conf", f"nameserver {DNS_ADDR}\noptions trust-ad\n")
    conf = write_file(d, "opendmarc.conf", f"""Syslog false
Socket {spec}
PidFile {d}/opendmarc.pid
AuthservID {AUTHSERV}
TrustedAuthservIDs {AUTHSERV}
IgnoreHosts {ignore}
SPFSelfValidate true
SPFIgnoreResults true
RejectFailures true
FailureReports false
HistoryFile {d}/history
PublicSuffixList {PSL}
UMask 000
""")
    proc_env = dict(os.environ, LD_PRELOAD=build_shim(d, "spf_no_loopback", SPF_NO_LOOPBACK))
    return Milter("opendmarc", ["/usr/sbin/opendmarc", "-f", "-c", conf], os.path.join(d, "log"), probe,
                  private_resolv_conf(resolv), postfix_spec, proc_env)


class PostfixWithMilters:
    """Postfix plus its two milters, as one server for measure_throughput."""

    def __init__(self, tmp, env, cleanup, transport, serialize):
        self.dkim = cleanup.add(start_opendkim(os.path.join(tmp, "opendkim"), env, transport, serialize))
        self.dmarc = cleanup.add(start_opendmarc(os.path.join(tmp, "opendmarc"), transport))
        self.postfix = cleanup.add(PostfixServer(tmp, POSTFIX_ADDR, hostname=AUTHSERV, main={
            "smtpd_milters": f"{self.dkim.postfix_spec}, {self.dmarc.postfix_spec}",
            "non_smtpd_milters": "", "milter_default_action": "tempfail",
        }))
        self.addr, self.port, self.domain = POSTFIX_ADDR, 25, "bench.test"

    def maildir(self, user="user"):
        return self.postfix.maildir(user)

    def cpu_parts(self):
        return {"postfix": self.postfix.cpu(), "opendkim": self.dkim.cpu(), "opendmarc": self.dmarc.cpu()}

    def cpu(self):
        return sum(self.cpu_parts().values())


# --- checks -----------------------------------------------------------------------

def our_results(data):
    """Our Authentication-Results fields (authserv-id mx.bench.test), unfolded, joined."""
    msg = email.message_from_bytes(data.split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0] + b"\n\n",
                                   policy=email.policy.compat32)
    out = []
    for v in msg.get_all("Authentication-Results") or []:
        text = " ".join(str(v).split())
        if text.lower().startswith(AUTHSERV + ";"):
            out.append(text)
    return " | ".join(out)


def check_maildir(d):
    """Counts delivered messages whose results say spf, dkim and dmarc pass."""
    total = passed = 0
    sample = ""
    failures = []
    for name in sorted(os.listdir(d)) if os.path.isdir(d) else []:
        with open(os.path.join(d, name), "rb") as f:
            text = our_results(f.read(65536))
        total += 1
        ok = all(f"{m}=pass" in text for m in ("spf", "dkim", "dmarc"))
        passed += ok
        if not sample:
            sample = text
        if not ok and len(failures) < 3:
            failures.append(text or "(no Authentication-Results of ours)")
    return {"delivered": total, "all_pass": passed, "sample": sample,
            "failures": failures}


def send(addr, port, env_from, msg):
    """One message with smtplib; (True, "250 ...") or (False, the refusal)."""
    try:
        s = smtplib.SMTP(addr, port, timeout=30)
        s.ehlo(HELO)
        s.sendmail(env_from, ["user@bench.test"], msg)
        s.quit()
        return True, "250 accepted"
    except smtplib.SMTPDataError as e:
        return False, f"{e.smtp_code} {e.smtp_error.decode(errors='replace')}"
    except (smtplib.SMTPException, OSError) as e:
        return False, f"error: {e}"


def forged_is_refused(addr, port, env):
    """A spoof of secure.test (p=reject): the body changed after signing, the
    envelope from insecure.test. Returns (refused with 5xx?, the reply)."""
    msg = signed_message(env, 2048, token="forged").replace(b"quick brown", b"quick green")
    accepted, reply = send(addr, port, "spoof@insecure.test", msg)
    return not accepted and reply[:1] == "5", reply


def delivered_results(server, token, timeout=20):
    """Our Authentication-Results of the delivered message with Subject
    "verify TOKEN", or None."""
    d = server.maildir()
    end = time.time() + timeout
    while time.time() < end:
        for name in os.listdir(d) if os.path.isdir(d) else []:
            data = open(os.path.join(d, name), "rb").read()
            if f"verify {token}\r\n".encode() in data or f"verify {token}\n".encode() in data:
                return our_results(data)
        time.sleep(0.1)
    return None


def spf_is_evaluated(server, env):
    """DKIM-signed secure.test mail from an envelope domain whose SPF record
    does not list the client (insecure.test: 192.0.2.0/24 -all): DMARC
    passes through DKIM, so it is delivered, and its results must say
    spf=fail. A verifier that skips SPF says pass or nothing."""
    msg = signed_message(env, 2048, token="spf-control")
    accepted, reply = send(server.addr, server.port, "spoof@insecure.test", msg)
    if not accepted:
        return False, "refused: " + reply.strip()[:120]
    text = delivered_results(server, "spf-control")
    if text is None:
        return False, "accepted, not found in the Maildir"
    return "spf=fail" in text and "dkim=pass" in text, text[:300]


def bogus_key_outcome(server, env):
    """Informative: mail signed as d=bogus.test, whose zone is DNSSEC-bogus
    (its DS names a key the zone does not use). A validating verifier must
    not say dkim=pass. Returns what the server did: its refusal, or the
    Authentication-Results of the delivered copy."""
    msg = signed_message(env, 2048, token="bogus-key", domain="bogus.test")
    accepted, reply = send(server.addr, server.port, "bounce@bogus.test", msg)
    if not accepted:
        return "refused: " + reply.strip()[:120]
    text = delivered_results(server, "bogus-key")
    return "accepted, not found in the Maildir" if text is None else "accepted: " + text[:300]


# --- the run ----------------------------------------------------------------------

def measure(server, knot_pid, n, sessions, msg_file):
    parts0 = server.cpu_parts() if hasattr(server, "cpu_parts") else None
    dns0 = cpu_seconds(knot_pid)
    r = measure_throughput(server, n, sessions, file=msg_file, helo=HELO, sender=SENDER)
    r["dns_cpu_ms_per_msg"] = 1000 * (cpu_seconds(knot_pid) - dns0) / max(r["messages"], 1)
    if parts0:
        parts1 = server.cpu_parts()
        r["cpu_ms_per_msg_parts"] = {k: 1000 * (parts1[k] - parts0[k]) / max(r["messages"], 1) for k in parts0}
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mxsec", required=True)
    ap.add_argument("--messages", type=int, default=3000, help="messages per run (default 3000)")
    ap.add_argument("--sessions", default="20,100", help="smtp-source sessions, comma-separated (default 20,100)")
    ap.add_argument("--size", type=int, default=5 * 1024, help="message size in octets (default 5 KB)")
    ap.add_argument("--milter-transport", choices=("inet", "unix"), default="unix",
                    help="milter sockets: UNIX-domain (default) or TCP on 127.0.73.x (slow, see above)")
    ap.add_argument("--no-ub-shim", action="store_true",
                    help="run OpenDKIM without the shim that serializes its ub_ctx_config() calls")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory (configs, logs, mail)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    sessions = [int(s) for s in args.sessions.split(",")]
    rows, controls, checks, bogus, ub_calls = [], {}, {}, {}, None
    with bench_common.scratch_dir("mxsec-bench-verify-", args.keep) as tmp, Cleanup() as cleanup:
        extra = os.path.join(tmp, "extra-secure.zone")
        with open(extra, "w") as f:
            f.write('mail TXT "v=spf1 ip4:127.0.0.1 -all"\n')  # smtp-source connects from 127.0.0.1
        tb = cleanup.add(testbed.Testbed(os.path.join(tmp, "testbed"), addr=DNS_ADDR, port=53,
                                         extra={"secure.test.": extra}).start())
        env = tb.env
        msg_file = os.path.join(tmp, "signed.eml")
        write_for_smtp_source(msg_file, signed_message(env, args.size))
        mx = cleanup.add(MxsecServer(args.mxsec, tmp, MXSEC_ADDR, relay=(), verify=True, hostname=AUTHSERV,
                                     extra=bench_common.dns_toml(env)))
        pf = PostfixWithMilters(tmp, env, cleanup, args.milter_transport, not args.no_ub_shim)
        sides = (("mxsec", mx), ("postfix_milters", pf))
        controls["forged message refused (5xx)"] = {n: forged_is_refused(x.addr, x.port, env) for n, x in sides}
        for conc in sessions:
            a = measure(mx, tb.pid, args.messages, conc, msg_file)
            b = measure(pf, tb.pid, args.messages, conc, msg_file)
            rows.append({"size": args.size, "sessions": conc, "mxsec": a, "postfix_milters": b,
                         "rate_ratio": a["msgs_per_s"] / b["msgs_per_s"] if b["msgs_per_s"] else None,
                         "cpu_ratio": a["cpu_ms_per_msg"] / b["cpu_ms_per_msg"] if b["cpu_ms_per_msg"] else None})
        checks = {"mxsec": check_maildir(mx.maildir()), "postfix_milters": check_maildir(pf.maildir())}
        # After the count: these deliver messages that do not pass everything.
        controls["SPF evaluated (spf=fail outside the record)"] = {n: spf_is_evaluated(x, env) for n, x in sides}
        bogus = {n: bogus_key_outcome(x, env) for n, x in sides}
        if not args.no_ub_shim:
            ub_calls = sum(1 for line in open(pf.dkim.log, errors="replace")
                           if line.startswith("ub_ctx_config call"))

    if args.json:
        print(json.dumps({"rows": rows, "controls": controls, "checks": checks, "bogus_key": bogus,
                          "opendkim_ub_ctx_config_calls": ub_calls}, indent=2))
    print(f"\nSPF + DKIM + DMARC on every message, {args.size} B, DKIM-signed (RSA-2048), one message per connection")
    table = []
    for r in rows:
        a, b = r["mxsec"], r["postfix_milters"]
        parts = b.get("cpu_ms_per_msg_parts", {})
        table.append([str(r["sessions"]), f"{a['msgs_per_s']:.0f}", f"{a['cpu_ms_per_msg']:.2f}",
                      f"{b['msgs_per_s']:.0f}", f"{b['cpu_ms_per_msg']:.2f}",
                      "/".join(f"{parts.get(k, 0):.2f}" for k in ("postfix", "opendkim", "opendmarc")),
                      f"{r['rate_ratio']:.2f}x" if r["rate_ratio"] else "-",
                      f"{r['cpu_ratio']:.2f}x" if r["cpu_ratio"] else "-",
                      f"{a['dns_cpu_ms_per_msg']:.2f}/{b['dns_cpu_ms_per_msg']:.2f}"])
    print_table(["sess", "mxsec msg/s", "cpu ms", "pf+milters msg/s", "cpu ms", "pf/dkim/dmarc ms", "rate x",
                 "cpu x", "knot ms mx/pf"], table)
    ok = True
    for what, by_side in controls.items():
        for name, (good, detail) in by_side.items():
            print(f"{name}: {what}: {'yes' if good else 'NO'}: {detail.strip()[:300]}")
            ok &= good
    for name, c in checks.items():
        print(f"{name}: {c['all_pass']}/{c['delivered']} delivered messages say spf=pass dkim=pass dmarc=pass")
        print(f"  e.g. {c['sample'][:300]}")
        for f in c["failures"]:
            print(f"  FAILED: {f[:300]}")
        ok &= c["delivered"] > 0 and c["all_pass"] == c["delivered"]
    for name, outcome in bogus.items():
        print(f"{name}: signed by d=bogus.test (DNSSEC-bogus key), informative: {outcome}")
    if ub_calls is not None:
        delivered = checks.get("postfix_milters", {}).get("delivered", 0)
        print(f"OpenDKIM parsed its resolver configuration (ub_ctx_config) {ub_calls} times for "
              f"{delivered} delivered messages (+ controls): a new libunbound context per message")
    for r in rows:
        for name in ("mxsec", "postfix_milters"):
            if not r[name]["sent_ok"] or r[name]["messages"] < args.messages:
                ok = False
                print(f"{name}, {r['sessions']} sessions: {r[name]['messages']}/{args.messages} delivered; "
                      f"smtp-source: {r[name]['client_error'].strip()}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    bench_common.run_main(main)
