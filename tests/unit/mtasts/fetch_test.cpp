// policy/mtasts/fetch: CurlPolicyFetcher against real, hostile HTTPS servers
// (tests/unit/mtasts/https_server.py) on 127.0.53.x, with a test CA made by
// `openssl` at test time. Each server listens on a port the kernel picks, so
// parallel ctest runs cannot collide. The name mta-sts.example.test exists
// only in the FakeResolver: a success proves libcurl used the pinned address,
// and https_proxy is set to a dead proxy to prove the environment is ignored.
#include "policy/mtasts/fetch.hpp"

#include <curl/curl.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/co_spawn.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "dns/fake_resolver.hpp"
#include "dns/run_sync.hpp"

extern char** environ;

namespace mxsec::policy::mtasts {

// Readable gtest output for FetchFailure values.
void PrintTo(FetchFailure f, std::ostream* os) { *os << to_string(f); }

namespace {

namespace fs = std::filesystem;

// Runs a program to completion; returns its exit status (-1 on spawn error).
int run(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return -1;
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void write_file(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }

// A test PKI: two CAs and three leaf certificates.
struct Pki {
  fs::path dir;
  bool ok = false;

  bool make_ca(const std::string& name) {
    write_file(dir / (name + ".cnf"),
               "[req]\ndistinguished_name=dn\nx509_extensions=v3_ca\nprompt=no\n[dn]\nCN=mxsec " + name +
                   "\n[v3_ca]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n"
                   "subjectKeyIdentifier=hash\n");
    return run({"/usr/bin/openssl", "req", "-x509", "-config", (dir / (name + ".cnf")).string(), "-newkey", "ec",
                "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", (dir / (name + ".key")).string(), "-out",
                (dir / (name + ".pem")).string(), "-days", "2"}) == 0;
  }
  bool make_leaf(const std::string& name, const std::string& dns_name, const std::string& ca, int serial) {
    write_file(dir / (name + ".cnf"), "[req]\ndistinguished_name=dn\nprompt=no\n[dn]\nCN=" + dns_name + "\n");
    write_file(dir / (name + ".ext"), "subjectAltName=DNS:" + dns_name +
                                          "\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                                          "extendedKeyUsage=serverAuth\n");
    if (run({"/usr/bin/openssl", "req", "-new", "-config", (dir / (name + ".cnf")).string(), "-newkey", "ec",
             "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", (dir / (name + ".key")).string(), "-out",
             (dir / (name + ".csr")).string()}) != 0)
      return false;
    return run({"/usr/bin/openssl", "x509", "-req", "-in", (dir / (name + ".csr")).string(), "-CA",
                (dir / (ca + ".pem")).string(), "-CAkey", (dir / (ca + ".key")).string(), "-set_serial",
                std::to_string(serial), "-days", "2", "-extfile", (dir / (name + ".ext")).string(), "-out",
                (dir / (name + ".pem")).string()}) == 0;
  }
  void make() {
    char tmpl[] = "/tmp/mxsec-mtasts-fetch-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) return;
    dir = tmpl;
    ok = make_ca("ca") && make_ca("other-ca") && make_leaf("good", "mta-sts.example.test", "ca", 1) &&
         make_leaf("foreign", "mta-sts.example.test", "other-ca", 2) &&
         make_leaf("wrongname", "mta-sts.other.test", "ca", 3);
  }
  std::string file(const std::string& name) const { return (dir / name).string(); }
};

// One https_server.py child, killed (by PID) when the object goes away.
class Server {
 public:
  // port 0: the kernel picks one.
  Server(const std::string& bind, const std::string& cert, const std::string& key, const std::string& mode,
         std::uint16_t port = 0) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return;
    const std::string script = std::string(MXSEC_MTASTS_TEST_DIR) + "/https_server.py";
    std::vector<std::string> argv = {"/usr/bin/python3", script, "--bind", bind, "--port", std::to_string(port),
                                     "--cert", cert, "--key", key, "--mode", mode};
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    const int rc = posix_spawn(&pid_, args[0], &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (rc != 0) {
      pid_ = -1;
      close(fds[0]);
      return;
    }
    // Read "PORT <n>\n" (10 s at most).
    std::string line;
    while (line.find('\n') == std::string::npos) {
      pollfd p{fds[0], POLLIN, 0};
      if (poll(&p, 1, 10000) <= 0) break;
      char buf[64];
      const ssize_t n = read(fds[0], buf, sizeof buf);
      if (n <= 0) break;
      line.append(buf, static_cast<std::size_t>(n));
    }
    close(fds[0]);
    if (line.rfind("PORT ", 0) == 0) port_ = static_cast<std::uint16_t>(std::atoi(line.c_str() + 5));
  }
  ~Server() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  std::uint16_t port() const { return port_; }

 private:
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
};

// A port on `addr` that nothing listens on.
std::uint16_t closed_port(const std::string& addr) {
  const int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  inet_pton(AF_INET, addr.c_str(), &sa.sin_addr);
  bind(s, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  socklen_t len = sizeof sa;
  getsockname(s, reinterpret_cast<sockaddr*>(&sa), &len);
  close(s);
  return ntohs(sa.sin_port);
}

Pki& pki() {
  static Pki p;
  return p;
}

class FetchTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!pki().ok) pki().make();
    // A proxy that does not exist: honouring it would fail every fetch.
    setenv("https_proxy", "http://127.0.53.254:9", 1);
    setenv("HTTPS_PROXY", "http://127.0.53.254:9", 1);
    setenv("ALL_PROXY", "http://127.0.53.254:9", 1);
  }
  static void TearDownTestSuite() {
    if (!pki().dir.empty()) {
      std::error_code ec;
      fs::remove_all(pki().dir, ec);
      pki().dir.clear();
      pki().ok = false;
    }
  }

  FetchResult fetch(dns::FakeResolver& resolver, std::uint16_t port, std::chrono::milliseconds timeout,
                    const std::string& domain = "example.test") {
    FetcherConfig config;
    config.ca_file = pki().file("ca.pem");
    config.https_port = port;
    config.timeout = timeout;
    config.threads = 1;
    CurlPolicyFetcher fetcher(resolver, config);
    asio::io_context io;
    return run_sync(io, fetcher.fetch(domain));
  }
};

struct ServerCase {
  const char* name;
  const char* mode;
  const char* cert;  // leaf certificate the server presents
  std::optional<FetchFailure> want;
  long want_status;
};

const ServerCase kServerCases[] = {
    {"good", "good", "good", std::nullopt, 200},
    {"wrong_content_type", "html", "good", FetchFailure::content_type, 200},
    {"missing_content_type", "notype", "good", FetchFailure::content_type, 200},
    {"not_found", "notfound", "good", FetchFailure::http_status, 404},
    {"redirect_not_followed", "redirect", "good", FetchFailure::redirect, 301},
    {"huge_with_length", "huge", "good", FetchFailure::too_large, 200},
    {"huge_chunked", "huge-chunked", "good", FetchFailure::too_large, 200},
    {"certificate_from_other_ca", "good", "foreign", FetchFailure::certificate, 0},
    {"certificate_for_other_name", "good", "wrongname", FetchFailure::certificate, 0},
};

class ServerCaseTest : public FetchTest, public ::testing::WithParamInterface<std::size_t> {};

TEST_P(ServerCaseTest, Outcome) {
  ASSERT_TRUE(pki().ok) << "openssl could not make the test PKI";
  const ServerCase& c = kServerCases[GetParam()];
  const std::string addr = "127.0.53." + std::to_string(GetParam() + 1);
  Server server(addr, pki().file(std::string(c.cert) + ".pem"), pki().file(std::string(c.cert) + ".key"), c.mode);
  ASSERT_NE(server.port(), 0) << "server did not start";
  dns::FakeResolver resolver;
  resolver.add_a("mta-sts.example.test", addr);

  const FetchResult r = fetch(resolver, server.port(), std::chrono::seconds(20));
  EXPECT_EQ(r.failure, c.want) << c.name << ": " << r.detail;
  EXPECT_EQ(r.http_status, c.want_status) << r.detail;
  // Never more than the cap plus one network read is taken in.
  EXPECT_LE(r.bytes_received, limits::kStsPolicyBytes + CURL_MAX_WRITE_SIZE);
  if (!c.want) {
    EXPECT_EQ(r.body, "version: STSv1\r\nmode: enforce\r\nmx: mail.example.test\r\nmax_age: 86400\r\n");
    EXPECT_EQ(r.detail, "");
  } else {
    EXPECT_EQ(r.body, "");
    EXPECT_FALSE(r.detail.empty());
  }
  if (c.want == FetchFailure::redirect) {
    EXPECT_NE(r.detail.find("redirect to https://mta-sts.example.test:"), std::string::npos) << r.detail;
    EXPECT_NE(r.detail.find("not followed"), std::string::npos) << r.detail;
  }
  if (c.want == FetchFailure::too_large) {
    EXPECT_NE(r.detail.find("body exceeds 65536 bytes"), std::string::npos) << r.detail;
  }
  if (c.want == FetchFailure::certificate) {
    EXPECT_NE(r.detail.find("certificate"), std::string::npos) << r.detail;
  }
}

INSTANTIATE_TEST_SUITE_P(Servers, ServerCaseTest, ::testing::Range<std::size_t>(0, std::size(kServerCases)),
                         [](const auto& info) { return std::string(kServerCases[info.param].name); });

TEST_F(FetchTest, SlowDripIsCutOffByTheTimeout) {
  ASSERT_TRUE(pki().ok);
  const std::string addr = "127.0.53.100";
  Server server(addr, pki().file("good.pem"), pki().file("good.key"), "drip");
  ASSERT_NE(server.port(), 0);
  dns::FakeResolver resolver;
  resolver.add_a("mta-sts.example.test", addr);
  const FetchResult r = fetch(resolver, server.port(), std::chrono::seconds(2));
  EXPECT_EQ(r.failure, FetchFailure::timeout) << r.detail;
  EXPECT_EQ(r.body, "");
  EXPECT_LT(r.bytes_received, 100u);
}

TEST_F(FetchTest, ConnectionRefused) {
  ASSERT_TRUE(pki().ok);
  const std::string addr = "127.0.53.101";
  dns::FakeResolver resolver;
  resolver.add_a("mta-sts.example.test", addr);
  const FetchResult r = fetch(resolver, closed_port(addr), std::chrono::seconds(5));
  EXPECT_EQ(r.failure, FetchFailure::connect) << r.detail;
}

using SteadyClock = std::chrono::steady_clock;

long long millis(SteadyClock::duration d) {
  return static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
}

// Awaits one fetch; records the result and when it arrived.
asio::awaitable<void> await_fetch(PolicyFetcher& fetcher, std::optional<FetchResult>& out,
                                  SteadyClock::time_point& done) {
  out.emplace(co_await fetcher.fetch("example.test"));
  done = SteadyClock::now();
}

// Sleeps for `d`; records when it woke.
asio::awaitable<void> sleep_for(std::chrono::milliseconds d, SteadyClock::time_point& woke) {
  asio::steady_timer timer(co_await asio::this_coro::executor, d);
  co_await timer.async_wait(asio::use_awaitable);
  woke = SteadyClock::now();
}

// `fetch || sleep`: whichever ends first cancels the other; the whole ends
// when both have ended. Records which won and when the race was over.
asio::awaitable<void> fetch_or_sleep(PolicyFetcher& fetcher, std::chrono::milliseconds d, std::size_t& winner,
                                     SteadyClock::time_point& woke, SteadyClock::time_point& done) {
  using namespace asio::experimental::awaitable_operators;
  asio::awaitable<FetchResult> fetch = fetcher.fetch("example.test");
  asio::awaitable<void> sleep = sleep_for(d, woke);
  asio::awaitable<std::variant<FetchResult, std::monostate>> race = std::move(fetch) || std::move(sleep);
  const std::variant<FetchResult, std::monostate> outcome = co_await std::move(race);
  winner = outcome.index();
  done = SteadyClock::now();
}

// A cancelled fetch aborts its transfer at once rather than at the timeout,
// and leaves the fetcher (here with a single pool thread) usable. The
// bounds are generous: they catch a hang, they do not benchmark.
TEST_F(FetchTest, CancellationAbortsTheTransferAndTheFetcherStaysUsable) {
  ASSERT_TRUE(pki().ok);
  const std::string addr = "127.0.53.103";
  auto drip = std::make_unique<Server>(addr, pki().file("good.pem"), pki().file("good.key"), "drip");
  ASSERT_NE(drip->port(), 0);
  const std::uint16_t port = drip->port();
  dns::FakeResolver resolver;
  resolver.add_a("mta-sts.example.test", addr);
  FetcherConfig config;
  config.ca_file = pki().file("ca.pem");
  config.https_port = port;
  config.timeout = std::chrono::seconds(30);
  config.threads = 1;
  CurlPolicyFetcher fetcher(resolver, config);
  constexpr auto kCancelAfter = std::chrono::milliseconds(200);
  constexpr auto kBound = std::chrono::seconds(5);

  {
    SCOPED_TRACE("cancellation slot, terminal");
    asio::io_context io;
    asio::cancellation_signal signal;
    std::optional<FetchResult> result;
    std::exception_ptr error;
    SteadyClock::time_point cancelled_at{};
    SteadyClock::time_point done{};
    asio::co_spawn(io, await_fetch(fetcher, result, done),
                   asio::bind_cancellation_slot(signal.slot(), [&error](std::exception_ptr e) { error = e; }));
    asio::steady_timer timer(io, kCancelAfter);
    timer.async_wait([&signal, &cancelled_at](std::error_code) {
      cancelled_at = SteadyClock::now();
      signal.emit(asio::cancellation_type::terminal);
    });
    io.run();
    ASSERT_FALSE(error);
    ASSERT_TRUE(result);
    EXPECT_EQ(result->failure, FetchFailure::cancelled) << result->detail;
    EXPECT_NE(result->detail.find("cancelled"), std::string::npos) << result->detail;
    EXPECT_EQ(result->body, "");
    EXPECT_LT(done - cancelled_at, kBound);
    std::cout << "[ timing   ] slot: cancel to completion " << millis(done - cancelled_at) << " ms\n";
  }
  {
    SCOPED_TRACE("awaitable_operators ||");
    asio::io_context io;
    std::size_t winner = 99;
    std::exception_ptr error;
    SteadyClock::time_point woke{};
    SteadyClock::time_point done{};
    asio::co_spawn(io, fetch_or_sleep(fetcher, kCancelAfter, winner, woke, done),
                   [&error](std::exception_ptr e) { error = e; });
    io.run();
    ASSERT_FALSE(error);
    EXPECT_EQ(winner, 1u) << "the timer should win against a 100 s drip";
    EXPECT_LT(done - woke, kBound);
    std::cout << "[ timing   ] ||: cancel to completion " << millis(done - woke) << " ms\n";
  }
  {
    SCOPED_TRACE("a normal fetch afterwards");
    drip.reset();
    Server good(addr, pki().file("good.pem"), pki().file("good.key"), "good", port);
    ASSERT_EQ(good.port(), port);
    asio::io_context io;
    const auto start = SteadyClock::now();
    const FetchResult r = run_sync(io, fetcher.fetch("example.test"));
    EXPECT_TRUE(r.ok()) << r.detail;
    EXPECT_EQ(r.body, "version: STSv1\r\nmode: enforce\r\nmx: mail.example.test\r\nmax_age: 86400\r\n");
    // The only pool thread was free: not stuck in an abandoned drip.
    EXPECT_LT(SteadyClock::now() - start, kBound);
  }
}

// An abort flag already set when the transfer gets its pool thread: no
// connection is attempted (a closed port would otherwise say `connect`).
TEST_F(FetchTest, AbortFlagAlreadySetMeansNoConnection) {
  const std::string addr = "127.0.53.103";
  dns::FakeResolver resolver;
  FetcherConfig config;
  config.https_port = closed_port(addr);
  config.timeout = std::chrono::seconds(5);
  config.threads = 1;
  CurlPolicyFetcher fetcher(resolver, config);
  const std::vector<IpAddress> addresses = {*IpAddress::parse(addr)};
  std::atomic<bool> abort{true};
  FetchResult r = fetcher.fetch_blocking("mta-sts.example.test", addresses, &abort);
  EXPECT_EQ(r.failure, FetchFailure::cancelled) << r.detail;
  abort = false;
  r = fetcher.fetch_blocking("mta-sts.example.test", addresses, &abort);
  EXPECT_EQ(r.failure, FetchFailure::connect) << r.detail;
}

struct DnsCase {
  const char* name;
  const char* zone;
};

TEST_F(FetchTest, DnsFailuresFailTheFetchWithoutConnecting) {
  const DnsCase cases[] = {
      {"bogus A", "mta-sts.example.test A !bogus\n"},
      {"bogus AAAA next to a good A", "mta-sts.example.test A 127.0.53.102\nmta-sts.example.test AAAA !bogus\n"},
      {"servfail", "mta-sts.example.test A !servfail\n"},
      {"timeout", "mta-sts.example.test A !timeout\n"},
      {"nxdomain", "other.example.test A 127.0.53.102\n"},
      {"signed bogus data", "$SECURITY bogus\nmta-sts.example.test A 127.0.53.102\n"},
  };
  for (const auto& c : cases) {
    dns::FakeResolver resolver;
    ASSERT_TRUE(resolver.load_zone_text(c.zone)) << c.name;
    const FetchResult r = fetch(resolver, 443, std::chrono::seconds(5));
    EXPECT_EQ(r.failure, FetchFailure::dns) << c.name << ": " << r.detail;
    EXPECT_EQ(r.http_status, 0) << c.name;
    EXPECT_NE(r.detail.find("mta-sts.example.test"), std::string::npos) << c.name << ": " << r.detail;
  }
}

TEST_F(FetchTest, InvalidPolicyDomainIsRejectedBeforeAnyQuery) {
  for (const char* domain : {"", "exa mple.test", "example..test", "a/b.test", "example.test:8443"}) {
    dns::FakeResolver resolver;
    const FetchResult r = fetch(resolver, 443, std::chrono::seconds(5), domain);
    EXPECT_EQ(r.failure, FetchFailure::other) << domain;
    EXPECT_EQ(resolver.query_count(), 0u) << domain;
  }
}

TEST(FetchFailureNames, AreStable) {
  EXPECT_STREQ(to_string(FetchFailure::redirect), "redirect");
  EXPECT_STREQ(to_string(FetchFailure::too_large), "too-large");
  EXPECT_STREQ(to_string(FetchFailure::content_type), "content-type");
  EXPECT_STREQ(to_string(FetchFailure::cancelled), "cancelled");
}

}  // namespace
}  // namespace mxsec::policy::mtasts
