#include "dns/types.hpp"

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

}  // namespace mxsec::dns
