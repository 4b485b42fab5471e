// smtp/server/outbound_dkim.hpp: DKIM signatures for the mail of our own
// users (RFC 6376 §5, RFC 8463 for Ed25519), made at the end of data.
//
// Contract
// - sign_outbound() signs the message as it will be delivered: `prepend`
//   (the header fields mxsec puts on top: Received, ...) followed by `text`
//   (the spooled message, read through the spool mapping: the message is
//   never copied into the heap; only views into both are parsed). It is
//   called after every header change mxsec makes, and the fields it returns
//   go on top of the prepend.
// - Who is signed is the caller's decision (the session signs mail from
//   authenticated clients and from the relay networks, never mail from
//   strangers). Which keys: every config::DkimKey whose domain equals the
//   RFC5322.From domain or is a parent of it (the relaxed alignment of DMARC,
//   RFC 9989 §4.4, so a signature aligns with From). Several matching keys
//   give several signatures (RSA + Ed25519), in the order of the file.
// - Not signed, as values, with the reason in `detail` (safe to log):
//   no_key (no entry for the From domain), no_from and several_from (RFC
//   5322 §3.6: exactly one From; RFC 6376 §5.4 "The From header field MUST
//   be signed", and with several a verifier could not tell which one the
//   signature speaks for), bad_from (a From field without one author
//   domain), unparsable (a header the message parser refuses).
// - failed: a key failed at run time (Signer::sign() returned an error, e.g.
//   a header with more fields to sign than limits::kDkimSignedHeaders).
//   `fields` keeps the signatures that were made; `detail` names what
//   failed. The session then accepts the message with what it has and logs
//   an error: a signing failure must not lose mail, and a 4xx would only
//   bring the same message back to the same failure.
// - Authentication-Results is never signed: the Signer's header list
//   (auth/dkim/sign.hpp SignerConfig) names From, To, Subject, Date,
//   Content-Type, Cc, Reply-To, Message-ID, In-Reply-To, References,
//   MIME-Version, Content-Transfer-Encoding, Sender, List-Id and the
//   List-Unsubscribe fields only, and a list with an Authentication-Results
//   entry is refused here (Errc::invalid_argument) so that a later change of
//   the list cannot make it so. The queue runner removes forged
//   Authentication-Results fields before delivery (delivery/headers.hpp);
//   that removal can therefore never break a signature made here. Received
//   fields are not signed either (trace fields are added on the way).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/server_config.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"

namespace mxsec::smtp::server {

enum class DkimSigning { signed_, no_key, no_from, several_from, bad_from, unparsable, failed };
const char* to_string(DkimSigning s);

struct OutboundSignature {
  DkimSigning status = DkimSigning::no_key;
  std::string fields;  // DKIM-Signature fields, each folded and CRLF-terminated
  std::string detail;  // signed: "d=example.com s=rsa2026 (rsa-sha256), ..."; otherwise why not
};

OutboundSignature sign_outbound(const std::vector<config::DkimKey>& keys, std::string_view prepend,
                                std::string_view text, const Clock& clock);

// Errc::invalid_argument when `config` would sign Authentication-Results.
Result<void> check_signed_fields(const auth::dkim::SignerConfig& config);

}  // namespace mxsec::smtp::server
