// core/date.hpp: dates as mail header fields write them.
#pragma once

#include <cstdint>
#include <string>

namespace mxsec {

// RFC 5322 §3.3 date-time in UTC: "Thu, 03 Dec 2026 12:36:29 +0000".
std::string rfc5322_date(std::int64_t unix_seconds);

}  // namespace mxsec
