// auth/dkim/dkim.hpp: DKIM (RFC 6376, RFC 8301, RFC 8463) in one include.
//
// Phases: signature.hpp (DKIM-Signature parse), key.hpp (key records),
// canon.hpp (canonicalization), verify.hpp (Verifier), sign.hpp (Signer),
// keygen.hpp (key pairs and TXT records). See each header's contract; the
// verdict meanings are listed in verify.hpp. docs/dkim.md has the overview.
#pragma once

#include "auth/dkim/canon.hpp"
#include "auth/dkim/key.hpp"
#include "auth/dkim/keygen.hpp"
#include "auth/dkim/sign.hpp"
#include "auth/dkim/signature.hpp"
#include "auth/dkim/verify.hpp"
