#include "daemon/privileges.hpp"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace mxsec::daemon {
namespace {

Error sys_error(const std::string& what) { return make_error(Errc::io, what + ": " + std::strerror(errno)); }

}  // namespace

Result<void> drop_privileges(const std::string& user) {
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* found = nullptr;
  const int rc = ::getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &found);
  if (rc != 0 || !found) return make_error(Errc::not_found, "user " + user + " not found");
  if (pw.pw_uid == 0) return make_error(Errc::invalid_argument, "user " + user + " is root; choose an unprivileged user");
  if (::setgroups(0, nullptr) != 0) return sys_error("setgroups");
  if (::setresgid(pw.pw_gid, pw.pw_gid, pw.pw_gid) != 0) return sys_error("setresgid");
  if (::setresuid(pw.pw_uid, pw.pw_uid, pw.pw_uid) != 0) return sys_error("setresuid");
  uid_t r = 0, e = 0, s = 0;
  gid_t gr = 0, ge = 0, gs = 0;
  if (::getresuid(&r, &e, &s) != 0 || ::getresgid(&gr, &ge, &gs) != 0) return sys_error("getresuid");
  if (r != pw.pw_uid || e != pw.pw_uid || s != pw.pw_uid || gr != pw.pw_gid || ge != pw.pw_gid || gs != pw.pw_gid)
    return make_error(Errc::internal, "privileges were not dropped completely");
  if (::setuid(0) == 0) return make_error(Errc::internal, "root could be regained after dropping privileges");
  return {};
}

}  // namespace mxsec::daemon
