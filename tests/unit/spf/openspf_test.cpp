// The OpenSPF test suite (tests/data/openspf, see its README.md): one test
// per case id, RFC 7208 and RFC 4408 editions. Each case builds the DNS of
// its scenario from `zonedata` and runs check_host() on the MAIL FROM
// identity (postmaster@HELO when MAIL FROM is empty, RFC 7208 §2.4).
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <map>
#include <set>

#include "auth/spf/spf.hpp"
#include "core/strings.hpp"
#include "dns/run_sync.hpp"
#include "zone_resolver.hpp"

namespace mxsec::auth::spf {
namespace {

struct SpfCase {
  std::string file, scenario, id, name;
  YAML::Node test, zone;
  std::string load_error;  // set when the suite file could not be read
};

void PrintTo(const SpfCase& c, std::ostream* os) { *os << c.file << ":" << c.id; }

std::string sanitize(std::string_view id) {
  std::string out;
  for (char c : id) out += is_alnum(c) ? c : '_';
  return out;
}

std::vector<SpfCase> load_openspf(const std::string& file) {
  const std::string path = std::string(MXSEC_TESTDATA_DIR) + "/openspf/" + file;
  std::vector<SpfCase> out;
  std::set<std::string> names;
  try {
    for (const YAML::Node& doc : YAML::LoadAllFromFile(path)) {
      if (!doc || !doc["tests"]) continue;
      for (const auto& kv : doc["tests"]) {
        SpfCase c{file, doc["description"].as<std::string>(""), kv.first.as<std::string>(), {}, kv.second,
                  doc["zonedata"], {}};
        c.name = sanitize(c.id);
        while (!names.insert(c.name).second) c.name += "_dup";
        out.push_back(std::move(c));
      }
    }
  } catch (const std::exception& e) {
    out.clear();
    out.push_back({file, "", "missing", "load_error", {}, {}, path + ": " + e.what()});
  }
  if (out.empty()) out.push_back({file, "", "empty", "load_error", {}, {}, path + ": no test cases"});
  return out;
}

std::vector<std::string> txt_strings(const YAML::Node& v) {
  if (v.IsSequence()) {
    std::vector<std::string> s;
    for (const auto& x : v) s.push_back(x.as<std::string>());
    return s;
  }
  return {v.as<std::string>()};
}

dns::RrType rr_type(const std::string& t) {
  if (t == "A") return dns::RrType::a;
  if (t == "AAAA") return dns::RrType::aaaa;
  if (t == "MX") return dns::RrType::mx;
  if (t == "PTR") return dns::RrType::ptr;
  if (t == "CNAME") return dns::RrType::cname;
  return dns::RrType::txt;  // TXT, and SPF copied to TXT
}

// Builds the scenario's DNS as the suite README describes.
void load_zone(const YAML::Node& zone, test::ZoneResolver& dns) {
  for (const auto& entry : zone) {
    const std::string name = entry.first.as<std::string>();
    // "Copy each SPF entry into a TXT entry unless the name already has a
    // TXT entry" (a TXT value of NONE counts as an entry and is not served).
    bool has_txt = false;
    for (const auto& rec : entry.second)
      if (rec.IsMap() && rec["TXT"]) has_txt = true;
    for (const auto& rec : entry.second) {
      if (rec.IsScalar()) {
        if (rec.as<std::string>() == "TIMEOUT") dns.add_name_timeout(name);
        continue;
      }
      for (const auto& kv : rec) {
        std::string type = kv.first.as<std::string>();
        const YAML::Node& v = kv.second;
        if (type == "SPF") {
          if (has_txt) continue;
          type = "TXT";
        }
        if (v.IsScalar() && v.as<std::string>() == "NONE") continue;
        if (v.IsScalar() && v.as<std::string>() == "TIMEOUT") {
          dns.add_type_timeout(name, rr_type(type));
          continue;
        }
        if (type == "TXT") dns.add_txt(name, txt_strings(v));
        else if (type == "A" || type == "AAAA") dns.add_a(name, v.as<std::string>());
        else if (type == "MX") dns.add_mx(name, v[0].as<std::uint16_t>(), v[1].as<std::string>());
        else if (type == "PTR") dns.add_ptr(name, v.as<std::string>());
        else if (type == "CNAME") dns.add_cname(name, v.as<std::string>());
        else ADD_FAILURE() << "unknown record type " << type << " at " << name;
      }
    }
  }
  // "A name that starts with error. and is absent also means a temporary
  // error (pyspf's harness behaves this way)."
  dns.set_temp_fail([](const std::string& n) { return istarts_with(n, "error."); });
}

// RFC 4408 cases whose expected result RFC 7208 changed would be listed here
// as {id, reason}. None is needed: where the editions differ, the RFC 4408
// file accepts a list of results that includes the RFC 7208 one.
const std::map<std::string, std::string>& rfc4408_skips() {
  static const std::map<std::string, std::string> kSkips = {};
  return kSkips;
}

class OpenSpf : public ::testing::TestWithParam<SpfCase> {};

TEST_P(OpenSpf, CheckHost) {
  const SpfCase& c = GetParam();
  ASSERT_TRUE(c.load_error.empty()) << c.load_error;
  if (c.file == "rfc4408-tests.yml") {
    auto it = rfc4408_skips().find(c.id);
    if (it != rfc4408_skips().end()) GTEST_SKIP() << it->second;
  }
  test::ZoneResolver dns;
  load_zone(c.zone, dns);

  std::vector<Verdict> expected;
  const YAML::Node& r = c.test["result"];
  for (const auto& w : r.IsSequence() ? std::vector<YAML::Node>(r.begin(), r.end()) : std::vector<YAML::Node>{r}) {
    auto v = parse_verdict(w.as<std::string>());
    ASSERT_TRUE(v) << "unknown result word " << w.as<std::string>();
    expected.push_back(*v);
  }
  auto ip = IpAddress::parse(c.test["host"].as<std::string>());
  ASSERT_TRUE(ip) << c.test["host"].as<std::string>();

  Config config;
  config.default_explanation = "DEFAULT";
  FixedClock clock(1700000000);
  config.clock = &clock;
  asio::io_context io;
  const SpfResult res = run_sync(io, check_sender(dns, *ip, c.test["helo"].as<std::string>(""),
                                                  c.test["mailfrom"].as<std::string>(""), "", config));
  const std::string got = to_string(res.verdict);
  EXPECT_NE(std::find(expected.begin(), expected.end(), res.verdict), expected.end())
      << c.scenario << " / " << c.id << ": got " << got << " (" << res.reason << "), expected " << YAML::Dump(r);
  if (res.verdict == Verdict::fail && c.test["explanation"]) {
    // Compared case-insensitively, as Mail::SPF's harness does: the suite
    // writes %{ir} nibbles of IPv6 in upper case where RFC 7208 §7.4 shows
    // lower case.
    const std::string want = c.test["explanation"].as<std::string>();
    EXPECT_TRUE(iequals(res.explanation, want)) << c.id << ": explanation '" << res.explanation << "', want '" << want << "'";
  }
  // Work stays bounded whatever the scenario: 10 terms, each with at most 10
  // address lookups, plus the record, %{p} and exp lookups.
  EXPECT_LE(res.lookups, config.max_dns_terms + 1);
  EXPECT_LE(dns.query_count(), 140u);
}

std::string case_name(const ::testing::TestParamInfo<SpfCase>& info) { return info.param.name; }

INSTANTIATE_TEST_SUITE_P(Rfc7208, OpenSpf, ::testing::ValuesIn(load_openspf("rfc7208-tests.yml")), case_name);
INSTANTIATE_TEST_SUITE_P(Rfc4408, OpenSpf, ::testing::ValuesIn(load_openspf("rfc4408-tests.yml")), case_name);

}  // namespace
}  // namespace mxsec::auth::spf
