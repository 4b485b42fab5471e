// smtp/proto/ehlo.hpp: the SMTP service extensions a server announces in its
// EHLO reply (RFC 5321 §4.1.1.1).
//
// Contract
// - Grammar (RFC 5321 §4.1.1.1):
//     ehlo-ok-rsp = ( "250" SP Domain [ SP ehlo-greet ] CRLF )
//                 / ( "250-" Domain [ SP ehlo-greet ] CRLF
//                     *( "250-" ehlo-line CRLF ) "250" SP ehlo-line CRLF )
//     ehlo-line    = ehlo-keyword *( SP ehlo-param )
//     ehlo-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
//   The first line is the greeting: its first word is the server's domain.
// - Keywords are compared case-insensitively and stored upper case; params
//   are kept as sent. A line that is not an ehlo-line is skipped and counted
//   in `malformed_lines` (a probe reports it; it never aborts the session).
//   A repeated keyword keeps its first parameters.
// - parse_ehlo() of a reply whose code is not 250 returns no keywords
//   (`ok` false): the server refused EHLO.
// - size_limit(): the SIZE parameter (RFC 1870 §4): nullopt when SIZE is not
//   announced or its parameter is not a number; 0 means "no fixed limit".
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smtp/proto/reply.hpp"

namespace mxsec::smtp {

struct EhloCapabilities {
  bool ok = false;                 // the reply was 250
  std::string domain;              // first word of the greeting line
  std::string greeting;            // the rest of the greeting line
  std::map<std::string, std::vector<std::string>> keywords;  // upper-case keyword -> params
  int malformed_lines = 0;

  bool has(std::string_view keyword) const;
  const std::vector<std::string>* params(std::string_view keyword) const;
  bool starttls() const { return has("STARTTLS"); }          // RFC 3207
  bool pipelining() const { return has("PIPELINING"); }      // RFC 2920
  bool eight_bit_mime() const { return has("8BITMIME"); }    // RFC 6152
  bool smtputf8() const { return has("SMTPUTF8"); }          // RFC 6531
  bool chunking() const { return has("CHUNKING"); }          // RFC 3030
  bool enhanced_status_codes() const { return has("ENHANCEDSTATUSCODES"); }  // RFC 2034
  bool requiretls() const { return has("REQUIRETLS"); }      // RFC 8689
  std::optional<std::uint64_t> size_limit() const;           // RFC 1870
};

EhloCapabilities parse_ehlo(const Reply& reply);

}  // namespace mxsec::smtp
