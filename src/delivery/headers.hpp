// delivery/headers.hpp: what mxsec changes in a message's header on its way
// out of the queue.
//
// Contract
// - forged_auth_results() finds, in the header section of `text` (up to the
//   first empty line), every Authentication-Results field whose authserv-id
//   equals ours (case-insensitive). RFC 8601 §5: "an MTA that is at the
//   boundary of an ADMD MUST ... remove or rename ... any instance of this
//   header field ... that claims to be from within the ADMD". Those fields
//   are returned as byte ranges so the writer can skip them without
//   copying the message; a field that does not parse is judged by its first
//   token, so a malformed forgery is removed too.
// - tls_required_no() tells whether the header section holds a
//   "TLS-Required: No" field (RFC 8689 §5: the sender asks that the
//   recipient domain's TLS policy, DANE or MTA-STS, not stop delivery; the
//   name and "No" are case-insensitive, folding and white space around the
//   value ignored). The queue runner asks before relaying.
// - OutputPlan::slices() lists what to write, in order: our prepended
//   fields, then the message text without the removed ranges.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

namespace mxsec::delivery {

struct ByteRange {
  std::size_t begin = 0;
  std::size_t end = 0;  // one past the last octet
};

std::vector<ByteRange> forged_auth_results(std::string_view text, std::string_view authserv_id);

bool tls_required_no(std::string_view text);

// prepend, then text minus `removed` (sorted, disjoint ranges of text).
std::vector<std::string_view> output_slices(std::string_view prepend, std::string_view text,
                                            const std::vector<ByteRange>& removed);

}  // namespace mxsec::delivery
