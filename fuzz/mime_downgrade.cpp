// Fuzz target: the MIME walk and quoted-printable stream of the 8-bit to
// 7-bit conversion (codec/mime_downgrade.hpp). The first octet chooses where
// the text is split into two slices and the output piece size; a plan the
// walk returns must give 7-bit output of exactly output_bytes octets, the
// same in pieces of 1 octet as in the chosen size.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "codec/mime_downgrade.hpp"

namespace {

std::string run(const mxsec::codec::DowngradePlan& plan, const std::vector<std::string_view>& slices,
                std::size_t piece) {
  mxsec::codec::DowngradeStream stream(plan, slices);
  std::string out;
  std::string block;
  while (stream.next(block, piece)) {
    if (block.size() > piece + 16) __builtin_trap();
    out += block;
    block.clear();
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t control = data[0];
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::size_t cut = text.empty() ? 0 : (control * 7u) % (text.size() + 1);
  const std::vector<std::string_view> slices{text.substr(0, cut), text.substr(cut)};
  mxsec::codec::DowngradeLimits limits;
  limits.depth = 4;  // small limits, so the fuzzer reaches them
  limits.parts = 32;
  limits.field_bytes = 256;
  auto plan = mxsec::codec::plan_downgrade(slices, limits);
  if (!plan) return 0;
  const std::string out = run(*plan, slices, 1 + (control % 97));
  if (out.size() != plan->output_bytes) __builtin_trap();
  for (char c : out)
    if (static_cast<unsigned char>(c) >= 0x80) __builtin_trap();
  if (out != run(*plan, slices, 1)) __builtin_trap();
  return 0;
}
