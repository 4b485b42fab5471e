#include "auth/dkim/canon.hpp"

#include <algorithm>
#include <cstring>

#include "auth/dkim/canon_scan.hpp"
#include "core/strings.hpp"

namespace mxsec::auth::dkim {
namespace {

bool ends_with_crlf(std::string_view s, std::size_t end) { return end >= 2 && s[end - 2] == '\r' && s[end - 1] == '\n'; }

class StringSink final : public BodySink {
 public:
  void write(std::string_view bytes) override { out.append(bytes); }
  std::string out;
};

// One algorithm for both sinks: with Sink = BodyHasher (final) every write
// is a direct, inlinable call; with Sink = BodySink it is virtual.
template <class Sink>
void canonicalize_body_into(std::string_view body, Canon canon, Sink& sink) {
  if (canon == Canon::simple) {
    // §3.4.3: "ignores all empty lines at the end of the message body ... If
    // there is no body or no CRLF at the end of the body, a CRLF is added."
    std::size_t end = body.size();
    while (ends_with_crlf(body, end)) end -= 2;
    sink.write(body.substr(0, end));
    sink.write("\r\n");
    return;
  }
  // §3.4.4: find the end of the last line that keeps content after "Ignore
  // all whitespace at the end of lines" and "Ignore all empty lines at the end
  // of the message body".
  std::size_t end = body.size();
  for (;;) {
    if (end > 0 && is_wsp(body[end - 1])) --end;
    else if (ends_with_crlf(body, end)) end -= 2;
    else break;
  }
  if (end == 0) return;  // an empty canonical body stays empty (RFC 6376 errata 3951)
  // s ends in a character that is neither WSP nor the LF of a CRLF, so every
  // WSP run in s is followed by another character.
  const std::string_view s = body.substr(0, end);
  const char* p = s.data();
  const std::size_t n = s.size();
  std::size_t span_start = 0;  // s[span_start, i) is canonical and not yet written
  std::size_t i = 0;
  for (;;) {
    i = detail::find_relaxed_body_work(p, n, i);
    if (i >= n) break;
    // p[i] starts a WSP run: a HTAB, or a SP followed by WSP or CR.
    std::size_t j = i + 1;
    while (j < n && is_wsp(p[j])) ++j;
    const bool at_line_end = j == n || (p[j] == '\r' && j + 1 < n && p[j + 1] == '\n');
    if (at_line_end) {
      // "Ignore all whitespace at the end of lines."
      sink.write(s.substr(span_start, i - span_start));
    } else if (p[i] == ' ') {
      // "Reduce all sequences of WSP within a line to a single SP": the
      // run's first SP is that SP, so it stays in the span.
      sink.write(s.substr(span_start, i + 1 - span_start));
    } else {
      sink.write(s.substr(span_start, i - span_start));
      sink.write(" ");
    }
    span_start = j;
    i = j;
  }
  sink.write(s.substr(span_start));
  sink.write("\r\n");
}

}  // namespace

void canonicalize_header(std::string_view name, std::string_view value, std::string_view raw, Canon canon,
                         std::string& out) {
  if (canon == Canon::simple) {
    // §3.4.1: "The "simple" header canonicalization algorithm does not change
    // header fields in any way."
    out.append(raw);
    return;
  }
  canonicalize_header_relaxed(name, {value}, out);
}

void canonicalize_header_relaxed(std::string_view name, std::initializer_list<std::string_view> value_pieces,
                                 std::string& out) {
  std::size_t size = name.size() + 3;
  for (std::string_view piece : value_pieces) size += piece.size();
  out.reserve(out.size() + size);
  // §3.4.2: "Convert all header field names (not the header field values)
  // to lowercase", "Unfold all header field continuation lines", "Convert
  // all sequences of one or more WSP characters to a single SP character",
  // "Delete all WSP characters at the end of each unfolded header field
  // value", "Delete any WSP characters remaining before and after the colon".
  for (char c : name) out += ascii_lower(c);
  out += ':';
  // CR and LF are dropped (unfolding); a WSP run becomes one SP, written only
  // when more content follows. Stretches that are already canonical (found
  // by the scan) are appended whole.
  bool pending_space = false;
  bool started = false;
  for (std::string_view piece : value_pieces) {
    const char* p = piece.data();
    const std::size_t n = piece.size();
    std::size_t i = 0;
    while (i < n) {
      const char c = p[i];
      if (c == '\r' || c == '\n') {
        ++i;
        continue;
      }
      if (is_wsp(c)) {
        pending_space = started;
        ++i;
        continue;
      }
      if (pending_space) out += ' ';
      pending_space = false;
      started = true;
      const std::size_t j = detail::find_relaxed_header_work(p, n, i + 1);
      out.append(p + i, j - i);
      i = j;
    }
  }
  out += "\r\n";
}

void canonicalize_body(std::string_view body, Canon canon, BodySink& sink) {
  canonicalize_body_into(body, canon, sink);
}

void canonicalize_body(std::string_view body, Canon canon, BodyHasher& hasher) {
  canonicalize_body_into(body, canon, hasher);
}

std::string canonical_body(std::string_view body, Canon canon) {
  StringSink sink;
  canonicalize_body(body, canon, static_cast<BodySink&>(sink));
  return std::move(sink.out);
}

BodyHasher::BodyHasher(std::uint64_t limit) : owned_(EVP_MD_CTX_new()), ctx_(owned_.get()), limit_(limit) {
  const EVP_MD* md = sha256_md();
  ok_ = ctx_ && md && EVP_DigestInit_ex2(ctx_, md, nullptr) == 1;
}

BodyHasher::BodyHasher(std::uint64_t limit, EVP_MD_CTX* ctx) : ctx_(ctx), limit_(limit) {
  const EVP_MD* md = sha256_md();
  ok_ = ctx_ && md && EVP_DigestInit_ex2(ctx_, md, nullptr) == 1;
}

void BodyHasher::update(const char* data, std::size_t size) {
  if (ok_ && EVP_DigestUpdate(ctx_, data, size) != 1) ok_ = false;
}

void BodyHasher::flush() {
  if (buffered_ == 0) return;
  update(buf_, buffered_);
  buffered_ = 0;
}

void BodyHasher::write(std::string_view bytes) {
  total_ += bytes.size();
  if (bytes.empty() || hashed_ >= limit_) return;
  const std::uint64_t room = limit_ - hashed_;
  if (bytes.size() > room) bytes = bytes.substr(0, static_cast<std::size_t>(room));
  hashed_ += bytes.size();
  if (bytes.size() < kDirectBytes) {
    if (buffered_ + bytes.size() > sizeof buf_) flush();
    std::memcpy(buf_ + buffered_, bytes.data(), bytes.size());
    buffered_ += bytes.size();
    return;
  }
  flush();
  update(bytes.data(), bytes.size());
}

std::string BodyHasher::finish() {
  flush();
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!ok_ || EVP_DigestFinal_ex(ctx_, md, &len) != 1) return {};
  return std::string(reinterpret_cast<const char*>(md), len);
}

}  // namespace mxsec::auth::dkim
