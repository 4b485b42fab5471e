#!/usr/bin/python3
"""bench/peers/openssl_limit.py WORKDIR [SECONDS]: the OpenSSL limit for DKIM on this core.

A DKIM signer or verifier must, per message, at least
  1. hash the canonicalized body with SHA-256 (bh=, RFC 6376 §3.7),
  2. hash the canonicalized signed header fields plus the DKIM-Signature
     field (without its b= value) with SHA-256 (RFC 6376 §3.7), and
  3. make or check one signature over that digest (RSA PKCS#1 v1.5, or
     Ed25519 over the 32-byte digest, RFC 8463 §3).
The fastest any implementation on top of OpenSSL can go is therefore

  limit = 1 / ( 1/sig_rate + body_bytes/sha_rate(body) + header_bytes/sha_rate(1 KiB) )

with sig_rate from `openssl speed rsa2048 ed25519` (sign/s or verify/s) and
sha_rate in bytes/s from `openssl speed -evp sha256 -bytes B` at the body's
size (5120 or 102400) and at 1024 bytes for the header block. body_bytes and
header_bytes are taken from signed-ALG-SIZE.eml (raw lengths; relaxed
canonicalization changes them by a few bytes at most). Everything else a DKIM
implementation does (parsing, canonicalization, tag lists, base64, key
records, result objects) is overhead against this limit.

`openssl speed` counts user CPU time, like the other rates in this benchmark
are per CPU second. Run pinned to one core (taskset -c 0).

Prints one JSON object:
  {"speed": {"rsa": {"sign": r, "verify": r}, "ed25519": {...},
             "sha256": {"1024": bytes_per_s, "5120": ..., "102400": ...}},
   "hashed": {"rsa": {"5k": {"body": n, "header": n}, ...}, ...},
   "limit": {"rsa": {"5k": {"sign": r, "verify": r}, ...}, ...}}
"""
import json
import os
import subprocess
import sys

SIZES = {"5k": 5120, "100k": 102400}
HEADER_BLOCK = 1024


def speed(seconds, *args):
    out = subprocess.run(["openssl", "speed", "-seconds", str(seconds), "-mr", *args],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=True).stdout.decode()
    return out.splitlines()


def hashed_bytes(path, signed_headers):
    data = open(path, "rb").read()
    head, _, body = data.partition(b"\r\n\r\n")
    fields = []
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += b"\r\n" + line
        else:
            fields.append(line)
    header = 0
    seen = set()
    for f in fields:
        name = f.split(b":", 1)[0].strip().lower().decode()
        if name == "dkim-signature" or (name in signed_headers and name not in seen):
            header += len(f) + 2
            seen.add(name)
    return len(body), header


def main():
    work = sys.argv[1]
    seconds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    meta = json.load(open(os.path.join(work, "meta.json")))
    result = {"speed": {"sha256": {}}, "hashed": {}, "limit": {}}
    for line in speed(seconds, "rsa2048", "ed25519"):
        p = line.split(":")
        if p[0] == "+F2" and p[2] == "2048":          # +F2:idx:bits:sign/s:verify/s
            result["speed"]["rsa"] = {"sign": float(p[3]), "verify": float(p[4])}
        elif p[0] == "+F6" and p[3] == "Ed25519":     # +F6:idx:bits:name:sign/s:verify/s
            result["speed"]["ed25519"] = {"sign": float(p[4]), "verify": float(p[5])}
    for b in (HEADER_BLOCK, *SIZES.values()):
        for line in speed(seconds, "-evp", "sha256", "-bytes", str(b)):
            p = line.split(":")
            if p[0] == "+F" and p[2] == "sha256":     # +F:idx:name:bytes/s
                result["speed"]["sha256"][str(b)] = float(p[3])
    for k in ("rsa", "ed25519"):
        if k not in result["speed"]:
            sys.exit(f"openssl_limit: no {k} line in `openssl speed` output")
    sha = result["speed"]["sha256"]
    for alg in ("rsa", "ed25519"):
        result["hashed"][alg] = {}
        result["limit"][alg] = {}
        for size, nbytes in SIZES.items():
            body, header = hashed_bytes(os.path.join(work, f"signed-{alg}-{size}.eml"), meta["signed_headers"])
            result["hashed"][alg][size] = {"body": body, "header": header}
            t_hash = body / sha[str(nbytes)] + header / sha[str(HEADER_BLOCK)]
            result["limit"][alg][size] = {op: 1.0 / (1.0 / result["speed"][alg][op] + t_hash)
                                          for op in ("sign", "verify")}
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
