// check/report.hpp: `mxsec check DOMAIN` - one report of what a domain
// publishes for mail security and whether it works.
//
// Contract
// - run_check() gathers every section (DNSSEC, MX hosts with STARTTLS, TLS,
//   certificates and TLSA, MTA-STS, TLS-RPT, SPF, DMARC, DKIM selectors),
//   collects the findings and grades them. It never throws for anything the
//   domain publishes or how its servers behave.
// - The JSON of a Report (docs/check.md) has these stable keys: domain,
//   dnssec.status, mx[].host, mx[].starttls, mx[].tlsa.match, mta_sts.mode,
//   tls_rpt.rua, spf.record, dmarc.policy, findings[].code,
//   findings[].severity, grade.
// - Grade (docs/check.md): F with any error; otherwise A+ when there is no
//   warning, inbound TLS is authenticated (DANE on every MX host or MTA-STS
//   enforce) and DMARC is quarantine or reject; A with no warning; B with one
//   or two warnings; C with three to five; D with more.
#pragma once

#include <asio/awaitable.hpp>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "check/finding.hpp"
#include "check/mail_records.hpp"
#include "check/transport.hpp"

namespace mxsec::check {

struct CheckOptions {
  std::vector<std::string> dkim_selectors;
  TransportOptions transport;
};

struct Report {
  std::string domain;
  TransportSections transport;
  TlsRptSection tls_rpt;
  SpfSection spf;
  DmarcSection dmarc;
  DkimSection dkim;
  Findings findings;  // most severe first, in the order found within a severity
  std::string grade;
  std::int64_t checked_at = 0;
};

asio::awaitable<Report> run_check(dns::Resolver& resolver, policy::mtasts::PolicySource* sts, std::string domain,
                                  CheckOptions options);

std::string grade(const Report& report);
bool has_error(const Report& report);

nlohmann::json to_json(const Report& report);
// The human report; `color` adds ANSI colours (the CLI passes isatty()).
std::string render_text(const Report& report, bool color);

}  // namespace mxsec::check
