#include "smtp/proto/reply.hpp"

#include "core/strings.hpp"

namespace mxsec::smtp {
namespace {

// RFC 3463 §2: class "." subject "." detail, subject and detail 1*3digit.
std::optional<EnhancedStatus> parse_enhanced(std::string_view text, int reply_class) {
  auto number = [&text](std::size_t max_digits) -> std::optional<int> {
    std::size_t n = 0;
    while (n < text.size() && n < max_digits + 1 && is_digit(text[n])) ++n;
    if (n == 0 || n > max_digits) return std::nullopt;
    int v = 0;
    for (std::size_t i = 0; i < n; ++i) v = v * 10 + (text[i] - '0');
    text.remove_prefix(n);
    return v;
  };
  auto dot = [&text]() {
    if (text.empty() || text.front() != '.') return false;
    text.remove_prefix(1);
    return true;
  };
  auto k = number(1);
  if (!k || !dot()) return std::nullopt;
  auto s = number(3);
  if (!s || !dot()) return std::nullopt;
  auto d = number(3);
  if (!d) return std::nullopt;
  if (!text.empty() && text.front() != ' ') return std::nullopt;
  if (*k != reply_class) return std::nullopt;
  return EnhancedStatus{*k, *s, *d};
}

}  // namespace

std::string EnhancedStatus::to_string() const {
  return std::to_string(klass) + "." + std::to_string(subject) + "." + std::to_string(detail);
}

std::string Reply::to_log_string() const {
  std::string out;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (i) out += " | ";
    out += std::to_string(code) + (i + 1 == lines.size() ? " " : "-") + escape_for_log(lines[i]);
  }
  return out;
}

void ReplyParser::fail(Errc code, std::string message) {
  state_ = State::failed;
  error_ = make_error(code, std::move(message));
  line_.clear();
}

Reply ReplyParser::take() {
  Reply out = std::move(reply_);
  reset();
  return out;
}

void ReplyParser::reset() {
  state_ = State::need_more;
  reply_ = Reply{};
  error_ = Error{};
  line_.clear();
}

void ReplyParser::finish_line() {
  std::string_view line(line_);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.size() > limits_.max_line_bytes) {
    fail(Errc::limit, "SMTP reply line longer than " + std::to_string(limits_.max_line_bytes) + " octets");
    return;
  }
  for (char c : line) {
    if (c == '\r' || c == '\0') {
      fail(Errc::parse, "SMTP reply line contains a bare CR or a NUL");
      return;
    }
  }
  if (line.size() < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '5' || !is_digit(line[2])) {
    fail(Errc::parse, "SMTP reply line does not start with a reply code: " + escape_for_log(line, 80));
    return;
  }
  const int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
  bool last = true;
  std::string_view text;
  if (line.size() > 3) {
    if (line[3] == '-')
      last = false;
    else if (line[3] != ' ') {
      fail(Errc::parse, "SMTP reply code not followed by SP or '-': " + escape_for_log(line, 80));
      return;
    }
    text = line.substr(4);
  }
  if (!reply_.lines.empty() && code != reply_.code) {
    fail(Errc::parse, "SMTP multiline reply changes its code from " + std::to_string(reply_.code) + " to " +
                          std::to_string(code));
    return;
  }
  if (reply_.lines.size() >= static_cast<std::size_t>(limits_.max_lines)) {
    fail(Errc::limit, "SMTP reply has more than " + std::to_string(limits_.max_lines) + " lines");
    return;
  }
  if (reply_.lines.empty()) {
    reply_.code = code;
    reply_.enhanced = parse_enhanced(text, code / 100);
  }
  reply_.lines.emplace_back(text);
  line_.clear();
  if (last) state_ = State::done;
}

std::size_t ReplyParser::push(std::string_view bytes) {
  std::size_t used = 0;
  while (state_ == State::need_more && used < bytes.size()) {
    std::string_view rest = bytes.substr(used);
    std::size_t lf = rest.find('\n');
    std::string_view chunk = lf == std::string_view::npos ? rest : rest.substr(0, lf);
    // A line may hold max_line_bytes octets plus the CR of its CRLF.
    if (line_.size() + chunk.size() > limits_.max_line_bytes + 1) {
      fail(Errc::limit, "SMTP reply line longer than " + std::to_string(limits_.max_line_bytes) + " octets");
      return used + chunk.size();
    }
    line_.append(chunk);
    used += chunk.size();
    if (lf == std::string_view::npos) break;
    ++used;  // the LF
    finish_line();
  }
  return used;
}

Result<Reply> parse_reply(std::string_view bytes, ReplyLimits limits) {
  ReplyParser p(limits);
  std::size_t used = p.push(bytes);
  if (p.state() == ReplyParser::State::failed) return p.error();
  if (p.state() == ReplyParser::State::need_more) return make_error(Errc::parse, "SMTP reply is incomplete");
  if (used != bytes.size()) return make_error(Errc::parse, "bytes after the end of the SMTP reply");
  return p.take();
}

}  // namespace mxsec::smtp
