// dns/types.hpp: DNS answers as values, with their DNSSEC status.
//
// Contract
// - Every answer says how the question ended (Status) and what the validator
//   concluded (Security). Callers judge by `security`, never by the rcode: a
//   forwarder hands back bogus data with rcode 0 (libunbound sets CD when
//   forwarding), so a NOERROR answer can still be bogus.
// - Security meanings (mirroring unbound's ub_result):
//     secure        - validated from a configured trust anchor.
//     insecure      - provably unsigned (an insecure delegation), or no anchor
//                     covers the name.
//     bogus         - validation failed; `why_bogus` holds unbound's reason.
//                     Data in a bogus answer must not be used.
//     indeterminate - no validation outcome (timeout, SERVFAIL, resolver error).
// - Status meanings:
//     ok       - NOERROR with at least one record of the asked type.
//     nodata   - NOERROR, name exists, no record of this type.
//     nxdomain - the name does not exist.
//     servfail - SERVFAIL or another failing rcode (REFUSED, ...).
//     timeout  - no answer within the per-query timeout.
//     error    - the resolver itself failed (setup, malformed rdata, ...).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/ip_address.hpp"

namespace mxsec::dns {

enum class RrType : std::uint16_t {
  a = 1,
  ns = 2,
  cname = 5,
  soa = 6,
  ptr = 12,
  mx = 15,
  txt = 16,
  aaaa = 28,
  ds = 43,
  dnskey = 48,
  tlsa = 52,
};

enum class Security { secure, insecure, bogus, indeterminate };
enum class Status { ok, nodata, nxdomain, servfail, timeout, error };

const char* to_string(RrType t);
const char* to_string(Security s);
const char* to_string(Status s);

struct MxRecord {
  std::uint16_t preference = 0;
  std::string exchange;  // presentation form, lower case, no trailing dot; "" for the root (null MX)
  friend bool operator==(const MxRecord&, const MxRecord&) = default;
};

struct TxtRecord {
  std::vector<std::string> strings;  // the <character-string>s as published
  std::string joined() const;        // concatenated without separators (RFC 7208 §3.3)
  friend bool operator==(const TxtRecord&, const TxtRecord&) = default;
};

struct TlsaRecord {
  std::uint8_t usage = 0;          // RFC 6698 §2.1.1 certificate usage
  std::uint8_t selector = 0;       // 0 full cert, 1 SubjectPublicKeyInfo
  std::uint8_t matching_type = 0;  // 0 exact, 1 SHA-256, 2 SHA-512
  std::string data;                // binary association data
  friend bool operator==(const TlsaRecord&, const TlsaRecord&) = default;
};

// The judgement every answer shares, undecoded or typed (see Answer<T>).
constexpr bool answer_failed(Status status, Security security) {
  return security == Security::bogus || status == Status::servfail || status == Status::timeout ||
         status == Status::error;
}

// The undecoded answer as a resolver produced it: rdata in wire form. The
// predicates mean what Answer<T>'s mean, before decoding (NOERROR without
// rdata counts as NODATA), so a caller that reads the rdata itself (with
// the decoders of dns/rdata.hpp) judges it the same way.
struct RawAnswer {
  std::string qname;
  RrType qtype = RrType::a;
  Status status = Status::error;
  Security security = Security::indeterminate;
  std::string why_bogus;        // unbound's reason when security == bogus
  std::string error;            // resolver error text when status == error
  std::uint32_t ttl = 0;
  std::string canonical_name;   // owner after CNAME expansion ("" if none)
  std::vector<std::string> rdata;

  bool bogus() const { return security == Security::bogus; }
  bool failed() const { return answer_failed(status, security); }
  bool empty_answer() const {
    return !failed() && (status == Status::nodata || status == Status::nxdomain || rdata.empty());
  }
  bool usable() const { return status == Status::ok && !rdata.empty() && security != Security::bogus; }
};

template <class T>
struct Answer {
  std::string qname;
  Status status = Status::error;
  Security security = Security::indeterminate;
  std::string why_bogus;
  std::string error;
  std::uint32_t ttl = 0;
  std::string canonical_name;
  std::vector<T> records;

  bool secure() const { return security == Security::secure; }
  bool bogus() const { return security == Security::bogus; }
  // Records exist and the validator did not reject them.
  bool usable() const { return status == Status::ok && security != Security::bogus; }
  // NXDOMAIN or NODATA, i.e. a "void lookup" in RFC 7208 §4.6.4 terms.
  bool empty_answer() const { return status == Status::nodata || status == Status::nxdomain; }
  // The question could not be answered: SERVFAIL, timeout, resolver error or
  // a bogus answer. RFC 7208 / 6376 / 9989 map this to temperror.
  bool failed() const { return answer_failed(status, security); }
};

// Why a DNS question could not be used, as one line for a verdict's reason,
// a finding or a log:
//   bogus:      "DNSSEC bogus answer for <what>: <why_bogus>" ("validation
//               failed" when unbound gave no reason)
//   otherwise:  "DNS <status> for <what>", plus ": <error>" when the
//               resolver said more (e.g. "DNS servfail for TXT example.com").
// `what` names the question, normally "<TYPE> <name>" ("" leaves out the
// " for <what>" part). Every piece is escaped with escape_for_log (names,
// unbound's reasons and resolver errors are untrusted text), so the caller
// passes raw text and must not escape the result again. Meant for answers
// that failed() or came back empty; this is the one describer of failed DNS
// answers in mxsec.
std::string describe_failure(std::string_view what, Status status, Security security, std::string_view why_bogus,
                             std::string_view error);

// The same for a RawAnswer or any Answer<T>.
template <class AnswerT>
std::string describe_failure(std::string_view what, const AnswerT& answer) {
  return describe_failure(what, answer.status, answer.security, answer.why_bogus, answer.error);
}

using MxAnswer = Answer<MxRecord>;
using TxtAnswer = Answer<TxtRecord>;
using AddressAnswer = Answer<IpAddress>;
using TlsaAnswer = Answer<TlsaRecord>;
using NameAnswer = Answer<std::string>;  // PTR and CNAME targets

}  // namespace mxsec::dns
