// auth/dmarc/record.hpp: the DMARC Policy Record (RFC 9989 §4.7, §4.8).
//
// Contract
// - is_dmarc_record() is the discovery filter of RFC 9989 §4.10 step 2:
//   "Records that do not start with a "v" tag that identifies the current
//   version of DMARC are discarded." It only looks at the first tag-spec:
//   "v" *WSP "=" *WSP "DMARC1", matched exactly (§4.8 %s"DMARC1").
// - Case: every other tag name and literal value is case-insensitive (RFC
//   5234 §2.3, RFC 9989 §4.8): "P=REJECT", "adkim=S", "psd=Y", "t=Y",
//   "fo=D" mean what their lower-case forms mean. A case variant is never a
//   syntax error, so it can neither weaken the policy nor discard the record.
// - parse_record() fails (Result error) only when the text is not a DMARC
//   record at all (Errc::parse: the first tag is not v=DMARC1) or is over a
//   limit (Errc::limit: kDmarcRecordBytes, too many tags). Every other defect
//   is tolerated as RFC 9989 §4.7 demands: "Unknown tags MUST be ignored.
//   Syntax errors in the remainder of the record MUST be discarded in favor
//   of default values (if any) or ignored outright." Each tolerated defect is
//   listed in `warnings` with the tag name and the escaped value.
// - Tags are lexed one tag-spec at a time with codec::parse_tag_list, so a
//   broken spec is dropped alone. A repeated tag (in any case: "P=" repeats
//   "p=") keeps its first value (the repeat is a syntax error and is
//   discarded with a warning). Names in warnings and `deprecated_tags` are
//   lower-cased.
// - Policy usability (RFC 9989 §4.10.1): "If a retrieved DMARC Policy Record
//   does not contain a valid "p" tag, or contains an "sp" or "np" tag that is
//   not valid, then: If a "rua" tag is present and contains at least one
//   syntactically valid reporting URI, the Mail Receiver MUST act as if a
//   record containing "p=none" was retrieved and continue processing;
//   Otherwise, the Mail Receiver applies no DMARC processing to this
//   message." -> `usability`. (§4.7 also says a missing p means p=none; the
//   procedural §4.10.1 text, identical to RFC 7489 §6.6.3, is what we follow:
//   a record without p and without a valid rua is not applied.)
// - Deprecated RFC 7489 tags pct, rf, ri are accepted and listed in
//   `deprecated_tags`. pct maps to t when t is absent (RFC 9989 Appendix A, "Removal
//   of the pct Tag": t=y/t=n "are meant to be analogous ... to the pct tag
//   values 0 and 100"): pct=0 -> testing; pct=1..100 -> not testing (applying
//   the policy is the fail-closed reading of a partial rollout).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/dmarc/report_uri.hpp"
#include "core/limits.hpp"
#include "core/result.hpp"

namespace mxsec::auth::dmarc {

enum class Policy { none, quarantine, reject };
enum class AlignmentMode { relaxed, strict };
enum class PsdFlag { unspecified, yes, no };  // psd=u (default), psd=y, psd=n

const char* to_string(Policy p);
const char* to_string(AlignmentMode m);
const char* to_string(PsdFlag f);
std::optional<Policy> parse_policy(std::string_view s);

// fo= (RFC 9989 §4.7): "0", "1", "d", "s", colon-separated.
struct FailureOptions {
  bool all_fail = true;   // 0 (default)
  bool any_fail = false;  // 1
  bool dkim = false;      // d
  bool spf = false;       // s
  friend bool operator==(const FailureOptions&, const FailureOptions&) = default;
};

enum class Usability {
  usable,            // p valid, sp/np valid or absent
  treated_as_none,   // p missing/invalid or sp/np invalid, but a valid rua: act as p=none
  unusable,          // p missing/invalid or sp/np invalid, and no valid rua: no DMARC processing
};
const char* to_string(Usability u);

struct Record {
  std::optional<Policy> p, sp, np;   // as published, only when valid
  PsdFlag psd = PsdFlag::unspecified;
  AlignmentMode adkim = AlignmentMode::relaxed;
  AlignmentMode aspf = AlignmentMode::relaxed;
  std::vector<ReportUri> rua, ruf;
  FailureOptions fo;
  bool testing = false;               // t=y, or pct=0 when t is absent
  bool testing_from_pct = false;      // `testing` was derived from pct
  std::optional<int> pct;             // RFC 7489 only
  std::vector<std::string> deprecated_tags;  // "pct", "rf", "ri" as seen
  std::vector<std::string> warnings;         // tolerated syntax errors
  Usability usability = Usability::usable;

  // p/sp/np after applying `usability` (treated_as_none makes all three none).
  Policy effective_p() const;
  Policy effective_sp() const;   // sp, else p
  Policy effective_np() const;   // np, else sp, else p
  bool has_valid_rua() const;
};

struct RecordLimits {
  std::size_t max_bytes = limits::kDmarcRecordBytes;
  std::size_t max_tags = 64;
  int max_report_uris = limits::kDmarcReportUris;
};

bool is_dmarc_record(std::string_view txt);
Result<Record> parse_record(std::string_view txt, const RecordLimits& limits = {});

}  // namespace mxsec::auth::dmarc
