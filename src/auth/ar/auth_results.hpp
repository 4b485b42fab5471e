// auth/ar/auth_results.hpp: the Authentication-Results header field
// (RFC 8601) as plain data, its generator and its parser.
//
// Contract
// - Data model only: no dependency on the SPF, DKIM or DMARC modules. The
//   callers put their verdict words and identities in; helpers build the
//   usual properties:
//     spf   smtp.mailfrom, smtp.helo                     (RFC 8601 §2.7.2)
//     dkim  header.d, header.s, header.b (first 8 chars) (RFC 8601 §2.7.1, RFC 6008)
//     dmarc header.from, policy.dmarc                    (RFC 7489 §11.2; RFC 9989 §10.1:
//           ptype "policy", property "dmarc": "Evaluated DMARC policy applied/to be
//           applied ... Must be none, quarantine, or reject.")
// - generate_value() renders the payload; generate_header() adds the field
//   name and folds it (lines <= 78 octets where possible, folding only
//   between resinfo elements, never inside a quoted-string or a comment, so
//   the unfolded field is byte-identical to generate_value()).
//   A property value that is not an RFC 2045 token is written as a
//   quoted-string, except the RFC 8601 pvalue form [local-part] "@" domain
//   with a dot-atom local part. Comments are escaped (RFC 5322 quoted-pair
//   for "(", ")" and "\"); control characters in comments become spaces.
//   A value with CR, LF or another control character is rejected
//   (Errc::invalid_argument): header injection is never possible.
// - parse_value() / parse_field() implement the RFC 8601 §2.2 ABNF with CFWS
//   (nested comments, quoted-pairs, folding), "none", version numbers,
//   reasons and ptype.property=pvalue. Input is bounded: ParseLimits (bytes,
//   resinfo count, properties per resinfo, comment nesting). Errors are
//   Errc::parse / Errc::limit with the byte offset and what was expected.
//   Leniency, each documented at the place it happens: a trailing ";" after
//   the last resinfo, and property values with characters outside a token
//   (e.g. base64 "/" "+" "=" in header.b, ":" in IPv6) are accepted.
// - Keywords (method, result, ptype, property) are returned lower-cased
//   (RFC 8601 §2.2: compared case-insensitively); values are returned as
//   their content (quoted-strings unquoted, quoted-pairs resolved).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/limits.hpp"
#include "core/result.hpp"

namespace mxsec::auth::ar {

struct Property {
  std::string ptype;     // "smtp", "header", "body", "policy", ...
  std::string property;  // "mailfrom", "d", "dmarc", ...
  std::string value;
  friend bool operator==(const Property&, const Property&) = default;
};

struct MethodResult {
  std::string method;              // "spf", "dkim", "dmarc", ...
  std::optional<unsigned> version; // method-version ("dkim/1")
  std::string result;              // "pass", "fail", "none", ...
  std::string reason;              // reason="..." ("" = absent)
  std::string comment;             // first comment after the result ("" = none)
  std::vector<Property> props;
  friend bool operator==(const MethodResult&, const MethodResult&) = default;
};

struct AuthResults {
  std::string authserv_id;
  std::optional<unsigned> version;   // authres-version; absent means 1
  std::vector<MethodResult> results; // empty: "none" (no-result)
  friend bool operator==(const AuthResults&, const AuthResults&) = default;
};

// --- building -----------------------------------------------------------------

// spf=<result> smtp.mailfrom=<mailfrom> smtp.helo=<helo>; empty parts are left out.
MethodResult spf_result(std::string_view result, std::string_view mailfrom, std::string_view helo,
                        std::string_view comment = {});
// dkim=<result> header.d=<d> header.s=<s> header.b=<first 8 chars of b>.
MethodResult dkim_result(std::string_view result, std::string_view d, std::string_view s, std::string_view b,
                         std::string_view comment = {});
// dmarc=<result> header.from=<from_domain> [policy.dmarc=<policy>].
MethodResult dmarc_result(std::string_view result, std::string_view from_domain, std::string_view policy,
                          std::string_view comment = {});

// RFC 2045 token: 1*<any CHAR except SPACE, CTLs, or tspecials>.
bool is_token(std::string_view s);
// RFC 5321 Keyword / ldh-str: Let-dig [ *(ALPHA / DIGIT / "-") Let-dig ].
bool is_keyword(std::string_view s);

Result<std::string> generate_value(const AuthResults& ar);
Result<std::string> generate_header(const AuthResults& ar, std::size_t width = 78);

// --- parsing ------------------------------------------------------------------

struct ParseLimits {
  std::size_t max_bytes = limits::kAuthResultsBytes;
  int max_resinfo = limits::kAuthResultsResinfo;
  int max_props = limits::kAuthResultsProps;
  int max_comment_depth = limits::kAuthResultsCommentDepth;
};

// Parses the field body (everything after "Authentication-Results:").
Result<AuthResults> parse_value(std::string_view value, const ParseLimits& limits = {});
// Parses a whole field, "Authentication-Results:" included (name matched
// case-insensitively, optional trailing CRLF).
Result<AuthResults> parse_field(std::string_view field, const ParseLimits& limits = {});

// Finds a property (ptype and property compared case-insensitively).
const Property* find_property(const MethodResult& r, std::string_view ptype, std::string_view property);

}  // namespace mxsec::auth::ar
