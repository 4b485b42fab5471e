#include "smtp/proto/data_encoder.hpp"

namespace mxsec::smtp {

void DataEncoder::push(std::string_view text, std::string& out) {
  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (cr_) {
      cr_ = false;
      out += "\r\n";
      line_start_ = true;
      if (c == '\n') {
        ++i;
        continue;
      }
      ++bare_line_ends_;  // a CR not followed by LF; `c` starts the next line
    }
    if (c == '\r') {
      cr_ = true;
      ++i;
      continue;
    }
    if (c == '\n') {
      ++bare_line_ends_;
      out += "\r\n";
      line_start_ = true;
      ++i;
      continue;
    }
    if (line_start_ && c == '.') out += '.';
    // The rest of the line up to the next CR or LF goes out unchanged.
    std::size_t end = text.find_first_of("\r\n", i);
    if (end == std::string_view::npos) end = text.size();
    out.append(text.substr(i, end - i));
    line_start_ = false;
    i = end;
  }
}

void DataEncoder::finish(std::string& out) {
  if (cr_) {
    ++bare_line_ends_;
    out += "\r\n";
    line_start_ = true;
  }
  if (!line_start_) out += "\r\n";
  out += ".\r\n";
  line_start_ = true;
  cr_ = false;
}

}  // namespace mxsec::smtp
