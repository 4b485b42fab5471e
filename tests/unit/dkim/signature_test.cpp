// DKIM-Signature parsing (RFC 6376 §3.5, §6.1.1; RFC 8301), table-driven.
#include "auth/dkim/signature.hpp"

#include <gtest/gtest.h>

#include <string>

#include "dkim_test_util.hpp"

namespace mxsec::auth::dkim {
namespace {

const std::string kBh = "bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=";
const std::string kB = "b=dGVzdA==";
// A valid value; cases below replace or drop single tags.
std::string base(std::string extra = "") {
  return "v=1; a=rsa-sha256; d=example.com; s=sel; h=From:To; " + kBh + "; " + kB + extra;
}
std::string without(std::string_view tag) {
  std::string out;
  const std::string b = base();
  for (std::string_view part : split(b, ';')) {
    const std::string_view t = trim(part);
    if (t.substr(0, t.find('=')) == tag) continue;
    if (!out.empty()) out += "; ";
    out += t;
  }
  return out;
}

struct BadCase {
  std::string name, value;
  Verdict verdict;
  std::string reason;  // exact message
};

class SignatureErrors : public ::testing::TestWithParam<BadCase> {};

TEST_P(SignatureErrors, RejectedWithPreciseReason) {
  auto r = parse_signature(GetParam().value);
  ASSERT_FALSE(r) << "accepted: " << GetParam().value;
  EXPECT_EQ(signature_error_verdict(r.error()), GetParam().verdict);
  EXPECT_EQ(r.error().message, GetParam().reason);
}

INSTANTIATE_TEST_SUITE_P(
    Table, SignatureErrors,
    ::testing::Values(
        BadCase{"missing_v", without("v"), Verdict::neutral, "missing required tag v="},
        BadCase{"missing_a", without("a"), Verdict::neutral, "missing required tag a="},
        BadCase{"missing_b", without("b"), Verdict::neutral, "missing required tag b="},
        BadCase{"missing_bh", without("bh"), Verdict::neutral, "missing required tag bh="},
        BadCase{"missing_d", without("d"), Verdict::neutral, "missing required tag d="},
        BadCase{"missing_h", without("h"), Verdict::neutral, "missing required tag h="},
        BadCase{"missing_s", without("s"), Verdict::neutral, "missing required tag s="},
        BadCase{"v2", "v=2; a=rsa-sha256; d=example.com; s=sel; h=From; " + kBh + "; " + kB, Verdict::neutral,
                "v= must be 1, got 2"},
        BadCase{"rsa_sha1", "v=1; a=rsa-sha1; d=example.com; s=sel; h=From; " + kBh + "; " + kB, Verdict::permerror,
                "rsa-sha1 not allowed (RFC 8301)"},
        BadCase{"unknown_alg", "v=1; a=rsa-md5; d=example.com; s=sel; h=From; " + kBh + "; " + kB,
                Verdict::permerror, "unsupported algorithm a=rsa-md5"},
        BadCase{"bad_b64", "v=1; a=rsa-sha256; d=example.com; s=sel; h=From; " + kBh + "; b=dGVz!A==",
                Verdict::neutral, "b= is not valid base64 (base64: invalid character)"},
        BadCase{"empty_b", "v=1; a=rsa-sha256; d=example.com; s=sel; h=From; " + kBh + "; b=", Verdict::neutral,
                "b= is empty"},
        BadCase{"short_bh", "v=1; a=rsa-sha256; d=example.com; s=sel; h=From; bh=dGVzdA==; " + kB, Verdict::neutral,
                "bh= has 4 bytes, SHA-256 needs 32"},
        BadCase{"unknown_canon", base("; c=fancy/relaxed"), Verdict::permerror, "unknown canonicalization c=fancy/relaxed"},
        BadCase{"no_from", "v=1; a=rsa-sha256; d=example.com; s=sel; h=To:Subject; " + kBh + "; " + kB,
                Verdict::permerror, "From field not signed (h= lacks From)"},
        BadCase{"empty_h_entry", "v=1; a=rsa-sha256; d=example.com; s=sel; h=From::To; " + kBh + "; " + kB,
                Verdict::neutral, "h= has an empty field name"},
        BadCase{"i_outside_d", base("; i=joe@example.org"), Verdict::permerror,
                "i= domain example.org is not d= or a subdomain of it"},
        BadCase{"i_parent_of_d", "v=1; a=rsa-sha256; d=mail.example.com; s=sel; h=From; " + kBh + "; " + kB +
                                     "; i=@example.com",
                Verdict::permerror, "i= domain example.com is not d= or a subdomain of it"},
        BadCase{"i_without_at", base("; i=example.com"), Verdict::neutral, "i= has no '@': example.com"},
        BadCase{"x_before_t", base("; t=2000; x=1000"), Verdict::permerror, "x= 1000 is not after t= 2000"},
        BadCase{"x_equals_t", base("; t=2000; x=2000"), Verdict::permerror, "x= 2000 is not after t= 2000"},
        BadCase{"t_not_number", base("; t=soon"), Verdict::neutral, "t= is not a 1..12 digit number: soon"},
        BadCase{"t_13_digits", base("; t=1234567890123"), Verdict::neutral,
                "t= is not a 1..12 digit number: 1234567890123"},
        BadCase{"l_not_number", base("; l=12a"), Verdict::neutral, "l= is not a number: 12a"},
        BadCase{"q_http", base("; q=http/well-known"), Verdict::permerror,
                "unsupported query method q=http/well-known (only dns/txt)"},
        BadCase{"bad_domain", "v=1; a=rsa-sha256; d=exa mple.com; s=sel; h=From; " + kBh + "; " + kB,
                Verdict::neutral, "d= is not a domain name: exa mple.com"},
        BadCase{"d_not_domain", "v=1; a=rsa-sha256; d=-bad..com; s=sel; h=From; " + kBh + "; " + kB,
                Verdict::neutral, "d= is not a domain name: -bad..com"},
        BadCase{"duplicate_tag", base("; d=example.org"), Verdict::neutral,
                "DKIM-Signature tag list: duplicate tag d"},
        BadCase{"no_equals", base("; garbage"), Verdict::neutral,
                "DKIM-Signature tag list: tag-spec without '=': garbage"},
        BadCase{"too_long", base("; z=" + std::string(9000, 'a')), Verdict::permerror,
                "DKIM-Signature longer than 8192 bytes"}),
    [](const auto& info) { return info.param.name; });

TEST(Signature, ParsesAllFields) {
  auto r = parse_signature(
      "v=1; a=ed25519-sha256; c=relaxed/simple; d=Example.COM; s=Sel1; t=100; x=200; l=42; q=dns/txt; "
      "i=joe@mail.example.com; h=From : To:\r\n\tSubject; zz=unknown tag; " +
      kBh + "; b=dGVz\r\n dA==");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->algorithm, Algorithm::ed25519_sha256);
  EXPECT_EQ(r->header_canon, Canon::relaxed);
  EXPECT_EQ(r->body_canon, Canon::simple);
  EXPECT_EQ(r->canonicalization(), "relaxed/simple");
  EXPECT_EQ(r->domain, "example.com");
  EXPECT_EQ(r->selector, "sel1");
  EXPECT_EQ(r->key_name(), "sel1._domainkey.example.com");
  EXPECT_EQ(r->signed_headers, (std::vector<std::string>{"from", "to", "subject"}));
  EXPECT_EQ(r->identity, "joe@mail.example.com");
  EXPECT_EQ(r->identity_domain, "mail.example.com");
  EXPECT_EQ(r->timestamp, 100);
  EXPECT_EQ(r->expiration, 200);
  EXPECT_EQ(r->body_length, 42u);
  EXPECT_EQ(r->signature, "test");
  EXPECT_EQ(r->signature_b64, "dGVzdA==");
  EXPECT_EQ(r->body_hash.size(), 32u);
}

TEST(Signature, Defaults) {
  auto r = parse_signature(base());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->canonicalization(), "simple/simple");  // c= absent
  EXPECT_EQ(r->identity, "@example.com");
  EXPECT_FALSE(r->body_length);
  EXPECT_FALSE(r->timestamp);
  auto h_only = parse_signature(base("; c=relaxed"));
  ASSERT_TRUE(h_only);
  EXPECT_EQ(h_only->canonicalization(), "relaxed/simple");  // "c=relaxed" means relaxed/simple
}

TEST(Signature, HugeLengthIsClampedNotWrapped) {
  auto r = parse_signature(base("; l=" + std::string(40, '9')));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->body_length, UINT64_MAX);
}

TEST(Signature, BValueDeletionRange) {
  // The b= value and whitespace up to the next ';' are blanked (§3.7).
  const std::string v = "v=1; a=rsa-sha256; b= dGVz\r\n\tdA== ; d=example.com; s=sel; h=from; " + kBh;
  auto r = parse_signature(v);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(v.substr(0, r->b_delete_begin) + v.substr(r->b_delete_end),
            "v=1; a=rsa-sha256; b=; d=example.com; s=sel; h=from; " + kBh);
  const std::string last = base() + "  ";
  auto r2 = parse_signature(last);
  ASSERT_TRUE(r2);
  EXPECT_EQ(last.substr(0, r2->b_delete_begin) + last.substr(r2->b_delete_end), base().substr(0, base().size() - 8));
}

TEST(Signature, HugeHeaderListIsBounded) {
  std::string h = "from";
  for (int i = 0; i < 10000; ++i) h += ":x" + std::to_string(i);
  SignatureLimits limits;
  limits.max_bytes = 1 << 20;
  auto r = parse_signature("v=1; a=rsa-sha256; d=example.com; s=sel; h=" + h + "; " + kBh + "; " + kB, limits);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "h= lists more than 64 fields");
  EXPECT_EQ(signature_error_verdict(r.error()), Verdict::permerror);
  // Exactly at the limit is fine.
  std::string h64 = "from";
  for (int i = 1; i < 64; ++i) h64 += ":x" + std::to_string(i);
  EXPECT_TRUE(parse_signature("v=1; a=rsa-sha256; d=example.com; s=sel; h=" + h64 + "; " + kBh + "; " + kB));
}

TEST(Signature, PeekLabelsOfBrokenField) {
  const SignatureLabels l = peek_signature_labels("v=1; a=rsa-sha1; d=Example.com; s=Sel; b=abcdefghijkl; h=to");
  EXPECT_EQ(l.domain, "example.com");
  EXPECT_EQ(l.selector, "sel");
  EXPECT_EQ(l.algorithm, "rsa-sha1");
  EXPECT_EQ(l.header_b, "abcdefgh");
  EXPECT_EQ(peek_signature_labels("no tags at all").domain, "");
}

TEST(Signature, VerdictNames) {
  EXPECT_STREQ(to_string(Verdict::none), "none");
  EXPECT_STREQ(to_string(Verdict::pass), "pass");
  EXPECT_STREQ(to_string(Verdict::fail), "fail");
  EXPECT_STREQ(to_string(Verdict::neutral), "neutral");
  EXPECT_STREQ(to_string(Verdict::temperror), "temperror");
  EXPECT_STREQ(to_string(Verdict::permerror), "permerror");
}

}  // namespace
}  // namespace mxsec::auth::dkim
