// Canonicalization (RFC 6376 §3.4), including the §3.4.5 examples.
#include "auth/dkim/canon.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <random>
#include <string>
#include <vector>

#include "auth/dkim/canon_scan.hpp"
#include "codec/message.hpp"
#include "dkim_test_util.hpp"

namespace mxsec::auth::dkim {
namespace {

std::string canon_headers(std::string_view message, Canon c) {
  auto msg = codec::parse_message(message);
  EXPECT_TRUE(msg);
  std::string out;
  for (const auto& h : msg->headers) canonicalize_header(h.name, h.value, h.raw, c, out);
  return out;
}

// RFC 6376 §3.4.5.
const std::string kExample = "A: X\r\nB : Y\t\r\n\tZ  \r\n\r\n C \r\nD \t E\r\n\r\n\r\n";

TEST(Canon, Rfc6376Section345Relaxed) {
  EXPECT_EQ(canon_headers(kExample, Canon::relaxed), "a:X\r\nb:Y Z\r\n");
  auto msg = codec::parse_message(kExample);
  ASSERT_TRUE(msg);
  EXPECT_EQ(canonical_body(msg->body, Canon::relaxed), " C\r\nD E\r\n");
}

TEST(Canon, Rfc6376Section345Simple) {
  EXPECT_EQ(canon_headers(kExample, Canon::simple), "A: X\r\nB : Y\t\r\n\tZ  \r\n");
  auto msg = codec::parse_message(kExample);
  ASSERT_TRUE(msg);
  EXPECT_EQ(canonical_body(msg->body, Canon::simple), " C \r\nD \t E\r\n");
}

struct BodyCase {
  std::string name, body, simple, relaxed;
};

class BodyCanon : public ::testing::TestWithParam<BodyCase> {};

TEST_P(BodyCanon, BothAlgorithms) {
  EXPECT_EQ(canonical_body(GetParam().body, Canon::simple), GetParam().simple);
  EXPECT_EQ(canonical_body(GetParam().body, Canon::relaxed), GetParam().relaxed);
}

INSTANTIATE_TEST_SUITE_P(
    Table, BodyCanon,
    ::testing::Values(
        // §3.4.3: "If there is no body or no CRLF at the end of the body, a
        // CRLF is added"; §3.4.4 (errata 3951): an empty body stays empty.
        BodyCase{"empty", "", "\r\n", ""},
        BodyCase{"only_crlfs", "\r\n\r\n\r\n", "\r\n", ""},
        BodyCase{"no_final_crlf", "abc", "abc\r\n", "abc\r\n"},
        BodyCase{"trailing_empty_lines", "abc\r\n\r\n\r\n", "abc\r\n", "abc\r\n"},
        BodyCase{"trailing_wsp_lines", "abc\r\n \t\r\n  \r\n", "abc\r\n \t\r\n  \r\n", "abc\r\n"},
        BodyCase{"inner_empty_lines_kept", "a\r\n\r\n \r\nb\r\n", "a\r\n\r\n \r\nb\r\n", "a\r\n\r\n\r\nb\r\n"},
        BodyCase{"wsp_runs", "a \t b\t\r\n  c  d  \r\n", "a \t b\t\r\n  c  d  \r\n", "a b\r\n c d\r\n"},
        BodyCase{"only_spaces", "   ", "   \r\n", ""},
        BodyCase{"final_wsp_no_crlf", "x  ", "x  \r\n", "x\r\n"},
        BodyCase{"bare_lf_is_data", "a\nb\r\n", "a\nb\r\n", "a\nb\r\n"}),
    [](const auto& info) { return info.param.name; });

struct HeaderCase {
  std::string name, field, relaxed;
};

class HeaderCanon : public ::testing::TestWithParam<HeaderCase> {};

TEST_P(HeaderCanon, Relaxed) {
  const std::string msg = GetParam().field + "\r\n";
  EXPECT_EQ(canon_headers(msg, Canon::relaxed), GetParam().relaxed);
  EXPECT_EQ(canon_headers(msg, Canon::simple), GetParam().field.substr(0, GetParam().field.size() - 2) + "\r\n");
}

INSTANTIATE_TEST_SUITE_P(
    Table, HeaderCanon,
    ::testing::Values(HeaderCase{"lower_name", "SUBJECT: Hello World\r\n", "subject:Hello World\r\n"},
                      HeaderCase{"space_before_colon", "Subject \t: x\r\n", "subject:x\r\n"},
                      HeaderCase{"folded", "Subject: a\r\n  b\r\n\tc \r\n", "subject:a b c\r\n"},
                      HeaderCase{"empty_value", "X-Empty:\r\n", "x-empty:\r\n"},
                      HeaderCase{"wsp_only_value", "X-Empty: \t \r\n", "x-empty:\r\n"},
                      HeaderCase{"case_of_value_kept", "To: Joe <JOE@Example.COM>\r\n",
                                 "to:Joe <JOE@Example.COM>\r\n"}),
    [](const auto& info) { return info.param.name; });

TEST(BodyHasher, LimitHashesPrefixCountsAll) {
  const std::string body = "hello world\r\nsecond line\r\n";
  BodyHasher limited(5);
  canonicalize_body(body, Canon::simple, limited);
  EXPECT_EQ(limited.canonical_length(), body.size());
  EXPECT_EQ(limited.hashed_length(), 5u);
  EXPECT_EQ(limited.finish(), sha256("hello"));
  BodyHasher zero(0);
  canonicalize_body(body, Canon::simple, zero);
  EXPECT_EQ(zero.finish(), sha256(""));
}

TEST(BodyHasher, StreamingEqualsWholeStringOnLargeBodies) {
  // Bodies far larger than the batch buffer, with many WSP runs and empty
  // lines, so chunk boundaries fall everywhere.
  std::mt19937 rng(42);
  const char alphabet[] = "ab \t\r\n";
  for (int round = 0; round < 20; ++round) {
    std::string body;
    const std::size_t n = 20000 + rng() % 50000;
    for (std::size_t i = 0; i < n; ++i) {
      const char c = alphabet[rng() % 6];
      if (c == '\n') body += "\r\n";
      else if (c != '\r') body += c;
    }
    for (Canon c : {Canon::simple, Canon::relaxed}) {
      const std::string whole = canonical_body(body, c);
      BodyHasher h;
      canonicalize_body(body, c, h);
      EXPECT_EQ(h.canonical_length(), whole.size());
      EXPECT_EQ(h.finish(), sha256(whole)) << "round " << round << " " << to_string(c);
    }
  }
}

TEST(BodyHasher, LinearTimeOnHostileBody) {
  // 8 MB of alternating WSP and CRLF: must finish quickly (no quadratic step).
  std::string body;
  body.reserve(8 << 20);
  while (body.size() < (8u << 20)) body += " \t\r\n";
  body += "x";
  BodyHasher h;
  canonicalize_body(body, Canon::relaxed, h);
  EXPECT_EQ(h.canonical_length(), canonical_body(body, Canon::relaxed).size());
  EXPECT_EQ(h.finish().size(), 32u);
}


// ---------------------------------------------------------------------------
// Differential tests: the fast canonicalizers (scan + pass-through spans)
// against a straightforward reference written from the RFC text, line by
// line, kept here in the test.

// RFC 6376 §3.4.3 and §3.4.4 on a body split into CRLF-terminated lines (a
// final piece without CRLF is a line too; lone CR and LF are data).
std::string reference_body(std::string_view body, Canon canon) {
  std::vector<std::string> lines;
  std::size_t pos = 0;
  while (pos < body.size()) {
    const std::size_t crlf = body.find("\r\n", pos);
    if (crlf == std::string_view::npos) {
      lines.emplace_back(body.substr(pos));
      break;
    }
    lines.emplace_back(body.substr(pos, crlf - pos));
    pos = crlf + 2;
  }
  if (canon == Canon::relaxed) {
    for (std::string& line : lines) {
      // "Ignore all whitespace at the end of lines."
      while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.pop_back();
      // "Reduce all sequences of WSP within a line to a single SP character."
      std::string reduced;
      bool in_wsp = false;
      for (char c : line) {
        if (c == ' ' || c == '\t') {
          if (!in_wsp) reduced += ' ';
          in_wsp = true;
        } else {
          reduced += c;
          in_wsp = false;
        }
      }
      line = std::move(reduced);
    }
  }
  // "Ignore all empty lines at the end of the message body."
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  std::string out;
  for (const std::string& line : lines) out += line + "\r\n";
  // simple: "If there is no body or no CRLF at the end of the body, a CRLF
  // is added"; relaxed: an empty body stays empty (errata 3951).
  if (canon == Canon::simple && out.empty()) out = "\r\n";
  return out;
}

// RFC 6376 §3.4.2 on one field.
std::string reference_header(std::string_view name, std::string_view value) {
  std::string out;
  for (char c : name) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  out += ':';
  std::string unfolded;
  for (char c : value)
    if (c != '\r' && c != '\n') unfolded += c;
  std::string reduced;
  bool in_wsp = false;
  for (char c : unfolded) {
    if (c == ' ' || c == '\t') {
      if (!in_wsp) reduced += ' ';
      in_wsp = true;
    } else {
      reduced += c;
      in_wsp = false;
    }
  }
  while (!reduced.empty() && reduced.back() == ' ') reduced.pop_back();
  if (!reduced.empty() && reduced.front() == ' ') reduced.erase(0, 1);
  return out + reduced + "\r\n";
}

// Random bodies over a hostile alphabet: lone CR and LF, WSP runs of every
// length (longer than the 16-byte vector step, so they cross its
// boundaries), empty lines, with or without a final CRLF.
std::string random_body(std::mt19937& rng, std::size_t max_len) {
  static const char* const kPieces[] = {"a", "b", "xyz", " ", "  ", "\t", " \t ", "\r\n", "\r\n\r\n",
                                        "\r", "\n", "\n\r", " \r\n", "\t\r\n", "                    ",
                                        "0123456789abcdefghij", "\r\r\n", "\x80\xff", ""};
  const std::size_t pieces = sizeof kPieces / sizeof kPieces[0];
  std::string body;
  const std::size_t len = rng() % (max_len + 1);
  while (body.size() < len) {
    const std::size_t k = rng() % pieces;
    if (k == pieces - 1) body += '\0';  // the "" slot stands for a NUL octet
    else body += kPieces[k];
  }
  return body;
}

// A sink that records how the body was delivered, to check the pieces too.
class PieceSink final : public BodySink {
 public:
  void write(std::string_view bytes) override {
    out.append(bytes);
    ++writes;
  }
  std::string out;
  std::size_t writes = 0;
};

TEST(CanonDifferential, ScansAgreeWithScalar) {
  std::mt19937 rng(7);
  for (int round = 0; round < 20000; ++round) {
    const std::string s = random_body(rng, 80);
    for (std::size_t from = 0; from <= s.size(); from += 1 + rng() % 7) {
      ASSERT_EQ(detail::find_relaxed_body_work(s.data(), s.size(), from),
                detail::find_relaxed_work_scalar<false>(s.data(), s.size(), from))
          << ::testing::PrintToString(s) << " from " << from;
      ASSERT_EQ(detail::find_relaxed_header_work(s.data(), s.size(), from),
                detail::find_relaxed_work_scalar<true>(s.data(), s.size(), from))
          << ::testing::PrintToString(s) << " from " << from;
    }
  }
}

TEST(CanonDifferential, LongScansAgreeWithScalar) {
  // Long enough for the AVX2 path (when the CPU has it), with the work spots
  // placed at every offset of the 16- and 32-byte steps.
  std::mt19937 rng(8);
  for (int round = 0; round < 3000; ++round) {
    std::string s(256 + rng() % 300, 'x');
    for (int k = rng() % 4; k > 0; --k) {
      static const char* const kSpots[] = {"\t", "  ", " \t", " \r", " \n", "\r", "\n", " "};
      const std::string spot = kSpots[rng() % 8];
      const std::size_t at = rng() % s.size();
      s.replace(at, std::min(spot.size(), s.size() - at), spot.substr(0, s.size() - at));
    }
    for (std::size_t from : {std::size_t{0}, std::size_t{1}, std::size_t{rng() % s.size()}}) {
      ASSERT_EQ(detail::find_relaxed_body_work(s.data(), s.size(), from),
                detail::find_relaxed_work_scalar<false>(s.data(), s.size(), from))
          << ::testing::PrintToString(s) << " from " << from;
      ASSERT_EQ(detail::find_relaxed_header_work(s.data(), s.size(), from),
                detail::find_relaxed_work_scalar<true>(s.data(), s.size(), from))
          << ::testing::PrintToString(s) << " from " << from;
#if defined(MXSEC_DKIM_SCAN_AVX2)
      if (detail::has_avx2()) {
        // A hit or the stopping point; never past the first hit.
        const std::size_t want = detail::find_relaxed_work_scalar<false>(s.data(), s.size(), from);
        const std::size_t got = detail::find_relaxed_work_avx2<false>(s.data(), s.size(), from);
        ASSERT_LE(got, want);
        if (got < want) {
          ASSERT_LT(s.size() - got, 33u);
        }
        const std::size_t want_h = detail::find_relaxed_work_scalar<true>(s.data(), s.size(), from);
        const std::size_t got_h = detail::find_relaxed_work_avx2<true>(s.data(), s.size(), from);
        ASSERT_LE(got_h, want_h);
        if (got_h < want_h) {
          ASSERT_LT(s.size() - got_h, 33u);
        }
      }
#endif
    }
  }
}

TEST(CanonDifferential, BodyMatchesReference) {
  std::mt19937 rng(12345);
  std::vector<std::string> bodies = {"",          "\r\n",       "\r\n\r\n",   " ",          "\t",
                                     " \r\n",     "a",          "a ",         "a\t",       "a \r",
                                     "a \n",       "a  \r\nb",   "\r",         "\n",         "\n\n",
                                     "a\r\n \r\n", "a\r\n\t\r\n\r\n", std::string(100, ' ') + "x"};
  for (int i = 0; i < 3000; ++i) bodies.push_back(random_body(rng, i < 2000 ? 64 : 3000));
  for (const std::string& body : bodies) {
    for (Canon c : {Canon::simple, Canon::relaxed}) {
      const std::string want = reference_body(body, c);
      ASSERT_EQ(canonical_body(body, c), want) << to_string(c) << " " << ::testing::PrintToString(body);
      BodyHasher h;
      canonicalize_body(body, c, h);
      ASSERT_EQ(h.canonical_length(), want.size());
      ASSERT_EQ(h.finish(), sha256(want)) << to_string(c) << " " << ::testing::PrintToString(body);
      // l= truncation: hash the first `limit` octets, count them all.
      for (std::uint64_t limit : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{want.size() / 2},
                                  std::uint64_t{want.size()}, std::uint64_t{want.size() + 5}}) {
        BodyHasher lh(limit);
        canonicalize_body(body, c, lh);
        ASSERT_EQ(lh.canonical_length(), want.size());
        ASSERT_EQ(lh.hashed_length(), std::min<std::uint64_t>(limit, want.size()));
        ASSERT_EQ(lh.finish(), sha256(std::string_view(want).substr(0, lh.hashed_length())))
            << to_string(c) << " l=" << limit << " " << ::testing::PrintToString(body);
      }
    }
  }
}

TEST(CanonDifferential, BodyHasherWithReusedContext) {
  tls::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  ASSERT_TRUE(ctx);
  std::mt19937 rng(99);
  for (int i = 0; i < 200; ++i) {
    const std::string body = random_body(rng, 2000);
    for (Canon c : {Canon::simple, Canon::relaxed}) {
      BodyHasher h(UINT64_MAX, ctx.get());
      canonicalize_body(body, c, h);
      ASSERT_EQ(h.finish(), sha256(reference_body(body, c)));
    }
  }
}

TEST(CanonDifferential, PlainTextPassesThroughInFewPieces) {
  // Single SPs between words need no change: the body reaches the sink in
  // one span plus the final CRLF, not one write per space.
  std::string body;
  for (int i = 0; i < 200; ++i) body += "The quick brown fox jumps over the lazy dog.\r\n";
  PieceSink sink;
  canonicalize_body(body, Canon::relaxed, sink);
  EXPECT_EQ(sink.out, reference_body(body, Canon::relaxed));
  EXPECT_LE(sink.writes, 2u);
}

TEST(CanonDifferential, HeaderMatchesReference) {
  std::mt19937 rng(4242);
  std::vector<std::string> values = {"", " ", "\t", "\r\n ", "a", " a", "a ", " a ", "a  b", "a\r\n\tb",
                                     "a \r\n b", "a\r\nb", "a\nb", " \t a \t ", std::string(40, ' ') + "x"};
  for (int i = 0; i < 5000; ++i) values.push_back(random_body(rng, i < 4000 ? 40 : 400));
  for (const std::string& v : values) {
    const std::string want = reference_header("X-Test", v);
    std::string got;
    canonicalize_header("X-Test", v, {}, Canon::relaxed, got);
    ASSERT_EQ(got, want) << ::testing::PrintToString(v);
    // Split anywhere into pieces: the same result.
    const std::size_t cut = v.empty() ? 0 : rng() % (v.size() + 1);
    const std::size_t cut2 = cut + (v.size() == cut ? 0 : rng() % (v.size() - cut + 1));
    std::string pieces;
    canonicalize_header_relaxed("X-Test", {std::string_view(v).substr(0, cut), std::string_view(v).substr(cut, cut2 - cut),
                                          std::string_view(v).substr(cut2)},
                                pieces);
    ASSERT_EQ(pieces, want) << ::testing::PrintToString(v) << " cut " << cut << "," << cut2;
  }
}

}  // namespace
}  // namespace mxsec::auth::dkim
