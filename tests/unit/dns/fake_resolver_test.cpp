// dns/fake_resolver and the typed Resolver helpers (dns/resolver.cpp) that
// every protocol module uses: NXDOMAIN vs NODATA, counting, forced outcomes,
// and "a malformed record poisons the whole answer".
#include "dns/fake_resolver.hpp"

#include <gtest/gtest.h>

#include <asio/io_context.hpp>

#include "core/limits.hpp"
#include "dns/run_sync.hpp"

namespace mxsec::dns {
namespace {

using namespace std::string_literals;

TEST(FakeResolver, NxdomainVersusNodata) {
  FakeResolver r;
  r.add_txt("example.com", {"v=spf1 -all"});
  EXPECT_EQ(r.lookup("example.com", RrType::txt).status, Status::ok);
  EXPECT_EQ(r.lookup("example.com", RrType::mx).status, Status::nodata);
  EXPECT_EQ(r.lookup("nope.example.com", RrType::txt).status, Status::nxdomain);
}

TEST(FakeResolver, CaseAndTrailingDotInsensitive) {
  FakeResolver r;
  r.add_a("Mail.Example.COM.", "192.0.2.1");
  const RawAnswer a = r.lookup("mail.example.com", RrType::a);
  EXPECT_EQ(a.status, Status::ok);
  ASSERT_EQ(a.rdata.size(), 1u);
  EXPECT_EQ(a.rdata[0], "\xc0\x00\x02\x01"s);
  EXPECT_EQ(r.query_count("MAIL.example.com.", RrType::a), 1u);
}

TEST(FakeResolver, CountsEveryQuestion) {
  FakeResolver r;
  r.add_a("a.test", "192.0.2.1");
  r.lookup("a.test", RrType::a);
  r.lookup("a.test", RrType::a);
  r.lookup("a.test", RrType::aaaa);
  r.lookup("b.test", RrType::a);
  EXPECT_EQ(r.query_count(), 4u);
  EXPECT_EQ(r.query_count("a.test", RrType::a), 2u);
  EXPECT_EQ(r.query_count("a.test", RrType::aaaa), 1u);
  EXPECT_EQ(r.query_count("c.test", RrType::a), 0u);
  r.reset_counts();
  EXPECT_EQ(r.query_count(), 0u);
  EXPECT_EQ(r.query_count("a.test", RrType::a), 0u);
}

TEST(FakeResolver, ForcedOutcomes) {
  FakeResolver r;
  r.set_outcome("sf.test", RrType::txt, Status::servfail, Security::indeterminate);
  r.set_outcome("to.test", RrType::txt, Status::timeout, Security::indeterminate);
  r.add_txt("bogus.test", {"v=spf1 +all"});
  r.set_security("bogus.test", RrType::txt, Security::bogus, "signature expired");
  const RawAnswer sf = r.lookup("sf.test", RrType::txt);
  EXPECT_EQ(sf.status, Status::servfail);
  EXPECT_TRUE(sf.rdata.empty());
  EXPECT_EQ(r.lookup("to.test", RrType::txt).status, Status::timeout);
  const RawAnswer b = r.lookup("bogus.test", RrType::txt);
  EXPECT_EQ(b.security, Security::bogus);
  EXPECT_EQ(b.why_bogus, "signature expired");
}

TEST(FakeResolver, DefaultSecurityAppliesToNewEntriesAndNegativeAnswers) {
  FakeResolver r;
  r.set_default_security(Security::secure);
  r.add_mx("example.com", 10, "mx.example.com");
  EXPECT_EQ(r.lookup("example.com", RrType::mx).security, Security::secure);
  EXPECT_EQ(r.lookup("missing.example.com", RrType::mx).security, Security::secure);
}

TEST(FakeResolver, RejectsBadInputToAdders) {
  FakeResolver r;
  EXPECT_THROW(r.add_a("x.test", "999.1.1.1"), std::invalid_argument);
  EXPECT_THROW(r.add_txt("x.test", {std::string(300, 'a')}), std::invalid_argument);
  EXPECT_THROW(r.add_mx("x.test", 1, "a..b"), std::invalid_argument);
}

TEST(TypedHelpers, DecodeThroughTheCoroutineInterface) {
  FakeResolver r;
  r.add_mx("example.com", 20, "mx2.example.com");
  r.add_mx("example.com", 10, "mx1.example.com");
  r.add_tlsa("_25._tcp.mx1.example.com", TlsaRecord{3, 1, 1, "\xaa\xbb"s});
  r.add_cname("www.example.com", "example.com");
  asio::io_context io;
  const MxAnswer mx = run_sync(io, r.mx("example.com"));
  ASSERT_EQ(mx.status, Status::ok);
  ASSERT_EQ(mx.records.size(), 2u);
  EXPECT_EQ(mx.records[0], (MxRecord{20, "mx2.example.com"}));
  EXPECT_TRUE(mx.usable());
  EXPECT_FALSE(mx.failed());
  const TlsaAnswer t = run_sync(io, r.tlsa("_25._tcp.mx1.example.com"));
  ASSERT_EQ(t.records.size(), 1u);
  EXPECT_EQ(t.records[0].data, "\xaa\xbb"s);
  const NameAnswer c = run_sync(io, r.cname("www.example.com"));
  ASSERT_EQ(c.records.size(), 1u);
  EXPECT_EQ(c.records[0], "example.com");
  const AddressAnswer none = run_sync(io, r.a("example.com"));
  EXPECT_EQ(none.status, Status::nodata);
  EXPECT_TRUE(none.empty_answer());
}

TEST(TypedHelpers, OneMalformedRecordPoisonsTheAnswer) {
  FakeResolver r;
  r.add_txt("x.test", {"good"});
  r.add_raw("x.test", RrType::txt, "\x09short"s);  // string runs past the rdata
  const TxtAnswer t = to_txt_answer(r.lookup("x.test", RrType::txt));
  EXPECT_EQ(t.status, Status::error);
  EXPECT_TRUE(t.records.empty());
  EXPECT_TRUE(t.failed());
  EXPECT_FALSE(t.usable());
}

TEST(TypedHelpers, AaaaDecoderIsChosenByQueryType) {
  FakeResolver r;
  r.add_a("x.test", "2001:db8::1");
  const AddressAnswer a = to_address_answer(r.lookup("x.test", RrType::aaaa));
  ASSERT_EQ(a.records.size(), 1u);
  EXPECT_EQ(a.records[0].to_string(), "2001:db8::1");
  // 16 bytes presented as an A answer is malformed.
  RawAnswer wrong = r.lookup("x.test", RrType::aaaa);
  wrong.qtype = RrType::a;
  EXPECT_EQ(to_address_answer(wrong).status, Status::error);
}

TEST(TypedHelpers, TooManyRecordsFailsClosed) {
  FakeResolver r;
  for (std::size_t i = 0; i <= limits::kDnsMaxRecordsPerAnswer; ++i) r.add_txt("many.test", {"x"});
  const TxtAnswer t = to_txt_answer(r.lookup("many.test", RrType::txt));
  EXPECT_EQ(t.status, Status::error);
  EXPECT_TRUE(t.records.empty());
}

TEST(TypedHelpers, BogusIsFailedAndNotUsable) {
  FakeResolver r;
  r.add_txt("b.test", {"v=DMARC1; p=none"});
  r.set_security("b.test", RrType::txt, Security::bogus, "no signatures");
  const TxtAnswer t = to_txt_answer(r.lookup("b.test", RrType::txt));
  EXPECT_TRUE(t.bogus());
  EXPECT_TRUE(t.failed());
  EXPECT_FALSE(t.usable());
}

}  // namespace
}  // namespace mxsec::dns
