// daemon/inbound.hpp: SPF, DKIM and DMARC for the SMTP server, on one
// worker's runtime (validating resolver, clock).
//
// Contract: the verifier belongs to one worker event loop (the resolver is
// not shared between threads) and keeps a DKIM key cache across messages.
#pragma once

#include "auth/dkim/verify.hpp"
#include "auth/verify/verify.hpp"
#include "runtime/runtime.hpp"
#include "smtp/server/session.hpp"

namespace mxsec::daemon {

class RuntimeVerifier final : public smtp::server::InboundVerifier {
 public:
  RuntimeVerifier(runtime::Runtime& runtime, std::string receiver);
  asio::awaitable<auth::spf::SpfResult> check_sender(IpAddress ip, std::string helo, std::string mail_from) override;
  asio::awaitable<auth::spf::SpfResult> check_helo(IpAddress ip, std::string helo) override;
  asio::awaitable<Result<auth::MessageVerdict>> check_message(std::string_view text, auth::VerifyInput input,
                                                             auth::spf::SpfResult spf) override;

 private:
  runtime::Runtime& runtime_;
  std::string receiver_;
  auth::dkim::Verifier dkim_;
  auth::VerifyConfig config_;
};

}  // namespace mxsec::daemon
