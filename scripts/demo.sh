#!/usr/bin/env bash
# README command 1: set up, build, and run the mail server on a safe default
# configuration: one loopback listener (127.0.0.1:2525), a local spool and
# Maildirs under ./mxsec-data, and the embedded validating resolver.
#
# The other domains of the demo live in a private test. TLD that a local Knot
# server signs with DNSSEC keys made right now, with Postfix MX peers and
# nginx serving MTA-STS policies behind them (tests/testbed/transport.py);
# the resolver recurses from the root as always and iterates to that server
# for `test.` with its trust anchor, validating every answer itself. Nothing
# leaves 127.0.0.0/8.
#
# The demo submits mail with `mxsec sendmail`, receives a DKIM-signed message
# from an outside address and shows its local delivery with the
# Authentication-Results mxsec added, refuses a spoofed one (DMARC p=reject)
# and a relay attempt, then relays three messages to the test bed's peers: one
# authenticated by DANE, one by MTA-STS, and one whose TLSA record matches no
# certificate (refused, deferred), each with its log line and queue state.
# Then the server keeps running with its address printed; `--once` stops it
# (and the test bed) instead.
set -euo pipefail
cd "$(dirname "$0")/.."
once=false
[[ ${1:-} == --once ]] && once=true

scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target mxsec
mxsec=$PWD/build/release/src/app/mxsec

data=$PWD/mxsec-data
mkdir -p "$data"
bed=$(mktemp -d /tmp/mxsec-demo-bed.XXXXXX)
server_pid=
stop_all() {
  [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  tests/testbed/stop.sh "$bed" >/dev/null 2>&1 || true
  rm -rf "$bed"
}
trap stop_all EXIT
tests/testbed/start.sh "$bed" --transport >/dev/null
# shellcheck disable=SC1091
. "$bed/testbed.env"

step() { printf '\n== %s\n' "$*"; }
# An SMTP client from an address outside the relay network (127.0.0.2).
smtp_from_outside() {  # MAIL-FROM RCPT FILE
  /usr/bin/python3 - "$@" <<'PY'
import re, smtplib, sys
sender, rcpt, path = sys.argv[1:4]
s = smtplib.SMTP("127.0.0.1", 2525, source_address=("127.0.0.2", 0), timeout=60)
s.ehlo("mail.outside.test")
try:
    s.sendmail(sender, [rcpt], re.sub(rb"\r?\n", b"\r\n", open(path, "rb").read()))
    print(f"250: accepted from {sender} for {rcpt}")
except smtplib.SMTPRecipientsRefused as e:
    code, text = e.recipients[rcpt]
    print(f"{code} {text.decode()}  (RCPT refused)")
except smtplib.SMTPDataError as e:
    print(f"{e.smtp_code} {e.smtp_error.decode()}  (refused after the data)")
s.quit()
PY
}
newest() { ls -t "$data/maildir/localhost/$1/new/"* | head -1; }

step "The configuration: the safe defaults, plus the test TLD for the resolver and the test PKI's root"
cat > "$data/demo.toml" <<TOML
hostname = "mx.demo.test"
spool_dir = "$data"

[dns]
private_zones = ["test"]
stub_zones = ["test=$MXSEC_TB_RESOLVER"]
trust_anchors = ["$MXSEC_TB_TRUST_ANCHOR"]

[tls]
ca_file = "$MXSEC_TB_CA_FILE"
TOML
cat "$data/demo.toml"
"$mxsec" config check --config "$data/demo.toml"

step "mxsec serve"
"$mxsec" serve --config "$data/demo.toml" > "$data/serve.out" 2> "$data/serve.log" &
server_pid=$!
for _ in $(seq 100); do grep -q listening "$data/serve.out" 2>/dev/null && break; sleep 0.1; done
cat "$data/serve.out"

step "Local submission with mxsec sendmail -t, delivered to the Maildir of alice@localhost"
printf 'From: root@localhost\nTo: alice@localhost\nSubject: Hello from sendmail\n\nThe server is up.\n' |
  "$mxsec" sendmail --config "$data/demo.toml" -t -oi
for _ in $(seq 100); do ls "$data/maildir/localhost/alice/new/"* >/dev/null 2>&1 && break; sleep 0.1; done
sed -n '1,/^\r\?$/p' "$(newest alice)"

step "Inbound: the sample, DKIM-signed by secure.test, from an outside address (127.0.0.2)"
"$mxsec" dkim sign --domain secure.test --selector sel --key "$MXSEC_TB_DKIM_SEL_KEY" \
  < samples/message.eml > "$data/signed.eml"
smtp_from_outside alice@secure.test alice@localhost "$data/signed.eml"
sleep 0.5
echo "-- the delivered copy's header (SPF fails: 127.0.0.2 is not in secure.test's SPF; DKIM passes, so DMARC passes):"
sed -n '1,/^\r\?$/p' "$(newest alice)" | grep -v '^ *b=' | head -20

step "The same message altered in transit: DKIM fails, DMARC fails, secure.test says p=reject"
sed 's/^Subject: .*/Subject: Quarterly figures (updated)/' "$data/signed.eml" > "$data/tampered.eml"
smtp_from_outside alice@secure.test alice@localhost "$data/tampered.eml"

step "A stranger tries to relay: refused"
smtp_from_outside spammer@insecure.test victim@elsewhere.test "$data/signed.eml"

step "Relaying: mail for other domains goes to their MX hosts, as DANE or MTA-STS requires"
for rcpt in user@dane-ee.secure.test user@sts-enforce.insecure.test user@dane-mismatch.secure.test; do
  printf 'From: root@localhost\nTo: %s\nSubject: Relayed by mxsec\n\nHello.\n' "$rcpt" |
    "$mxsec" sendmail --config "$data/demo.toml" -oi "$rcpt"
done
for _ in $(seq 150); do
  [[ $(grep -c 'to=<user@\(dane-ee\|sts-enforce\|dane-mismatch\)' "$data/serve.log") -ge 3 ]] && break
  sleep 0.1
done
echo "-- the log lines (tls= says how the peer was authenticated):"
grep 'to=<user@\(dane-ee\|sts-enforce\|dane-mismatch\)' "$data/serve.log" | sed 's/^[^ ]* //'
echo "-- what the DANE peer received (its Received field records the TLS of the hop):"
/usr/bin/python3 tests/testbed/transport.py mailbox --dir "$bed" --scenario dane-ee | grep -E '"(subject|tls|tls_version|tls_cipher)"' || true
echo "-- the refused one waits in the queue, deferred, never sent in clear or to the wrong server:"
refused=$(grep -o '[0-9A-Z]\{16\}: to=<user@dane-mismatch' "$data/serve.log" | head -1 | cut -d: -f1)
[[ -n $refused ]] && "$mxsec" queue show --config "$data/demo.toml" "$refused"

step "The queue"
"$mxsec" queue list --config "$data/demo.toml"

step "The server's log"
cat "$data/serve.log"

if $once; then
  step "Stopping (--once)"
  exit 0
fi
trap - EXIT
echo
echo "mxsec serve is running on 127.0.0.1:2525 (PID $server_pid), spool and Maildirs in $data,"
echo "with the test bed for test. (Knot, Postfix MX peers, nginx for MTA-STS) in $bed."
echo "Try:  echo 'Subject: hi' | $mxsec sendmail --config $data/demo.toml bob@localhost"
echo "Stop: kill $server_pid; tests/testbed/stop.sh $bed"
