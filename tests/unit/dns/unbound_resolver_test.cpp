// dns/unbound_resolver: result mapping (with hand-made ub_results), set-up
// errors that must stop create(), and the timeout / shutdown paths against a
// loopback "server" that never answers. Answers from real zones are covered
// by the e2e test against the Knot test bed (tests/e2e).
#include "dns/unbound_resolver.hpp"

#include <gtest/gtest.h>
#include <unbound.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/ip/udp.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>

namespace mxsec::dns {
namespace {

using namespace std::string_literals;
using namespace std::chrono_literals;

// --- to_raw_answer -----------------------------------------------------------

struct FakeUbResult {
  std::vector<std::string> rr;
  std::vector<char*> data;
  std::vector<int> len;
  ub_result r{};

  explicit FakeUbResult(std::vector<std::string> records) : rr(std::move(records)) {
    for (auto& s : rr) {
      data.push_back(s.data());
      len.push_back(static_cast<int>(s.size()));
    }
    data.push_back(nullptr);
    len.push_back(0);
    r.data = data.data();
    r.len = len.data();
    r.havedata = rr.empty() ? 0 : 1;
    r.ttl = 300;
  }
};

TEST(ToRawAnswer, SecureData) {
  FakeUbResult f({"\xc0\x00\x02\x01"s, "\xc0\x00\x02\x02"s});
  f.r.secure = 1;
  const RawAnswer a = to_raw_answer(f.r, "Mail.Example.", RrType::a);
  EXPECT_EQ(a.qname, "mail.example");
  EXPECT_EQ(a.status, Status::ok);
  EXPECT_EQ(a.security, Security::secure);
  EXPECT_EQ(a.ttl, 300u);
  EXPECT_EQ(a.rdata, (std::vector<std::string>{"\xc0\x00\x02\x01"s, "\xc0\x00\x02\x02"s}));
  EXPECT_TRUE(a.canonical_name.empty());
}

TEST(ToRawAnswer, InsecureNodataAndNxdomain) {
  FakeUbResult nodata({});
  const RawAnswer a = to_raw_answer(nodata.r, "x.test", RrType::mx);
  EXPECT_EQ(a.status, Status::nodata);
  EXPECT_EQ(a.security, Security::insecure);
  FakeUbResult nx({});
  nx.r.rcode = 3;
  nx.r.nxdomain = 1;
  nx.r.secure = 1;
  const RawAnswer b = to_raw_answer(nx.r, "x.test", RrType::mx);
  EXPECT_EQ(b.status, Status::nxdomain);
  EXPECT_EQ(b.security, Security::secure);
}

TEST(ToRawAnswer, BogusWithRcodeZeroAndDataIsStillBogus) {
  // Forwarding mode: CD was set, so the data comes back with rcode 0.
  FakeUbResult f({"\x0bv=spf1 +all"s});
  f.r.bogus = 1;
  char why[] = "validation failure <x.test. TXT IN>: signature expired";
  f.r.why_bogus = why;
  const RawAnswer a = to_raw_answer(f.r, "x.test", RrType::txt);
  EXPECT_EQ(a.security, Security::bogus);
  EXPECT_EQ(a.status, Status::servfail);
  EXPECT_TRUE(a.rdata.empty());
  EXPECT_EQ(a.why_bogus, why);
}

TEST(ToRawAnswer, BogusEvenIfSecureFlagIsAlsoSet) {
  FakeUbResult f({"\x01x"s});
  f.r.bogus = 1;
  f.r.secure = 1;
  const RawAnswer a = to_raw_answer(f.r, "x.test", RrType::txt);
  EXPECT_EQ(a.security, Security::bogus);
  EXPECT_FALSE(a.why_bogus.empty());
}

TEST(ToRawAnswer, OtherRcodesAreServfailIndeterminate) {
  for (int rcode : {2, 5, 4}) {
    FakeUbResult f({});
    f.r.rcode = rcode;
    const RawAnswer a = to_raw_answer(f.r, "x.test", RrType::a);
    EXPECT_EQ(a.status, Status::servfail) << rcode;
    EXPECT_EQ(a.security, Security::indeterminate) << rcode;
  }
}

TEST(ToRawAnswer, CanonicalNameOnlyWhenItDiffers) {
  FakeUbResult f({"\xc0\x00\x02\x01"s});
  char same[] = "WWW.example.com.";
  f.r.canonname = same;
  EXPECT_TRUE(to_raw_answer(f.r, "www.example.com", RrType::a).canonical_name.empty());
  char other[] = "host.example.net.";
  f.r.canonname = other;
  EXPECT_EQ(to_raw_answer(f.r, "www.example.com", RrType::a).canonical_name, "host.example.net");
}

TEST(ToRawAnswer, TooManyRecordsFailsClosed) {
  FakeUbResult f(std::vector<std::string>(limits::kDnsMaxRecordsPerAnswer + 1, "\x01x"s));
  const RawAnswer a = to_raw_answer(f.r, "x.test", RrType::txt);
  EXPECT_EQ(a.status, Status::error);
  EXPECT_EQ(a.security, Security::indeterminate);
  EXPECT_TRUE(a.rdata.empty());
}

TEST(ToRawAnswer, NegativeTtlBecomesZero) {
  FakeUbResult f({});
  f.r.ttl = -5;
  EXPECT_EQ(to_raw_answer(f.r, "x.test", RrType::a).ttl, 0u);
}

// --- create() ------------------------------------------------------------------

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/mxsec-dns-test-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string write(const std::string& name, const std::string& content) const {
    const std::string p = path_ + "/" + name;
    std::ofstream(p) << content;
    return p;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

constexpr const char* kGoodDs =
    "test. 3600 IN DS 45226 13 2 a8c6a352f6b5bdb2a8dc7fd39c5338533a8405bc9d14952f0cfbd2de776de197\n";

ResolverConfig base_config() {
  ResolverConfig c;
  c.use_root_anchor = false;
  return c;
}

TEST(Create, DefaultConfigLoadsTheRootAnchor) {
  asio::io_context io;
  auto r = UnboundResolver::create(io, ResolverConfig{});
  ASSERT_TRUE(r) << r.error().message;
}

TEST(Create, GoodExtraAnchorAndSettings) {
  TempDir dir;
  asio::io_context io;
  ResolverConfig c = base_config();
  c.trust_anchor_files = {dir.write("ta.ds", kGoodDs)};
  c.forwarders = {"127.0.0.1:5353", "[::1]:53", "192.0.2.1"};
  c.private_zones = {"test", "example."};
  c.stub_zones = {{"stub.test", "127.0.53.1:5300"}};
  auto r = UnboundResolver::create(io, c);
  ASSERT_TRUE(r) << r.error().message;
}

struct BadAnchor {
  const char* what;
  const char* content;  // nullptr: the file does not exist
  Errc code;
};

class CreateBadAnchor : public ::testing::TestWithParam<BadAnchor> {};

TEST_P(CreateBadAnchor, IsAnErrorNotASilentInsecure) {
  TempDir dir;
  asio::io_context io;
  ResolverConfig c = base_config();
  const BadAnchor& p = GetParam();
  c.trust_anchor_files = {p.content ? dir.write("ta", p.content) : dir.path() + "/missing"};
  auto r = UnboundResolver::create(io, c);
  ASSERT_FALSE(r) << p.what;
  EXPECT_EQ(r.error().code, p.code) << r.error().message;
  EXPECT_NE(r.error().message.find(c.trust_anchor_files[0]), std::string::npos) << r.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    All, CreateBadAnchor,
    ::testing::Values(
        BadAnchor{"missing file", nullptr, Errc::io}, BadAnchor{"empty file", "", Errc::parse},
        BadAnchor{"comments only", "; nothing here\n\n", Errc::parse},
        BadAnchor{"garbage", "garbage\n", Errc::parse},
        BadAnchor{"wrong type", "test. IN A 192.0.2.1\n", Errc::parse},
        BadAnchor{"DS digest too short", "test. IN DS 1 13 2 abcd\n", Errc::parse},
        BadAnchor{"DS digest not hex", "test. IN DS 1 13 1 zz23456789012345678901234567890123456789\n", Errc::parse},
        BadAnchor{"DS unsupported algorithm only", "test. IN DS 1 253 2 a8c6a352f6b5bdb2a8dc7fd39c5338533a8405bc9d14952f0cfbd2de776de197\n", Errc::parse},
        BadAnchor{"DS unsupported digest type only", "test. IN DS 1 13 3 abcdef\n", Errc::parse},
        BadAnchor{"DNSKEY not a zone key", "test. IN DNSKEY 1 3 13 AAAA\n", Errc::parse},
        BadAnchor{"DNSKEY protocol not 3", "test. IN DNSKEY 257 2 13 AAAA\n", Errc::parse},
        BadAnchor{"DNSKEY key not base64", "test. IN DNSKEY 257 3 13 !!!!\n", Errc::parse},
        BadAnchor{"unterminated parenthesis", "test. IN DNSKEY 257 3 13 ( AAAA\n", Errc::parse},
        BadAnchor{"good line followed by a broken one", "test. 3600 IN DS 45226 13 2 a8c6a352f6b5bdb2a8dc7fd39c5338533a8405bc9d14952f0cfbd2de776de197\ntest. IN DS 1 13\n", Errc::parse}));

TEST(Create, DirectoryAsAnchorFileIsAnError) {
  TempDir dir;
  asio::io_context io;
  ResolverConfig c = base_config();
  c.trust_anchor_files = {dir.path()};
  auto r = UnboundResolver::create(io, c);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::io);
}

TEST(Create, MissingRootAnchorIsAnError) {
  asio::io_context io;
  ResolverConfig c;
  c.root_anchor_file = "/nonexistent/root.key";
  auto r = UnboundResolver::create(io, c);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("dns-root-data"), std::string::npos) << r.error().message;
}

TEST(Create, BadSettingsAreInvalidArgument) {
  asio::io_context io;
  auto expect_invalid = [&](ResolverConfig c, const char* what) {
    auto r = UnboundResolver::create(io, c);
    ASSERT_FALSE(r) << what;
    EXPECT_EQ(r.error().code, Errc::invalid_argument) << what << ": " << r.error().message;
  };
  ResolverConfig c = base_config();
  c.forwarders = {"resolver.example"};
  expect_invalid(c, "host name as forwarder");
  c = base_config();
  c.forwarders = {"127.0.0.1:0"};
  expect_invalid(c, "port 0");
  c = base_config();
  c.private_zones = {"bad zone"};
  expect_invalid(c, "private zone with a space");
  c = base_config();
  c.private_zones = {"."};
  expect_invalid(c, "root as private zone");
  c = base_config();
  c.stub_zones = {{"test", "nowhere"}};
  expect_invalid(c, "stub address");
  c = base_config();
  c.timeout = 0ms;
  expect_invalid(c, "zero timeout");
}

// --- asynchronous behaviour ------------------------------------------------------

// A loopback UDP socket that receives queries and never answers.
struct SilentServer {
  asio::io_context io;
  asio::ip::udp::socket socket{io, asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
  std::string address() const { return "127.0.0.1:" + std::to_string(socket.local_endpoint().port()); }
};

// Runs `op` on io, failing the test instead of hanging if io never finishes.
template <class T>
std::optional<T> run_bounded(asio::io_context& io, asio::awaitable<T> op, std::chrono::seconds limit = 20s) {
  std::optional<T> out;
  asio::co_spawn(io, std::move(op), [&](std::exception_ptr e, T v) {
    if (!e) out.emplace(std::move(v));
  });
  io.restart();
  io.run_for(limit);
  EXPECT_TRUE(io.stopped()) << "io_context still has work after the query finished";
  return out;
}

TEST(UnboundResolver, UnansweredQueryTimesOutAndLeavesNoWork) {
  SilentServer server;
  asio::io_context io;
  ResolverConfig c = base_config();
  c.forwarders = {server.address()};
  c.timeout = 300ms;
  auto r = UnboundResolver::create(io, c);
  ASSERT_TRUE(r) << r.error().message;
  const auto start = std::chrono::steady_clock::now();
  auto a = run_bounded(io, (*r)->resolve("example.com", RrType::txt));
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(a);
  EXPECT_EQ(a->status, Status::timeout);
  EXPECT_EQ(a->security, Security::indeterminate);
  EXPECT_EQ(a->qname, "example.com");
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 5s);
  EXPECT_EQ((*r)->pending(), 0u);
}

TEST(UnboundResolver, ParallelQueriesEachTimeOut) {
  SilentServer server;
  asio::io_context io;
  ResolverConfig c = base_config();
  c.forwarders = {server.address()};
  c.timeout = 200ms;
  auto r = UnboundResolver::create(io, c);
  ASSERT_TRUE(r);
  int done = 0;
  for (int i = 0; i < 5; ++i) {
    asio::co_spawn(io, (*r)->resolve("q" + std::to_string(i) + ".example.com", RrType::a),
                   [&](std::exception_ptr e, RawAnswer a) {
                     EXPECT_FALSE(e);
                     EXPECT_EQ(a.status, Status::timeout);
                     ++done;
                   });
  }
  io.run_for(20s);
  EXPECT_TRUE(io.stopped());
  EXPECT_EQ(done, 5);
  EXPECT_EQ((*r)->pending(), 0u);
}

TEST(UnboundResolver, DestroyingTheResolverCompletesPendingQueriesWithError) {
  SilentServer server;
  asio::io_context io;
  ResolverConfig c = base_config();
  c.forwarders = {server.address()};
  c.timeout = 10s;
  auto r = UnboundResolver::create(io, c);
  ASSERT_TRUE(r);
  std::optional<RawAnswer> got;
  asio::co_spawn(io, (*r)->resolve("example.com", RrType::a), [&](std::exception_ptr e, RawAnswer a) {
    EXPECT_FALSE(e);
    got = std::move(a);
  });
  io.run_for(100ms);
  EXPECT_FALSE(got);
  EXPECT_EQ((*r)->pending(), 1u);
  r->reset();
  io.restart();
  io.run_for(5s);
  EXPECT_TRUE(io.stopped());
  ASSERT_TRUE(got);
  EXPECT_EQ(got->status, Status::error);
  EXPECT_EQ(got->security, Security::indeterminate);
}

TEST(UnboundResolver, SyntaxErrorInNameIsAnError) {
  asio::io_context io;
  auto r = UnboundResolver::create(io, base_config());
  ASSERT_TRUE(r);
  auto a = run_bounded(io, (*r)->resolve(std::string(300, 'a'), RrType::a));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->status, Status::error);
  auto b = run_bounded(io, (*r)->resolve("", RrType::a));
  ASSERT_TRUE(b);
  EXPECT_EQ(b->status, Status::error);
  auto c = run_bounded(io, (*r)->resolve("a..b.example", RrType::a));  // rejected by libunbound
  ASSERT_TRUE(c);
  EXPECT_EQ(c->status, Status::error);
  EXPECT_NE(c->error.find("libunbound"), std::string::npos) << c->error;
  EXPECT_EQ((*r)->pending(), 0u);
}

}  // namespace
}  // namespace mxsec::dns
