#!/usr/bin/python3
"""A STARTTLS-stripping man in the middle for the transport test bed.

An asyncio TCP proxy (standard library only) in front of a Postfix listener:
what an active attacker on the path does to opportunistic TLS (RFC 3207 §6,
RFC 7672 §1.3, RFC 8461 §1). For each route it listens on its own loopback
address and forwards every byte both ways, except:

  - in the server's reply to EHLO, the `250-STARTTLS` / `250 STARTTLS` line
    is removed and the continuation markers are rewritten (every line but
    the last `250-`, the last `250 `), so the reply stays valid SMTP
    (RFC 5321 §4.2.1);
  - a STARTTLS command from the client is not forwarded: the proxy answers
    it itself with `502 5.5.1 not implemented`, in its place among the
    replies the client is waiting for (PIPELINING, RFC 2920).

It never does TLS, so everything that crosses it crossed in clear. It writes
what it saw to a JSON-lines log (one object per line, appended with one
write each), so a test can assert "no message crossed in clear":

  {"event": "connect", "route", "conn", "client"}
  {"event": "command", "route", "conn", "verb", "arg"}      (arg cut at 200)
  {"event": "ehlo", "route", "conn", "starttls_removed", "keywords"}
  {"event": "starttls_refused", "route", "conn"}
  {"event": "data", "route", "conn", "kind": "DATA"|"BDAT", "bytes"}
  {"event": "close", "route", "conn", "mail_from", "rcpt_to", "data_bytes",
   "messages", "starttls_removed", "starttls_refused", "commands"}

`mail_from`/`rcpt_to` count MAIL FROM / RCPT TO commands the client sent
(all in clear), `data_bytes` the message octets after a 354 to DATA
(terminating `.` line included) and in BDAT chunks, `messages` the DATA
transfers completed and BDAT LAST chunks. Every record has "time" (Unix
seconds) too.

Usage:
    strip_proxy.py --log FILE --route NAME=LISTEN_ADDR:PORT=UPSTREAM_ADDR:PORT [--route ...]

Only 127.x.y.z addresses. SIGTERM/SIGINT end it (the log is written as it
goes, so nothing is lost).
"""

import argparse
import asyncio
import collections
import itertools
import json
import os
import signal
import sys
import time

REFUSAL = b"502 5.5.1 not implemented\r\n"
MAX_LINE = 65536          # a longer "line" is passed on as it is, unparsed
IDLE_TIMEOUT = 600        # seconds without a byte in either direction
ARG_LOG_CHARS = 200


class Log:
    """Appends one JSON object per line; each line is one write(2) on an
    O_APPEND descriptor, so readers never see half a record."""

    def __init__(self, path):
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)

    def write(self, **record):
        record["time"] = round(time.time(), 3)
        os.write(self.fd, (json.dumps(record, sort_keys=True) + "\n").encode())


def strip_starttls(lines):
    """The EHLO reply LINES (bytes, CRLF kept) without STARTTLS, markers
    fixed. Returns (new lines, whether STARTTLS was removed)."""
    code = lines[0][:3]
    texts = [ln[4:].rstrip(b"\r\n") for ln in lines]
    kept = [t for i, t in enumerate(texts) if i == 0 or t.split(b" ", 1)[0].upper() != b"STARTTLS"]
    out = [code + (b" " if i == len(kept) - 1 else b"-") + t + b"\r\n" for i, t in enumerate(kept)]
    return out, len(kept) != len(texts)


class Session:
    ids = itertools.count(1)

    def __init__(self, route, log, client_reader, client_writer):
        self.route, self.log = route, log
        self.cr, self.cw = client_reader, client_writer
        self.conn = next(Session.ids)
        # What the client waits for, in order: ("server", verb) for a reply
        # owed by the server, ("local", bytes) for one the proxy gives.
        self.owed = collections.deque([("server", "<greeting>")])
        self.data_mode = False      # set when the server answered DATA with 354
        self.stats = {"mail_from": 0, "rcpt_to": 0, "data_bytes": 0, "messages": 0, "starttls_removed": False,
                      "starttls_refused": 0, "commands": 0}

    def note(self, event, **fields):
        self.log.write(event=event, route=self.route["name"], conn=self.conn, **fields)

    async def run(self):
        peer = self.cw.get_extra_info("peername")
        self.note("connect", client=f"{peer[0]}:{peer[1]}" if peer else "?")
        up_addr, up_port = self.route["upstream"]
        try:
            self.ur, self.uw = await asyncio.wait_for(asyncio.open_connection(up_addr, up_port), 10)
        except (OSError, asyncio.TimeoutError) as e:
            self.note("upstream_error", error=str(e))
            self.cw.close()
            self.note("close", **self.stats)
            return
        tasks = [asyncio.ensure_future(self.client_to_server()), asyncio.ensure_future(self.server_to_client())]
        try:
            await asyncio.gather(*tasks)
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError):
            pass
        finally:
            for t in tasks:
                t.cancel()
            for w in (self.cw, self.uw):
                w.close()
            self.note("close", **self.stats)

    async def _read(self, reader):
        return await asyncio.wait_for(reader.read(65536), IDLE_TIMEOUT)

    # -- client -> server --------------------------------------------------------
    async def client_to_server(self):
        buf = b""
        # The last bytes before the unread text of DATA, to find CRLF.CRLF
        # across reads; it starts as the CRLF that ended the DATA line.
        data_tail = b"\r\n"
        data_count = 0
        bdat_left = 0
        bdat_last = False
        while True:
            chunk = await self._read(self.cr)
            if not chunk:
                break
            buf += chunk
            out = []
            while buf:
                if self.data_mode:
                    # The text of DATA, up to and including CRLF.CRLF (the
                    # CRLF before "." may be the one that ended the DATA line).
                    window = data_tail + buf
                    end = window.find(b"\r\n.\r\n")
                    take = len(buf) if end < 0 else end + 5 - len(data_tail)
                    out.append(buf[:take])
                    data_count += take
                    data_tail = (data_tail + buf[:take])[-4:]
                    buf = buf[take:]
                    if end >= 0:
                        self.data_mode = False
                        self.stats["data_bytes"] += data_count
                        self.stats["messages"] += 1
                        self.note("data", kind="DATA", bytes=data_count)
                        self.owed.append(("server", "<end of data>"))
                        data_tail, data_count = b"\r\n", 0
                    continue
                if bdat_left:
                    take = min(bdat_left, len(buf))
                    out.append(buf[:take])
                    buf = buf[take:]
                    bdat_left -= take
                    data_count += take
                    if bdat_left == 0:
                        self.stats["data_bytes"] += data_count
                        self.stats["messages"] += 1 if bdat_last else 0
                        self.note("data", kind="BDAT", bytes=data_count)
                        data_count = 0
                    continue
                nl = buf.find(b"\n")
                if nl < 0:
                    if len(buf) > MAX_LINE:
                        out.append(buf)
                        buf = b""
                    break
                line, buf = buf[:nl + 1], buf[nl + 1:]
                words = line.strip().split(None, 1)
                verb = words[0].decode("ascii", "replace").upper() if words else ""
                arg = words[1].decode("ascii", "replace") if len(words) > 1 else ""
                self.stats["commands"] += 1
                self.note("command", verb=verb, arg=arg[:ARG_LOG_CHARS])
                if verb == "STARTTLS":
                    self.stats["starttls_refused"] += 1
                    self.note("starttls_refused")
                    if out:
                        self.uw.write(b"".join(out))
                        out = []
                    self.owed.append(("local", REFUSAL))
                    self._flush_local()
                    continue
                if verb == "MAIL":
                    self.stats["mail_from"] += 1
                elif verb == "RCPT":
                    self.stats["rcpt_to"] += 1
                elif verb == "BDAT":
                    parts = arg.split()
                    try:
                        bdat_left = int(parts[0]) if parts else 0
                    except ValueError:
                        bdat_left = 0
                    bdat_last = len(parts) > 1 and parts[1].upper() == "LAST"
                    data_count = 0
                    if bdat_left == 0 and bdat_last:
                        self.stats["messages"] += 1
                        self.note("data", kind="BDAT", bytes=0)
                out.append(line)
                self.owed.append(("server", verb))
            if out:
                self.uw.write(b"".join(out))
                await self.uw.drain()
        if self.uw.can_write_eof():
            self.uw.write_eof()

    # -- server -> client --------------------------------------------------------
    async def server_to_client(self):
        buf = b""
        reply = []
        while True:
            chunk = await self._read(self.ur)
            if not chunk:
                break
            buf += chunk
            while True:
                nl = buf.find(b"\n")
                if nl < 0:
                    if len(buf) > MAX_LINE:   # not SMTP: pass it on
                        self.cw.write(buf)
                        buf = b""
                    break
                line, buf = buf[:nl + 1], buf[nl + 1:]
                reply.append(line)
                if len(line) >= 4 and line[3:4] == b"-":
                    continue
                self._server_reply(reply)
                reply = []
            await self.cw.drain()
        if reply:
            self.cw.write(b"".join(reply))
        if self.cw.can_write_eof():
            self.cw.write_eof()

    def _server_reply(self, lines):
        verb = "?"
        if self.owed and self.owed[0][0] == "server":
            verb = self.owed.popleft()[1]
        code = lines[0][:3]
        if verb in ("EHLO", "LHLO") and code == b"250":
            lines, removed = strip_starttls(lines)
            self.stats["starttls_removed"] = self.stats["starttls_removed"] or removed
            keywords = [ln[4:].strip().decode("ascii", "replace") for ln in lines[1:]]
            self.note("ehlo", starttls_removed=removed, keywords=keywords)
        elif verb == "DATA" and code == b"354":
            self.data_mode = True
        self.cw.write(b"".join(lines))
        self._flush_local()

    def _flush_local(self):
        """Sends the proxy's own replies that are next in line."""
        while self.owed and self.owed[0][0] == "local":
            self.cw.write(self.owed.popleft()[1])


def parse_route(text):
    """NAME=LADDR:LPORT=UADDR:UPORT -> {"name", "listen": (a, p), "upstream": (a, p)}"""
    try:
        name, listen, upstream = text.split("=")
        la, lp = listen.rsplit(":", 1)
        ua, up = upstream.rsplit(":", 1)
        route = {"name": name, "listen": (la, int(lp)), "upstream": (ua, int(up))}
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: want NAME=ADDR:PORT=ADDR:PORT")
    for a in (la, ua):
        parts = a.split(".")
        if len(parts) != 4 or parts[0] != "127" or not all(p.isdigit() and int(p) < 256 for p in parts):
            raise argparse.ArgumentTypeError(f"{a}: only 127.x.y.z addresses")
    return route


async def serve(routes, log):
    servers = []
    for route in routes:
        async def handle(reader, writer, route=route):
            await Session(route, log, reader, writer).run()
        servers.append(await asyncio.start_server(handle, *route["listen"], reuse_address=True))
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    await stop
    for s in servers:
        s.close()


def main(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--log", required=True, help="JSON-lines log (appended)")
    p.add_argument("--route", type=parse_route, action="append", required=True,
                   help="NAME=LISTEN_ADDR:PORT=UPSTREAM_ADDR:PORT (repeatable)")
    args = p.parse_args(argv)
    asyncio.run(serve(args.route, Log(args.log)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
