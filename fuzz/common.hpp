// fuzz/common.hpp: what the fuzz targets share. Header-only, so each target
// stays one translation unit (plus replay_main.cpp outside MXSEC_FUZZ).
#pragma once

#include <cstddef>
#include <string_view>
#include <utility>
#include <vector>

namespace mxsec::fuzz {

// A violated property stops the run where it happened, for libFuzzer and
// for the corpus replay alike.
inline void check(bool ok) {
  if (!ok) __builtin_trap();
}

// `in` cut at `cuts` (offsets that are out of order or past the end are
// skipped) and at its end: the pieces a push parser is fed in a
// "parsegrind" property (same outcome whole or in pieces).
inline std::vector<std::string_view> chunks(std::string_view in, const std::vector<std::size_t>& cuts) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (std::size_t end : cuts) {
    if (end < start || end > in.size()) continue;
    out.push_back(in.substr(start, end - start));
    start = end;
  }
  out.push_back(in.substr(start));
  return out;
}

// The cut lists a "parsegrind" property tries, besides the whole input: in
// two halves, after the first octet, in thirds, at an offset taken from the
// first octet (so the fuzzer can steer it), and, for inputs up to 512
// octets, byte by byte.
inline std::vector<std::vector<std::size_t>> grind_splits(std::string_view in) {
  const std::size_t n = in.size();
  std::vector<std::vector<std::size_t>> splits = {{n / 2}, {1}, {n / 3, 2 * n / 3}};
  if (n > 0) splits.push_back({static_cast<std::size_t>(static_cast<unsigned char>(in[0])) % (n + 1)});
  if (n <= 512) {
    std::vector<std::size_t> every;
    for (std::size_t i = 1; i < n; ++i) every.push_back(i);
    splits.push_back(std::move(every));
  }
  return splits;
}

}  // namespace mxsec::fuzz
