#include "codec/message.hpp"

#include "core/strings.hpp"

namespace mxsec::codec {

Result<Message> parse_message(std::string_view bytes, const MessageLimits& limits) {
  if (bytes.size() > limits.max_message_bytes) return make_error(Errc::limit, "message exceeds the size limit");
  Message msg;
  std::size_t pos = 0;
  std::size_t line_no = 0;
  while (pos < bytes.size()) {
    if (pos > limits.max_header_bytes) return make_error(Errc::limit, "header exceeds the size limit");
    std::size_t eol = bytes.find('\n', pos);
    const std::size_t next = eol == std::string_view::npos ? bytes.size() : eol + 1;
    std::string_view line = bytes.substr(pos, next - pos);
    ++line_no;
    std::string_view content = line;
    if (!content.empty() && content.back() == '\n') content.remove_suffix(1);
    if (!content.empty() && content.back() == '\r') content.remove_suffix(1);
    if (content.empty()) {
      if (eol == std::string_view::npos) {  // a lone trailing CR, not a separator line
        return make_error(Errc::parse, "header line " + std::to_string(line_no) + " is incomplete");
      }
      msg.has_body_separator = true;
      msg.body = bytes.substr(next);
      return msg;
    }
    if (is_wsp(content.front())) {
      if (msg.headers.empty())
        return make_error(Errc::parse, "message starts with a continuation line");
      HeaderField& last = msg.headers.back();
      const char* begin = last.raw.data();
      last.raw = std::string_view(begin, static_cast<std::size_t>(line.data() + line.size() - begin));
      last.value = std::string_view(last.value.data(),
                                    static_cast<std::size_t>(content.data() + content.size() - last.value.data()));
      pos = next;
      continue;
    }
    const std::size_t colon = content.find(':');
    if (colon == std::string_view::npos)
      return make_error(Errc::parse, "header line " + std::to_string(line_no) + " has no colon: " +
                                         escape_for_log(content, 60));
    std::string_view name = content.substr(0, colon);
    while (!name.empty() && is_wsp(name.back())) name.remove_suffix(1);
    if (name.empty()) return make_error(Errc::parse, "header line " + std::to_string(line_no) + " has an empty name");
    for (char c : name) {
      const auto u = static_cast<unsigned char>(c);
      if (u < 33 || u > 126)
        return make_error(Errc::parse, "header line " + std::to_string(line_no) + " has an invalid field name");
    }
    if (msg.headers.size() >= limits.max_header_fields) return make_error(Errc::limit, "too many header fields");
    msg.headers.push_back({name, content.substr(colon + 1), line});
    pos = next;
  }
  msg.body = bytes.substr(bytes.size());
  return msg;
}

std::string normalize_crlf(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() + bytes.size() / 32);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (bytes[i] == '\n' && (i == 0 || bytes[i - 1] != '\r')) out += '\r';
    out += bytes[i];
  }
  return out;
}

std::string unfold(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value)
    if (c != '\r' && c != '\n') out += c;
  return std::string(trim(out));
}

std::string fold_header(std::string_view name, std::string_view value, std::size_t width) {
  std::string out(name);
  out += ':';
  std::size_t line_len = out.size();
  std::size_t pos = 0;
  bool first = true;
  while (pos < value.size()) {
    while (pos < value.size() && is_wsp(value[pos])) ++pos;
    if (pos >= value.size()) break;
    std::size_t end = pos;
    while (end < value.size() && !is_wsp(value[end])) ++end;
    const std::string_view word = value.substr(pos, end - pos);
    if (!first && line_len + 1 + word.size() > width) {
      out += "\r\n\t";
      line_len = 1;
    } else {
      out += ' ';
      ++line_len;
    }
    out += word;
    line_len += word.size();
    first = false;
    pos = end;
  }
  out += "\r\n";
  return out;
}

}  // namespace mxsec::codec
