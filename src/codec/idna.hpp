// codec/idna.hpp: domain names in the A-label form DNS and the mail
// authentication protocols compare (IDNA 2008 through libidn2).
//
// Contract
// - to_a_label_domain() turns a domain name as it appears in mail (RFC 6532
//   allows UTF-8 in header fields, RFC 6531 in SMTP paths) into the form that
//   is queried and compared: every label that holds a byte >= 0x80 is a
//   U-label and is converted to its A-label ("xn--...") with libidn2 (IDNA
//   2008, NFC input, UTS #46 non-transitional mapping, so "Bücher" and
//   "bücher" give the same A-label); ASCII labels are only lower-cased, so
//   "_dmarc", "_domainkey" and existing A-labels pass unchanged. One trailing
//   dot is removed.
//   RFC 9989 §5.3.1: a domain with U-labels is converted to A-labels before
//   the DMARC lookup; RFC 8616 §3 says the same for SPF and DKIM.
// - Errors (Errc::parse, with the escaped name and libidn2's reason): an
//   empty name or an empty label, a label that is not valid UTF-8 or not a
//   valid IDNA 2008 label, an A-label over 63 octets, a name over 253 octets
//   after conversion. ASCII labels are not checked beyond that: LDH syntax
//   is the caller's rule (DNS names in mail may hold '_').
// - Pure function, thread-safe; the result is owned by the caller.
#pragma once

#include <string>
#include <string_view>

#include "core/result.hpp"

namespace mxsec::codec {

Result<std::string> to_a_label_domain(std::string_view name);

}  // namespace mxsec::codec
