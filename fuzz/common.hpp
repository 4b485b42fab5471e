// fuzz/common.hpp: what the fuzz targets share. Header-only, so each target
// stays one translation unit (plus replay_main.cpp outside MXSEC_FUZZ).
#pragma once

#include <cstddef>
#include <string_view>
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

}  // namespace mxsec::fuzz
