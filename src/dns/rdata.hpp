// dns/rdata.hpp: wire-format rdata encode/decode for the types mxsec uses.
//
// Contract: decoders check every length against the bytes that remain and
// reject trailing data; names in rdata are uncompressed (as libunbound hands
// them over). Decoded names are lower case, escaped per RFC 1035 §5.1 for
// bytes outside LDH/underscore, with no trailing dot. Encoders are the exact
// inverse and feed the fake resolver, so tests exercise the decoders too.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "dns/types.hpp"

namespace mxsec::dns {

Result<std::string> decode_name(std::string_view wire, std::size_t& offset);
Result<MxRecord> decode_mx(std::string_view rdata);
Result<TxtRecord> decode_txt(std::string_view rdata);
// One TXT rdata as text, its <character-string>s concatenated without
// separators (RFC 7208 §3.3, RFC 6376 §3.6.2.2, RFC 9989 §4.5): a view into
// `rdata` when it holds a single string (no copy), else the strings joined
// into `scratch`. nullopt if the rdata is malformed. The same text as
// decode_txt(rdata)->joined(), for hot paths that cannot afford a TxtRecord
// (inline: the single-string case is SPF's per-check path).
std::optional<std::string_view> join_txt_strings(std::string_view rdata, std::string& scratch);
inline std::optional<std::string_view> txt_text(std::string_view rdata, std::string& scratch) {
  if (!rdata.empty() && static_cast<unsigned char>(rdata[0]) == rdata.size() - 1) return rdata.substr(1);
  return join_txt_strings(rdata, scratch);
}
Result<IpAddress> decode_a(std::string_view rdata);
Result<IpAddress> decode_aaaa(std::string_view rdata);
// decode_a for RrType::a, decode_aaaa for RrType::aaaa.
Result<IpAddress> decode_address(std::string_view rdata, RrType type);
Result<TlsaRecord> decode_tlsa(std::string_view rdata);
Result<std::string> decode_name_rdata(std::string_view rdata);  // PTR, CNAME, NS

// A decoded name with only the escapes that keep label boundaries: "\\X" for
// a printable X other than '.' and '\\' (and "\\DDD" for such a byte) becomes
// X; "\\.", "\\\\" and bytes outside 0x21..0x7e stay escaped. For protocols
// that compare and query names as written in records (SPF, RFC 7208 §4.8).
std::string minimal_escapes(std::string name);

Result<std::string> encode_name(std::string_view name);
Result<std::string> encode_mx(const MxRecord& mx);
Result<std::string> encode_txt(const TxtRecord& txt);
std::string encode_address(const IpAddress& a);
std::string encode_tlsa(const TlsaRecord& t);

}  // namespace mxsec::dns
