// Fuzz target: the _mta-sts TXT record (policy/mtasts/record.hpp).
// Invariants checked: a parsed record began with v=STSv1, is within the size
// limit and has an id of 1..32 letters or digits; select_sts_record() on the
// input split at LF agrees with is_sts_record() and parse_sts_record().
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/limits.hpp"
#include "core/strings.hpp"
#include "policy/mtasts/record.hpp"

using namespace mxsec::policy::mtasts;

namespace {
bool alnum(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  auto rec = parse_sts_record(in);
  if (rec) {
    if (!is_sts_record(in)) __builtin_trap();
    if (in.size() > mxsec::limits::kStsRecordBytes) __builtin_trap();
    if (rec->id.empty() || rec->id.size() > 32) __builtin_trap();
    for (char c : rec->id)
      if (!alnum(c)) __builtin_trap();
  }
  // The input as an RRset, one TXT string per line.
  std::vector<std::string> rrset;
  for (auto line : mxsec::split(in, '\n')) rrset.emplace_back(line);
  std::size_t count = 0;
  const std::string* one = nullptr;
  for (const auto& t : rrset)
    if (is_sts_record(t)) ++count, one = &t;
  auto sel = select_sts_record(rrset);
  if (count == 0 && (!sel || sel->has_value())) __builtin_trap();
  if (count > 1 && sel) __builtin_trap();
  if (count == 1) {
    auto direct = parse_sts_record(*one);
    if (static_cast<bool>(direct) != static_cast<bool>(sel)) __builtin_trap();
    if (direct && (!sel->has_value() || !(**sel == *direct))) __builtin_trap();
  }
  return 0;
}
