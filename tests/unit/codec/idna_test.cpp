// Tests for codec/idna.cpp: to_a_label_domain(), U-labels to A-labels
// (RFC 9989 §5.3.1, RFC 8616 §3) through libidn2.
#include "codec/idna.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "codec/address.hpp"

namespace mxsec::codec {
namespace {

TEST(Rfc9989AuthorDomainIsConvertedToALabels, ConvertsULabels) {
  struct Case {
    const char* name;
    std::string in, want;
  };
  const std::vector<Case> cases = {
      {"buecher", "b\xc3\xbc" "cher.example", "xn--bcher-kva.example"},
      {"upper_u_label", "B\xc3\x9c" "CHER.Example", "xn--bcher-kva.example"},  // UTS #46 mapping
      {"nfd_input", "bu\xcc\x88" "cher.example", "xn--bcher-kva.example"},     // u + COMBINING DIAERESIS
      {"subdomain", "mail.b\xc3\xbc" "cher.example.", "mail.xn--bcher-kva.example"},
      {"ascii_lowered", "Example.COM", "example.com"},
      {"a_label_kept", "XN--BCHER-KVA.example", "xn--bcher-kva.example"},
      {"underscore_labels_kept", "_dmarc.b\xc3\xbc" "cher.example", "_dmarc.xn--bcher-kva.example"},
      {"ideographic_full_stop", "b\xc3\xbc" "cher\xe3\x80\x82" "example", "xn--bcher-kva.example"},
  };
  for (const Case& c : cases) {
    auto r = to_a_label_domain(c.in);
    ASSERT_TRUE(r) << c.name << ": " << r.error().message;
    EXPECT_EQ(*r, c.want) << c.name;
  }
}

TEST(Rfc9989AuthorDomainIsConvertedToALabels, RejectsInvalidNames) {
  struct Case {
    const char* name;
    std::string in;
  };
  const std::vector<Case> cases = {
      {"empty", ""},
      {"dot_only", "."},
      {"empty_label", "b\xc3\xbc" "cher..example"},
      {"not_utf8", "b\xfc" "cher.example"},
      {"disallowed_symbol", "\xe2\x99\xa5.example"},  // U+2665 is not IDNA 2008
      {"too_long_label", std::string(70, 'a') + "\xc3\xbc.example"},
      {"too_long_name", [] {
         std::string s;
         for (int i = 0; i < 20; ++i) s += "b\xc3\xbc" "cher-0123.";
         return s + "example";
       }()},
  };
  for (const Case& c : cases) {
    auto r = to_a_label_domain(c.in);
    ASSERT_FALSE(r) << c.name << " gave " << *r;
    EXPECT_EQ(r.error().code, Errc::parse) << c.name;
    EXPECT_NE(r.error().message.find("invalid domain name"), std::string::npos) << r.error().message;
    for (char ch : r.error().message)
      EXPECT_TRUE(ch >= 0x20 && ch < 0x7f) << c.name << ": the error escapes the input";
  }
}

TEST(Rfc9989AuthorDomainIsConvertedToALabels, FromFieldWithULabel) {
  // From: joerg@bücher.example
  auto boxes = parse_mailbox_list("J\xc3\xb6rg <joerg@b\xc3\xbc" "cher.example>");
  ASSERT_TRUE(boxes) << boxes.error().message;
  ASSERT_EQ(boxes->size(), 1u);
  EXPECT_EQ((*boxes)[0].domain, "xn--bcher-kva.example");
  auto bare = parse_mailbox_list("joerg@b\xc3\xbc" "cher.example");
  ASSERT_TRUE(bare) << bare.error().message;
  EXPECT_EQ((*bare)[0].domain, "xn--bcher-kva.example");
  EXPECT_FALSE(parse_mailbox_list("joerg@b\xfc" "cher.example"));
}

}  // namespace
}  // namespace mxsec::codec
