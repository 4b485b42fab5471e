// Tests for delivery/session_cache.hpp and its use by relay_to_domain()
// (delivery/outbound.hpp): the key (every field counts, none can forge
// another), the connection limits (per next-hop and global, waiters served
// in order, a lost lease frees its slot), and, against scripted SMTP
// servers on loopback, reuse on the same key, no reuse across next-hops or
// policies (a session judged under a weaker policy never carries mail that
// needs a stronger one), expiry by idle time, age and message count, a dead
// cached session replaced by a new connection without a failure, one
// TLS-RPT event per session, and the limits under load counted at the
// server. Time is a pinned steady clock: nothing waits on real time.
#include "delivery/session_cache.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <set>

#include "delivery/outbound.hpp"
#include "dns/fake_resolver.hpp"
#include "dns/run_sync.hpp"
#include "lmtp_server.hpp"
#include "relay_bed.hpp"
#include "policy/engine/local_policy.hpp"
#include "tls/context.hpp"
#include "unit/tls/test_pki.hpp"

namespace mxsec::delivery {
namespace {

using smtp::RecipientStatus;
using std::chrono::seconds;
using Time = std::chrono::steady_clock::time_point;

// --- the key ------------------------------------------------------------------------

policy::MxDecision decision(policy::Verdict v) {
  policy::MxDecision mx;
  mx.host = "mx.dest.test";
  mx.verdict = v;
  mx.tlsrpt.policy_domain = "dest.test";
  return mx;
}

SessionKey key_for(std::string nexthop, const policy::MxDecision& mx, bool tls_required_no = false) {
  return SessionKey{std::move(nexthop), mx.host, *IpAddress::parse("127.0.0.2"), 25,
                    policy_fingerprint(mx, tls_required_no), ""};
}

TEST(SessionKey, EveryPolicyFieldChangesTheFingerprint) {
  const policy::MxDecision base = decision(policy::Verdict::dane);
  std::vector<policy::MxDecision> variants;
  auto vary = [&](auto change) {
    policy::MxDecision d = base;
    change(d);
    variants.push_back(d);
  };
  vary([](auto& d) { d.verdict = policy::Verdict::opportunistic; });
  vary([](auto& d) { d.verdict = policy::Verdict::dane_unusable_tls_required; });
  vary([](auto& d) { d.tlsa.usable.push_back({3, 1, 1, std::string(32, 'a')}); });
  vary([](auto& d) { d.reference_names = {"mx.other.test"}; });
  vary([](auto& d) { d.tlsrpt.type = policy::tlsrpt::PolicyType::sts; });
  vary([](auto& d) { d.tlsrpt.policy_string = {"version: STSv1", "mode: enforce"}; });
  vary([](auto& d) { d.tlsrpt.mx_host = "*.dest.test"; });
  vary([](auto& d) { d.sts_mx_match = true; });
  std::set<std::string> seen{policy_fingerprint(base, false), policy_fingerprint(base, true)};
  EXPECT_EQ(seen.size(), 2u);  // "TLS-Required: No" sessions are their own
  for (const auto& v : variants) EXPECT_TRUE(seen.insert(policy_fingerprint(v, false)).second);
  // Other TLSA data of the same length is another policy.
  policy::MxDecision one = base, two = base;
  one.tlsa.usable.push_back({3, 1, 1, std::string(32, 'a')});
  two.tlsa.usable.push_back({3, 1, 1, std::string(32, 'b')});
  EXPECT_NE(policy_fingerprint(one, false), policy_fingerprint(two, false));
}

// Hostile names cannot make two keys one: each field carries its length.
TEST(SessionKey, FieldsCannotRunIntoEachOther) {
  const policy::MxDecision mx = decision(policy::Verdict::opportunistic);
  SessionKey a = key_for("dest.test", mx);
  SessionKey b = a;
  a.nexthop = "ab";
  a.mx_host = "c";
  b.nexthop = "a";
  b.mx_host = "bc";
  EXPECT_NE(a.text(), b.text());
  SessionKey c = a;
  c.nexthop = "1:a";
  c.mx_host = "b";
  SessionKey d = a;
  d.nexthop = "1";
  d.mx_host = "a1:b";
  EXPECT_NE(c.text(), d.text());
  SessionKey e = key_for("dest.test", mx);
  e.port = 587;
  EXPECT_NE(e.text(), key_for("dest.test", mx).text());
  SessionKey f = key_for("dest.test", mx);
  f.address = *IpAddress::parse("127.0.0.3");
  EXPECT_NE(f.text(), key_for("dest.test", mx).text());
}

// A relay-host session is its credentials' own: another user or another
// password (a rotated secret) is another key, and the password itself is
// not in the key.
TEST(SessionKey, CredentialsAreTheirOwnKey) {
  EXPECT_EQ(credentials_fingerprint(nullptr), "");
  const smtp::ClientCredentials alice{"alice", "secret-one"};
  const smtp::ClientCredentials rotated{"alice", "secret-two"};
  const smtp::ClientCredentials bob{"bob", "secret-one"};
  const std::set<std::string> seen{credentials_fingerprint(&alice), credentials_fingerprint(&rotated),
                                   credentials_fingerprint(&bob), ""};
  EXPECT_EQ(seen.size(), 4u);
  EXPECT_EQ(credentials_fingerprint(&alice), credentials_fingerprint(&alice));
  EXPECT_EQ(credentials_fingerprint(&alice).find("secret-one"), std::string::npos);
}

// --- the limits, without sessions ------------------------------------------------------

// Leases taken by coroutines on `io`; `granted[i]` is set when the i-th got one.
struct Takers {
  explicit Takers(SessionCache& c) : cache(c) {}
  SessionCache& cache;
  std::vector<std::optional<Lease>> leases;

  void take(asio::io_context& io, const std::string& nexthop) {
    const std::size_t i = leases.size();
    leases.emplace_back();
    auto run = [](Takers* self, std::size_t at, SessionKey key) -> asio::awaitable<void> {
      auto acquiring = self->cache.acquire(std::move(key));
      Lease lease = co_await std::move(acquiring);
      self->leases[at].emplace(std::move(lease));
    };
    asio::co_spawn(io, run(this, i, key_for(nexthop, decision(policy::Verdict::opportunistic))), asio::detached);
  }
  std::size_t granted() const {
    return static_cast<std::size_t>(std::count_if(leases.begin(), leases.end(), [](const auto& l) { return l.has_value(); }));
  }
  void give_back(std::size_t i) {
    cache.release(std::move(*leases[i]), nullptr);
    leases[i].reset();
  }
};

TEST(SessionCacheLimits, PerDestinationAndGlobalInOrder) {
  asio::io_context io;
  CacheLimits limits;
  limits.per_destination = 2;
  limits.global = 3;
  SessionCache cache(io.get_executor(), limits);
  Takers t(cache);
  for (int i = 0; i < 3; ++i) t.take(io, "a.test");  // 0, 1 granted; 2 waits (a.test is full)
  io.poll();
  EXPECT_EQ(t.granted(), 2u);
  EXPECT_EQ(cache.open("a.test"), 2u);
  t.take(io, "b.test");  // 3: granted, the global limit is reached
  t.take(io, "c.test");  // 4: waits for the global limit
  io.poll();
  EXPECT_TRUE(t.leases[3]);
  EXPECT_FALSE(t.leases[2]);
  EXPECT_FALSE(t.leases[4]);
  EXPECT_EQ(cache.open(), 3u);
  EXPECT_EQ(cache.counters().waits, 2u);
  t.give_back(0);  // an a.test slot: the first waiter that fits is 2
  io.poll();
  EXPECT_TRUE(t.leases[2]);
  EXPECT_FALSE(t.leases[4]);
  t.give_back(3);  // b.test's slot goes to c.test
  io.poll();
  EXPECT_TRUE(t.leases[4]);
  EXPECT_EQ(cache.open(), 3u);
  EXPECT_EQ(cache.peak(), 3u);
  for (std::size_t i : {1u, 2u, 4u}) t.give_back(i);
  EXPECT_EQ(cache.open(), 0u);
}

TEST(SessionCacheLimits, ALostLeaseFreesItsSlotAndZeroMeansOne) {
  asio::io_context io;
  CacheLimits limits;
  limits.per_destination = 0;  // read as 1: never unlimited
  limits.global = 0;
  SessionCache cache(io.get_executor(), limits);
  Takers t(cache);
  t.take(io, "a.test");
  t.take(io, "a.test");
  io.poll();
  EXPECT_EQ(t.granted(), 1u);
  t.leases[0].reset();  // destroyed without release()
  io.poll();
  EXPECT_TRUE(t.leases[1]);
  EXPECT_EQ(cache.open(), 1u);
  t.give_back(1);
}

// --- relaying through the cache ------------------------------------------------------------

using test::smtp_script;

// The same server with STARTTLS and a self-signed certificate (enough for
// opportunistic TLS, RFC 7435; not for WebPKI verification).
struct ServerTls {
  test::KeyCert self_signed = test::make_cert({"mx", {"mx.dest.test"}}, nullptr);
  tls::SslCtxPtr context = test::make_server_context(self_signed);
};

test::LmtpScript tls_script() {
  static ServerTls server_tls;
  auto s = smtp_script();
  s.lhlo = "250-mx.test\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 ENHANCEDSTATUSCODES\r\n";
  s.ehlo_tls = "250-mx.test\r\n250-PIPELINING\r\n250 ENHANCEDSTATUSCODES\r\n";
  s.tls = server_tls.context.get();
  return s;
}

std::size_t count_commands(const test::LmtpServerLog& log, std::string_view verb) {
  return static_cast<std::size_t>(std::count_if(log.commands.begin(), log.commands.end(),
                                                [&](const std::string& c) { return test::starts_with_ci(c, verb); }));
}

class Reuse : public ::testing::Test, protected test::RelayBed {
 protected:
  Reuse() : RelayBed({"alice@dest.test"}) {}
  ~Reuse() override { close(); }

  void zone(std::string_view text) { ASSERT_TRUE(dns.load_zone_text(text)) << text; }

  SessionCache& cache() {
    if (!cache_) cache_ = std::make_unique<SessionCache>(io.get_executor(), limits, [this] { return now; });
    return *cache_;
  }

  // One attempt for `domain` to servers on `port`, through the cache.
  asio::awaitable<std::vector<RelayOutcome>> attempt(std::uint16_t port, std::string domain,
                                                     const policy::LocalPolicyMap* local) {
    policy::PolicyEngine engine(dns, nullptr, local);
    OutboundOptions options;
    options.ehlo_name = "relay.test";
    options.port = port;
    options.timeouts.connect = seconds(2);
    RelayContext context{engine, tls_ctx.get(), options, random, nullptr, nullptr, &counters};
    context.cache = &cache();
    std::vector<const queue::Recipient*> rcpts{&envelope.recipients[0]};
    auto relaying = relay_to_domain(context, envelope, std::move(domain), rcpts, slices, false);
    co_return co_await std::move(relaying);
  }

  std::vector<RelayOutcome> relay(std::uint16_t port, std::string domain = "dest.test",
                                  const policy::LocalPolicyMap* local = nullptr) {
    return run_sync(io, attempt(port, std::move(domain), local));
  }

  // QUITs what is cached (the servers' stop() waits for their sessions).
  void close() {
    if (!cache_) return;
    auto closing = cache_->close_all(std::chrono::seconds(5));
    run_sync(io, std::move(closing));
  }

  asio::io_context io;
  CacheLimits limits;
  Time now = Time{} + std::chrono::hours(1);
  OutboundCounters counters;
  std::unique_ptr<SessionCache> cache_;
};

std::uint64_t failures(const OutboundCounters& c) {
  std::uint64_t n = 0;
  for (const auto& f : c.tls_failures) n += f.load();
  return n;
}

TEST_F(Reuse, TheSameKeyReusesOneSessionAndReportsItOnce) {
  test::LmtpTestServer server(tls_script(), "127.0.0.2");
  zone("dest.test MX 10 mx.dest.test\nmx.dest.test A 127.0.0.2\n");
  for (int i = 0; i < 3; ++i) {
    const auto out = relay(server.port());
    ASSERT_EQ(out[0].status, RecipientStatus::delivered) << out[0].text;
    EXPECT_EQ(out[0].relay, "mx.dest.test[127.0.0.2]:" + std::to_string(server.port()));
    EXPECT_EQ(out[0].tls, "opportunistic");
  }
  EXPECT_EQ(cache().idle(), 1u);
  close();
  server.stop();
  EXPECT_EQ(server.log().connections, 1);
  EXPECT_EQ(server.log().transactions, 3);
  EXPECT_EQ(server.log().rsets, 2);  // each reuse is probed first
  EXPECT_EQ(count_commands(server.log(), "QUIT"), 1u);  // once, when the cache closed
  EXPECT_TRUE(server.log().tls);
  // RFC 8460 counts sessions: one event for three messages.
  EXPECT_EQ(counters.tls_successes.load(), 1u);
  EXPECT_EQ(failures(counters), 0u);
  EXPECT_EQ(counters.sessions_opened.load(), 1u);
  EXPECT_EQ(counters.sessions_reused.load(), 2u);
}

TEST_F(Reuse, NoReuseAcrossNextHops) {
  test::LmtpTestServer server(smtp_script(), "127.0.0.2");
  zone("dest.test MX 10 mx.shared.test\nother.test MX 10 mx.shared.test\nmx.shared.test A 127.0.0.2\n");
  EXPECT_EQ(relay(server.port(), "dest.test")[0].status, RecipientStatus::delivered);
  EXPECT_EQ(relay(server.port(), "other.test")[0].status, RecipientStatus::delivered);
  EXPECT_EQ(relay(server.port(), "dest.test")[0].status, RecipientStatus::delivered);
  close();
  server.stop();
  EXPECT_EQ(server.log().connections, 2);
  EXPECT_EQ(server.log().transactions, 3);
}

// The attacker's case: a man in the middle whose certificate an
// opportunistic session accepted must not receive the next message once the
// domain's policy asks for more. The cached session (TLS, unauthenticated)
// is left alone; a new connection is judged under the new policy and fails
// (self-signed: no WebPKI), so the message waits instead of going to it.
TEST_F(Reuse, ASessionJudgedUnderAWeakerPolicyNeverCarriesMailForAStrongerOne) {
  test::LmtpTestServer server(tls_script(), "127.0.0.2");
  zone("dest.test MX 10 mx.dest.test\nmx.dest.test A 127.0.0.2\n");
  const auto weak = relay(server.port());
  ASSERT_EQ(weak[0].status, RecipientStatus::delivered) << weak[0].text;
  EXPECT_EQ(weak[0].policy, "opportunistic");
  EXPECT_EQ(weak[0].tls, "opportunistic");  // TLS, no authentication
  ASSERT_EQ(cache().idle(), 1u);
  for (auto level : {policy::LocalLevel::verify, policy::LocalLevel::encrypt}) {
    policy::LocalPolicyMap local;
    ASSERT_TRUE(local.add("dest.test", level));
    const auto strong = relay(server.port(), "dest.test", &local);
    if (level == policy::LocalLevel::verify) {
      EXPECT_EQ(strong[0].status, RecipientStatus::deferred) << strong[0].text;
      EXPECT_EQ(strong[0].policy, "verify");
    } else {
      // encrypt is met by a new session of its own, never by the cached one.
      EXPECT_EQ(strong[0].status, RecipientStatus::delivered) << strong[0].text;
      EXPECT_EQ(strong[0].policy, "encrypt");
    }
  }
  EXPECT_EQ(cache().counters().reused, 0u);
  EXPECT_EQ(server.log().rsets, 0);
  close();
  server.stop();
  EXPECT_EQ(server.log().connections, 3);
  EXPECT_EQ(server.log().transactions, 2);  // the opportunistic message and the encrypt one
}

TEST_F(Reuse, AnIdleSessionExpiresAfterTheCacheTime) {
  limits.idle_time = seconds(2);
  test::LmtpTestServer server(smtp_script(), "127.0.0.2");
  zone("dest.test MX 10 mx.dest.test\nmx.dest.test A 127.0.0.2\n");
  EXPECT_EQ(relay(server.port())[0].status, RecipientStatus::delivered);
  now += seconds(1);
  EXPECT_EQ(relay(server.port())[0].status, RecipientStatus::delivered);  // reused: idle 1 s
  now += seconds(2);
  EXPECT_EQ(relay(server.port())[0].status, RecipientStatus::delivered);  // idle 2 s: a new session
  EXPECT_EQ(count_commands(server.log(), "QUIT"), 1u);  // the expired one was closed politely
  now += seconds(5);
  cache().expire();  // the sweeper's work
  EXPECT_EQ(cache().idle(), 0u);
  io.restart();
  io.run();  // the QUIT
  server.stop();
  EXPECT_EQ(server.log().connections, 2);
  EXPECT_EQ(count_commands(server.log(), "QUIT"), 2u);
  EXPECT_EQ(cache().counters().expired, 2u);
}

TEST_F(Reuse, ASessionIsNotReusedPastItsMaximumAge) {
  limits.idle_time = seconds(300);
  limits.max_age = seconds(10);
  test::LmtpTestServer server(smtp_script(), "127.0.0.2");
  zone("dest.test MX 10 mx.dest.test\nmx.dest.test A 127.0.0.2\n");
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(relay(server.port())[0].status, RecipientStatus::delivered);
    now += seconds(6);  // idle 6 s each time, but 12 s old at the third
  }
  close();
  server.stop();
  EXPECT_EQ(server.log().connections, 2);
  EXPECT_EQ(server.log().transactions, 3);
}

TEST_F(Reuse, ASessionCarriesAtMostTheReuseLimit) {
  limits.reuse_limit = 2;
  test::LmtpTestServer server(smtp_script(), "127.0.0.2");
  zone("dest.test MX 10 mx.dest.test\nmx.dest.test A 127.0.0.2\n");
  for (int i = 0; i < 5; ++i) EXPECT_EQ(relay(server.port())[0].status, RecipientStatus::delivered);
  close();
  server.stop();
  EXPECT_EQ(server.log().connections, 3);  // 2 + 2 + 1
  EXPECT_EQ(server.log().transactions, 5);
  EXPECT_EQ(count_commands(server.log(), "QUIT"), 3u);
}

TEST_F(Reuse, NoCacheTimeMeansQuitAfterEveryMessage) {
  limits.idle_time = seconds(0);
  test::LmtpTestServer server(smtp_script(), "127.0.0.2");
  zone("dest.test MX 10 mx.dest.test\nmx.dest.test A 127.0.0.2\n");
  for (int i = 0; i < 2; ++i) EXPECT_EQ(relay(server.port())[0].status, RecipientStatus::delivered);
  EXPECT_EQ(cache().idle(), 0u);
  server.stop();
  EXPECT_EQ(server.log().connections, 2);
  EXPECT_EQ(count_commands(server.log(), "QUIT"), 2u);
}

// A cached session the server closed is found dead by the RSET probe, and
// the message goes over a new connection: delivered, no failure counted or
// reported, a success event for the new session.
TEST_F(Reuse, ADeadCachedSessionIsReplacedWithoutAFailure) {
  auto script = tls_script();
  script.close_after_dot = true;
  test::LmtpTestServer server(script, "127.0.0.2");
  zone("dest.test MX 10 mx.dest.test\nmx.dest.test A 127.0.0.2\n");
  for (int i = 0; i < 3; ++i) {
    const auto out = relay(server.port());
    EXPECT_EQ(out[0].status, RecipientStatus::delivered) << out[0].text;
  }
  close();
  server.stop();
  EXPECT_EQ(server.log().connections, 3);
  EXPECT_EQ(server.log().transactions, 3);
  EXPECT_EQ(failures(counters), 0u);
  EXPECT_EQ(counters.tls_successes.load(), 3u);
  EXPECT_EQ(counters.sessions_reused.load(), 0u);
  EXPECT_EQ(cache().counters().reused, 2u);  // handed out, found dead
}

TEST_F(Reuse, ARefusedRsetIsADeadSession) {
  auto script = tls_script();
  script.rset = "421 4.4.2 mx.test closing idle connection\r\n";
  test::LmtpTestServer server(script, "127.0.0.2");
  zone("dest.test MX 10 mx.dest.test\nmx.dest.test A 127.0.0.2\n");
  for (int i = 0; i < 2; ++i) EXPECT_EQ(relay(server.port())[0].status, RecipientStatus::delivered);
  close();
  server.stop();
  EXPECT_EQ(server.log().connections, 2);
  EXPECT_EQ(server.log().rsets, 1);
  EXPECT_EQ(server.log().transactions, 2);
  EXPECT_EQ(failures(counters), 0u);
  EXPECT_EQ(counters.tls_successes.load(), 2u);
}

// --- limits under load, counted at the server -------------------------------------------

class Load : public Reuse {
 protected:
  // `n` attempts for each domain at once, all on `io`.
  std::vector<RecipientStatus> relay_all(std::uint16_t port, const std::vector<std::string>& domains, int n) {
    std::vector<RecipientStatus> out;
    auto one = [](Load* self, std::uint16_t p, std::string d, std::vector<RecipientStatus>* into) -> asio::awaitable<void> {
      auto relaying = self->attempt(p, std::move(d), nullptr);
      auto got = co_await std::move(relaying);
      into->push_back(got[0].status);
    };
    for (int i = 0; i < n; ++i)
      for (const auto& d : domains) asio::co_spawn(io, one(this, port, d, &out), asio::detached);
    io.restart();
    io.run();
    return out;
  }
};

TEST_F(Load, TheDestinationLimitHolds) {
  limits.per_destination = 3;
  test::LmtpTestServer server(smtp_script(), "127.0.0.2");
  zone("dest.test MX 10 mx.dest.test\nmx.dest.test A 127.0.0.2\n");
  const auto out = relay_all(server.port(), {"dest.test"}, 40);
  ASSERT_EQ(out.size(), 40u);
  for (auto s : out) EXPECT_EQ(s, RecipientStatus::delivered);
  EXPECT_EQ(cache().peak(), 3u);  // every attempt started at once: the limit was reached, never passed
  close();
  server.stop();
  EXPECT_LE(server.log().max_open, 3);
  EXPECT_EQ(server.log().transactions, 40);
  EXPECT_LE(server.log().connections, 3);  // the others reused
}

TEST_F(Load, TheGlobalLimitHoldsAcrossDestinations) {
  limits.per_destination = 3;
  limits.global = 4;
  test::LmtpTestServer server(smtp_script(), "127.0.0.2");
  zone("a.test MX 10 mx.shared.test\nb.test MX 10 mx.shared.test\nc.test MX 10 mx.shared.test\n"
       "mx.shared.test A 127.0.0.2\n");
  const auto out = relay_all(server.port(), {"a.test", "b.test", "c.test"}, 15);
  ASSERT_EQ(out.size(), 45u);
  for (auto s : out) EXPECT_EQ(s, RecipientStatus::delivered);
  EXPECT_EQ(cache().peak(), 4u);
  close();
  server.stop();
  EXPECT_LE(server.log().max_open, 4);
  EXPECT_EQ(server.log().transactions, 45);
}

}  // namespace
}  // namespace mxsec::delivery
