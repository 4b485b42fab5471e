#!/usr/bin/python3
"""bench/peers/opendkim_bench.py WORKDIR [SECONDS] [--callgrind]: OpenDKIM rates in test mode.

OpenDKIM (Debian opendkim 2.11) has no library loop we can call, so it runs
in its test mode: `opendkim -x CONF -t f1,f2,...` processes the listed files
in one process and exits. Start-up is removed by differencing:

    rate = (N - 1) / (cpu(N files) - cpu(1 file))

with cpu() the user+system CPU seconds of the process (cpu(1 file) is the
minimum of several runs). N is chosen so a run takes about SECONDS (1.5).

- verify: Mode v, the key records from TestPublicKeys (keys.opendkim), the
  files signed-ALG-SIZE.eml; every message must report "succeeded".
- sign: Mode s with Domain/Selector/KeyFile/SignatureAlgorithm and
  Canonicalization relaxed/relaxed, the same h= list as the other signers;
  OpenDKIM prints the DKIM-Signature it would add, which we count, and one of
  them is checked by verifying it with OpenDKIM in Mode v.
- Both rsa-sha256 and ed25519-sha256 (OpenDKIM 2.11 supports ed25519-sha256).

Test mode costs OpenDKIM more than its milter mode does: it creates a new
resolver per message (libunbound ub_ctx_create, called from dkim_dns_init and
vbr_dns_init, about 10 M instructions, mostly seeding nettle's yarrow PRNG),
and the signer re-reads the PEM key per message (as the milter does). With
--callgrind the script also counts instructions per message with
callgrind, (Ir(N files) - Ir(1 file)) / (N - 1), once in total and once
without the inclusive cost of ub_ctx_create + ub_ctx_delete ("excluding
test-mode resolver set-up").

Prints one JSON object:
  {"rates": {"rsa": {"5k": {"sign": r, "verify": r}, ...}, "ed25519": {...}},
   "instructions": {"rsa": {"5k": {"verify": {"total": i, "excl_resolver": i}, ...}}}}
"""
import json
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import callgrind, run_cpu  # noqa: E402

OPENDKIM = "/usr/sbin/opendkim"
SIZES = ("5k", "100k")
ALGS = {"rsa": "rsa-sha256", "ed25519": "ed25519-sha256"}
RESOLVER_FUNCTIONS = ("ub_ctx_create", "ub_ctx_delete")


def setup(work):
    meta = json.load(open(os.path.join(work, "meta.json")))
    d = os.path.join(work, "opendkim")
    os.makedirs(d, exist_ok=True)
    common = "Syslog no\nRequireSafeKeys no\nCanonicalization relaxed/relaxed\n"
    with open(os.path.join(d, "verify.conf"), "w") as f:
        f.write(common + "Mode v\nTestPublicKeys " + os.path.join(work, "keys.opendkim") + "\n")
    for alg, a in ALGS.items():
        with open(os.path.join(d, f"sign-{alg}.conf"), "w") as f:
            f.write(common + "Mode s\n"
                    f"Domain {meta['domain']}\nSelector {meta['selectors'][alg]}\n"
                    f"KeyFile {os.path.join(work, alg + '.pem')}\nSignatureAlgorithm {a}\n"
                    f"SignHeaders {','.join(meta['signed_headers'])}\n")
    # Short names keep a long -t list under the kernel's 128 KiB limit per argument.
    links = {}
    for size in SIZES:
        links[("sign", size)] = f"m{size}"
        for alg in ALGS:
            links[(alg, size)] = f"{alg[0]}{size}"
    for key, name in links.items():
        target = os.path.join(work, f"msg-{key[1]}.eml" if key[0] == "sign" else f"signed-{key[0]}-{key[1]}.eml")
        path = os.path.join(d, name)
        if os.path.lexists(path):
            os.unlink(path)
        os.symlink(target, path)
    return d, links


def command(d, op, alg, files):
    conf = "verify.conf" if op == "verify" else f"sign-{alg}.conf"
    return [OPENDKIM, "-x", os.path.join(d, conf), "-t", ",".join(files)]


def count_ok(op, out):
    text = out.decode(errors="replace")
    if op == "verify":
        return text.count(") succeeded")
    return sum(1 for line in text.splitlines() if line.startswith("DKIM-Signature:"))


def run_checked(d, op, alg, name, n):
    cpu, out, err, rc = run_cpu(command(d, op, alg, [name] * n), cwd=d)
    ok = count_ok(op, out)
    if rc != 0 or ok != n:
        raise SystemExit(f"opendkim {op} {alg} {name}: {ok}/{n} ok, rc={rc}\n{err.decode(errors='replace')[-800:]}")
    return cpu, out


def rate(d, op, alg, name, seconds):
    t1 = min(run_checked(d, op, alg, name, 1)[0] for _ in range(5))
    # Calibrate N from a short run, then one long run.
    n0 = 50
    t0, _ = run_checked(d, op, alg, name, n0)
    per = max((t0 - t1) / (n0 - 1), 1e-6)
    n = int(min(max(seconds / per, 100), 20000))
    tn, out = run_checked(d, op, alg, name, n)
    return (n - 1) / (tn - t1), out


def check_signature(d, alg, sign_out, size, work):
    """Verify OpenDKIM's own signature with OpenDKIM, so a sign rate is for a valid signature."""
    text = sign_out.decode(errors="replace")
    start = text.index("DKIM-Signature:")
    lines = [text[start:].splitlines()[0]]
    for line in text[start:].splitlines()[1:]:
        if not line[:1].isspace():
            break
        lines.append(line)
    header = "\r\n".join(lines) + "\r\n"
    msg = open(os.path.join(work, f"msg-{size}.eml"), "rb").read()
    path = os.path.join(d, f"check-{alg}-{size}.eml")
    with open(path, "wb") as f:
        f.write(header.encode() + msg)
    _, out, err, rc = run_cpu(command(d, "verify", alg, [path]), cwd=d)
    if count_ok("verify", out) != 1:
        raise SystemExit(f"opendkim: its own {alg} {size} signature does not verify\n{out.decode()}{err.decode()}")


def instructions(d, op, alg, name, n=6):
    out_dir = os.path.join(d, "callgrind")
    os.makedirs(out_dir, exist_ok=True)
    lo, lo_f = callgrind(command(d, op, alg, [name]), os.path.join(out_dir, f"{op}-{alg}-{name}-1.out"),
                         RESOLVER_FUNCTIONS, cwd=d)
    hi, hi_f = callgrind(command(d, op, alg, [name] * n), os.path.join(out_dir, f"{op}-{alg}-{name}-{n}.out"),
                         RESOLVER_FUNCTIONS, cwd=d)
    total = (hi - lo) / (n - 1)
    resolver = sum(hi_f[f] - lo_f[f] for f in RESOLVER_FUNCTIONS) / (n - 1)
    return {"total": total, "excl_resolver": total - resolver, "resolver": resolver}


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if not args:
        sys.exit("usage: opendkim_bench.py WORKDIR [SECONDS] [--callgrind]")
    work = os.path.abspath(args[0])
    seconds = float(args[1]) if len(args) > 1 else 1.5
    d, links = setup(work)
    rates = {}
    for alg in ALGS:
        rates[alg] = {}
        for size in SIZES:
            v, _ = rate(d, "verify", alg, links[(alg, size)], seconds)
            s, out = rate(d, "sign", alg, links[("sign", size)], seconds)
            check_signature(d, alg, out, size, work)
            rates[alg][size] = {"sign": s, "verify": v}
    result = {"rates": rates}
    if "--callgrind" in sys.argv:
        instr = {}
        for alg in ALGS:
            instr[alg] = {size: {"verify": instructions(d, "verify", alg, links[(alg, size)]),
                                 "sign": instructions(d, "sign", alg, links[("sign", size)])}
                          for size in SIZES}
        result["instructions"] = instr
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
