// smtp/server/users.cpp: see users.hpp.
#include "smtp/server/users.hpp"

#include <crypt.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <string.h>  // explicit_bzero
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <utility>

#include "core/file.hpp"
#include "core/unique_fd.hpp"
#include "core/limits.hpp"
#include "core/strings.hpp"

namespace mxsec::smtp {
namespace {

static_assert(limits::kSmtpAuthPasswordBytes < CRYPT_MAX_PASSPHRASE_SIZE, "crypt(3) must take every password we accept");

// For an unknown user in a file without entries: libcrypt's default yescrypt
// cost, a fixed salt.
constexpr std::string_view kFallbackDummySetting = "$y$j9T$DtLYsiTfdgX0CyTbBAelF0";

struct Scheme {
  std::string_view prefix;
  std::string_view name;
  bool accepted;
  bool weak;
  std::size_t digest_chars;  // length of the field after the last '$' (accepted schemes)
};

// Longest prefixes first where one is the start of another ("$2b$" / "$2").
constexpr Scheme kSchemes[] = {
    {"$y$", "yescrypt", true, false, 43},
    {"$6$", "SHA-512-crypt", true, false, 86},
    {"$gy$", "gost-yescrypt", false, false, 0},
    {"$7$", "scrypt", false, false, 0},
    {"$2b$", "bcrypt", false, false, 0},
    {"$2a$", "bcrypt", false, false, 0},
    {"$2y$", "bcrypt", false, false, 0},
    {"$2x$", "bcrypt", false, false, 0},
    {"$5$", "SHA-256-crypt", false, false, 0},
    {"$sha1$", "SHA-1-crypt", false, true, 0},
    {"$md5", "Sun MD5-crypt", false, true, 0},
    {"$1$", "MD5-crypt", false, true, 0},
    {"$3$", "NT hash", false, true, 0},
    {"_", "BSDi DES-crypt", false, true, 0},
};

constexpr bool is_crypt_char(char c) { return is_alnum(c) || c == '.' || c == '/'; }

// The owner of a struct crypt_data: zeroed before first use (libcrypt needs
// that), wiped before it is freed (it held the password while hashing).
struct CryptDataWiper {
  void operator()(crypt_data* data) const {
    ::explicit_bzero(data, sizeof *data);
    delete data;
  }
};
using CryptData = std::unique_ptr<crypt_data, CryptDataWiper>;

// crypt_rn(password, setting); nullopt when libcrypt refuses the setting.
std::optional<std::string> run_crypt(std::string_view password, const std::string& setting) {
  CryptData data(new crypt_data());
  std::string phrase(password);  // crypt_rn takes a C string
  const char* out = ::crypt_rn(phrase.c_str(), setting.c_str(), data.get(), sizeof *data);
  wipe_secret(phrase);
  if (out == nullptr) return std::nullopt;
  return std::string(out);
}

std::string quoted_user(std::string_view user) { return "user '" + escape_for_log(user, 64) + "'"; }

// One line of the file, classified the same way by parse() and set_user().
struct UsersLine {
  bool entry = false;  // false: comment or blank
  std::string_view user;
  std::string_view hash;
  bool missing_colon = false;
};

UsersLine classify(std::string_view line) {
  UsersLine out;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.empty() || line.front() == '#' || line.find_first_not_of(" \t") == std::string_view::npos) return out;
  out.entry = true;
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos) {
    out.missing_colon = true;
    return out;
  }
  out.user = line.substr(0, colon);
  out.hash = line.substr(colon + 1);
  return out;
}

// Calls fn(line, line_number) for every line of `text` (without its LF).
template <class Fn>
void for_each_line(std::string_view text, Fn&& fn) {
  std::size_t number = 0;
  while (!text.empty()) {
    const std::size_t lf = text.find('\n');
    fn(text.substr(0, lf), ++number);
    if (lf == std::string_view::npos) break;
    text.remove_prefix(lf + 1);
  }
}

// Removes a temporary file unless it was renamed into place.
struct TempFile {
  std::string path;
  bool renamed = false;
  ~TempFile() {
    if (!renamed && !path.empty()) ::unlink(path.c_str());
  }
};

Error io_error(const std::string& what, const std::string& path) {
  return make_error(Errc::io, what + " " + path + ": " + std::strerror(errno));
}

}  // namespace

Result<void> check_user_name(std::string_view user) {
  auto bad = [](std::string what) { return make_error(Errc::invalid_argument, std::move(what)); };
  if (user.empty()) return bad("empty user name");
  if (user.size() > limits::kSmtpAuthIdentityBytes)
    return bad("user name longer than " + std::to_string(limits::kSmtpAuthIdentityBytes) + " octets");
  for (char c : user) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return bad(quoted_user(user) + ": control character in user name");
    if (c == ':') return bad(quoted_user(user) + ": ':' in user name");
  }
  if (user.front() == '#') return bad(quoted_user(user) + ": a user name may not begin with '#' (a comment)");
  if (user.front() == ' ' || user.back() == ' ')
    return bad(quoted_user(user) + ": a user name may not begin or end with a space");
  return {};
}

Result<void> check_password_hash(std::string_view hash) {
  auto bad = [](std::string what) { return make_error(Errc::invalid_argument, std::move(what)); };
  constexpr std::string_view kUse = "use yescrypt ($y$) or SHA-512-crypt ($6$), e.g. from `mxsec passwd`";
  if (hash.empty()) return bad("empty password hash");
  if (hash.front() == '!' || hash.front() == '*') return bad("locked or disabled entry; delete the line instead");
  const Scheme* scheme = nullptr;
  for (const Scheme& s : kSchemes) {
    if (hash.substr(0, s.prefix.size()) == s.prefix) {
      scheme = &s;
      break;
    }
  }
  if (scheme == nullptr) {
    bool des = hash.size() == 13;
    for (char c : hash) des = des && is_crypt_char(c);
    if (des) return bad("DES-crypt hash refused as weak; " + std::string(kUse));
    return bad("not a crypt(3) hash of a known scheme; " + std::string(kUse));
  }
  const std::string label = std::string(scheme->name) + " (" + std::string(scheme->prefix) + ")";
  if (!scheme->accepted) return bad(label + " hash refused" + (scheme->weak ? " as weak" : "") + "; " + std::string(kUse));
  for (char c : hash) {
    if (!is_crypt_char(c) && c != '$' && c != '=') return bad(label + " hash holds a character crypt(3) never writes");
  }
  const std::string_view digest = hash.substr(hash.rfind('$') + 1);
  if (digest.size() != scheme->digest_chars) return bad(label + " hash is incomplete or damaged (digest length)");
  if (::crypt_checksalt(std::string(hash).c_str()) != CRYPT_SALT_OK) return bad(label + " hash refused by libcrypt");
  return {};
}

Result<UserDb> UserDb::load(const std::string& path) {
  const std::string label = "users file " + path;
  const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd) return io_error("cannot open users file", path);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return io_error("cannot stat users file", path);
  auto text = read_fd_bounded(fd.get(), limits::kUsersFileBytes, label);
  if (!text) return text.error();
  auto db = parse(*text, path);
  if (!db) return db.error();
  db->world_readable_ = (st.st_mode & S_IROTH) != 0;
  return db;
}

Result<UserDb> UserDb::parse(std::string_view text, std::string_view source) {
  UserDb db;
  std::map<std::string_view, std::size_t, std::less<>> defined_on;  // views into `text`
  std::optional<Error> error;
  for_each_line(text, [&](std::string_view line, std::size_t number) {
    if (error) return;
    const UsersLine l = classify(line);
    if (!l.entry) return;
    const std::string where = std::string(source) + ":" + std::to_string(number) + ": ";
    if (l.missing_colon) {
      error = make_error(Errc::parse, where + "expected user:hash");
      return;
    }
    if (auto ok = check_user_name(l.user); !ok) {
      error = make_error(Errc::parse, where + ok.error().message);
      return;
    }
    if (auto ok = check_password_hash(l.hash); !ok) {
      error = make_error(Errc::parse, where + quoted_user(l.user) + ": " + ok.error().message);
      return;
    }
    const auto [it, fresh] = defined_on.emplace(l.user, number);
    if (!fresh) {
      error = make_error(Errc::parse, where + quoted_user(l.user) + " already defined on line " + std::to_string(it->second));
      return;
    }
    if (db.users_.empty()) db.dummy_setting_ = std::string(l.hash);
    db.users_.emplace(std::string(l.user), std::string(l.hash));
  });
  if (error) return *error;
  if (db.users_.empty()) db.dummy_setting_ = std::string(kFallbackDummySetting);
  return db;
}

bool UserDb::verify(std::string_view user, std::string_view password) const {
  // These depend on the password alone, so returning early tells nothing
  // about `user`. NUL would cut the C string crypt(3) sees.
  if (password.empty() || password.size() > limits::kSmtpAuthPasswordBytes ||
      password.find('\0') != std::string_view::npos)
    return false;
  const auto it = users_.find(user);
  const bool known = it != users_.end();
  const std::string& setting = known ? it->second : dummy_setting_;
  const std::optional<std::string> computed = run_crypt(password, setting);
  if (!known || !computed || computed->size() != setting.size()) return false;
  return CRYPTO_memcmp(computed->data(), setting.data(), setting.size()) == 0;
}

Result<std::string> UserDb::hash_password(std::string_view password) {
  if (password.empty()) return make_error(Errc::invalid_argument, "empty password");
  if (password.size() > limits::kSmtpAuthPasswordBytes)
    return make_error(Errc::limit,
                      "password longer than " + std::to_string(limits::kSmtpAuthPasswordBytes) + " octets");
  if (password.find('\0') != std::string_view::npos)
    return make_error(Errc::invalid_argument, "password holds a NUL octet");
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  // count 0: libcrypt's default cost; no random bytes given: libcrypt reads
  // its own (getentropy).
  if (::crypt_gensalt_rn("$y$", 0, nullptr, 0, setting, sizeof setting) == nullptr)
    return make_error(Errc::crypto, std::string("crypt_gensalt_rn: ") + std::strerror(errno));
  auto hash = run_crypt(password, setting);
  if (!hash) return make_error(Errc::crypto, std::string("crypt_rn: ") + std::strerror(errno));
  if (auto ok = check_password_hash(*hash); !ok)
    return make_error(Errc::internal, "libcrypt wrote a hash we refuse: " + ok.error().message);
  return std::move(*hash);
}

Result<UserChange> UserDb::set_user(const std::string& path, std::string_view user, std::string_view hash) {
  if (auto ok = check_user_name(user); !ok) return ok.error();
  if (auto ok = check_password_hash(hash); !ok) return ok.error();

  const std::size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  const UniqueFd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir_fd) return io_error("cannot open directory", dir);
  // Two runs that each read, edit and rename would lose one change.
  if (::flock(dir_fd.get(), LOCK_EX) != 0) return io_error("cannot lock directory", dir);

  std::string text;
  std::optional<struct stat> existing;
  {
    const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY));
    if (fd) {
      struct stat st {};
      if (::fstat(fd.get(), &st) != 0) return io_error("cannot stat users file", path);
      auto read = read_fd_bounded(fd.get(), limits::kUsersFileBytes, "users file " + path);
      if (!read) return read.error();
      text = std::move(*read);
      existing = st;
    } else if (errno == ELOOP) {
      return make_error(Errc::io, "users file " + path + " is a symbolic link; give the path of the file itself");
    } else if (errno != ENOENT) {
      return io_error("cannot open users file", path);
    }
  }
  if (auto db = parse(text, path); !db) return db.error();

  // The same lines, with this user's line replaced or appended.
  const std::string entry = std::string(user) + ":" + std::string(hash);
  std::string updated;
  UserChange change = UserChange::added;
  for_each_line(text, [&](std::string_view line, std::size_t) {
    const UsersLine l = classify(line);
    if (l.entry && l.user == user) {
      updated += entry;
      change = UserChange::replaced;
    } else {
      updated += line;
    }
    updated += '\n';
  });
  if (change == UserChange::added) updated += entry + "\n";
  if (updated.size() > limits::kUsersFileBytes)
    return make_error(Errc::limit, "users file " + path + " would grow past " +
                                       std::to_string(limits::kUsersFileBytes) + " bytes");

  TempFile tmp{path + ".XXXXXX"};
  // mkostemp opens with O_CREAT|O_EXCL (so no symbolic link is followed) and
  // mode 0600.
  const UniqueFd out(::mkostemp(tmp.path.data(), O_CLOEXEC));
  if (!out) {
    const std::string failed = tmp.path;
    tmp.path.clear();
    return io_error("cannot create", failed);
  }
  if (existing) {
    if ((existing->st_uid != ::geteuid() || existing->st_gid != ::getegid()) &&
        ::fchown(out.get(), existing->st_uid, existing->st_gid) != 0)
      return make_error(Errc::io, "cannot give the new " + path + " the owner " + std::to_string(existing->st_uid) +
                                      ":" + std::to_string(existing->st_gid) + " of the old one: " +
                                      std::strerror(errno) + " (run as that user or as root)");
    if (::fchmod(out.get(), existing->st_mode & (S_IRWXU | S_IRWXG)) != 0) return io_error("cannot chmod", tmp.path);
  }
  if (auto ok = write_all(out.get(), updated, tmp.path); !ok) return ok.error();
  if (::fsync(out.get()) != 0) return io_error("cannot fsync", tmp.path);
  if (::rename(tmp.path.c_str(), path.c_str()) != 0) return io_error("cannot rename " + tmp.path + " to", path);
  tmp.renamed = true;
  if (::fsync(dir_fd.get()) != 0) return io_error("cannot fsync directory", dir);
  return change;
}

}  // namespace mxsec::smtp
