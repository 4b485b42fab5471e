// app/cli/report_json.hpp: the JSON shapes of SPF, DKIM and DMARC results.
//
// One place, so `mxsec spf`, `mxsec dkim verify`, `mxsec verify` (and the
// later `mxsec check`) print the same keys. Keys are stable: scripts parse
// them. All strings from the network may hold any byte; print_json() replaces
// invalid UTF-8.
#pragma once

#include <nlohmann/json.hpp>

#include "auth/dkim/verify.hpp"
#include "auth/dmarc/evaluate.hpp"
#include "auth/spf/check_host.hpp"

namespace mxsec::cli {

// result, explanation, lookups, void_lookups, dns_queries, domain, identity,
// reason, mechanism, record.
nlohmann::json spf_json(const auth::spf::SpfResult& r);
// d, s, i, algorithm, canonicalization, header_b, result, reason,
// key_security, key_bits, testing, [l].
nlohmann::json dkim_signature_json(const auth::dkim::SignatureResult& s);
// result (summary), signatures (a single {result: none} entry when unsigned).
nlohmann::json dkim_json(const auth::dkim::VerifyResult& r);
// result, reason, author_domain, policy_domain, record, dnssec, policy
// {requested, source, applied}, spf_aligned, dkim_aligned, identifiers, dns_queries.
nlohmann::json dmarc_json(const auth::dmarc::Evaluation& e, const std::string& author_domain);

}  // namespace mxsec::cli
