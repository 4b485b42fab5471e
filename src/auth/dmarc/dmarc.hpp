// auth/dmarc/dmarc.hpp: umbrella header for the DMARC module (RFC 9989,
// RFC 7489 records still read).
//
// Phases, one header each:
//   record.hpp      - the DMARC Policy Record: is_dmarc_record, parse_record
//   report_uri.hpp  - rua/ruf URIs and the external-destination check
//   org_domain.hpp  - _dmarc lookups, the DNS Tree Walk, libpsl mode
//   alignment.hpp   - strict / relaxed Identifier Alignment
//   evaluate.hpp    - policy discovery, p/sp/np choice, the verdict
// The module reaches DNS only through dns::Resolver and never links SPF or
// DKIM: their verdicts are plain inputs (see evaluate.hpp).
#pragma once

#include "auth/dmarc/alignment.hpp"
#include "auth/dmarc/evaluate.hpp"
#include "auth/dmarc/org_domain.hpp"
#include "auth/dmarc/record.hpp"
#include "auth/dmarc/report_uri.hpp"
