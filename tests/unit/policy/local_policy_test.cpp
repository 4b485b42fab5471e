// Unit tests for policy/engine/local_policy.hpp.
#include "policy/engine/local_policy.hpp"

#include <gtest/gtest.h>

namespace mxsec::policy {
namespace {

TEST(LocalPolicy, ParsesLevelsAndComments) {
  auto map = parse_local_policy(
      "# per-destination TLS policy\n"
      "example.com   dane-only\n"
      "Legacy.Example.NET. may   # old server\n"
      ".corp.example encrypt\n"
      "\n"
      "bank.example verify\n"
      "lab.example none\n");
  ASSERT_TRUE(map) << map.error().message;
  EXPECT_EQ(map->find("example.com"), LocalLevel::dane_only);
  EXPECT_EQ(map->find("EXAMPLE.COM."), LocalLevel::dane_only);
  EXPECT_EQ(map->find("legacy.example.net"), LocalLevel::may);
  EXPECT_EQ(map->find("bank.example"), LocalLevel::verify);
  EXPECT_EQ(map->find("lab.example"), LocalLevel::none);
  // ".corp.example" covers subdomains only.
  EXPECT_EQ(map->find("mail.corp.example"), LocalLevel::encrypt);
  EXPECT_EQ(map->find("a.b.corp.example"), LocalLevel::encrypt);
  EXPECT_EQ(map->find("corp.example"), std::nullopt);
  // An exact entry does not cover subdomains.
  EXPECT_EQ(map->find("sub.example.com"), std::nullopt);
  EXPECT_EQ(map->find("other.test"), std::nullopt);
}

TEST(LocalPolicy, MostSpecificWins) {
  auto map = parse_local_policy(".example.com may\n.mail.example.com verify\nx.mail.example.com none\n");
  ASSERT_TRUE(map);
  EXPECT_EQ(map->find("x.mail.example.com"), LocalLevel::none);
  EXPECT_EQ(map->find("y.mail.example.com"), LocalLevel::verify);
  EXPECT_EQ(map->find("z.example.com"), LocalLevel::may);
}

TEST(LocalPolicy, RejectsMalformedLinesNamingThem) {
  struct Case {
    const char* text;
    const char* needle;
  } cases[] = {
      {"example.com\n", "line 1"},
      {"ok.example may\nexample.com secure\n", "line 2"},
      {"ok.example may\nexample.com secure\n", "unknown level"},
      {"bad..name may\n", "line 1"},
      {"bad!name.example may\n", "not a domain"},
      {". may\n", "line 1"},
  };
  for (const auto& c : cases) {
    auto map = parse_local_policy(c.text);
    ASSERT_FALSE(map) << c.text;
    EXPECT_EQ(map.error().code, Errc::parse);
    EXPECT_NE(map.error().message.find(c.needle), std::string::npos) << map.error().message;
  }
}

TEST(LocalPolicy, LevelNamesRoundTrip) {
  for (auto l : {LocalLevel::none, LocalLevel::may, LocalLevel::encrypt, LocalLevel::dane_only, LocalLevel::verify})
    EXPECT_EQ(parse_local_level(to_string(l)), l);
  EXPECT_EQ(parse_local_level("DANE-ONLY"), LocalLevel::dane_only);
  EXPECT_EQ(parse_local_level("dane"), std::nullopt);
  EXPECT_EQ(parse_local_level(""), std::nullopt);
}

// contains() answers for an entry of its own, as add() would key it; find()
// also walks the parents.
TEST(LocalPolicy, ContainsIsExactAndNormalized) {
  LocalPolicyMap map;
  ASSERT_TRUE(map.add("Example.TEST.", LocalLevel::verify));
  ASSERT_TRUE(map.add(".parent.test", LocalLevel::encrypt));
  EXPECT_TRUE(map.contains("example.test"));
  EXPECT_TRUE(map.contains("EXAMPLE.test."));
  EXPECT_TRUE(map.contains(".parent.test"));
  EXPECT_FALSE(map.contains("parent.test"));       // only its subdomains have an entry
  EXPECT_FALSE(map.contains("a.parent.test"));     // found by find(), not an entry of its own
  EXPECT_EQ(map.find("a.parent.test"), LocalLevel::encrypt);
  EXPECT_FALSE(map.contains(".example.test"));
  EXPECT_FALSE(map.contains("bad..name"));
}

}  // namespace
}  // namespace mxsec::policy
