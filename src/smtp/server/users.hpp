// smtp/server/users.hpp: the users file that SMTP AUTH checks passwords
// against, and what `mxsec passwd` writes into it.
//
// Contract
// - Format: one "user:hash" line per user, the hash exactly as crypt(3)
//   writes it. Lines whose first octet is '#' are comments; empty lines and
//   lines of only SP/HTAB are blank; a CR before the LF is ignored. The user
//   name is everything before the first ':', 1 to limits::kSmtpAuthIdentityBytes
//   octets, without control characters (0x00-0x1F, 0x7F), not beginning with
//   '#' and neither beginning nor ending with SP. Names are compared octet for
//   octet (case matters; no SASLprep, see smtp/server/sasl.hpp). A name may
//   appear once.
// - Hashes: yescrypt ("$y$", what hash_password() and `mxsec passwd` write)
//   and SHA-512-crypt ("$6$", what older `mkpasswd`/`chpasswd` write). Any
//   other scheme is refused, naming it: DES, BSDi, MD5 ("$1$"), NT, SHA-1 and
//   Sun MD5 as weak; SHA-256-crypt, bcrypt, scrypt and gost-yescrypt as not
//   accepted. So is a hash that crypt(3) cannot have written (a character
//   outside its alphabet, a digest of the wrong length: a truncated copy) or
//   that libcrypt's crypt_checksalt() refuses. Locked entries ("!", "*")
//   are not a thing here: delete the line.
// - load() reads the file (O_CLOEXEC, regular files only) bounded by
//   limits::kUsersFileBytes (Errc::limit past it; Errc::io if it cannot be
//   read). The whole file must be valid or nothing is loaded: every problem
//   is Errc::parse with a message "PATH:LINE: what" ("users:3: user 'bob':
//   MD5-crypt ($1$) hash refused as weak; ..."); user names in messages go
//   through escape_for_log(). world_readable() reports a file that others may
//   read: hashes can be attacked offline, so the server should log a warning;
//   it is not refused.
// - verify() is true when `user` is in the file and crypt(password, its
//   hash) equals the hash, compared in constant time (CRYPTO_memcmp). It is
//   thread-safe (crypt_rn with a private struct crypt_data, wiped after use)
//   and costs one password hash, tens of milliseconds for yescrypt: call it
//   off the event loop. For an unknown user it still hashes the password, with
//   the setting of the file's first entry (or a built-in yescrypt setting for
//   an empty file), so the time taken does not tell which users exist.
//   XXX with a file that mixes schemes or costs, an unknown user costs what
//   the first entry costs, so it can be told apart from users of another
//   cost; `mxsec passwd` writes one scheme and cost, so keep to it.
//   A password that is empty, longer than limits::kSmtpAuthPasswordBytes or
//   holds NUL is false without hashing: that depends on the password alone.
// - hash_password() returns a new yescrypt hash with libcrypt's default cost
//   and a salt from libcrypt's own random source (getentropy). An empty
//   password, one holding NUL (Errc::invalid_argument) or one longer than
//   limits::kSmtpAuthPasswordBytes (Errc::limit) is refused.
// - set_user() adds `user` with `hash`, or replaces that user's hash, in the
//   file at `path` (created if missing), keeping every other line as it was.
//   The result must be a file load() accepts: an invalid name or hash is
//   Errc::invalid_argument, an existing file that does not load is its own
//   parse error and is left alone. The new contents go to a temporary file
//   next to it (mkostemp: O_CREAT|O_EXCL, mode 0600), which is written,
//   fsync()ed and rename()d over `path`; the directory is then fsync()ed, so a
//   crash leaves the old file or the new one, never a mix. A replaced file
//   keeps its owner and group (chown fails -> Errc::io, nothing changed) and
//   its owner and group permission bits; bits for others are dropped. A
//   `path` that is a symbolic link is refused (Errc::io). Concurrent calls
//   on files in one directory are serialised by flock() on the directory.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace mxsec::smtp {

enum class UserChange { added, replaced };

class UserDb {
 public:
  static Result<UserDb> load(const std::string& path);
  // The checks of load() on text already in memory; `source` starts every
  // message in place of the path.
  static Result<UserDb> parse(std::string_view text, std::string_view source);

  bool verify(std::string_view user, std::string_view password) const;
  bool world_readable() const { return world_readable_; }
  std::size_t size() const { return users_.size(); }

  static Result<std::string> hash_password(std::string_view password);
  static Result<UserChange> set_user(const std::string& path, std::string_view user, std::string_view hash);

 private:
  std::map<std::string, std::string, std::less<>> users_;  // user -> hash
  std::string dummy_setting_;                               // hashed for unknown users
  bool world_readable_ = false;
};

// The checks load() and set_user() make, for a CLI to run before it asks for
// a password. Errc::invalid_argument; messages name no file.
Result<void> check_user_name(std::string_view user);
Result<void> check_password_hash(std::string_view hash);

}  // namespace mxsec::smtp
