// Fuzz target: the shared tag=value lexer (DKIM, DMARC, TLS-RPT, MTA-STS TXT)
// and base64 decoding of its values.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "codec/base64.hpp"
#include "codec/tag_list.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  auto tags = mxsec::codec::parse_tag_list(in);
  if (tags) {
    for (const auto& t : *tags) (void)mxsec::codec::decode_base64(t.value);
  }
  mxsec::codec::TagListOptions loose;
  loose.strict_valchar = false;
  (void)mxsec::codec::parse_tag_list(in, loose);
  return 0;
}
