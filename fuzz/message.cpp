// Fuzz target: the RFC 5322 header/body splitter and header unfolding.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "codec/message.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  mxsec::codec::MessageLimits limits;
  limits.max_header_fields = 200;
  auto msg = mxsec::codec::parse_message(in, limits);
  if (msg) {
    for (const auto& h : msg->headers) {
      // Every view must lie inside the input.
      if (h.raw.data() < in.data() || h.raw.data() + h.raw.size() > in.data() + in.size()) __builtin_trap();
      (void)mxsec::codec::unfold(h.value);
    }
  }
  (void)mxsec::codec::normalize_crlf(in);
  return 0;
}
