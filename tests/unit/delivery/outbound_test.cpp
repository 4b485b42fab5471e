// Tests for delivery/outbound.hpp relay_to_domain(): the domain-level
// outcomes (null MX, NXDOMAIN, a failed MX lookup), the walk over MX hosts
// (a host that refuses moves on, a deferred host is never contacted, equal
// preferences are shuffled), and per-recipient verdicts, over a FakeResolver
// and scripted SMTP servers on loopback addresses of one port.
#include "delivery/outbound.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <asio/io_context.hpp>
#include <set>

#include "dns/fake_resolver.hpp"
#include "dns/run_sync.hpp"
#include "lmtp_server.hpp"
#include "relay_bed.hpp"
#include "unit/tls/test_pki.hpp"
#include "tls/context.hpp"

namespace mxsec::delivery {
namespace {

using smtp::RecipientStatus;

using test::smtp_script;

class Outbound : public ::testing::Test, protected test::RelayBed {
 protected:
  Outbound() : RelayBed({"alice@dest.test", "bob@dest.test"}) {}
  void zone(std::string_view text) { ASSERT_TRUE(dns.load_zone_text(text)) << text; }

  // One attempt for dest.test to servers on `port`.
  std::vector<RelayOutcome> relay(std::uint16_t port) {
    policy::PolicyEngine engine(dns, nullptr, nullptr);
    OutboundOptions options;
    options.ehlo_name = "relay.test";
    options.port = port;
    options.timeouts.connect = std::chrono::seconds(2);
    const RelayContext context{engine, tls_ctx.get(), options, random};
    std::vector<const queue::Recipient*> rcpts;
    for (const auto& r : envelope.recipients) rcpts.push_back(&r);
    return run_sync(io, relay_to_domain(context, envelope, "dest.test", rcpts, slices, false));
  }

  asio::io_context io;
};

TEST_F(Outbound, NullMxBouncesAtOnce) {
  zone("dest.test MX 0 .\n");
  const auto out = relay(25);
  ASSERT_EQ(out.size(), 2u);
  for (const auto& o : out) {
    EXPECT_EQ(o.status, RecipientStatus::failed);
    EXPECT_NE(o.text.find("5.1.10"), std::string::npos) << o.text;
    EXPECT_EQ(o.relay, "none");
  }
  EXPECT_EQ(dns.query_count("dest.test", dns::RrType::a), 0u);  // nothing looked up past the null MX
}

TEST_F(Outbound, AMissingDomainBounces) {
  zone("other.test A 127.0.0.1\n");
  const auto out = relay(25);
  for (const auto& o : out) {
    EXPECT_EQ(o.status, RecipientStatus::failed);
    EXPECT_NE(o.text.find("5.1.2"), std::string::npos) << o.text;
  }
}

TEST_F(Outbound, AFailedMxLookupDefersWithoutConnecting) {
  test::LmtpTestServer server(smtp_script(), "127.0.0.2");
  zone("dest.test MX !servfail\nmx.dest.test A 127.0.0.2\n");
  const auto out = relay(server.port());
  for (const auto& o : out) {
    EXPECT_EQ(o.status, RecipientStatus::deferred);
    EXPECT_EQ(o.relay, "none");
  }
  server.stop();
  EXPECT_EQ(server.log().connections, 0);
}

TEST_F(Outbound, AHostThatRefusesMovesOnToTheNextMx) {
  test::LmtpTestServer server(smtp_script(), "127.0.0.2");
  // 127.0.0.3 listens on nothing: connection refused.
  zone("dest.test MX 10 first.dest.test\ndest.test MX 20 second.dest.test\n"
       "first.dest.test A 127.0.0.3\nsecond.dest.test A 127.0.0.2\n");
  const auto out = relay(server.port());
  for (const auto& o : out) {
    EXPECT_EQ(o.status, RecipientStatus::delivered) << o.text;
    EXPECT_EQ(o.relay, "second.dest.test[127.0.0.2]:" + std::to_string(server.port()));
    EXPECT_EQ(o.tls, "none");  // no STARTTLS offered, opportunistic: clear text
    EXPECT_EQ(o.policy, "opportunistic");
  }
  server.stop();
  EXPECT_EQ(server.log().transactions, 1);
}

TEST_F(Outbound, ADeferredHostIsNeverContacted) {
  test::LmtpTestServer bad(smtp_script(), "127.0.0.4");
  test::LmtpTestServer good(smtp_script(), "127.0.0.2", bad.port());
  zone("dest.test MX 10 bad.dest.test\ndest.test MX 20 good.dest.test\n"
       "bad.dest.test A !bogus\ngood.dest.test A 127.0.0.2\n");
  const auto out = relay(good.port());
  for (const auto& o : out) EXPECT_EQ(o.status, RecipientStatus::delivered) << o.text;
  bad.stop();
  good.stop();
  EXPECT_EQ(bad.log().connections, 0);
  EXPECT_EQ(good.log().transactions, 1);
}

TEST_F(Outbound, WhenNoHostOpensEveryRecipientDefersWithTheLastReason) {
  zone("dest.test MX 10 mx.dest.test\nmx.dest.test A 127.0.0.3\n");
  const auto out = relay(2);  // nothing listens on port 2 of 127.0.0.3
  for (const auto& o : out) {
    EXPECT_EQ(o.status, RecipientStatus::deferred);
    EXPECT_NE(o.text.find("mx.dest.test[127.0.0.3]:2"), std::string::npos) << o.text;
  }
}

TEST_F(Outbound, RecipientsGetTheirOwnVerdicts) {
  auto script = smtp_script();
  script.rcpt["bob@dest.test"] = "550 5.1.1 no such user\r\n";
  test::LmtpTestServer server(script, "127.0.0.2");
  zone("dest.test MX 10 mx.dest.test\nmx.dest.test A 127.0.0.2\n");
  const auto out = relay(server.port());
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].status, RecipientStatus::delivered) << out[0].text;
  EXPECT_EQ(out[1].status, RecipientStatus::failed);
  EXPECT_NE(out[1].text.find("550 5.1.1"), std::string::npos) << out[1].text;
}

// RFC 5321 §5.1: equal preferences in random order. Over 30 attempts each
// of two hosts carries at least one (a fixed order would give one host all).
TEST_F(Outbound, EqualPreferencesAreShuffled) {
  test::LmtpTestServer one(smtp_script(), "127.0.0.2");
  test::LmtpTestServer two(smtp_script(), "127.0.0.4", one.port());
  zone("dest.test MX 10 one.dest.test\ndest.test MX 10 two.dest.test\n"
       "one.dest.test A 127.0.0.2\ntwo.dest.test A 127.0.0.4\n");
  std::set<std::string> relays;
  for (int i = 0; i < 30; ++i) {
    const auto out = relay(one.port());
    ASSERT_EQ(out[0].status, RecipientStatus::delivered) << out[0].text;
    relays.insert(out[0].relay);
  }
  EXPECT_EQ(relays.size(), 2u);
}

// The relay host's credentials go to the relay host, over TLS, and to no MX
// host; a refused AUTH defers (its reply and our code in the reason).
TEST_F(Outbound, CredentialsOnlyForTheRelayHost) {
  const auto server_cert = test::make_cert({"relay", {"IP:127.0.0.2"}}, nullptr);
  const auto server_tls = test::make_server_context(server_cert);
  auto script = smtp_script();
  script.lhlo = "250-mx.test\r\n250-ENHANCEDSTATUSCODES\r\n250 STARTTLS\r\n";
  script.ehlo_tls = "250-mx.test\r\n250-AUTH PLAIN LOGIN\r\n250 ENHANCEDSTATUSCODES\r\n";
  script.tls = server_tls.get();
  auto credentials = std::make_shared<const smtp::ClientCredentials>(smtp::ClientCredentials{"u", "p"});
  auto attempt = [&](std::uint16_t port, bool via_relay) {
    policy::PolicyEngine engine(dns, nullptr, nullptr);
    OutboundOptions options;
    options.ehlo_name = "relay.test";
    options.port = port;
    if (via_relay) options.relayhost = policy::RelayHost{"127.0.0.2", IpAddress::parse("127.0.0.2"), port, false};
    RelayContext context{engine, tls_ctx.get(), options, random};
    context.relay_credentials = credentials;
    std::vector<const queue::Recipient*> rcpts;
    for (const auto& r : envelope.recipients) rcpts.push_back(&r);
    return run_sync(io, relay_to_domain(context, envelope, "dest.test", rcpts, slices, false));
  };
  auto saw_auth = [](const test::LmtpServerLog& log) {
    return std::any_of(log.commands.begin(), log.commands.end(),
                       [](const std::string& c) { return test::starts_with_ci(c, "AUTH"); });
  };

  script.auth = {"235 2.7.0 OK\r\n"};
  {
    test::LmtpTestServer relay_host(script, "127.0.0.2");
    const auto out = attempt(relay_host.port(), true);
    relay_host.stop();
    EXPECT_EQ(out.at(0).status, RecipientStatus::delivered) << out[0].text;
    // base64("\0u\0p")
    EXPECT_NE(std::find(relay_host.log().commands.begin(), relay_host.log().commands.end(), "AUTH PLAIN AHUAcA=="),
              relay_host.log().commands.end());
  }
  {
    test::LmtpTestServer mx_host(script, "127.0.0.2");
    zone("dest.test MX 10 mx.dest.test\nmx.dest.test A 127.0.0.2\n");
    const auto out = attempt(mx_host.port(), false);
    mx_host.stop();
    EXPECT_EQ(out.at(0).status, RecipientStatus::delivered) << out[0].text;
    EXPECT_FALSE(saw_auth(mx_host.log())) << "credentials sent to an MX host";
  }
  script.auth = {"535 5.7.8 Authentication credentials invalid\r\n"};
  {
    test::LmtpTestServer relay_host(script, "127.0.0.2");
    const auto out = attempt(relay_host.port(), true);
    relay_host.stop();
    for (const auto& o : out) {
      EXPECT_EQ(o.status, RecipientStatus::deferred) << o.text;
      EXPECT_EQ(o.text.rfind("4.7.8 ", 0), 0u) << o.text;
      EXPECT_NE(o.text.find(": auth: relay host refused AUTH PLAIN: 535 5.7.8"), std::string::npos) << o.text;
    }
    EXPECT_EQ(relay_host.log().transactions, 0);
  }
}

}  // namespace
}  // namespace mxsec::delivery
