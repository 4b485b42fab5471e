// core/ip_address.hpp: an IPv4 or IPv6 address as a value, with CIDR matching.
//
// Protocol modules (SPF ip4/ip6/a/mx, DNS A/AAAA answers, DMARC reports) use
// this instead of socket types. IPv4-mapped IPv6 addresses (::ffff:a.b.c.d)
// are kept as written; callers that must treat them as IPv4 (RFC 7208 §5)
// call unmapped().
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace mxsec {

class IpAddress {
 public:
  IpAddress() = default;
  static IpAddress v4(std::array<std::uint8_t, 4> b);
  static IpAddress v6(std::array<std::uint8_t, 16> b);
  // Parses dotted-quad IPv4 or RFC 4291 IPv6 text; nullopt if malformed.
  static std::optional<IpAddress> parse(std::string_view text);

  bool is_v4() const { return !v6_; }
  bool is_v6() const { return v6_; }
  // The 4 (IPv4) or 16 (IPv6) address bytes, network order.
  const std::uint8_t* bytes() const { return bytes_.data(); }
  std::size_t size() const { return v6_ ? 16 : 4; }
  // ::ffff:a.b.c.d becomes a.b.c.d; everything else is returned unchanged.
  IpAddress unmapped() const;
  // True if the first `prefix` bits equal those of `network` (same family).
  bool in_network(const IpAddress& network, unsigned prefix) const;
  std::string to_string() const;
  // Reverse-lookup name: "4.3.2.1.in-addr.arpa" / nibbles ".ip6.arpa".
  std::string reverse_name() const;

  friend bool operator==(const IpAddress& a, const IpAddress& b) { return a.v6_ == b.v6_ && a.bytes_ == b.bytes_; }

 private:
  std::array<std::uint8_t, 16> bytes_{};
  bool v6_ = false;
};

// An address with an optional port, as written in flags and configuration
// files: "ADDR", "ADDR:PORT", "[V6]" or "[V6]:PORT". A bare IPv6 address
// (without brackets) has no port; brackets around an IPv4 address, an empty
// or zero port, and host names are refused. The error (Errc::invalid_argument)
// says only what is wrong ("missing ']'", "not an IP address", ...): the
// caller names the setting and the expected form.
struct AddressPort {
  IpAddress address;
  std::optional<std::uint16_t> port;
};
Result<AddressPort> parse_address_port(std::string_view text);

}  // namespace mxsec
