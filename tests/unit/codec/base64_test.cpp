#include "codec/base64.hpp"

#include <gtest/gtest.h>

namespace mxsec::codec {
namespace {

// RFC 4648 §10 test vectors.
struct Vector {
  const char* plain;
  const char* encoded;
};
constexpr Vector kRfc4648[] = {{"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},        {"foo", "Zm9v"},
                               {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};

TEST(Base64, Rfc4648VectorsRoundTrip) {
  for (const auto& v : kRfc4648) {
    EXPECT_EQ(encode_base64(v.plain), v.encoded);
    auto d = decode_base64(v.encoded);
    ASSERT_TRUE(d) << v.encoded;
    EXPECT_EQ(*d, v.plain);
  }
}

TEST(Base64, SkipsFoldingWhitespace) {
  auto d = decode_base64(" Zm9v\r\n\tYmFy ");
  ASSERT_TRUE(d);
  EXPECT_EQ(*d, "foobar");
}

TEST(Base64, RejectsMalformed) {
  for (const char* bad : {"Zm9v!", "Zg=", "Zg===", "Zg==Zg==", "Z", "Zm9vY", "Zm9v\x80"}) {
    auto d = decode_base64(bad);
    EXPECT_FALSE(d) << bad;
    if (!d) {
      EXPECT_EQ(d.error().code, Errc::parse);
    }
  }
}

TEST(Base64, BinaryRoundTrip) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  auto d = decode_base64(encode_base64(all));
  ASSERT_TRUE(d);
  EXPECT_EQ(*d, all);
}

}  // namespace
}  // namespace mxsec::codec
