// check/dkim_section.cpp: the DKIM key section (see mail_records.hpp).
#include "check/mail_records.hpp"

#include <algorithm>
#include <set>

#include "auth/dkim/key.hpp"
#include "core/strings.hpp"
#include "dns/resolver.hpp"

#include "check/record_util.hpp"

namespace mxsec::check {

using nlohmann::json;
using namespace detail;

json DkimSelectorResult::to_json() const {
  return json{{"selector", selector},
              {"name", name},
              {"found", found},
              {"dns_error", dns_error.empty() ? json(nullptr) : json(dns_error)},
              {"key_type", opt_json(key_type)},
              {"bits", bits ? json(*bits) : json(nullptr)},
              {"testing", testing},
              {"revoked", revoked},
              {"sha1_only", sha1_only},
              {"error", error.empty() ? json(nullptr) : json(error)}};
}

json DkimSection::to_json() const {
  json list = json::array();
  for (const DkimSelectorResult& s : selectors) list.push_back(s.to_json());
  return json{{"selectors", list}};
}


// ---------------------------------------------------------------- DKIM --

namespace {

// RFC 8301 §3.2: "Signers MUST use RSA keys of at least 1024 bits for all
// keys. Signers SHOULD use RSA keys of at least 2048 bits."
void rsa_size_findings(const DkimSelectorResult& r, int bits, Findings& findings) {
  if (bits < limits::kDkimMinRsaBits)
    add_finding(findings, Severity::error, "dkim-rsa-weak",
                "DKIM key at " + r.name + " is RSA " + std::to_string(bits) +
                    " bits: below the 1024-bit minimum of RFC 8301 §3.2; verifiers reject it",
                "generate a 2048-bit RSA key (or Ed25519 alongside it) and publish it under a new selector");
  else if (bits < 2048)
    add_finding(findings, Severity::warning, "dkim-rsa-short",
                "DKIM key at " + r.name + " is RSA " + std::to_string(bits) +
                    " bits: RFC 8301 §3.2 says signers SHOULD use at least 2048 bits",
                "generate a 2048-bit RSA key and publish it under a new selector");
  else if (bits > 4096)
    add_finding(findings, Severity::warning, "dkim-rsa-large",
                "DKIM key at " + r.name + " is RSA " + std::to_string(bits) +
                    " bits: verifiers need only handle up to 4096 bits (RFC 8301 §3.2)",
                "use a 2048- to 4096-bit RSA key");
}

// The key record found at r.name: its facts into `r`, its defects as findings.
void judge_key_record(const std::string& text, const std::string& selector, DkimSelectorResult& r,
                      Findings& findings) {
  auto key = auth::dkim::parse_key_record(text);
  if (!key) {
    r.error = escape_for_log(key.error().message);
    const bool unusable = key.error().code == Errc::unsupported;
    add_finding(findings, Severity::error, unusable ? "dkim-key-unusable" : "dkim-syntax",
                "DKIM key record at " + r.name + ": " + r.error + "; signatures with s=" +
                    escape_for_log(selector) + " fail",
                "publish a key record \"v=DKIM1; k=rsa; p=<base64 public key>\" (RFC 6376 §3.6.1)");
    return;
  }
  r.key_type = auth::dkim::to_string(key->type);
  r.testing = key->testing;
  r.revoked = key->revoked;
  r.sha1_only = !key->sha256_allowed;
  if (key->revoked) {
    add_finding(findings, Severity::warning, "dkim-revoked",
                "DKIM key at " + r.name + " is revoked (empty p=): signatures with s=" + escape_for_log(selector) +
                    " fail (RFC 6376 §3.6.1)",
                "stop signing with this selector, or publish its public key");
  } else {
    // Any size is loaded here (min 0): the check reports weak keys rather
    // than refusing them as the verifier does.
    auto pk = auth::dkim::PublicKey::load(*key, 0, std::numeric_limits<int>::max());
    if (!pk) {
      r.error = escape_for_log(pk.error().message);
      add_finding(findings, Severity::error, "dkim-syntax",
                  "DKIM key at " + r.name + ": " + r.error + "; signatures with s=" + escape_for_log(selector) +
                      " fail",
                  "publish the public key as base64 SubjectPublicKeyInfo (rsa) or the raw 32-byte key (ed25519)");
    } else {
      r.bits = pk->bits();
      if (key->type == auth::dkim::KeyType::rsa) rsa_size_findings(r, pk->bits(), findings);
    }
  }
  if (key->testing)
    add_finding(findings, Severity::warning, "dkim-testing",
                "DKIM key at " + r.name + " has t=y (testing): verifiers may treat its signatures as unsigned "
                "(RFC 6376 §3.6.1)",
                "remove t=y once signing works");
  if (!key->sha256_allowed)
    add_finding(findings, Severity::error, "dkim-sha1-only",
                "DKIM key at " + r.name + " restricts h= to hash algorithms without sha256: RFC 8301 §3.1 forbids "
                "rsa-sha1, so no signature can verify",
                "remove h= from the key record (or set h=sha256)");
}

}  // namespace

asio::awaitable<DkimSection> check_dkim(dns::Resolver& resolver, std::string domain, std::vector<std::string> selectors,
                                        Findings& findings) {
  DkimSection section;
  domain = normalize_domain(to_lower(domain));
  if (selectors.empty()) {
    add_finding(findings, Severity::info, "dkim-no-selector",
                "no DKIM selector given: DKIM keys cannot be discovered from DNS, so none were checked",
                "run again with --dkim-selector for each selector your mail is signed with");
    co_return section;
  }
  std::set<std::string> seen;
  for (std::string& selector : selectors) {
    DkimSelectorResult r;
    r.selector = selector;
    r.name = to_lower(selector) + "._domainkey." + domain;
    if (!seen.insert(r.name).second) continue;
    if (selector.empty() || !is_valid_domain_name(r.name)) {
      r.error = "not a valid selector";
      add_finding(findings, Severity::error, "dkim-selector-invalid",
                  "DKIM selector " + escape_for_log(selector) + " does not form a valid name (" +
                      escape_for_log(r.name) + ")",
                  "give the selector as it appears in s= of your DKIM-Signature headers");
      section.selectors.push_back(std::move(r));
      continue;
    }
    dns::TxtAnswer ans = co_await resolver.txt(r.name);
    if (ans.failed()) {
      r.dns_error = report_dns_failure(findings, r.name, "TXT", ans, "the DKIM key");
      section.selectors.push_back(std::move(r));
      continue;
    }
    if (ans.records.empty()) {
      add_finding(findings, Severity::error, "dkim-key-missing",
                  "no DKIM key record at " + r.name + ": signatures with s=" + escape_for_log(selector) +
                      " fail (RFC 6376 §6.1.2)",
                  "publish the public key as a TXT record at " + r.name);
      section.selectors.push_back(std::move(r));
      continue;
    }
    r.found = true;
    if (ans.records.size() > 1)
      // RFC 6376 §3.6.2.2: with several key records "the Verifier can choose
      // one of the key records or may cycle through" them: results vary.
      add_finding(findings, Severity::warning, "dkim-multiple",
                  std::to_string(ans.records.size()) + " TXT records at " + r.name +
                      ": verifiers may pick any one of them (RFC 6376 §3.6.2.2)",
                  "keep exactly one key record per selector");
    judge_key_record(ans.records.front().joined(), selector, r, findings);
    section.selectors.push_back(std::move(r));
  }
  co_return section;
}


}  // namespace mxsec::check
