#include "dns/rdata.hpp"

#include <array>
#include <cstdio>
#include <cstring>

#include "core/strings.hpp"

namespace mxsec::dns {
namespace {

Result<std::string> need_empty_tail(std::string value, std::string_view rdata, std::size_t offset) {
  if (offset != rdata.size()) return make_error(Errc::parse, "trailing bytes after rdata");
  return value;
}

}  // namespace

Result<std::string> decode_name(std::string_view wire, std::size_t& offset) {
  std::string out;
  std::size_t total = 0;
  for (;;) {
    if (offset >= wire.size()) return make_error(Errc::parse, "name runs past the rdata");
    const auto len = static_cast<unsigned char>(wire[offset++]);
    if (len == 0) break;
    if (len > 63) return make_error(Errc::parse, "compressed or invalid label in rdata");
    if (len > wire.size() - offset) return make_error(Errc::parse, "label runs past the rdata");
    // RFC 1035 §3.1: "the total length of a domain name (i.e., label octets
    // and label length octets) is restricted to 255 octets or less"; the
    // count includes the final root label, hence 254 before it.
    total += len + 1;
    if (total > 254) return make_error(Errc::parse, "name longer than 255 octets");
    if (!out.empty()) out += '.';
    for (std::size_t i = 0; i < len; ++i) {
      const auto c = static_cast<unsigned char>(wire[offset + i]);
      if (is_alnum(static_cast<char>(c)) || c == '-' || c == '_') {
        out += ascii_lower(static_cast<char>(c));
      } else if (c > 0x20 && c < 0x7f) {
        out += '\\';
        out += static_cast<char>(c);
      } else {
        char buf[5];
        std::snprintf(buf, sizeof buf, "\\%03u", c);
        out += buf;
      }
    }
    offset += len;
  }
  return out;
}

std::string minimal_escapes(std::string name) {
  if (name.find('\\') == std::string::npos) return name;
  const std::string_view s = name;
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 >= s.size()) {
      out += s[i];
      continue;
    }
    char c = s[i + 1];
    std::size_t len = 2;
    if (is_digit(c) && i + 3 < s.size() && is_digit(s[i + 2]) && is_digit(s[i + 3])) {
      const int v = (s[i + 1] - '0') * 100 + (s[i + 2] - '0') * 10 + (s[i + 3] - '0');
      c = v < 256 ? static_cast<char>(v) : '\0';
      len = 4;
    }
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x21 && u <= 0x7e && c != '.' && c != '\\') out += c;
    else out.append(s.substr(i, len));
    i += len - 1;
  }
  return out;
}

Result<std::string> encode_name(std::string_view name) {
  // Drop the trailing dot of an absolute name, but not an escaped "\." that
  // ends the last label (an odd number of backslashes before it).
  if (!name.empty() && name.back() == '.') {
    std::size_t backslashes = 0;
    while (backslashes + 1 < name.size() && name[name.size() - 2 - backslashes] == '\\') ++backslashes;
    if (backslashes % 2 == 0) name.remove_suffix(1);
  }
  std::string out;
  if (name.empty()) return std::string(1, '\0');
  std::string label;
  auto flush = [&]() -> bool {
    if (label.empty() || label.size() > 63) return false;
    out += static_cast<char>(label.size());
    out += label;
    label.clear();
    return true;
  };
  for (std::size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    if (c == '.') {
      if (!flush()) return make_error(Errc::parse, "empty or long label in name");
      continue;
    }
    if (c == '\\' && i + 1 < name.size()) {
      if (i + 3 < name.size() && is_digit(name[i + 1]) && is_digit(name[i + 2]) && is_digit(name[i + 3])) {
        const int v = (name[i + 1] - '0') * 100 + (name[i + 2] - '0') * 10 + (name[i + 3] - '0');
        if (v > 255) return make_error(Errc::parse, "bad \\DDD escape in name");
        label += static_cast<char>(v);
        i += 3;
      } else {
        label += name[++i];
      }
      continue;
    }
    label += c;
  }
  if (!flush()) return make_error(Errc::parse, "empty or long label in name");
  out += '\0';
  if (out.size() > 255) return make_error(Errc::parse, "name longer than 255 octets");
  return out;
}

Result<MxRecord> decode_mx(std::string_view rdata) {
  if (rdata.size() < 3) return make_error(Errc::parse, "MX rdata too short");
  MxRecord mx;
  mx.preference = static_cast<std::uint16_t>((static_cast<unsigned char>(rdata[0]) << 8) |
                                             static_cast<unsigned char>(rdata[1]));
  std::size_t off = 2;
  auto name = decode_name(rdata, off);
  if (!name) return name.error();
  if (off != rdata.size()) return make_error(Errc::parse, "trailing bytes after MX rdata");
  mx.exchange = std::move(*name);
  return mx;
}

Result<TxtRecord> decode_txt(std::string_view rdata) {
  if (rdata.empty()) return make_error(Errc::parse, "empty TXT rdata");
  TxtRecord txt;
  std::size_t off = 0;
  while (off < rdata.size()) {
    const auto len = static_cast<unsigned char>(rdata[off++]);
    if (len > rdata.size() - off) return make_error(Errc::parse, "TXT string runs past the rdata");
    txt.strings.emplace_back(rdata.substr(off, len));
    off += len;
  }
  return txt;
}

std::optional<std::string_view> join_txt_strings(std::string_view rdata, std::string& scratch) {
  if (rdata.empty()) return std::nullopt;
  scratch.clear();
  std::size_t off = 0;
  while (off < rdata.size()) {
    const auto len = static_cast<unsigned char>(rdata[off++]);
    if (len > rdata.size() - off) return std::nullopt;
    scratch.append(rdata.substr(off, len));
    off += len;
  }
  return std::string_view(scratch);
}

Result<IpAddress> decode_a(std::string_view rdata) {
  if (rdata.size() != 4) return make_error(Errc::parse, "A rdata is not 4 bytes");
  std::array<std::uint8_t, 4> b;
  std::memcpy(b.data(), rdata.data(), 4);
  return IpAddress::v4(b);
}

Result<IpAddress> decode_aaaa(std::string_view rdata) {
  if (rdata.size() != 16) return make_error(Errc::parse, "AAAA rdata is not 16 bytes");
  std::array<std::uint8_t, 16> b;
  std::memcpy(b.data(), rdata.data(), 16);
  return IpAddress::v6(b);
}

Result<IpAddress> decode_address(std::string_view rdata, RrType type) {
  return type == RrType::aaaa ? decode_aaaa(rdata) : decode_a(rdata);
}

Result<TlsaRecord> decode_tlsa(std::string_view rdata) {
  if (rdata.size() < 3) return make_error(Errc::parse, "TLSA rdata too short");
  TlsaRecord t;
  t.usage = static_cast<std::uint8_t>(rdata[0]);
  t.selector = static_cast<std::uint8_t>(rdata[1]);
  t.matching_type = static_cast<std::uint8_t>(rdata[2]);
  t.data = std::string(rdata.substr(3));
  return t;
}

Result<std::string> decode_name_rdata(std::string_view rdata) {
  std::size_t off = 0;
  auto name = decode_name(rdata, off);
  if (!name) return name.error();
  return need_empty_tail(std::move(*name), rdata, off);
}

Result<std::string> encode_mx(const MxRecord& mx) {
  auto name = encode_name(mx.exchange);
  if (!name) return name.error();
  std::string out;
  out += static_cast<char>(mx.preference >> 8);
  out += static_cast<char>(mx.preference & 0xff);
  return out + *name;
}

Result<std::string> encode_txt(const TxtRecord& txt) {
  std::string out;
  for (const auto& s : txt.strings) {
    if (s.size() > 255) return make_error(Errc::parse, "TXT string longer than 255 octets");
    out += static_cast<char>(s.size());
    out += s;
  }
  if (txt.strings.empty()) out += '\0';
  return out;
}

std::string encode_address(const IpAddress& a) {
  return std::string(reinterpret_cast<const char*>(a.bytes()), a.size());
}

std::string encode_tlsa(const TlsaRecord& t) {
  std::string out;
  out += static_cast<char>(t.usage);
  out += static_cast<char>(t.selector);
  out += static_cast<char>(t.matching_type);
  return out + t.data;
}

}  // namespace mxsec::dns
