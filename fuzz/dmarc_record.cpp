// Fuzz target: DMARC Policy Record parser and rua/ruf URI lists
// (auth/dmarc/record.hpp, auth/dmarc/report_uri.hpp).
// Invariants checked: a parsed record is bounded by the limits; usability is
// consistent with p/sp/np validity; URI lists never exceed the limit.
#include <cstdint>
#include <string_view>

#include "auth/dmarc/record.hpp"
#include "auth/dmarc/report_uri.hpp"

using namespace mxsec::auth::dmarc;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  auto rec = parse_record(in);
  if (rec) {
    if (!is_dmarc_record(in)) __builtin_trap();
    if (in.size() > mxsec::limits::kDmarcRecordBytes) __builtin_trap();
    if (rec->usability == Usability::usable && !rec->p) __builtin_trap();
    if (rec->usability == Usability::treated_as_none && !rec->has_valid_rua()) __builtin_trap();
    if (rec->usability != Usability::usable &&
        (rec->effective_p() != Policy::none || rec->effective_np() != Policy::none))
      __builtin_trap();
    int actionable = 0;
    for (const auto& u : rec->rua) actionable += u.actionable;
    if (actionable > mxsec::limits::kDmarcReportUris) __builtin_trap();
  }
  // The same bytes as a bare rua value.
  int actionable = 0;
  for (const auto& u : parse_uri_list(in, 4)) {
    if (u.actionable && (u.host.empty() || u.address.empty() || !u.valid)) __builtin_trap();
    actionable += u.actionable;
  }
  if (actionable > 4) __builtin_trap();
  return 0;
}
