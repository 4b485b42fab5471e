#include "daemon/inbound.hpp"

namespace mxsec::daemon {

static_assert(static_cast<std::size_t>(auth::spf::Verdict::permerror) + 1 == kSpfVerdicts);
static_assert(static_cast<std::size_t>(auth::dkim::Verdict::permerror) + 1 == kDkimVerdicts);
static_assert(static_cast<std::size_t>(auth::dmarc::Verdict::permerror) + 1 == kDmarcVerdicts);

RuntimeVerifier::RuntimeVerifier(runtime::Runtime& runtime, std::string receiver, AuthCounters* counters)
    : runtime_(runtime), receiver_(std::move(receiver)), counters_(counters) {}

asio::awaitable<auth::spf::SpfResult> RuntimeVerifier::check_sender(IpAddress ip, std::string helo,
                                                                    std::string mail_from) {
  auto result = co_await auth::spf::check_sender(runtime_.resolver(), ip, std::move(helo), std::move(mail_from),
                                                 receiver_, config_.spf);
  if (counters_) counters_->spf[result.verdict].inc();
  co_return result;
}

asio::awaitable<auth::spf::SpfResult> RuntimeVerifier::check_helo(IpAddress ip, std::string helo) {
  auto result = co_await auth::spf::check_helo(runtime_.resolver(), ip, std::move(helo), receiver_, config_.spf);
  if (counters_) counters_->spf_helo[result.verdict].inc();
  co_return result;
}

asio::awaitable<Result<auth::MessageVerdict>> RuntimeVerifier::check_message(std::string_view text,
                                                                             auth::VerifyInput input,
                                                                             auth::spf::SpfResult spf) {
  input.spf = std::move(spf);
  auto verdict = co_await auth::verify_message(runtime_.resolver(), runtime_.clock(), dkim_, text, std::move(input),
                                               config_);
  if (verdict && counters_) {
    counters_->dkim[verdict->dkim.summary()].inc();
    counters_->dmarc[verdict->dmarc.result].inc();
  }
  co_return verdict;
}

}  // namespace mxsec::daemon
