"""The crash-test machinery shared by tests/e2e/serve_e2e.py (local Maildir
delivery) and bench/relay_crash.py (relayed mail): `mxsec serve` as a child
that can be killed with SIGKILL and restarted on the same spool, clients
that submit messages with unique tokens and count a token as acknowledged
only after the 250 to the end of its data, the kill loop, and the tally.

    server = Server(mxsec, config); server.start()
    load = Load(addr, port, rcpt="crash@example.test"); load.start()
    kill_and_restart(server, kills, random.Random(seed))
    load.wait_acked(messages); load.finish()
    ... wait until the destination holds every acknowledged token ...
    lost, duplicates = tally(load.acked, counts)   # counts: token -> copies seen

Every message carries its token twice: `X-Token: TOKEN` and `Message-ID:
<TOKEN@crash.test>` (token_from_message_id() turns it back)."""

import signal
import smtplib
import subprocess
import threading
import time


class Server:
    def __init__(self, mxsec, config):
        self.mxsec = mxsec
        self.config = config
        self.proc = None
        self.log = None

    def start(self, timeout=20):
        self.log = open(self.config + ".log", "ab")
        self.proc = subprocess.Popen([self.mxsec, "serve", "--config", self.config, "--grace", "5"],
                                     stdout=subprocess.PIPE, stderr=self.log)
        line = self.proc.stdout.readline().decode()
        if "listening on" not in line:
            raise RuntimeError(f"serve did not start: {line!r} rc={self.proc.poll()}")

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def term(self, timeout=30):
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def stop(self):
        """For a clean-up path: SIGTERM if it still runs, then SIGKILL."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.term()
            except subprocess.TimeoutExpired:
                self.kill9()


def message_id(token):
    return f"<{token}@crash.test>"


def token_from_message_id(mid):
    return mid.strip().lstrip("<").split("@", 1)[0]


class Load:
    """`threads` clients, each opening sessions of up to 20 messages from
    `source` to addr:port, MAIL FROM `sender`, RCPT TO `rcpt`, a body of
    about `size` octets. A token is added to `acked` only after the 250 to
    the end of its data; a broken session (the server was killed) is
    reconnected after 20 ms."""

    def __init__(self, addr, port, rcpt, sender="load@example.test", source="127.0.0.1", threads=8, size=4000):
        self.addr, self.port, self.rcpt, self.sender, self.source, self.size = addr, port, rcpt, sender, source, size
        self.acked = set()
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(i,)) for i in range(threads)]
        self.counter = 0

    def next_token(self, i):
        with self.lock:
            self.counter += 1
            return f"tok-{i}-{self.counter}"

    def body(self, tok):
        return (f"From: {self.sender}\r\nSubject: {tok}\r\nMessage-ID: {message_id(tok)}\r\nX-Token: {tok}\r\n\r\n"
                + "x" * self.size + "\r\n").encode()

    def run(self, i):
        while not self.stop.is_set():
            try:
                s = smtplib.SMTP(self.addr, self.port, source_address=(self.source, 0), timeout=10)
                s.ehlo("load.example.test")
                for _ in range(20):
                    if self.stop.is_set():
                        break
                    tok = self.next_token(i)
                    s.sendmail(self.sender, [self.rcpt], self.body(tok))
                    with self.lock:
                        self.acked.add(tok)
                s.quit()
            except (OSError, smtplib.SMTPException):
                time.sleep(0.02)

    def start(self):
        for t in self.threads:
            t.start()

    def wait_acked(self, messages):
        while len(self.acked) < messages:
            time.sleep(0.1)

    def finish(self):
        self.stop.set()
        for t in self.threads:
            if t.ident is not None:  # started
                t.join()


def kill_and_restart(server, kills, rng, up=(0.2, 1.0), down=(0.0, 0.2)):
    """`kills` times: let the server run for a random time in `up` seconds,
    SIGKILL it, wait a random time in `down`, start it again on the same
    spool."""
    for _ in range(kills):
        time.sleep(rng.uniform(*up))
        server.kill9()
        time.sleep(rng.uniform(*down))
        server.start()


def tally(acked, counts):
    """(acknowledged tokens never delivered, sorted; extra copies delivered)."""
    lost = sorted(acked - set(counts))
    duplicates = sum(n - 1 for n in counts.values() if n > 1)
    return lost, duplicates
