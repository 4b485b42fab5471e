#!/usr/bin/python3
"""Shared by the end-to-end drivers: run the real mxsec binary against a test
bed and judge its JSON, counting checks and collecting failures."""

import argparse
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import traceback


def get_path(j, path):
    """j['a']['b'][0] for path 'a.b.0'; KeyError/IndexError when absent."""
    cur = j
    for part in path.split("."):
        cur = cur[int(part)] if isinstance(cur, list) else cur[part]
    return cur


class Checker:
    def __init__(self, mxsec, env, tmp):
        self.mxsec = mxsec
        self.env = env
        self.tmp = tmp
        self.failures = []
        self.count = 0

    def dns_args(self, anchor=None):
        return ["--resolver", self.env["MXSEC_TB_RESOLVER"],
                "--trust-anchor", anchor or self.env["MXSEC_TB_TRUST_ANCHOR"],
                "--private-zone", "test"]

    def run(self, args, stdin=b"", timeout=120):
        r = subprocess.run([self.mxsec, *args], input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout)
        return r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")

    def fail(self, what, detail):
        self.failures.append(f"{what}: {detail}")
        print(f"FAIL {what}: {detail}", flush=True)

    def ok(self, what):
        print(f"ok   {what}", flush=True)

    def judge(self, what, problems, out="", err=""):
        """One check: passes only when `problems` is empty."""
        self.count += 1
        if problems:
            tail = f"\n     stdout: {out.strip()[:3000]}\n     stderr: {err.strip()[:1000]}" if (out or err) else ""
            self.fail(what, "; ".join(problems) + tail)
            return False
        self.ok(what)
        return True

    @staticmethod
    def compare(j, equal=None, contains=None, absent=(), regex=None):
        problems = []
        for path, want in (equal or {}).items():
            try:
                got = get_path(j, path)
            except (KeyError, IndexError, TypeError, ValueError):
                problems.append(f"{path} missing (want {want!r})")
                continue
            if got != want:
                problems.append(f"{path} = {got!r}, want {want!r}")
        for path, needles in (contains or {}).items():
            try:
                got = get_path(j, path)
            except (KeyError, IndexError, TypeError, ValueError):
                problems.append(f"{path} missing")
                continue
            for needle in [needles] if isinstance(needles, str) else needles:
                if not isinstance(got, str) or needle not in got:
                    problems.append(f"{path} = {got!r} lacks {needle!r}")
        for path, pattern in (regex or {}).items():
            try:
                got = get_path(j, path)
            except (KeyError, IndexError, TypeError, ValueError):
                problems.append(f"{path} missing")
                continue
            if not isinstance(got, str) or not pattern.search(got):
                problems.append(f"{path} = {got!r} does not match /{pattern.pattern}/")
        for path in absent:
            try:
                got = get_path(j, path)
                problems.append(f"{path} present ({got!r}), want absent")
            except (KeyError, IndexError, TypeError, ValueError):
                pass
        return problems

    def json_cmd(self, what, args, *, exit_code, stdin=b"", equal=None, contains=None, absent=(), regex=None,
                 anchor=None):
        """`mxsec DNS-ARGS ARGS` with JSON output; exit code and fields must match."""
        rc, out, err = self.run([*self.dns_args(anchor), *args], stdin)
        try:
            j = json.loads(out)
        except ValueError:
            self.judge(what, [f"no JSON on stdout (exit {rc})"], out, err)
            return None
        problems = [] if rc == exit_code else [f"exit {rc}, want {exit_code}"]
        problems += self.compare(j, equal, contains, absent, regex)
        self.judge(what, problems, out, err)
        return j

    def expect(self, what, condition, detail):
        return self.judge(what, [] if condition else [detail])

    def write(self, name, data):
        path = os.path.join(self.tmp, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def summary(self, name, detail=""):
        """Prints the failures (or the pass count); True when every check passed."""
        if self.failures:
            print(f"{name}: {len(self.failures)} of {self.count} checks FAILED:", flush=True)
            for f in self.failures:
                print("  - " + f.splitlines()[0], flush=True)
        else:
            print(f"{name}: {self.count} checks passed{detail}", flush=True)
        return not self.failures and self.count > 0


def with_log_tail(tb, cases):
    """Runs cases() -> bool; prints the test bed's log tail when it fails or raises."""
    try:
        ok = cases()
    except Exception:
        print("knot log tail:\n" + tb._log_tail())
        raise
    if not ok:
        print("knot log tail:\n" + tb._log_tail())
    return ok


def main(prefix, body, dir_mode=None):
    """The driver's entry point: parses --mxsec/--keep, turns SIGTERM/SIGINT
    into an orderly exit (so the test bed's `with` block stops what it
    started), runs body(mxsec_path, tmp_dir) -> bool in a fresh temporary
    directory and removes it unless --keep. Returns the exit code."""
    p = argparse.ArgumentParser()
    p.add_argument("--mxsec", required=True)
    p.add_argument("--keep", action="store_true", help="keep the state directory")
    args = p.parse_args()

    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    tmp = tempfile.mkdtemp(prefix=prefix)
    if dir_mode is not None:
        os.chmod(tmp, dir_mode)
    ok = False
    try:
        ok = bool(body(os.path.abspath(args.mxsec), tmp))
    except Exception:
        traceback.print_exc()
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0 if ok else 1


def wait_for(pred, timeout=30, step=0.05):
    """Polls pred() until it is true or `timeout` seconds have passed; its last value."""
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(step)
    return pred()
