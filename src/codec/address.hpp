// codec/address.hpp: mailbox extraction from RFC 5322 address fields.
//
// Contract
// - parse_mailbox_list() reads an address-list (RFC 5322 §3.4): mailboxes
//   with or without display names, angle addresses, groups ("team: a@x, b@y;"),
//   comments (nested, with quoted-pairs) and quoted strings, including the
//   obsolete forms that real From fields carry. It returns each mailbox's
//   local part and domain; the domain is lower-cased without a trailing dot,
//   with U-labels converted to A-labels (codec/idna.hpp), so "joerg@bücher.example"
//   has the domain "xn--bcher-kva.example".
// - Errors (Errc::parse, with a reason): unbalanced quotes, comments or angle
//   brackets; a mailbox without "@"; an empty domain; a domain literal
//   ("[192.0.2.1]") where a domain name is required; more than `max_mailboxes`
//   (Errc::limit). DMARC (RFC 9989 §4.4) needs exactly the domain, so anything
//   doubtful is an error rather than a guess.
// - parse_path() reads an SMTP reverse-path or a bare address as given on the
//   command line ("<user@example.com>", "user@example.com", "<>" = null path).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace mxsec::codec {

struct Mailbox {
  std::string local_part;
  std::string domain;
};

Result<std::vector<Mailbox>> parse_mailbox_list(std::string_view value, std::size_t max_mailboxes = 32);

// Returns the mailbox of a path; an empty Mailbox for the null path "<>" or "".
Result<Mailbox> parse_path(std::string_view path);

}  // namespace mxsec::codec
