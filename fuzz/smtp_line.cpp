// Fuzz target for the SMTP line splitter (smtp/session/line.hpp).
//
// "Parsegrind" property (trap on violation): the outcome - state, line,
// error message, and octets consumed when a line completed - is the same
// whether the input is pushed whole, split at a few offsets derived from the
// input, or (for short inputs) byte by byte. Also: a completed line never
// exceeds the limit, holds no LF, ends where the consumed octets end, and
// `bare_lf` says exactly whether a CR preceded that LF. Both the default
// limit and a small one (to reach the limit path) are exercised.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common.hpp"
#include "smtp/session/line.hpp"

using namespace mxsec;
using namespace mxsec::smtp;

namespace {

using mxsec::fuzz::check;
using mxsec::fuzz::chunks;
using mxsec::fuzz::grind_splits;

struct Outcome {
  LineParser::State state;
  Line line;
  std::string error;
  std::size_t consumed = 0;
};

Outcome run(std::string_view in, const std::vector<std::size_t>& cuts, std::size_t max) {
  LineParser p(max);
  Outcome o;
  for (std::string_view chunk : chunks(in, cuts)) {
    if (p.state() != LineParser::State::need_more) break;
    o.consumed += p.push(chunk);
  }
  o.state = p.state();
  if (o.state == LineParser::State::done) o.line = p.line();
  if (o.state == LineParser::State::failed) o.error = p.error().message;
  return o;
}

void same(const Outcome& a, const Outcome& b) {
  check(a.state == b.state);
  check(a.line == b.line);
  check(a.error == b.error);
  if (a.state == LineParser::State::done) check(a.consumed == b.consumed);
}

void grind(std::string_view in, std::size_t max) {
  const Outcome whole = run(in, {}, max);
  if (whole.state == LineParser::State::done) {
    check(whole.line.text.size() <= max);
    check(whole.line.text.find('\n') == std::string::npos);
    check(whole.consumed >= 1 && whole.consumed <= in.size() && in[whole.consumed - 1] == '\n');
    check(in.substr(0, whole.consumed).find('\n') == whole.consumed - 1);
    const bool had_cr = whole.consumed >= 2 && in[whole.consumed - 2] == '\r';
    check(whole.line.bare_lf == !had_cr);
  }
  for (const auto& cuts : grind_splits(in)) same(whole, run(in, cuts, max));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  grind(in, limits::kSmtpLineBytes);
  grind(in, 8);
  return 0;
}
