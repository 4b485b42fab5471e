// core/file.hpp: reading a whole file with a size limit.
//
// Contract
// - read_file_bounded() opens `path` read-only (O_CLOEXEC), refuses anything
//   that is not a regular file, and reads it whole. A file larger than
//   `max_bytes` is Errc::limit (nothing past the limit is buffered); any
//   other failure is Errc::io. Every message names the file and, when given,
//   `what` it is ("trust anchor file", "local policy file").
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace mxsec {

Result<std::string> read_file_bounded(const std::string& path, std::size_t max_bytes, std::string_view what = "file");

}  // namespace mxsec
