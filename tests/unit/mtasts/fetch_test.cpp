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

#include <asio/io_context.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
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
  Server(const std::string& bind, const std::string& cert, const std::string& key, const std::string& mode) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return;
    const std::string script = std::string(MXSEC_MTASTS_TEST_DIR) + "/https_server.py";
    std::vector<std::string> argv = {"/usr/bin/python3", script, "--bind", bind, "--cert", cert,
                                     "--key", key, "--mode", mode};
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
}

}  // namespace
}  // namespace mxsec::policy::mtasts
