"""A Postfix instance of our own, for tests and benchmarks: its own config
and queue directory under a state directory, smtpd only on the 127.x
addresses given, every service out of the chroot (the queue directory has no
chroot set-up), logs in DIR/maillog. Nothing under /etc/postfix is changed;
Debian's master.cf is read as the template.

    peer = PostfixPeer("/tmp/x/postfix", listen=["127.0.66.1:25"],
                       main={"relayhost": "[127.0.66.2]:2525"})
    ...
    peer.stop()

Needs root (Postfix's daemons drop to the `postfix` user) and the postfix
package. The state directory's parents must be searchable by others."""

import os
import shutil
import subprocess
import time


class PostfixError(Exception):
    pass


def master_cf(listeners):
    """master.cf text: Debian's /etc/postfix/master.cf with every service out
    of the chroot and without its port-25 listener on every address, then
    LISTENERS (master.cf entries, e.g. "127.0.66.1:25 inet n - n - - smtpd",
    "-o" option lines included)."""
    lines = []
    with open("/etc/postfix/master.cf") as template:
        for line in template:
            f = line.split()
            if line[:1] in ("#", " ", "\t", "\n") or len(f) < 8:
                lines.append(line)
                continue
            if f[0] == "smtp" and f[1] == "inet":
                continue  # Debian's port-25 listener on every address
            f[4] = "n"
            lines.append(" ".join(f) + "\n")
    return "".join(lines) + "".join(entry.rstrip("\n") + "\n" for entry in listeners)


class PostfixPeer:
    def __init__(self, state_dir, listen, main=None, hostname="relay.test"):
        for endpoint in listen:
            if not endpoint.startswith("127."):
                raise PostfixError(f"{endpoint}: only 127.x.y.z addresses")
        self.dir = state_dir
        self.conf = os.path.join(self.dir, "conf")
        self.spool = os.path.join(self.dir, "spool")
        self.data = os.path.join(self.dir, "data")
        self.maillog = os.path.join(self.dir, "maillog")
        for d in (self.conf, self.spool, self.data):
            os.makedirs(d, exist_ok=True)
        os.chmod(self.dir, 0o755)
        shutil.chown(self.data, "postfix")
        self._write_master(listen)
        settings = {
            "compatibility_level": "3.6", "queue_directory": self.spool, "data_directory": self.data,
            "myhostname": hostname, "mydestination": "", "inet_interfaces": "loopback-only",
            "inet_protocols": "ipv4", "mynetworks": "127.0.0.0/8",
            "smtpd_relay_restrictions": "permit_mynetworks, reject_unauth_destination",
            "maillog_file": self.maillog, "maillog_file_prefixes": self.dir, "alias_maps": "",
            "alias_database": "", "local_recipient_maps": "", "biff": "no", "smtputf8_enable": "no",
        }
        settings.update(main or {})
        with open(os.path.join(self.conf, "main.cf"), "w") as f:
            for k, v in settings.items():
                f.write(f"{k} = {v}\n")
        # Postfix re-reads a configuration file written in the current second
        # until it is stable; date them back.
        past = time.time() - 60
        for name in ("main.cf", "master.cf"):
            os.utime(os.path.join(self.conf, name), (past, past))
        self.master = None

    def _write_master(self, listen):
        with open(os.path.join(self.conf, "master.cf"), "w") as f:
            f.write(master_cf([f"{endpoint} inet n - n - - smtpd" for endpoint in listen]))

    def start(self, timeout=10):
        r = subprocess.run(["postfix", "-c", self.conf, "start"], capture_output=True, text=True)
        if r.returncode != 0:
            raise PostfixError(f"postfix start failed: {r.stdout}{r.stderr}{self.log_tail()}")
        pidfile = os.path.join(self.spool, "pid", "master.pid")
        end = time.time() + timeout
        while not os.path.exists(pidfile) and time.time() < end:
            time.sleep(0.1)
        if not os.path.exists(pidfile):
            raise PostfixError("postfix master wrote no pid file" + self.log_tail())
        self.master = int(open(pidfile).read().split()[0])
        return self

    def log(self):
        return open(self.maillog, errors="replace").read() if os.path.exists(self.maillog) else ""

    def log_tail(self, n=2000):
        return "\n" + self.log()[-n:]

    def flush(self):
        subprocess.run(["postqueue", "-c", self.conf, "-f"], capture_output=True)

    def stop(self):
        if self.master is None:
            return
        subprocess.run(["postfix", "-c", self.conf, "stop"], capture_output=True)
        end = time.time() + 10
        while time.time() < end:
            try:
                os.kill(self.master, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        self.master = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
