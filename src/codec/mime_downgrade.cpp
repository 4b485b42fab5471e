// codec/mime_downgrade.cpp: see mime_downgrade.hpp.
#include "codec/mime_downgrade.hpp"

#include <algorithm>
#include <optional>

#include "core/strings.hpp"

namespace mxsec::codec {
namespace {

// RFC 2045 §6.7 (5): "The Quoted-Printable encoding REQUIRES that encoded
// lines be no more than 76 characters long." A soft line break takes one of
// them ("="), so a line holds at most 75 octets of content before it.
constexpr std::size_t kQpContent = 75;
// Output pieces used to count the converted size.
constexpr std::size_t kCountBlock = 64 * 1024;

// RFC 2046 §5.1.1: "Boundary delimiters must not appear within the
// encapsulated material, and must be no longer than 70 characters, not
// counting the two leading hyphens."
constexpr std::size_t kBoundaryMax = 70;

// One line of the text (the slices read as one): [begin, end) is its
// content, [end, next) its line end (CR LF, LF, or nothing at the end of the
// text). `head` holds the first octets of the content, up to the reader's
// peek; `nonwsp_end` is the offset after its last octet other than SP/HTAB.
struct Line {
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
  std::uint64_t next = 0;
  std::uint64_t nonwsp_end = 0;
  bool eight_bit = false;
  bool truncated = false;
  std::string head;
  bool empty() const { return begin == end; }
};

class LineReader {
 public:
  LineReader(const std::vector<std::string_view>& slices, std::size_t peek) : slices_(slices), peek_(peek) {}

  bool next(Line& l) {
    while (slice_ < slices_.size() && offset_ >= slices_[slice_].size()) {
      ++slice_;
      offset_ = 0;
    }
    if (slice_ >= slices_.size()) return false;
    l.begin = pos_;
    l.head.clear();
    l.eight_bit = false;
    std::uint64_t nonwsp = pos_;
    std::uint64_t nonwsp_before = pos_;  // before the last octet (a CR that a LF may end)
    bool last_cr = false;
    for (; slice_ < slices_.size(); ++slice_, offset_ = 0) {
      const std::string_view s = slices_[slice_];
      while (offset_ < s.size()) {
        const char c = s[offset_++];
        const std::uint64_t at = pos_++;
        if (c == '\n') {
          l.end = last_cr ? at - 1 : at;
          l.next = pos_;
          finish(l, last_cr ? nonwsp_before : nonwsp);
          return true;
        }
        if (static_cast<unsigned char>(c) >= 0x80) l.eight_bit = true;
        nonwsp_before = nonwsp;
        if (!is_wsp(c)) nonwsp = at + 1;
        last_cr = c == '\r';
        if (l.head.size() < peek_) l.head.push_back(c);
      }
    }
    l.end = pos_;  // the last line, without a line end
    l.next = pos_;
    finish(l, nonwsp);
    return true;
  }

  std::uint64_t position() const { return pos_; }

 private:
  static void finish(Line& l, std::uint64_t nonwsp) {
    const std::uint64_t length = l.end - l.begin;
    if (l.head.size() > length) l.head.resize(static_cast<std::size_t>(length));
    l.truncated = length > l.head.size();
    l.nonwsp_end = std::min(nonwsp, l.end);
  }

  const std::vector<std::string_view>& slices_;
  std::size_t peek_;
  std::size_t slice_ = 0;
  std::size_t offset_ = 0;
  std::uint64_t pos_ = 0;
};

// RFC 822 comments "( ... )" (nested, with quoted pairs) removed outside
// quoted strings: what is left are the tokens and quoted strings of a
// structured MIME field.
std::string strip_comments(std::string_view v) {
  std::string out;
  int depth = 0;
  bool quoted = false;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const char c = v[i];
    if (c == '\\' && (quoted || depth > 0) && i + 1 < v.size()) {
      if (depth == 0) {
        out += c;
        out += v[i + 1];
      }
      ++i;
      continue;
    }
    if (depth == 0 && c == '"') quoted = !quoted;
    if (!quoted && c == '(') {
      ++depth;
      continue;
    }
    if (!quoted && c == ')' && depth > 0) {
      --depth;
      continue;
    }
    if (depth == 0) out += c;
  }
  return out;
}

struct ContentType {
  std::string type;     // lower case; "" when the field is missing or unreadable
  std::string subtype;
  std::optional<std::string> boundary;
};

// RFC 2045 §5.1: type "/" subtype *(";" parameter), parameter = attribute
// "=" (token / quoted-string). Only the boundary parameter is kept.
ContentType parse_content_type(std::string_view value) {
  ContentType ct;
  const std::string v = strip_comments(value);
  std::size_t i = 0;
  auto skip_ws = [&] {
    while (i < v.size() && (is_wsp(v[i]) || v[i] == '\r' || v[i] == '\n')) ++i;
  };
  auto token = [&] {
    std::string t;
    while (i < v.size() && !is_wsp(v[i]) && v[i] != ';' && v[i] != '/' && v[i] != '=' && v[i] != '"' &&
           v[i] != '\r' && v[i] != '\n')
      t += ascii_lower(v[i++]);
    return t;
  };
  skip_ws();
  std::string type = token();
  skip_ws();
  if (i >= v.size() || v[i] != '/') return ct;
  ++i;
  skip_ws();
  std::string subtype = token();
  if (type.empty() || subtype.empty()) return ct;
  ct.type = std::move(type);
  ct.subtype = std::move(subtype);
  while (i < v.size()) {
    const std::size_t semi = v.find(';', i);
    if (semi == std::string::npos) break;
    i = semi + 1;
    skip_ws();
    const std::string name = token();
    skip_ws();
    if (i >= v.size() || v[i] != '=') continue;
    ++i;
    skip_ws();
    std::string param;
    if (i < v.size() && v[i] == '"') {
      ++i;
      while (i < v.size() && v[i] != '"') {
        if (v[i] == '\\' && i + 1 < v.size()) ++i;
        param += v[i++];
      }
      if (i < v.size()) ++i;  // the closing quote
    } else {
      while (i < v.size() && v[i] != ';' && !is_wsp(v[i]) && v[i] != '\r' && v[i] != '\n') param += v[i++];
    }
    if (name == "boundary" && !ct.boundary) ct.boundary = std::move(param);
  }
  return ct;
}

// RFC 2046 §5.1.1: 1 to 70 bchars, not ending in a space.
bool usable_boundary(std::string_view b) {
  if (b.empty() || b.size() > kBoundaryMax || b.back() == ' ') return false;
  return std::all_of(b.begin(), b.end(), [](char c) {
    return is_alnum(c) || std::string_view("'()+_,-./:=? ").find(c) != std::string_view::npos;
  });
}

std::string encoding_token(std::string_view value) { return to_lower(trim(strip_comments(value))); }

// A part's header section, as the walk reads it.
struct PartHeader {
  std::uint64_t begin = 0;
  std::uint64_t blank = 0;  // the empty line that ends it (when ended_by_blank)
  bool ended_by_blank = false;
  bool eight_bit = false;
  bool mime_version = false;
  bool dkim_signature = false;
  std::optional<std::string> content_type;  // the first field's unfolded value
  std::optional<std::string> encoding;      // Content-Transfer-Encoding, likewise
  std::vector<std::pair<std::uint64_t, std::uint64_t>> encoding_fields;  // every CTE field, whole lines
  enum class Collect { none, content_type, encoding } collecting = Collect::none;
};

class Walker {
 public:
  Walker(const std::vector<std::string_view>& slices, const DowngradeLimits& limits)
      : limits_(limits), reader_(slices, limits.field_bytes + 1) {}

  Result<DowngradePlan> run() {
    Line l;
    header_ = PartHeader{};
    while (reader_.next(l)) {
      auto step = take(l);
      if (!step) return step.error();
    }
    // The end of the text ends every open entity.
    auto ended = end_entity(reader_.position(), reader_.position());
    if (!ended) return ended.error();
    copy_until(reader_.position());
    return std::move(plan_);
  }

 private:
  enum class State { header, body, preamble, epilogue };
  enum class Leaf { convertible, opaque };

  Result<void> take(const Line& l) {
    if (const auto d = delimiter(l)) {
      // The line end before the delimiter belongs to it (RFC 2046 §5.1.1).
      const std::uint64_t body_end = last_line_ ? last_line_end_ : body_begin_;
      auto ended = end_entity(body_end, l.begin);
      if (!ended) return ended;
      stack_.resize(d->frame + 1);
      if (d->close) {
        stack_.pop_back();
        state_ = State::epilogue;
        return {};
      }
      if (++parts_ > limits_.parts)
        return make_error(Errc::limit, "more than " + std::to_string(limits_.parts) + " MIME parts");
      header_ = PartHeader{};
      header_.begin = l.next;
      state_ = State::header;
      return {};
    }
    switch (state_) {
      case State::header: return header_line(l);
      case State::body:
        body_eight_bit_ |= l.eight_bit;
        last_line_ = true;
        last_line_end_ = l.end;
        return {};
      case State::preamble:
      case State::epilogue:
        if (l.eight_bit)
          return make_error(Errc::unsupported, std::string("8-bit octets in the ") +
                                                   (state_ == State::preamble ? "preamble" : "epilogue") +
                                                   " of a multipart");
        return {};
    }
    return {};
  }

  struct Delimiter {
    std::size_t frame;
    bool close;
  };

  // "--" boundary ["--"] *(SP / HTAB), for any open multipart, innermost first.
  std::optional<Delimiter> delimiter(const Line& l) const {
    if (stack_.empty() || l.head.size() < 3 || l.head[0] != '-' || l.head[1] != '-') return std::nullopt;
    for (std::size_t k = stack_.size(); k-- > 0;) {
      const std::string& b = stack_[k];
      if (l.head.compare(2, b.size(), b) != 0) continue;
      std::size_t length = 2 + b.size();
      const bool close = l.head.compare(length, 2, "--") == 0;
      if (close) length += 2;
      if (l.nonwsp_end <= l.begin + length) return Delimiter{k, close};
    }
    return std::nullopt;
  }

  Result<void> header_line(const Line& l) {
    if (l.empty()) {
      header_.blank = l.begin;
      header_.ended_by_blank = true;
      return start_body(l.next);
    }
    const std::string_view head = l.head;
    if (is_wsp(head.front())) {
      // A continuation line of the field before it (RFC 5322 §2.2.3).
      header_.eight_bit |= l.eight_bit;
      if (header_.collecting == PartHeader::Collect::none) return {};
      if (header_.collecting == PartHeader::Collect::encoding && !header_.encoding_fields.empty())
        header_.encoding_fields.back().second = l.next;
      return append_value(header_.collecting == PartHeader::Collect::content_type ? header_.content_type
                                                                                  : header_.encoding,
                          head, l.truncated);
    }
    const std::size_t colon = head.find(':');
    const std::string_view name = colon == std::string_view::npos ? std::string_view() : trim(head.substr(0, colon));
    const bool field = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
      return c >= 33 && c <= 126 && c != ':';
    });
    if (!field) {
      // Not a header field: the header section ended without its empty
      // line, and this line is the first of the body.
      header_.ended_by_blank = false;
      auto started = start_body(l.begin);
      if (!started) return started;
      return take(l);
    }
    header_.eight_bit |= l.eight_bit;
    header_.collecting = PartHeader::Collect::none;
    const std::string_view value = head.substr(colon + 1);
    if (iequals(name, "MIME-Version")) header_.mime_version = true;
    if (iequals(name, "DKIM-Signature")) header_.dkim_signature = true;
    if (iequals(name, "Content-Type") && !header_.content_type) {
      header_.collecting = PartHeader::Collect::content_type;
      header_.content_type.emplace();
      return append_value(header_.content_type, value, l.truncated);
    }
    if (iequals(name, "Content-Transfer-Encoding")) {
      if (header_.encoding_fields.size() >= limits_.encoding_fields)
        return make_error(Errc::limit, "more than " + std::to_string(limits_.encoding_fields) +
                                           " Content-Transfer-Encoding fields in one part");
      header_.encoding_fields.emplace_back(l.begin, l.next);
      if (header_.encoding) return {};
      header_.collecting = PartHeader::Collect::encoding;
      header_.encoding.emplace();
      return append_value(header_.encoding, value, l.truncated);
    }
    return {};
  }

  Result<void> append_value(std::optional<std::string>& to, std::string_view piece, bool truncated) {
    if (!to) return {};
    if (truncated || to->size() + piece.size() > limits_.field_bytes)
      return make_error(Errc::limit, "a Content-Type or Content-Transfer-Encoding field over " +
                                         std::to_string(limits_.field_bytes) + " octets");
    *to += piece;
    return {};
  }

  // The header section of the current entity has ended; its body starts at `body`.
  Result<void> start_body(std::uint64_t body) {
    const bool top = !started_top_;
    started_top_ = true;
    if (header_.eight_bit)
      return make_error(Errc::unsupported, top ? "8-bit octets in the message header section"
                                               : "8-bit octets in the header section of a MIME part");
    if (top) plan_.dkim_signed = header_.dkim_signature;
    top_mime_version_ = top ? header_.mime_version : top_mime_version_;
    const ContentType ct = header_.content_type ? parse_content_type(*header_.content_type) : ContentType{};
    const std::string encoding = header_.encoding ? encoding_token(*header_.encoding) : std::string();
    const bool mime = !top || header_.mime_version || header_.content_type || header_.encoding;
    body_begin_ = body;
    last_line_ = false;
    body_eight_bit_ = false;
    leaf_top_ = top;
    leaf_non_mime_ = !mime;
    state_ = State::body;
    leaf_ = Leaf::opaque;
    if (mime && ct.type == "multipart") {
      const bool identity = encoding.empty() || encoding == "7bit" || encoding == "8bit" || encoding == "binary";
      if (!ct.boundary || !usable_boundary(*ct.boundary)) {
        leaf_reason_ = "a multipart without a usable boundary parameter";
      } else if (!identity) {
        leaf_reason_ = "a multipart labelled Content-Transfer-Encoding: " + escape_for_log(encoding, 40);
      } else if (!header_.ended_by_blank) {
        leaf_reason_ = "a multipart whose header section does not end with an empty line";
      } else {
        if (stack_.size() + 1 > limits_.depth)
          return make_error(Errc::limit, "MIME parts nested deeper than " + std::to_string(limits_.depth));
        // RFC 2045 §6.4: a multipart is 7bit once its parts are.
        std::string fields;
        if (top && !header_.mime_version) fields += "MIME-Version: 1.0\r\n";
        if (encoding == "8bit" || encoding == "binary") {
          for (const auto& [b, e] : header_.encoding_fields) skip(b, e);
          fields += "Content-Transfer-Encoding: 7bit\r\n";
        }
        if (!fields.empty()) insert(header_.blank, std::move(fields));
        stack_.push_back(*ct.boundary);
        state_ = State::preamble;
        return {};
      }
    } else if (mime && ct.type == "message") {
      leaf_reason_ = "a message/" + escape_for_log(ct.subtype, 40) + " part (its header would need converting)";
    } else if (!encoding.empty() && encoding != "7bit" && encoding != "8bit") {
      leaf_reason_ = "a part labelled Content-Transfer-Encoding: " + escape_for_log(encoding, 40);
    } else if (!header_.ended_by_blank) {
      leaf_reason_ = "a part whose header section does not end with an empty line";
    } else {
      leaf_ = Leaf::convertible;
    }
    return {};
  }

  // The entity being read ends: its body is [body_begin_, body_end); the
  // text goes on at `next` (a delimiter line, or the end).
  Result<void> end_entity(std::uint64_t body_end, std::uint64_t next) {
    if (state_ == State::header) {
      // A part (or message) that ended inside its header section: no body.
      if (header_.eight_bit)
        return make_error(Errc::unsupported, "8-bit octets in the header section of a MIME part");
      return {};
    }
    if (state_ != State::body || !body_eight_bit_) return {};
    if (leaf_ == Leaf::opaque) return make_error(Errc::unsupported, "8-bit octets in " + leaf_reason_);
    std::string fields;
    if (leaf_top_ && !top_mime_version_) fields += "MIME-Version: 1.0\r\n";
    if (leaf_non_mime_) fields += "Content-Type: text/plain; charset=unknown-8bit\r\n";
    fields += "Content-Transfer-Encoding: quoted-printable\r\n";
    for (const auto& [b, e] : header_.encoding_fields) skip(b, e);
    insert(header_.blank, std::move(fields));
    encode(body_begin_, std::min(body_end, next));
    ++plan_.converted_parts;
    return {};
  }

  // --- the plan -----------------------------------------------------------
  void copy_until(std::uint64_t pos) {
    if (pos <= copied_) return;
    if (!plan_.steps.empty() && plan_.steps.back().kind == DowngradeStep::Kind::copy &&
        plan_.steps.back().end == copied_)
      plan_.steps.back().end = pos;
    else
      plan_.steps.push_back({DowngradeStep::Kind::copy, copied_, pos, {}});
    copied_ = pos;
  }
  void skip(std::uint64_t begin, std::uint64_t end) {
    copy_until(begin);
    copied_ = std::max(copied_, end);
  }
  void insert(std::uint64_t at, std::string text) {
    copy_until(at);
    const std::uint64_t length = text.size();  // an insert's begin and end are offsets into its text
    plan_.steps.push_back({DowngradeStep::Kind::insert, 0, length, std::move(text)});
  }
  void encode(std::uint64_t begin, std::uint64_t end) {
    copy_until(begin);
    if (end <= begin) return;
    plan_.steps.push_back({DowngradeStep::Kind::quoted_printable, begin, end, {}});
    copied_ = end;
  }

  const DowngradeLimits& limits_;
  LineReader reader_;
  DowngradePlan plan_;
  std::uint64_t copied_ = 0;

  State state_ = State::header;
  std::vector<std::string> stack_;  // the boundaries of the open multiparts, outermost first
  std::size_t parts_ = 1;
  bool started_top_ = false;
  bool top_mime_version_ = false;

  PartHeader header_;
  std::uint64_t body_begin_ = 0;
  bool last_line_ = false;
  std::uint64_t last_line_end_ = 0;
  bool body_eight_bit_ = false;
  Leaf leaf_ = Leaf::opaque;
  std::string leaf_reason_;
  bool leaf_top_ = false;
  bool leaf_non_mime_ = false;
};

}  // namespace

Result<DowngradePlan> plan_downgrade(const std::vector<std::string_view>& slices, const DowngradeLimits& limits) {
  Walker walker(slices, limits);
  auto plan = walker.run();
  if (!plan) return plan.error();
  DowngradeStream counting(*plan, slices);
  std::string block;
  block.reserve(kCountBlock + 16);
  std::uint64_t total = 0;
  while (counting.next(block, kCountBlock)) {
    total += block.size();
    block.clear();
  }
  plan->output_bytes = total;
  return plan;
}

// --- the stream -----------------------------------------------------------------

DowngradeStream::DowngradeStream(const DowngradePlan& plan, const std::vector<std::string_view>& slices)
    : plan_(plan), slices_(slices) {}

DowngradeStream::Cursor DowngradeStream::locate(std::uint64_t pos) const {
  Cursor c;
  for (; c.slice < slices_.size(); ++c.slice) {
    if (pos < slices_[c.slice].size()) {
      c.offset = static_cast<std::size_t>(pos);
      return c;
    }
    pos -= slices_[c.slice].size();
  }
  return c;
}

bool DowngradeStream::next(std::string& out, std::size_t max) {
  const std::size_t start = out.size();
  max = std::max<std::size_t>(max, 1);
  while (step_ < plan_.steps.size() && out.size() - start < max) {
    const DowngradeStep& s = plan_.steps[step_];
    if (!step_started_) {
      step_started_ = true;
      pos_ = s.begin;
      column_ = 0;
      pending_space_ = 0;
      pending_cr_ = false;
    }
    const std::size_t room = max - (out.size() - start);
    switch (s.kind) {
      case DowngradeStep::Kind::insert: {
        const std::size_t n = std::min(room, s.text.size() - static_cast<std::size_t>(pos_));
        out.append(s.text, static_cast<std::size_t>(pos_), n);
        pos_ += n;
        break;
      }
      case DowngradeStep::Kind::copy: copy_some(out, room); break;
      case DowngradeStep::Kind::quoted_printable: encode_some(out, room); break;
    }
    if (pos_ >= s.end && !pending_cr_ && pending_space_ == 0) {
      ++step_;
      step_started_ = false;
    }
  }
  return out.size() > start;
}

void DowngradeStream::copy_some(std::string& out, std::size_t max) {
  const std::uint64_t end = plan_.steps[step_].end;
  Cursor c = locate(pos_);
  std::size_t added = 0;
  while (pos_ < end && added < max && c.slice < slices_.size()) {
    const std::string_view s = slices_[c.slice];
    const std::size_t n = static_cast<std::size_t>(
        std::min<std::uint64_t>({s.size() - c.offset, end - pos_, static_cast<std::uint64_t>(max - added)}));
    out.append(s.substr(c.offset, n));
    added += n;
    pos_ += n;
    c.offset += n;
    if (c.offset >= s.size()) {
      ++c.slice;
      c.offset = 0;
    }
  }
  if (c.slice >= slices_.size()) pos_ = std::max(pos_, end);  // a plan past the text: nothing more to copy
}

void DowngradeStream::emit_token(std::string& out, std::string_view token) {
  if (column_ + token.size() > kQpContent) {
    out += "=\r\n";  // RFC 2045 §6.7 (5): a soft line break
    column_ = 0;
  }
  out += token;
  column_ += token.size();
}

void DowngradeStream::flush_space(std::string& out, bool encoded) {
  if (pending_space_ == 0) return;
  const char c = pending_space_;
  pending_space_ = 0;
  // RFC 2045 §6.7 (3): white space at the end of an encoded line "MUST ...
  // be represented as an =20 or =09"-style octet, since it may be removed in transport.
  if (encoded) emit_token(out, c == ' ' ? "=20" : "=09");
  else emit_token(out, std::string_view(&c, 1));
}

void DowngradeStream::encode_some(std::string& out, std::size_t max) {
  const std::uint64_t end = plan_.steps[step_].end;
  const std::size_t start = out.size();
  Cursor c = locate(pos_);
  auto hard_break = [&] {
    flush_space(out, true);
    out += "\r\n";
    column_ = 0;
  };
  while (pos_ < end && out.size() - start < max && c.slice < slices_.size()) {
    const std::string_view s = slices_[c.slice];
    if (c.offset >= s.size()) {
      ++c.slice;
      c.offset = 0;
      continue;
    }
    const char ch = s[c.offset++];
    ++pos_;
    if (pending_cr_) {
      pending_cr_ = false;
      if (ch == '\n') {
        hard_break();
        continue;
      }
      flush_space(out, false);
      emit_token(out, "=0D");  // a bare CR is text, not a line end
    }
    if (ch == '\r') {
      pending_cr_ = true;
    } else if (ch == '\n') {
      hard_break();
    } else if (is_wsp(ch)) {
      flush_space(out, false);
      pending_space_ = ch;
    } else {
      flush_space(out, false);
      const auto u = static_cast<unsigned char>(ch);
      if ((u >= 33 && u <= 60) || (u >= 62 && u <= 126)) {
        emit_token(out, std::string_view(&ch, 1));
      } else {
        char hex[3] = {'=', hex_digit(u >> 4, HexCase::upper), hex_digit(u & 0xF, HexCase::upper)};
        emit_token(out, std::string_view(hex, 3));
      }
    }
  }
  if (c.slice >= slices_.size()) pos_ = std::max(pos_, end);
  if (pos_ >= end) {
    // The end of the part: a CR left is bare, white space left is at a line end.
    if (pending_cr_) {
      pending_cr_ = false;
      flush_space(out, false);
      emit_token(out, "=0D");
    }
    flush_space(out, true);
  }
}

std::string quoted_printable(std::string_view in) {
  DowngradePlan plan;
  plan.steps.push_back({DowngradeStep::Kind::quoted_printable, 0, in.size(), {}});
  const std::vector<std::string_view> slices{in};
  DowngradeStream stream(plan, slices);
  std::string out;
  while (stream.next(out, kCountBlock)) {
  }
  return out;
}

}  // namespace mxsec::codec
