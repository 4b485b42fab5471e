// auth/verify/verify.hpp: SPF, DKIM and DMARC on one message, and the
// Authentication-Results header that reports them (RFC 8601).
//
// Contract
// - verify_message() runs, in order: SPF on the SMTP identities (RFC 7208
//   §2.3/§2.4: MAIL FROM, or postmaster@HELO for the null path), DKIM on every
//   signature (up to the DKIM limit), and DMARC (RFC 9989) on the
//   RFC5322.From domain with the SPF and DKIM results as its inputs.
// - It fails (Result error) only when the message cannot be read at all: over
//   the size limits or a header that does not split (codec::parse_message).
//   Everything else is a verdict inside MessageVerdict.
// - RFC5322.From: RFC 9989 §4.4 needs exactly one author domain. A missing
//   From field, several From fields, an unparsable one, or mailboxes with
//   different domains give DMARC permerror with the reason; the message is
//   never treated as passing.
// - The resolver and clock are referenced until the awaitable completes.
#pragma once

#include <asio/awaitable.hpp>
#include <optional>
#include <string>

#include "auth/ar/auth_results.hpp"
#include "auth/dkim/verify.hpp"
#include "auth/dmarc/evaluate.hpp"
#include "auth/spf/check_host.hpp"
#include "core/clock.hpp"
#include "core/ip_address.hpp"
#include "core/result.hpp"
#include "dns/resolver.hpp"

namespace mxsec::auth {

struct VerifyInput {
  IpAddress ip;            // SMTP client address
  std::string helo;        // EHLO/HELO name
  std::string mail_from;   // RFC5321.MailFrom, "" or "<>" for the null path
  std::string receiver;    // our host name, for SPF %{r}
  std::string authserv_id; // RFC 8601 authserv-id (our host name)
  // SPF already evaluated at MAIL FROM (a server does it there, RFC 7208
  // §2.4); when set, verify_message() reports it instead of asking again.
  std::optional<spf::SpfResult> spf;
  // The HELO identity checked on its own (RFC 7208 §2.3 recommends it);
  // reported as a second spf result with smtp.helo.
  std::optional<spf::SpfResult> helo_spf;
};

struct VerifyConfig {
  spf::Config spf;
  dmarc::Config dmarc;
  codec::MessageLimits message;
};

struct MessageVerdict {
  spf::SpfResult spf;
  std::optional<spf::SpfResult> helo_spf;
  dkim::VerifyResult dkim;
  std::string from_domain;        // RFC5322.From domain ("" when unusable)
  std::string from_error;         // why the From field is unusable
  dmarc::Evaluation dmarc;        // result is permerror when from_error is set
  ar::AuthResults auth_results;
  std::string auth_results_header;  // folded "Authentication-Results: ...\r\n"
};

// `message` is the whole message in CRLF form. `verifier` keeps its key cache
// across messages.
asio::awaitable<Result<MessageVerdict>> verify_message(dns::Resolver& resolver, const Clock& clock,
                                                       dkim::Verifier& verifier, std::string_view message,
                                                       VerifyInput input, const VerifyConfig& config);

// Finds the single RFC5322.From author domain (exposed for tests).
Result<std::string> author_domain(const codec::Message& message);

}  // namespace mxsec::auth
