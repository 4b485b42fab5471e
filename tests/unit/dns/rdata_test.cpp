// dns/rdata: wire-format decoders and their inverse encoders, including
// every malformed shape a hostile answer can take.
#include "dns/rdata.hpp"
#include "dns/resolver.hpp"

#include <gtest/gtest.h>

#include <string>

namespace mxsec::dns {
namespace {

using namespace std::string_literals;

std::string label_bytes(std::size_t n, char c = 'a') { return std::string(1, static_cast<char>(n)) + std::string(n, c); }

TEST(DecodeName, SimpleNameIsLowerCasedWithoutTrailingDot) {
  const std::string wire = "\x04MaIl\x07" "Example\x03" "COM\x00"s;
  std::size_t off = 0;
  auto n = decode_name(wire, off);
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, "mail.example.com");
  EXPECT_EQ(off, wire.size());
}

TEST(DecodeName, RootIsEmpty) {
  std::size_t off = 0;
  auto n = decode_name("\0"s, off);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, "");
  EXPECT_EQ(off, 1u);
}

TEST(DecodeName, EscapesBytesOutsideLdh) {
  const std::string wire = "\x05" "a.b\\\x01\x03" "x y\x00"s;
  std::size_t off = 0;
  auto n = decode_name(wire, off);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, "a\\.b\\\\\\001.x\\032y");
  // ... and encode_name reads the escapes back to the same wire form.
  auto back = encode_name(*n);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, wire);
}

struct BadName {
  const char* what;
  std::string wire;
};

class DecodeNameMalformed : public ::testing::TestWithParam<BadName> {};

TEST_P(DecodeNameMalformed, IsAParseError) {
  std::size_t off = 0;
  auto n = decode_name(GetParam().wire, off);
  ASSERT_FALSE(n) << GetParam().what << " decoded as " << *n;
  EXPECT_EQ(n.error().code, Errc::parse);
}

INSTANTIATE_TEST_SUITE_P(
    All, DecodeNameMalformed,
    ::testing::Values(BadName{"empty input", ""s}, BadName{"no root label", "\x03" "com"s},
                      BadName{"label runs past the end", "\x05" "abc"s},
                      BadName{"length byte only", "\x01"s},
                      BadName{"compression pointer", "\x03" "www\xc0\x0c"s},
                      BadName{"pointer alone", "\xc0\x00"s},
                      BadName{"extended label type 0x40", "\x41" "a\x00"s},
                      BadName{"label of 64 octets", label_bytes(64) + "\0"s},
                      // 4 x (1+63) + 0 = 257 octets > 255 (RFC 1035 §3.1)
                      BadName{"name of 257 octets", label_bytes(63) + label_bytes(63) + label_bytes(63) + label_bytes(63) + "\0"s},
                      // 3 x 64 + (1+62) + 0 = 256 octets
                      BadName{"name of 256 octets", label_bytes(63) + label_bytes(63) + label_bytes(63) + label_bytes(62) + "\0"s}));

TEST(EncodeName, EscapedDotAtTheEndIsPartOfTheLabel) {
  // Found by fuzz/dns_rdata: a label ending in a '.' byte lost it.
  const std::string wire = "\x02" "a.\x00"s;
  std::size_t off = 0;
  auto n = decode_name(wire, off);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, "a\\.");
  auto back = encode_name(*n);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, wire);
  auto abs = encode_name("a\\..");  // the same label, absolute
  ASSERT_TRUE(abs);
  EXPECT_EQ(*abs, wire);
  auto bs = encode_name("a\\\\.");  // label "a\\", absolute
  ASSERT_TRUE(bs);
  EXPECT_EQ(*bs, "\x02" "a\\\x00"s);
}

TEST(DecodeName, LongestLegalNameIs255Octets) {
  // 3 x 64 + (1+61) + 0 = 255 octets.
  const std::string wire = label_bytes(63) + label_bytes(63) + label_bytes(63) + label_bytes(61) + "\0"s;
  ASSERT_EQ(wire.size(), 255u);
  std::size_t off = 0;
  auto n = decode_name(wire, off);
  ASSERT_TRUE(n) << n.error().message;
  auto back = encode_name(*n);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, wire);
}

TEST(DecodeName, Label63IsAllowed) {
  std::size_t off = 0;
  auto n = decode_name(label_bytes(63) + "\0"s, off);
  ASSERT_TRUE(n);
  EXPECT_EQ(n->size(), 63u);
}

TEST(EncodeName, RejectsEmptyAndLongLabels) {
  EXPECT_FALSE(encode_name("a..b"));
  EXPECT_FALSE(encode_name(".a"));
  EXPECT_FALSE(encode_name(std::string(64, 'a') + ".com"));
  EXPECT_FALSE(encode_name("a\\256b"));
  EXPECT_TRUE(encode_name(std::string(63, 'a') + ".com."));
  auto root = encode_name(".");
  ASSERT_TRUE(root);
  EXPECT_EQ(*root, "\0"s);
}

TEST(Mx, RoundTripAndNullMx) {
  auto wire = encode_mx(MxRecord{10, "mx.example.com"});
  ASSERT_TRUE(wire);
  EXPECT_EQ(*wire, "\x00\x0a\x02mx\x07" "example\x03" "com\x00"s);
  auto mx = decode_mx(*wire);
  ASSERT_TRUE(mx);
  EXPECT_EQ(*mx, (MxRecord{10, "mx.example.com"}));
  // RFC 7505 null MX: preference 0, exchange ".".
  auto null_mx = decode_mx("\x00\x00\x00"s);
  ASSERT_TRUE(null_mx);
  EXPECT_EQ(null_mx->exchange, "");
}

TEST(Mx, Malformed) {
  EXPECT_FALSE(decode_mx(""s));
  EXPECT_FALSE(decode_mx("\x00\x0a"s));                       // no exchange
  EXPECT_FALSE(decode_mx("\x00\x0a\x02mx"s));                 // unterminated name
  EXPECT_FALSE(decode_mx("\x00\x0a\x00\x00"s));               // trailing byte
  EXPECT_FALSE(decode_mx("\x00\x0a\xc0\x0c"s));               // compressed exchange
}

TEST(Txt, MultipleStringsAndEmptyString) {
  auto t = decode_txt("\x03" "abc\x00\x02" "de"s);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->strings, (std::vector<std::string>{"abc", "", "de"}));
  EXPECT_EQ(t->joined(), "abcde");
  auto wire = encode_txt(*t);
  ASSERT_TRUE(wire);
  EXPECT_EQ(*wire, "\x03" "abc\x00\x02" "de"s);
}

TEST(Txt, Malformed) {
  EXPECT_FALSE(decode_txt(""s));                 // no character-string at all
  EXPECT_FALSE(decode_txt("\x05" "abc"s));       // string runs past the rdata
  EXPECT_FALSE(decode_txt("\x01" "a\x02" "b"s)); // second string truncated
  EXPECT_FALSE(encode_txt(TxtRecord{{std::string(256, 'x')}}));
}

TEST(Address, ExactLengths) {
  auto a = decode_a("\xc0\x00\x02\x01"s);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->to_string(), "192.0.2.1");
  EXPECT_FALSE(decode_a("\xc0\x00\x02"s));
  EXPECT_FALSE(decode_a("\xc0\x00\x02\x01\x00"s));
  const std::string v6 = "\x20\x01\x0d\xb8" + std::string(11, '\0') + "\x01";
  auto b = decode_aaaa(v6);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->to_string(), "2001:db8::1");
  EXPECT_EQ(encode_address(*b), v6);
  EXPECT_FALSE(decode_aaaa(v6.substr(0, 15)));
  EXPECT_FALSE(decode_aaaa(v6 + "x"));
  EXPECT_FALSE(decode_aaaa("\xc0\x00\x02\x01"s));
}

TEST(Tlsa, RoundTripAndShortRdata) {
  const TlsaRecord t{3, 1, 1, "\x01\x02\x03"s};
  const std::string wire = encode_tlsa(t);
  EXPECT_EQ(wire, "\x03\x01\x01\x01\x02\x03"s);
  auto back = decode_tlsa(wire);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, t);
  EXPECT_FALSE(decode_tlsa("\x03\x01"s));
  auto empty_data = decode_tlsa("\x03\x01\x01"s);
  ASSERT_TRUE(empty_data);
  EXPECT_TRUE(empty_data->data.empty());
}

TEST(NameRdata, TrailingBytesRejected) {
  auto ok = decode_name_rdata("\x04host\x04test\x00"s);
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, "host.test");
  EXPECT_FALSE(decode_name_rdata("\x04host\x04test\x00\x00"s));
  EXPECT_FALSE(decode_name_rdata(""s));
}

TEST(TxtText, SingleStringIsAViewAndSeveralAreJoined) {
  std::string scratch;
  const std::string one = "\x05hello"s;
  auto v = txt_text(one, scratch);
  ASSERT_TRUE(v);
  EXPECT_EQ(*v, "hello");
  EXPECT_EQ(v->data(), one.data() + 1);  // no copy
  const std::string two = "\x03" "abc\x00\x02" "de"s;
  auto j = txt_text(two, scratch);
  ASSERT_TRUE(j);
  EXPECT_EQ(*j, "abcde");
  EXPECT_EQ(*j, decode_txt(two)->joined());
  EXPECT_FALSE(txt_text("", scratch));
  EXPECT_FALSE(txt_text("\x09short"s, scratch));  // string runs past the rdata
}

TEST(DecodeAddress, ByType) {
  EXPECT_EQ(decode_address("\xc0\x00\x02\x01"s, RrType::a)->to_string(), "192.0.2.1");
  EXPECT_FALSE(decode_address("\xc0\x00\x02\x01"s, RrType::aaaa));
  EXPECT_EQ(decode_address(std::string(15, '\0') + "\x01", RrType::aaaa)->to_string(), "::1");
}

TEST(MinimalEscapes, KeepsOnlyTheEscapesThatMatter) {
  EXPECT_EQ(minimal_escapes("plain.example"), "plain.example");
  EXPECT_EQ(minimal_escapes("a\\:b.example"), "a:b.example");
  EXPECT_EQ(minimal_escapes("a\\058b.example"), "a:b.example");    // \DDD of a printable byte
  EXPECT_EQ(minimal_escapes("a\\.b.example"), "a\\.b.example");    // a dot inside a label stays escaped
  EXPECT_EQ(minimal_escapes("a\\\\b.example"), "a\\\\b.example");  // so does a backslash
  EXPECT_EQ(minimal_escapes("a\\032b.example"), "a\\032b.example");  // and a space
}

TEST(RawAnswerPredicates, MatchTheTypedAnswer) {
  RawAnswer raw;
  raw.status = Status::ok;
  EXPECT_TRUE(raw.empty_answer());  // NOERROR without rdata is NODATA
  EXPECT_FALSE(raw.usable());
  raw.rdata.push_back("\x01x"s);
  EXPECT_TRUE(raw.usable());
  raw.security = Security::bogus;
  EXPECT_TRUE(raw.failed());
  EXPECT_FALSE(raw.empty_answer());
  raw.security = Security::insecure;
  raw.status = Status::timeout;
  EXPECT_TRUE(raw.failed());
  EXPECT_EQ(raw.failed(), to_txt_answer(raw).failed());
}

}  // namespace
}  // namespace mxsec::dns
