// Shared by the relay tests (outbound_test, session_cache_test,
// runner_test): the scripted SMTP server's script (lmtp_server.hpp playing
// an SMTP MX host without STARTTLS), and what a relay attempt needs besides
// its policy engine: a FakeResolver (answers insecure unless a zone says
// otherwise), a client TLS context, and a message from origin.test to
// recipients at dest.test.
#pragma once

#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "dns/fake_resolver.hpp"
#include "queue/spool.hpp"
#include "tls/context.hpp"
#include "unit/delivery/lmtp_server.hpp"

namespace mxsec::test {

// A pending recipient at `address`, its domain taken after the last "@".
inline queue::Recipient recipient_at(const std::string& address) {
  queue::Recipient r;
  r.address = address;
  r.domain_ascii = address.substr(address.rfind('@') + 1);
  return r;
}

inline LmtpScript smtp_script() {
  LmtpScript s;
  s.greeting = "220 mx.test ESMTP\r\n";
  s.hello = "EHLO";
  s.lhlo = "250-mx.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 ENHANCEDSTATUSCODES\r\n";
  s.one_reply_after_dot = true;
  return s;
}

struct RelayBed {
  explicit RelayBed(const std::vector<std::string>& recipients) {
    dns.set_default_security(dns::Security::insecure);
    auto ctx = tls::make_client_context({});
    if (ctx) tls_ctx = std::move(*ctx);
    envelope.id = "0HOQTESTQUEUEID0";
    envelope.reverse_path = "sender@origin.test";
    for (const auto& a : recipients) envelope.recipients.push_back(recipient_at(a));
  }

  dns::FakeResolver dns;
  tls::SslCtxPtr tls_ctx;
  std::mt19937_64 random{20261203};
  queue::Envelope envelope;
  std::vector<std::string_view> slices{"Subject: hello\r\n\r\nbody\r\n"};
};

}  // namespace mxsec::test
