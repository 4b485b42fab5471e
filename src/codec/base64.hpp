// codec/base64.hpp: RFC 4648 base64 for DKIM b=/bh=/p= values.
//
// decode_base64 skips folding whitespace (SP, HTAB, CR, LF), which RFC 6376
// §3.5 allows inside b= and p=; any other character outside the alphabet, bad
// padding or trailing data after padding is a parse error.
#pragma once

#include <string>
#include <string_view>

#include "core/result.hpp"

namespace mxsec::codec {

std::string encode_base64(std::string_view bytes);
Result<std::string> decode_base64(std::string_view text);

}  // namespace mxsec::codec
