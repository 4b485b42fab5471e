// Fuzz target: the _smtp._tls TXT record and rua classification
// (policy/tlsrpt/record.hpp).
// Invariants checked: a parsed record began with v=TLSRPTv1, is within the
// limits and has 1..kTlsRptMaxRua non-empty URIs without surrounding WSP;
// classify_rua() gives a target exactly for mailto/https and a reason
// otherwise; select_record() on the input split at LF agrees with
// is_tlsrpt_record() and parse_record().
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/limits.hpp"
#include "core/strings.hpp"
#include "policy/tlsrpt/record.hpp"

using namespace mxsec::policy::tlsrpt;

namespace {
void check_classification(std::string_view uri) {
  const RuaCheck c = classify_rua(uri);
  switch (c.kind) {
    case RuaKind::mailto:
      if (c.target.find('@') == std::string::npos || !c.reason.empty()) __builtin_trap();
      break;
    case RuaKind::https:
      if (c.target != uri || !c.reason.empty()) __builtin_trap();
      break;
    case RuaKind::unsupported_scheme:
    case RuaKind::malformed:
      if (!c.target.empty() || c.reason.empty()) __builtin_trap();
      break;
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  auto rec = parse_record(in);
  if (rec) {
    if (!is_tlsrpt_record(in)) __builtin_trap();
    if (in.size() > mxsec::limits::kTlsRptRecordBytes) __builtin_trap();
    if (rec->rua.empty() || rec->rua.size() > static_cast<std::size_t>(mxsec::limits::kTlsRptMaxRua)) __builtin_trap();
    for (const auto& u : rec->rua) {
      if (u.empty() || u.front() == ' ' || u.back() == ' ' || u.find(',') != std::string::npos ||
          u.find(';') != std::string::npos)
        __builtin_trap();
    }
    if (check_rua(*rec).size() != rec->rua.size()) __builtin_trap();
  }
  check_classification(in);

  std::vector<std::string> rrset;
  for (auto line : mxsec::split(in, '\n')) rrset.emplace_back(line);
  std::size_t count = 0;
  const std::string* one = nullptr;
  for (const auto& t : rrset)
    if (is_tlsrpt_record(t)) ++count, one = &t;
  auto sel = select_record(rrset);
  if (count == 0 && (!sel || sel->has_value())) __builtin_trap();
  if (count > 1 && sel) __builtin_trap();
  if (count == 1) {
    auto direct = parse_record(*one);
    if (static_cast<bool>(direct) != static_cast<bool>(sel)) __builtin_trap();
    if (direct && (!sel->has_value() || !(**sel == *direct))) __builtin_trap();
  }
  return 0;
}
