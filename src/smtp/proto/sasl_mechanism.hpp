// smtp/proto/sasl_mechanism.hpp: the SASL mechanisms mxsec speaks in SMTP
// AUTH (RFC 4954), on both sides: PLAIN (RFC 4616) and LOGIN
// (draft-murchison-sasl-login). The server's exchange is
// smtp/server/sasl.hpp, the client's smtp/client/auth.hpp.
#pragma once

#include <optional>
#include <string_view>

namespace mxsec::smtp {

enum class SaslMechanism { plain, login };
const char* to_string(SaslMechanism m);  // "PLAIN", "LOGIN"
// Case-insensitive (RFC 4954 §3: sasl-mech is upper case by convention);
// nullopt for any other name.
std::optional<SaslMechanism> parse_sasl_mechanism(std::string_view name);

}  // namespace mxsec::smtp
