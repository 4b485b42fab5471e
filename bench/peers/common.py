"""bench/peers/common.py: helpers shared by the DKIM benchmark scripts.

- run_cpu(argv): runs a command to completion and returns the CPU seconds
  (user + system) it used, with its output and exit status. Rates in the DKIM benchmark are
  per CPU second of one pinned core, like `openssl speed` (user time) and
  Google Benchmark (process CPU time); on a busy machine that is steadier
  than wall time.
- callgrind(argv, out, functions): runs a command under
  `valgrind --tool=callgrind` and returns its total instruction count (Ir) and
  the inclusive Ir of the named functions (from callgrind_annotate).
"""
import re
import resource
import subprocess


def run_cpu(argv, cwd=None):
    """(cpu_seconds, stdout, stderr, returncode) of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, out, err, proc.returncode


def callgrind(argv, out_file, functions=(), cwd=None):
    """(total Ir, {function: inclusive Ir}) of argv run under callgrind."""
    cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out_file}"] + list(argv)
    proc = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if proc.returncode != 0:
        raise RuntimeError(f"callgrind run failed ({proc.returncode}): {' '.join(argv)}\n"
                           + proc.stderr.decode(errors="replace")[-2000:])
    total = None
    with open(out_file) as f:
        for line in f:
            if line.startswith("totals:") or line.startswith("summary:"):
                total = int(line.split()[1])
    if total is None:
        raise RuntimeError(f"no totals in {out_file}")
    inclusive = {}
    if functions:
        ann = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", out_file],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True).stdout.decode()
        for fn in functions:
            inclusive[fn] = 0
            pat = re.compile(r"^\s*([\d,]+)\s.*[:]" + re.escape(fn) + r"(\s|$|'|\[)")
            for line in ann.splitlines():
                m = pat.match(line)
                if m:
                    inclusive[fn] = max(inclusive[fn], int(m.group(1).replace(",", "")))
    return total, inclusive


def per_op(lo, hi, n_lo, n_hi):
    return (hi - lo) / (n_hi - n_lo)
