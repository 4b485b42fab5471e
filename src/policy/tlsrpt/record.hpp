// policy/tlsrpt/record.hpp: the _smtp._tls TXT record of SMTP TLS Reporting
// (RFC 8460 §3).
//
//   tlsrpt-record    = tlsrpt-version 1*(field-delim tlsrpt-field) [field-delim]
//   field-delim      = *WSP ";" *WSP
//   tlsrpt-field     = tlsrpt-rua / tlsrpt-extension   ; rua is required
//   tlsrpt-version   = %s"v=TLSRPTv1"
//   tlsrpt-rua       = %s"rua=" tlsrpt-uri *(*WSP "," *WSP tlsrpt-uri)
//   tlsrpt-uri       = URI   ; RFC 3986; commas, "!" and ";" MUST be encoded
//   tlsrpt-extension = tlsrpt-ext-name "=" tlsrpt-ext-value
//   tlsrpt-ext-name  = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")
//   tlsrpt-ext-value = 1*(%x21-3A / %x3C / %x3E-7E)
//
// Contract
// - is_tlsrpt_record() is the discovery filter of §3: "records that do not
//   begin with "v=TLSRPTv1;" are discarded". It accepts "v=TLSRPTv1" followed
//   by *WSP ";", which is what the ABNF's field-delim allows after the version.
// - parse_record() parses one TXT record whose strings the caller has already
//   joined (§3: "the record MUST be treated as if those strings are
//   concatenated together without adding spaces"). Errors: Errc::limit for a
//   record over limits::kTlsRptRecordBytes or with more than
//   limits::kTlsRptMaxRua URIs; Errc::parse for anything the ABNF rejects at
//   the record level (no version, no rua, a repeated rua, an empty URI, a
//   malformed extension field). Unknown extension fields are ignored (§3:
//   "unknown fields SHALL be ignored").
// - Record::rua holds each URI as written (whitespace around commas removed),
//   in order. The record level does not judge the URIs themselves: a URI with
//   an unsupported scheme or a malformed address leaves the others usable.
//   classify_rua() says, for each, whether it is a well-formed "mailto:"
//   (an addr-spec, RFC 6068) or "https:" URI, or why not. §3: "Two URI
//   schemes are supported: "mailto" and "https"", so a reporter sends only
//   to RuaKind::mailto and RuaKind::https entries, and `mxsec check` reports
//   the rest.
// - select_record() applies §3 to the whole RRset: "If the number of
//   resulting records is not one, senders MUST assume the recipient domain
//   does not implement TLSRPT." It returns nullopt when no record begins with
//   v=TLSRPTv1, and Errc::parse when there are several (or the parse error of
//   the one); either way the caller sends no report.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace mxsec::policy::tlsrpt {

struct Record {
  std::vector<std::string> rua;  // reporting URIs as written, in order (>= 1)
  friend bool operator==(const Record&, const Record&) = default;
};

bool is_tlsrpt_record(std::string_view txt);
Result<Record> parse_record(std::string_view txt);
Result<std::optional<Record>> select_record(const std::vector<std::string>& txts);

// What one rua URI is good for.
enum class RuaKind {
  mailto,              // well-formed mailto: with exactly one addr-spec
  https,               // well-formed https: URI with a host name or IP literal
  unsupported_scheme,  // a URI, but not mailto/https: RFC 8460 defines no use
  malformed,           // not a URI, or a mailto/https URI that cannot be used
};
const char* to_string(RuaKind k);

struct RuaCheck {
  RuaKind kind = RuaKind::malformed;
  // mailto: the decoded addr-spec ("reports@example.com"); https: the URI as
  // written; otherwise empty.
  std::string target;
  // Empty for mailto/https; otherwise why the URI is not used (safe to log).
  std::string reason;
  friend bool operator==(const RuaCheck&, const RuaCheck&) = default;
};

RuaCheck classify_rua(std::string_view uri);
// classify_rua() for each entry of record.rua, in order.
std::vector<RuaCheck> check_rua(const Record& record);

}  // namespace mxsec::policy::tlsrpt
