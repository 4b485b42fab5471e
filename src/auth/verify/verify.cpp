#include "auth/verify/verify.hpp"

#include "codec/address.hpp"
#include "core/strings.hpp"

namespace mxsec::auth {
namespace {

std::string smtp_mailfrom_property(const VerifyInput& input, const spf::SpfResult& spf) {
  // RFC 8601 §2.7.2: smtp.mailfrom is the domain (or address) checked; for
  // the null path the HELO identity was checked instead, reported as smtp.helo.
  if (spf.identity == spf::Identity::helo) return {};
  auto path = codec::parse_path(input.mail_from);
  if (path && !path->domain.empty()) return path->local_part.empty() ? path->domain : path->local_part + "@" + path->domain;
  return spf.domain;
}

ar::AuthResults build_auth_results(const VerifyInput& input, const MessageVerdict& v) {
  ar::AuthResults out;
  out.authserv_id = input.authserv_id;
  const bool spf_problem = v.spf.verdict == spf::Verdict::temperror || v.spf.verdict == spf::Verdict::permerror;
  out.results.push_back(ar::spf_result(spf::to_string(v.spf.verdict), smtp_mailfrom_property(input, v.spf), input.helo,
                                       spf_problem ? v.spf.reason : std::string_view{}));
  if (v.helo_spf) {
    const bool helo_problem =
        v.helo_spf->verdict == spf::Verdict::temperror || v.helo_spf->verdict == spf::Verdict::permerror;
    out.results.push_back(ar::spf_result(spf::to_string(v.helo_spf->verdict), {}, input.helo,
                                         helo_problem ? v.helo_spf->reason : std::string_view{}));
  }
  if (v.dkim.signatures.empty()) {
    out.results.push_back(ar::dkim_result("none", {}, {}, {}));
  } else {
    for (const auto& sig : v.dkim.signatures)
      out.results.push_back(ar::dkim_result(dkim::to_string(sig.result), sig.domain, sig.selector, sig.header_b,
                                            sig.result == dkim::Verdict::pass ? std::string_view{} : sig.reason));
  }
  std::string_view policy;
  if (v.dmarc.discovery.outcome == dmarc::PolicyDiscovery::Outcome::found)
    policy = dmarc::to_string(v.dmarc.policy.applied);
  const bool dmarc_note = v.dmarc.result != dmarc::Verdict::pass && v.dmarc.result != dmarc::Verdict::none;
  out.results.push_back(ar::dmarc_result(dmarc::to_string(v.dmarc.result), v.from_domain, policy,
                                         dmarc_note ? v.dmarc.reason : std::string_view{}));
  return out;
}

// The SPF and DKIM verdicts as DMARC's AuthResult, mapped once here (the
// only module that links all three); RFC 8601 §2.7.1/§2.7.2 words.
dmarc::AuthResult to_dmarc(spf::Verdict v) {
  switch (v) {
    case spf::Verdict::none: return dmarc::AuthResult::none;
    case spf::Verdict::neutral: return dmarc::AuthResult::neutral;
    case spf::Verdict::pass: return dmarc::AuthResult::pass;
    case spf::Verdict::fail: return dmarc::AuthResult::fail;
    case spf::Verdict::softfail: return dmarc::AuthResult::softfail;
    case spf::Verdict::temperror: return dmarc::AuthResult::temperror;
    case spf::Verdict::permerror: return dmarc::AuthResult::permerror;
  }
  return dmarc::AuthResult::permerror;
}

dmarc::AuthResult to_dmarc(dkim::Verdict v) {
  switch (v) {
    case dkim::Verdict::none: return dmarc::AuthResult::none;
    case dkim::Verdict::pass: return dmarc::AuthResult::pass;
    case dkim::Verdict::fail: return dmarc::AuthResult::fail;
    case dkim::Verdict::neutral: return dmarc::AuthResult::neutral;
    case dkim::Verdict::temperror: return dmarc::AuthResult::temperror;
    case dkim::Verdict::permerror: return dmarc::AuthResult::permerror;
  }
  return dmarc::AuthResult::permerror;
}

}  // namespace

Result<std::string> author_domain(const codec::Message& message) {
  const codec::HeaderField* from = nullptr;
  for (const auto& h : message.headers) {
    if (!iequals(h.name, "From")) continue;
    if (from) return make_error(Errc::parse, "several From fields (RFC 5322 §3.6 allows one)");
    from = &h;
  }
  if (!from) return make_error(Errc::parse, "no From field");
  auto boxes = codec::parse_mailbox_list(from->value);
  if (!boxes) return make_error(Errc::parse, "From field: " + boxes.error().message);
  const std::string& domain = boxes->front().domain;
  for (const auto& b : *boxes)
    if (b.domain != domain) return make_error(Errc::parse, "From field names several author domains");
  return domain;
}

asio::awaitable<Result<MessageVerdict>> verify_message(dns::Resolver& resolver, const Clock& clock,
                                                       dkim::Verifier& verifier, std::string_view message,
                                                       VerifyInput input, const VerifyConfig& config) {
  auto parsed = codec::parse_message(message, config.message);
  if (!parsed) co_return parsed.error();

  // One spelling of the reverse-path from here on: "" for the null path
  // ("<>" or empty), else local@domain without angle brackets.
  auto path = codec::parse_path(input.mail_from);
  if (!path) co_return make_error(Errc::invalid_argument, "MAIL FROM: " + path.error().message);
  input.mail_from = path->domain.empty() ? std::string() : path->local_part + "@" + path->domain;

  MessageVerdict v;
  if (input.spf)
    v.spf = *input.spf;
  else
    v.spf = co_await spf::check_sender(resolver, input.ip, input.helo, input.mail_from, input.receiver, config.spf);
  v.helo_spf = input.helo_spf;
  v.dkim = co_await verifier.verify(*parsed, resolver, clock);

  auto from = author_domain(*parsed);
  if (from) {
    v.from_domain = *from;
    dmarc::EvaluationInput in;
    in.author_domain = v.from_domain;
    in.spf = {to_dmarc(v.spf.verdict), v.spf.domain};
    for (const auto& sig : v.dkim.signatures) in.dkim.push_back({to_dmarc(sig.result), sig.domain, sig.selector});
    v.dmarc = co_await dmarc::evaluate(resolver, config.dmarc, std::move(in));
  } else {
    v.from_error = from.error().message;
    v.dmarc.result = dmarc::Verdict::permerror;
    v.dmarc.reason = v.from_error;
  }

  v.auth_results = build_auth_results(input, v);
  auto header = ar::generate_header(v.auth_results);
  if (!header) co_return header.error();
  v.auth_results_header = std::move(*header);
  co_return v;
}

}  // namespace mxsec::auth
