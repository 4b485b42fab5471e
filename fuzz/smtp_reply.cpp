// Fuzz target for the SMTP reply push parser (smtp/proto/reply.hpp) and
// parse_ehlo (smtp/proto/ehlo.hpp).
//
// "Parsegrind" property (trap on violation): the outcome - state, reply,
// error message, and octets consumed when a reply completed - is the same
// whether the input is pushed whole, split at a few offsets derived from the
// input, or (for short inputs) byte by byte. Also: a completed reply never
// exceeds the line and line-count limits, every line shares the code, and
// parse_ehlo never reports keywords for a non-250 reply. Both the default
// limits and small ones (to reach the limit paths) are exercised.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common.hpp"
#include "smtp/proto/ehlo.hpp"
#include "smtp/proto/reply.hpp"

using namespace mxsec;
using namespace mxsec::smtp;

namespace {

using mxsec::fuzz::check;
using mxsec::fuzz::chunks;
using mxsec::fuzz::grind_splits;

struct Outcome {
  ReplyParser::State state;
  Reply reply;
  std::string error;
  std::size_t consumed = 0;
};

Outcome run(std::string_view in, const std::vector<std::size_t>& cuts, ReplyLimits limits) {
  ReplyParser p(limits);
  Outcome o;
  for (std::string_view chunk : chunks(in, cuts)) {
    if (p.state() != ReplyParser::State::need_more) break;
    o.consumed += p.push(chunk);
  }
  o.state = p.state();
  if (o.state == ReplyParser::State::done) o.reply = p.reply();
  if (o.state == ReplyParser::State::failed) o.error = p.error().message;
  return o;
}

void same(const Outcome& a, const Outcome& b) {
  check(a.state == b.state);
  check(a.reply == b.reply);
  check(a.error == b.error);
  if (a.state == ReplyParser::State::done) check(a.consumed == b.consumed);
}

void grind(std::string_view in, ReplyLimits limits) {
  const Outcome whole = run(in, {}, limits);
  if (whole.state == ReplyParser::State::done) {
    check(!whole.reply.lines.empty());
    check(whole.reply.lines.size() <= static_cast<std::size_t>(limits.max_lines));
    check(whole.reply.code >= 200 && whole.reply.code <= 559);
    for (const auto& l : whole.reply.lines) check(l.size() + 4 <= limits.max_line_bytes);
    check(whole.consumed <= in.size());
    auto caps = parse_ehlo(whole.reply);
    check(caps.ok == (whole.reply.code == 250));
    if (!caps.ok) check(caps.keywords.empty());
    for (const auto& [k, params] : caps.keywords) check(!k.empty() && caps.has(k));
  }
  for (const auto& cuts : grind_splits(in)) same(whole, run(in, cuts, limits));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  grind(in, ReplyLimits{});
  grind(in, ReplyLimits{24, 3});
  return 0;
}
