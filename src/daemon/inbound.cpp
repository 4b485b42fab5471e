#include "daemon/inbound.hpp"

namespace mxsec::daemon {

RuntimeVerifier::RuntimeVerifier(runtime::Runtime& runtime, std::string receiver)
    : runtime_(runtime), receiver_(std::move(receiver)) {}

asio::awaitable<auth::spf::SpfResult> RuntimeVerifier::check_sender(IpAddress ip, std::string helo,
                                                                    std::string mail_from) {
  co_return co_await auth::spf::check_sender(runtime_.resolver(), ip, std::move(helo), std::move(mail_from), receiver_,
                                             config_.spf);
}

asio::awaitable<auth::spf::SpfResult> RuntimeVerifier::check_helo(IpAddress ip, std::string helo) {
  co_return co_await auth::spf::check_helo(runtime_.resolver(), ip, std::move(helo), receiver_, config_.spf);
}

asio::awaitable<Result<auth::MessageVerdict>> RuntimeVerifier::check_message(std::string_view text,
                                                                             auth::VerifyInput input,
                                                                             auth::spf::SpfResult spf) {
  input.spf = std::move(spf);
  co_return co_await auth::verify_message(runtime_.resolver(), runtime_.clock(), dkim_, text, std::move(input),
                                          config_);
}

}  // namespace mxsec::daemon
