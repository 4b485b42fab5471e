// queue/queue_file.cpp: see queue_file.hpp.
#include "queue/queue_file.hpp"

#include <nlohmann/json.hpp>
#include <optional>
#include <type_traits>
#include <utility>

#include "core/limits.hpp"
#include "core/strings.hpp"

namespace mxsec::queue {
namespace {

using nlohmann::json;

// Footer layout: "\nmxsec-queue 1 t=" text " j=" json " c=" checksum "\n".
constexpr std::string_view kMagic = "\nmxsec-queue 1 t=";
constexpr std::string_view kJsonTag = " j=";
constexpr std::string_view kSumTag = " c=";
constexpr std::size_t kTextDigits = 16;
constexpr std::size_t kJsonDigits = 8;
constexpr std::size_t kSumDigits = 16;
constexpr std::size_t kTextAt = kMagic.size();
constexpr std::size_t kJsonTagAt = kTextAt + kTextDigits;
constexpr std::size_t kJsonAt = kJsonTagAt + kJsonTag.size();
constexpr std::size_t kSumTagAt = kJsonAt + kJsonDigits;
constexpr std::size_t kSumAt = kSumTagAt + kSumTag.size();  // the checksum covers the footer up to here
constexpr std::size_t kNewlineAt = kSumAt + kSumDigits;
static_assert(kNewlineAt + 1 == kFooterBytes);
static_assert(limits::kQueueEnvelopeBytes < (std::uint64_t{1} << (4 * kJsonDigits)));

void append_hex_digits(std::string& out, std::uint64_t value, std::size_t digits) {
  for (std::size_t i = digits; i > 0; --i) out += hex_digit(static_cast<unsigned>(value >> (4 * (i - 1))));
}

// Exactly `text.size()` lower-case hex digits (what append_hex_digits writes).
std::optional<std::uint64_t> parse_hex_digits(std::string_view text) {
  std::uint64_t value = 0;
  for (const char c : text) {
    const bool lower_hex = is_digit(c) || (c >= 'a' && c <= 'f');
    if (!lower_hex) return std::nullopt;
    value = (value << 4) | static_cast<std::uint64_t>(hex_digit_value(c));
  }
  return value;
}

std::uint64_t checksum(std::string_view json_text, std::string_view footer_prefix) {
  return fnv1a64(footer_prefix, fnv1a64(json_text));
}

Error damaged(const std::string& what) { return make_error(Errc::parse, what); }

std::optional<RecipientState> parse_recipient_state(std::string_view text) {
  for (const RecipientState s : {RecipientState::pending, RecipientState::delivered, RecipientState::bounced})
    if (text == to_string(s)) return s;
  return std::nullopt;
}

// Reads the fields of one JSON object; the first missing or mistyped field is
// remembered and reported by result() (a sticky error, so callers list the
// fields without a check after each).
class Fields {
 public:
  Fields(const json& object, std::string where) : object_(object), where_(std::move(where)) {
    if (!object_.is_object()) bad_ = "(not an object)";
  }

  template <class T>
  Fields& operator()(const char* key, T& out) {
    if (bad_.empty() && !read(key, out)) bad_ = key;
    return *this;
  }

  Result<void> result() const {
    if (bad_.empty()) return {};
    return damaged(where_ + " field " + bad_ + " is missing or invalid");
  }

 private:
  const json* find(const char* key) const {
    const auto it = object_.find(key);
    return it == object_.end() ? nullptr : &*it;
  }
  bool read(const char* key, std::string& out) const {
    const json* v = find(key);
    if (v == nullptr || !v->is_string()) return false;
    out = v->get<std::string>();
    return true;
  }
  bool read(const char* key, bool& out) const {
    const json* v = find(key);
    if (v == nullptr || !v->is_boolean()) return false;
    out = v->get<bool>();
    return true;
  }
  bool read(const char* key, RecipientState& out) const {
    std::string text;
    if (!read(key, text)) return false;
    const auto state = parse_recipient_state(text);
    if (state) out = *state;
    return state.has_value();
  }
  template <class T>
    requires std::is_integral_v<T>
  bool read(const char* key, T& out) const {
    const json* v = find(key);
    if (v == nullptr) return false;
    if (v->is_number_unsigned()) return assign(v->get<std::uint64_t>(), out);
    if (v->is_number_integer()) return assign(v->get<std::int64_t>(), out);
    return false;
  }
  // An optional field: absent is nullopt; present must be valid.
  template <class T>
  bool read(const char* key, std::optional<T>& out) const {
    if (find(key) == nullptr) {
      out.reset();
      return true;
    }
    T value{};
    if (!read(key, value)) return false;
    out = value;
    return true;
  }
  template <class V, class T>
  static bool assign(V value, T& out) {
    if (!std::in_range<T>(value)) return false;
    out = static_cast<T>(value);
    return true;
  }

  const json& object_;
  std::string where_;
  std::string bad_;
};

// The fields delivery changes, shared by the queue file and the state file.
void put_delivery_fields(json& out, const Recipient& r) {
  out["state"] = to_string(r.state);
  out["attempts"] = r.attempts;
  out["next_attempt"] = r.next_attempt;
  out["last_result"] = r.last_result;
  out["last_host"] = r.last_host;
  if (!r.last_policy.empty()) out["last_policy"] = r.last_policy;
  if (!r.last_tls.empty()) out["last_tls"] = r.last_tls;
}

void get_delivery_fields(Fields& in, Recipient& r) {
  std::optional<std::string> policy, tls;  // absent before relaying existed, and for local deliveries
  in("state", r.state)("attempts", r.attempts)("next_attempt", r.next_attempt)("last_result", r.last_result)(
      "last_host", r.last_host)("last_policy", policy)("last_tls", tls);
  r.last_policy = policy.value_or("");
  r.last_tls = tls.value_or("");
}

const json* array_field(const json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_array() ? &*it : nullptr;
}

// The recipients of `object` ("recipients"), each read by `read_one`.
template <class ReadOne>
Result<std::vector<Recipient>> read_recipients(const json& object, const std::string& where, ReadOne read_one) {
  const json* list = array_field(object, "recipients");
  if (list == nullptr) return damaged(where + " field recipients is missing or invalid");
  std::vector<Recipient> out(list->size());
  for (std::size_t i = 0; i < out.size(); ++i) {
    Fields in((*list)[i], where + " recipient " + std::to_string(i));
    read_one(in, out[i]);
    if (auto r = in.result(); !r) return r.error();
  }
  return out;
}

// Parses `text` as a JSON object of format kFormatVersion.
Result<json> parse_document(std::string_view text, const std::string& where) {
  json doc = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return damaged(where + " is not a JSON object");
  int format = 0;
  Fields in(doc, where);
  in("format", format);
  if (auto r = in.result(); !r) return r.error();
  if (format != kFormatVersion) return damaged(where + " has format " + std::to_string(format));
  return doc;
}

}  // namespace

const char* to_string(RecipientState s) {
  switch (s) {
    case RecipientState::pending: return "pending";
    case RecipientState::delivered: return "delivered";
    case RecipientState::bounced: return "bounced";
  }
  return "pending";
}

std::uint64_t fnv1a64(std::string_view data, std::uint64_t hash) {
  for (const char c : data) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

Result<std::string> encode_tail(const Envelope& e, std::string_view prepend) {
  json recipients = json::array();
  for (const Recipient& r : e.recipients) {
    json one = {{"address", r.address}, {"domain_ascii", r.domain_ascii}, {"notify", r.notify}, {"orcpt", r.orcpt}};
    put_delivery_fields(one, r);
    recipients.push_back(std::move(one));
  }
  json doc = {{"format", kFormatVersion},
                    {"id", e.id},
                    {"reverse_path", e.reverse_path},
                    {"recipients", std::move(recipients)},
                    {"arrival", e.arrival},
                    {"smtputf8", e.smtputf8},
                    {"eight_bit", e.eight_bit},
                    {"requiretls", e.requiretls},
                    {"dsn_ret", e.dsn_ret},
                    {"envid", e.envid},
                    {"client_address", e.client_address},
                    {"client_helo", e.client_helo},
                    {"auth_user", e.auth_user},
                    {"listener", e.listener},
                    {"text_bytes", e.text_bytes},
                    {"prepend", prepend}};
  if (e.text_crc32) doc["text_crc32"] = *e.text_crc32;
  std::string tail;
  try {
    tail = doc.dump();
  } catch (const json::type_error&) {
    // Only invalid UTF-8 makes dump() throw (error_handler_t::strict).
    return make_error(Errc::invalid_argument, "queue file " + e.id + ": the envelope or prepend is not UTF-8");
  }
  if (tail.size() > limits::kQueueEnvelopeBytes)
    return make_error(Errc::limit, "queue file " + e.id + ": envelope of " + std::to_string(tail.size()) +
                                       " bytes is over the limit of " + std::to_string(limits::kQueueEnvelopeBytes));
  tail += make_footer(e.text_bytes, tail);
  return tail;
}

std::string make_footer(std::uint64_t text_bytes, std::string_view json_text) {
  std::string footer(kMagic);
  footer.reserve(kFooterBytes);
  append_hex_digits(footer, text_bytes, kTextDigits);
  footer += kJsonTag;
  append_hex_digits(footer, json_text.size(), kJsonDigits);
  footer += kSumTag;
  append_hex_digits(footer, checksum(json_text, footer), kSumDigits);
  footer += '\n';
  return footer;
}

Result<Footer> parse_footer(std::string_view f, std::uint64_t file_bytes) {
  if (f.size() != kFooterBytes || f.substr(0, kTextAt) != kMagic || f.substr(kJsonTagAt, kJsonTag.size()) != kJsonTag ||
      f.substr(kSumTagAt, kSumTag.size()) != kSumTag || f[kNewlineAt] != '\n')
    return damaged("no queue file footer");
  const auto text = parse_hex_digits(f.substr(kTextAt, kTextDigits));
  const auto json_bytes = parse_hex_digits(f.substr(kJsonAt, kJsonDigits));
  const auto sum = parse_hex_digits(f.substr(kSumAt, kSumDigits));
  if (!text || !json_bytes || !sum) return damaged("malformed number in the footer");
  if (*json_bytes > limits::kQueueEnvelopeBytes) return damaged("footer claims an envelope over the limit");
  if (file_bytes < kFooterBytes || *text > file_bytes - kFooterBytes ||
      *json_bytes != file_bytes - kFooterBytes - *text)
    return damaged("footer lengths do not add up to the file size");
  return Footer{*text, *json_bytes, *sum};
}

Result<StoredEnvelope> parse_envelope(std::string_view json_text, std::string_view footer_text, const Footer& footer,
                                      std::string_view id) {
  if (json_text.size() != footer.json_bytes || footer_text.size() != kFooterBytes)
    return damaged("envelope length differs from the footer");
  if (checksum(json_text, footer_text.substr(0, kSumAt)) != footer.checksum) return damaged("checksum mismatch");
  auto doc = parse_document(json_text, "envelope");
  if (!doc) return doc.error();
  StoredEnvelope out;
  Envelope& e = out.envelope;
  Fields in(*doc, "envelope");
  in("id", e.id)("reverse_path", e.reverse_path)("arrival", e.arrival)("smtputf8", e.smtputf8)(
      "eight_bit", e.eight_bit)("requiretls", e.requiretls)("dsn_ret", e.dsn_ret)("envid", e.envid)(
      "client_address", e.client_address)("client_helo", e.client_helo)("auth_user", e.auth_user)(
      "listener", e.listener)("text_bytes", e.text_bytes)("prepend", out.prepend)("text_crc32", e.text_crc32);
  if (auto r = in.result(); !r) return r.error();
  auto recipients = read_recipients(*doc, "envelope", [](Fields& f, Recipient& r) {
    f("address", r.address)("domain_ascii", r.domain_ascii)("notify", r.notify)("orcpt", r.orcpt);
    get_delivery_fields(f, r);
  });
  if (!recipients) return recipients.error();
  e.recipients = std::move(*recipients);
  if (e.id != id) return damaged("envelope id " + escape_for_log(e.id) + " is not the file name");
  if (e.text_bytes != footer.text_bytes) return damaged("envelope text_bytes differs from the footer");
  return out;
}

std::string encode_state(const Envelope& e) {
  json recipients = json::array();
  for (const Recipient& r : e.recipients) {
    json one = {{"address", r.address}};
    put_delivery_fields(one, r);
    recipients.push_back(std::move(one));
  }
  json doc = {{"format", kFormatVersion},
                    {"id", e.id},
                    {"recipients", std::move(recipients)},
                    {"delay_notified", e.delay_notified}};
  // last_result and last_host quote remote servers: invalid UTF-8 there becomes
  // U+FFFD rather than failing the delivery bookkeeping (see spool.hpp).
  return doc.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<void> merge_state(std::string_view json_text, Envelope& e) {
  auto doc = parse_document(json_text, "state");
  if (!doc) return doc.error();
  std::string id;
  Fields in(*doc, "state");
  in("id", id);
  if (auto r = in.result(); !r) return r;
  if (id != e.id) return damaged("state id " + escape_for_log(id) + " is not the message's");
  // Optional: state files written before delay notices existed lack it.
  bool delay_notified = false;
  if (doc->contains("delay_notified")) in("delay_notified", delay_notified);
  if (auto r = in.result(); !r) return r;
  auto saved = read_recipients(*doc, "state", [](Fields& f, Recipient& r) {
    f("address", r.address);
    get_delivery_fields(f, r);
  });
  if (!saved) return saved.error();
  if (saved->size() != e.recipients.size())
    return damaged("state has " + std::to_string(saved->size()) + " recipients, the envelope " +
                   std::to_string(e.recipients.size()));
  for (std::size_t i = 0; i < saved->size(); ++i)
    if ((*saved)[i].address != e.recipients[i].address)
      return damaged("state recipient " + std::to_string(i) + " is not the envelope's");
  for (std::size_t i = 0; i < saved->size(); ++i) {
    Recipient& r = e.recipients[i];
    const Recipient& s = (*saved)[i];
    r.state = s.state;
    r.attempts = s.attempts;
    r.next_attempt = s.next_attempt;
    r.last_result = s.last_result;
    r.last_host = s.last_host;
    r.last_policy = s.last_policy;
    r.last_tls = s.last_tls;
  }
  e.delay_notified = delay_notified;
  return {};
}

}  // namespace mxsec::queue
