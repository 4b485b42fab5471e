#include "daemon/verdict_log.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

namespace mxsec::daemon {
namespace {

auth::MessageVerdict sample() {
  auth::MessageVerdict v;
  v.from_domain = "example.org";
  v.spf.domain = "bounce.example.org";
  v.spf.verdict = auth::spf::Verdict::pass;
  auth::dkim::SignatureResult sig;
  sig.domain = "example.org";
  sig.selector = "s1";
  sig.result = auth::dkim::Verdict::fail;
  v.dkim.signatures.push_back(sig);
  v.dmarc.result = auth::dmarc::Verdict::fail;
  v.dmarc.discovery.policy_domain = "example.org";
  v.dmarc.policy.applied = auth::dmarc::Policy::quarantine;
  return v;
}

TEST(VerdictLog, OneJsonLinePerMessage) {
  smtp::server::ClientInfo client{*IpAddress::parse("192.0.2.7"), 1, config::ListenerKind::smtp, false};
  const auto line = verdict_line(sample(), client, "quarantine", 1796300000);
  ASSERT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  const auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["source_ip"], "192.0.2.7");
  EXPECT_EQ(j["header_from"], "example.org");
  EXPECT_EQ(j["dmarc"], "fail");
  EXPECT_EQ(j["policy"], "quarantine");
  EXPECT_EQ(j["disposition"], "quarantine");
  EXPECT_EQ(j["spf"]["domain"], "bounce.example.org");
  EXPECT_EQ(j["spf"]["result"], "pass");
  EXPECT_EQ(j["dkim"][0]["selector"], "s1");
  EXPECT_EQ(j["dkim"][0]["result"], "fail");
  EXPECT_EQ(j["time"], 1796300000);
}

TEST(VerdictLog, InvalidUtf8FromTheClientDoesNotBreakTheLine) {
  auto v = sample();
  v.from_domain = "bad\xff\xfe.example";
  smtp::server::ClientInfo client{*IpAddress::parse("192.0.2.7"), 1, config::ListenerKind::smtp, false};
  const auto j = nlohmann::json::parse(verdict_line(v, client, "accept", 1));
  EXPECT_NE(j["header_from"].get<std::string>().find("bad"), std::string::npos);
}

TEST(VerdictLog, AppendsToTheFile) {
  const auto path = std::filesystem::temp_directory_path() / ("mxsec-verdicts-" + std::to_string(::getpid()));
  std::filesystem::remove(path);
  smtp::server::ClientInfo client{*IpAddress::parse("192.0.2.7"), 1, config::ListenerKind::smtp, false};
  {
    auto log = VerdictLog::open(path.string());
    ASSERT_TRUE(log) << log.error().message;
    (*log)->record(sample(), client, "accept", 1);
    (*log)->record(sample(), client, "reject", 2);
  }
  std::ifstream in(path);
  std::string a, b, c;
  std::getline(in, a);
  std::getline(in, b);
  EXPECT_FALSE(std::getline(in, c));
  EXPECT_EQ(nlohmann::json::parse(a)["disposition"], "accept");
  EXPECT_EQ(nlohmann::json::parse(b)["disposition"], "reject");
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace mxsec::daemon
