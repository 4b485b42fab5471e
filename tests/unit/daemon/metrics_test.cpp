// daemon/metrics.hpp: every family and series of `mxsec serve` is rendered
// from the start, counts show up under their labels, DNS answers are
// classified, the queue length and delivery attempts are read at render
// time from a real spool and queue runner, and every family is documented
// in docs/operations.md.
#include "daemon/metrics.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/use_future.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "delivery/runner.hpp"
#include "queue/spool.hpp"
#include "unit/config/test_server_config.hpp"

namespace mxsec::daemon {
namespace {

namespace fs = std::filesystem;

// name -> (type, number of series)
const std::map<std::string, std::pair<std::string, std::size_t>> kFamilies = {
    {"mxsec_sessions_total", {"counter", 3}},
    {"mxsec_sessions_active", {"gauge", 3}},
    {"mxsec_tls_handshakes_total", {"counter", 4}},
    {"mxsec_messages_accepted_total", {"counter", 1}},
    {"mxsec_messages_rejected_total", {"counter", 7}},
    {"mxsec_recipients_rejected_total", {"counter", 4}},
    {"mxsec_limit_hits_total", {"counter", 10}},
    {"mxsec_smtp_auth_total", {"counter", 4}},
    {"mxsec_auth_results_total", {"counter", 7 + 7 + 6 + 5}},
    {"mxsec_dns_queries_total", {"counter", 11}},
    {"mxsec_dns_query_failures_total", {"counter", 4}},
    {"mxsec_queue_messages", {"gauge", 1}},
    {"mxsec_delivery_attempts_total", {"counter", 3}},
    {"mxsec_dsn_queued_total", {"counter", 1}},
    {"mxsec_relay_attempts_total", {"counter", 9 * 3}},  // policy verdicts x results
    {"mxsec_tls_sessions_total", {"counter", 12}},       // success + the 11 RFC 8460 result types
    {"process_start_time_seconds", {"gauge", 1}},
};

struct Family {
  std::string type;
  std::map<std::string, std::string> series;  // "{labels}" (or "") -> value
};

// A strict reading of the exposition: HELP, then TYPE, then the samples of
// that family only; a family once.
std::map<std::string, Family> read_exposition(const std::string& text) {
  std::map<std::string, Family> out;
  std::istringstream in(text);
  std::string line, current;
  while (std::getline(in, line)) {
    if (line.starts_with("# HELP ")) {
      current = line.substr(7, line.find(' ', 7) - 7);
      EXPECT_FALSE(out.contains(current)) << "family twice: " << current;
      out[current];
      continue;
    }
    if (line.starts_with("# TYPE ")) {
      const std::string rest = line.substr(7);
      EXPECT_EQ(rest.substr(0, rest.find(' ')), current) << "TYPE without its HELP: " << line;
      out[current].type = rest.substr(rest.find(' ') + 1);
      continue;
    }
    const std::size_t name_end = line.find_first_of("{ ");
    EXPECT_EQ(line.substr(0, name_end), current) << "sample outside its family: " << line;
    const std::size_t value_at = line.rfind(' ');
    out[current].series[line.substr(name_end, value_at - name_end)] = line.substr(value_at + 1);
  }
  return out;
}

TEST(ServerMetrics, EveryFamilyAndSeriesFromTheStart) {
  ServerMetrics m({nullptr, nullptr, 1796300000.5});
  const auto families = read_exposition(m.render());
  ASSERT_EQ(families.size(), kFamilies.size());
  for (const auto& [name, want] : kFamilies) {
    ASSERT_TRUE(families.contains(name)) << name;
    const Family& f = families.at(name);
    EXPECT_EQ(f.type, want.first) << name;
    const std::size_t series = name == "mxsec_queue_messages" || name == "mxsec_delivery_attempts_total" ||
                                       name == "mxsec_dsn_queued_total" || name == "mxsec_relay_attempts_total" ||
                                       name == "mxsec_tls_sessions_total"
                                   ? 0 : want.second;
    EXPECT_EQ(f.series.size(), series) << name << ": without a spool and a runner, no value is made up";
    if (name == "process_start_time_seconds") continue;
    for (const auto& [labels, value] : f.series) EXPECT_EQ(value, "0") << name << labels;
  }
  EXPECT_EQ(families.at("process_start_time_seconds").series.at(""), "1796300000.5");
}

TEST(ServerMetrics, CountsShowUpUnderTheirLabels) {
  ServerMetrics m({});
  using namespace smtp::server;
  m.smtp().sessions[config::ListenerKind::submission].inc();
  m.smtp().sessions_active[config::ListenerKind::smtps].inc(2);
  m.smtp().tls_handshake_failures[TlsMode::implicit].inc();
  m.smtp().messages_accepted.inc(5);
  m.smtp().messages_rejected[MessageRejection::bare_newline].inc();
  m.smtp().recipients_rejected[RecipientRejection::relay].inc(3);
  m.smtp().limit_hits[LimitName::max_sessions_per_client].inc();
  m.smtp().auth_failures[smtp::SaslMechanism::login].inc();
  m.auth().spf[auth::spf::Verdict::softfail].inc();
  m.auth().spf_helo[auth::spf::Verdict::none].inc();
  m.auth().dkim[auth::dkim::Verdict::temperror].inc();
  m.auth().dmarc[auth::dmarc::Verdict::fail].inc();
  const auto f = read_exposition(m.render());
  EXPECT_EQ(f.at("mxsec_sessions_total").series.at("{listener=\"submission\"}"), "1");
  EXPECT_EQ(f.at("mxsec_sessions_total").series.at("{listener=\"smtp\"}"), "0");
  EXPECT_EQ(f.at("mxsec_sessions_active").series.at("{listener=\"smtps\"}"), "2");
  EXPECT_EQ(f.at("mxsec_tls_handshakes_total").series.at("{mode=\"implicit\",result=\"failed\"}"), "1");
  EXPECT_EQ(f.at("mxsec_tls_handshakes_total").series.at("{mode=\"implicit\",result=\"ok\"}"), "0");
  EXPECT_EQ(f.at("mxsec_messages_accepted_total").series.at(""), "5");
  EXPECT_EQ(f.at("mxsec_messages_rejected_total").series.at("{reason=\"bare_newline\"}"), "1");
  EXPECT_EQ(f.at("mxsec_recipients_rejected_total").series.at("{reason=\"relay\"}"), "3");
  EXPECT_EQ(f.at("mxsec_limit_hits_total").series.at("{limit=\"max_sessions_per_client\"}"), "1");
  EXPECT_EQ(f.at("mxsec_smtp_auth_total").series.at("{mechanism=\"LOGIN\",result=\"failure\"}"), "1");
  EXPECT_EQ(f.at("mxsec_smtp_auth_total").series.at("{mechanism=\"PLAIN\",result=\"failure\"}"), "0");
  const auto& results = f.at("mxsec_auth_results_total").series;
  EXPECT_EQ(results.at("{method=\"spf\",result=\"softfail\"}"), "1");
  EXPECT_EQ(results.at("{method=\"spf_helo\",result=\"none\"}"), "1");
  EXPECT_EQ(results.at("{method=\"dkim\",result=\"temperror\"}"), "1");
  EXPECT_EQ(results.at("{method=\"dmarc\",result=\"fail\"}"), "1");
  EXPECT_EQ(results.at("{method=\"dmarc\",result=\"pass\"}"), "0");
  // The RFC words of each method, and nothing else.
  for (const char* r : {"pass", "fail", "softfail", "neutral", "none", "temperror", "permerror"})
    EXPECT_TRUE(results.contains("{method=\"spf\",result=\"" + std::string(r) + "\"}")) << r;
  for (const char* r : {"pass", "fail", "neutral", "none", "temperror", "permerror"})
    EXPECT_TRUE(results.contains("{method=\"dkim\",result=\"" + std::string(r) + "\"}")) << r;
  for (const char* r : {"pass", "fail", "none", "temperror", "permerror"})
    EXPECT_TRUE(results.contains("{method=\"dmarc\",result=\"" + std::string(r) + "\"}")) << r;
}

dns::RawAnswer answer(dns::Status status, dns::Security security) {
  dns::RawAnswer a;
  a.status = status;
  a.security = security;
  return a;
}

TEST(ServerMetrics, DnsAnswersByTypeAndFailure) {
  ServerMetrics m({});
  dns::QueryObserver& observer = m.dns();
  using dns::RrType, dns::Status, dns::Security;
  observer.answered(RrType::txt, answer(Status::ok, Security::secure));
  observer.answered(RrType::txt, answer(Status::nxdomain, Security::insecure));  // not a failure
  observer.answered(RrType::mx, answer(Status::nodata, Security::insecure));     // not a failure
  observer.answered(RrType::mx, answer(Status::servfail, Security::indeterminate));
  observer.answered(RrType::a, answer(Status::timeout, Security::indeterminate));
  observer.answered(RrType::tlsa, answer(Status::ok, Security::bogus));       // bogus, whatever the rcode
  observer.answered(RrType::aaaa, answer(Status::servfail, Security::bogus));  // counted once, as bogus
  observer.answered(RrType::ptr, answer(Status::error, Security::indeterminate));
  const auto f = read_exposition(m.render());
  const auto& q = f.at("mxsec_dns_queries_total").series;
  EXPECT_EQ(q.at("{type=\"TXT\"}"), "2");
  EXPECT_EQ(q.at("{type=\"MX\"}"), "2");
  EXPECT_EQ(q.at("{type=\"A\"}"), "1");
  EXPECT_EQ(q.at("{type=\"TLSA\"}"), "1");
  EXPECT_EQ(q.at("{type=\"AAAA\"}"), "1");
  EXPECT_EQ(q.at("{type=\"PTR\"}"), "1");
  EXPECT_EQ(q.at("{type=\"DNSKEY\"}"), "0");
  const auto& failures = f.at("mxsec_dns_query_failures_total").series;
  EXPECT_EQ(failures.at("{reason=\"servfail\"}"), "1");
  EXPECT_EQ(failures.at("{reason=\"timeout\"}"), "1");
  EXPECT_EQ(failures.at("{reason=\"bogus\"}"), "2");
  EXPECT_EQ(failures.at("{reason=\"error\"}"), "1");
}

// The queue length and the delivery attempts come from the spool and the
// runner at render time: one message delivered into a Maildir, one waiting
// in the queue (relayed mail has no delivery agent yet).
TEST(ServerMetrics, QueueAndDeliveriesAreReadAtRenderTime) {
  const fs::path dir = fs::temp_directory_path() / ("mxsec-metrics-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  const config::ServerConfig config = test::test_server_config(dir);
  auto spool = queue::Spool::open({dir.string(), false}, queue::Mode::server);
  ASSERT_TRUE(spool) << spool.error().message;
  FixedClock clock{1796300000};
  delivery::QueueRunner runner(**spool, config, clock);
  ServerMetrics m({spool->get(), &runner, 0});
  const auto value = [&m](const std::string& family, const std::string& labels) {
    return read_exposition(m.render()).at(family).series.at(labels);
  };
  EXPECT_EQ(value("mxsec_queue_messages", ""), "0");

  std::vector<queue::Envelope> committed;
  for (const std::string rcpt : {"bob@example.test", "someone@other.example"}) {
    auto w = (*spool)->create();
    ASSERT_TRUE(w);
    ASSERT_TRUE(w->write("Subject: metrics\r\n\r\nhi\r\n"));
    queue::Envelope e;
    e.id = w->id();
    e.arrival = clock.now();  // just arrived: far from max_lifetime
    queue::Recipient r;
    r.address = rcpt;
    r.domain_ascii = rcpt.substr(rcpt.find('@') + 1);
    e.recipients.push_back(r);
    asio::io_context io;
    auto done = asio::co_spawn(io, (*spool)->commit(std::move(*w), e, ""), asio::use_future);
    io.run();
    ASSERT_TRUE(done.get());
    committed.push_back(e);
  }
  EXPECT_EQ(value("mxsec_queue_messages", ""), "2");
  for (const auto& e : committed) runner.submit(e);
  runner.wait_idle();
  EXPECT_EQ(value("mxsec_queue_messages", ""), "1");
  EXPECT_EQ(value("mxsec_delivery_attempts_total", "{result=\"delivered\"}"), "1");
  EXPECT_EQ(value("mxsec_delivery_attempts_total", "{result=\"deferred\"}"), "1");
  runner.stop();
  fs::remove_all(dir);
}

TEST(ServerMetrics, EveryFamilyIsDocumented) {
  std::ifstream in(fs::path(MXSEC_TESTDATA_DIR) / ".." / ".." / "docs" / "operations.md");
  ASSERT_TRUE(in);
  std::stringstream text;
  text << in.rdbuf();
  for (const auto& [name, _] : kFamilies)
    EXPECT_NE(text.str().find("| `" + name + "` |"), std::string::npos) << name << " is not in docs/operations.md";
}

}  // namespace
}  // namespace mxsec::daemon
