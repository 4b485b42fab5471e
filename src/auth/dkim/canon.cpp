#include "auth/dkim/canon.hpp"

#include <algorithm>

#include "core/strings.hpp"

namespace mxsec::auth::dkim {
namespace {

constexpr std::size_t kBatchBytes = 4096;

bool ends_with_crlf(std::string_view s, std::size_t end) { return end >= 2 && s[end - 2] == '\r' && s[end - 1] == '\n'; }

class StringSink final : public BodySink {
 public:
  void write(std::string_view bytes) override { out.append(bytes); }
  std::string out;
};

}  // namespace

void canonicalize_header(std::string_view name, std::string_view value, std::string_view raw, Canon canon,
                         std::string& out) {
  if (canon == Canon::simple) {
    // §3.4.1: "The "simple" header canonicalization algorithm does not change
    // header fields in any way."
    out.append(raw);
    return;
  }
  for (char c : name) out += ascii_lower(c);
  out += ':';
  bool pending_space = false;
  bool started = false;
  for (char c : value) {
    if (c == '\r' || c == '\n') continue;  // unfold
    if (is_wsp(c)) {
      pending_space = started;
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    started = true;
    out += c;
  }
  out += "\r\n";
}

void canonicalize_body(std::string_view body, Canon canon, BodySink& sink) {
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
  const std::string_view s = body.substr(0, end);
  std::size_t run_start = 0;
  std::size_t i = 0;
  while (i < s.size()) {
    if (!is_wsp(s[i])) {
      ++i;
      continue;
    }
    sink.write(s.substr(run_start, i - run_start));
    std::size_t j = i;
    while (j < s.size() && is_wsp(s[j])) ++j;
    const bool at_line_end = j == s.size() || (s[j] == '\r' && j + 1 < s.size() && s[j + 1] == '\n');
    if (!at_line_end) sink.write(" ");  // "Reduce all sequences of WSP within a line to a single SP"
    i = j;
    run_start = j;
  }
  sink.write(s.substr(run_start));
  sink.write("\r\n");
}

std::string canonical_body(std::string_view body, Canon canon) {
  StringSink sink;
  canonicalize_body(body, canon, sink);
  return std::move(sink.out);
}

BodyHasher::BodyHasher(std::uint64_t limit) : ctx_(EVP_MD_CTX_new()), limit_(limit) {
  ok_ = ctx_ && EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) == 1;
  buf_.reserve(kBatchBytes);
}

void BodyHasher::flush() {
  if (buf_.empty()) return;
  if (ok_ && EVP_DigestUpdate(ctx_.get(), buf_.data(), buf_.size()) != 1) ok_ = false;
  buf_.clear();
}

void BodyHasher::write(std::string_view bytes) {
  total_ += bytes.size();
  if (hashed_ >= limit_) return;
  const std::uint64_t room = limit_ - hashed_;
  if (bytes.size() > room) bytes = bytes.substr(0, static_cast<std::size_t>(room));
  hashed_ += bytes.size();
  if (buf_.size() + bytes.size() <= kBatchBytes) {
    buf_.append(bytes);
    return;
  }
  flush();
  if (bytes.size() < kBatchBytes) {
    buf_.append(bytes);
  } else if (ok_ && EVP_DigestUpdate(ctx_.get(), bytes.data(), bytes.size()) != 1) {
    ok_ = false;
  }
}

std::string BodyHasher::finish() {
  flush();
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!ok_ || EVP_DigestFinal_ex(ctx_.get(), md, &len) != 1) return {};
  return std::string(reinterpret_cast<const char*>(md), len);
}

}  // namespace mxsec::auth::dkim
