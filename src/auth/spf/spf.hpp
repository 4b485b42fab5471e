// auth/spf/spf.hpp: umbrella header of the SPF module (RFC 7208).
//
// - verdict.hpp     Verdict and Identity with their RFC 7208 words
// - macro.hpp       macro-string parsing and expansion (§7)
// - record.hpp      record selection and syntax (§4.5, §4.6, §5, §6), RecordCache
// - check_host.hpp  check_host() (§4) and the MAIL FROM / HELO checks (§2.3, §2.4)
#pragma once

#include "auth/spf/check_host.hpp"
#include "auth/spf/macro.hpp"
#include "auth/spf/record.hpp"
#include "auth/spf/verdict.hpp"
