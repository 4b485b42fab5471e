// Fuzz target: DKIM key record parser and public-key loading
// (auth/dkim/key.hpp).
#include <cstdint>
#include <string_view>

#include "auth/dkim/key.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  auto rec = mxsec::auth::dkim::parse_key_record(in);
  if (!rec) return 0;
  if (rec->revoked != rec->public_key.empty()) __builtin_trap();
  auto key = mxsec::auth::dkim::PublicKey::load(*rec);
  if (key && key->type() == mxsec::auth::dkim::KeyType::rsa &&
      (key->bits() < 1024 || key->bits() > 8192))
    __builtin_trap();
  return 0;
}
