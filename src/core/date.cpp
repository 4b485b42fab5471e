#include "core/date.hpp"

#include <ctime>

namespace mxsec {

std::string rfc5322_date(std::int64_t unix_seconds) {
  // strftime's %a and %b follow the C locale, which mxsec never changes, so
  // the names are the English ones RFC 5322 §3.3 requires.
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  const std::size_t n = std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return std::string(buf, n);
}

}  // namespace mxsec
