#!/usr/bin/python3
"""A recording SMTP sink for tests and benchmarks: it accepts every message
and, before it replies 250 to the end of the data, appends one JSON line per
message to a record file and flushes it (os.fsync too with --fsync). Where
Postfix's smtp-sink only counts, this one says *which* message arrived, when,
and how:

  {"id": "<Message-ID>", "t": CLOCK_MONOTONIC seconds at the final ".",
   "tls": true when the session was under STARTTLS, "dkim": true when the
   header has a DKIM-Signature field, "bytes": octets of the text,
   "listener": "ADDR:PORT", "file": path of the saved text (--save) or ""}

CLOCK_MONOTONIC is one clock for every process of the machine, so a client
that notes time.monotonic() before it submits can subtract.

It speaks just enough ESMTP for an MTA's client: EHLO (PIPELINING, SIZE,
8BITMIME, ENHANCEDSTATUSCODES, and STARTTLS on a --listen-tls listener),
HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT; anything else gets 502. Replies go
out in order, so a pipelining client is served too. It is a test tool: no
limits beyond a line length, no checks of addresses.

Program:
  record_sink.py --record FILE [--listen ADDR:PORT]... [--listen-tls ADDR:PORT]...
                 [--cert PEM --key PEM] [--fsync] [--save DIR]
prints "listening" on standard output once every socket is bound. As a
module: RecordSink(record, listen=[...], listen_tls=[...], cert=, key=, save=) runs
it as a child process (dies with its parent); .records() reads the file,
.stop() ends it. Standard library only (asyncio, ssl); Python >= 3.11
(StreamWriter.start_tls)."""

import argparse
import asyncio
import ctypes
import json
import os
import signal
import ssl
import subprocess
import sys
import time

MAX_LINE = 1 << 20
_PR_SET_PDEATHSIG = 1


class Recorder:
    def __init__(self, path, fsync, save):
        self.file = open(path, "a", buffering=1)
        self.fsync = fsync
        self.save = save
        self.saved = 0

    def save_text(self, lines):
        """Writes the message text to SAVE/N.eml; its path, or "" without --save."""
        if not self.save:
            return ""
        self.saved += 1
        path = os.path.join(self.save, f"{self.saved}.eml")
        with open(path, "wb") as f:
            f.writelines(lines)
        return path

    def record(self, entry):
        self.file.write(json.dumps(entry) + "\n")
        self.file.flush()
        if self.fsync:
            os.fsync(self.file.fileno())


def header_facts(lines):
    """(Message-ID, has a DKIM-Signature) from the header lines of a message."""
    mid, dkim = "", False
    for line in lines:
        if line in (b"\r\n", b"\n"):
            break
        name = line.split(b":", 1)[0].strip().lower()
        if name == b"message-id" and not mid:
            mid = line.split(b":", 1)[1].strip().decode(errors="replace")
        elif name == b"dkim-signature":
            dkim = True
    return mid, dkim


async def read_data(reader):
    """The text after 354 up to <CRLF>.<CRLF>, dot-unstuffed, as lines."""
    lines = []
    while True:
        line = await reader.readline()
        if not line:
            raise ConnectionError("connection closed in DATA")
        if line in (b".\r\n", b".\n"):
            return lines
        lines.append(line[1:] if line.startswith(b".") else line)


async def session(reader, writer, listener, tls_ctx, recorder):
    tls = False

    async def reply(text):
        writer.write(text.encode() + b"\r\n")
        await writer.drain()

    try:
        await reply("220 record-sink ESMTP")
        while True:
            line = await reader.readline()
            if not line:
                break
            verb = line.split(None, 1)[0].upper() if line.strip() else b""
            if verb == b"EHLO":
                caps = ["PIPELINING", "SIZE 104857600", "8BITMIME"]
                if tls_ctx and not tls:
                    caps.append("STARTTLS")
                await reply("".join(f"250-{c}\r\n" for c in ["record-sink"] + caps) + "250 ENHANCEDSTATUSCODES")
            elif verb == b"HELO":
                await reply("250 record-sink")
            elif verb == b"STARTTLS" and tls_ctx and not tls:
                await reply("220 2.0.0 go ahead")
                await writer.start_tls(tls_ctx)
                tls = True
            elif verb in (b"MAIL", b"RCPT", b"RSET", b"NOOP"):
                await reply("250 2.0.0 ok")
            elif verb == b"DATA":
                await reply("354 end with <CRLF>.<CRLF>")
                lines = await read_data(reader)
                arrived = time.monotonic()
                mid, dkim = header_facts(lines)
                recorder.record({"id": mid, "t": arrived, "tls": tls, "dkim": dkim,
                                 "bytes": sum(len(x) for x in lines), "listener": listener,
                                 "file": recorder.save_text(lines)})
                await reply("250 2.0.0 recorded")
            elif verb == b"QUIT":
                await reply("221 2.0.0 bye")
                break
            else:
                await reply("502 5.5.2 not implemented")
    except (ConnectionError, ssl.SSLError, asyncio.LimitOverrunError, ValueError):
        pass
    finally:
        writer.close()


async def serve(args):
    recorder = Recorder(args.record, args.fsync, args.save)
    tls_ctx = None
    if args.listen_tls:
        tls_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls_ctx.load_cert_chain(args.cert, args.key)
    servers = []
    for endpoint, ctx in [(e, None) for e in args.listen] + [(e, tls_ctx) for e in args.listen_tls]:
        host, port = endpoint.rsplit(":", 1)

        def handler(r, w, endpoint=endpoint, ctx=ctx):
            return session(r, w, endpoint, ctx, recorder)
        servers.append(await asyncio.start_server(handler, host, int(port), limit=MAX_LINE, backlog=1024,
                                                  reuse_address=True))
    print("listening", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for s in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(s, stop.set)
    await stop.wait()
    for s in servers:
        s.close()


def _die_with_parent():
    os.setsid()
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


class RecordSink:
    """The sink as a child process of the caller."""

    def __init__(self, record, listen=(), listen_tls=(), cert=None, key=None, fsync=False, save=None, log=None):
        self.record = record
        cmd = [sys.executable, os.path.abspath(__file__), "--record", record]
        for e in listen:
            cmd += ["--listen", e]
        for e in listen_tls:
            cmd += ["--listen-tls", e]
        if listen_tls:
            cmd += ["--cert", cert, "--key", key]
        if fsync:
            cmd.append("--fsync")
        if save:
            os.makedirs(save, exist_ok=True)
            cmd += ["--save", save]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                     stderr=open(log or record + ".log", "w"), preexec_fn=_die_with_parent)
        line = self.proc.stdout.readline().decode()
        if "listening" not in line:
            self.stop()
            raise RuntimeError(f"record_sink did not start: {line!r}; see {log or record + '.log'}")

    @property
    def pid(self):
        return self.proc.pid

    def records(self):
        """Every record so far (a line being written is left for next time)."""
        try:
            with open(self.record) as f:
                return [json.loads(line) for line in f if line.endswith("\n")]
        except FileNotFoundError:
            return []

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--record", required=True, help="JSON-lines file, one line per message (appended)")
    ap.add_argument("--listen", action="append", default=[], metavar="ADDR:PORT")
    ap.add_argument("--listen-tls", action="append", default=[], metavar="ADDR:PORT",
                    help="a listener that offers STARTTLS (needs --cert and --key)")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--fsync", action="store_true", help="fsync the record file before each 250")
    ap.add_argument("--save", metavar="DIR", help="also write each message's text to DIR/N.eml")
    args = ap.parse_args()
    if not args.listen and not args.listen_tls:
        ap.error("give at least one --listen or --listen-tls")
    if args.listen_tls and not (args.cert and args.key):
        ap.error("--listen-tls needs --cert and --key")
    for e in args.listen + args.listen_tls:
        if not e.startswith("127."):
            ap.error(f"{e}: only 127.x.y.z addresses")
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
