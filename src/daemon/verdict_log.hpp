// daemon/verdict_log.hpp: one JSON line per verified inbound message, the
// raw material of DMARC aggregate reports (RFC 9989 §5 / RFC 7489 §7.2).
//
// Contract: record() appends one line to the file (O_APPEND, one write per
// line, so lines of concurrent sessions never interleave) with the time,
// the source IP, the RFC5322.From domain, the DMARC result, the applied
// policy and the disposition ("accept", "quarantine", "reject"), and the
// SPF and DKIM results with their domains. Write failures are logged, never
// fatal: a report row is not worth refusing mail for.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "auth/verify/verify.hpp"
#include "core/result.hpp"
#include "core/unique_fd.hpp"
#include "smtp/server/session.hpp"

namespace mxsec::daemon {

class VerdictLog {
 public:
  static Result<std::unique_ptr<VerdictLog>> open(const std::string& path);
  void record(const auth::MessageVerdict& v, const smtp::server::ClientInfo& client, std::string_view disposition,
              std::int64_t now);

 private:
  VerdictLog(UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}
  UniqueFd fd_;
  std::string path_;
};

// The line record() writes (exposed for tests).
std::string verdict_line(const auth::MessageVerdict& v, const smtp::server::ClientInfo& client,
                         std::string_view disposition, std::int64_t now);

}  // namespace mxsec::daemon
