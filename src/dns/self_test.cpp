// run_self_test: does the configured resolver validate DNSSEC at all?
//
// The probe is the DNSKEY RRset at the apex of a trust anchor. It is signed
// by the very key the anchor names, so:
//   secure                      -> the chain works (validating);
//   bogus                       -> the anchor does not match what is served;
//   insecure with an answer     -> the anchor had no effect, e.g. RRSIGs were
//                                  stripped on the way (not_validating);
//   servfail/timeout/error      -> no usable answer (unreachable).
// An insecure NXDOMAIN or NODATA for an anchored apex is just as wrong as an
// insecure answer (the apex of a signed zone has a DNSKEY RRset), so it also
// counts as not_validating.
#include "core/strings.hpp"
#include "dns/unbound_resolver.hpp"

namespace mxsec::dns {

const char* to_string(SelfTest::Outcome o) {
  switch (o) {
    case SelfTest::Outcome::validating: return "validating";
    case SelfTest::Outcome::not_validating: return "not_validating";
    case SelfTest::Outcome::bogus: return "bogus";
    case SelfTest::Outcome::unreachable: return "unreachable";
  }
  return "?";
}

asio::awaitable<SelfTest> run_self_test(Resolver& resolver, std::string probe_name) {
  SelfTest out;
  out.probe_name = probe_name.empty() ? std::string(".") : probe_name;
  const RawAnswer a = co_await resolver.resolve(out.probe_name, RrType::dnskey);
  const std::string what = "DNSKEY " + out.probe_name;
  if (a.security == Security::bogus) {
    out.outcome = SelfTest::Outcome::bogus;
    out.message = what + " is bogus: " + (a.why_bogus.empty() ? "validation failed" : a.why_bogus) +
                  " (wrong or stale trust anchor, or answers altered on the way)";
  } else if (a.status == Status::servfail || a.status == Status::timeout || a.status == Status::error) {
    out.outcome = SelfTest::Outcome::unreachable;
    out.message = what + ": no answer (" + std::string(to_string(a.status)) +
                  (a.error.empty() ? "" : ": " + a.error) + ")";
  } else if (a.security == Security::secure && a.status == Status::ok) {
    out.outcome = SelfTest::Outcome::validating;
    out.message = what + " validated as secure";
  } else {
    out.outcome = SelfTest::Outcome::not_validating;
    out.message = what + " came back " + std::string(to_string(a.security)) + " (" + to_string(a.status) +
                  ") although a trust anchor covers it: the resolver path does not deliver DNSSEC "
                  "signatures (a forwarder without DO support or one that strips RRSIGs)";
  }
  co_return out;
}

}  // namespace mxsec::dns
