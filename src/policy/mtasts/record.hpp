// policy/mtasts/record.hpp: the _mta-sts TXT record (RFC 8461 §3.1).
//
//   sts-text-record = sts-version 1*(*WSP %x3B *WSP sts-field) [%x3B]
//   sts-version     = %s"v=STSv1"
//   sts-id          = %s"id=" 1*32(ALPHA / DIGIT)
//
// Contract
// - is_sts_record() is the discovery filter: true if the text begins with
//   "v=STSv1" *WSP ";" (the ABNF's sts-sep allows WSP before the ";", so a
//   record the grammar accepts is never discarded).
// - parse_sts_record() parses one joined TXT string. Unknown fields are
//   ignored (§3.1 sts-extension); a missing or malformed id is Errc::parse.
// - select_sts_record() applies §3.1 to the whole RRset: "records that do not
//   begin with "v=STSv1;" are discarded. If the number of resulting records
//   is not one, or if the resulting record is syntactically invalid, senders
//   MUST assume the recipient domain does not have an available MTA-STS
//   Policy." It returns nullopt when no record begins with v=STSv1, and an
//   error when there are several or the one is invalid (the caller reports
//   that and proceeds as if there were no policy).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace mxsec::policy::mtasts {

struct StsRecord {
  std::string id;  // 1-32 alphanumerics
  friend bool operator==(const StsRecord&, const StsRecord&) = default;
};

bool is_sts_record(std::string_view txt);
Result<StsRecord> parse_sts_record(std::string_view txt);
Result<std::optional<StsRecord>> select_sts_record(const std::vector<std::string>& txts);

}  // namespace mxsec::policy::mtasts
