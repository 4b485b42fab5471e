// Fuzz target: DKIM-Signature field parser (auth/dkim/signature.hpp), plus
// the best-effort label peek used for reporting unparseable fields.
#include <cstdint>
#include <string_view>

#include "auth/dkim/signature.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  auto sig = mxsec::auth::dkim::parse_signature(in);
  if (sig) {
    // Invariants the verifier relies on.
    if (sig->b_delete_begin > sig->b_delete_end || sig->b_delete_end > in.size()) __builtin_trap();
    if (sig->body_hash.size() != 32 || sig->signature.empty()) __builtin_trap();
    (void)sig->key_name();
  } else {
    (void)mxsec::auth::dkim::signature_error_verdict(sig.error());
  }
  (void)mxsec::auth::dkim::peek_signature_labels(in);
  return 0;
}
