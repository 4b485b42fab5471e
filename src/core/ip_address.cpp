#include "core/ip_address.hpp"

#include <arpa/inet.h>

#include <cstring>

#include "core/strings.hpp"

namespace mxsec {

IpAddress IpAddress::v4(std::array<std::uint8_t, 4> b) {
  IpAddress a;
  std::memcpy(a.bytes_.data(), b.data(), 4);
  a.v6_ = false;
  return a;
}

IpAddress IpAddress::v6(std::array<std::uint8_t, 16> b) {
  IpAddress a;
  a.bytes_ = b;
  a.v6_ = true;
  return a;
}

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  // inet_pton stops at a NUL, so "1.2.3.4\0junk" from a TXT record would
  // otherwise parse as 1.2.3.4.
  if (text.empty() || text.size() > 45 || text.find('\0') != std::string_view::npos) return std::nullopt;
  char buf[64];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  IpAddress a;
  if (text.find(':') == std::string_view::npos) {
    if (inet_pton(AF_INET, buf, a.bytes_.data()) != 1) return std::nullopt;
    a.v6_ = false;
  } else {
    if (inet_pton(AF_INET6, buf, a.bytes_.data()) != 1) return std::nullopt;
    a.v6_ = true;
  }
  return a;
}

IpAddress IpAddress::unmapped() const {
  if (!v6_) return *this;
  static constexpr std::uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(bytes_.data(), kMapped, 12) != 0) return *this;
  return v4({bytes_[12], bytes_[13], bytes_[14], bytes_[15]});
}

bool IpAddress::in_network(const IpAddress& network, unsigned prefix) const {
  if (v6_ != network.v6_) return false;
  const unsigned max_bits = v6_ ? 128 : 32;
  if (prefix > max_bits) return false;
  const unsigned full = prefix / 8;
  if (std::memcmp(bytes_.data(), network.bytes_.data(), full) != 0) return false;
  const unsigned rest = prefix % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (bytes_[full] & mask) == (network.bytes_[full] & mask);
}

std::string IpAddress::to_string() const {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(v6_ ? AF_INET6 : AF_INET, bytes_.data(), buf, sizeof buf);
  return buf;
}

std::string IpAddress::reverse_name() const {
  std::string out;
  if (!v6_) {
    for (int i = 3; i >= 0; --i) {
      out += std::to_string(bytes_[static_cast<std::size_t>(i)]);
      out += '.';
    }
    return out + "in-addr.arpa";
  }
  for (int i = 15; i >= 0; --i) {
    out += hex_digit(bytes_[static_cast<std::size_t>(i)] & 15u);
    out += '.';
    out += hex_digit(bytes_[static_cast<std::size_t>(i)] >> 4);
    out += '.';
  }
  return out + "ip6.arpa";
}

Result<AddressPort> parse_address_port(std::string_view text) {
  auto bad = [](const char* why) { return make_error(Errc::invalid_argument, why); };
  std::string_view host = text;
  std::string_view port_text;
  bool has_port = false;
  const bool bracketed = !text.empty() && text.front() == '[';
  if (bracketed) {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return bad("missing ']'");
    host = text.substr(1, close - 1);
    const std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return bad("unexpected text after ']'");
      port_text = rest.substr(1);
      has_port = true;
    }
  } else if (const auto colon = text.find(':'); colon != std::string_view::npos && text.find(':', colon + 1) == std::string_view::npos) {
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
    has_port = true;
  }
  if (has_port && port_text.empty()) return bad("empty port");
  AddressPort out;
  auto ip = IpAddress::parse(host);
  if (!ip) return bad("not an IP address");
  if (bracketed && ip->is_v4()) return bad("brackets are for IPv6 addresses");
  out.address = *ip;
  if (has_port) {
    const auto port = parse_uint(port_text, 65535);
    if (!port || *port == 0) return bad("port must be 1..65535");
    out.port = static_cast<std::uint16_t>(*port);
  }
  return out;
}

}  // namespace mxsec
