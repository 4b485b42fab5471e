#!/usr/bin/python3
"""`mxsec policy DOMAIN --config FILE` and `mxsec config check/show` for the
[outbound] table, without DNS: a relay host given as an address literal is
decided without a single query, so this needs no test bed and no network.

- the relay host replaces the domain's MX hosts: one host, the literal's own
  address, its port, default_tls applied ("may" -> opportunistic, "encrypt"
  -> encrypt with TLS required), "relayhost" named in the JSON;
- the flags that would set the same things as the file are refused (exit 2);
- a file whose outbound.mta_sts contradicts mta_sts.enabled is refused by
  `config check` with the line of the key, and by `policy --config` alike;
- `config show` prints every [outbound] key, and its output reads back."""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from e2e_common import Checker, main  # noqa: E402


def write(tmp, name, text):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def run(mxsec, tmp):
    c = Checker(mxsec, {}, tmp)
    encrypt = write(tmp, "encrypt.toml",
                    '[outbound]\ndefault_tls = "encrypt"\nrelayhost = "[IPv6:2001:db8::25]:587"\n')
    may = write(tmp, "may.toml", '[outbound]\nrelayhost = "[192.0.2.25]"\n')
    bad = write(tmp, "bad.toml", '[mta_sts]\nenabled = true\n\n[outbound]\nmta_sts = "off"\n')

    for path, policy, tls_required, address, port, text in (
            (encrypt, "encrypt", True, "2001:db8::25", 587, "[IPv6:2001:db8::25]:587"),
            (may, "opportunistic", False, "192.0.2.25", None, "[192.0.2.25]:25")):
        rc, out, err = c.run(["policy", "bücher.example", "--config", path, "--json"], timeout=60)
        problems = [] if rc == 0 else [f"exit {rc}"]
        try:
            j = json.loads(out)
            mx = j["mx"]
            if j.get("relayhost") != text:
                problems.append(f"relayhost {j.get('relayhost')!r}")
            if len(mx) != 1:
                problems.append(f"{len(mx)} hosts")
            else:
                m = mx[0]
                want = {"policy": policy, "tls_required": tls_required, "addresses": [address], "host": address}
                problems += [f"{k} {m.get(k)!r}, expected {v!r}" for k, v in want.items() if m.get(k) != v]
                # RFC 6066 §3: no SNI for an address literal ("sni": null).
                if "sni" not in m or m["sni"] is not None:
                    problems.append(f"sni {m.get('sni', 'absent')!r}, expected null")
                if m.get("port") != port:
                    problems.append(f"port {m.get('port')!r}, expected {port!r}")
        except (ValueError, KeyError, TypeError) as e:
            problems.append(f"bad JSON: {e}")
        c.judge(f"policy --config {os.path.basename(path)}: relay host {text} is {policy}", problems, out, err)

    for args, needle in ((["--resolver", "127.0.0.1", "policy", "a.example", "--config", may], "--resolver"),
                         (["policy", "a.example", "--config", may, "--no-mta-sts"], "--no-mta-sts"),
                         (["policy", "a.example", "--config", may, "--local-policy", may], "--local-policy")):
        rc, out, err = c.run(args, timeout=60)
        c.judge(f"policy --config with {needle} is refused", [] if rc == 2 and needle in err else [f"exit {rc}"],
                out, err)

    want = f'{bad}:5: outbound.mta_sts: "off" contradicts mta_sts.enabled = true (line 2); give one of them'
    for args in (["config", "check", "--config", bad], ["policy", "a.example", "--config", bad]):
        rc, out, err = c.run(args, timeout=60)
        c.judge(f"{args[0]} {args[1]}: contradicting MTA-STS switches are refused",
                [] if rc == 2 and want in err else [f"exit {rc}, expected 2 and {want!r}"], out, err)

    rc, out, err = c.run(["config", "show", "--config", encrypt])
    keys = ['[outbound]\ndane = "on"\nmta_sts = "on"\ndefault_tls = "encrypt"\n'
            'relayhost = "[IPv6:2001:db8::25]:587"\nrelayhost_username = ""\nrelayhost_password_file = ""\n'
            'downgrade_8bit = "convert"\nconnection_cache_time = "2s"\nconnection_reuse_limit = 100\n'
            'connection_max_age = "5m"\ndestination_concurrency = 20\nmax_connections = 100\npolicy = []\n']
    problems = [f"missing {k!r}" for k in keys if k not in out] + ([] if rc == 0 else [f"exit {rc}"])
    shown = write(tmp, "shown.toml", out)
    rc2, out2, err2 = c.run(["config", "show", "--config", shown])
    if rc2 != 0 or out2.replace(shown, "X") != out.replace(encrypt, "X"):
        problems.append(f"config show does not read back (exit {rc2}): {err2.strip()}")
    c.judge("config show prints every [outbound] key and reads back", problems, out, err)

    print(f"{c.count - len(c.failures)}/{c.count} checks passed")
    return not c.failures


if __name__ == "__main__":
    sys.exit(main("mxsec-e2e-policy-config-", run))
