// dns/presentation: rdata shown as zone-file text by `mxsec dns`.
#include "dns/presentation.hpp"

#include <gtest/gtest.h>

#include "dns/rdata.hpp"

namespace mxsec::dns {
namespace {

using namespace std::string_literals;

struct TextCase {
  RrType type;
  std::string rdata;
  const char* text;  // nullptr: malformed
};

class RdataToText : public ::testing::TestWithParam<TextCase> {};

TEST_P(RdataToText, Formats) {
  const TextCase& c = GetParam();
  auto t = rdata_to_text(c.type, c.rdata);
  if (c.text == nullptr) {
    EXPECT_FALSE(t) << *t;
    return;
  }
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(*t, c.text);
}

INSTANTIATE_TEST_SUITE_P(
    All, RdataToText,
    ::testing::Values(
        TextCase{RrType::a, "\xc0\x00\x02\x01"s, "192.0.2.1"},
        TextCase{RrType::a, "\xc0\x00"s, nullptr},
        TextCase{RrType::aaaa, "\x20\x01\x0d\xb8" + std::string(11, '\0') + "\x01", "2001:db8::1"},
        TextCase{RrType::mx, "\x00\x0a\x02mx\x04test\x00"s, "10 mx.test."},
        TextCase{RrType::mx, "\x00\x00\x00"s, "0 ."},
        TextCase{RrType::txt, "\x05" "a\"b\\c\x02\x01\xff"s, "\"a\\\"b\\\\c\" \"\\001\\255\""},
        TextCase{RrType::txt, "\x06" "abc"s, nullptr},
        TextCase{RrType::cname, "\x04host\x04test\x00"s, "host.test."},
        TextCase{RrType::ns, "\x00"s, "."},
        TextCase{RrType::tlsa, "\x03\x01\x01\xab\xcd"s, "3 1 1 ABCD"},
        TextCase{RrType::ds, "\xb0\xaa\x0d\x02\x01\x02"s, "45226 13 2 0102"},
        TextCase{RrType::ds, "\xb0\xaa\x0d\x02"s, nullptr},
        TextCase{RrType::dnskey, "\x01\x01\x03\x0d\xff\xfe"s, "257 3 13 //4="},
        TextCase{RrType::soa, "\x03ns1\x04test\x00\x0ahostmaster\x04test\x00" "\x00\x00\x00\x01\x00\x00\x0e\x10\x00\x00\x03\x84\x00\x12\x75\x00\x00\x00\x01\x2c"s,
                 "ns1.test. hostmaster.test. 1 3600 900 1209600 300"},
        TextCase{RrType::soa, "\x03ns1\x00\x00\x00\x00\x01"s, nullptr},
        TextCase{static_cast<RrType>(99), "\x01\x02"s, "\\# 2 0102"},
        TextCase{static_cast<RrType>(99), ""s, "\\# 0"}));

TEST(ParseRrType, MnemonicsAndGenericForm) {
  EXPECT_EQ(parse_rr_type("mx"), RrType::mx);
  EXPECT_EQ(parse_rr_type("TLSA"), RrType::tlsa);
  EXPECT_EQ(parse_rr_type("dnskey"), RrType::dnskey);
  EXPECT_EQ(parse_rr_type("TYPE16"), RrType::txt);
  EXPECT_EQ(parse_rr_type("type257"), static_cast<RrType>(257));
  EXPECT_FALSE(parse_rr_type("TYPE0"));
  EXPECT_FALSE(parse_rr_type("TYPE65536"));
  EXPECT_FALSE(parse_rr_type("TYPE"));
  EXPECT_FALSE(parse_rr_type("MXX"));
  EXPECT_FALSE(parse_rr_type(""));
  EXPECT_EQ(rr_type_name(RrType::aaaa), "AAAA");
  EXPECT_EQ(rr_type_name(static_cast<RrType>(257)), "TYPE257");
}

}  // namespace
}  // namespace mxsec::dns
