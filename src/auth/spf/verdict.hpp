// auth/spf/verdict.hpp: SPF results (RFC 7208 §2.6) as values.
//
// Contract
// - A Verdict is the outcome of a completed check_host() evaluation. "fail"
//   and "permerror" are verdicts, not errors of the library.
// - Meanings (RFC 7208 §2.6):
//     none      - no syntactically valid domain, or no SPF record published.
//     neutral   - the domain owner makes no assertion ("?" or no match).
//     pass      - the client is authorized to use the identity.
//     fail      - the client is explicitly not authorized ("-").
//     softfail  - probably not authorized ("~"), a weak statement.
//     temperror - a transient (DNS) error; a later retry may succeed. A
//                 DNSSEC-bogus answer and an exceeded time limit also land here.
//     permerror - the published records cannot be interpreted (syntax error,
//                 processing limits exceeded); needs a DNS operator to fix.
// - to_string() gives the RFC 7208 words used in Received-SPF and
//   Authentication-Results.
#pragma once

#include <optional>
#include <string_view>

namespace mxsec::auth::spf {

enum class Verdict { none, neutral, pass, fail, softfail, temperror, permerror };

const char* to_string(Verdict v);
// Accepts the RFC 7208 words, case-insensitively, plus the RFC 4408 aliases
// "unknown" (= permerror) and "error" (= temperror).
std::optional<Verdict> parse_verdict(std::string_view word);

// Which identity was checked (RFC 7208 §2.3, §2.4).
enum class Identity { mailfrom, helo };
const char* to_string(Identity id);

}  // namespace mxsec::auth::spf
