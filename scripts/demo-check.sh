#!/usr/bin/env bash
# The checker demo (README, "More demos"): set up, build, and run mxsec's verifier on the bundled
# sample message (samples/message.eml) and its transport checker on test-bed
# domains.
#
# DNS answers come from a private test. TLD that a local Knot server signs with
# DNSSEC keys made right now (tests/testbed/); mxsec resolves through it with
# that trust anchor and validates every answer itself. Postfix listens as the
# MX hosts and nginx serves MTA-STS policies, with certificates from a test CA
# made right now. Nothing leaves 127.0.0.0/8. Needs root (ports 25 and 443).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target mxsec
mxsec=build/release/src/app/mxsec

state=$(mktemp -d /tmp/mxsec-demo.XXXXXX)
chmod 755 "$state"  # Postfix's unprivileged daemons work below it
cleanup() { tests/testbed/stop.sh "$state/bed" >/dev/null 2>&1 || true; rm -rf "$state"; }
trap cleanup EXIT
tests/testbed/start.sh "$state/bed" --transport >/dev/null
# shellcheck disable=SC1091
. "$state/bed/testbed.env"
dns=(--resolver "$MXSEC_TB_RESOLVER" --trust-anchor "$MXSEC_TB_TRUST_ANCHOR" --private-zone test
     --ca-file "$MXSEC_TB_CA_FILE" --https-timeout 5)

step() { printf '\n== %s\n' "$*"; }

step "DNSSEC self-test of the embedded resolver"
"$mxsec" "${dns[@]}" dns --self-test || true

step "DNS answers carry their DNSSEC status"
for name in secure.test insecure.test bogus.test; do
  "$mxsec" "${dns[@]}" dns "$name" MX || true
done

step "SPF for 192.0.2.25 sending as alice@secure.test"
"$mxsec" "${dns[@]}" spf --ip 192.0.2.25 --helo mx.secure.test --sender alice@secure.test || true

step "DMARC policy of secure.test"
"$mxsec" "${dns[@]}" dmarc secure.test || true

step "Sign the sample with the DKIM key published at sel._domainkey.secure.test"
"$mxsec" dkim sign --domain secure.test --selector sel --key "$MXSEC_TB_DKIM_SEL_KEY" \
  < samples/message.eml > "$state/signed.eml"
grep -A3 '^DKIM-Signature' "$state/signed.eml" | head -4

step "mxsec verify: SPF, DKIM and DMARC on the signed sample"
"$mxsec" "${dns[@]}" verify --ip 192.0.2.25 --helo mx.secure.test --sender alice@secure.test \
  --authserv-id demo.mxsec.test < "$state/signed.eml"

step "The same message altered in transit and relayed from 198.51.100.7, outside SPF: DMARC fails, policy reject"
sed 's/^Subject: .*/Subject: Quarterly figures (updated)/' "$state/signed.eml" > "$state/tampered.eml"
"$mxsec" "${dns[@]}" verify --ip 198.51.100.7 --helo mx.elsewhere.example --sender alice@secure.test \
  --authserv-id demo.mxsec.test < "$state/tampered.eml"

step "A sender whose DNS answers are DNSSEC-bogus gets temperror, never pass"
"$mxsec" "${dns[@]}" spf --ip 192.0.2.25 --helo mx.bogus.test --sender alice@bogus.test || true

step "Transport policy per MX host: DANE, MTA-STS, a bogus TLSA RRset (defer, never downgrade), null MX"
for d in dane-ee.secure.test sts-enforce.insecure.test tlsa-bogus.secure.test nullmx.secure.test; do
  "$mxsec" "${dns[@]}" policy "$d" || true
done

step "mxsec probe: STARTTLS, certificate chain, DANE match and WebPKI verdict of an MX host"
"$mxsec" "${dns[@]}" probe mx.dane-ee.secure.test --domain dane-ee.secure.test || true

step "mxsec check on a domain whose TLSA records match no certificate the server presents"
"$mxsec" "${dns[@]}" check dane-mismatch.secure.test || true
