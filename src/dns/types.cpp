#include "dns/types.hpp"

#include "core/strings.hpp"

namespace mxsec::dns {

const char* to_string(RrType t) {
  switch (t) {
    case RrType::a: return "A";
    case RrType::ns: return "NS";
    case RrType::cname: return "CNAME";
    case RrType::soa: return "SOA";
    case RrType::ptr: return "PTR";
    case RrType::mx: return "MX";
    case RrType::txt: return "TXT";
    case RrType::aaaa: return "AAAA";
    case RrType::ds: return "DS";
    case RrType::dnskey: return "DNSKEY";
    case RrType::tlsa: return "TLSA";
  }
  return "?";
}

const char* to_string(Security s) {
  switch (s) {
    case Security::secure: return "secure";
    case Security::insecure: return "insecure";
    case Security::bogus: return "bogus";
    case Security::indeterminate: return "indeterminate";
  }
  return "?";
}

const char* to_string(Status s) {
  switch (s) {
    case Status::ok: return "ok";
    case Status::nodata: return "nodata";
    case Status::nxdomain: return "nxdomain";
    case Status::servfail: return "servfail";
    case Status::timeout: return "timeout";
    case Status::error: return "error";
  }
  return "?";
}

std::string TxtRecord::joined() const {
  std::string out;
  for (const auto& s : strings) out += s;
  return out;
}

std::string describe_failure(std::string_view what, Status status, Security security, std::string_view why_bogus,
                             std::string_view error) {
  // Longest `what`: a type mnemonic, a space and a 253-octet name.
  constexpr std::size_t kWhatMax = 270, kReasonMax = 200;
  const std::string for_what = what.empty() ? std::string() : " for " + escape_for_log(what, kWhatMax);
  // Bogus first: a bogus NXDOMAIN or NOERROR is as unusable as a SERVFAIL.
  if (security == Security::bogus)
    return "DNSSEC bogus answer" + for_what + ": " +
           (why_bogus.empty() ? std::string("validation failed") : escape_for_log(why_bogus, kReasonMax));
  return std::string("DNS ") + to_string(status) + for_what + (error.empty() ? "" : ": " + escape_for_log(error, kReasonMax));
}

}  // namespace mxsec::dns
