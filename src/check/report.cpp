// check/report.cpp: see report.hpp.
#include "check/report.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/strings.hpp"

namespace mxsec::check {

namespace {

int rank(Severity s) {
  switch (s) {
    case Severity::error: return 0;
    case Severity::warning: return 1;
    case Severity::info: return 2;
  }
  return 2;
}

bool inbound_tls_authenticated(const Report& r) {
  const auto& mx = r.transport.decision.mx;
  if (mx.empty()) return false;
  const bool all_dane = std::all_of(mx.begin(), mx.end(), [](const policy::MxDecision& m) {
    return m.verdict == policy::Verdict::dane;
  });
  const auto& sts = r.transport.mta_sts.lookup;
  const bool sts_enforce = sts && sts->policy && sts->policy->mode == policy::mtasts::Mode::enforce;
  return all_dane || sts_enforce;
}

}  // namespace

asio::awaitable<Report> run_check(dns::Resolver& resolver, policy::mtasts::PolicySource* sts, std::string domain,
                                  CheckOptions options) {
  Report r;
  r.domain = normalize_domain(domain);
  r.checked_at = options.transport.now;
  r.transport = co_await check_transport(resolver, sts, r.domain, options.transport, r.findings);
  r.tls_rpt = co_await check_tlsrpt(resolver, r.domain, r.findings);
  r.spf = co_await check_spf(resolver, r.domain, r.findings);
  r.dmarc = co_await check_dmarc(resolver, r.domain, r.findings);
  r.dkim = co_await check_dkim(resolver, r.domain, options.dkim_selectors, r.findings);

  // RFC 8460 §1: without a TLS-RPT record, a domain that enforces DANE or
  // MTA-STS never learns that senders fail to deliver to it.
  const bool enforces = std::any_of(r.transport.decision.mx.begin(), r.transport.decision.mx.end(),
                                    [](const policy::MxDecision& m) {
                                      return m.verdict == policy::Verdict::dane || m.verdict == policy::Verdict::mta_sts;
                                    });
  for (auto& f : r.findings)
    if (f.code == "tlsrpt-missing" && enforces && f.severity == Severity::info) {
      f.severity = Severity::warning;
      f.message += " (the domain uses DANE or MTA-STS, so failures would go unnoticed)";
    }
  std::stable_sort(r.findings.begin(), r.findings.end(),
                   [](const Finding& a, const Finding& b) { return rank(a.severity) < rank(b.severity); });
  r.grade = grade(r);
  co_return r;
}

bool has_error(const Report& report) {
  return std::any_of(report.findings.begin(), report.findings.end(),
                     [](const Finding& f) { return f.severity == Severity::error; });
}

std::string grade(const Report& r) {
  if (has_error(r)) return "F";
  const auto warnings = std::count_if(r.findings.begin(), r.findings.end(),
                                      [](const Finding& f) { return f.severity == Severity::warning; });
  if (warnings == 0) {
    const bool dmarc_strong = r.dmarc.policy && (*r.dmarc.policy == "quarantine" || *r.dmarc.policy == "reject");
    return inbound_tls_authenticated(r) && dmarc_strong ? "A+" : "A";
  }
  if (warnings <= 2) return "B";
  if (warnings <= 5) return "C";
  return "D";
}

nlohmann::json to_json(const Report& r) {
  nlohmann::json j;
  j["domain"] = r.domain;
  j["grade"] = r.grade;
  j["checked_at"] = r.checked_at;
  j["dnssec"] = to_json(r.transport.dnssec);
  j["status"] = policy::to_string(r.transport.decision.status);
  nlohmann::json mx = nlohmann::json::array();
  for (const auto& h : r.transport.mx) mx.push_back(to_json(h, r.checked_at));
  j["mx"] = std::move(mx);
  j["mta_sts"] = to_json(r.transport.mta_sts);
  j["tls_rpt"] = r.tls_rpt.to_json();
  j["spf"] = r.spf.to_json();
  j["dmarc"] = r.dmarc.to_json();
  j["dkim"] = r.dkim.to_json();
  nlohmann::json findings = nlohmann::json::array();
  for (const auto& f : r.findings) findings.push_back(to_json(f));
  j["findings"] = std::move(findings);
  j["summary"] = {{"errors", std::count_if(r.findings.begin(), r.findings.end(),
                                           [](const Finding& f) { return f.severity == Severity::error; })},
                  {"warnings", std::count_if(r.findings.begin(), r.findings.end(),
                                             [](const Finding& f) { return f.severity == Severity::warning; })},
                  {"infos", std::count_if(r.findings.begin(), r.findings.end(),
                                          [](const Finding& f) { return f.severity == Severity::info; })}};
  return j;
}

}  // namespace mxsec::check
