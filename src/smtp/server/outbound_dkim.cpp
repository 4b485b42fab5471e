// smtp/server/outbound_dkim.cpp: see outbound_dkim.hpp.
#include "smtp/server/outbound_dkim.hpp"

#include <algorithm>

#include "auth/verify/verify.hpp"
#include "codec/message.hpp"
#include "core/strings.hpp"

namespace mxsec::smtp::server {

const char* to_string(DkimSigning s) {
  switch (s) {
    case DkimSigning::signed_: return "signed";
    case DkimSigning::no_key: return "no_key";
    case DkimSigning::no_from: return "no_from";
    case DkimSigning::several_from: return "several_from";
    case DkimSigning::bad_from: return "bad_from";
    case DkimSigning::unparsable: return "unparsable";
    case DkimSigning::failed: return "failed";
  }
  return "?";
}

Result<void> check_signed_fields(const auth::dkim::SignerConfig& config) {
  auto names_ar = [](const std::string& name) { return iequals(name, "Authentication-Results"); };
  if (std::any_of(config.oversigned.begin(), config.oversigned.end(), names_ar) ||
      std::any_of(config.signed_if_present.begin(), config.signed_if_present.end(), names_ar))
    return make_error(Errc::invalid_argument,
                      "the DKIM header list names Authentication-Results, which delivery may remove");
  return {};
}

OutboundSignature sign_outbound(const std::vector<config::DkimKey>& keys, std::string_view prepend,
                                std::string_view text, const Clock& clock) {
  OutboundSignature out;
  auto top = codec::parse_message(prepend);
  auto message = codec::parse_message(text);
  if (!top || !message) {
    out.status = DkimSigning::unparsable;
    out.detail = "message header: " + (top ? message.error().message : top.error().message);
    return out;
  }
  // The message as delivery writes it: our fields, then the spooled text.
  codec::Message whole = std::move(*message);
  whole.headers.insert(whole.headers.begin(), top->headers.begin(), top->headers.end());

  const auto from_fields = std::count_if(whole.headers.begin(), whole.headers.end(),
                                         [](const codec::HeaderField& h) { return iequals(h.name, "From"); });
  if (from_fields != 1) {
    out.status = from_fields == 0 ? DkimSigning::no_from : DkimSigning::several_from;
    out.detail = from_fields == 0 ? "no From field" : std::to_string(from_fields) + " From fields (RFC 5322 §3.6 allows one)";
    return out;
  }
  auto author = auth::author_domain(whole);
  if (!author) {
    out.status = DkimSigning::bad_from;
    out.detail = author.error().message;
    return out;
  }

  std::vector<std::string> made;
  std::vector<std::string> failures;
  for (const auto& key : keys) {
    if (!is_subdomain_of(*author, key.domain_ascii)) continue;
    const std::string name = "d=" + key.domain_ascii + " s=" + key.selector;
    Result<std::string> field = make_error(Errc::internal, "key not loaded");
    if (key.signer) {
      auto checked = check_signed_fields(key.signer->config());
      field = checked ? key.signer->sign(whole, clock) : Result<std::string>(checked.error());
    }
    if (!field) {
      failures.push_back(name + ": " + field.error().message);
      continue;
    }
    out.fields += *field;
    made.push_back(name + " (" + auth::dkim::to_string(key.algorithm) + ")");
  }
  if (made.empty() && failures.empty()) {
    out.status = DkimSigning::no_key;
    out.detail = "no [[dkim]] key for the From domain " + escape_for_log(*author);
    return out;
  }
  out.status = failures.empty() ? DkimSigning::signed_ : DkimSigning::failed;
  for (const auto& m : made) out.detail += (out.detail.empty() ? "" : ", ") + m;
  for (const auto& f : failures) out.detail += (out.detail.empty() ? "failed: " : "; failed: ") + f;
  return out;
}

}  // namespace mxsec::smtp::server
