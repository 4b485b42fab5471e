#!/usr/bin/python3
"""bench/dkim_callgrind.py DKIM_ONE WORKDIR OUTDIR [N]: mxsec instructions per DKIM operation.

For every (algorithm, size, operation) it runs
    valgrind --tool=callgrind DKIM_ONE WORKDIR ALG SIZE OP n
for n = 0 and n = N (default 10). dkim_one does the same set-up (and one
checked warm-up sign and verify) in both, so

    instructions per operation = (Ir(N) - Ir(0)) / N

Unlike a rate, the count is the same from run to run (same binary, same
inputs). The profile of one operation is the difference of the two runs,
function by function (callgrind_annotate, self cost), summed per ELF object:
`libcrypto` is the time inside OpenSSL (the signature, SHA-256, and also
OpenSSL's per-call set-up such as EVP_DigestVerifyInit), `outside` is mxsec
code, libc and libstdc++ (parsing, canonicalization, copies, allocation).

Caveat: valgrind does not emulate AVX-512 or SHA-NI, so OpenSSL takes a
different (longer) code path under callgrind than natively on CPUs that have
them; the crypto share of the count is then larger than its share of time.

Prints one JSON object:
  {"rsa": {"5k": {"sign": {"per_op": i, "setup": i, "libcrypto": i,
                           "outside": i, "top_outside": [[fn, i], ...],
                           "openssl_setup": i}, ...}}}
"""
import json
import os
import re
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "peers"))
from common import callgrind  # noqa: E402

ALGS = ("rsa", "ed25519")
SIZES = ("5k", "100k")
OPS = ("sign", "verify")
# OpenSSL calls whose cost is per-operation set-up rather than crypto work.
OPENSSL_SETUP = ("EVP_DigestVerifyInit", "EVP_DigestSignInit", "EVP_DigestInit_ex", "EVP_MD_CTX_new",
                 "EVP_MD_CTX_free", "EVP_PKEY_CTX_new_from_pkey")


def self_costs(out_file):
    text = subprocess.run(["callgrind_annotate", "--threshold=100", "--inclusive=no", out_file],
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True).stdout.decode()
    costs = {}
    for line in text.splitlines():
        m = re.match(r"^\s*([\d,]+)\s+\([^)]*\)\s+(.*\S)\s*$", line)
        if not m or "PROGRAM TOTALS" in line:
            continue
        costs[m.group(2)] = costs.get(m.group(2), 0) + int(m.group(1).replace(",", ""))
    return costs


def object_of(entry):
    m = re.search(r"\[([^\]]*)\]\s*$", entry)
    return os.path.basename(m.group(1)) if m else "?"


def short_name(entry):
    name = re.sub(r"\s*\[[^\]]*\]\s*$", "", entry)
    name = re.sub(r"^[^:]*:", "", name, count=1) if name.startswith(("???:", "./", "/")) else name
    name = name.replace("std::basic_string_view<char, std::char_traits<char> >", "string_view")
    name = name.replace("std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >", "string")
    return name[:110]


def main():
    if len(sys.argv) < 4:
        sys.exit("usage: dkim_callgrind.py DKIM_ONE WORKDIR OUTDIR [N]")
    binary, work, out_dir = sys.argv[1], sys.argv[2], sys.argv[3]
    n = int(sys.argv[4]) if len(sys.argv) > 4 else 10
    os.makedirs(out_dir, exist_ok=True)
    result = {}
    for alg in ALGS:
        for size in SIZES:
            for op in OPS:
                files = [os.path.join(out_dir, f"mxsec-{alg}-{size}-{op}-{k}.out") for k in (0, n)]
                lo, lo_f = callgrind([binary, work, alg, size, op, "0"], files[0], OPENSSL_SETUP)
                hi, hi_f = callgrind([binary, work, alg, size, op, str(n)], files[1], OPENSSL_SETUP)
                a, b = self_costs(files[0]), self_costs(files[1])
                diff = {k: (b.get(k, 0) - a.get(k, 0)) / n for k in set(a) | set(b)}
                libcrypto = sum(v for k, v in diff.items() if object_of(k).startswith("libcrypto"))
                outside = {k: v for k, v in diff.items() if not object_of(k).startswith("libcrypto")}
                top = sorted(outside.items(), key=lambda kv: -kv[1])[:8]
                result.setdefault(alg, {}).setdefault(size, {})[op] = {
                    "per_op": (hi - lo) / n,
                    "setup": lo,
                    "libcrypto": libcrypto,
                    "outside": sum(outside.values()),
                    "openssl_setup": sum(hi_f[f] - lo_f[f] for f in OPENSSL_SETUP) / n,
                    "top_outside": [[short_name(k), v] for k, v in top],
                }
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
