// Unit tests of reporting/tlsrpt_store: the RFC 8460 §4.4 aggregate read
// back from recorded events, concurrency, durability across reopen, damaged
// files, pruning and the bounds on hostile text.
#include "reporting/tlsrpt_store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/limits.hpp"
#include "unit/core/temp_dir.hpp"

namespace mxsec::reporting {
namespace {

using policy::tlsrpt::PolicyBlock;
using policy::tlsrpt::PolicyType;
using policy::tlsrpt::ResultType;

constexpr std::int64_t kDay = 86400;
constexpr std::int64_t kDay0 = 20000 * kDay;  // 2024-10-04T00:00:00Z

class TempDir : public test::TempDir {
 public:
  TempDir() : test::TempDir("mxsec-tlsrpt") {}
};

PolicyBlock sts_policy(const std::string& domain = "company-y.example") {
  PolicyBlock p;
  p.type = PolicyType::sts;
  p.policy_domain = domain;
  p.policy_string = {"version: STSv1", "mode: testing", "mx: *.mail.company-y.example", "max_age: 86400"};
  p.mx_host = "*.mail.company-y.example";
  return p;
}

PolicyBlock tlsa_policy() {
  PolicyBlock p;
  p.type = PolicyType::tlsa;
  p.policy_domain = "company-y.example";
  p.policy_string = {"3 0 1 1F850A337E6DB9C609C522D136A475638CC43E1ED424F8EEC8513D747D1D085D",
                     "3 0 1 12350A337E6DB9C609C522D136A475638CC43E1ED424F8EEC8513D747D1D085D"};
  p.mx_host = "mx1.mail.company-y.example";
  return p;
}

TlsRptEvent success(std::int64_t time, PolicyBlock policy = sts_policy()) {
  TlsRptEvent e;
  e.time = time;
  e.policy = std::move(policy);
  e.sending_mta_ip = "2001:db8:abcd:0012::1";
  e.receiving_mx_hostname = "mx1.mail.company-y.example";
  e.receiving_ip = "203.0.113.56";
  e.queue_id = "4XyZ0001";
  return e;
}

TlsRptEvent failure(std::int64_t time, ResultType type, const std::string& receiving_ip,
                    PolicyBlock policy = sts_policy()) {
  TlsRptEvent e = success(time, std::move(policy));
  e.failure = type;
  e.receiving_ip = receiving_ip;
  e.receiving_mx_helo = "mx1.mail.company-y.example";
  e.failure_reason_code = "X509_V_ERR_CERT_HAS_EXPIRED";
  return e;
}

std::unique_ptr<TlsRptStore> open_ok(const std::string& path) {
  auto s = TlsRptStore::open(path);
  if (!s) throw std::runtime_error(s.error().message);
  return std::move(*s);
}

TEST(TlsRptStore, RecordAndSummariseRoundTrip) {
  TempDir dir;
  auto store = open_ok(dir.file("tlsrpt.sqlite"));
  ASSERT_TRUE(store->record(success(kDay0 + 10)));
  auto s = store->summarize("company-y.example", utc_day(kDay0 + 10));
  ASSERT_TRUE(s) << s.error().message;
  ASSERT_EQ(s->size(), 1u);
  EXPECT_EQ((*s)[0].policy, sts_policy());
  EXPECT_EQ((*s)[0].total_successful_session_count, 1u);
  EXPECT_EQ((*s)[0].total_failure_session_count, 0u);
  EXPECT_TRUE((*s)[0].failure_details.empty());
}

TEST(TlsRptStore, CountsPerPolicyAndPerFailure) {
  TempDir dir;
  auto store = open_ok(dir.file("tlsrpt.sqlite"));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(store->record(success(kDay0 + i)));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(store->record(failure(kDay0 + 100 + i, ResultType::certificate_expired, "203.0.113.56")));
  ASSERT_TRUE(store->record(failure(kDay0 + 200, ResultType::certificate_expired, "203.0.113.57")));
  ASSERT_TRUE(store->record(failure(kDay0 + 300, ResultType::starttls_not_supported, "203.0.113.56")));
  // A second policy of the same domain, counted apart.
  ASSERT_TRUE(store->record(success(kDay0 + 400, tlsa_policy())));
  ASSERT_TRUE(store->record(failure(kDay0 + 500, ResultType::tlsa_invalid, "203.0.113.58", tlsa_policy())));
  // Another day and another domain are not in this summary.
  ASSERT_TRUE(store->record(success(kDay0 + kDay + 1)));
  ASSERT_TRUE(store->record(success(kDay0 + 1, sts_policy("other.example"))));
  // A domain is compared in lower case.
  auto s = store->summarize("Company-Y.Example", utc_day(kDay0));
  ASSERT_TRUE(s) << s.error().message;
  ASSERT_EQ(s->size(), 2u);
  const PolicySummary& sts = (*s)[0];
  EXPECT_EQ(sts.policy.type, PolicyType::sts);
  EXPECT_EQ(sts.total_successful_session_count, 5u);
  EXPECT_EQ(sts.total_failure_session_count, 5u);
  ASSERT_EQ(sts.failure_details.size(), 3u);
  std::uint64_t sum = 0;
  for (const auto& f : sts.failure_details) sum += f.failed_session_count;
  EXPECT_EQ(sum, 5u);
  auto find = [&](ResultType t, const std::string& ip) -> const FailureDetail* {
    for (const auto& f : sts.failure_details)
      if (f.result_type == t && f.receiving_ip == ip) return &f;
    return nullptr;
  };
  ASSERT_NE(find(ResultType::certificate_expired, "203.0.113.56"), nullptr);
  EXPECT_EQ(find(ResultType::certificate_expired, "203.0.113.56")->failed_session_count, 3u);
  EXPECT_EQ(find(ResultType::certificate_expired, "203.0.113.56")->receiving_mx_helo, "mx1.mail.company-y.example");
  EXPECT_EQ(find(ResultType::certificate_expired, "203.0.113.56")->failure_reason_code, "X509_V_ERR_CERT_HAS_EXPIRED");
  ASSERT_NE(find(ResultType::certificate_expired, "203.0.113.57"), nullptr);
  EXPECT_EQ(find(ResultType::certificate_expired, "203.0.113.57")->failed_session_count, 1u);
  ASSERT_NE(find(ResultType::starttls_not_supported, "203.0.113.56"), nullptr);

  const PolicySummary& tlsa = (*s)[1];
  EXPECT_EQ(tlsa.policy, tlsa_policy());
  EXPECT_EQ(tlsa.total_successful_session_count, 1u);
  EXPECT_EQ(tlsa.total_failure_session_count, 1u);
  ASSERT_EQ(tlsa.failure_details.size(), 1u);
  EXPECT_EQ(tlsa.failure_details[0].result_type, ResultType::tlsa_invalid);

  auto next = store->summarize("company-y.example", utc_day(kDay0) + 1);
  ASSERT_TRUE(next);
  ASSERT_EQ(next->size(), 1u);
  EXPECT_EQ((*next)[0].total_successful_session_count, 1u);
  auto none = store->summarize("nobody.example", utc_day(kDay0));
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

TEST(TlsRptStore, PolicyDomainsOfADay) {
  TempDir dir;
  auto store = open_ok(dir.file("tlsrpt.sqlite"));
  ASSERT_TRUE(store->record(success(kDay0 + 5, sts_policy("b.example"))));
  ASSERT_TRUE(store->record(success(kDay0 + 6, sts_policy("A.example"))));
  ASSERT_TRUE(store->record(success(kDay0 + 7, sts_policy("b.example"))));
  ASSERT_TRUE(store->record(success(kDay0 - 1, sts_policy("yesterday.example"))));
  auto d = store->policy_domains(utc_day(kDay0));
  ASSERT_TRUE(d);
  EXPECT_EQ(*d, (std::vector<std::string>{"a.example", "b.example"}));
  auto before = store->policy_domains(utc_day(kDay0 - 1));
  ASSERT_TRUE(before);
  EXPECT_EQ(*before, (std::vector<std::string>{"yesterday.example"}));
}

TEST(TlsRptStore, UtcDay) {
  EXPECT_EQ(utc_day(0), 0);
  EXPECT_EQ(utc_day(kDay - 1), 0);
  EXPECT_EQ(utc_day(kDay), 1);
  EXPECT_EQ(utc_day(-1), -1);
  EXPECT_EQ(utc_day(kDay0 + kDay - 1), 20000);
}

TEST(TlsRptStore, ConcurrentRecordersLoseNothing) {
  TempDir dir;
  auto store = open_ok(dir.file("tlsrpt.sqlite"));
  constexpr int kThreads = 4;
  constexpr int kEach = 50;
  std::vector<std::thread> threads;
  std::vector<int> errors(kThreads, 0);
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        auto e = i % 2 ? success(kDay0 + i) : failure(kDay0 + i, ResultType::validation_failure, "192.0.2." + std::to_string(t));
        if (!store->record(e)) ++errors[static_cast<std::size_t>(t)];
      }
    });
  for (auto& t : threads) t.join();
  for (int e : errors) EXPECT_EQ(e, 0);
  auto s = store->summarize("company-y.example", utc_day(kDay0));
  ASSERT_TRUE(s);
  ASSERT_EQ(s->size(), 1u);
  EXPECT_EQ((*s)[0].total_successful_session_count, kThreads * kEach / 2u);
  EXPECT_EQ((*s)[0].total_failure_session_count, kThreads * kEach / 2u);
  EXPECT_EQ((*s)[0].failure_details.size(), static_cast<std::size_t>(kThreads));  // one receiving IP per thread
}

TEST(TlsRptStore, EventsSurviveReopen) {
  TempDir dir;
  const std::string path = dir.file("tlsrpt.sqlite");
  {
    auto store = open_ok(path);
    ASSERT_TRUE(store->record(success(kDay0 + 1)));
    ASSERT_TRUE(store->record(failure(kDay0 + 2, ResultType::dnssec_invalid, "203.0.113.9")));
  }
  auto store = open_ok(path);
  ASSERT_TRUE(store->record(success(kDay0 + 3)));
  auto s = store->summarize("company-y.example", utc_day(kDay0));
  ASSERT_TRUE(s);
  ASSERT_EQ(s->size(), 1u);
  EXPECT_EQ((*s)[0].total_successful_session_count, 2u);
  EXPECT_EQ((*s)[0].total_failure_session_count, 1u);
}

TEST(TlsRptStore, GarbageFileIsAnIoErrorNamingThePath) {
  TempDir dir;
  const std::string path = dir.file("garbage.sqlite");
  {
    std::ofstream f(path, std::ios::binary);
    for (int i = 0; i < 512; ++i) f << "this is not an SQLite database\n";
  }
  auto s = TlsRptStore::open(path);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, Errc::io);
  EXPECT_NE(s.error().message.find(path), std::string::npos) << s.error().message;
  // Nothing was written into it.
  EXPECT_EQ(std::filesystem::file_size(path), 512u * 31u);
}

TEST(TlsRptStore, UnopenablePathIsAnIoError) {
  TempDir dir;
  const std::string path = dir.file("no-such-dir/tlsrpt.sqlite");
  auto s = TlsRptStore::open(path);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, Errc::io);
  EXPECT_NE(s.error().message.find(path), std::string::npos) << s.error().message;
}

TEST(TlsRptStore, NewerSchemaIsRefused) {
  TempDir dir;
  const std::string path = dir.file("tlsrpt.sqlite");
  { open_ok(path); }
  {
    // The version a later mxsec would write.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "UPDATE schema_version SET version = 2", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  auto s = TlsRptStore::open(path);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, Errc::io);
  EXPECT_NE(s.error().message.find("schema version 2"), std::string::npos) << s.error().message;
}

TEST(TlsRptStore, PruneDeletesOldEventsOnly) {
  TempDir dir;
  auto store = open_ok(dir.file("tlsrpt.sqlite"));
  const std::int64_t now = kDay0 + 10 * kDay;
  ASSERT_TRUE(store->record(success(now - 8 * kDay, sts_policy("old.example"))));
  ASSERT_TRUE(store->record(success(now - 7 * kDay - 1)));
  ASSERT_TRUE(store->record(success(now - 7 * kDay)));
  ASSERT_TRUE(store->record(success(now - 1)));
  auto n = store->prune(now, 7);
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, 2u);
  auto old = store->policy_domains(utc_day(now - 8 * kDay));
  ASSERT_TRUE(old);
  EXPECT_TRUE(old->empty());
  auto kept = store->summarize("company-y.example", utc_day(now - 7 * kDay));
  ASSERT_TRUE(kept);
  ASSERT_EQ(kept->size(), 1u);
  EXPECT_EQ((*kept)[0].total_successful_session_count, 1u);
  auto again = store->prune(now, 7);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, 0u);
}

TEST(TlsRptStore, OversizedTextFieldsAreCutWithAMarker) {
  TempDir dir;
  const std::string path = dir.file("tlsrpt.sqlite");
  auto store = open_ok(path);
  const std::string huge(1024 * 1024, 'h');
  TlsRptEvent e = failure(kDay0, ResultType::certificate_host_mismatch, huge);
  e.receiving_mx_hostname = huge;
  e.receiving_mx_helo = huge + "\r\nInjected: yes";
  e.failure_reason_code = huge;
  e.additional_information = huge;
  e.sending_mta_ip = huge;
  e.queue_id = huge;
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(store->record(e));
  auto s = store->summarize("company-y.example", utc_day(kDay0));
  ASSERT_TRUE(s);
  ASSERT_EQ(s->size(), 1u);
  ASSERT_EQ((*s)[0].failure_details.size(), 1u);
  const FailureDetail& f = (*s)[0].failure_details[0];
  EXPECT_EQ(f.failed_session_count, 20u);
  for (const std::string* t : {&f.receiving_mx_hostname, &f.receiving_mx_helo, &f.failure_reason_code,
                               &f.additional_information, &f.sending_mta_ip, &f.receiving_ip}) {
    EXPECT_LE(t->size(), limits::kTlsRptEventTextBytes + 3);
    EXPECT_EQ(t->substr(t->size() - 3), "...");
    EXPECT_EQ(t->find_first_of("\r\n"), std::string::npos);
  }
  // 20 events of 7 MiB offered; the file holds a small fraction of it.
  std::uintmax_t bytes = std::filesystem::file_size(path);
  if (std::filesystem::exists(path + "-wal")) bytes += std::filesystem::file_size(path + "-wal");
  EXPECT_LT(bytes, 1024u * 1024u);
}

TEST(TlsRptStore, ControlBytesInAHeloAreEscaped) {
  TempDir dir;
  auto store = open_ok(dir.file("tlsrpt.sqlite"));
  TlsRptEvent e = failure(kDay0, ResultType::validation_failure, "203.0.113.1");
  e.receiving_mx_helo = std::string("mx\x01\xff.example", 12);
  ASSERT_TRUE(store->record(e));
  auto s = store->summarize("company-y.example", utc_day(kDay0));
  ASSERT_TRUE(s);
  EXPECT_EQ((*s)[0].failure_details.at(0).receiving_mx_helo, "mx\\x01\\xff.example");
  EXPECT_NO_THROW((void)to_json((*s)[0]).dump());
}

TEST(TlsRptStore, OversizedPolicyIsRefusedNotCut) {
  TempDir dir;
  auto store = open_ok(dir.file("tlsrpt.sqlite"));
  TlsRptEvent many = success(kDay0);
  many.policy.policy_string.assign(limits::kTlsRptPolicyStrings + 1, "mx: a.example");
  auto r = store->record(many);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::limit);
  TlsRptEvent big = success(kDay0);
  big.policy.policy_string = {std::string(limits::kTlsRptPolicyBytes + 1, 'a')};
  r = store->record(big);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::limit);
  TlsRptEvent control = success(kDay0);
  control.policy.policy_string = {"mode: enforce\nmx: evil.example"};
  r = store->record(control);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::parse);
  // At the limits, an event is kept whole.
  TlsRptEvent at_limit = success(kDay0);
  at_limit.policy.policy_string = {std::string(limits::kTlsRptPolicyBytes, 'a')};
  ASSERT_TRUE(store->record(at_limit));
  auto s = store->summarize("company-y.example", utc_day(kDay0));
  ASSERT_TRUE(s);
  ASSERT_EQ(s->size(), 1u);
  EXPECT_EQ((*s)[0].policy.policy_string, at_limit.policy.policy_string);
}

TEST(TlsRptStore, JsonFollowsRfc8460Section44) {
  TempDir dir;
  auto store = open_ok(dir.file("tlsrpt.sqlite"));
  ASSERT_TRUE(store->record(success(kDay0 + 1)));
  ASSERT_TRUE(store->record(success(kDay0 + 2)));
  TlsRptEvent f = failure(kDay0 + 3, ResultType::certificate_expired, "203.0.113.56");
  f.additional_information = "https://reports.company-x.example/TLS?c=1";
  ASSERT_TRUE(store->record(f));
  TlsRptEvent bare = failure(kDay0 + 4, ResultType::starttls_not_supported, "203.0.113.57");
  bare.receiving_mx_helo.clear();
  bare.failure_reason_code.clear();
  ASSERT_TRUE(store->record(bare));
  auto s = store->summarize("company-y.example", utc_day(kDay0));
  ASSERT_TRUE(s);
  ASSERT_EQ(s->size(), 1u);
  const nlohmann::json j = to_json((*s)[0]);
  const nlohmann::json expected = nlohmann::json::parse(R"({
    "policy": {
      "policy-type": "sts",
      "policy-string": ["version: STSv1", "mode: testing", "mx: *.mail.company-y.example", "max_age: 86400"],
      "policy-domain": "company-y.example",
      "mx-host": "*.mail.company-y.example"
    },
    "summary": {"total-successful-session-count": 2, "total-failure-session-count": 2},
    "failure-details": [
      {"result-type": "certificate-expired",
       "sending-mta-ip": "2001:db8:abcd:0012::1",
       "receiving-mx-hostname": "mx1.mail.company-y.example",
       "receiving-mx-helo": "mx1.mail.company-y.example",
       "receiving-ip": "203.0.113.56",
       "failed-session-count": 1,
       "additional-information": "https://reports.company-x.example/TLS?c=1",
       "failure-reason-code": "X509_V_ERR_CERT_HAS_EXPIRED"},
      {"result-type": "starttls-not-supported",
       "sending-mta-ip": "2001:db8:abcd:0012::1",
       "receiving-mx-hostname": "mx1.mail.company-y.example",
       "receiving-ip": "203.0.113.57",
       "failed-session-count": 1}
    ]
  })");
  EXPECT_EQ(j, expected) << j.dump(2);
}

}  // namespace
}  // namespace mxsec::reporting
