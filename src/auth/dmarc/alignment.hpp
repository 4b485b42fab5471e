// auth/dmarc/alignment.hpp: Identifier Alignment (RFC 9989 §3.2.x, §4.4,
// §4.10.2).
//
// Contract
// - Strict: "When the Author Domain is identical to an Authenticated
//   Identifier, the two are said to be in strict alignment." Comparison is
//   case-insensitive (RFC 4343) and ignores a trailing dot. No DNS.
// - Relaxed: "the Organizational Domains of both ... are equal", where each
//   Organizational Domain comes from the configured mode: the DNS Tree Walk
//   (RFC 9989 §4.10.2, one walk per identifier, shared through the
//   DmarcLookup cache) or the public suffix list (RFC 7489 §3.2).
//   Shortcuts that need no DNS: identical names are aligned; names with no
//   common label suffix cannot have a common Organizational Domain; an
//   identifier that is not the author's Organizational Domain or below it
//   is not aligned without a walk of its own (an Organizational Domain is
//   always the name or a parent of it).
// - Outcome temperror: a walk needed for the answer did not complete (DNS
//   failure, bogus answer, query quota). permerror: a record on a walk was
//   over a limit. The caller decides what an unknown alignment means; it
//   must never become "aligned".
#pragma once

#include <asio/awaitable.hpp>
#include <string>
#include <string_view>

#include "auth/dmarc/org_domain.hpp"
#include "auth/dmarc/record.hpp"

namespace mxsec::auth::dmarc {

enum class AlignmentOutcome { aligned, not_aligned, temperror, permerror };
const char* to_string(AlignmentOutcome o);

bool strictly_aligned(std::string_view author_domain, std::string_view identifier);

// True when the two names share at least their last label (a prerequisite
// for a common Organizational Domain in either mode).
bool share_suffix(std::string_view a, std::string_view b);

struct AlignmentCheck {
  AlignmentOutcome outcome = AlignmentOutcome::not_aligned;
  std::string author_org_domain;      // "" when not needed / not determined
  std::string identifier_org_domain;  // "" when not needed / not determined
  std::string detail;                 // error text for temperror/permerror
};

asio::awaitable<AlignmentCheck> check_alignment(OrgDomainFinder& finder, AlignmentMode mode,
                                                std::string author_domain, std::string identifier);

}  // namespace mxsec::auth::dmarc
