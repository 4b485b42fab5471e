// check/tlsrpt_section.cpp: the TLS-RPT section (see mail_records.hpp).
#include "check/mail_records.hpp"

#include <algorithm>

#include "core/strings.hpp"
#include "dns/resolver.hpp"
#include "policy/tlsrpt/record.hpp"

#include "check/record_util.hpp"

namespace mxsec::check {

using nlohmann::json;
using namespace detail;

json TlsRptSection::to_json() const {
  json uris = json::array();
  for (const TlsRptRua& r : rua) {
    json j{{"uri", r.uri}, {"kind", r.kind}};
    if (!r.reason.empty()) j["reason"] = r.reason;
    uris.push_back(std::move(j));
  }
  return json{{"domain", domain},
              {"record", opt_json(record)},
              {"records", records},
              {"dns_error", dns_error.empty() ? json(nullptr) : json(dns_error)},
              {"syntax_error", syntax_error.empty() ? json(nullptr) : json(syntax_error)},
              {"rua", uris}};
}


// ------------------------------------------------------------- TLS-RPT --

asio::awaitable<TlsRptSection> check_tlsrpt(dns::Resolver& resolver, std::string domain, Findings& findings) {
  namespace tlsrpt = policy::tlsrpt;
  TlsRptSection s;
  s.domain = normalize_domain(to_lower(domain));
  const std::string name = "_smtp._tls." + s.domain;
  dns::TxtAnswer ans = co_await resolver.txt(name);
  if (ans.failed()) {
    s.dns_error = report_dns_failure(findings, name, "TXT", ans, "the TLS-RPT record");
    co_return s;
  }
  std::vector<std::string> near_misses;
  for (std::string& t : joined_txts(ans)) {
    if (tlsrpt::is_tlsrpt_record(t)) s.records.push_back(std::move(t));
    else if (istarts_with(trim(t), "v=tlsrpt")) near_misses.push_back(std::move(t));
  }
  for (const std::string& t : near_misses)
    add_finding(findings, Severity::error, "tlsrpt-syntax",
                "TXT record at " + name + " looks like TLS-RPT but does not begin with \"v=TLSRPTv1;\", so senders "
                "discard it (RFC 8460 §3): " + escape_for_log(t, 120),
                "publish \"v=TLSRPTv1; rua=mailto:tls-reports@" + s.domain + "\"");
  if (s.records.empty()) {
    if (near_misses.empty())
      add_finding(findings, Severity::info, "tlsrpt-missing",
                  "no TLS-RPT record at " + name + ": you get no reports when senders fail to reach you over TLS",
                  "publish one to get TLS failure reports: \"v=TLSRPTv1; rua=mailto:tls-reports@" + s.domain +
                      "\" at " + name);
    co_return s;
  }
  if (s.records.size() > 1) {
    // RFC 8460 §3: "If the number of resulting records is not one, senders
    // MUST assume the recipient domain does not implement TLSRPT."
    add_finding(findings, Severity::error, "tlsrpt-multiple",
                std::to_string(s.records.size()) + " TLS-RPT records at " + name +
                    ": senders assume the domain does not implement TLS-RPT (RFC 8460 §3)",
                "keep exactly one v=TLSRPTv1 record");
    co_return s;
  }
  s.record = s.records.front();
  auto rec = tlsrpt::parse_record(*s.record);
  if (!rec) {
    s.syntax_error = escape_for_log(rec.error().message);
    add_finding(findings, Severity::error, "tlsrpt-syntax",
                "TLS-RPT record at " + name + ": " + s.syntax_error + "; senders send no reports",
                "publish \"v=TLSRPTv1; rua=mailto:tls-reports@" + s.domain + "\" (RFC 8460 §3)");
    co_return s;
  }
  int usable = 0;
  const std::vector<tlsrpt::RuaCheck> checks = tlsrpt::check_rua(*rec);
  for (std::size_t i = 0; i < rec->rua.size() && i < checks.size(); ++i) {
    const tlsrpt::RuaCheck& c = checks[i];
    s.rua.push_back(TlsRptRua{rec->rua[i], tlsrpt::to_string(c.kind), c.reason});
    if (c.kind == tlsrpt::RuaKind::mailto || c.kind == tlsrpt::RuaKind::https) {
      ++usable;
      continue;
    }
    add_finding(findings, Severity::warning, "tlsrpt-bad-rua",
                "TLS-RPT rua URI " + escape_for_log(rec->rua[i]) + " at " + name + " is not usable" +
                    (c.reason.empty() ? "" : ": " + escape_for_log(c.reason)),
                "use a mailto: address or an https: URL (RFC 8460 §3)");
  }
  if (usable == 0)
    add_finding(findings, Severity::error, "tlsrpt-no-usable-rua",
                "TLS-RPT record at " + name + " has no usable rua URI: senders can send no reports",
                "list at least one mailto: or https: destination in rua=");
  co_return s;
}


}  // namespace mxsec::check
