#!/usr/bin/python3
"""bench/make_inputs.py WORKDIR: inputs for the DKIM benchmark (bench/run_dkim.sh).

Writes into WORKDIR:
  msg-5k.eml, msg-100k.eml        unsigned messages of exactly 5120 and 102400
                                  bytes, CRLF line ends, realistic headers; the
                                  bytes are the same on every run (seeded PRNG)
  rsa.pem, ed25519.pem            private keys (PKCS#8 PEM, `openssl genpkey`);
                                  kept if they already exist, so repeated runs
                                  (and callgrind counts) use the same keys
  rsa.pkcs1.pem                   the RSA key as PKCS#1 (for tools that want it)
  ed25519.seed                    base64 of the raw 32-byte Ed25519 seed (dkimpy)
  rsa.txt, ed25519.txt            the DKIM key TXT record values (RFC 6376 §3.6.1)
  keys.zone                       both records as zone text (dns::FakeResolver)
  keys.opendkim                   both records in OpenDKIM TestPublicKeys format
  signed-{rsa,ed25519}-{5k,100k}.eml
                                  the messages signed by dkimpy (an independent
                                  signer), c=relaxed/relaxed; the input of every
                                  verifier so all verify the same bytes
  meta.json                       domain, selectors, headers signed, sizes

Domain example.com, selectors "rsa" and "ed25519".
"""
import base64
import json
import os
import random
import subprocess
import sys

DOMAIN = "example.com"
SELECTORS = {"rsa": "rsa", "ed25519": "ed25519"}
SIGNED_HEADERS = ["from", "to", "subject", "date", "message-id", "mime-version", "content-type"]
SIZES = {"5k": 5120, "100k": 102400}

WORDS = ("the of and to in is that for it as was with be by on not he this are or his from at which but have "
         "an they you were her she there would their we him been has when who will more no if out so said what "
         "up its about into than them can only other new some could time these two may then do first any my "
         "now such like our over man me even most made after also did many before must through back years where "
         "much your way well down should because each just those people how too little state good very make "
         "world still own see men work long get here between both life being under never day same another know "
         "delivery transport relay mailbox policy signature canonical header resolver message queue").split()


def header_block(size_tag):
    return ("Return-Path: <alice@example.com>\r\n"
            "Received: from mail.example.com (mail.example.com [192.0.2.25])\r\n"
            "\tby mx.example.net with ESMTPS id 4Zb3kQ1x2Tz9sWm\r\n"
            "\tfor <bob@example.net>; Fri, 28 Nov 2025 16:40:00 +0000\r\n"
            "From: Alice Example <alice@example.com>\r\n"
            "To: Bob Example <bob@example.net>\r\n"
            "Cc: Carol Example <carol@example.org>\r\n"
            f"Subject: Quarterly transport security review ({size_tag} benchmark message)\r\n"
            "Date: Fri, 28 Nov 2025 16:39:58 +0000\r\n"
            f"Message-ID: <bench-{size_tag}.20251128163958@example.com>\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8; format=flowed\r\n"
            "Content-Transfer-Encoding: 8bit\r\n"
            "\r\n")


def make_message(size_tag, total):
    rng = random.Random(f"mxsec-dkim-bench-{size_tag}")
    head = header_block(size_tag)
    lines = []
    used = len(head)
    while True:
        words = []
        width = rng.randint(40, 74)
        while sum(len(w) + 1 for w in words) < width:
            words.append(rng.choice(WORDS))
        line = " ".join(words)
        if rng.random() < 0.08:
            line = ""  # paragraph break
        if used + len(line) + 2 > total:
            break
        lines.append(line)
        used += len(line) + 2
    # Pad the last line so the message is exactly `total` bytes.
    pad = total - used
    if pad > 0:
        if pad == 1:
            lines[-1] += "."  # cannot make a line of 1 byte with CRLF; grow the previous
        else:
            lines.append(("x" * (pad - 2)))
    body = "".join(l + "\r\n" for l in lines)
    msg = (head + body).encode()
    assert len(msg) == total, (size_tag, len(msg), total)
    return msg


def run(*argv, **kw):
    return subprocess.run(argv, check=True, stdout=subprocess.PIPE, **kw).stdout


def make_keys(work):
    rsa = os.path.join(work, "rsa.pem")
    ed = os.path.join(work, "ed25519.pem")
    if not os.path.exists(rsa):
        run("openssl", "genpkey", "-quiet", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", rsa)
    if not os.path.exists(ed):
        run("openssl", "genpkey", "-quiet", "-algorithm", "ED25519", "-out", ed)
    run("openssl", "rsa", "-in", rsa, "-traditional", "-out", os.path.join(work, "rsa.pkcs1.pem"),
        stderr=subprocess.DEVNULL)
    rsa_spki = run("openssl", "pkey", "-in", rsa, "-pubout", "-outform", "DER")
    ed_priv = run("openssl", "pkey", "-in", ed, "-outform", "DER")
    ed_spki = run("openssl", "pkey", "-in", ed, "-pubout", "-outform", "DER")
    assert len(ed_priv) == 48 and len(ed_spki) == 44
    seed = ed_priv[-32:]
    with open(os.path.join(work, "ed25519.seed"), "wb") as f:
        f.write(base64.b64encode(seed) + b"\n")
    records = {
        "rsa": "v=DKIM1; k=rsa; p=" + base64.b64encode(rsa_spki).decode(),
        # RFC 8463 §4.2: p= is the raw 32-byte public key, not an SPKI.
        "ed25519": "v=DKIM1; k=ed25519; p=" + base64.b64encode(ed_spki[-32:]).decode(),
    }
    zone, odk = [], []
    for alg, rec in records.items():
        with open(os.path.join(work, f"{alg}.txt"), "w") as f:
            f.write(rec + "\n")
        name = f"{SELECTORS[alg]}._domainkey.{DOMAIN}"
        chunks = [rec[i:i + 250] for i in range(0, len(rec), 250)]  # TXT strings are <= 255 bytes
        zone.append(f"{name} 300 IN TXT " + " ".join(f'"{c}"' for c in chunks))
        odk.append(f"{name} {rec}")
    with open(os.path.join(work, "keys.zone"), "w") as f:
        f.write("\n".join(zone) + "\n")
    with open(os.path.join(work, "keys.opendkim"), "w") as f:
        f.write("\n".join(odk) + "\n")
    return records


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_inputs.py WORKDIR")
    work = sys.argv[1]
    os.makedirs(work, exist_ok=True)
    records = make_keys(work)
    msgs = {}
    for tag, total in SIZES.items():
        msgs[tag] = make_message(tag, total)
        with open(os.path.join(work, f"msg-{tag}.eml"), "wb") as f:
            f.write(msgs[tag])

    import dkim  # Debian python3-dkim; imported late so --help-like failures stay cheap

    def dnsfunc(name, timeout=5):
        n = name.decode().rstrip(".")
        for alg, sel in SELECTORS.items():
            if n == f"{sel}._domainkey.{DOMAIN}":
                return records[alg].encode()
        return None

    with open(os.path.join(work, "rsa.pem"), "rb") as f:
        rsa_key = f.read()
    with open(os.path.join(work, "ed25519.seed"), "rb") as f:
        ed_key = f.read().strip()
    for alg, key, a in (("rsa", rsa_key, b"rsa-sha256"), ("ed25519", ed_key, b"ed25519-sha256")):
        for tag, msg in msgs.items():
            sig = dkim.sign(msg, SELECTORS[alg].encode(), DOMAIN.encode(), key, signature_algorithm=a,
                            canonicalize=(b"relaxed", b"relaxed"),
                            include_headers=[h.encode() for h in SIGNED_HEADERS])
            signed = sig + msg
            if not dkim.verify(signed, dnsfunc=dnsfunc):
                sys.exit(f"make_inputs: dkimpy cannot verify its own {alg} {tag} signature")
            with open(os.path.join(work, f"signed-{alg}-{tag}.eml"), "wb") as f:
                f.write(signed)
    meta = {"domain": DOMAIN, "selectors": SELECTORS, "signed_headers": SIGNED_HEADERS,
            "canonicalization": "relaxed/relaxed", "sizes": SIZES,
            "body_bytes": {t: len(m) - len(header_block(t)) for t, m in msgs.items()},
            "header_bytes": {t: len(header_block(t)) for t in msgs}}
    with open(os.path.join(work, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
