// Fuzz target for DANE TLSA usability (tls/dane/tlsa.hpp). Input: one TLSA
// rdata in wire form; the same bytes split at 0xff bytes also form an RRset.
//
// Properties (trap on violation):
// - decode_tlsa succeeds exactly when there are at least 3 octets, and
//   re-encodes to the input;
// - a usable record is DANE-TA(2)/DANE-EE(3), selector 0/1, matching type
//   0/1/2 with a 32/64-octet digest or non-empty full data within the limit;
//   an unusable one always carries a reason;
// - the presentation form starts with "usage selector mtype" and equals
//   dns::rdata_to_text of the same rdata;
// - analyse() partitions the RRset, rollover_ready == (usable >= 2), and
//   more records than limits::kDaneMaxTlsaRecords is an Errc::limit error.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common.hpp"
#include "core/limits.hpp"
#include "dns/presentation.hpp"
#include "dns/rdata.hpp"
#include "tls/dane/tlsa.hpp"

using namespace mxsec;
using namespace mxsec::tls::dane;

namespace {

using mxsec::fuzz::check;

void one(std::string_view rd) {
  auto t = dns::decode_tlsa(rd);
  check(t.has_value() == (rd.size() >= 3));
  if (!t) return;
  check(dns::encode_tlsa(*t) == rd);
  auto c = classify(*t);
  if (c.usable) {
    check(c.reason.empty());
    check(t->usage == kUsageDaneTa || t->usage == kUsageDaneEe);
    check(t->selector == kSelectorCert || t->selector == kSelectorSpki);
    switch (t->matching_type) {
      case kMatchSha256: check(t->data.size() == 32); break;
      case kMatchSha512: check(t->data.size() == 64); break;
      case kMatchFull: check(!t->data.empty() && t->data.size() <= limits::kDaneMaxTlsaDataBytes); break;
      default: check(false);
    }
  } else {
    check(!c.reason.empty());
  }
  const std::string text = to_text(*t);
  const std::string head = std::to_string(t->usage) + " " + std::to_string(t->selector) + " " +
                           std::to_string(t->matching_type);
  check(text.compare(0, head.size(), head) == 0);
  auto direct = dns::rdata_to_text(dns::RrType::tlsa, rd);
  check(direct.has_value() && *direct == text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  one(in);

  std::vector<dns::TlsaRecord> rrset;
  std::size_t start = 0;
  while (start <= in.size()) {
    std::size_t sep = in.find('\xff', start);
    std::string_view part = in.substr(start, sep == std::string_view::npos ? std::string_view::npos : sep - start);
    if (auto t = dns::decode_tlsa(part)) rrset.push_back(std::move(*t));
    if (sep == std::string_view::npos) break;
    start = sep + 1;
  }
  auto set = analyse(rrset);
  if (rrset.size() > limits::kDaneMaxTlsaRecords) {
    check(!set.has_value() && set.error().code == Errc::limit);
    return 0;
  }
  check(set.has_value());
  check(set->usable.size() + set->unusable.size() == rrset.size());
  check(set->rollover_ready == (set->usable.size() >= 2));
  check(set->all_unusable() == (set->usable.empty() && !rrset.empty()));
  for (const auto& u : set->unusable) check(!classify(u.record).usable && !u.reason.empty());
  for (const auto& r : set->usable) check(classify(r).usable);
  return 0;
}
