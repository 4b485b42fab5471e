// auth/spf/macro.hpp: SPF macro strings, RFC 7208 §7.
//
//   domain-spec      = macro-string domain-end
//   domain-end       = ( "." toplabel [ "." ] ) / macro-expand
//   macro-string     = *( macro-expand / macro-literal )
//   macro-expand     = ( "%{" macro-letter transformers *delimiter "}" )
//                      / "%%" / "%_" / "%-"
//   macro-literal    = %x21-24 / %x26-7E
//   macro-letter     = "s" / "l" / "o" / "d" / "i" / "p" / "h" / "c" / "r" / "t" / "v"
//   transformers     = *DIGIT [ "r" ]
//   delimiter        = "." / "-" / "+" / "," / "/" / "_" / "="
//   explain-string   = *( macro-string / SP )
//
// Contract
// - parse_macro_string() checks the syntax once and compiles the text into
//   tokens; expand() then cannot fail on syntax, only on the size limit.
//   Errors name the offending position ("'%' at offset 3 must be followed by
//   '{', '%', '_' or '-'").
// - RFC 7208 §7.1: "The following macro letters are allowed only in "exp"
//   text: c, r, t" -> in a domain-spec they are a syntax error (permerror).
// - RFC 7208 §7.3: "Uppercase macros expand exactly as their lowercase
//   equivalents, and are then URL escaped."
// - MacroString owns its data. MacroVars holds views; the caller keeps the
//   viewed strings alive during expand().
// - All output is bounded by `max_bytes` (limits::kSpfMacroExpansionBytes):
//   exceeding it is an Errc::limit error, never a truncated success.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/ip_address.hpp"
#include "core/limits.hpp"
#include "core/result.hpp"

namespace mxsec::auth::spf {

enum class MacroKind {
  domain_spec,       // mechanism/modifier targets: letters s l o d i p h v; must end in a domain-end
  explain,           // exp= TXT text: all letters, spaces allowed
  unknown_modifier,  // value of an unknown modifier: syntax checked, never expanded
};

struct MacroToken {
  enum class Type : std::uint8_t { literal, macro };
  Type type = Type::literal;
  char letter = 0;            // lower-case macro letter
  bool url_escape = false;    // the letter was written in upper case
  bool reverse = false;       // "r" transformer
  std::uint16_t digits = 0;   // right-hand parts to keep; 0 = all
  std::uint8_t delimiters = 0;  // bit set over ".-+,/_=", 0 = "."
  std::string text;           // literal text (with %% %_ %- already decoded)
};

struct MacroString {
  std::vector<MacroToken> tokens;
  bool uses_p = false;        // contains %{p}: needs the validated PTR name
  bool constant = true;       // no macro letters: expands to `tokens` text only
};

// The values macro letters stand for (RFC 7208 §7.2).
struct MacroVars {
  std::string_view sender;            // s: <sender>, "postmaster@domain" if it had no local part
  std::string_view local_part;        // l
  std::string_view sender_domain;     // o
  std::string_view domain;            // d: the current <domain>
  IpAddress ip;                       // i, c, v (already unmapped per §5)
  std::string_view validated_domain;  // p ("unknown" if none)
  std::string_view helo;              // h
  std::string_view receiver;          // r
  std::int64_t timestamp = 0;         // t
};

Result<MacroString> parse_macro_string(std::string_view text, MacroKind kind);

// Appends the expansion to `out`. Fails only when `out` would exceed max_bytes.
Result<void> expand(const MacroString& ms, const MacroVars& vars, std::string& out,
                    std::size_t max_bytes = limits::kSpfMacroExpansionBytes);

// Parse and expand in one step (tests, fuzzing, exp= text).
Result<std::string> expand_text(std::string_view text, MacroKind kind, const MacroVars& vars,
                                std::size_t max_bytes = limits::kSpfMacroExpansionBytes);

// Turns an expanded domain-spec into the name to query (RFC 7208 §7.3): a
// trailing dot is dropped, and a name longer than 253 octets loses labels
// from the left until it fits. Returns false if what is left is not a name
// that DNS can ask for (empty, empty label, label over 63 octets).
bool to_target_name(std::string& name);

// RFC 7208 §4.3 initial processing: true if `domain` is a multi-label domain
// name with labels of 1..63 octets and at most 253 octets in all (a trailing
// dot is allowed); domain literals ("[1.2.3.4]") and control bytes are not.
bool is_valid_spf_domain(std::string_view domain);

}  // namespace mxsec::auth::spf
