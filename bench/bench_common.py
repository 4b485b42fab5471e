"""Shared by the server benchmarks under bench/ (smtp_throughput.py,
latency.py, scaling.py, verify_throughput.py, relay_throughput.py): starting
`mxsec serve` and an own Postfix instance side by side, milters (OpenDKIM,
OpenDMARC) and Postfix's smtp-sink as children, CPU accounting from /proc,
and cleaning up every process a benchmark started, also on Ctrl-C, SIGTERM
or an exception.

  with Cleanup() as cleanup:
      mx = cleanup.add(MxsecServer(binary, tmp, "127.0.70.1"))
      pf = cleanup.add(PostfixServer(tmp, "127.0.70.2"))
      ...                     # every .stop() runs in reverse order on the way out

Servers are children of the benchmark where they can be: mxsec and the
milters get PR_SET_PDEATHSIG, so they die with the benchmark even if it is
killed with SIGKILL. Postfix's master daemonizes; it is stopped with
`postfix -c DIR stop` (whenever its pid file exists, even if start failed).
"""

import contextlib
import ctypes
import math
import os
import pwd
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "testbed"))
from postfix_peer import PostfixPeer  # noqa: E402
import testbed  # noqa: E402

CLK = os.sysconf("SC_CLK_TCK")
SMTP_SOURCE = "/usr/sbin/smtp-source"
_PR_SET_PDEATHSIG = 1


def cpu_seconds(pid):
    """utime+stime of `pid`, plus its reaped children (cutime+cstime)."""
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


def wait_count(count, n, timeout, stall=60):
    """Waits until count() reaches n; gives up after `timeout` seconds, or
    after `stall` seconds in which it did not move. Returns count()."""
    end = time.time() + timeout
    last, last_change = count(), time.time()
    while last < n and time.time() < end and time.time() - last_change < stall:
        time.sleep(0.01)
        now = count()
        if now != last:
            last, last_change = now, time.time()
    return count()


def wait_files(d, n, timeout, stall=60):
    """Waits until directory d holds n files (wait_count)."""
    return wait_count(lambda: count_files(d), n, timeout, stall)


def child_setup(nofile=None, cpus=None, new_session=True):
    """A preexec_fn: die with the benchmark (SIGTERM when it exits), optionally
    raise RLIMIT_NOFILE and pin to `cpus`; own session, so a Ctrl-C on the
    terminal reaches only the benchmark, which then stops its children in
    order."""
    libc = ctypes.CDLL(None, use_errno=True)

    def setup():
        if new_session:
            os.setsid()
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if nofile:
            raise_nofile(nofile)
        if cpus is not None:
            os.sched_setaffinity(0, cpus)
    return setup


def raise_nofile(n):
    """Raises RLIMIT_NOFILE to n, or as far as the hard limit allows (a
    container may forbid raising the hard limit even to root)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= n:
        return
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (n, max(n, hard)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(n, hard), hard))


def stop_process(proc, timeout=30, sig=signal.SIGTERM):
    """Stops a Popen child we started: `sig`, wait, then SIGKILL."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class Cleanup:
    """Runs every registered stop() in reverse order when the block ends,
    however it ends. SIGTERM and SIGHUP become SystemExit so `finally` blocks
    run; SIGINT is Python's KeyboardInterrupt already."""

    def __init__(self):
        self._stops = []

    def add(self, thing, stop=None):
        self._stops.append(stop or thing.stop)
        return thing

    def __enter__(self):
        def on_signal(signum, _frame):
            raise SystemExit(128 + signum)
        for s in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(s, on_signal)
        return self

    def __exit__(self, *exc):
        # A second Ctrl-C during clean-up must not leave servers behind.
        old = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            while self._stops:
                stop = self._stops.pop()
                try:
                    stop()
                except Exception as e:  # keep stopping the others
                    print(f"clean-up: {e}", file=sys.stderr)
        finally:
            signal.signal(signal.SIGINT, old)
        return False


# --- milters (OpenDKIM, OpenDMARC) as children of the benchmark -------------------------

class Milter:
    """A milter in the foreground (argv), a child of the benchmark; ready
    once its socket (`addr`: a UNIX path or (host, port)) accepts.
    `postfix_spec` is what smtpd_milters names it by."""

    def __init__(self, name, argv, log, addr, preexec, postfix_spec, env=None):
        self.name, self.addr, self.postfix_spec = name, addr, postfix_spec
        self.proc = subprocess.Popen(argv, stdout=open(log, "w"), stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, preexec_fn=preexec, env=env)
        self.log = log
        end = time.time() + 15
        while time.time() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{name} exited ({self.proc.returncode}): {open(log).read()[-2000:]}")
            try:
                if isinstance(addr, str):
                    with socket.socket(socket.AF_UNIX) as s:
                        s.connect(addr)
                else:
                    socket.create_connection(addr, timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{name} does not listen on {addr}: {open(log).read()[-2000:]}")

    def cpu(self):
        return tree_cpu(self.proc.pid)

    def stop(self):
        stop_process(self.proc, timeout=5)  # OpenDKIM can take 15 s on SIGTERM


def write_file(d, name, text):
    path = os.path.join(d, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def milter_dir(d, name, inet, transport):
    """Makes the milter's directory; returns (socket spec for the milter,
    spec for Postfix, address to probe, a host-list file that does not
    match our clients: both milters treat 127.0.0.1 specially by default)."""
    os.makedirs(d)
    hosts = write_file(d, "hosts-not-us", "192.0.2.254\n")
    if transport == "unix":
        path = os.path.join(d, name + ".sock")
        return f"local:{path}", f"unix:{path}", path, hosts
    return f"inet:{inet[1]}@{inet[0]}", f"inet:{inet[0]}:{inet[1]}", inet, hosts



class SmtpSink:
    """Postfix's smtp-sink on ADDR:PORT (as root it must drop to a user:
    `nobody`), throwing every message away and counting: -c writes
    "sess=N quit=N mesg=N\\r" to its standard output after every session
    end, QUIT and ".", which goes to a file here; count() reads the last
    complete record. Up to `sessions` connections at once (-m)."""

    def __init__(self, tmp, addr, port=25, name="smtp-sink", sessions=512):
        self.out = os.path.join(tmp, name + ".out")
        self.addr, self.port = addr, port
        self.proc = subprocess.Popen(["/usr/sbin/smtp-sink", "-u", "nobody", "-c", "-m", str(sessions),
                                      f"{addr}:{port}", "1024"], stdout=open(self.out, "wb"),
                                     stderr=open(self.out + ".err", "wb"), stdin=subprocess.DEVNULL,
                                     preexec_fn=child_setup(nofile=sessions + 64))
        end = time.time() + 10
        while True:
            try:
                socket.create_connection((addr, port), timeout=1).close()
                break
            except OSError:
                if self.proc.poll() is not None or time.time() > end:
                    self.stop()
                    raise RuntimeError(f"smtp-sink on {addr}:{port} did not start: "
                                       f"{open(self.out + '.err', errors='replace').read()[-500:]}")
                time.sleep(0.05)

    def count(self):
        """Messages received so far (the "mesg=" of the last record)."""
        with open(self.out, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 200))
            records = f.read().split(b"\r")[:-1]  # the last piece may be half written
        for field in (records[-1].split() if records else []):
            if field.startswith(b"mesg="):
                return int(field[5:])
        return 0

    def cpu(self):
        return cpu_seconds(self.proc.pid)

    def stop(self):
        stop_process(self.proc, timeout=10)


class MxsecServer:
    """`mxsec serve` with one listener on ADDR:PORT and one local domain
    delivered to a Maildir under DIR/maildir/<domain>/<user>.

    extra: TOML text appended to the generated file (e.g. [dns] for the test
    bed). limits: [limits] keys. cpus: CPU set the process is pinned to."""

    def __init__(self, binary, tmp, addr, port=2525, name="mxsec", threads=0, relay=("127.0.0.0/8",),
                 domain="bench.test", verify=False, limits=None, extra="", hostname="mx.bench.test",
                 cpus=None, nofile=65536):
        self.dir = os.path.join(tmp, name)
        os.makedirs(self.dir, mode=0o700)
        self.config = os.path.join(self.dir, "mxsec.toml")
        self.addr, self.port, self.domain = addr, port, domain
        lim = {"max_sessions_per_client": 1000}
        lim.update(limits or {})
        nets = ", ".join(f'"{n}"' for n in relay)
        with open(self.config, "w") as f:
            f.write(f"""hostname = "{hostname}"
spool_dir = "{self.dir}/spool"
threads = {threads}
{extra}
[[listener]]
address = "{addr}:{port}"
[relay]
networks = [{nets}]
[[domain]]
name = "{domain}"
delivery = "maildir:{self.dir}/maildir/%d/%u"
[inbound]
verify = {"true" if verify else "false"}
[log]
level = "warn"
[limits]
""")
            for k, v in lim.items():
                f.write(f"{k} = {v}\n")
        self.log = os.path.join(self.dir, "log")
        self.proc = subprocess.Popen([binary, "serve", "--config", self.config], stdout=subprocess.PIPE,
                                     stderr=open(self.log, "w"), stdin=subprocess.DEVNULL,
                                     preexec_fn=child_setup(nofile=nofile, cpus=cpus))
        line = self.proc.stdout.readline().decode()
        if "listening" not in line:
            self.stop()
            raise RuntimeError(f"mxsec did not start: {line}{self.log_tail()}")

    @property
    def pid(self):
        return self.proc.pid

    def maildir(self, user="user"):
        return os.path.join(self.dir, "maildir", self.domain, user, "new")

    def cpu(self):
        return cpu_seconds(self.proc.pid)

    def log_tail(self, n=2000):
        try:
            return "\n" + open(self.log, errors="replace").read()[-n:]
        except OSError:
            return ""

    def stop(self):
        stop_process(self.proc, timeout=60)


class PostfixServer:
    """Postfix: smtpd -> cleanup -> queue (fsync) -> qmgr -> virtual(8) into
    a Maildir (MAIL/<domain>/user/new) for every recipient of DOMAIN. `main`
    adds or overrides main.cf settings."""

    def __init__(self, tmp, addr, name="postfix", domain="bench.test", main=None, hostname="mx.bench.test"):
        self.mail = os.path.join(tmp, name + "-mail")
        os.makedirs(self.mail)
        nobody = pwd.getpwnam("nobody")
        os.chown(self.mail, nobody.pw_uid, nobody.pw_gid)
        settings = {
            "virtual_mailbox_domains": domain, "virtual_mailbox_base": self.mail,
            "virtual_mailbox_maps": f"static:{domain}/user/", "virtual_uid_maps": f"static:{nobody.pw_uid}",
            "virtual_gid_maps": f"static:{nobody.pw_gid}", "smtpd_client_connection_count_limit": "0",
            # mxsec looks up no client names; without this a client outside
            # /etc/hosts costs Postfix a PTR query to the machine's resolver.
            "smtpd_peername_lookup": "no",
        }
        settings.update(main or {})
        self.peer = PostfixPeer(os.path.join(tmp, name), [f"{addr}:25"], hostname=hostname, main=settings)
        self.addr, self.port, self.domain = addr, 25, domain
        self.peer.start()

    def maildir(self, user="user"):
        # virtual_mailbox_maps is static: every recipient lands in one Maildir.
        return os.path.join(self.mail, self.domain, "user", "new")

    def cpu(self):
        return tree_cpu(self.peer.master)

    def log_tail(self, n=2000):
        return self.peer.log_tail(n)

    def stop(self):
        if self.peer.master is None and os.path.exists(os.path.join(self.peer.spool, "pid", "master.pid")):
            subprocess.run(["postfix", "-c", self.peer.conf, "stop"], capture_output=True)
        self.peer.stop()


def mx_testbed(tmp, addr, routes, zone="insecure.test."):
    """Starts the DNSSEC test bed (tests/testbed: knotd on `addr`, a free
    port, state under TMP/testbed) with one mail domain per entry of
    `routes` {label: address} in `zone`: `label.zone MX 10 mx-label.zone`
    and `mx-label.zone A address`. Returns the started Testbed (stop() it)."""
    lines = "".join(f"{label} MX 10 mx-{label}\nmx-{label} A {a}\n" for label, a in routes.items())
    path = os.path.join(tmp, "mx-routes.zone")
    with open(path, "w") as f:
        f.write(lines)
    return testbed.Testbed(os.path.join(tmp, "testbed"), addr=addr, extra={zone: path}).start()


def dns_toml(env):
    """mxsec's [dns] table for the test bed whose settings are `env`."""
    return f"""[dns]
forwarders = ["{env['MXSEC_TB_RESOLVER']}"]
trust_anchors = ["{env['MXSEC_TB_TRUST_ANCHOR']}"]
private_zones = ["test"]
"""


def smtp_source(addr, port, messages, sessions, size=None, file=None, sender="load@source.test",
                rcpt="user@bench.test", helo=None, cpus=None, timeout=3600):
    """Postfix's load generator: `messages` messages over `sessions` parallel
    sessions, one message per connection; payload `size` octets, or the
    pre-formatted message in `file` (-F, sent as it is, LF -> CRLF)."""
    cmd = [SMTP_SOURCE, "-m", str(messages), "-s", str(sessions), "-f", sender, "-t", rcpt]
    cmd += ["-F", file] if file else ["-l", str(size)]
    if helo:
        cmd += ["-M", helo]
    return subprocess.run(cmd + [f"{addr}:{port}"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          timeout=timeout, preexec_fn=child_setup(cpus=cpus, new_session=False))


def children_cpu():
    """CPU seconds of this process's reaped children (smtp-source runs)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def machine_busy_seconds():
    """CPU seconds every processor of the machine spent busy so far
    (/proc/stat: user, nice, system, irq, softirq, steal)."""
    with open("/proc/stat") as f:
        fields = f.readline().split()
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def own_cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def measure_throughput(server, messages, sessions, size=None, file=None, client_cpus=None, helo=None,
                       sender="load@source.test", wait=600, rcpt=None, arrived=None, helpers_cpu=None, during=None):
    """smtp-source sends `messages` into `server`; the clock runs from the
    first connect until the last message has arrived: by default the last
    file in the server's Maildir, or when `arrived()` (messages at the
    destination so far) has grown by `messages`. Returns the rate, the
    server's CPU per message (server.cpu(): its process tree), the load
    generator's, and the machine's: every busy CPU second of the run except
    the load generator's, this script's, and `helpers_cpu()` (CPU seconds
    of processes that are neither server nor load, such as sinks). The
    machine figure also holds what the kernel does for the server on its
    own threads (write-back by the flusher kworkers, which a syncfs() waits
    for), so it is only meaningful on an otherwise idle machine. The raw
    seconds are in the result too (server_cpu_s, machine_cpu_s). `during`
    (optional) has start() and stop(), called around smtp-source (e.g.
    latency probes sent alongside the load)."""
    if arrived is None:
        maildir = server.maildir()
        arrived = lambda: count_files(maildir)  # noqa: E731
    helpers_cpu = helpers_cpu or (lambda: 0.0)
    before = arrived()
    cpu0, client0, helpers0 = server.cpu(), children_cpu(), helpers_cpu()
    machine0, own0 = machine_busy_seconds(), own_cpu()
    t0 = time.time()
    if during:
        during.start()
    try:
        r = smtp_source(server.addr, server.port, messages, sessions, size=size, file=file, helo=helo, sender=sender,
                        rcpt=rcpt or f"user@{server.domain}", cpus=client_cpus)
    finally:
        if during:
            during.stop()
    got = wait_count(arrived, before + messages, wait, stall=60 if r.returncode == 0 else 10) - before
    elapsed = time.time() - t0
    cpu = server.cpu() - cpu0
    client = children_cpu() - client0
    machine = machine_busy_seconds() - machine0 - client - (own_cpu() - own0) - (helpers_cpu() - helpers0)
    return {"messages": got, "sent_ok": r.returncode == 0, "seconds": elapsed, "msgs_per_s": got / elapsed,
            "cpu_ms_per_msg": 1000 * cpu / max(got, 1), "server_cpu_util": cpu / elapsed,
            "machine_cpu_ms_per_msg": 1000 * machine / max(got, 1),
            "client_cpu_ms_per_msg": 1000 * client / max(got, 1), "server_cpu_s": cpu, "machine_cpu_s": machine,
            "client_error": r.stderr.decode(errors="replace")[-300:] if r.returncode else ""}


@contextlib.contextmanager
def scratch_dir(prefix, keep=False, mode=0o755):
    """A temporary directory for one run (mode 0755 by default: Postfix's
    unprivileged daemons work below it), removed on the way out unless
    `keep` (then its path is printed)."""
    tmp = tempfile.mkdtemp(prefix=prefix)
    os.chmod(tmp, mode)
    try:
        yield tmp
    finally:
        if keep:
            print(f"kept: {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def run_main(main):
    """Runs a benchmark's main(); a Ctrl-C ends it with a line instead of a
    traceback (the servers were stopped on the way out by Cleanup)."""
    try:
        main()
    except KeyboardInterrupt:
        print("interrupted; every process this benchmark started has been stopped", file=sys.stderr)
        sys.exit(130)


def percentile(sorted_values, p):
    """Nearest-rank percentile of an ascending list (None when empty)."""
    if not sorted_values:
        return None
    k = max(0, min(len(sorted_values) - 1, math.ceil(p / 100.0 * len(sorted_values)) - 1))
    return sorted_values[k]


def print_table(headers, rows):
    """Right-aligned columns; cells are already strings."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    print("  ".join(h.rjust(w) for h, w in zip(headers, widths)))
    for r in rows:
        print("  ".join(c.rjust(w) for c, w in zip(r, widths)))
