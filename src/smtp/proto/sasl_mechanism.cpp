// smtp/proto/sasl_mechanism.cpp: see sasl_mechanism.hpp.
#include "smtp/proto/sasl_mechanism.hpp"

#include "core/strings.hpp"

namespace mxsec::smtp {

const char* to_string(SaslMechanism m) {
  switch (m) {
    case SaslMechanism::plain: return "PLAIN";
    case SaslMechanism::login: return "LOGIN";
  }
  return "?";
}

std::optional<SaslMechanism> parse_sasl_mechanism(std::string_view name) {
  if (iequals(name, "PLAIN")) return SaslMechanism::plain;
  if (iequals(name, "LOGIN")) return SaslMechanism::login;
  return std::nullopt;
}

}  // namespace mxsec::smtp
