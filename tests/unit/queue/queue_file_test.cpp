// Tests for queue/queue_file.cpp: the queue file tail (JSON + footer) and
// the state file, without I/O. Every truncation and every single-octet change
// of the tail must be refused.
#include "queue/queue_file.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/limits.hpp"

#include "spool_test_util.hpp"

namespace mxsec::queue {
namespace {

constexpr const char* kId = "0123456789ABCDEF";

Envelope envelope_with(std::uint64_t text_bytes) {
  Envelope e = test::sample_envelope();
  e.id = kId;
  e.text_bytes = text_bytes;
  return e;
}

// What Spool::load() does with a file's bytes, without the file.
Result<StoredEnvelope> parse_file(std::string_view file, std::string_view id = kId) {
  if (file.size() < kFooterBytes) return make_error(Errc::parse, "shorter than its footer");
  const std::string_view footer_text = file.substr(file.size() - kFooterBytes);
  auto footer = parse_footer(footer_text, file.size());
  if (!footer) return footer.error();
  return parse_envelope(file.substr(footer->text_bytes, footer->json_bytes), footer_text, *footer, id);
}

void expect_same(const Envelope& a, const Envelope& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.reverse_path, b.reverse_path);
  EXPECT_EQ(a.arrival, b.arrival);
  EXPECT_EQ(a.smtputf8, b.smtputf8);
  EXPECT_EQ(a.eight_bit, b.eight_bit);
  EXPECT_EQ(a.requiretls, b.requiretls);
  EXPECT_EQ(a.dsn_ret, b.dsn_ret);
  EXPECT_EQ(a.envid, b.envid);
  EXPECT_EQ(a.client_address, b.client_address);
  EXPECT_EQ(a.client_helo, b.client_helo);
  EXPECT_EQ(a.auth_user, b.auth_user);
  EXPECT_EQ(a.listener, b.listener);
  EXPECT_EQ(a.text_bytes, b.text_bytes);
  EXPECT_EQ(a.delay_notified, b.delay_notified);
  ASSERT_EQ(a.recipients.size(), b.recipients.size());
  for (std::size_t i = 0; i < a.recipients.size(); ++i) {
    const Recipient& x = a.recipients[i];
    const Recipient& y = b.recipients[i];
    EXPECT_EQ(x.address, y.address);
    EXPECT_EQ(x.domain_ascii, y.domain_ascii);
    EXPECT_EQ(x.notify, y.notify);
    EXPECT_EQ(x.orcpt, y.orcpt);
    EXPECT_EQ(x.state, y.state);
    EXPECT_EQ(x.attempts, y.attempts);
    EXPECT_EQ(x.next_attempt, y.next_attempt);
    EXPECT_EQ(x.last_result, y.last_result);
    EXPECT_EQ(x.last_host, y.last_host);
    EXPECT_EQ(x.last_policy, y.last_policy);
    EXPECT_EQ(x.last_tls, y.last_tls);
  }
}

TEST(QueueFile, RoundTrip) {
  for (const std::string& text : {std::string(), std::string("x"), std::string("Subject: hi\r\n\r\nbody\r\n")}) {
    const Envelope e = envelope_with(text.size());
    const std::string prepend = test::sample_prepend(kId);
    auto tail = encode_tail(e, prepend);
    ASSERT_TRUE(tail) << tail.error().message;
    auto parsed = parse_file(text + *tail);
    ASSERT_TRUE(parsed) << parsed.error().message;
    expect_same(parsed->envelope, e);
    EXPECT_EQ(parsed->prepend, prepend);
  }
}

TEST(QueueFile, FooterLayout) {
  auto tail = encode_tail(envelope_with(0x1234), "");
  ASSERT_TRUE(tail);
  const std::string footer = tail->substr(tail->size() - kFooterBytes);
  const std::string json = tail->substr(0, tail->size() - kFooterBytes);
  EXPECT_EQ(footer.substr(0, 33), "\nmxsec-queue 1 t=0000000000001234");
  char expected_json_len[16];
  std::snprintf(expected_json_len, sizeof expected_json_len, " j=%08zx c=", json.size());
  EXPECT_EQ(footer.substr(33, 14), expected_json_len);
  EXPECT_EQ(footer.back(), '\n');
  EXPECT_EQ(footer, make_footer(0x1234, json));
  EXPECT_EQ(json.front(), '{');
}

TEST(QueueFile, Fnv1a64KnownValues) {
  EXPECT_EQ(fnv1a64(""), 0xcbf29ce484222325ULL);
  EXPECT_EQ(fnv1a64("a"), 0xaf63dc4c8601ec8cULL);
  EXPECT_EQ(fnv1a64("foobar"), 0x85944171f73967e8ULL);
}

TEST(QueueFile, EveryTruncationOfTheTailIsDamaged) {
  const std::string text = "Subject: cut\r\n\r\nbody\r\n";
  auto tail = encode_tail(envelope_with(text.size()), test::sample_prepend(kId));
  ASSERT_TRUE(tail);
  const std::string file = text + *tail;
  for (std::size_t cut = 0; cut < file.size(); ++cut) {
    auto parsed = parse_file(std::string_view(file).substr(0, cut));
    ASSERT_FALSE(parsed) << "cut at " << cut;
    EXPECT_EQ(parsed.error().code, Errc::parse);
  }
}

TEST(QueueFile, EveryChangedOctetOfTheTailIsDamaged) {
  const std::string text = "Subject: flip\r\n\r\nbody\r\n";
  auto tail = encode_tail(envelope_with(text.size()), test::sample_prepend(kId));
  ASSERT_TRUE(tail);
  const std::string file = text + *tail;
  for (std::size_t at = text.size(); at < file.size(); ++at) {
    for (const unsigned char mask : {0x01, 0x20, 0x80}) {
      std::string changed = file;
      changed[at] = static_cast<char>(changed[at] ^ mask);
      auto parsed = parse_file(changed);
      ASSERT_FALSE(parsed) << "octet " << at << " ^ " << int(mask);
      EXPECT_EQ(parsed.error().code, Errc::parse);
    }
  }
}

TEST(QueueFile, FooterMustAddUpToTheFileSize) {
  auto tail = encode_tail(envelope_with(3), "");
  ASSERT_TRUE(tail);
  const std::string footer = tail->substr(tail->size() - kFooterBytes);
  EXPECT_TRUE(parse_footer(footer, 3 + tail->size()));
  EXPECT_FALSE(parse_footer(footer, 2 + tail->size()));
  EXPECT_FALSE(parse_footer(footer, 4 + tail->size()));
  EXPECT_FALSE(parse_footer(footer, 0));
  EXPECT_FALSE(parse_footer(footer.substr(1), 3 + tail->size()));
  // A footer that claims more JSON than the limit is refused before any read.
  const std::string huge = make_footer(0, std::string(limits::kQueueEnvelopeBytes + 1, ' '));
  auto refused = parse_footer(huge, limits::kQueueEnvelopeBytes + 1 + kFooterBytes);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("limit"), std::string::npos);
}

TEST(QueueFile, WrongIdOrTextLengthIsDamaged) {
  auto tail = encode_tail(envelope_with(0), "");
  ASSERT_TRUE(tail);
  auto other = parse_file(*tail, "ZZZZZZZZZZZZZZZZ");
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, Errc::parse);
  // JSON saying 5 octets of text, framed by a footer that says none.
  auto five = encode_tail(envelope_with(5), "");
  ASSERT_TRUE(five);
  const std::string json = five->substr(0, five->size() - kFooterBytes);
  auto mismatch = parse_file(json + make_footer(0, json));
  ASSERT_FALSE(mismatch);
  EXPECT_NE(mismatch.error().message.find("text_bytes"), std::string::npos);
}

// JSON that passes the checksum (framed by make_footer) but not the schema.
TEST(QueueFile, SchemaViolationsAreDamaged) {
  auto tail = encode_tail(envelope_with(0), "p");
  ASSERT_TRUE(tail);
  const nlohmann::json good = nlohmann::json::parse(tail->substr(0, tail->size() - kFooterBytes));
  struct Case {
    const char* what;
    std::function<void(nlohmann::json&)> change;
  };
  const std::vector<Case> cases = {
      {"not an object", [](nlohmann::json& j) { j = nlohmann::json::array(); }},
      {"format 2", [](nlohmann::json& j) { j["format"] = 2; }},
      {"format missing", [](nlohmann::json& j) { j.erase("format"); }},
      {"id missing", [](nlohmann::json& j) { j.erase("id"); }},
      {"id a number", [](nlohmann::json& j) { j["id"] = 5; }},
      {"prepend missing", [](nlohmann::json& j) { j.erase("prepend"); }},
      {"smtputf8 a string", [](nlohmann::json& j) { j["smtputf8"] = "true"; }},
      {"arrival a float", [](nlohmann::json& j) { j["arrival"] = 1.5; }},
      {"dsn_ret out of int range", [](nlohmann::json& j) { j["dsn_ret"] = 1LL << 40; }},
      {"text_bytes negative", [](nlohmann::json& j) { j["text_bytes"] = -1; }},
      {"recipients not an array", [](nlohmann::json& j) { j["recipients"] = "bob@example.net"; }},
      {"recipient not an object", [](nlohmann::json& j) { j["recipients"][0] = 1; }},
      {"recipient address missing", [](nlohmann::json& j) { j["recipients"][0].erase("address"); }},
      {"recipient notify negative", [](nlohmann::json& j) { j["recipients"][0]["notify"] = -1; }},
      {"recipient state unknown", [](nlohmann::json& j) { j["recipients"][1]["state"] = "lost"; }},
  };
  for (const Case& c : cases) {
    nlohmann::json changed = good;
    c.change(changed);
    const std::string json = changed.dump();
    auto parsed = parse_file(json + make_footer(0, json));
    ASSERT_FALSE(parsed) << c.what;
    EXPECT_EQ(parsed.error().code, Errc::parse) << c.what;
  }
  const std::string same = good.dump();
  EXPECT_TRUE(parse_file(same + make_footer(0, same))) << "the unchanged document parses";
  const std::string not_json = "{\"format\":1,";
  EXPECT_FALSE(parse_file(not_json + make_footer(0, not_json)));
}

TEST(QueueFile, NonUtf8EnvelopeIsRefusedWhenEncoding) {
  Envelope e = envelope_with(0);
  e.reverse_path = "caf\xe9@example.org";  // Latin-1, not UTF-8
  auto refused = encode_tail(e, "");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::invalid_argument);
  auto prepend = encode_tail(envelope_with(0), "Received: from \xff\r\n");
  ASSERT_FALSE(prepend);
  EXPECT_EQ(prepend.error().code, Errc::invalid_argument);
}

TEST(StateFile, MergeRoundTrip) {
  Envelope saved = envelope_with(0);
  saved.recipients[0].state = RecipientState::bounced;
  saved.recipients[0].attempts = 7;
  saved.recipients[0].next_attempt = 42;
  saved.recipients[0].last_result = "550 5.1.1 no such user";
  saved.recipients[0].last_host = "mx.example.net[192.0.2.9]:25";
  saved.recipients[0].last_policy = "dane";
  saved.recipients[0].last_tls = "dane-ee";
  saved.delay_notified = true;
  Envelope loaded = envelope_with(0);
  ASSERT_TRUE(merge_state(encode_state(saved), loaded));
  expect_same(loaded, saved);
}

// The relay fields (last_policy, last_tls) are optional: state files from
// before relaying, and local deliveries, have none; one of the wrong type is
// damaged.
TEST(StateFile, RelayFieldsAreOptionalButTyped) {
  Envelope saved = envelope_with(0);
  const std::string plain = encode_state(saved);
  EXPECT_EQ(plain.find("last_policy"), std::string::npos) << plain;
  Envelope loaded = envelope_with(0);
  ASSERT_TRUE(merge_state(plain, loaded));
  EXPECT_EQ(loaded.recipients[0].last_tls, "");
  saved.recipients[0].last_tls = "mta-sts";
  std::string typed = encode_state(saved);
  const auto at = typed.find("\"mta-sts\"");
  ASSERT_NE(at, std::string::npos) << typed;
  typed.replace(at, 9, "7");
  Envelope damaged = envelope_with(0);
  EXPECT_FALSE(merge_state(typed, damaged));
}

// State files written before delay notices existed have no delay_notified;
// one of the wrong type is damaged.
TEST(StateFile, DelayNotifiedIsOptionalButTyped) {
  Envelope saved = envelope_with(0);
  std::string old_state = encode_state(saved);
  const std::string field = "\"delay_notified\":false";
  const auto at = old_state.find(field);
  ASSERT_NE(at, std::string::npos) << old_state;
  // The member and one comma next to it.
  if (old_state[at + field.size()] == ',')
    old_state.erase(at, field.size() + 1);
  else
    old_state.erase(at - 1, field.size() + 1);
  ASSERT_EQ(old_state.find("delay_notified"), std::string::npos);
  Envelope loaded = envelope_with(0);
  loaded.delay_notified = true;
  ASSERT_TRUE(merge_state(old_state, loaded)) << old_state;
  EXPECT_FALSE(loaded.delay_notified);
  std::string mistyped = encode_state(saved);
  mistyped.replace(mistyped.find(field), field.size(), "\"delay_notified\":\"yes\"");
  Envelope target = envelope_with(0);
  auto r = merge_state(mistyped, target);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::parse);
}

TEST(StateFile, RemoteTextThatIsNotUtf8IsReplaced) {
  Envelope saved = envelope_with(0);
  saved.recipients[0].last_result = "451 caf\xe9";
  Envelope loaded = envelope_with(0);
  ASSERT_TRUE(merge_state(encode_state(saved), loaded));
  EXPECT_EQ(loaded.recipients[0].last_result, "451 caf\xef\xbf\xbd");
}

TEST(StateFile, MismatchesAreDamagedAndChangeNothing) {
  Envelope fewer = envelope_with(0);
  fewer.recipients.pop_back();
  Envelope renamed = envelope_with(0);
  renamed.recipients[1].address = "someone@else.example";
  Envelope other_id = envelope_with(0);
  other_id.id = "ZZZZZZZZZZZZZZZZ";
  for (const std::string& state : {encode_state(fewer), encode_state(renamed), encode_state(other_id),
                                   std::string("{\"format\":1,\"id\":\"0123456789ABCDEF\"}"), std::string("[]"),
                                   std::string("{\"format\":1"), std::string()}) {
    Envelope target = envelope_with(0);
    auto r = merge_state(state, target);
    ASSERT_FALSE(r) << state;
    EXPECT_EQ(r.error().code, Errc::parse);
    expect_same(target, envelope_with(0));
  }
}

}  // namespace
}  // namespace mxsec::queue
