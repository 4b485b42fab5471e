// check/transport.hpp: the transport-security sections of `mxsec check`:
// DNSSEC of the domain and its MX zones, each MX host (addresses, STARTTLS,
// TLS version and cipher, certificate, TLSA and whether it matches the live
// certificate, rollover readiness) and MTA-STS (record, policy, whether every
// MX matches it and presents a WebPKI-valid certificate).
//
// Contract
// - check_transport() never throws for DNS, TLS, SMTP or HTTPS problems: they
//   are facts in the sections and findings in `findings` (codes listed in
//   docs/check.md, "Transport findings").
// - The decision per MX host comes from policy::PolicyEngine, so `check`
//   and `policy` can never disagree about what a sender must do.
// - Each MX host with addresses is probed on its first IPv4 and its first
//   IPv6 address (smtp::probe: EHLO, STARTTLS, handshake, QUIT; no mail is
//   sent) unless options.probe is off; findings name the address.
//   DANE is judged with the host's usable TLSA records by OpenSSL; WebPKI
//   for the MX name against the system store plus options.tls.ca_files.
#pragma once

#include <asio/awaitable.hpp>
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "check/finding.hpp"
#include "dns/resolver.hpp"
#include "policy/engine/decision.hpp"
#include "policy/mtasts/source.hpp"
#include "smtp/client/probe.hpp"
#include "tls/dane/tlsa.hpp"

namespace mxsec::check {

struct TransportOptions {
  bool probe = true;
  std::uint16_t smtp_port = 25;
  std::string ehlo_name = "localhost";
  tls::ClientContextConfig tls;
  smtp::ProbeTimeouts timeouts;
  std::int64_t now = 0;                    // Unix time, for certificate expiry
  std::int64_t expiry_warning_days = 14;   // certificate expires within -> warning
};

struct DnssecSection {
  dns::Security status = dns::Security::indeterminate;  // of the domain itself
  std::string why_bogus;
  struct Zone {
    std::string host;
    dns::Security status = dns::Security::indeterminate;
    std::string reason;
  };
  std::vector<Zone> mx_hosts;  // security of each MX host's address records
};

struct MxHostSection {
  policy::MxDecision decision;
  struct AddressProbe {
    IpAddress address;
    smtp::ProbeResult result;
  };
  std::vector<AddressProbe> probes;  // first IPv4, then first IPv6 address
};

struct MtaStsSection {
  std::optional<policy::mtasts::StsLookup> lookup;
  std::optional<bool> all_mx_match;      // every MX host matches the policy
  std::optional<bool> all_webpki_valid;  // every probed MX presented a valid certificate
};

struct TransportSections {
  DnssecSection dnssec;
  policy::DomainDecision decision;
  std::vector<MxHostSection> mx;
  MtaStsSection mta_sts;
};

// The addresses of one MX host that are probed: the first IPv4 and the first
// IPv6 address, so a broken IPv6 listener is not hidden behind a good IPv4 one.
std::vector<IpAddress> probe_targets(const std::vector<IpAddress>& addresses);

asio::awaitable<TransportSections> check_transport(dns::Resolver& resolver, policy::mtasts::PolicySource* sts,
                                                   std::string domain, TransportOptions options, Findings& findings);

nlohmann::json to_json(const DnssecSection& s);
nlohmann::json to_json(const MxHostSection& s, std::int64_t now);
// One probe's outcome: connected, banner, starttls, tls{version, cipher,
// chain[], webpki}, dane{match, matched_record, matched_depth, error},
// error{stage, message}, tlsrpt_result. Shared with `mxsec probe --json`.
nlohmann::json probe_json(const smtp::ProbeResult& p, std::int64_t now);
nlohmann::json to_json(const MtaStsSection& s);

}  // namespace mxsec::check
