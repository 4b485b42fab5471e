// policy/engine/local_policy.hpp: per-destination TLS policy configured by
// the administrator; it overrides DANE and MTA-STS for that domain, as
// Postfix's smtp_tls_policy_maps does.
//
// Levels (Postfix names):
//   none       clear text only
//   may        opportunistic TLS, no DANE/MTA-STS lookups
//   encrypt    TLS mandatory, unauthenticated
//   dane-only  DANE mandatory: a host without usable TLSA is deferred
//   verify     TLS mandatory, WebPKI-valid certificate for the MX name
//
// Contract: lookups are by exact domain (case-insensitive, trailing dot
// ignored), then by parent domains written with a leading dot
// (".example.com" covers every subdomain), most specific first.
// parse_local_policy() reads "domain level" lines ('#' comments); any
// unknown level or malformed line is Errc::parse naming the line.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace mxsec::policy {

enum class LocalLevel { none, may, encrypt, dane_only, verify };
const char* to_string(LocalLevel l);
std::optional<LocalLevel> parse_local_level(std::string_view s);

class LocalPolicyMap {
 public:
  Result<void> add(std::string_view domain, LocalLevel level);
  std::optional<LocalLevel> find(std::string_view domain) const;
  // Whether `domain` (".example.com" for the subdomain entry) has an entry
  // of its own; find() would also consult parents.
  bool contains(std::string_view domain) const;
  bool empty() const { return entries_.empty(); }

 private:
  std::map<std::string, LocalLevel, std::less<>> entries_;
};

Result<LocalPolicyMap> parse_local_policy(std::string_view text);

}  // namespace mxsec::policy
