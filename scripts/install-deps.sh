#!/usr/bin/env bash
# Installs, from Debian 12 packages only, whatever mxsec needs to build, test,
# fuzz and benchmark. Packages already present are skipped, so a second run
# is quick. Both README commands call this script.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config clang-14 libclang-rt-14-dev
  # libraries
  libssl-dev libunbound-dev libasio-dev libcurl4-openssl-dev nlohmann-json3-dev
  libpsl-dev libtomlplusplus-dev libcli11-dev libspdlog-dev libfmt-dev
  libsqlite3-dev zlib1g-dev libidn2-dev libcrypt-dev
  # test and benchmark libraries
  libgtest-dev libgmock-dev libbenchmark-dev libyaml-cpp-dev
  # data: root trust anchor, public suffix list
  dns-root-data publicsuffix
  # test bed: authoritative DNS with DNSSEC signing
  knot knot-dnsutils ldnsutils
  # test bed: MTA-STS policy servers (HTTPS) and Postfix as the peer MTA;
  # swaks (with Net::SSLeay for -tls) sends the test messages
  nginx-light postfix curl swaks libnet-ssleay-perl
  # test peer: Dovecot as the LMTP mail store (tests/e2e/lmtp_e2e.py)
  dovecot-core dovecot-lmtpd
  # independent judges
  python3 python3-dkim python3-spf python3-yaml python3-prometheus-client libmail-dkim-perl opendkim
  opendkim-tools
  # benchmark peer: DMARC (and SPF through libspf2) as a milter for Postfix
  opendmarc
  # tools
  openssl valgrind procps iproute2
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "install-deps: all ${#packages[@]} packages present"
fi
