// dns/presentation.hpp: rdata in zone-file (presentation) form, for display.
//
// Contract: rdata_to_text() turns one wire-format rdata of `type` into the
// RFC 1035 §5.1 text a zone file would hold (names with a trailing dot, TXT
// strings quoted with \" \\ and \DDD escapes, DS/TLSA digests in hex, DNSKEY
// keys in base64). Types it does not know use the RFC 3597 §5 generic form
// "\# LEN HEX". Malformed rdata is an Errc::parse error; the caller shows the
// whole answer as broken rather than a half-decoded record.
// parse_rr_type() accepts a mnemonic (case-insensitive) or "TYPEnnn".
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "dns/types.hpp"

namespace mxsec::dns {

Result<std::string> rdata_to_text(RrType type, std::string_view rdata);
std::optional<RrType> parse_rr_type(std::string_view text);
// Mnemonic, or "TYPEnnn" for a type without one.
std::string rr_type_name(RrType type);

}  // namespace mxsec::dns
