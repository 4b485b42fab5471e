// Fuzz target for the HTTP request-head parser of the metrics endpoint
// (metrics/http.hpp).
//
// "Parsegrind" property (trap on violation): the outcome - state, head,
// status, and octets consumed when the head completed - is the same whether
// the input is pushed whole, split at a few offsets derived from the input,
// or (for short inputs) byte by byte. Also: a completed head ends with
// CRLF CRLF at the consumed offset and never exceeds the byte limit; a failed
// one has status 400, 431 or 505; the answer to a completed head is a
// complete response whose Content-Length matches its body. Both the default
// limits and small ones (to reach the limit paths) are exercised.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common.hpp"
#include "metrics/http.hpp"

using namespace mxsec;
using namespace mxsec::metrics;

namespace {

using mxsec::fuzz::check;
using mxsec::fuzz::chunks;
using mxsec::fuzz::grind_splits;

struct Outcome {
  RequestHeadParser::State state;
  RequestHead head;
  int status = 0;
  std::size_t consumed = 0;
};

Outcome run(std::string_view in, const std::vector<std::size_t>& cuts, HttpLimits limits) {
  RequestHeadParser p(limits);
  Outcome o;
  for (std::string_view chunk : chunks(in, cuts)) {
    if (p.state() != RequestHeadParser::State::need_more) break;
    const std::size_t used = p.push(chunk);
    check(used <= chunk.size());
    o.consumed += used;
  }
  o.state = p.state();
  if (o.state == RequestHeadParser::State::done) o.head = p.head();
  if (o.state == RequestHeadParser::State::failed) o.status = p.status();
  return o;
}

void same(const Outcome& a, const Outcome& b) {
  check(a.state == b.state);
  check(a.head == b.head);
  check(a.status == b.status);
  if (a.state == RequestHeadParser::State::done) check(a.consumed == b.consumed);
}

void grind(std::string_view in, HttpLimits limits) {
  const Outcome whole = run(in, {}, limits);
  if (whole.state == RequestHeadParser::State::done) {
    check(whole.consumed >= 4 && whole.consumed <= limits.head_bytes);
    check(in.substr(whole.consumed - 4, 4) == "\r\n\r\n");
    check(whole.head.fields.size() <= limits.head_fields);
    const std::string response = metrics_response(whole.head, [] { return std::string("a 1\n"); });
    const std::size_t end = response.find("\r\n\r\n");
    check(end != std::string::npos);
    const std::string length = "Content-Length: " + std::to_string(response.size() - end - 4) + "\r\n";
    check(response.find(length) < end || whole.head.method == "HEAD");
  }
  if (whole.state == RequestHeadParser::State::failed)
    check(whole.status == 400 || whole.status == 431 || whole.status == 505);
  for (const auto& cuts : grind_splits(in)) same(whole, run(in, cuts, limits));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  grind(in, HttpLimits{});
  grind(in, HttpLimits{64, 2});
  return 0;
}
