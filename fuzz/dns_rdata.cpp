// Fuzz target for the DNS rdata decoders (dns/rdata.hpp), the presentation
// formatter (dns/presentation.hpp) and the typed answer helpers
// (dns/resolver.hpp). Input: byte 0 picks the record type, the rest is one
// rdata; the same bytes are also split into several rdatas for the helpers.
//
// Besides "no crash, no UB", it checks properties that make the decoders
// trustworthy, and traps if one fails:
// - whatever decodes re-encodes, and the re-encoded form decodes to the
//   same value (names may change case: decoding lower-cases);
// - TXT, A, AAAA and TLSA re-encode to exactly the input bytes;
// - the typed helpers either return every record or none (status error).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common.hpp"
#include "dns/presentation.hpp"
#include "dns/rdata.hpp"
#include "dns/resolver.hpp"

using namespace mxsec;
using namespace mxsec::dns;

namespace {

using mxsec::fuzz::check;

void names(std::string_view rd) {
  std::size_t off = 0;
  auto n = decode_name(rd, off);
  if (!n) return;
  check(off <= rd.size());
  auto wire = encode_name(*n);
  check(wire.has_value());
  std::size_t off2 = 0;
  auto again = decode_name(*wire, off2);
  check(again.has_value() && *again == *n && off2 == wire->size());
}

void typed(std::string_view rd) {
  if (auto mx = decode_mx(rd)) {
    auto wire = encode_mx(*mx);
    check(wire.has_value());
    auto again = decode_mx(*wire);
    check(again.has_value() && *again == *mx);
  }
  if (auto txt = decode_txt(rd)) {
    auto wire = encode_txt(*txt);
    check(wire.has_value() && *wire == rd);
  }
  if (auto a = decode_a(rd)) check(encode_address(*a) == rd);
  if (auto a = decode_aaaa(rd)) check(encode_address(*a) == rd);
  if (auto t = decode_tlsa(rd)) check(encode_tlsa(*t) == rd);
  if (auto n = decode_name_rdata(rd)) {
    auto wire = encode_name(*n);
    check(wire.has_value());
    auto again = decode_name_rdata(*wire);
    check(again.has_value() && *again == *n);
  }
}

template <class A>
void all_or_nothing(const A& a, std::size_t n) {
  if (a.status == Status::error) check(a.records.empty());
  else check(a.records.size() == n);
}

void answers(std::string_view data) {
  // Split at 0xff bytes into up to 300 rdatas (past the per-answer limit).
  RawAnswer raw;
  raw.qname = "fuzz.test";
  raw.status = Status::ok;
  raw.security = Security::secure;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= data.size() && raw.rdata.size() < 300; ++i) {
    if (i == data.size() || static_cast<unsigned char>(data[i]) == 0xff) {
      raw.rdata.emplace_back(data.substr(start, i - start));
      start = i + 1;
    }
  }
  const std::size_t n = raw.rdata.size();
  all_or_nothing(to_mx_answer(raw), n);
  all_or_nothing(to_txt_answer(raw), n);
  all_or_nothing(to_tlsa_answer(raw), n);
  all_or_nothing(to_name_answer(raw), n);
  raw.qtype = RrType::aaaa;
  all_or_nothing(to_address_answer(raw), n);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view all(reinterpret_cast<const char*>(data), size);
  const std::string_view rd = all.substr(1);
  static constexpr RrType kTypes[] = {RrType::a,   RrType::ns,   RrType::cname, RrType::soa,    RrType::ptr,
                                      RrType::mx,  RrType::txt,  RrType::aaaa,  RrType::ds,     RrType::dnskey,
                                      RrType::tlsa, static_cast<RrType>(99)};
  const RrType type = kTypes[data[0] % (sizeof kTypes / sizeof kTypes[0])];
  if (auto text = rdata_to_text(type, rd)) check(!text->empty());
  names(rd);
  typed(rd);
  if (data[0] >= 0xf0) answers(rd);
  return 0;
}
