// Tests for policy/mtasts/record.cpp: the _mta-sts TXT record (RFC 8461
// §3.1) and the choice of one record from an RRset.
#include "policy/mtasts/record.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/limits.hpp"

namespace mxsec::policy::mtasts {
namespace {

using namespace std::string_literals;

struct GoodCase {
  const char* name;
  std::string txt;
  const char* id;
};

TEST(StsRecord, GoodRecords) {
  const std::vector<GoodCase> cases = {
      // RFC 8461 §3.1 example, verbatim.
      {"rfc8461_example", "v=STSv1; id=20160831085700Z;", "20160831085700Z"},
      {"no_spaces", "v=STSv1;id=20160831085700Z;", "20160831085700Z"},
      {"no_final_sep", "v=STSv1; id=20160831085700Z", "20160831085700Z"},
      {"tabs", "v=STSv1\t;\tid=abc\t;\t", "abc"},
      {"wsp_before_sep", "v=STSv1 ; id=abc", "abc"},
      // Trailing white space without a final ";" (docs/mta-sts.md).
      {"trailing_wsp", "v=STSv1;        id=20160831085700Z   ", "20160831085700Z"},
      {"id_32", "v=STSv1; id=" + std::string(32, 'A') + ";", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},
      {"id_1", "v=STSv1; id=1", "1"},
      // sts-extension fields are allowed anywhere after the version.
      {"extension_before_id", "v=STSv1; foo=bar; id=x1", "x1"},
      {"extension_after_id", "v=STSv1; id=x1; a_b-c.d=!\"#$%&'()*+,-./0123456789:<>?@[\\]^_`{|}~", "x1"},
      {"extension_named_v", "v=STSv1; v=STSv2; id=x1", "x1"},
      {"extension_digit_name", "v=STSv1; 9=z; id=x1", "x1"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_TRUE(is_sts_record(c.txt));
    auto r = parse_sts_record(c.txt);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->id, c.id);
  }
}

struct BadCase {
  const char* name;
  std::string txt;
  bool is_sts;  // passes the discovery filter
  Errc code;
};

TEST(StsRecord, BadRecords) {
  const std::vector<BadCase> cases = {
      {"empty", "", false, Errc::parse},
      {"spaces", "   ", false, Errc::parse},
      {"semicolons", " ;   ;  ", false, Errc::parse},
      {"version_only", "v=STSv1", false, Errc::parse},
      {"version_sep_only", "v=STSv1;", true, Errc::parse},
      {"missing_id", "v=STSv1; foo=bar;", true, Errc::parse},
      {"version_not_first", "id=20180907T090909; v=STSv1;", false, Errc::parse},
      {"wrong_version", "v=STSv12;id=20180907T090909;", false, Errc::parse},
      {"version_lower_case", "v=stsv1; id=1", false, Errc::parse},
      {"version_spaces_around_eq", "v = STSv1; id=1", false, Errc::parse},
      {"leading_space", " v=STSv1; id=1", false, Errc::parse},
      {"garbage", "azazaza;asdasdasdasd", false, Errc::parse},
      {"spf_record", "v=spf1 -all", false, Errc::parse},
      {"id_33", "v=STSv1; id=" + std::string(33, 'a'), true, Errc::parse},
      {"id_empty", "v=STSv1; id=;", true, Errc::parse},
      {"id_punct", "v=STSv1; id=2016-08-31;", true, Errc::parse},
      {"id_space_inside", "v=STSv1; id=abc def;", true, Errc::parse},
      {"id_twice", "v=STSv1; id=a; id=b", true, Errc::parse},
      {"id_upper_case_name", "v=STSv1; ID=abc", true, Errc::parse},
      {"id_spaces_around_eq", "v=STSv1; id = abc", true, Errc::parse},
      {"empty_fields", "v=STSv1; id=20160831085700Z;;;", true, Errc::parse},
      {"empty_field_middle", "v=STSv1;; id=abc", true, Errc::parse},
      {"field_without_eq", "v=STSv1; id=abc; foo", true, Errc::parse},
      {"ext_empty_value", "v=STSv1; id=abc; foo=", true, Errc::parse},
      {"ext_value_with_eq", "v=STSv1; id=abc; foo=a=b", true, Errc::parse},
      {"ext_name_33", "v=STSv1; id=abc; " + std::string(33, 'n') + "=v", true, Errc::parse},
      {"ext_name_punct_first", "v=STSv1; id=abc; _x=v", true, Errc::parse},
      {"missing_sep", "v=STSv1; id=abc foo=bar", true, Errc::parse},
      {"nul", "v=STSv1; id=abc\0"s, true, Errc::parse},
      {"nul_in_id", "v=STSv1; id=ab\0c"s, true, Errc::parse},
      {"crlf", "v=STSv1; id=abc\r\n", true, Errc::parse},
      {"non_ascii", "v=STSv1; id=abc; x=caf\xc3\xa9", true, Errc::parse},
      {"too_long", "v=STSv1; id=abc; x=" + std::string(limits::kStsRecordBytes, 'x'), true, Errc::limit},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(is_sts_record(c.txt), c.is_sts);
    auto r = parse_sts_record(c.txt);
    ASSERT_FALSE(r) << "accepted id " << r->id;
    EXPECT_EQ(r.error().code, c.code) << r.error().message;
  }
}

TEST(StsRecord, SizeLimitBoundary) {
  std::string at = "v=STSv1; id=abc; x=";
  at += std::string(limits::kStsRecordBytes - at.size(), 'x');
  ASSERT_EQ(at.size(), limits::kStsRecordBytes);
  EXPECT_TRUE(parse_sts_record(at));
  auto over = parse_sts_record(at + "x");
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code, Errc::limit);
}

TEST(StsRecord, SelectNoneWhenNoRecordBeginsWithVersion) {
  for (const std::vector<std::string>& rrset : std::vector<std::vector<std::string>>{
           {},
           {"v=spf1 -all"},
           {"id=20180907T090909; v=STSv1;", "v=STSv12;id=1;", "", "hello"},
       }) {
    auto r = select_sts_record(rrset);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_FALSE(r->has_value());
  }
}

TEST(StsRecord, SelectTheOneRecord) {
  auto r = select_sts_record({"v=spf1 -all", "v=STSv1; id=20160831085700Z;", "google-site-verification=abc"});
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->id, "20160831085700Z");
}

TEST(StsRecord, SelectFailsOnTwoRecords) {
  // §3.1: "If the number of resulting records is not one ... senders MUST
  // assume the recipient domain does not have an available MTA-STS Policy".
  for (const std::vector<std::string>& rrset : std::vector<std::vector<std::string>>{
           {"v=STSv1; id=a;", "v=STSv1; id=b;"},
           {"v=STSv1; id=a;", "v=STSv1; id=a;"},
           {"v=STSv1; id=a;", "v=STSv1;"},  // the second is invalid but still counts
       }) {
    auto r = select_sts_record(rrset);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::parse);
  }
}

TEST(StsRecord, SelectFailsOnTheOneInvalidRecord) {
  for (const std::string& txt : {"v=STSv1;"s, "v=STSv1; id=not-valid!"s, "v=STSv1; id=a;;"s}) {
    auto r = select_sts_record({txt, "unrelated"});
    ASSERT_FALSE(r) << txt;
    EXPECT_EQ(r.error().code, Errc::parse);
  }
}

}  // namespace
}  // namespace mxsec::policy::mtasts
