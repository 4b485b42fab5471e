#include "smtp/session/line.hpp"

namespace mxsec::smtp {

std::size_t LineParser::push(std::string_view bytes) {
  if (state_ != State::need_more) return 0;
  const std::size_t lf = bytes.find('\n');
  const std::string_view part = bytes.substr(0, lf);  // npos: all of it
  line_.text.append(part);
  const std::size_t consumed = lf == std::string_view::npos ? bytes.size() : lf + 1;
  // While the line is open, a trailing CR may still be the CR of CRLF: it
  // does not count against the limit until we know.
  std::size_t text_bytes = line_.text.size();
  if (lf != std::string_view::npos) {
    line_.bare_lf = text_bytes == 0 || line_.text.back() != '\r';
    if (!line_.bare_lf) line_.text.pop_back();
    text_bytes = line_.text.size();
  } else if (text_bytes > 0 && line_.text.back() == '\r') {
    --text_bytes;
  }
  if (text_bytes > max_) {
    state_ = State::failed;
    error_ = make_error(Errc::limit, "line longer than " + std::to_string(max_) + " octets");
    line_ = Line{};
    return consumed;
  }
  if (lf != std::string_view::npos) state_ = State::done;
  return consumed;
}

Line LineParser::take() {
  Line out = std::move(line_);
  reset();
  return out;
}

void LineParser::reset() {
  state_ = State::need_more;
  line_ = Line{};
  error_ = Error{};
}

}  // namespace mxsec::smtp
