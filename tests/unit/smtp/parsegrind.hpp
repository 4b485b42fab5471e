// Test helper: "parsegrind" for the SMTP push parsers. The outcome of a
// parse must not depend on how the bytes are split across push() calls.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "smtp/proto/reply.hpp"

namespace mxsec::test {

// Calls check(cuts, how) with the cut offsets of every split of `input` in
// two (including the empty first and last parts) and of byte by byte.
template <class Check>
void for_each_split(std::string_view input, Check&& check) {
  for (std::size_t i = 0; i <= input.size(); ++i) check(std::vector<std::size_t>{i}, "split at " + std::to_string(i));
  std::vector<std::size_t> every;
  for (std::size_t i = 1; i < input.size(); ++i) every.push_back(i);
  check(every, std::string("byte by byte"));
}

// The parts of `input` between the cuts (offsets ascending, each <= size).
inline std::vector<std::string_view> chunks_at(std::string_view input, const std::vector<std::size_t>& cuts) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (std::size_t end : cuts) {
    out.push_back(input.substr(start, end - start));
    start = end;
  }
  out.push_back(input.substr(start));
  return out;
}

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
  for_each_split(input, [&](const std::vector<std::size_t>& cuts, const std::string& how) {
    same(push_chunks(input, cuts, limits), how);
  });
  return whole;
}

}  // namespace mxsec::test
