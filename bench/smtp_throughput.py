#!/usr/bin/python3
"""Accepting mail: mxsec against Postfix, side by side in one run.

smtp-source (Postfix's load generator) sends N messages of SIZE octets over
CONC concurrent sessions to
  (a) `mxsec serve`: accept, queue durably (fsync, group commit), deliver
      to a Maildir (fsync);
  (b) Postfix 3.7 (its own instance, config dir under a temporary
      directory): smtpd -> cleanup -> queue (fsync) -> qmgr -> virtual(8)
      into a Maildir (fsync).
Both run on 127.0.70.x, both finish when every message is in its Maildir.
Reported: messages/s (wall clock, first connect to last Maildir file) and
CPU seconds per message of the server's processes (mxsec: the one process;
Postfix: master and every child, reaped or alive).

  bench/smtp_throughput.py --mxsec build/release/src/app/mxsec [--messages 5000]
Needs root (Postfix drops to its own users) and the postfix package.
"""

import argparse
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "testbed"))
from postfix_peer import PostfixPeer  # noqa: E402

MXSEC_ADDR = "127.0.70.1"
POSTFIX_ADDR = "127.0.70.2"
CLK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid, children_of=None):
    """utime+stime of `pid`, plus reaped children (cutime+cstime)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) / CLK


def tree_cpu(root):
    """CPU of `root` and every live descendant (reaped ones are in cutime)."""
    total = 0.0
    kids = {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            kids.setdefault(int(fields[1]), []).append(int(p))
        except OSError:
            pass
    stack = [root]
    while stack:
        pid = stack.pop()
        try:
            total += cpu_seconds(pid)
        except OSError:
            pass
        stack.extend(kids.get(pid, []))
    return total


def count_files(d):
    try:
        return len(os.listdir(d))
    except FileNotFoundError:
        return 0


def wait_files(d, n, timeout):
    end = time.time() + timeout
    while count_files(d) < n and time.time() < end:
        time.sleep(0.01)
    return count_files(d)


def smtp_source(addr, port, messages, size, conc):
    # -c: count; -l: message size; -m: messages; -s: sessions; -N: unique Message-ID
    return subprocess.run(["/usr/sbin/smtp-source", "-l", str(size), "-m", str(messages), "-s", str(conc),
                           "-f", "load@source.test", "-t", "user@bench.test", f"{addr}:{port}"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=3600)


class Mxsec:
    def __init__(self, binary, tmp, threads):
        self.dir = os.path.join(tmp, "mxsec")
        os.makedirs(self.dir, mode=0o700)
        self.config = os.path.join(self.dir, "mxsec.toml")
        with open(self.config, "w") as f:
            f.write(f"""hostname = "mx.bench.test"
spool_dir = "{self.dir}/spool"
threads = {threads}
[[listener]]
address = "{MXSEC_ADDR}:2525"
[relay]
networks = ["127.0.0.0/8"]
[[domain]]
name = "bench.test"
delivery = "maildir:{self.dir}/maildir/%d/%u"
[inbound]
verify = false
[log]
level = "warn"
[limits]
max_sessions_per_client = 1000
""")
        self.maildir = os.path.join(self.dir, "maildir/bench.test/user/new")
        self.proc = subprocess.Popen([binary, "serve", "--config", self.config], stdout=subprocess.PIPE,
                                     stderr=open(os.path.join(self.dir, "log"), "w"))
        if "listening" not in self.proc.stdout.readline().decode():
            raise RuntimeError("mxsec did not start")
        self.port = 2525

    def cpu(self):
        return cpu_seconds(self.proc.pid)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)


class Postfix:
    """The peer: smtpd -> cleanup -> queue -> qmgr -> virtual(8) into a Maildir."""

    def __init__(self, tmp):
        self.mail = os.path.join(tmp, "postfix-mail")
        os.makedirs(self.mail)
        nobody = pwd.getpwnam("nobody")
        os.chown(self.mail, nobody.pw_uid, nobody.pw_gid)
        self.peer = PostfixPeer(os.path.join(tmp, "postfix"), [f"{POSTFIX_ADDR}:25"], hostname="mx.bench.test", main={
            "virtual_mailbox_domains": "bench.test", "virtual_mailbox_base": self.mail,
            "virtual_mailbox_maps": "static:bench.test/user/", "virtual_uid_maps": f"static:{nobody.pw_uid}",
            "virtual_gid_maps": f"static:{nobody.pw_gid}", "smtpd_client_connection_count_limit": "0",
            "default_process_limit": "200",
        }).start()
        self.maildir = os.path.join(self.mail, "bench.test/user/new")
        self.port = 25

    def cpu(self):
        return tree_cpu(self.peer.master)

    def stop(self):
        self.peer.stop()


def measure(server, addr, messages, size, conc):
    before_files = count_files(server.maildir)
    cpu0 = server.cpu()
    t0 = time.time()
    r = smtp_source(addr, server.port, messages, size, conc)
    got = wait_files(server.maildir, before_files + messages, 600) - before_files
    elapsed = time.time() - t0
    cpu = server.cpu() - cpu0
    return {"messages": got, "sent_ok": r.returncode == 0, "seconds": elapsed, "msgs_per_s": got / elapsed,
            "cpu_ms_per_msg": 1000 * cpu / max(got, 1)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mxsec", required=True)
    ap.add_argument("--messages", type=int, default=5000)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="mxsec-bench-smtp-")
    os.chmod(tmp, 0o755)
    mx = Mxsec(args.mxsec, tmp, args.threads)
    pf = Postfix(tmp)
    rows = []
    try:
        for size in (5 * 1024, 100 * 1024):
            for conc in (20, 100):
                n = args.messages if size < 50000 else max(args.messages // 4, 200)
                a = measure(mx, MXSEC_ADDR, n, size, conc)
                b = measure(pf, POSTFIX_ADDR, n, size, conc)
                rows.append({"size": size, "sessions": conc, "mxsec": a, "postfix": b,
                             "rate_ratio": a["msgs_per_s"] / b["msgs_per_s"],
                             "cpu_ratio": a["cpu_ms_per_msg"] / b["cpu_ms_per_msg"]})
    finally:
        mx.stop()
        pf.stop()
    if args.json:
        print(json.dumps(rows, indent=2))
    print(f"{'size':>7} {'sess':>5} {'mxsec msg/s':>12} {'cpu ms':>7} {'postfix msg/s':>14} {'cpu ms':>7} "
          f"{'rate x':>7} {'cpu x':>6}")
    for r in rows:
        print(f"{r['size']:>7} {r['sessions']:>5} {r['mxsec']['msgs_per_s']:>12.0f} {r['mxsec']['cpu_ms_per_msg']:>7.2f} "
              f"{r['postfix']['msgs_per_s']:>14.0f} {r['postfix']['cpu_ms_per_msg']:>7.2f} {r['rate_ratio']:>6.2f}x "
              f"{r['cpu_ratio']:>5.2f}x")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
