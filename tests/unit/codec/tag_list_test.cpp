#include "codec/tag_list.hpp"

#include <gtest/gtest.h>

namespace mxsec::codec {
namespace {

TEST(TagList, ParsesRfc6376Example) {
  // RFC 6376 §3.5 example signature tags (folded).
  const std::string text =
      "v=1; a=rsa-sha256; d=example.net; s=brisbane;\r\n c=simple; q=dns/txt; i=@eng.example.net;\r\n"
      " t=1117574938; x=1118006938;\r\n h=from:to:subject:date;\r\n bh=MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI=;\r\n"
      " b=dzdVyOfAKCdLXdJOc9G2q8LoXSlEniSbav+yuU4zGeeruD00lszZ\r\n      VoG4ZHRNiYzR";
  auto tags = parse_tag_list(text);
  ASSERT_TRUE(tags) << tags.error().message;
  ASSERT_EQ(tags->size(), 12u);
  EXPECT_EQ((*tags)[0].name, "v");
  EXPECT_EQ((*tags)[0].value, "1");
  EXPECT_EQ(*find_tag(*tags, "h"), "from:to:subject:date");
  EXPECT_EQ(strip_whitespace(*find_tag(*tags, "b")),
            "dzdVyOfAKCdLXdJOc9G2q8LoXSlEniSbav+yuU4zGeeruD00lszZVoG4ZHRNiYzR");
  EXPECT_FALSE(find_tag(*tags, "l"));
}

TEST(TagList, TrailingSemicolonAndEmptyValue) {
  auto tags = parse_tag_list("v=DKIM1; p=;");
  ASSERT_TRUE(tags);
  ASSERT_EQ(tags->size(), 2u);
  EXPECT_EQ((*tags)[1].value, "");
}

struct Bad {
  const char* text;
  Errc code;
};

TEST(TagList, RejectsMalformed) {
  const Bad cases[] = {
      {"v=1; v=1", Errc::parse},        // RFC 6376 §3.2 duplicate tag invalidates the list
      {"v=1;; a=b", Errc::parse},       // empty tag-spec in the middle
      {"novalue", Errc::parse},         // no '='
      {"=x", Errc::parse},              // empty name
      {"1a=x", Errc::parse},            // name must start with ALPHA
      {"a-b=x", Errc::parse},           // '-' is not ALNUMPUNC
      {"a=x\x01y", Errc::parse},        // control character in value
      {"a=\xc3\xa9", Errc::parse},      // non-ASCII in strict mode
  };
  for (const auto& c : cases) {
    auto r = parse_tag_list(c.text);
    ASSERT_FALSE(r) << c.text;
    EXPECT_EQ(r.error().code, c.code) << c.text;
  }
}

TEST(TagList, TagCountIsLimited) {
  std::string many;
  for (int i = 0; i < 70; ++i) many += "t" + std::to_string(i) + "=x;";
  auto r = parse_tag_list(many);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::limit);
  TagListOptions wide;
  wide.max_tags = 100;
  EXPECT_TRUE(parse_tag_list(many, wide));
}

TEST(TagList, LooseModeAcceptsNonAsciiValues) {
  TagListOptions loose;
  loose.strict_valchar = false;
  EXPECT_TRUE(parse_tag_list("v=DMARC1; rua=mailto:r\xc3\xa9@example.com", loose));
}

}  // namespace
}  // namespace mxsec::codec
