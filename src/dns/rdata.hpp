// dns/rdata.hpp: wire-format rdata encode/decode for the types mxsec uses.
//
// Contract: decoders check every length against the bytes that remain and
// reject trailing data; names in rdata are uncompressed (as libunbound hands
// them over). Decoded names are lower case, escaped per RFC 1035 §5.1 for
// bytes outside LDH/underscore, with no trailing dot. Encoders are the exact
// inverse and feed the fake resolver, so tests exercise the decoders too.
#pragma once

#include <string>
#include <string_view>

#include "core/result.hpp"
#include "dns/types.hpp"

namespace mxsec::dns {

Result<std::string> decode_name(std::string_view wire, std::size_t& offset);
Result<MxRecord> decode_mx(std::string_view rdata);
Result<TxtRecord> decode_txt(std::string_view rdata);
Result<IpAddress> decode_a(std::string_view rdata);
Result<IpAddress> decode_aaaa(std::string_view rdata);
Result<TlsaRecord> decode_tlsa(std::string_view rdata);
Result<std::string> decode_name_rdata(std::string_view rdata);  // PTR, CNAME, NS

Result<std::string> encode_name(std::string_view name);
Result<std::string> encode_mx(const MxRecord& mx);
Result<std::string> encode_txt(const TxtRecord& txt);
std::string encode_address(const IpAddress& a);
std::string encode_tlsa(const TlsaRecord& t);

}  // namespace mxsec::dns
