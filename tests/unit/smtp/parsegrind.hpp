// Test helper: "parsegrind" for the SMTP reply push parser. The outcome of a
// parse must not depend on how the bytes are split across push() calls.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "smtp/proto/reply.hpp"

namespace mxsec::test {

struct PushOutcome {
  smtp::ReplyParser::State state = smtp::ReplyParser::State::need_more;
  smtp::Reply reply;
  std::string error;
  std::size_t consumed = 0;  // compared only when done
};

inline PushOutcome push_chunks(std::string_view input, const std::vector<std::size_t>& cuts,
                               smtp::ReplyLimits limits = {}) {
  smtp::ReplyParser p(limits);
  PushOutcome out;
  std::size_t start = 0;
  std::vector<std::size_t> ends = cuts;
  ends.push_back(input.size());
  for (std::size_t end : ends) {
    if (p.state() != smtp::ReplyParser::State::need_more) break;
    std::string_view chunk = input.substr(start, end - start);
    out.consumed += p.push(chunk);
    start = end;
  }
  out.state = p.state();
  if (out.state == smtp::ReplyParser::State::done) out.reply = p.reply();
  if (out.state == smtp::ReplyParser::State::failed) out.error = p.error().message;
  return out;
}

// Parses `input` whole, then split at every offset and byte by byte, and
// checks all agree. Returns the whole-input outcome.
inline PushOutcome parsegrind(std::string_view input, smtp::ReplyLimits limits = {}) {
  PushOutcome whole = push_chunks(input, {}, limits);
  auto same = [&](const PushOutcome& o, const std::string& how) {
    EXPECT_EQ(o.state, whole.state) << how;
    EXPECT_EQ(o.reply, whole.reply) << how;
    EXPECT_EQ(o.error, whole.error) << how;
    if (whole.state == smtp::ReplyParser::State::done) {
      EXPECT_EQ(o.consumed, whole.consumed) << how;
    }
  };
  for (std::size_t i = 0; i <= input.size(); ++i) same(push_chunks(input, {i}, limits), "split at " + std::to_string(i));
  std::vector<std::size_t> every;
  for (std::size_t i = 1; i < input.size(); ++i) every.push_back(i);
  same(push_chunks(input, every, limits), "byte by byte");
  return whole;
}

}  // namespace mxsec::test
