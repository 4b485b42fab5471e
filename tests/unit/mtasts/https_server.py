#!/usr/bin/python3
"""A hostile MTA-STS policy host for mxsec's fetch tests.

Usage: https_server.py --bind 127.0.x.y [--port N] --cert leaf.pem --key leaf.key --mode MODE

Listens on port N (default 0: the kernel picks a free port), prints "PORT <n>"
on stdout, then serves HTTPS until killed. Every request is answered according
to MODE:
  good          200 text/plain; charset=utf-8, a valid policy
  html          200 text/html
  notype        200 without Content-Type
  notfound      404
  redirect      301 to /elsewhere on this server (which serves a good policy)
  huge          200 text/plain, Content-Length 1 MiB, 1 MiB body
  huge-chunked  200 text/plain, chunked, no Content-Length, up to 16 MiB
  drip          200 text/plain, Content-Length 100, one byte per second
"""
import argparse
import http.server
import ssl
import sys
import time

POLICY = b"version: STSv1\r\nmode: enforce\r\nmx: mail.example.test\r\nmax_age: 86400\r\n"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    mode = "good"

    def log_message(self, fmt, *args):  # keep the test output clean
        pass

    def send_body(self, status, ctype, body):
        self.send_response(status)
        if ctype is not None:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        try:
            self.serve()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            pass  # the client gave up, as it should

    def serve(self):
        mode = self.mode
        if self.path == "/elsewhere":
            mode = "good"
        if mode == "good":
            self.send_body(200, "text/plain; charset=utf-8", POLICY)
        elif mode == "html":
            self.send_body(200, "text/html", b"<html>" + POLICY + b"</html>")
        elif mode == "notype":
            self.send_body(200, None, POLICY)
        elif mode == "notfound":
            self.send_body(404, "text/plain", b"not found\n")
        elif mode == "redirect":
            host = self.headers.get("Host", "")
            self.send_response(301)
            self.send_header("Location", "https://%s/elsewhere" % host)
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif mode == "huge":
            size = 1 << 20
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(size))
            self.end_headers()
            chunk = b"x" * 65536
            for _ in range(size // len(chunk)):
                self.wfile.write(chunk)
        elif mode == "huge-chunked":
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b"x" * 16384
            for _ in range(1024):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.write(b"0\r\n\r\n")
        elif mode == "drip":
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", "100")
            self.end_headers()
            self.wfile.flush()
            for _ in range(100):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(1)
        else:
            self.send_body(500, "text/plain", b"unknown mode\n")


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # failed handshakes are expected in the certificate tests


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bind", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--mode", default="good")
    args = ap.parse_args()
    Handler.mode = args.mode
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(args.cert, args.key)
    httpd = Server((args.bind, args.port), Handler)
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    sys.stdout.write("PORT %d\n" % httpd.server_address[1])
    sys.stdout.flush()
    httpd.serve_forever()


if __name__ == "__main__":
    main()
