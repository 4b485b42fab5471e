#include "dns/presentation.hpp"

#include <cstdio>

#include "codec/base64.hpp"
#include "core/strings.hpp"
#include "dns/rdata.hpp"

namespace mxsec::dns {
namespace {

// RFC 4034 / RFC 6698 / RFC 3597 presentation digests: upper-case hex.
std::string hex(std::string_view bytes) { return to_hex(bytes, HexCase::upper); }

std::string fqdn(std::string name) { return name.empty() ? std::string(".") : name + "."; }

// RFC 1035 §5.1: a <character-string> in quotes; '"' and '\' escaped, bytes
// outside printable ASCII as \DDD.
std::string quote(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20 || c >= 0x7f) {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\%03u", c);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

std::uint32_t be32(std::string_view b, std::size_t off) {
  return (static_cast<std::uint32_t>(static_cast<unsigned char>(b[off])) << 24) |
         (static_cast<std::uint32_t>(static_cast<unsigned char>(b[off + 1])) << 16) |
         (static_cast<std::uint32_t>(static_cast<unsigned char>(b[off + 2])) << 8) |
         static_cast<std::uint32_t>(static_cast<unsigned char>(b[off + 3]));
}
unsigned be16(std::string_view b, std::size_t off) {
  return (static_cast<unsigned>(static_cast<unsigned char>(b[off])) << 8) | static_cast<unsigned char>(b[off + 1]);
}

Result<std::string> soa_text(std::string_view rdata) {
  std::size_t off = 0;
  auto mname = decode_name(rdata, off);
  if (!mname) return mname.error();
  auto rname = decode_name(rdata, off);
  if (!rname) return rname.error();
  if (rdata.size() - off != 20) return make_error(Errc::parse, "SOA rdata: timers are not 20 bytes");
  std::string out = fqdn(*mname) + " " + fqdn(*rname);
  for (int i = 0; i < 5; ++i) out += " " + std::to_string(be32(rdata, off + 4 * static_cast<std::size_t>(i)));
  return out;
}

}  // namespace

Result<std::string> rdata_to_text(RrType type, std::string_view rdata) {
  switch (type) {
    case RrType::a:
    case RrType::aaaa: {
      auto ip = type == RrType::a ? decode_a(rdata) : decode_aaaa(rdata);
      if (!ip) return ip.error();
      return ip->to_string();
    }
    case RrType::ns:
    case RrType::cname:
    case RrType::ptr: {
      auto name = decode_name_rdata(rdata);
      if (!name) return name.error();
      return fqdn(std::move(*name));
    }
    case RrType::mx: {
      auto mx = decode_mx(rdata);
      if (!mx) return mx.error();
      return std::to_string(mx->preference) + " " + fqdn(mx->exchange);
    }
    case RrType::txt: {
      auto txt = decode_txt(rdata);
      if (!txt) return txt.error();
      std::string out;
      for (const auto& s : txt->strings) {
        if (!out.empty()) out += ' ';
        out += quote(s);
      }
      return out;
    }
    case RrType::tlsa: {
      auto t = decode_tlsa(rdata);
      if (!t) return t.error();
      // RFC 6698 §2.2: an empty association data field is written as nothing;
      // keep the three numbers so the record stays readable.
      std::string out = std::to_string(t->usage) + " " + std::to_string(t->selector) + " " +
                        std::to_string(t->matching_type);
      if (!t->data.empty()) out += " " + hex(t->data);
      return out;
    }
    case RrType::soa: return soa_text(rdata);
    case RrType::ds: {
      if (rdata.size() < 5) return make_error(Errc::parse, "DS rdata too short");
      return std::to_string(be16(rdata, 0)) + " " + std::to_string(static_cast<unsigned char>(rdata[2])) + " " +
             std::to_string(static_cast<unsigned char>(rdata[3])) + " " + hex(rdata.substr(4));
    }
    case RrType::dnskey: {
      if (rdata.size() < 5) return make_error(Errc::parse, "DNSKEY rdata too short");
      return std::to_string(be16(rdata, 0)) + " " + std::to_string(static_cast<unsigned char>(rdata[2])) + " " +
             std::to_string(static_cast<unsigned char>(rdata[3])) + " " + codec::encode_base64(rdata.substr(4));
    }
  }
  // RFC 3597 §5: "\# <length> <hex>" for types without a known text form.
  std::string out = "\\# " + std::to_string(rdata.size());
  if (!rdata.empty()) out += " " + hex(rdata);
  return out;
}

std::optional<RrType> parse_rr_type(std::string_view text) {
  static constexpr RrType kKnown[] = {RrType::a,   RrType::ns,   RrType::cname, RrType::soa,    RrType::ptr, RrType::mx,
                                      RrType::txt, RrType::aaaa, RrType::ds,    RrType::dnskey, RrType::tlsa};
  for (RrType t : kKnown)
    if (iequals(text, to_string(t))) return t;
  if (istarts_with(text, "TYPE")) {
    // RFC 3597 §5: "TYPE" followed by the decimal type number.
    const auto n = parse_uint(text.substr(4), 65535);
    if (n && *n != 0) return static_cast<RrType>(*n);
  }
  return std::nullopt;
}

std::string rr_type_name(RrType type) {
  const std::string known = to_string(type);
  if (known != "?") return known;
  return "TYPE" + std::to_string(static_cast<unsigned>(type));
}

}  // namespace mxsec::dns
