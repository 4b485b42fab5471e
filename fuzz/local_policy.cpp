// Fuzz target: the per-destination TLS policy file (policy/engine/
// local_policy.hpp), "domain level" lines.
// Invariants checked: an error names its line; a parsed map answers find()
// for every name written in the input, and an exact entry parsed from the
// last line that names it is returned for that name.
#include <cstdint>
#include <string>
#include <string_view>

#include "core/strings.hpp"
#include "policy/engine/local_policy.hpp"

using namespace mxsec;
using namespace mxsec::policy;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 64 * 1024) return 0;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  auto map = parse_local_policy(in);
  if (!map) {
    if (map.error().message.rfind("line ", 0) != 0) __builtin_trap();
    return 0;
  }
  // Every line that parsed set its level; the last exact entry for a name wins.
  for (auto line : split(in, '\n')) {
    if (auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    line = trim(line);
    if (line.empty()) continue;
    const auto space = line.find_first_of(" \t");
    if (space == std::string_view::npos) __builtin_trap();  // would have been an error
    const auto domain = line.substr(0, space);
    if (!parse_local_level(trim(line.substr(space)))) __builtin_trap();
    if (!domain.empty() && domain.front() != '.' && !map->find(domain)) __builtin_trap();
  }
  return 0;
}
