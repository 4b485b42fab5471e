// auth/spf/record.hpp: SPF record syntax, RFC 7208 §4.5, §4.6, §5, §6.
//
//   record           = version terms *SP
//   version          = "v=spf1"
//   terms            = *( 1*SP ( directive / modifier ) )
//   directive        = [ qualifier ] mechanism
//   qualifier        = "+" / "-" / "?" / "~"
//   mechanism        = ( all / include / a / mx / ptr / ip4 / ip6 / exists )
//   modifier         = redirect / explanation / unknown-modifier
//   unknown-modifier = name "=" macro-string
//   name             = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." )
//   dual-cidr-length = [ ip4-cidr-length ] [ "/" ip6-cidr-length ]
//
// Contract
// - is_spf_record() is the record-selection test of §4.5: the text starts
//   with "v=spf1" (case-insensitive) followed by a space or the end.
// - parse_record() parses the whole record before anything is evaluated.
//   RFC 7208 §4.6: "If there are any syntax errors anywhere in the record,
//   check_host() returns immediately with the result "permerror", without
//   further interpretation or evaluation." The Error (Errc::parse or
//   Errc::limit) says which term and why: "syntax error at 'ip4:1.2.3':
//   invalid ip4-network '1.2.3'".
// - Mechanism and modifier names are case-insensitive (§4.6.1). Unknown
//   modifiers are syntax-checked and then ignored (§6). redirect= and exp=
//   may appear at most once each (§6).
// - The record is bounded: at most RecordLimits::max_bytes bytes and
//   max_terms terms; anything larger is a permerror, not a truncation.
// - A Record owns all its data and never changes after parsing, so one parsed
//   record can be shared (RecordCache) by any number of evaluations.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "auth/spf/macro.hpp"
#include "auth/spf/verdict.hpp"
#include "core/ip_address.hpp"
#include "core/limits.hpp"
#include "core/result.hpp"

namespace mxsec::auth::spf {

enum class MechanismKind : std::uint8_t { all, include, a, mx, ptr, ip4, ip6, exists };
const char* to_string(MechanismKind k);

// True for the terms that cost a DNS query and count against the limit of
// §4.6.4 (include, a, mx, ptr, exists; redirect is counted separately).
constexpr bool queries_dns(MechanismKind k) {
  return k == MechanismKind::include || k == MechanismKind::a || k == MechanismKind::mx || k == MechanismKind::ptr ||
         k == MechanismKind::exists;
}

struct Mechanism {
  Verdict qualifier = Verdict::pass;  // pass, fail, softfail or neutral
  MechanismKind kind = MechanismKind::all;
  std::string text;                   // the term as written, for reports
  bool has_domain_spec = false;       // false: a/mx/ptr use the current <domain>
  MacroString domain_spec;
  IpAddress network;                  // ip4/ip6
  std::uint8_t cidr4 = 32;            // ip4, a, mx
  std::uint8_t cidr6 = 128;           // ip6, a, mx
};

struct Record {
  std::string text;
  std::vector<Mechanism> mechanisms;  // in record order
  std::optional<MacroString> redirect;
  std::string redirect_text;
  std::optional<MacroString> exp;
  std::string exp_text;
};

struct RecordLimits {
  std::size_t max_bytes = limits::kSpfRecordBytes;
  int max_terms = limits::kSpfTerms;
};

bool is_spf_record(std::string_view txt);
Result<Record> parse_record(std::string_view text, const RecordLimits& limits = {});

// Parsed records keyed by their exact text, so a busy server parses each
// published record once. Failed parses are cached too, so a hostile record
// costs one parse. Bounded: when `max_entries` is reached the cache is
// emptied (crude, but bounded and O(1)). Not thread-safe: one per worker.
// All lookups through one cache must use the same RecordLimits.
class RecordCache {
 public:
  using Entry = std::shared_ptr<const Result<Record>>;
  explicit RecordCache(std::size_t max_entries = 4096) : max_entries_(max_entries) {}
  Entry get(std::string_view text, const RecordLimits& limits);
  std::size_t size() const { return map_.size(); }
  std::size_t hits() const { return hits_; }
  std::size_t misses() const { return misses_; }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, Entry, Hash, std::equal_to<>> map_;
  std::size_t max_entries_;
  std::size_t hits_ = 0;
  std::size_t misses_ = 0;
};

}  // namespace mxsec::auth::spf
