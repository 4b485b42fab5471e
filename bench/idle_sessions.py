#!/usr/bin/python3
"""Memory of idle SMTP sessions in `mxsec serve`: open N connections from
127.0.0.1 to a server on 127.0.71.1, read each greeting, send EHLO on each and
read the reply, then hold them all open and read the server's RSS
(/proc/PID/status VmRSS). Reports RSS before and with the sessions, and the
difference per session.

  bench/idle_sessions.py --mxsec build/release/src/app/mxsec [--sessions 10000]
Raises RLIMIT_NOFILE for itself; the server's own limit must allow the
sessions (its default max_sessions is 10,000).
"""
import argparse
import os
import resource
import socket
import subprocess
import tempfile
import time

ADDR = "127.0.71.1"


def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mxsec", required=True)
    ap.add_argument("--sessions", type=int, default=10000)
    args = ap.parse_args()
    resource.setrlimit(resource.RLIMIT_NOFILE, (args.sessions + 1000, args.sessions + 1000))
    tmp = tempfile.mkdtemp(prefix="mxsec-idle-")
    cfg = os.path.join(tmp, "mxsec.toml")
    open(cfg, "w").write(f"""hostname = "mx.idle.test"
spool_dir = "{tmp}/spool"
[[listener]]
address = "{ADDR}:2525"
[inbound]
verify = false
[log]
level = "warn"
[limits]
max_sessions = {args.sessions + 10}
max_sessions_per_client = {args.sessions + 10}
""")
    proc = subprocess.Popen([args.mxsec, "serve", "--config", cfg], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE,
                                                                  (args.sessions + 1000, args.sessions + 1000)))
    assert "listening" in proc.stdout.readline().decode()
    time.sleep(0.5)
    before = rss_kib(proc.pid)
    socks = []
    for _ in range(args.sessions):
        s = socket.create_connection((ADDR, 2525))
        s.recv(512)
        s.sendall(b"EHLO idle.example\r\n")
        socks.append(s)
    for s in socks:
        s.recv(4096)
    time.sleep(1)
    with_sessions = rss_kib(proc.pid)
    per = (with_sessions - before) / args.sessions
    print(f"sessions={args.sessions} rss_before={before} KiB rss_with={with_sessions} KiB "
          f"per_session={per:.1f} KiB ({per * 1024:.0f} bytes)")
    for s in socks:
        s.close()
    proc.terminate()
    proc.wait(timeout=60)


if __name__ == "__main__":
    main()
