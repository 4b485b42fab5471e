// Checks of UnboundResolver settings that libunbound would otherwise accept
// silently: forwarder/stub addresses and trust-anchor files.
//
// Why check anchor files ourselves: libunbound ignores an empty file and an
// anchor whose algorithm it does not support, and then every answer under it
// looks "insecure" instead of failing. A resolver that silently stops
// validating is the failure we must not have, so create() refuses such files.
#include <string>
#include <vector>

#include "codec/base64.hpp"
#include "core/file.hpp"
#include "core/strings.hpp"
#include "dns/unbound_resolver.hpp"

namespace mxsec::dns {
namespace {

// A trust-anchor file holds a handful of lines; anything this large is a
// wrong path (a zone file, a log), not an anchor set.
constexpr std::size_t kTrustAnchorFileBytes = 256 * 1024;

// DNSSEC algorithms that libunbound 1.17 with OpenSSL 3 validates
// (IANA "DNS Security Algorithm Numbers"): RSASHA1, RSASHA1-NSEC3-SHA1,
// RSASHA256, RSASHA512, ECDSAP256SHA256, ECDSAP384SHA384, ED25519, ED448.
bool algorithm_supported(std::uint64_t alg) {
  switch (alg) {
    case 5: case 7: case 8: case 10: case 13: case 14: case 15: case 16: return true;
    default: return false;
  }
}

// Digest length per DS digest type (RFC 4034 SHA-1, RFC 4509 SHA-256,
// RFC 6605 SHA-384); 0 for a type unbound does not support.
std::size_t digest_length(std::uint64_t type) {
  switch (type) {
    case 1: return 20;
    case 2: return 32;
    case 4: return 48;
    default: return 0;
  }
}

Result<std::string> read_bounded(const std::string& path) {
  auto text = read_file_bounded(path, kTrustAnchorFileBytes, "trust anchor file");
  if (!text && text.error().code == Errc::limit) return make_error(Errc::io, text.error().message);
  return text;
}

// Splits the file into records: comments (';' to end of line) removed and
// parenthesised continuations joined, as in RFC 1035 §5.1 master files.
Result<std::vector<std::vector<std::string_view>>> split_records(std::string_view text, std::string_view path) {
  std::vector<std::vector<std::string_view>> records;
  std::vector<std::string_view> current;
  bool in_parens = false;
  std::size_t line_no = 0;
  for (std::string_view line : split(text, '\n')) {
    ++line_no;
    if (const auto semi = line.find(';'); semi != std::string_view::npos) line = line.substr(0, semi);
    std::size_t i = 0;
    while (i < line.size()) {
      const char c = line[i];
      if (c == ' ' || c == '\t' || c == '\r') { ++i; continue; }
      if (c == '(') {
        if (in_parens) return make_error(Errc::parse, std::string(path) + ":" + std::to_string(line_no) + ": nested '('");
        in_parens = true;
        ++i;
        continue;
      }
      if (c == ')') {
        if (!in_parens) return make_error(Errc::parse, std::string(path) + ":" + std::to_string(line_no) + ": ')' without '('");
        in_parens = false;
        ++i;
        continue;
      }
      std::size_t j = i;
      while (j < line.size() && line[j] != ' ' && line[j] != '\t' && line[j] != '\r' && line[j] != '(' && line[j] != ')')
        ++j;
      current.push_back(line.substr(i, j - i));
      i = j;
    }
    if (!in_parens && !current.empty()) {
      records.push_back(std::move(current));
      current.clear();
    }
  }
  if (in_parens) return make_error(Errc::parse, std::string(path) + ": unterminated '('");
  return records;
}

}  // namespace

bool ServerAddress::is_loopback() const {
  if (address.is_v4()) return address.bytes()[0] == 127;
  static const IpAddress kV6Loopback = *IpAddress::parse("::1");
  return address == kV6Loopback || (address.unmapped().is_v4() && address.unmapped().bytes()[0] == 127);
}

std::string ServerAddress::to_unbound() const { return address.to_string() + "@" + std::to_string(port); }

Result<ServerAddress> parse_server_address(std::string_view text) {
  auto parsed = parse_address_port(text);
  if (!parsed)
    return make_error(Errc::invalid_argument, "resolver address '" + escape_for_log(text, 80) + "': " +
                                                  parsed.error().message + " (expected ADDR, ADDR:PORT or [V6]:PORT)");
  ServerAddress out;
  out.address = parsed->address;
  if (parsed->port) out.port = *parsed->port;
  return out;
}

Result<std::string> check_trust_anchor_file(const std::string& path) {
  auto text = read_bounded(path);
  if (!text) return text.error();
  auto records = split_records(*text, path);
  if (!records) return records.error();
  std::string first_owner;
  std::size_t usable = 0;
  std::size_t index = 0;
  for (const auto& rec : *records) {
    ++index;
    const std::string where = path + ": record " + std::to_string(index);
    if (rec.front().front() == '$') continue;  // $ORIGIN / $TTL directives
    // owner [TTL] [CLASS] TYPE RDATA..., TTL and class in either order.
    std::size_t i = 1;
    for (int k = 0; k < 2 && i < rec.size(); ++k) {
      if (parse_uint(rec[i]) || iequals(rec[i], "IN")) ++i;
    }
    if (i >= rec.size()) return make_error(Errc::parse, where + ": no record type");
    const std::string_view type = rec[i++];
    const std::size_t fields = rec.size() - i;
    bool ok = false;
    if (iequals(type, "DS")) {
      // RFC 4034 §5.3: Key Tag, Algorithm, Digest Type, Digest (hex, may
      // contain white space).
      if (fields < 4) return make_error(Errc::parse, where + ": DS needs key tag, algorithm, digest type and digest");
      const auto tag = parse_uint(rec[i], 65535);
      const auto alg = parse_uint(rec[i + 1], 255);
      const auto dtype = parse_uint(rec[i + 2], 255);
      if (!tag || !alg || !dtype) return make_error(Errc::parse, where + ": DS key tag, algorithm or digest type is not a number");
      std::string digest;
      for (std::size_t k = i + 3; k < rec.size(); ++k) digest += rec[k];
      for (char c : digest)
        if (hex_digit_value(c) < 0) return make_error(Errc::parse, where + ": DS digest is not hexadecimal");
      const std::size_t want = digest_length(*dtype);
      if (want != 0 && digest.size() != 2 * want)
        return make_error(Errc::parse, where + ": DS digest has " + std::to_string(digest.size() / 2) +
                                           " octets, digest type " + std::to_string(*dtype) + " needs " +
                                           std::to_string(want));
      ok = want != 0 && algorithm_supported(*alg);
    } else if (iequals(type, "DNSKEY")) {
      // RFC 4034 §2.2: Flags, Protocol, Algorithm, Public Key (base64).
      if (fields < 4) return make_error(Errc::parse, where + ": DNSKEY needs flags, protocol, algorithm and key");
      const auto flags = parse_uint(rec[i], 65535);
      const auto proto = parse_uint(rec[i + 1], 255);
      const auto alg = parse_uint(rec[i + 2], 255);
      if (!flags || !proto || !alg) return make_error(Errc::parse, where + ": DNSKEY flags, protocol or algorithm is not a number");
      std::string key;
      for (std::size_t k = i + 3; k < rec.size(); ++k) key += rec[k];
      if (!codec::decode_base64(key)) return make_error(Errc::parse, where + ": DNSKEY public key is not base64");
      // RFC 4034 §2.1.2: "The Protocol Field MUST have value 3, and the
      // DNSKEY RR MUST be treated as invalid during signature verification if
      // it is found to be some value other than 3."
      if (*proto != 3) return make_error(Errc::parse, where + ": DNSKEY protocol is not 3");
      // RFC 4034 §2.1.1: "If bit 7 has value 0, then the DNSKEY record holds
      // some other type of DNS public key and MUST NOT be used to verify
      // RRSIGs that cover RRsets."
      ok = (*flags & 0x0100) != 0 && algorithm_supported(*alg);
    } else {
      return make_error(Errc::parse, where + ": type " + escape_for_log(type, 20) + " is not DS or DNSKEY");
    }
    if (ok) {
      if (usable++ == 0) {
        first_owner = normalize_domain(rec.front());
        if (!first_owner.empty() && !is_valid_domain_name(first_owner))
          return make_error(Errc::parse, where + ": owner name " + escape_for_log(rec.front(), 80) + " is not a domain name");
      }
    }
  }
  if (usable == 0)
    return make_error(Errc::parse, "trust anchor file " + path +
                                       ": no usable DS or DNSKEY record (supported algorithm and digest type)");
  return first_owner;
}

Result<std::string> self_test_probe(const ResolverConfig& config) {
  if (config.trust_anchor_files.empty()) return std::string(".");
  auto owner = check_trust_anchor_file(config.trust_anchor_files.front());
  if (!owner) return owner.error();
  return owner->empty() ? std::string(".") : *owner + ".";
}

}  // namespace mxsec::dns
