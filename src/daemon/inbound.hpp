// daemon/inbound.hpp: SPF, DKIM and DMARC for the SMTP server, on one
// worker's runtime (validating resolver, clock).
//
// Contract: the verifier belongs to one worker event loop (the resolver is
// not shared between threads) and keeps a DKIM key cache across messages.
// With AuthCounters (shared by the workers, atomic), each evaluation is
// counted once by its result: check_sender() as spf, check_helo() as
// spf_helo, check_message() as one dkim result (VerifyResult::summary():
// none when unsigned, pass when any signature passed, else the first
// signature's) and one dmarc result. A message that cannot be verified at
// all (check_message() fails) is counted in neither.
#pragma once

#include "auth/dkim/verify.hpp"
#include "auth/verify/verify.hpp"
#include "metrics/registry.hpp"
#include "runtime/runtime.hpp"
#include "smtp/server/session.hpp"

namespace mxsec::daemon {

inline constexpr std::size_t kSpfVerdicts = 7;    // auth::spf::Verdict
inline constexpr std::size_t kDkimVerdicts = 6;   // auth::dkim::Verdict
inline constexpr std::size_t kDmarcVerdicts = 5;  // auth::dmarc::Verdict

// mxsec_auth_results_total{method, result}
struct AuthCounters {
  metrics::Labeled<auth::spf::Verdict, kSpfVerdicts> spf;
  metrics::Labeled<auth::spf::Verdict, kSpfVerdicts> spf_helo;
  metrics::Labeled<auth::dkim::Verdict, kDkimVerdicts> dkim;
  metrics::Labeled<auth::dmarc::Verdict, kDmarcVerdicts> dmarc;
};

class RuntimeVerifier final : public smtp::server::InboundVerifier {
 public:
  // `counters` (may be null) must outlive the verifier.
  RuntimeVerifier(runtime::Runtime& runtime, std::string receiver, AuthCounters* counters = nullptr);
  asio::awaitable<auth::spf::SpfResult> check_sender(IpAddress ip, std::string helo, std::string mail_from) override;
  asio::awaitable<auth::spf::SpfResult> check_helo(IpAddress ip, std::string helo) override;
  asio::awaitable<Result<auth::MessageVerdict>> check_message(std::string_view text, auth::VerifyInput input,
                                                             auth::spf::SpfResult spf) override;

 private:
  runtime::Runtime& runtime_;
  std::string receiver_;
  AuthCounters* counters_;
  auth::dkim::Verifier dkim_;
  auth::VerifyConfig config_;
};

}  // namespace mxsec::daemon
