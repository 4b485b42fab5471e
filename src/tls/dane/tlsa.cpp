#include "tls/dane/tlsa.hpp"

#include <openssl/x509.h>

#include "core/limits.hpp"
#include "dns/presentation.hpp"
#include "dns/rdata.hpp"
#include "tls/handles.hpp"

namespace mxsec::tls::dane {
namespace {

// The whole buffer must be one DER object of the expected kind.
bool whole_der(const std::string& data, std::uint8_t selector) {
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  const unsigned char* const end = p + data.size();
  const long len = static_cast<long>(data.size());
  if (selector == kSelectorCert) {
    X509Ptr cert(d2i_X509(nullptr, &p, len));
    return cert && p == end;
  }
  EvpPkeyPtr key(d2i_PUBKEY(nullptr, &p, len));
  return key && p == end;
}

}  // namespace

Classification classify(const dns::TlsaRecord& r) {
  auto no = [](const char* why) { return Classification{false, why}; };
  if (r.usage == kUsagePkixTa || r.usage == kUsagePkixEe) return no("pkix-usage");
  if (r.usage != kUsageDaneTa && r.usage != kUsageDaneEe) return no("unknown-usage");
  if (r.selector != kSelectorCert && r.selector != kSelectorSpki) return no("unknown-selector");
  switch (r.matching_type) {
    case kMatchSha256:
      if (r.data.size() != 32) return no("bad-digest-length");
      break;
    case kMatchSha512:
      if (r.data.size() != 64) return no("bad-digest-length");
      break;
    case kMatchFull:
      if (r.data.empty()) return no("empty-data");
      if (r.data.size() > limits::kDaneMaxTlsaDataBytes) return no("data-too-long");
      if (!whole_der(r.data, r.selector)) {
        openssl_error_text();  // the failed parse leaves errors on the queue
        return no("malformed-data");
      }
      break;
    default: return no("unknown-matching-type");
  }
  return Classification{true, {}};
}

Result<TlsaSet> analyse(const std::vector<dns::TlsaRecord>& records) {
  if (records.size() > limits::kDaneMaxTlsaRecords)
    return make_error(Errc::limit, "TLSA RRset has " + std::to_string(records.size()) + " records, limit " +
                                       std::to_string(limits::kDaneMaxTlsaRecords));
  TlsaSet set;
  for (const auto& r : records) {
    auto c = classify(r);
    if (c.usable)
      set.usable.push_back(r);
    else
      set.unusable.push_back(UnusableRecord{r, std::move(c.reason)});
  }
  set.rollover_ready = set.usable.size() >= 2;
  return set;
}

Result<TlsaSet> analyse(const dns::TlsaAnswer& answer) { return analyse(answer.records); }

std::string to_text(const dns::TlsaRecord& record) {
  auto text = dns::rdata_to_text(dns::RrType::tlsa, dns::encode_tlsa(record));
  // encode_tlsa always yields at least the three fixed octets, so this holds.
  return text ? *text : std::string("(unprintable TLSA record)");
}

}  // namespace mxsec::tls::dane
