// auth/ar/ar.hpp: umbrella header for the Authentication-Results module
// (RFC 8601). Everything lives in auth_results.hpp: the data model, the
// generator (generate.cpp) and the parser (parse.cpp).
#pragma once

#include "auth/ar/auth_results.hpp"
